// mv-image run --gdb / --profile with bad input: each is one line and a non-zero exit before
// anything boots (the image is a bootable ISO that would print and power off), and nothing is
// written into the profile directory. The boots are in test/e2e/run-debug.test.ts.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';
import { debugResult, programForGdb } from '../../src/debug';
import { MvError } from '../../src/lib/errors';
import { bootSector, failure, makeIso, miniIso } from '../hostile/helpers';

const iso = makeIso(join(tempDir('mv-rundebug-'), 'x.iso'), { 'x.txt': 'x' }, bootSector('BOOTED'));
const run = (...flags: string[]) => cli(['run', iso, '--accel', 'tcg', '--timeout', '60', ...flags], {}, 30_000);

test('a bad --gdb port is one line', (t) => {
  for (const v of ['0', '65536', '0x50']) {
    const r = run('--gdb', v);
    t.regex(failure(t, r), /^mv-image: run: --gdb ".*" is not a TCP port from 1 to 65535 \(fix: /);
    t.notRegex(r.stdout, /BOOTED/);
  }
});

test('a bad --profile-hz is one line, and so is --profile-hz without --profile', (t) => {
  const dir = tempDir('mv-prof-');
  for (const v of ['0', '10001', '99.9']) {
    t.regex(
      failure(t, run('--profile', dir, '--profile-hz', v)),
      /^mv-image: run: --profile-hz ".*" is not a rate from 1 to 10000 samples per second \(fix: /,
    );
  }
  t.regex(failure(t, run('--profile-hz', '100')), /^mv-image: run: --profile-hz needs --profile DIR \(fix: /);
  t.deepEqual(readdirSync(dir), []);
});

test('a --profile directory that cannot be written is one line, before the boot', (t) => {
  const file = join(tempDir('mv-prof-'), 'a-file');
  writeFileSync(file, 'x');
  t.regex(failure(t, run('--profile', file)), /^mv-image: run: cannot write the profile into .*a-file: it is not a directory \(fix: /);
  t.regex(failure(t, run('--profile', join(file, 'sub'))), /^mv-image: run: cannot write the profile into .*a-file\/sub: /);
  // /proc takes no new files, not even from root.
  const r = run('--profile', '/proc');
  t.regex(failure(t, r), /^mv-image: run: cannot write the profile into \/proc: /);
  t.notRegex(r.stdout, /BOOTED/);
  if (process.getuid?.() !== 0) {
    const ro = join(tempDir('mv-prof-'), 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    t.regex(failure(t, run('--profile', ro)), /it is not writable/);
    t.deepEqual(readdirSync(ro), []);
  }
  const fresh = join(tempDir('mv-prof-'), 'new', 'dir');
  t.regex(failure(t, run('--profile', fresh, '--gdb', '0')), /--gdb/, 'flags are checked before the directory is made');
  t.false(existsSync(fresh));
});

test('a --gdb port in use on the host is one line, before the boot', async (t) => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await new Promise<ReturnType<typeof run>>((done) => setImmediate(() => done(run('--gdb', String(port)))));
    t.is(
      failure(t, r),
      `mv-image: run: cannot listen for gdb on 127.0.0.1:${port} (the port is in use) (fix: pick another --gdb port, or stop what listens there (ss -ltnp 'sport = :${port}'))`,
    );
    t.notRegex(r.stdout, /BOOTED/);
  } finally {
    busy.close();
  }
});

test('the program gdb needs is copied out of the image, under the hash of its bytes', async (t) => {
  const cache = tempDir('mv-cache-');
  const before = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  try {
    const mini = miniIso(join(tempDir('mv-rundebug-'), 'mini.iso'), { program: Buffer.from('\x7fELF pretend') });
    const out = await programForGdb(mini);
    t.regex(out ?? '', new RegExp(`^${cache}/mv-image/gdb/[0-9a-f]{16}/prog$`));
    t.is(readFileSync(out!).toString(), '\x7fELF pretend');
    t.is(await programForGdb(mini), out, 'the same bytes, the same file');
    const hostile = miniIso(join(tempDir('mv-rundebug-'), 'h.iso'), {
      record: Buffer.from(JSON.stringify({ name: 'h', program: '/app/..', args: [] })),
    });
    t.is(await programForGdb(hostile), undefined, 'no member /app/..: nothing, and nothing written outside');
    t.is(await programForGdb(iso), undefined, 'an image with no record');
  } finally {
    if (before === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = before;
  }
});

test('after the run: each way the channel can fail is one line, and only a whole profile is written', async (t) => {
  const dir = tempDir('mv-prof-');
  const line = async (p: Promise<unknown>) => ((await t.throwsAsync(p)) as MvError).line();
  const o = { profileDir: dir, profileHz: 999 };
  t.regex(
    await line(debugResult({}, o, '/x/old.iso')),
    /^mv-image: run: the init of \/x\/old\.iso did not ask for --gdb\/--profile settings/,
  );
  t.regex(
    await line(debugResult({ ready: 'MV_PROFILE=/tmp/p' }, { gdbPort: 1234 }, 'x')),
    /init could not open the gdb channel in the guest \(it took only: MV_PROFILE=\/tmp\/p\)/,
  );
  t.regex(
    await line(debugResult({ ready: '', problem: 'the profile was cut short: 3 of 10 bytes came' }, o, 'x')),
    /no profile came back: the profile was cut short/,
  );
  t.regex(await line(debugResult({ ready: '' }, o, 'x')), /no profile came back: init sent none/);
  t.regex(await line(debugResult({ ready: '', profile: null }, o, 'x')), /no profile came back: the program wrote none/);
  t.regex(
    await line(debugResult({ ready: '', profile: Buffer.from('main;spin 3\nnot folded\n') }, o, 'x')),
    /^mv-image: flamegraph: line 2 of the profile that came back is not a folded stack/,
  );
  t.deepEqual(readdirSync(dir), [], 'nothing written for any of them');
  t.is(await debugResult({ ready: 'MV_GDB=1234' }, { gdbPort: 1234 }, 'x'), undefined);
  const saved = await debugResult(
    { ready: 'MV_PROFILE=/tmp/p', profile: Buffer.from('main;spin 30\nmain;[syscall:write] 2\n') },
    o,
    '/x/spin.iso',
  );
  t.deepEqual(saved, { folded: join(dir, 'profile.folded'), svg: join(dir, 'profile.svg'), samples: 32 });
  t.deepEqual(readdirSync(dir).sort(), ['profile.folded', 'profile.svg']);
  t.is(readFileSync(join(dir, 'profile.folded'), 'utf8'), 'main;spin 30\nmain;[syscall:write] 2\n');
  t.regex(readFileSync(join(dir, 'profile.svg'), 'utf8'), /spin\.iso/);
});
