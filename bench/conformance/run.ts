// npm run conformance: CPython 3.11's own regression tests (Debian's libpython3.11-testsuite)
// run unmodified under mvrun, each module natively and with main in the HRT, in one QEMU TCG
// guest with nested KVM (the HRT tests' guest: kernel + initramfs as in an image, booted straight
// from -kernel/-initrd, so no GRUB reads 50 MB off a CD under TCG, and no package is built:
// python3.11 is Debian's own binary). Tests that pass natively but not in the HRT are run again,
// both ways, to tell a reproducible difference from a timing accident. Writes
// bench/results/conformance.{json,md} and the README's Results block; the logs go to a temp dir.
//
// Usage: node dist/bench/conformance/run.js [--only test_a,test_b] [--smoke] [--timeout S]
//          [--reruns N] [--guests N] [--sqlite3-tests DIR] [--from guest-1.txt,...] [--rerun-from guest-3.txt,...] [--no-report]
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInGuest } from '../../src/harness/guest';
import { exec } from '../../src/lib/exec';
import { requireTools } from '../../src/lib/hosttools';
import { Progress } from '../../src/lib/progress';
import { sourceStage } from '../../src/stages/source';
import { hostInfo } from '../stats';
import { PYTHON, pythonFiles } from './files';
import { ModuleRun, parseGuestOutput } from './parse';
import { ConformanceResult, recount, summarize, writeReports } from './report';
import { guestScript, Mode } from './script';
import { FULL, SMOKE, SMOKE_MATCH } from './select';

export interface ConformanceOptions {
  modules: string[];
  selection: string;
  timeoutS: number;
  reruns: number;
  /** regrtest -m patterns per module (default: every test). */
  match?: Record<string, string[]>;
  sqlite3Tests?: string;
  memMiB: number;
  cpus: number;
  /** Guests booted side by side, each running its share of the modules. */
  guests: number;
  /** Guest outputs saved by an earlier run (guest-*.txt in its log dir), read instead of
   *  running the first pass; a later file's run of a module replaces an earlier one's. */
  from?: string[];
  /** The reruns' guest outputs saved by that run, read instead of booting for them. */
  rerunFrom?: string[];
  /** With from: how long that run took, for the report. */
  elapsedS?: number;
  onLine?: (l: string) => void;
}

export const GUEST = { memMiB: 3072, cpus: 2, guests: 1 };

/** test_sqlite3: Debian's binary test package leaves it out; take it from Debian's source of
 *  python3.11 when the mirror serves it, or from a directory given with --sqlite3-tests. */
async function sqlite3Tests(o: ConformanceOptions): Promise<{ dir?: string; why?: string }> {
  if (o.sqlite3Tests)
    return existsSync(join(o.sqlite3Tests, '__init__.py')) ? { dir: o.sqlite3Tests } : { why: `${o.sqlite3Tests} is not a test package` };
  try {
    const src = await sourceStage.run(Progress.quiet(), { debian: 'python3.11' });
    const dir = join(src.dir, 'Lib', 'test', 'test_sqlite3');
    return existsSync(dir) ? { dir } : { why: `Debian's python3.11 ${src.version} source has no Lib/test/test_sqlite3` };
  } catch (e) {
    return { why: `not in Debian's libpython3.11-testsuite, and its source could not be fetched (${(e as Error).message.split('\n')[0]})` };
  }
}

/** The modules dealt round-robin to o.guests guests booted side by side (one TCG thread each:
 *  two cores, two guests); a module's two runs stay together in one guest, back to back. */
async function guestRuns(
  o: ConformanceOptions,
  modules: string[],
  extra: Map<string, string>,
  match?: Record<string, string[]>,
): Promise<{ runs: ModuleRun[]; outputs: string[] }> {
  const n = Math.max(1, Math.min(o.guests, modules.length));
  const groups = Array.from({ length: n }, (_, i) => modules.filter((_m, j) => j % n === i));
  const done = await Promise.all(groups.map((g) => oneGuest(o, g, extra, match)));
  return { runs: done.flatMap((d) => d.runs), outputs: done.map((d) => d.output) };
}

async function oneGuest(
  o: ConformanceOptions,
  modules: string[],
  extra: Map<string, string>,
  match?: Record<string, string[]>,
): Promise<{ runs: ModuleRun[]; output: string }> {
  const modes: Mode[] = ['native', 'hrt'];
  const script = guestScript({ modules, modes, timeoutS: o.timeoutS, match });
  // Every module twice, plus boot; a guest that never finishes is a defect, not a slow test.
  const limit = (modules.length * 2 * (o.timeoutS + 90) + 600) * 1000;
  const r = await runInGuest({
    files: pythonFiles([...new Set(modules)], extra),
    script,
    memMiB: o.memMiB,
    cpus: o.cpus,
    timeoutMs: limit,
    onLine: o.onLine,
  });
  const runs = parseGuestOutput(r.output);
  if (!/^MV-CONF-DONE$/m.test(r.output)) {
    const tail = r.output
      .split('\n')
      .filter((l) => !/^[A-Za-z0-9+/=]{20,}$/.test(l))
      .slice(-30)
      .join('\n');
    throw Object.assign(new Error(`the guest did not finish the run (status ${r.status}, ${runs.length} module runs reported):\n${tail}`), {
      runs,
    });
  }
  return { runs, output: r.output };
}

export async function conformance(o: ConformanceOptions): Promise<{ result: ConformanceResult; runs: ModuleRun[]; outputs: string[] }> {
  requireTools('conformance');
  const version = (await exec(PYTHON, ['-c', 'import sys; print(sys.version.split()[0])'])).stdout.trim();
  const t0 = Date.now();
  const extra = new Map<string, string>();
  const unavailable = new Map<string, string>();
  const notes: string[] = [];
  if (o.modules.includes('test_sqlite3')) {
    const s = await sqlite3Tests(o);
    if (s.dir) {
      extra.set('test_sqlite3', s.dir);
      notes.push(`test_sqlite3 is not in Debian's libpython3.11-testsuite: its tests came from ${s.dir}`);
    } else unavailable.set('test_sqlite3', s.why!);
  }
  const modules = o.modules.filter((m) => !unavailable.has(m));
  const outputs: string[] = [];
  let runs: ModuleRun[] = [];
  if (o.from) {
    notes.push(`read from the saved guest output of an earlier run (${o.from.length} files), not run again`);
    for (const f of o.from) {
      const more = parseGuestOutput(readFileSync(f, 'utf8'));
      runs = runs.filter((r) => !more.some((m) => m.module === r.module && m.mode === r.mode)).concat(more);
    }
  } else {
    const first = await guestRuns(o, modules, extra, o.match);
    runs = first.runs;
    outputs.push(...first.outputs);
  }
  let result = summarize(
    { host: hostInfo(), where: '', python: '', selection: '', timeoutS: o.timeoutS, elapsedS: 0, notes },
    o.modules,
    runs,
    unavailable,
  );
  // Run each difference again, both ways, N times: does it come back?
  const differing = result.modules.filter((m) => m.hrtOnly.length);
  if (o.reruns > 0 && differing.length) {
    const again = differing.flatMap((m) => Array<string>(o.reruns).fill(m.module));
    const match = Object.fromEntries(differing.map((m) => [m.module, m.hrtOnly.map((d) => d.id.replace(/#\d+$/, ''))]));
    const re = o.rerunFrom
      ? { runs: o.rerunFrom.flatMap((f) => parseGuestOutput(readFileSync(f, 'utf8'))), outputs: [] }
      : await guestRuns(o, again, extra, match);
    outputs.push(...re.outputs);
    for (const m of differing) {
      for (const d of m.hrtOnly) {
        const id = d.id.replace(/#\d+$/, '');
        const out = (mode: Mode) => re.runs.filter((r) => r.module === m.module && r.mode === mode).map((r) => r.tests[id] ?? 'missing');
        const h = out('hrt'),
          n = out('native');
        const passes = (xs: string[]) => xs.filter((x) => x === 'pass').length;
        d.rerun = `HRT ${passes(h)}/${h.length} passed, native ${passes(n)}/${n.length}`;
        d.flaky = h.length > 0 && passes(h) === h.length;
        d.unstable = n.length > 0 && passes(n) < n.length;
      }
    }
    result = recount(result);
  }
  result = {
    ...result,
    where: `QEMU 7.2 TCG -cpu max -smp ${o.cpus}, ${o.memMiB} MiB, nested KVM (kvm_amd) in the guest; kernel + initramfs as in an image${o.guests > 1 ? `; ${o.guests} guests side by side, each with its share of the modules` : ''}`,
    python: `Debian python3.11 ${version}`,
    selection: o.selection,
    elapsedS: o.elapsedS ?? Math.round((Date.now() - t0) / 1000),
  };
  return { result, runs, outputs };
}

function option(argv: string[], f: string): string | undefined {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const only = option(argv, '--only');
  const smoke = argv.includes('--smoke');
  const modules = only ? only.split(',') : smoke ? SMOKE : FULL;
  const match = smoke && !only ? SMOKE_MATCH : undefined;
  const o: ConformanceOptions = {
    modules,
    match,
    selection: only
      ? `${modules.length} modules (--only)`
      : smoke
        ? `the quick selection (${modules.length} modules)`
        : `the full selection (${modules.length} modules)`,
    timeoutS: Number(option(argv, '--timeout') ?? 1800),
    reruns: Number(option(argv, '--reruns') ?? 2),
    sqlite3Tests: option(argv, '--sqlite3-tests'),
    from: option(argv, '--from')?.split(','),
    rerunFrom: option(argv, '--rerun-from')?.split(','),
    elapsedS: option(argv, '--elapsed') ? Number(option(argv, '--elapsed')) : undefined,
    ...GUEST,
    guests: Number(option(argv, '--guests') ?? 2),
    onLine: (l) => {
      if (/^MV-CONF-END /.test(l)) console.error(l);
    },
  };
  const { result, runs, outputs } = await conformance(o);
  const logs = mkdtempSync(join(tmpdir(), 'mv-conformance-logs-'));
  for (const [i, out] of outputs.entries()) writeFileSync(join(logs, `guest-${i + 1}.txt`), out);
  for (const [i, r] of runs.entries()) writeFileSync(join(logs, `${String(i).padStart(3, '0')}-${r.mode}-${r.module}.log`), r.log);
  if (!argv.includes('--no-report')) {
    const files = writeReports(result);
    console.error(`wrote ${files.json}, ${files.md} and the README's Results block`);
  } else writeFileSync(join(logs, 'conformance.json'), JSON.stringify(result, null, 2));
  console.error(`logs: ${logs}`);
  const t = result.total;
  console.log(
    `native: ${t.native.passed} passed of ${t.native.run}; HRT: ${t.hrt.passed} passed of ${t.hrt.run}; pass natively but not in the HRT: ${t.hrtOnly} (${t.exceptions} documented)`,
  );
  if (t.unexplained || result.modules.some((m) => !m.ok && !m.unavailable)) process.exitCode = 1;
}

if (require.main === module)
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
