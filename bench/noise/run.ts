// bench/noise: the selfish-detour loop (guest/noise.c) in one QEMU session, in three settings:
// natively on the ROS CPU 0, natively on the isolated CPU 1, and in the HRT on CPU 1. Builds the
// guest package into an ISO (tuned kernel; hrt.cpus "1" puts isolcpus/nohz_full/rcu_nocbs on the
// command line), boots it, and writes bench/results/noise.json and noise.png (gnuplot).
// Target (ARCHITECTURE.md §9): the HRT's longest detour <= 1/10 of the ROS CPU's.
// Usage: node dist/bench/noise/run.js [--kernel tuned|debian] [--seconds S] [--threshold-ns N]
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../../src/harness/qemu';
import { Manifest } from '../../src/lib/manifest';
import { repoPath } from '../../src/lib/paths';
import { Progress } from '../../src/lib/progress';
import { buildImage } from '../../src/pipeline';
import { hostInfo } from '../stats';
import { NoiseRun, plot } from './plot';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};

/** The guest package with this run's arguments written into its manifest. */
function guestPackage(kernel: string, seconds: string, thresholdNs: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'mv-noise-')), 'noise');
  cpSync(repoPath('bench/noise/guest'), dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'mv-image.json'), 'utf8'));
  Object.assign(m, { kernel, args: ['all', seconds, thresholdNs] });
  writeFileSync(join(dir, 'mv-image.json'), JSON.stringify(m, null, 2));
  return dir;
}

async function main() {
  const kernel = arg('--kernel', 'tuned') as Manifest['kernel'];
  const seconds = arg('--seconds', '4'),
    thresholdNs = arg('--threshold-ns', '2000');
  const iso = join(mkdtempSync(join(tmpdir(), 'mv-noise-iso-')), 'noise.iso');
  const built = await buildImage({ packageDir: guestPackage(kernel, seconds, thresholdNs), output: iso, progress: new Progress(), kernel });
  const b = await boot({ iso, accel: 'tcg', cpus: 2, timeoutMs: 900_000 });
  const runs: NoiseRun[] = b.output
    .split('\n')
    .filter((l) => l.startsWith('NOISE {'))
    .map((l) => JSON.parse(l.slice(6)));
  const failed = b.output.split('\n').filter((l) => l.startsWith('NOISE-FAILED'));
  if (!runs.length) throw new Error(`no NOISE lines (MV-EXIT ${b.status}):\n${b.output.slice(-3000)}`);
  const ros = runs.find((r) => r.setting === 'ros'),
    hrt = runs.find((r) => r.setting === 'hrt');
  const result = {
    where: 'QEMU TCG -cpu max -smp 2 guest, nested kvm_amd for the HRT',
    host: hostInfo(),
    kernel: built.kernel,
    cmdline: built.cmdline,
    seconds: Number(seconds),
    thresholdNs: Number(thresholdNs),
    hrtToRosMaxRatio: ros && hrt && hrt.inHrt ? hrt.maxNs / ros.maxNs : null,
    target: 'hrt.maxNs <= 0.1 * ros.maxNs',
    failed,
    runs,
  };
  console.log('| setting | in HRT | CPU | detours | longest (us) | total (ms) | min iteration (ns) |\n|---|---|---|---|---|---|---|');
  for (const r of runs)
    console.log(
      `| ${r.setting} | ${r.inHrt ? 'yes' : 'no'} | ${r.cpu} | ${r.count} | ${(r.maxNs / 1e3).toFixed(1)} | ${(r.totalNs / 1e6).toFixed(2)} | ${r.minIterNs.toFixed(1)} |`,
    );
  for (const f of failed) console.log(f);
  console.log(`HRT longest / ROS longest: ${result.hrtToRosMaxRatio?.toFixed(3) ?? 'n/a'} (target <= 0.1)`);
  mkdirSync(repoPath('bench/results'), { recursive: true });
  writeFileSync(repoPath('bench/results/noise.json'), JSON.stringify(result) + '\n');
  plot(runs, repoPath('bench/results/noise.png'), `selfish detours, ${seconds} s each, kernel ${built.kernel} (QEMU TCG)`);
  console.log('wrote bench/results/noise.json and bench/results/noise.png');
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
