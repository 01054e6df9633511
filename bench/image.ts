// Image benchmark: cold and warm build time of examples/hello, ISO size, and boot-to-MV-EXIT time
// under QEMU TCG. Prints medians and writes bench/results/image.json.
// Usage: node dist/bench/image.js [--runs N]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../src/pipeline';
import { Progress } from '../src/lib/progress';
import { repoPath } from '../src/lib/paths';
import { boot } from '../src/harness/qemu';
import { median, hostInfo } from './stats';

async function main() {
  const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
  const out = mkdtempSync(join(tmpdir(), 'mv-bench-'));
  const cold: number[] = [],
    warm: number[] = [],
    bootMs: number[] = [];
  let size = 0;
  for (let i = 0; i < runs; i++) {
    const cache = mkdtempSync(join(tmpdir(), 'mv-bench-cache-'));
    process.env.XDG_CACHE_HOME = cache;
    const iso = join(out, `hello-${i}.iso`);
    let t = Date.now();
    const r = await buildImage({ packageDir: repoPath('examples/hello'), output: iso, progress: Progress.quiet() });
    cold.push(Date.now() - t);
    t = Date.now();
    await buildImage({ packageDir: repoPath('examples/hello'), output: iso, progress: Progress.quiet() });
    warm.push(Date.now() - t);
    size = r.size;
    const b = await boot({ iso, accel: 'tcg', timeoutMs: 300_000 });
    if (b.status !== 0) throw new Error(`hello exited ${b.status}`);
    bootMs.push(b.ms);
    rmSync(cache, { recursive: true, force: true });
    console.error(`run ${i + 1}/${runs}: cold ${cold[i]} ms, warm ${warm[i]} ms, boot ${bootMs[i]} ms`);
  }
  const result = {
    host: hostInfo(),
    runs,
    coldBuildMs: { median: median(cold), all: cold, target: 60_000 },
    warmBuildMs: { median: median(warm), all: warm, target: 5_000 },
    isoBytes: { value: size, target: 40e6 },
    bootToExitMs: { median: median(bootMs), all: bootMs, accel: 'tcg' },
  };
  console.log('| metric | median | target |\n|---|---|---|');
  console.log(`| cold build | ${(result.coldBuildMs.median / 1000).toFixed(1)} s | < 60 s |`);
  console.log(`| warm build | ${(result.warmBuildMs.median / 1000).toFixed(2)} s | < 5 s |`);
  console.log(`| ISO size | ${(size / 1e6).toFixed(1)} MB | <= 40 MB |`);
  console.log(`| boot to MV-EXIT (TCG) | ${(result.bootToExitMs.median / 1000).toFixed(1)} s | |`);
  mkdirSync(repoPath('bench/results'), { recursive: true });
  writeFileSync(repoPath('bench/results/image.json'), JSON.stringify(result, null, 2) + '\n');
  rmSync(out, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
