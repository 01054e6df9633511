// A build ended by a signal ends its children and leaves nothing: every child runs in a process
// group of its own, SIGINT/SIGTERM/SIGHUP to mv-image end those groups, remove the temp dirs,
// locks, scratch build dirs and containers, print one line and exit 128 + the signal. What a
// process that could not clean up (SIGKILL) left is swept by the next build. Real builds of real
// packages; the CLI is started as a terminal starts it (the leader of its own process group), so
// "Ctrl-C" is a SIGINT to that whole group.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { repo, tempDir } from '../helpers/cli';
import { docker, ensureBuilder } from '../builder/helpers';
import {
  buildArea,
  deadPid,
  lastLine,
  leftoverDocker,
  leftovers,
  ONE_LINE,
  pidFrom,
  pkg,
  privateEnv,
  running,
  start,
} from './private-build';

/** A package whose build command writes its shell's pid to $MARK, then waits. */
const waiting = () => pkg({ Makefile: 'all:\n\t@echo started\n\t@sh -c \'echo $$$$ > "$$MARK"; exec sleep 600\'\n' });

async function interrupt(
  t: import('ava').ExecutionContext,
  sig: NodeJS.Signals,
  wholeGroup: boolean,
  stage: string,
  setup: (env: NodeJS.ProcessEnv) => string[],
) {
  const env = { ...privateEnv(), MARK: join(tempDir(), 'pid') };
  const out = tempDir('mv-out-');
  const run = start([...setup(env), '-o', join(out, 'x.iso')], env);
  const pid = await pidFrom(env.MARK);
  t.true(running(pid));
  const t0 = Date.now();
  process.kill(wholeGroup ? -run.child.pid! : run.child.pid!, sig);
  const r = await run.done;
  t.log(`${sig} to ${wholeGroup ? 'the group' : 'mv-image alone'}: exited in ${Date.now() - t0} ms`);
  if (running(pid)) process.kill(pid, 'SIGKILL');
  const code = ({ SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as Record<string, number>)[sig];
  t.is(r.status, code, r.stderr);
  t.regex(lastLine(r), ONE_LINE);
  t.is(
    lastLine(r),
    `mv-image: ${stage}: stopped by ${sig}: the build's commands were ended and its temporary files removed (fix: run the build again)`,
  );
  t.false(running(pid), 'the command it was running still runs');
  t.deepEqual(leftovers(env), []);
  t.deepEqual(readdirSync(out), []);
}

test.serial('Ctrl-C during grub-mkrescue removes its temp files, the iso temp dir and its lock', async (t) => {
  // grub-mkrescue calls mcopy from PATH: this one records that it runs, then waits (the real
  // grub-mkrescue has made its temp files by then).
  const slow = tempDir('mv-slow-');
  writeFileSync(join(slow, 'mcopy'), '#!/bin/sh\necho $$ > "$MARK"\nsleep 600\nexec /usr/bin/mcopy "$@"\n');
  chmodSync(join(slow, 'mcopy'), 0o755);
  await interrupt(t, 'SIGINT', true, 'iso', (env) => {
    env.PATH = `${slow}:${process.env.PATH}`;
    return ['build', join(repo, 'examples/hello'), '--builder', 'host'];
  });
});

test.serial('Ctrl-C during the build command removes the package temp dir, its lock and the build dir', async (t) => {
  await interrupt(t, 'SIGINT', true, 'package', () => ['build', waiting(), '--builder', 'host']);
});

test.serial('SIGINT to mv-image alone ends the build command too (no orphan)', async (t) => {
  await interrupt(t, 'SIGINT', false, 'package', () => ['build', waiting(), '--builder', 'host']);
});

test.serial('SIGTERM and SIGHUP do the same and exit 143 and 129', async (t) => {
  await interrupt(t, 'SIGTERM', false, 'package', () => ['build', waiting(), '--builder', 'host']);
  await interrupt(t, 'SIGHUP', false, 'package', () => ['build', waiting(), '--builder', 'host']);
});

test.serial('Ctrl-C during a docker build removes the container, its volumes, the temp dirs and locks', async (t) => {
  ensureBuilder();
  // The build runs in a container: its pid is not ours to watch, so MARK is only "it started".
  const env = privateEnv();
  const run = start(
    ['build', pkg({ Makefile: 'all:\n\t@echo started\n\t@sleep 600\n' }), '--builder', 'docker', '-o', join(tempDir(), 'x.iso')],
    env,
  );
  for (let i = 0; i < 600 && !/started/.test(run.stderr()); i++) await new Promise((r) => setTimeout(r, 500));
  t.regex(run.stderr(), /started/);
  t.true((await leftoverDocker()).length > 0);
  process.kill(-run.child.pid!, 'SIGINT');
  const r = await run.done;
  t.is(r.status, 130, r.stderr);
  t.is(
    lastLine(r),
    "mv-image: package: stopped by SIGINT: the build's commands were ended and its temporary files removed (fix: run the build again)",
  );
  t.deepEqual(await leftoverDocker(), []);
  t.deepEqual(leftovers(env), []);
});

test.serial('the next build sweeps what a killed build left; what live processes own stays', async (t) => {
  ensureBuilder();
  const env = privateEnv();
  const cache = join(env.XDG_CACHE_HOME, 'mv-image'),
    scratch = buildArea(env);
  mkdirSync(scratch, { mode: 0o700 });
  const dead = deadPid();
  const mk = (p: string, pid?: number) => {
    mkdirSync(p, { recursive: true });
    if (pid) writeFileSync(join(p, 'pid'), String(pid));
  };
  // Left by a dead process: a cache temp dir, a cache lock, a download dir, a scratch dir and its lock.
  const stale = [
    join(cache, 'package', `k1.tmp-${dead}`),
    join(cache, 'iso', 'k2.lock'),
    join(cache, 'debs', `.dl-${dead}`),
    join(scratch, 'package-0123456789abcdef'),
    join(scratch, 'package-0123456789abcdef.lock'),
  ];
  for (const p of stale) mk(p, p.endsWith('.lock') ? dead : undefined);
  writeFileSync(join(stale[3], 'big'), Buffer.alloc(1 << 20));
  // Owned by a live process (this test): kept.
  const live = [join(cache, 'package', `k3.tmp-${process.pid}`), join(cache, 'iso', 'k4.lock')];
  for (const p of live) mk(p, p.endsWith('.lock') ? process.pid : undefined);
  // A builder container whose mv-image died without removing it.
  const c = await docker.createContainer({
    Image: ensureBuilder(),
    Cmd: ['sleep', '600'],
    Labels: { 'mv-image': 'stage', 'mv-image.owner': `${hostname()}:${dead}` },
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();

  const r = start(['build', pkg({ Makefile: 'all:\n\t@false\n' }), '--builder', 'docker', '-o', join(tempDir(), 'x.iso')], env);
  const res = await r.done;
  t.regex(lastLine(res), /^mv-image: package: build command "make" failed with status 2/);
  t.deepEqual(
    stale.filter((p) => existsSync(p)),
    [],
  );
  t.deepEqual(
    live.filter((p) => !existsSync(p)),
    [],
  );
  t.deepEqual(await leftoverDocker(), []);
});
