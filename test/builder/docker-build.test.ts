// End to end with --builder docker on the real engine: hello built in the builder container boots
// under QEMU with MV-EXIT 0, and its bytes are compared with a host build and a second docker build.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';
import { ensureBuilder, leftoverContainers } from './helpers';

const EPOCH = '1700000000';
const out = tempDir('mv-docker-');
const hello = join(repo, 'examples/hello');
const dockerIso = join(out, 'docker.iso');

test.before(() => { ensureBuilder(); });

function build(iso: string, builder: string, env: NodeJS.ProcessEnv = {}) {
  const t0 = Date.now();
  const r = cli(['build', hello, '-o', iso, '--builder', builder, '--json'], { SOURCE_DATE_EPOCH: EPOCH, ...env }, 900_000);
  return { ...r, ms: Date.now() - t0 };
}

test.serial('build --builder docker runs the package and iso stages in containers and removes them', async (t) => {
  const r = build(dockerIso, 'docker');
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.deepEqual(j.stages.map((s: { stage: string }) => s.stage), ['toolchain', 'package', 'kernel', 'initramfs', 'iso']);
  t.log(`docker build: ${(r.ms / 1000).toFixed(1)} s (${j.stages.map((s: { stage: string; ms: number }) => `${s.stage} ${(s.ms / 1000).toFixed(1)}`).join(', ')})`);
  t.deepEqual(await leftoverContainers(), []);
});

test.serial('the docker-built hello boots under QEMU and exits with MV-EXIT 0', (t) => {
  const r = cli(['run', dockerIso, '--timeout', '240']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^hello from \/app\/hello$/m);
  t.is(r.stdout.match(/^MV-EXIT \d+$/gm)?.join(), 'MV-EXIT 0');
});

// On a bookworm host whose packages are the builder's versions (gcc, binutils, libc6, GRUB,
// xorriso, mtools, libfaketime), the two are byte-identical: the stages run the same commands at
// the same absolute paths with the same SOURCE_DATE_EPOCH, the kernel and busybox come from the
// same Debian packages, and the shared libraries copied into the image are read from the host in
// both cases (the ldd-like resolver runs in TypeScript on the host).
test.serial('a docker build and a host build with the same SOURCE_DATE_EPOCH are byte-identical', (t) => {
  const hostIso = join(out, 'host.iso');
  const r = build(hostIso, 'host');
  t.is(r.status, 0, r.stderr);
  t.log(`host build: ${(r.ms / 1000).toFixed(1)} s`);
  t.true(readFileSync(hostIso).equals(readFileSync(dockerIso)));
});

test.serial('two docker builds with cold caches give the same bytes', (t) => {
  const again = join(out, 'docker-again.iso');
  const r = build(again, 'docker', { XDG_CACHE_HOME: tempDir('mv-cache-') });
  t.is(r.status, 0, r.stderr);
  t.log(`docker build, cold cache: ${(r.ms / 1000).toFixed(1)} s`);
  t.true(readFileSync(again).equals(readFileSync(dockerIso)));
});
