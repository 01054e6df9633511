// End to end: `mv-image run --profile DIR` and `--gdb PORT` on a booted ISO, whose init gets its
// settings and sends the profile back over QEMU's PCI serial cards (src/harness/control.ts).
// The program spins for a while in `spin` (the profile must show it), then returns target(6):
// exit status 7, and `target` is where gdb breaks. Bad input (no boot) is in
// test/commands/run-debug.test.ts. Nested KVM under TCG is slow: generous timeouts.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, cli, freePort, tempDir } from '../helpers/cli';

const SPIN_C = `#include <stdio.h>
#include <time.h>

volatile unsigned long sink;

/* Pure computation in the HRT for a second or two; the clock is read (a forwarded call) only
 * between long runs of the loop. Not a leaf, so it keeps its frame and main shows as its caller. */
__attribute__((noinline)) void spin(double seconds)
{
	struct timespec a, b;
	unsigned long x = 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 1000000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < seconds);
	sink = x;
}

__attribute__((noinline)) int target(int v)
{
	return v + 1;
}

int main(void)
{
	spin(2.0);
	printf("spin: done\\n");
	return target(6);
}
`;

const dir = join(tempDir('mv-rundebug-'), 'spin');
const iso = join(dir, '..', 'spin.iso');

test.before(() => {
  mkdirSync(dir);
  writeFileSync(join(dir, 'spin.c'), SPIN_C);
  writeFileSync(join(dir, 'Makefile'), 'spin: spin.c\n\t$(CC) -O1 -g -fno-omit-frame-pointer -o spin spin.c\n');
  const b = cli(['build', dir, '-o', iso]);
  if (b.status !== 0) throw new Error(`building the spin package failed:\n${b.stderr}`);
});

test.serial('run --profile DIR: the folded stacks come back from the guest into DIR/profile.folded, drawn as DIR/profile.svg', (t) => {
  t.timeout(600_000);
  const out = join(tempDir('mv-prof-'), 'made', 'here');
  const t0 = Date.now();
  const r = cli(['run', iso, '--accel', 'tcg', '--timeout', '400', '--profile', out, '--profile-hz', '499'], {}, 500_000);
  t.log(`run --profile: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t.is(r.status, 7, r.stderr);
  t.regex(r.stdout, /^MV-HRT vcpus=1 cpl=0$/m, 'main ran in the HRT');
  t.regex(r.stdout, /^mv: profile: \d+ samples at 499 Hz in \/tmp\/mv-profile\.folded$/m);
  t.regex(r.stdout, /^MV-EXIT 7$/m);
  t.notRegex(r.stdout, /MV-PROFILE|MV-CTL/, 'the channel does not show on the console');
  t.deepEqual(readdirSync(out).sort(), ['profile.folded', 'profile.svg'], 'no temporary file left');
  const folded = readFileSync(join(out, 'profile.folded'), 'utf8');
  const lines = folded.trim().split('\n');
  t.true(
    lines.every((l) => /^[^ ].* \d+$/.test(l)),
    folded.slice(0, 400),
  );
  const inSpin = lines.filter((l) => /(^|;)spin(;|\s)/.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const all = lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  t.log(
    `${all} samples, ${inSpin} in spin; heaviest: ${lines
      .sort((a, b) => Number(b.split(' ').pop()) - Number(a.split(' ').pop()))
      .slice(0, 3)
      .join(' | ')}`,
  );
  t.true(inSpin > all / 2, `spin holds most samples (${inSpin} of ${all})`);
  t.regex(folded, /(^|;)main;spin \d+$/m, 'whole stacks: main, then spin');
  const svg = readFileSync(join(out, 'profile.svg'), 'utf8');
  t.regex(svg, /^<svg|^<\?xml/);
  t.regex(svg, />spin</);
  t.regex(r.stderr, new RegExp(`^mv-image: profile: ${all} samples in ${out}/profile\\.folded, flame graph ${out}/profile\\.svg$`, 'm'));
});

test.serial(
  "run --gdb PORT: Debian's gdb on the host stops at a breakpoint in the HRT (CPL 0), backtraces through main, and the program exits with its status",
  async (t) => {
    t.timeout(900_000);
    const port = await freePort();
    const t0 = Date.now();
    const run = spawn(process.execPath, [bin, 'run', iso, '--accel', 'tcg', '--timeout', '600', '--gdb', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    const waiting = new Promise<string>((done, fail) => {
      const check = () => {
        const hint = stderr.match(/^mv-image: gdb: .* debug it with: gdb (\S+) -ex 'target remote 127\.0\.0\.1:(\d+)'$/m);
        if (hint && /^mv: waiting for gdb on 127\.0\.0\.1:\d+/m.test(stdout)) done(hint[1]);
      };
      run.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        check();
      });
      run.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        check();
      });
      run.on('close', () => fail(new Error(`mv-image run ended before the stub waited:\n${stdout}\n${stderr}`)));
    });
    const ended = new Promise<number | null>((done) => run.on('close', (c) => done(c)));
    const prog = await waiting;
    t.log(`boot to "waiting for gdb": ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t.regex(
      stdout,
      new RegExp(`^mv: waiting for gdb on 127\\.0\\.0\\.1:${port} `, 'm'),
      'the stub listens on the same port number in the guest',
    );
    const g0 = Date.now();
    const gdb = await new Promise<{ status: number | null; out: string }>((done) => {
      const c = spawn(
        'gdb',
        [
          '-nx',
          '-batch',
          '-ex',
          'set remotetimeout 60',
          '-ex',
          `target remote :${port}`,
          '-ex',
          'break target',
          '-ex',
          'continue',
          '-ex',
          'bt',
          '-ex',
          'p $cs',
          '-ex',
          'continue',
          prog,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      c.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      c.stderr.on('data', (b: Buffer) => {
        out += b.toString();
      });
      c.on('close', (status) => done({ status, out }));
    });
    t.log(`gdb session: ${((Date.now() - g0) / 1000).toFixed(1)} s\n${gdb.out}`);
    const status = await ended;
    t.log(`whole run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t.regex(gdb.out, /^main \(\) at .*spin\.c:\d+$/m, 'stopped at main before it ran');
    t.regex(gdb.out, /Breakpoint 1, target \(v=[^)]*\) at .*spin\.c:\d+/);
    t.regex(gdb.out, /^#1 +0x[0-9a-f]+ in main \(\) at .*spin\.c:\d+$/m, 'the backtrace reaches main');
    t.regex(gdb.out, /^\$1 = 8$/m, "CPL 0: the HRT's kernel code segment");
    t.regex(gdb.out, /\[Inferior 1 \(.*\) exited with code 07\]/);
    t.is(status, 7, stderr);
    t.regex(stdout, /^spin: done$/m);
    t.regex(stdout, /^MV-EXIT 7$/m);
  },
);
