// End to end: the program runs as the foreground job of the guest's console, as on Linux. Typed
// lines reach its stdin, Ctrl-D ends its input, Ctrl-C kills it with SIGINT (MV-EXIT 130) whether
// it waits for input or computes in the HRT, and init still powers off. Input comes through
// boot()'s input stream and through `mv-image run`'s stdin: piped, and a terminal (a pty from
// script(1)) with the Ctrl-A escape. examples/echo is the program.
import test, { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { boot, BootResult } from '../../src/harness/qemu';
import { bin, cli, repo, session, Step, tempDir, typist } from '../helpers/cli';

const iso = join(tempDir('mv-console-'), 'echo.iso');
const READY = /^echo: ready$/m;

test.before(() => {
  const b = cli(['build', join(repo, 'examples/echo'), '-o', iso]);
  if (b.status !== 0) throw new Error(`building examples/echo failed:\n${b.stderr}`);
});

/** Boots the echo image, typing the steps into its console through boot()'s input stream. */
async function bootTyping(t: ExecutionContext, steps: Step[]): Promise<BootResult> {
  t.timeout(300_000);
  const input = new PassThrough();
  const r = await boot({ iso, accel: 'tcg', timeoutMs: 240_000, input, onOutput: typist(steps, (s) => input.write(s)) });
  t.regex(r.output, /^MV-TTY \/dev\/ttyS0$/m);
  t.regex(r.output, /^MV-HRT vcpus=1 cpl=0$/m, 'main ran in ring 0 of the HRT');
  t.regex(r.output, /^echo: stdin=\/dev\/ttyS0 foreground=yes isig=on intr=\^C$/m, "the console tty is the program's terminal");
  t.true(r.poweredOff, 'init powered off by itself after MV-EXIT');
  return r;
}

test.serial('Ctrl-C at the console ends a program waiting for input with SIGINT: MV-EXIT 130, then poweroff', async (t) => {
  const r = await bootTyping(t, [{ after: READY, type: '\x03' }]);
  t.is(r.status, 130);
  t.regex(r.output, /^\^C\nMV-EXIT 130$/m, 'the echoed ^C ends its line, MV-EXIT has its own');
});

test.serial("typed lines reach the program's stdin and Ctrl-D ends its input", async (t) => {
  const r = await bootTyping(t, [
    { after: READY, type: 'hello there\r' },
    { after: /^echo: read "hello there"$/m, type: 'second line\r' },
    { after: /^echo: read "second line"$/m, type: '\x04' },
  ]);
  t.is(r.status, 0);
  t.regex(r.output, /^hello there\n/m, 'the terminal echoes what is typed');
  t.regex(r.output, /^echo: end of input\n(.*\n)*MV-EXIT 0$/m);
});

test.serial('Ctrl-\\ ends the program with SIGQUIT: MV-EXIT 131', async (t) => {
  const r = await bootTyping(t, [{ after: READY, type: '\x1c' }]);
  t.is(r.status, 131);
  t.regex(r.output, /^MV-EXIT 131$/m);
});

test.serial('mv-image run forwards piped stdin: Ctrl-C stops a program computing in the HRT', async (t) => {
  t.timeout(300_000);
  const r = await session(
    process.execPath,
    [bin, 'run', iso, '--accel', 'tcg', '--timeout', '240'],
    [
      { after: READY, type: 'spin\r' },
      { after: /^echo: spinning$/m, type: '\x03' },
    ],
  );
  t.is(r.status, 130, r.stderr);
  t.regex(r.stdout, /^echo: read "spin"$/m);
  t.regex(r.stdout, /^MV-EXIT 130$/m);
  t.regex(r.stderr, /^mv-image: program exited with status 130 /m);
});

test.serial("printf 'x\\003' | mv-image run: input sent at once is held until the program owns the terminal", (t) => {
  const r = cli(['run', iso, '--accel', 'tcg', '--timeout', '240'], {}, 300_000, 'x\x03');
  t.is(r.status, 130, r.stderr);
  t.regex(r.stdout, /^MV-TTY \/dev\/ttyS0$/m);
  t.regex(r.stdout, /^MV-EXIT 130$/m);
});

test.serial(
  "on a terminal: keys go to the guest in raw mode, Ctrl-C is the program's, Ctrl-A x stops the VM (130), the terminal is restored",
  async (t) => {
    t.timeout(600_000);
    // script(1) runs two mv-image runs on a pty and copies its own stdin (our pipe) to it.
    const run = `${process.execPath} ${bin} run ${iso} --accel tcg --timeout 240; echo "status $?"`;
    const r = await session(
      'script',
      ['-qefc', `${run}; ${run}; stty -a`, '/dev/null'],
      [
        { after: READY, type: 'typed\r' },
        { after: /^echo: read "typed"/m, type: '\x03' },
        { after: /^status 130[^]*^echo: ready/m, type: '\x01x' },
      ],
    );
    t.is(r.status, 0, r.stderr);
    const out = r.stdout.replace(/\r/g, '');
    t.is(out.match(/^typed$/gm)?.length, 1, 'only the guest echoes keys: the host terminal was in raw mode');
    t.regex(out, /^\^C\nMV-EXIT 130\n(.*\n)*status 130$/m, 'Ctrl-C reached the guest program, not mv-image');
    t.regex(out, /^mv-image: run: the VM was stopped from the host \(Ctrl-A x\) before the program finished .*\nstatus 130$/m);
    t.regex(out, /(^| )icanon .*echo /m, 'line mode and echo are back after the run');
  },
);
