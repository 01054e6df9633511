// A docker build is confined: the build command runs as an unprivileged user with no
// capabilities, no new privileges, no network and a read-only root (only its build directory and
// /tmp are writable), under limits on memory, PIDs and time from the manifest's "builderLimits".
// A build over a limit fails with one line naming the limit and how to raise it, and leaves no
// container, volume, temp dir or lock. Real builds in the real builder image.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';
import { ensureBuilder } from '../builder/helpers';
import { lastLine, leftoverDocker, leftovers, ONE_LINE, pkg, privateEnv } from './private-build';

test.before(() => {
  ensureBuilder();
});

async function build(t: import('ava').ExecutionContext, files: Record<string, string>) {
  const env = privateEnv(),
    out = tempDir('mv-out-');
  const t0 = Date.now();
  const r = cli(['build', pkg(files), '--builder', 'docker', '-o', join(out, 'x.iso')], env);
  t.log(`build: ${((Date.now() - t0) / 1000).toFixed(1)} s, status ${r.status}`);
  t.regex(lastLine(r), ONE_LINE);
  t.deepEqual(readdirSync(out), [], 'no image');
  t.deepEqual(leftovers(env), [], 'no temp dir, lock or build dir');
  t.deepEqual(await leftoverDocker(), [], 'no container or volume');
  return r;
}

test.serial('the build command runs unprivileged, without capabilities or network, on a read-only root', async (t) => {
  // Each probe prints one line; the build then fails on purpose, so its log is shown.
  const probes = [
    'id -u; id -g',
    'grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/self/status',
    'ls /sys/class/net',
    'touch /usr/probe 2>/dev/null && echo root-writable || echo root-read-only',
    'touch "$$HOME/probe" && echo home-writable',
    'touch /tmp/probe && echo tmp-writable',
    'touch probe && echo build-dir-writable',
    'test -w "$$CC" && echo toolchain-writable || echo toolchain-read-only',
    'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max',
  ];
  const r = await build(t, {
    Makefile: `all:\n${probes.map((p) => `\t@${p}\n`).join('')}\t@false\n`,
    'mv-image.json': JSON.stringify({ builderLimits: { memoryMiB: 1024, pids: 200 } }),
  });
  t.is(r.status, 1);
  const log = r.stderr;
  t.regex(log, /^1000\n1000$/m, 'uid and gid 1000 when root runs mv-image');
  t.regex(log, /^CapPrm:\s+0+$/m);
  t.regex(log, /^CapEff:\s+0+$/m);
  t.regex(log, /^NoNewPrivs:\s+1$/m);
  t.regex(log, /^lo$/m);
  t.notRegex(log, /^eth\d/m);
  for (const line of ['root-read-only', 'home-writable', 'tmp-writable', 'build-dir-writable', 'toolchain-read-only'])
    t.regex(log, new RegExp(`^${line}$`, 'm'));
  t.regex(log, /^200\n1073741824$/m, 'the limits from builderLimits');
  t.regex(lastLine(r), /^mv-image: package: build command "make" failed with status 2/);
});

test.serial('a build over the memory limit fails naming the limit', async (t) => {
  const r = await build(t, {
    Makefile: 'all:\n\t@echo allocating\n\t@x=$$(head -c 400000000 /dev/zero | tr "\\0" a); echo $${#x}\n',
    'mv-image.json': JSON.stringify({ builderLimits: { memoryMiB: 128 } }),
  });
  t.is(r.status, 1);
  t.is(
    lastLine(r),
    'mv-image: package: the build command "make" ran out of memory: the builder\'s limit is 128 MiB (fix: raise "builderLimits": {"memoryMiB": N} in mv-image.json, or lower the build\'s parallelism)',
  );
});

test.serial('a build over the PID limit fails naming the limit', async (t) => {
  const r = await build(t, {
    Makefile: 'all:\n\t@for i in $$(seq 80); do sleep 30 & done; wait\n',
    'mv-image.json': JSON.stringify({ builderLimits: { pids: 32 } }),
  });
  t.is(r.status, 1);
  t.is(
    lastLine(r),
    'mv-image: package: the build command "make" hit the builder\'s limit of 32 processes and threads (fix: raise "builderLimits": {"pids": N} in mv-image.json, or lower the build\'s parallelism)',
  );
});

test.serial('a build over the time limit is stopped, naming the limit', async (t) => {
  const t0 = Date.now();
  const r = await build(t, {
    Makefile: 'all:\n\t@echo waiting\n\t@sleep 600\n',
    'mv-image.json': JSON.stringify({ builderLimits: { timeoutS: 5 } }),
  });
  t.is(r.status, 1);
  t.regex(r.stderr, /^waiting$/m);
  t.is(
    lastLine(r),
    'mv-image: package: the build command "make" ran longer than the builder\'s time limit of 5 s and was stopped (fix: raise "builderLimits": {"timeoutS": N} in mv-image.json, or find out why it hangs)',
  );
  t.true(Date.now() - t0 < 120_000);
});

test('a limit out of range is refused before anything runs', (t) => {
  const dir = pkg({ Makefile: 'all:\n\t@echo BUILD-RAN\n', 'mv-image.json': JSON.stringify({ builderLimits: { pids: 1 } }) });
  const r = cli(['build', dir, '--builder', 'docker', '-o', join(tempDir(), 'x.iso')]);
  t.is(r.status, 1);
  t.is(
    lastLine(r),
    `mv-image: manifest: ${join(dir, 'mv-image.json')}: builderLimits.pids must be >= 16 (fix: see the manifest reference in README.md)`,
  );
  t.notRegex(r.stderr, /BUILD-RAN/);
});
