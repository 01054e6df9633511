// hvm/unit: the host unit tests of libmv's pure logic (VMA table, page tables, arena size
// classes, MV_* parsing, the override list, the signal actions' lock-free reads), built with
// ASan and UBSan (ThreadSanitizer for t_sigact) by `make -C hvm
// unit-build` and run here, one ava test per case, so a broken case is exactly one failure.
// `npm test` also runs them first, in its pretest script (`make -C hvm unit`), before any guest.
// Tests must be declared synchronously, so the binaries run while this file loads (seconds).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..', '..');
const hvm = join(repo, 'hvm');
/** The units, as hvm/Makefile lists them (its UNIT_TESTS line: one list, not two). */
const UNITS =
  /^UNIT_TESTS\s*:=\s*(.+)$/m
    .exec(readFileSync(join(hvm, 'Makefile'), 'utf8'))?.[1]
    .trim()
    .split(/\s+/) ?? [];

/** One reported case: `ok NAME` or `not ok NAME: why`. */
interface UnitCase {
  name: string;
  ok: boolean;
  why: string;
}

/** The cases a unit binary reported, and whether its plan line (`1..N`) matches them. */
function parseUnitOutput(stdout: string): { cases: UnitCase[]; planned: number | undefined } {
  const cases: UnitCase[] = [];
  let planned: number | undefined;
  for (const line of stdout.split('\n')) {
    const plan = /^1\.\.(\d+)$/.exec(line);
    if (plan) planned = Number(plan[1]);
    const m = /^(ok|not ok) (\S+?)(?:: (.*))?$/.exec(line);
    if (m) cases.push({ name: m[2], ok: m[1] === 'ok', why: m[3] ?? '' });
  }
  return { cases, planned };
}

const build = spawnSync('make', ['-s', '-C', hvm, 'unit-build'], { encoding: 'utf8' });
if (UNITS.length < 6) {
  test('hvm/Makefile lists the unit tests (UNIT_TESTS)', (t) => {
    t.fail(`UNIT_TESTS names ${UNITS.length} units: ${UNITS.join(' ')}`);
  });
} else if (build.status !== 0) {
  test('hvm/unit builds (make -C hvm unit-build)', (t) => {
    t.fail(`${build.stdout}${build.stderr}`);
  });
} else {
  for (const unit of UNITS) {
    const bin = join(hvm, 'build', 'unit', `t_${unit}`);
    const r = spawnSync(bin, [], { encoding: 'utf8', timeout: 300_000 });
    const { cases, planned } = parseUnitOutput(r.stdout ?? '');
    // A sanitizer's report goes to stderr: shown with each failure of this binary.
    const stderr = (r.stderr ?? '').slice(-4000);
    for (const c of cases) {
      test(`unit ${c.name}`, (t) => {
        if (c.ok) t.pass();
        else t.fail(`${c.why}${stderr ? `\n${stderr}` : ''}`);
      });
    }
    const failed = cases.filter((c) => !c.ok).length;
    // The binary itself: every planned case reported, and its status agrees with them.
    test(`unit t_${unit} reports every case`, (t) => {
      t.truthy(cases.length, `no case reported: ${r.error ?? ''} ${r.stdout ?? ''} ${stderr}`);
      t.is(cases.length, planned ?? -1, `planned ${planned}, reported ${cases.length}:\n${r.stdout}\n${stderr}`);
      t.is(r.status, failed ? 1 : 0, `exit status ${r.status} (signal ${r.signal}) with ${failed} failed`);
    });
  }
}

test('parseUnitOutput reads ok, not ok with a reason, and the plan', (t) => {
  const p = parseUnitOutput('1..2\nok vma.a\nnot ok vma.b: t_vma.c:9: x: y\n# vma: 1 passed, 1 failed\n');
  t.is(p.planned, 2);
  t.deepEqual(p.cases, [
    { name: 'vma.a', ok: true, why: '' },
    { name: 'vma.b', ok: false, why: 't_vma.c:9: x: y' },
  ]);
});
