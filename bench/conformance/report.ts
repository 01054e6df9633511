// The conformance report: per module, what ran natively and in the HRT (counts, time, regrtest's
// verdict), the tests that pass natively but not in the HRT (each marked when it is a documented
// exception), as JSON, Markdown and the README's Results block.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../src/lib/paths';
import { updateReadme } from '../suite-report';
import { hostInfo } from '../stats';
import { EXCEPTIONS, isException } from './exceptions';
import type { Counts, ModuleRun, Outcome } from './parse';

export interface Side {
  status: number;
  secs: number;
  verdict: string;
  inHrt: boolean;
  counts: Counts;
}
export interface Difference {
  id: string;
  native: Outcome;
  hrt: Outcome | 'missing';
  why: string;
  exception: boolean;
  /** Run again alone, both ways: how often each passed. */
  rerun?: string;
  /** It passed every time it was run again in the HRT: a timing accident under TCG, not a defect. */
  flaky?: boolean;
  /** Run again natively, it failed too: the test is not reliable in this guest either way. */
  unstable?: boolean;
}
export interface ModuleResult {
  module: string;
  native?: Side;
  hrt?: Side;
  /** HRT time / native time of the module's whole process. */
  timeRatio: number;
  /** Passed natively, did not pass in the HRT. */
  hrtOnly: Difference[];
  /** Passed in the HRT, did not pass natively (timing under TCG, usually). */
  nativeOnly: string[];
  /** HRT passes == native passes, less the documented exceptions, and the HRT really ran. */
  ok: boolean;
  unavailable?: string;
}
export interface ConformanceResult {
  suite: 'conformance';
  host: ReturnType<typeof hostInfo>;
  where: string;
  python: string;
  selection: string;
  timeoutS: number;
  elapsedS: number;
  /** Where a module's tests came from when not from Debian's test package, and the like. */
  notes: string[];
  modules: ModuleResult[];
  total: {
    native: Counts;
    hrt: Counts;
    nativeSecs: number;
    hrtSecs: number;
    hrtOnly: number;
    exceptions: number;
    flaky: number;
    unstable: number;
    unexplained: number;
  };
}

const side = (r: ModuleRun): Side => ({ status: r.status, secs: r.secs, verdict: r.verdict, inHrt: r.inHrt, counts: r.counts });
const zero = (): Counts => ({ run: 0, passed: 0, failed: 0, errors: 0, skipped: 0 });

export function compareModule(module: string, native?: ModuleRun, hrt?: ModuleRun): ModuleResult {
  const hrtOnly: Difference[] = [];
  const nativeOnly: string[] = [];
  if (native && hrt) {
    for (const [id, o] of Object.entries(native.tests)) {
      const h = (hrt.tests[id] as Outcome | undefined) ?? 'missing';
      if (o === 'pass' && h !== 'pass')
        hrtOnly.push({
          id,
          native: o,
          hrt: h,
          why: hrt.why[id] ?? (h === 'missing' ? `not run (${hrt.verdict})` : ''),
          exception: isException(id),
        });
    }
    for (const [id, o] of Object.entries(hrt.tests)) if (o === 'pass' && native.tests[id] !== 'pass') nativeOnly.push(id);
  }
  const m: ModuleResult = {
    module,
    ...(native ? { native: side(native) } : {}),
    ...(hrt ? { hrt: side(hrt) } : {}),
    timeRatio: native && hrt ? hrt.secs / native.secs : NaN,
    hrtOnly,
    nativeOnly,
    ok: false,
  };
  return { ...m, ok: moduleOk(m) };
}

const explained = (d: Difference) => d.exception || !!d.flaky || !!d.unstable;
const moduleOk = (m: ModuleResult) => !!m.native && !!m.hrt && m.hrt.inHrt && m.hrtOnly.every(explained);

export function summarize(
  meta: Omit<ConformanceResult, 'suite' | 'modules' | 'total'>,
  modules: string[],
  runs: ModuleRun[],
  unavailable: Map<string, string>,
): ConformanceResult {
  const results = modules.map((m) => {
    if (unavailable.has(m)) return { module: m, timeRatio: NaN, hrtOnly: [], nativeOnly: [], ok: false, unavailable: unavailable.get(m) };
    return compareModule(
      m,
      runs.find((r) => r.module === m && r.mode === 'native'),
      runs.find((r) => r.module === m && r.mode === 'hrt'),
    );
  });
  return recount({ suite: 'conformance', ...meta, modules: results, total: undefined as never });
}

/** The totals (again, after reruns marked differences as timing accidents). */
export function recount(r: ConformanceResult): ConformanceResult {
  const results = r.modules.map((m) => (m.unavailable ? m : { ...m, ok: moduleOk(m) }));
  const add = (a: Counts, b?: Counts) => {
    if (b) for (const k of Object.keys(a) as (keyof Counts)[]) a[k] += b[k];
    return a;
  };
  const total = {
    native: results.reduce((a, r) => add(a, r.native?.counts), zero()),
    hrt: results.reduce((a, r) => add(a, r.hrt?.counts), zero()),
    nativeSecs: results.reduce((a, r) => a + (r.native?.secs ?? 0), 0),
    hrtSecs: results.reduce((a, r) => a + (r.hrt?.secs ?? 0), 0),
    hrtOnly: results.reduce((a, r) => a + r.hrtOnly.length, 0),
    exceptions: results.reduce((a, r) => a + r.hrtOnly.filter((d) => d.exception).length, 0),
    flaky: results.reduce((a, r) => a + r.hrtOnly.filter((d) => !d.exception && d.flaky).length, 0),
    unstable: results.reduce((a, r) => a + r.hrtOnly.filter((d) => !d.exception && !d.flaky && d.unstable).length, 0),
    unexplained: results.reduce((a, r) => a + r.hrtOnly.filter((d) => !explained(d)).length, 0),
  };
  return { ...r, modules: results, total };
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const cnt = (c?: Counts) => (c ? `${c.run} / ${c.passed} / ${c.failed} / ${c.errors} / ${c.skipped}` : '—');
const sec = (s?: Side) => (s ? s.secs.toFixed(1) : '—');
const verdict = (s?: Side) => (s ? (s.verdict === 'SUCCESS' ? 'ok' : s.verdict) : '—');
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdown(r: ConformanceResult): string {
  const out = [
    '# CPython 3.11 regression tests: natively and in the HRT',
    '',
    `- Machine: ${r.host.cpu}, ${r.host.cores} cores, ${r.host.memGiB} GiB, Linux ${r.host.kernel}`,
    `- Where: ${r.where}`,
    `- Python: ${r.python}; selection: ${r.selection}; each module \`python3.11 -m test -v\` in a process of its own, natively (\`MV_DISABLE=1 mvrun\`) then in the HRT (\`MV_REQUIRE_HRT=1 mvrun\`), limit ${r.timeoutS} s`,
    `- Date: ${r.host.date} (${r.elapsedS} s in all)`,
    ...r.notes.map((n) => `- Note: ${n}`),
    '',
    "Counts are run / passed / failed / errors / skipped (unittest's: an expected failure passes, an unexpected success fails; a test with a failed subtest fails). Time: the module's whole process, from /proc/uptime.",
    '',
    '| module | native | HRT | native s | HRT s | HRT/native | regrtest native | regrtest HRT | pass natively, not in the HRT |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.modules.map((m) =>
      m.unavailable
        ? `| ${m.module} | — | — | — | — | — | ${cell(m.unavailable)} | — | — |`
        : `| ${m.module} | ${cnt(m.native?.counts)} | ${cnt(m.hrt?.counts)} | ${sec(m.native)} | ${sec(m.hrt)} | ${f2(m.timeRatio)} | ${cell(verdict(m.native))} | ${cell(verdict(m.hrt))}${m.hrt && !m.hrt.inHrt ? ' (NOT in the HRT)' : ''} | ${m.hrtOnly.length ? `${m.hrtOnly.length}${m.hrtOnly.every((d) => d.exception) ? ' (documented)' : ''}` : '0'} |`,
    ),
    `| **total** | ${cnt(r.total.native)} | ${cnt(r.total.hrt)} | ${r.total.nativeSecs.toFixed(0)} | ${r.total.hrtSecs.toFixed(0)} | ${f2(r.total.hrtSecs / r.total.nativeSecs)} | | | ${r.total.hrtOnly} |`,
    '',
    `Passed natively but not in the HRT: **${r.total.hrtOnly}** (${r.total.exceptions} documented exceptions, ${r.total.flaky} passed every time they were run again in the HRT, ${r.total.unstable} failed natively too when run again, ${r.total.unexplained} unexplained).`,
    '',
  ];
  const diffs = r.modules.flatMap((m) => m.hrtOnly.map((d) => ({ m: m.module, ...d })));
  if (diffs.length) {
    out.push(
      '## Tests that pass natively but not in the HRT',
      '',
      'Each was run again alone, twice each way. Documented exceptions: hvm/README.md says why.',
      '',
      '| test | HRT | why (the exception in the traceback) | run again | verdict |',
      '|---|---|---|---|---|',
    );
    const verdictOf = (d: Difference) =>
      d.exception
        ? 'documented exception'
        : d.flaky
          ? 'timing: passes in the HRT when run again'
          : d.unstable
            ? 'unreliable: fails natively too when run again'
            : '**HRT defect?**';
    for (const d of diffs) out.push(`| \`${d.id}\` | ${d.hrt} | ${cell(d.why || '—')} | ${d.rerun ?? '—'} | ${verdictOf(d)} |`);
    out.push('');
  }
  const nat = r.modules.filter((m) => m.nativeOnly.length);
  if (nat.length) {
    out.push(
      '## Tests that pass in the HRT but not natively',
      '',
      ...nat.map((m) => `- ${m.module}: ${m.nativeOnly.map((t) => `\`${t}\``).join(', ')}`),
      '',
    );
  }
  if (EXCEPTIONS.length) {
    out.push('## Documented exceptions (hvm/README.md says why)', '', ...EXCEPTIONS.map((e) => `- \`${e.id}\`: ${e.reason}`), '');
  }
  return out.join('\n');
}

const MARK = {
  begin: '<!-- results:conformance:begin (generated by npm run conformance from bench/results/conformance.json) -->',
  end: '<!-- results:conformance:end -->',
};

export function readmeBlock(r: ConformanceResult): string {
  const t = r.total;
  const missing = r.modules.filter((m) => m.unavailable).map((m) => m.module);
  return [
    MARK.begin,
    `CPython 3.11's own regression tests (Debian's \`libpython3.11-testsuite\`; ${r.selection}), ${r.host.date.slice(0, 10)}, inside QEMU TCG on ${r.host.cpu} (${r.host.cores} cores), ` +
      `each module natively and with main in the HRT (\`mvrun\`): passed **${t.native.passed}** natively and **${t.hrt.passed}** in the HRT, of ${t.native.run} and ${t.hrt.run} run. ` +
      `Passed natively but not in the HRT: ${t.hrtOnly} (${t.flaky} passed every time they were run again in the HRT, ${t.unstable} failed natively too when run again, ` +
      `${t.exceptions} documented exceptions, **${t.unexplained} unexplained**)${missing.length ? `; not run: ${missing.join(', ')}` : ''}. ` +
      `HRT/native time ${f2(t.hrtSecs / t.nativeSecs)}. Full table: \`bench/results/conformance.md\`.`,
    MARK.end,
  ].join('\n');
}

export function writeReports(r: ConformanceResult): { json: string; md: string } {
  const dir = repoPath('bench/results');
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, 'conformance.json'), md: join(dir, 'conformance.md') };
  writeFileSync(files.json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(files.md, markdown(r));
  const readme = repoPath('README.md');
  writeFileSync(readme, updateReadme('conformance', readFileSync(readme, 'utf8'), readmeBlock(r)));
  return files;
}
