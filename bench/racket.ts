// The Racket benchmark: Debian's Racket CS built with mv-cc (examples/racket) runs
// bench/programs/racket natively (MV_DISABLE=1), in the HRT, and in the HRT built with the
// overrides that apply to Racket CS, rotating, N times each, driven by `run.rkt ab`
// (bench/suite-run.ts says where). Each HRT run also reports what it forwarded (MV_STATS).
// Writes bench/results/racket.json, racket.md and racket-ratios.png, and the README's Results.
// Usage: node dist/bench/racket.js [--runs N] [--preset bench|small] [--only a,b] [--image] [--guest] [--no-overrides]
import { benchOptions, runSuiteBench, SuiteBench } from './suite-run';
import type { SuiteSpec } from './suite-report';

export const RACKET: SuiteSpec = {
  id: 'racket',
  title: 'Racket CS 8.7 (Debian racket, built with mv-cc)',
  label: 'Racket CS suite (`bench/programs/racket`',
  timeField: 'real_s',
  timeNote: "the program's own wall time (current-inexact-milliseconds) around its work (for parallel, the workers' CPU time would add up)",
  kinds: { filecopy: 'syscall', alloc: 'alloc', parallel: 'parallel' },
  // filecopy of n KiB, b = n/4 blocks: b writes; b+1 reads and b writes (the copy); b reads (the
  // comparison); b+1 reads of a buffered port (the sha256); three opens and closes, two unlinks.
  callsOf: { name: 'filecopy', calls: (n) => 5 * (n / 4) + 10 },
};

// Racket CS asks for the time all the time (its thread scheduler and its timers) and allocates
// its segments with malloc; these are the overrides that serve those calls without an exit.
export const RACKET_OVERRIDES = ['clock_gettime', 'gettimeofday', 'time', 'nanosleep', 'sched_yield', 'malloc'];

const bench: SuiteBench = {
  spec: RACKET,
  pkg: 'examples/racket',
  driver: (o, modes) => ['/app/bench/run.rkt', 'ab', o.preset, String(o.runs), o.only ?? 'all', modes.join(',')],
  overrides: RACKET_OVERRIDES,
  guest: { cpus: 2, memMiB: 3072 },
};

if (require.main === module) {
  runSuiteBench(bench, benchOptions(process.argv.slice(2), 3)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
