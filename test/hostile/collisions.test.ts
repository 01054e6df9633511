// Issue 14, rule 4: the image's own files cannot be replaced. A package file on a path mv-image
// places itself (init, its tools, busybox and the applet links init installs, the skeleton, the
// program, its libraries, the image info) or under a tree init mounts over is an error.
import test from 'ava';
import { buildFails, makePackage, manifest, TINY_C } from '../helpers/package';

const CASES: [string, RegExp][] = [
  ['/init', /would replace \/init in the image, which is the ROS init/],
  ['/sbin/init', /would replace \/sbin\/init in the image, which is busybox's init applet \(init links it at boot\)/],
  ['/bin/busybox', /would replace \/bin\/busybox in the image, which is busybox, which init runs/],
  ['/sbin/mv-kvmhold', /would replace \/sbin\/mv-kvmhold in the image, which is mv-kvmhold, which init runs/],
  ['/etc/passwd', /would replace \/etc\/passwd in the image, which is part of the ROS skeleton/],
  ['/etc/mv-image.json', /would replace \/etc\/mv-image\.json in the image, which is mv-image's own/],
  ['/proc/cmdline', /would replace \/proc\/cmdline in the image, which is under \/proc, which init mounts over at boot/],
];

for (const [dest, why] of CASES) {
  test(`a files dest of ${dest}`, (t) => {
    const dir = makePackage({ ...TINY_C, 'f.txt': 'x', 'mv-image.json': manifest({ files: [{ src: 'f.txt', dest }] }) });
    buildFails(t, dir, new RegExp(`^mv-image: package: files\\[0\\] ${why.source}`));
  });
}

test('a files dest of the program itself', (t) => {
  const dir = makePackage({ ...TINY_C, 'f.txt': 'x', 'mv-image.json': manifest({ files: [{ src: 'f.txt', dest: '/app/prog' }] }) });
  buildFails(t, dir, /^mv-image: package: entry and files\[0\] both put a file at \/app\/prog in the image \(fix: /);
});

test("a files dest of one of the program's libraries", (t) => {
  const dir = makePackage({
    ...TINY_C,
    'f.txt': 'x',
    'mv-image.json': manifest({ files: [{ src: 'f.txt', dest: '/lib/x86_64-linux-gnu/libc.so.6' }] }),
  });
  buildFails(
    t,
    dir,
    /^mv-image: package: the library \/lib\/x86_64-linux-gnu\/libc\.so\.6 and files\[0\] both put a file at \/lib\/x86_64-linux-gnu\/libc\.so\.6 in the image/,
  );
});

test('a directory whose contents land on a reserved path', (t) => {
  const dir = makePackage({
    ...TINY_C,
    'sbin/poweroff': '#!/bin/sh\necho fake\n',
    'mv-image.json': manifest({ files: [{ src: 'sbin', dest: '/sbin' }] }),
  });
  buildFails(t, dir, /^mv-image: package: files\[0\] would replace \/sbin\/poweroff in the image, which is busybox's poweroff applet/);
});
