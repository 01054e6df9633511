// The Lua benchmark: Debian's lua5.4 built with mv-cc (examples/lua) runs bench/programs/lua
// natively (MV_DISABLE=1) and in the HRT, alternating, N times each, driven by `run.lua ab`
// (bench/suite-run.ts says where: this host, a QEMU TCG guest, or with --image the booted ISO).
// Writes bench/results/lua.json, lua.md and lua-ratios.png (gnuplot), and the README's Results.
// Usage: node dist/bench/lua.js [--runs N] [--preset bench|small] [--only a,b] [--image] [--guest]
import { benchOptions, runSuiteBench, SuiteBench } from './suite-run';
import type { SuiteSpec } from './suite-report';

export const LUA: SuiteSpec = {
  id: 'lua',
  title: 'Lua 5.4 (Debian lua5.4, built with mv-cc)',
  label: 'Lua 5.4 suite (`bench/programs/lua`',
  timeField: 'cpu_s',
  timeNote: "the program's own CPU time (os.clock) around its work",
  kinds: { filecopy: 'syscall', alloc: 'alloc' },
  // filecopy of n KiB: n/4 writes, then n/4+1 reads and n/4 writes, then n/4+1 reads, plus
  // about ten opens, closes and unlinks: n + 12 calls, of which every one is forwarded.
  callsOf: { name: 'filecopy', calls: (n) => n + 12 },
};

const bench: SuiteBench = {
  spec: LUA,
  pkg: 'examples/lua',
  driver: (o) => ['/app/bench/run.lua', 'ab', o.preset, String(o.runs), ...(o.only ? [o.only] : [])],
  guest: { cpus: 2, memMiB: 2048 },
};

if (require.main === module) {
  runSuiteBench(bench, benchOptions(process.argv.slice(2), 5)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
