// builder create against the real engine: the image is made without a registry, tagged by the
// package-list hash, and found again (cached) on the second call.
import test from 'ava';
import { cli } from '../helpers/cli';
import { docker } from './helpers';

test.serial('builder create makes the image, then finds it again', async (t) => {
  const t0 = Date.now();
  const first = cli(['builder', 'create', '--json'], {}, 1_500_000);
  t.is(first.status, 0, first.stderr);
  const a = JSON.parse(first.stdout);
  t.regex(a.tag, /^mv-image-builder:[0-9a-f]{12}$/);
  t.log(
    `first call: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${a.cached ? 'already there' : 'created'}, ${(a.size / 1e6).toFixed(0)} MB`,
  );
  const img = await docker.getImage(a.tag).inspect();
  t.is(img.Id, a.id);

  const t1 = Date.now();
  const second = cli(['builder', 'create', '--json']);
  t.is(second.status, 0, second.stderr);
  const b = JSON.parse(second.stdout);
  t.true(b.cached);
  t.is(b.id, a.id);
  t.true(Date.now() - t1 < 30_000);
});

test.serial('the builder has the toolchain and no network', async (t) => {
  const tag = JSON.parse(cli(['builder', 'create', '--json']).stdout).tag;
  const c = await docker.createContainer({
    Image: tag,
    Cmd: ['sh', '-c', 'cc --version | head -1; grub-mkrescue --version; xorriso -version | head -1; ls /sys/class/net'],
    HostConfig: { NetworkMode: 'none' },
  });
  t.teardown(() => c.remove({ force: true }));
  await c.start();
  t.is((await c.wait()).StatusCode, 0);
  const log = (await c.logs({ stdout: true, stderr: true })).toString();
  t.regex(log, /cc \(Debian 12/);
  t.regex(log, /grub-mkrescue \(GRUB\) 2\.06/);
  t.notRegex(log, /eth0/);
});

test.serial('builder list marks the current image', (t) => {
  const tag = JSON.parse(cli(['builder', 'create', '--json']).stdout).tag;
  const r = cli(['builder', 'list']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^\\* ${tag.replace(/[.:]/g, '\\$&')}  \\d+ MB`, 'm'));
});

test.serial('builder rm of an unknown tag says where to look', (t) => {
  const r = cli(['builder', 'rm', '000000000000']);
  t.is(r.status, 1);
  t.is(
    r.stderr.trim(),
    "mv-image: builder: there is no builder image mv-image-builder:000000000000 (fix: 'mv-image builder list' shows the builder images)",
  );
});

test('build --help documents --builder', (t) => {
  const r = cli(['build', '--help']);
  t.is(r.status, 0);
  t.regex(r.stdout, /--builder=<option>/);
  t.regex(r.stdout, /host\|docker\|auto/);
});
