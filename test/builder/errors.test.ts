// Every way a docker build can fail gives one line naming the problem and the fix, a non-zero
// exit, no image, and no container left behind.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bin, cli, CliResult, tempDir } from '../helpers/cli';
import { docker, ensureBuilder, leftoverContainers } from './helpers';

const ONE_LINE = /^mv-image: [a-z]+: .+ \(fix: .+\)$/;
const lastLine = (r: CliResult) => r.stderr.trim().split('\n').pop()!;

function pkg(files: Record<string, string>): string {
  const dir = join(tempDir(), 'pkg');
  mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

/** A Makefile that says where it runs (the builder sets MV_IMAGE_BUILDER; /.dockerenv would not
 *  do: this host may itself be a container), then fails. */
const whereAndFail = pkg({
  Makefile:
    'all:\n\t@test -n "$$MV_IMAGE_BUILDER" && echo "running in a container" || echo "running on the host"\n\t@echo "compiler says: syntax error in frob.c"\n\t@false\n',
});

function build(dir: string, builder: string, env: NodeJS.ProcessEnv = {}) {
  const out = tempDir('mv-out-');
  const r = cli(['build', dir, '-o', join(out, 'x.iso'), '--builder', builder], env);
  return { ...r, written: readdirSync(out) };
}

test.before(() => {
  ensureBuilder();
});

test.serial('no engine reachable: a dead socket', (t) => {
  const sock = join(tempDir(), 'dead.sock');
  // A socket file nobody listens on (bound, then the process exits without unlinking it).
  execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(sock)})`]);
  t.true(existsSync(sock));
  const r = build(whereAndFail, 'docker', { DOCKER_HOST: `unix://${sock}` });
  t.is(r.status, 1);
  t.regex(lastLine(r), ONE_LINE);
  t.regex(lastLine(r), new RegExp(`^mv-image: builder: no Docker engine answers at unix://${sock} \\(fix: start one`));
  t.deepEqual(r.written, []);
});

test.serial('no engine reachable: --builder auto falls back to the host', (t) => {
  const r = build(whereAndFail, 'auto', { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  t.regex(r.stderr, /running on the host/);
  t.regex(lastLine(r), /build command "make" failed with status 2/);
});

test.serial('--builder auto uses the engine when it answers', (t) => {
  const r = build(whereAndFail, 'auto');
  t.regex(r.stderr, /running in a container/);
});

test.serial('the manifest\'s "builder" picks the container; --builder overrides it', (t) => {
  const dir = pkg({ Makefile: readFileSync(join(whereAndFail, 'Makefile'), 'utf8'), 'mv-image.json': '{"builder": "docker"}' });
  const out = tempDir('mv-out-');
  t.regex(cli(['build', dir, '-o', join(out, 'x.iso')]).stderr, /running in a container/);
  t.regex(build(dir, 'host').stderr, /running on the host/);
});

test.serial('permission denied on the socket', (t) => {
  // Root passes every file permission check through CAP_DAC_OVERRIDE, so the CLI runs as root
  // without it (setpriv drops it from the bounding set), against a socket that listens but whose
  // mode is 000: connect() fails with EACCES, as on a docker.sock for a user outside the docker
  // group. (Running as nobody would also work, but needs the clone readable by nobody.)
  const sock = join(tempDir(), 'docker.sock');
  const server = createServer().listen(sock);
  t.teardown(() => server.close());
  chmodSync(sock, 0);
  const out = tempDir('mv-out-');
  const r = spawnSync(
    'setpriv',
    [
      '--bounding-set=-dac_override,-dac_read_search',
      process.execPath,
      bin,
      'build',
      whereAndFail,
      '-o',
      join(out, 'x.iso'),
      '--builder',
      'docker',
    ],
    { env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, encoding: 'utf8', timeout: 120_000 },
  );
  t.is(r.status, 1, r.stderr);
  t.regex(lastLine(r), ONE_LINE);
  t.regex(
    lastLine(r),
    new RegExp(`^mv-image: builder: permission denied on the Docker socket unix://${sock} \\(fix: add your user to the docker group`),
  );
  t.deepEqual(readdirSync(out), []);
});

test.serial('the builder image missing names the command that makes it', async (t) => {
  const tag = ensureBuilder();
  // Untag it (keeping the image under a spare tag, so nothing has to be rebuilt), then restore it.
  const img = docker.getImage(tag);
  const spare = { repo: 'mv-image-test-spare', tag: tag.split(':')[1] };
  await img.tag(spare);
  await img.remove();
  try {
    const r = build(whereAndFail, 'docker');
    t.is(r.status, 1);
    t.regex(lastLine(r), ONE_LINE);
    t.regex(lastLine(r), new RegExp(`^mv-image: builder: builder image ${tag} does not exist \\(fix: run 'mv-image builder create'`));
    t.deepEqual(r.written, []);
  } finally {
    const [repo, version] = tag.split(':');
    await docker.getImage(`${spare.repo}:${spare.tag}`).tag({ repo, tag: version });
    await docker.getImage(`${spare.repo}:${spare.tag}`).remove();
  }
});

test.serial('a stage failing in the container shows its last log lines and removes the container', async (t) => {
  const r = build(whereAndFail, 'docker');
  t.is(r.status, 1);
  t.regex(r.stderr, /running in a container/);
  t.regex(r.stderr, /compiler says: syntax error in frob.c/);
  t.regex(lastLine(r), ONE_LINE);
  t.regex(lastLine(r), /^mv-image: package: build command "make" failed with status 2/);
  t.deepEqual(r.written, []);
  t.deepEqual(await leftoverContainers(), []);
});

test.serial('Ctrl-C during a container stage removes the container', async (t) => {
  const dir = pkg({ Makefile: 'all:\n\t@echo started\n\t@sleep 120\n' });
  const child = spawn(process.execPath, [bin, 'build', dir, '-o', join(tempDir(), 'x.iso'), '--builder', 'docker'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((res) => child.on('close', res));
  // Wait until the build command runs in its container.
  for (let i = 0; i < 240 && !/started/.test(stderr); i++) await new Promise((res) => setTimeout(res, 500));
  t.regex(stderr, /started/);
  t.is((await leftoverContainers()).length, 1);
  child.kill('SIGINT');
  t.is(await exited, 130);
  t.deepEqual(await leftoverContainers(), []);
});
