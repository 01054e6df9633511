// Conformance against a suite we did not write (issue 16): CPython 3.11's own regression tests
// (Debian's libpython3.11-testsuite), run unmodified with `mvrun python3.11 -m test`, each module
// natively and with main in the HRT (MV_REQUIRE_HRT=1: no silent fallback), in one QEMU TCG guest
// with nested KVM. This is the quick selection (bench/conformance/select.ts); `npm run
// conformance` runs the full one and writes the report. Per module: every test that passes
// natively passes in the HRT, except the documented exceptions (hvm/README.md) and tests that
// pass every time they are run again in the HRT (timing under a loaded TCG guest), or fail
// natively too when run again (tests that are not reliable in this guest either way).
import test from 'ava';
import { conformance, GUEST } from '../../bench/conformance/run';
import { EXCEPTIONS } from '../../bench/conformance/exceptions';
import type { ConformanceResult } from '../../bench/conformance/report';
import { SMOKE, SMOKE_MATCH } from '../../bench/conformance/select';

// Boot, both runs of every module, and a rerun boot when something differed.
const SLOW = 30 * 60_000;

let run: Promise<ConformanceResult> | undefined;
const result = () =>
  (run ??= conformance({
    modules: SMOKE,
    match: SMOKE_MATCH,
    selection: 'the quick selection',
    timeoutS: 600,
    reruns: 2,
    ...GUEST,
    guests: 2,
  }).then((r) => r.result));

test.serial('the quick selection ran in the guest, every module natively and in the HRT', async (t) => {
  t.timeout(SLOW);
  const r = await result();
  t.deepEqual(
    r.modules.map((m) => m.module),
    SMOKE,
  );
  t.log(
    `native ${r.total.native.passed}/${r.total.native.run} passed, HRT ${r.total.hrt.passed}/${r.total.hrt.run}; ${r.total.nativeSecs.toFixed(0)} s native, ${r.total.hrtSecs.toFixed(0)} s HRT`,
  );
});

for (const name of SMOKE) {
  test.serial(`${name}: what passes natively passes with main in the HRT`, async (t) => {
    t.timeout(SLOW);
    const m = (await result()).modules.find((x) => x.module === name)!;
    t.truthy(m.native && m.hrt, `${name} did not run in both modes`);
    t.true(m.hrt!.inHrt, `the HRT run did not announce main at CPL 0:\n${m.hrt!.verdict}`);
    t.true(m.native!.counts.run > 0, `no test ran natively (${m.native!.verdict})`);
    t.notRegex(m.native!.verdict + m.hrt!.verdict, /KILLED|TIMEOUT|NO HRT/);
    const bad = m.hrtOnly.filter((d) => !d.exception && !d.flaky && !d.unstable);
    t.deepEqual(
      bad.map((d) => `${d.id}: ${d.hrt}, ${d.why} (run again: ${d.rerun ?? 'no'})`),
      [],
    );
    // The counts: HRT passes >= native passes less the documented exceptions and the
    // differences the reruns explained (more when a test passed only in the HRT).
    const explained = m.hrtOnly.length - bad.length;
    t.true(
      m.hrt!.counts.passed >= m.native!.counts.passed - explained,
      `HRT ${m.hrt!.counts.passed}, native ${m.native!.counts.passed}, explained ${explained}`,
    );
    const documented = m.hrtOnly.filter((d) => d.exception).map((d) => d.id);
    t.true(documented.every((id) => EXCEPTIONS.some((e) => id.startsWith(e.id))));
    t.log(
      `${name}: native ${m.native!.counts.passed}/${m.native!.counts.run}, HRT ${m.hrt!.counts.passed}/${m.hrt!.counts.run}, ${m.native!.secs.toFixed(0)} s / ${m.hrt!.secs.toFixed(0)} s`,
    );
  });
}
