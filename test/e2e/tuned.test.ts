// End to end with the tuned kernel: examples/hello built with --kernel tuned boots under QEMU,
// finds /dev/kvm with KVM built in (the image carries no modules), and runs main() in the HRT.
// The kernel is built on a cold cache (~10 min on 2 idle cores), then cached for every later run.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';

const iso = join(tempDir('mv-e2e-tuned-'), 'hello.iso');

test.serial('build --kernel tuned gives a small ISO with the tuned kernel', (t) => {
  t.timeout(45 * 60_000);
  const r = cli(['build', join(repo, 'examples/hello'), '-o', iso, '--kernel', 'tuned', '--json'], {}, 45 * 60_000);
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.regex(j.kernel, /-mv-tuned$/);
  t.is(j.size, readFileSync(iso).length);
  t.true(j.size <= 15e6, `ISO is ${j.size} bytes (target: at most 15 MB)`);
  t.log(`ISO ${(j.size / 1e6).toFixed(1)} MB`);
});

test.serial('the tuned hello ISO boots, has KVM without modules, and exits 0 from the HRT', (t) => {
  const t0 = Date.now();
  const r = cli(['run', iso, '--timeout', '240']);
  t.is(r.status, 0, r.stderr);
  t.log(`boot to MV-EXIT: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  t.regex(r.stdout, /^MV-BOOT kernel=6\.1\.\d+-mv-tuned cpus=2$/m);
  t.regex(r.stdout, /^MV-KVM present$/m);
  t.regex(r.stdout, /^MV-HRT vcpus=1 cpl=0$/m, 'main ran in ring 0 of the HRT');
  t.regex(r.stdout, /^hello from \/app\/hello$/m);
  t.is(r.stdout.match(/^MV-EXIT \d+$/gm)?.join(), 'MV-EXIT 0');
});

test.serial('inspect shows the tuned kernel and no kernel module in the initramfs', (t) => {
  const r = cli(['inspect', iso, '--json']);
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.regex(j.kernelVersion, /-mv-tuned$/);
  t.true(j.initramfs.length > 0);
  t.deepEqual(
    j.initramfs.filter((f: { path: string }) => f.path.endsWith('.ko')),
    [],
  );
});
