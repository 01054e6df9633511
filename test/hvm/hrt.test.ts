// The HRT C runtime tests: test/hvm/*.c, built with mv-cc (dynamic and -static), run inside a
// QEMU TCG guest where kvm_amd gives a /dev/kvm that can run libc code. One boot runs them all
// (test/hvm/run-all.sh frames each run as "=== BEGIN <case>" ... "=== END <case> <status>");
// a second boot without SVM checks the no-KVM fallback. Each C program checks itself and prints
// PASS/FAIL; here we assert its status and the lines that matter.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest, GuestResult } from '../../src/harness/guest';

const repo = join(__dirname, '..', '..', '..');
const tdir = join(repo, 'test', 'hvm');
const bdir = join(tdir, 'build');

interface Case { output: string; status: number }

function parseCases(output: string): Map<string, Case> {
  const cases = new Map<string, Case>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const b = line.match(/^=== BEGIN (\S+)$/);
    const e = line.match(/^=== END (\S+) (\d+)$/);
    if (b) { name = b[1]; lines = []; continue; }
    if (e && e[1] === name) { cases.set(name, { output: lines.join('\n'), status: Number(e[2]) }); name = undefined; continue; }
    if (name !== undefined) lines.push(line);
  }
  return cases;
}

function build(): void {
  for (const dir of ['nautilus', 'hvm', 'test/hvm']) execFileSync('make', ['-s', '-j2', '-C', join(repo, dir)], { stdio: 'pipe' });
}

function guestFiles() {
  return readdirSync(bdir).filter((f) => f.startsWith('t_')).map((f) => ({ src: join(bdir, f), dest: `/mv/t/${f}`, mode: 0o755 }));
}

let hrt: Promise<{ run: GuestResult; cases: Map<string, Case> }> | undefined;
function hrtRun() {
  hrt ??= (async () => {
    build();
    const run = await runInGuest({ files: guestFiles(), script: readFileSync(join(tdir, 'run-all.sh'), 'utf8'), timeoutMs: 600_000 });
    return { run, cases: parseCases(run.output) };
  })();
  return hrt;
}

async function getCase(t: import('ava').ExecutionContext, name: string): Promise<Case> {
  const { run, cases } = await hrtRun();
  const c = cases.get(name);
  if (!c) t.fail(`case ${name} did not run (guest status ${run.status}, serial log ${run.logPath || '(none)'}):\n${run.output.slice(-3000)}`);
  return c ?? { output: '', status: -1 };
}

const VARIANTS = ['', '-static'];
const SELF_CHECKING = ['cpl', 'args', 'files', 'malloc', 'mmap', 'tls', 'time', 'stdin'];

for (const v of VARIANTS) {
  for (const name of SELF_CHECKING) {
    test.serial(`${name}${v}: passes its own checks in the HRT`, async (t) => {
      const c = await getCase(t, `${name}${v}`);
      t.is(c.status, 0, c.output);
      t.regex(c.output, new RegExp(`^PASS t_${name}$`, 'm'));
      t.notRegex(c.output, /^FAIL/m);
      t.notRegex(c.output, /^mv: no usable KVM/m, 'ran natively instead of in the HRT');
    });
  }

  test.serial(`stdin${v}: lines piped in are read through`, async (t) => {
    const c = await getCase(t, `stdin${v}`);
    t.regex(c.output, /^got: one\ngot: two\ngot: three$/m);
  });

  for (const mode of ['ret', 'exit', '_exit']) {
    for (const n of [0, 3, 255]) {
      test.serial(`exit${v}: ${mode} ${n} gives status ${n}`, async (t) => {
        const c = await getCase(t, `exit-${mode}-${n}${v}`);
        t.is(c.status, n, c.output);
        t.regex(c.output, new RegExp(`^t_exit ${mode} ${n}$`, 'm'), 'stdio buffers are flushed');
        if (mode === '_exit') t.notRegex(c.output, /atexit handler ran/);
        else t.regex(c.output, /^atexit handler ran$/m);
      });
    }
  }

  test.serial(`null${v}: a NULL dereference gives the report and status 139`, async (t) => {
    const c = await getCase(t, `null${v}`);
    t.is(c.status, 139, c.output);
    t.regex(c.output, /^about to dereference NULL$/m);
    t.regex(c.output, /^mv: HRT segmentation fault$/m);
    t.regex(c.output, /vector 14 \(#PF page fault\)/);
    t.regex(c.output, /rip 0x[0-9a-f]{16} <deref[^>]*> in /);
    t.regex(c.output, /address 0x0000000000000000 \(no mapping in the process\)/);
    t.regex(c.output, /rax [0-9a-f]{16} rbx /);
    t.notRegex(c.output, /^FAIL/m);
  });

  for (const [mode, why] of [['ro-write', 'mapped, but not for a write'], ['text-write', 'mapped, but not for a write'], ['unmapped', 'no mapping in the process']]) {
    test.serial(`mmap${v}: ${mode} dies with SIGSEGV semantics (139)`, async (t) => {
      const c = await getCase(t, `mmap-${mode}${v}`);
      t.is(c.status, 139, c.output);
      t.regex(c.output, /^mv: HRT segmentation fault$/m);
      t.true(c.output.includes(`(${why}`), c.output);
      t.regex(c.output, /<main\+0x[0-9a-f]+> in /);
      t.notRegex(c.output, /^FAIL/m);
    });
  }
}

test.serial('MV_DISABLE=1 runs natively with identical output', async (t) => {
  for (const name of ['args', 'files', 'tls', 'mmap', 'stdin']) {
    const hrtCase = await getCase(t, name);
    const native = await getCase(t, `native-${name}`);
    t.is(native.status, 0, native.output);
    t.is(native.output, hrtCase.output, `${name}: native and HRT output differ`);
  }
  const e3 = await getCase(t, 'native-exit-exit-3');
  t.is(e3.status, 3);
  t.is(e3.output, (await getCase(t, 'exit-exit-3')).output);
  const cpl = await getCase(t, 'native-cpl');
  t.is(cpl.status, 0, cpl.output);
  t.regex(cpl.output, /^PASS t_cpl$/m);
  const nul = await getCase(t, 'native-null');
  t.is(nul.status, 139);
  t.notRegex(nul.output, /^mv:/m, 'no HRT report when native');
});

test.serial('MV_ANNOUNCE=1 announces main starting in the HRT', async (t) => {
  const c = await getCase(t, 'announce');
  t.is(c.status, 0, c.output);
  t.regex(c.output, /^MV-HRT vcpus=1 cpl=0$/m);
  t.is(c.output.match(/MV-HRT/g)?.length, 1);
});

test.serial('MV_REQUIRE_HRT=1 is satisfied where the HRT runs', async (t) => {
  const c = await getCase(t, 'require-hrt');
  t.is(c.status, 0, c.output);
  t.notRegex(c.output, /^mv:/m);
});

// A guest without SVM has no /dev/kvm: the same binary runs natively after one warning line,
// and MV_REQUIRE_HRT=1 turns that into an error.
test.serial('without KVM: one-line warning and native run; MV_REQUIRE_HRT=1 fails', async (t) => {
  build();
  const script = [
    'cd /tmp',
    'echo "=== BEGIN fallback"; /mv/t/t_cpl --native 2>&1; echo "=== END fallback $?"',
    'echo "=== BEGIN disabled"; MV_DISABLE=1 /mv/t/t_cpl --native 2>&1; echo "=== END disabled $?"',
    'echo "=== BEGIN required"; MV_REQUIRE_HRT=1 /mv/t/t_cpl --native 2>&1; echo "=== END required $?"',
  ].join('\n') + '\n';
  const run = await runInGuest({ files: guestFiles().filter((f) => f.dest.endsWith('/t_cpl')), script, cpuFlags: '-svm', timeoutMs: 300_000 });
  const cases = parseCases(run.output);
  const fb = cases.get('fallback');
  t.truthy(fb, run.output.slice(-2000));
  if (!fb) return;
  t.is(fb.status, 0, fb.output);
  t.regex(fb.output, /^PASS t_cpl$/m);
  t.is(fb.output.split('\n').filter((l) => l.startsWith('mv:')).length, 1);
  t.regex(fb.output, /^mv: no usable KVM \(.*\); running main natively$/m);
  const dis = cases.get('disabled');
  t.is(dis?.status, 0);
  t.notRegex(dis?.output ?? '', /^mv:/m, 'MV_DISABLE runs natively without the warning');
  const req = cases.get('required');
  t.is(req?.status, 126);
  t.regex(req?.output ?? '', /^mv: MV_REQUIRE_HRT is set but the HRT cannot run: /m);
});
