import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Progress } from '../../src/lib/progress';
import { renderInit } from '../../src/stages/init';
import { initramfsStage } from '../../src/stages/initramfs';
import { kernelStage } from '../../src/stages/kernel';
import { repo } from '../helpers/cli';

test('the initramfs holds init, busybox, the tools init uses, the modules, the skeleton and the program files, reproducibly', async (t) => {
  const kernel = await kernelStage.run(Progress.quiet(), {});
  const init = renderInit({ hostname: 't', modules: kernel.modules, argv: ['/app/ls'], env: {}, cwd: '/app', onExit: 'poweroff' });
  const initTools = ['mv-kvmhold', 'mv-drain'].map((t) => join(repo, 'hvm', 'build', t));
  const inputs = { kernel, init, files: [{ dest: '/app/ls', src: '/bin/ls', mode: 0o755 }], sourceDateEpoch: 1700000000, initTools };
  const a = await initramfsStage.run(Progress.quiet(), inputs);
  const cpio = gunzipSync(readFileSync(a.path));
  const listing = execFileSync('bsdtar', ['-tvf', '-'], { input: cpio }).toString();
  t.regex(listing, /^-rwxr-xr-x .* init$/m);
  t.regex(listing, /^-rwxr-xr-x .* bin\/busybox$/m);
  t.regex(listing, /^lrwxrwxrwx .* bin\/sh -> busybox$/m);
  t.regex(listing, /^-rwxr-xr-x .* app\/ls$/m);
  t.regex(listing, /^-rwxr-xr-x .* sbin\/mv-kvmhold$/m);
  t.regex(listing, /^-rwxr-xr-x .* sbin\/mv-drain$/m);
  t.regex(listing, /^-rw-r--r-- .* etc\/passwd$/m);
  t.regex(listing, /^crw------- .* dev\/console$/m);
  for (const m of kernel.modules) t.true(listing.includes(m.imagePath.slice(1)), m.imagePath);
  t.false(listing.includes('README.md'));
  t.true(
    listing
      .split('\n')
      .filter(Boolean)
      .every((l) => / 0 +0 /.test(l)),
    'owned by root:root',
  );
  t.is(execFileSync('cpio', ['-i', '--to-stdout', 'init', '--quiet'], { input: cpio }).toString(), init);
  const b = await initramfsStage.run(Progress.quiet(), inputs);
  t.true(b.cached);
  t.true(readFileSync(b.path).equals(readFileSync(a.path)));
});
