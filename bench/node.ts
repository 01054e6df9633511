// The Node.js benchmark: Debian's node, unmodified, runs bench/programs/node/suite.js (JIT-heavy
// compute, Buffer/crypto, fs streams, worker_threads with 2 workers) natively and under mvrun
// with main in the HRT (MV_REQUIRE_HRT=1: no silent fallback), alternating, N times each, in the
// QEMU TCG guest of the HRT tests (runInGuest: node is not rebuilt with mv-cc, so there is no
// package to build, and GRUB would spend minutes reading a 100 MB node off a CD under TCG).
// Every run's digest must equal every other's. Writes bench/results/node.json and node.md.
// Usage: node dist/bench/node.js [--runs N] [--scale K]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest } from '../src/harness/guest';
import { hostInfo, median } from './stats';

const repo = join(__dirname, '..', '..');
const PROGRAMS = ['compute', 'crypto', 'fs', 'workers'];
type Mode = 'native' | 'hrt';

function option(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} wants a positive integer, got ${args[i + 1] ?? 'nothing'}`);
  return v;
}

function script(runs: number, scale: number): string {
  return `D=/mv/t
cd /tmp
for r in $(seq 1 ${runs}); do
  for p in ${PROGRAMS.join(' ')}; do
    echo "MODE=native RUN=$r $(/usr/bin/node $D/suite.js $p ${scale} 2>&1 | tail -1)"
    echo "MODE=hrt RUN=$r $(MV_REQUIRE_HRT=1 $D/mvrun /usr/bin/node $D/suite.js $p ${scale} 2>&1 | tail -1)"
  done
done
`;
}

async function main() {
  const args = process.argv.slice(2);
  const runs = option(args, '--runs', 3),
    scale = option(args, '--scale', 1);
  const hvm = join(repo, 'hvm', 'build');
  const files = [
    { src: '/usr/bin/node', dest: '/usr/bin/node', mode: 0o755 },
    { src: join(repo, 'bench', 'programs', 'node', 'suite.js'), dest: '/mv/t/suite.js', mode: 0o644 },
    ...['mvrun', 'libmv-preload.so'].map((f) => ({ src: join(hvm, f), dest: `/mv/t/${f}`, mode: 0o755 })),
  ];
  const run = await runInGuest({ files, script: script(runs, scale), cpus: 2, memMiB: 3072, timeoutMs: 3_600_000 });
  if (run.status === null) throw new Error(`the guest did not finish: ${run.output.slice(-2000)}`);
  const times: Record<string, Record<Mode, number[]>> = {};
  const digests: Record<string, Set<string>> = {};
  const bad: string[] = [];
  for (const line of run.output.split('\n')) {
    const m = line.match(/^MODE=(native|hrt) RUN=(\d+) (.*)$/);
    if (!m) continue;
    const b = m[3].match(/^MV-BENCH name=(\w+) time_s=([\d.]+) digest=(\w+)/);
    if (!b) {
      bad.push(line.trim());
      continue;
    }
    (times[b[1]] ??= { native: [], hrt: [] })[m[1] as Mode].push(Number(b[2]));
    (digests[b[1]] ??= new Set()).add(b[3]);
  }
  const programs = PROGRAMS.map((name) => {
    const t = times[name] ?? { native: [], hrt: [] };
    const native = median(t.native),
      hrt = median(t.hrt);
    return {
      name,
      native_s: t.native,
      hrt_s: t.hrt,
      nativeMedian: native,
      hrtMedian: hrt,
      ratio: hrt / native,
      digest: [...(digests[name] ?? [])].join(','),
      digestsAgree: digests[name]?.size === 1 && t.native.length === runs && t.hrt.length === runs,
    };
  });
  const result = {
    suite: 'node',
    title: "Node.js 20 (Debian's node, unmodified, under mvrun)",
    host: hostInfo(),
    runs,
    scale,
    guest: { cpus: 2, memMiB: 3072, accel: 'tcg' },
    wallMs: run.ms,
    programs,
    failures: bad,
  };
  const out = join(repo, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'node.json'), `${JSON.stringify(result, null, 2)}\n`);
  const rows = programs.map(
    (p) =>
      `| ${p.name} | ${p.nativeMedian.toFixed(3)} | ${p.hrtMedian.toFixed(3)} | ${p.ratio.toFixed(2)} | ${p.digestsAgree ? p.digest : `MISMATCH ${p.digest}`} |`,
  );
  writeFileSync(
    join(out, 'node.md'),
    [
      `# ${result.title}`,
      '',
      `${runs} runs of each program each way, alternating, in a QEMU TCG guest (2 CPUs) on ${result.host.cpu} (load ${result.host.load1}, ${result.host.date}).`,
      "Times are the program's own wall time around its work (process.hrtime), medians in seconds; the ratio is HRT / native.",
      '',
      '| program | native s | HRT s | ratio | digest |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      ...(bad.length ? ['Runs that printed no result:', '', ...bad.map((l) => `- \`${l}\``), ''] : []),
    ].join('\n'),
  );
  for (const r of rows) console.log(r);
  if (bad.length || programs.some((p) => !p.digestsAgree)) {
    console.error(
      `node bench: ${bad.length} failed runs, digests ${programs.every((p) => p.digestsAgree) ? 'agree' : 'DIFFER'} (see bench/results/node.md)`,
    );
    process.exit(1);
  }
}

if (require.main === module)
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
