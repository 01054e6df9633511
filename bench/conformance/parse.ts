// Reads what the guest printed (script.ts): each module run's `python3 -m test -v` log, gzip'd
// and base64'd between MV-CONF-BEGIN and MV-CONF-END, and turns each log into per-test outcomes.
//
// The verbose log, not the JUnit XML, is the record: it is written as the tests run, so a
// module killed by its time limit or a crash still tells which tests passed before, and it shows
// failed subtests (regrtest's XML leaves a test with failed subtests nameless).
import { gunzipSync } from 'node:zlib';
import type { Mode } from './script';

export type Outcome = 'pass' | 'fail' | 'error' | 'skip';
export interface Counts {
  run: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

export interface ModuleRun {
  mode: Mode;
  module: string;
  /** The exit status of the module's process (137: killed at the time limit). */
  status: number;
  secs: number;
  /** regrtest's own verdict ("SUCCESS", "FAILURE", ...), or why there is none. */
  verdict: string;
  /** The HRT run announced main at CPL 0 (MV_ANNOUNCE); natively: false. */
  inHrt: boolean;
  tests: Record<string, Outcome>;
  counts: Counts;
  /** For each test that did not pass: the last line of its traceback, or why it was skipped. */
  why: Record<string, string>;
  log: string;
}

const START = /^(?:\S+ \(([\w.]+)\)|(Doctest: \S+)) \.\.\. ?(.*)$/;
// A test with a docstring: "name (id)" alone, then "First line of the doc ... ok".
const NAMED = /^\S+ \(([\w.]*)\)$/;
const SUB = /^ {2}(\S+) \(([\w.]+)\) \(.*\) \.\.\. (.*)$/;
/** The exception line of a traceback ("AssertionError: 1 != 2"). */
const EXC = /^[A-Za-z_][\w.]*(Error|Exception|Exit|Warning|Interrupt|Failure|Timeout)\b/;
const HEADER = /^(FAIL|ERROR): (\S+) \(([\w.]+)\)/;

function statusOf(text: string): Outcome | undefined {
  const s = text.trim();
  if (/(^|\W)(ok|expected failure)$/.test(s)) return 'pass';
  if (/(^|\W)(FAIL|unexpected success)$/.test(s)) return 'fail';
  if (/(^|\W)ERROR$/.test(s)) return 'error';
  if (/(^|\W)skipped (['"]).*\2$/.test(s)) return 'skip';
  return undefined;
}

export function counts(tests: Record<string, Outcome>): Counts {
  const v = Object.values(tests);
  const n = (o: Outcome) => v.filter((x) => x === o).length;
  return { run: v.length, passed: n('pass'), failed: n('fail'), errors: n('error'), skipped: n('skip') };
}

/** Per-test outcomes from one verbose log. A test started but never finished (the process
 *  died or was killed in it) is an error; one with a failed subtest is a failure. */
export function parseLog(log: string): { tests: Record<string, Outcome>; why: Record<string, string>; verdict?: string } {
  const tests: Record<string, Outcome> = {};
  const why: Record<string, string> = {};
  // unittest may run one test twice (a module loaded twice): each run is a test, keyed id#2.
  const latest = new Map<string, string>();
  const keyFor = (id: string) => {
    let k = id;
    for (let n = 2; k in tests; n++) k = `${id}#${n}`;
    latest.set(id, k);
    return k;
  };
  let pending: string | undefined;
  let named = false; // the line before was a "name (id)" line
  const finish = (o: Outcome) => {
    tests[pending!] = o;
    pending = undefined;
  };
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const sub = line.match(SUB);
    if (sub) {
      const o = statusOf(sub[3]);
      const k = latest.get(sub[2]) ?? sub[2];
      if (o === 'fail' || o === 'error') tests[k] = tests[k] === 'error' ? 'error' : o;
      continue;
    }
    const st = line.match(START);
    if (st) {
      // A doctest's "Doctest: name ... ok" follows its "name (module.Class)" line: one test.
      const sameTest = st[2] && named;
      if (pending && !(pending in tests) && !sameTest) tests[pending] = 'error';
      named = false;
      pending = keyFor(st[1] ?? st[2]);
      const o = statusOf(st[3]);
      if (o === 'skip') why[pending] = st[3].trim().replace(/^skipped /, 'skipped: ');
      if (o) finish(o);
      continue;
    }
    const nm = line.match(NAMED);
    if (nm) {
      if (pending && !(pending in tests)) tests[pending] = 'error';
      pending = keyFor(nm[1]);
      named = true;
      continue;
    }
    named = false;
    if (pending && !(pending in tests)) {
      const o = statusOf(line);
      if (o === 'skip') why[pending] = line.replace(/^.* \.\.\. skipped /, 'skipped: ');
      if (o) finish(o);
    }
    const h = line.match(HEADER);
    if (h) {
      // The traceback follows the dashes; its (last) exception line says why.
      let j = i + 1,
        last = '';
      while (j < lines.length && j < i + 4 && !lines[j].startsWith('-----')) j++;
      j++;
      let exc = '';
      while (j < lines.length && !/^(=====|-----)/.test(lines[j])) {
        if (lines[j].trim()) last = lines[j].trim();
        if (EXC.test(lines[j])) exc = lines[j];
        j++;
      }
      last = exc || last;
      const k = latest.get(h[3]) ?? h[3];
      if (!why[k]) why[k] = last.slice(0, 300);
    }
  }
  if (pending && !(pending in tests)) {
    tests[pending] = 'error';
    why[pending] = 'the process ended during this test';
  }
  const verdict = log.match(/^(?:== )?Tests result: ([A-Z_, ]+?)(?: ==)?$/m)?.[1];
  return { tests, why, verdict };
}

const field = (line: string, k: string) => line.match(new RegExp(`\\b${k}=(\\S+)`))?.[1] ?? '';

/** Every module run the guest reported, in order. */
export function parseGuestOutput(output: string): ModuleRun[] {
  const runs: ModuleRun[] = [];
  const lines = output.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('MV-CONF-BEGIN ')) continue;
    const mode = field(lines[i], 'mode') as Mode,
      module = field(lines[i], 'module');
    const b64: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith('MV-CONF-END ')) {
      if (/^[A-Za-z0-9+/=]+$/.test(lines[j])) b64.push(lines[j]);
      j++;
    }
    if (j >= lines.length) break; // the guest died while printing it
    let log = '';
    try {
      log = gunzipSync(Buffer.from(b64.join(''), 'base64')).toString('utf8');
    } catch {
      log = '(the log did not arrive intact)';
    }
    const status = Number(field(lines[j], 'status')),
      secs = Number(field(lines[j], 'secs'));
    const p = parseLog(log);
    const skippedModule = log.match(
      new RegExp(`^(?:\\d+:\\d+:\\d+ (?:load avg: [\\d.]+ )?)?\\[?.*?\\]? ?${module} skipped -- (.*)$`, 'm'),
    )?.[1];
    const verdict =
      p.verdict ??
      (status === 137
        ? 'KILLED at the time limit'
        : /^Timeout \(/m.test(log)
          ? 'TIMEOUT'
          : status === 126
            ? 'NO HRT'
            : `no verdict (status ${status})`);
    runs.push({
      mode,
      module,
      status,
      secs,
      verdict: skippedModule ? `${verdict} (module skipped: ${skippedModule})` : verdict,
      inHrt: /^MV-HRT vcpus=\d+ cpl=0$/m.test(log),
      tests: p.tests,
      counts: counts(p.tests),
      why: p.why,
      log,
    });
    i = j;
  }
  return runs;
}
