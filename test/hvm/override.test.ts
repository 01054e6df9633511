// Overrides (issue 9): mv-cc's --mv-override / --mv-list-overrides / MV_OVERRIDES /
// --mv-user-override on the build host, then the t_ov_* programs inside one QEMU TCG guest with
// nested kvm_amd (test/hvm/run-overrides.sh): each passes its own checks in the HRT and natively
// (MV_DISABLE=1) with the same "ok" lines, the HRT run counts the calls served HRT-natively
// (mv_override_count) and the native run counts none. The clock runs 10 s against the ROS clock.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInGuest, GuestResult } from '../../src/harness/guest';
import { buildC as build, Case, parseCases, repo } from './cases';

const tdir = join(repo, 'test', 'hvm');
const bdir = join(tdir, 'build');
const mvcc = join(repo, 'hvm', 'toolchain', 'mv-cc');
/** The override names, from the one list (hvm/src/override/overrides.list). */
const KNOWN = readFileSync(join(repo, 'hvm', 'src', 'override', 'overrides.list'), 'utf8')
  .split('\n')
  .filter((l) => /^[a-z_]/.test(l))
  .map((l) => l.split('|')[0]);

test.before(build);

test('mv-cc --mv-list-overrides prints one line per known override', (t) => {
  const out = execFileSync(mvcc, ['--mv-list-overrides'], { encoding: 'utf8' }).trimEnd().split('\n');
  t.deepEqual(
    out.map((l) => l.split(/\s+/)[0]),
    KNOWN,
  );
  for (const l of out) t.regex(l, /^\S+\s+\S.*/);
});

test('an unknown override fails the link with one line listing the known ones (flag and MV_OVERRIDES)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-ov-'));
  writeFileSync(join(dir, 'a.c'), 'int main(void) { return 0; }\n');
  const want = `mv-cc: unknown override 'foo' (known: ${KNOWN.join(', ')})\n`;
  const a = spawnSync(mvcc, ['--mv-override=clock_gettime', '--mv-override=foo', '-o', join(dir, 'a'), join(dir, 'a.c')], {
    encoding: 'utf8',
  });
  t.is(a.status, 2);
  t.is(a.stderr, want);
  const b = spawnSync(mvcc, ['-o', join(dir, 'a'), join(dir, 'a.c')], {
    encoding: 'utf8',
    env: { ...process.env, MV_OVERRIDES: 'malloc,foo' },
  });
  t.is(b.status, 2);
  t.is(b.stderr, want);
  const c = spawnSync(mvcc, ['--mv-user-override=1bad', '-o', join(dir, 'a'), join(dir, 'a.c')], { encoding: 'utf8' });
  t.is(c.status, 2);
  t.regex(c.stderr, /^mv-cc: bad user override name '1bad'/);
});

test('each override wraps its symbols; a member name (free) selects its whole family', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-ov-'));
  writeFileSync(
    join(dir, 'a.c'),
    '#include <stdlib.h>\n#include <time.h>\nint main(void) { struct timespec t; void *p = malloc(3); free(p); return clock_gettime(CLOCK_MONOTONIC, &t); }\n',
  );
  for (const v of [[], ['-static']]) {
    const r = spawnSync(mvcc, ['--mv-override=free', '--mv-override=clock_gettime', ...v, '-o', join(dir, 'a'), join(dir, 'a.c')], {
      encoding: 'utf8',
    });
    t.is(r.status, 0, r.stderr);
    const syms = execFileSync('nm', [join(dir, 'a')], { encoding: 'utf8' });
    for (const s of ['malloc', 'free', 'calloc', 'realloc', 'posix_memalign', 'aligned_alloc', 'clock_gettime'])
      t.regex(syms, new RegExp(` T __wrap_${s}$`, 'm'));
    t.notRegex(syms, /__wrap_getpid/);
  }
  // Without overrides nothing is wrapped but main.
  const r = spawnSync(mvcc, ['-o', join(dir, 'b'), join(dir, 'a.c')], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.notRegex(execFileSync('nm', [join(dir, 'b')], { encoding: 'utf8' }), /__wrap_(malloc|clock_gettime)/);
});

let guest: Promise<{ run: GuestResult; cases: Map<string, Case> }> | undefined;
function guestRun() {
  guest ??= (async () => {
    const files = readdirOv()
      .map((f) => ({ src: join(bdir, f), dest: `/mv/t/${f}`, mode: 0o755 }))
      .concat(
        AGAIN.flatMap((n) => [`t_${n}`, `t_${n}-static`]).map((f) => ({ src: join(bdir, 'ov', f), dest: `/mv/t/ov/${f}`, mode: 0o755 })),
      )
      .concat([
        { src: LIBGCC_S, dest: LIBGCC_S, mode: 0o644 },
        { src: join(tdir, 'case.sh'), dest: '/mv/t/case.sh', mode: 0o644 },
      ]);
    // One guest CPU, as hrt.test.ts (nested KVM under TCG -smp 2 can freeze the guest).
    const run = await runInGuest({
      files,
      script: readFileSync(join(tdir, 'run-overrides.sh'), 'utf8')
        .replace(/^D=.*$/m, 'D=/mv/t')
        .replace(/^S=.*$/m, 'S=10'),
      cpus: 1,
      timeoutMs: 600_000,
    });
    return { run, cases: parseCases(run.output) };
  })();
  return guest;
}

function readdirOv(): string[] {
  return ['ov_clock', 'ov_ident', 'ov_malloc', 'ov_user', 'ov_signal', 'native'].flatMap((n) => [`t_${n}`, `t_${n}-static`]);
}

// pthread_exit unwinds through libgcc_s, which glibc loads at run time (no DT_NEEDED names it).
const LIBGCC_S = '/lib/x86_64-linux-gnu/libgcc_s.so.1';

async function getCase(t: import('ava').ExecutionContext, name: string): Promise<Case> {
  const { run, cases } = await guestRun();
  const c = cases.get(name);
  if (!c)
    t.fail(`case ${name} did not run (guest status ${run.status}, serial log ${run.logPath || '(none)'}):\n${run.output.slice(-3000)}`);
  return c ?? { output: '', status: -1 };
}

const AGAIN = ['time', 'malloc', 'stress', 'threads', 'signal', 'fork', 'spawn', 'files', 'tls'];

const okLines = (s: string) =>
  s
    .split('\n')
    .filter((l) => /^(ok|FAIL|PASS|atexit|clock:)/.test(l))
    .join('\n');

const COUNTS: Record<string, RegExp> = {
  clock: /^mode: hrt, clock_gettime served in the HRT: [1-9]\d*$/m,
  ident:
    /^mode: hrt, served in the HRT: getpid [1-9]\d*, gettid [1-9]\d*, getuid & co [1-9]\d*, sched_yield [1-9]\d*, nanosleep [1-9]\d*$/m,
  malloc: /^mode: hrt, served in the HRT: malloc [1-9]\d*, free [1-9]\d*$/m,
  user: /^mode: hrt, getppid served by mv_hrt_getppid: 100$/m,
};

for (const v of ['', '-static']) {
  for (const name of ['clock', 'ident', 'malloc', 'user']) {
    test.serial(`t_ov_${name}${v}: same results in the HRT and natively; served in the HRT, not natively`, async (t) => {
      const hrt = await getCase(t, `ov-${name}${v}`);
      const nat = await getCase(t, `ov-${name}-native${v}`);
      t.is(hrt.status, 0, hrt.output);
      t.is(nat.status, 0, nat.output);
      t.regex(hrt.output, new RegExp(`^PASS t_ov_${name}$`, 'm'));
      t.notRegex(hrt.output, /^FAIL|^mv: no usable KVM/m, hrt.output);
      t.regex(hrt.output, COUNTS[name]);
      t.regex(nat.output, /^mode: native, [^\n]*\b0$/m);
      t.notRegex(nat.output, /^mode: native, [^\n]*[1-9]/m);
      // The clock's long run is 10 s in the HRT and 2 s natively: compare without that line.
      const strip = (s: string) => okLines(s).replace(/^clock: .*$/m, '');
      t.is(strip(hrt.output), strip(nat.output));
    });
  }

  for (const name of AGAIN) {
    test.serial(`t_${name}${v} rebuilt with every override passes its own checks in the HRT`, async (t) => {
      const c = await getCase(t, `ov-again-${name}${v}`);
      t.is(c.status, 0, c.output);
      t.regex(c.output, new RegExp(`^PASS t_${name}$`, 'm'));
      t.notRegex(c.output, /^FAIL|^mv: no usable KVM/m, c.output);
    });
  }

  test.serial(`t_ov_clock${v}: monotonic and within 1 ms of the ROS clock over 10 s`, async (t) => {
    const c = await getCase(t, `ov-clock${v}`);
    t.regex(c.output, /^clock: 10 s, \d+ comparisons with the ROS clock, monotonic: yes, within 1 ms: yes$/m);
    t.log(c.output.match(/^mode: max .*$/m)?.[0] ?? '');
  });

  test.serial(`t_ov_clock${v}: a TSC rate 500 ppm off is re-anchored: still within 1 ms over 10 s`, async (t) => {
    const c = await getCase(t, `ov-clock-skew${v}`);
    t.is(c.status, 0, c.output);
    t.regex(c.output, /^clock: 10 s, \d+ comparisons with the ROS clock, monotonic: yes, within 1 ms: yes$/m);
    t.log(c.output.match(/^mode: max .*$/m)?.[0] ?? '');
  });

  test.serial(`t_native${v}: HRT-native threads pass the same checks as ordinary threads, on pooled vCPUs`, async (t) => {
    const hrt = await getCase(t, `native-threads${v}`);
    const ros = await getCase(t, `native-threads-ros${v}`);
    t.is(hrt.status, 0, hrt.output);
    t.is(ros.status, 0, ros.output);
    t.regex(hrt.output, /^PASS t_native$/m);
    t.notRegex(hrt.output, /^FAIL|^mv: no usable KVM/m, hrt.output);
    t.is(okLines(hrt.output), okLines(ros.output));
    // Counted as native in the HRT (every one of them), ordinary natively.
    t.regex(hrt.output, /^native threads created: 413$/m);
    t.regex(ros.output, /^native threads created: 0$/m);
    t.regex(hrt.output, /^400 create\+join: fds and tasks stay flat: yes$/m);
    // A robust mutex held by a native thread at its exit: the runner walked its list (ABI 6).
    t.regex(hrt.output, /^ok pthread_mutex_lock\(&robust_mu\) == EOWNERDEAD$/m);
  });

  test.serial(`t_native${v}: create+join of a native thread and of an ordinary one, measured side by side`, async (t) => {
    const c = await getCase(t, `native-threads-bench${v}`);
    t.is(c.status, 0, c.output);
    const m = c.output.match(/^RESULT create_join native_us=([\d.]+) ordinary_us=([\d.]+) in_hrt=1 n=30$/m);
    t.truthy(m, c.output);
    t.log(m?.[0] ?? ''); // figures only: bench/overrides compares them
  });

  test.serial(`t_ov_signal${v}: a 1 ms timer's handler runs all through overridden calls`, async (t) => {
    const c = await getCase(t, `ov-signal${v}`);
    t.is(c.status, 0, c.output);
    t.regex(c.output, /^PASS t_ov_signal$/m);
    t.regex(c.output, /^mode: hrt, \d+ timer signals handled$/m);
  });

  test.serial(`t_ov_malloc${v}: arena blocks freed and realloc'ed after main, in the ROS`, async (t) => {
    const c = await getCase(t, `ov-malloc${v}`);
    t.regex(c.output, /^atexit: frees and realloc after main: ok$/m);
  });

  test.serial(`t_ov_user${v}: the user override runs in the HRT and prints through mv_printk`, async (t) => {
    const c = await getCase(t, `ov-user${v}`);
    t.regex(c.output, /^mv_hrt_getppid: cached in the HRT$/m);
  });
}
