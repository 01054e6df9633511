// The conformance report's parts that need no guest: reading regrtest's verbose log (docstring
// lines, subtests, a test run twice, a process that died mid-test), the guest's framing, the
// comparison, and the guest script's shape.
import test from 'ava';
import { gzipSync } from 'node:zlib';
import { parseGuestOutput, parseLog } from '../../bench/conformance/parse';
import { compareModule, markdown, readmeBlock, recount, summarize } from '../../bench/conformance/report';
import { guestScript } from '../../bench/conformance/script';

const LOG = `== CPython 3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]
MV-HRT vcpus=1 cpl=0
0:00:00 load avg: 0.21 Run tests sequentially
0:00:00 load avg: 0.21 [1/1] test_x
test_a (test.test_x.A.test_a) ... ok
test_b (test.test_x.A.test_b)
Check the doc line. ... FAIL
test_c (test.test_x.A.test_c) ... skipped 'not on Windows'
test_d (test.test_x.A.test_d) ... 
  test_d (test.test_x.A.test_d) (n=1) ... ERROR
test_e (test.test_x.A.test_e) ... noise from a child
ok
test_e (test.test_x.A.test_e) ... expected failure
Doctest: x.y ... ok
encode (x.Encoder)
Doctest: x.Encoder.encode ... ok
test_f (test.test_x.A.test_f) ... unexpected success

======================================================================
FAIL: test_b (test.test_x.A.test_b)
Check the doc line.
----------------------------------------------------------------------
Traceback (most recent call last):
  File "x.py", line 1, in test_b
AssertionError: 1 != 2

stderr:
---
noise
---

----------------------------------------------------------------------
Ran 8 tests in 0.1s

FAILED (failures=2, errors=1, skipped=1)
test_x failed

== Tests result: FAILURE ==
Tests result: FAILURE
`;

test('a verbose log gives one outcome per test run, with why', (t) => {
  const r = parseLog(LOG);
  t.deepEqual(r.tests, {
    'test.test_x.A.test_a': 'pass',
    'test.test_x.A.test_b': 'fail',
    'test.test_x.A.test_c': 'skip',
    'test.test_x.A.test_d': 'error',
    'test.test_x.A.test_e': 'pass',
    'test.test_x.A.test_e#2': 'pass',
    'Doctest: x.y': 'pass',
    'Doctest: x.Encoder.encode': 'pass',
    'test.test_x.A.test_f': 'fail',
  });
  t.is(r.why['test.test_x.A.test_b'], 'AssertionError: 1 != 2');
  t.is(r.why['test.test_x.A.test_c'], "skipped: 'not on Windows'");
  t.is(r.verdict, 'FAILURE');
});

test('a test the process died in is an error; the tests before it count', (t) => {
  const r = parseLog('test_a (m.A.test_a) ... ok\ntest_b (m.A.test_b) ... Fatal Python error: Segmentation fault\n');
  t.deepEqual(r.tests, { 'm.A.test_a': 'pass', 'm.A.test_b': 'error' });
  t.regex(r.why['m.A.test_b'], /process ended/);
});

const frame = (mode: string, module: string, log: string, status = 0) =>
  [
    `MV-CONF-BEGIN mode=${mode} module=${module}`,
    ...(gzipSync(log)
      .toString('base64')
      .match(/.{1,76}/g) ?? []),
    `MV-CONF-END mode=${mode} module=${module} status=${status} secs=12.50`,
  ].join('\n');

test('the guest output: each framed log decoded; the HRT run found in the HRT; the comparison', (t) => {
  const nat = LOG.replace('MV-HRT vcpus=1 cpl=0\n', '');
  const hrt = LOG.replace('test_a (test.test_x.A.test_a) ... ok', 'test_a (test.test_x.A.test_a) ... ERROR');
  const runs = parseGuestOutput(
    ['MV-BOOT x', frame('native', 'test_x', nat, 2), frame('hrt', 'test_x', hrt, 2), 'MV-CONF-DONE'].join('\n'),
  );
  t.is(runs.length, 2);
  t.deepEqual(
    runs.map((r) => [r.mode, r.inHrt, r.status, r.secs]),
    [
      ['native', false, 2, 12.5],
      ['hrt', true, 2, 12.5],
    ],
  );
  t.deepEqual(runs[0].counts, { run: 9, passed: 5, failed: 2, errors: 1, skipped: 1 });
  const c = compareModule('test_x', runs[0], runs[1]);
  t.deepEqual(
    c.hrtOnly.map((d) => [d.id, d.hrt, d.exception]),
    [['test.test_x.A.test_a', 'error', false]],
  );
  t.false(c.ok);
  t.true(compareModule('test_x', runs[0], { ...runs[0], inHrt: true }).ok);
  t.false(compareModule('test_x', runs[0], runs[0]).ok, 'a run that was not in the HRT is not a pass');
});

test('a module killed at its time limit, and one not available, are reported as such', (t) => {
  const runs = parseGuestOutput(
    [
      frame('native', 'test_y', 'test_a (m.A.test_a) ... ok\n'),
      frame('hrt', 'test_y', 'MV-HRT vcpus=1 cpl=0\ntest_a (m.A.test_a) ... ', 137),
    ].join('\n'),
  );
  t.is(runs[1].verdict, 'KILLED at the time limit');
  const meta = {
    host: { cpu: 'cpu', cores: 2, memGiB: 24, kernel: 'k', date: '2026-01-01T00:00:00Z', load1: 0.5 },
    where: 'guest',
    python: '3.11.2',
    selection: 'two',
    timeoutS: 60,
    elapsedS: 1,
    notes: [],
  };
  const r = summarize(meta, ['test_y', 'test_z'], runs, new Map([['test_z', 'not shipped']]));
  t.is(r.total.hrtOnly, 1);
  t.is(r.total.unexplained, 1);
  t.regex(markdown(r), /\| test_z \| — \| — \| — \| — \| — \| not shipped/);
  t.regex(markdown(r), /`m\.A\.test_a` \| error \| the process ended during this test/);
  t.regex(readmeBlock(r), /^<!-- results:conformance:begin[\s\S]*not run: test_z[\s\S]*<!-- results:conformance:end -->$/);
  // Run again: it passes in the HRT every time (timing), or fails natively too (unreliable).
  for (const mark of [{ flaky: true }, { unstable: true }]) {
    const again = recount({ ...r, modules: r.modules.map((m) => ({ ...m, hrtOnly: m.hrtOnly.map((d) => ({ ...d, ...mark })) })) });
    t.is(again.total.unexplained, 0);
    t.true(again.modules[0].ok);
  }
});

test('the guest script runs each module in each mode through mvrun, in-process (no -j), bounded', (t) => {
  const s = guestScript({ modules: ['test_a', 'test_b'], modes: ['native', 'hrt'], timeoutS: 100, match: { test_b: ['m.A.test_x'] } });
  t.regex(s, /timeout -s KILL 160 env \$envs \/mv\/bin\/mvrun \/usr\/bin\/python3\.11 -m test -v --timeout 100 /);
  t.notRegex(s, / -j/);
  t.deepEqual(s.match(/^one .*$/gm), [
    "one native test_a 'MV_DISABLE=1' ",
    "one hrt test_a 'MV_REQUIRE_HRT=1 MV_ANNOUNCE=1' ",
    "one native test_b 'MV_DISABLE=1' -m 'm.A.test_x'",
    "one hrt test_b 'MV_REQUIRE_HRT=1 MV_ANNOUNCE=1' -m 'm.A.test_x'",
  ]);
});
