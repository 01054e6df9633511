// End to end with --builder docker on the real engine: hello built in the builder container boots
// under QEMU with MV-EXIT 0, and its bytes are compared with a host build and a second docker build.
// All builds share one fresh cache (the kernel is fetched once), and the package and iso stages are
// never cache hits, so each build really runs them.
import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';
import { ensureBuilder, leftoverContainers } from './helpers';

const EPOCH = '1700000000';
const out = tempDir('mv-docker-');
const cache = tempDir('mv-cache-');
const hello = join(repo, 'examples/hello');
const dockerIso = join(out, 'docker.iso');

test.before(() => {
  ensureBuilder();
});

interface Stage {
  stage: string;
  ms: number;
  cached: boolean;
}

function build(t: import('ava').ExecutionContext, iso: string, builder: string) {
  const t0 = Date.now();
  const r = cli(['build', hello, '-o', iso, '--builder', builder, '--json'], { SOURCE_DATE_EPOCH: EPOCH, XDG_CACHE_HOME: cache }, 900_000);
  t.is(r.status, 0, r.stderr);
  const stages: Stage[] = JSON.parse(r.stdout).stages;
  t.log(
    `${builder} build: ${((Date.now() - t0) / 1000).toFixed(1)} s (${stages.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)}${s.cached ? ' cached' : ''}`).join(', ')})`,
  );
  for (const s of stages.filter((x) => x.stage === 'package' || x.stage === 'iso')) t.false(s.cached, `${s.stage} was a cache hit`);
}

test.serial('build --builder docker runs the package and iso stages in containers and removes them', async (t) => {
  build(t, dockerIso, 'docker');
  t.deepEqual(await leftoverContainers(), []);
});

test.serial('the docker-built hello boots under QEMU and exits with MV-EXIT 0', (t) => {
  const r = cli(['run', dockerIso, '--timeout', '240']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^hello from \/app\/hello$/m);
  t.is(r.stdout.match(/^MV-EXIT \d+$/gm)?.join(), 'MV-EXIT 0');
});

// On a bookworm host whose packages have the builder's versions (gcc, binutils, libc6, GRUB,
// xorriso, mtools, libfaketime, xz-utils), the two are byte-identical: the stages run the same
// commands at the same absolute paths with the same SOURCE_DATE_EPOCH, and the kernel, busybox,
// the toolchain and the program's shared libraries come from the same Debian packages (the docker
// build takes all but the kernel from the builder image: host-independent.test.ts).
test.serial('a docker build and a host build with the same SOURCE_DATE_EPOCH are byte-identical', (t) => {
  const hostIso = join(out, 'host.iso');
  build(t, hostIso, 'host');
  t.true(readFileSync(hostIso).equals(readFileSync(dockerIso)));
});

test.serial('two docker builds give the same bytes', (t) => {
  for (const stage of ['package', 'initramfs', 'iso']) rmSync(join(cache, 'mv-image', stage), { recursive: true, force: true });
  const again = join(out, 'docker-again.iso');
  build(t, again, 'docker');
  t.true(readFileSync(again).equals(readFileSync(dockerIso)));
});
