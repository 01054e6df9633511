// Issue 14, rule 8 (the package-file cases): what a package directory may hold that used to end
// in a stack trace or a hang. Each is one line, or (where nothing is wrong) a build that works.
import test from 'ava';
import { buildFails, buildOk, imageFiles, makePackage, manifest, TINY_C } from '../helpers/package';

test('a FIFO in the package (hashing it used to hang)', (t) => {
  const dir = makePackage({ ...TINY_C, pipe: { fifo: true }, 'mv-image.json': manifest({}) });
  buildFails(t, dir, /^mv-image: package: ".*\/pkg\/pipe" is a FIFO \(fix: a package holds regular files, directories and symlinks only/);
});

test('a FIFO listed in files', (t) => {
  const dir = makePackage({ ...TINY_C, pipe: { fifo: true }, 'mv-image.json': manifest({ files: [{ src: 'pipe', dest: '/app/pipe' }] }) });
  buildFails(t, dir, /^mv-image: package: files\[0\]\.src "pipe" is a FIFO \(fix: only regular files and directories go into the image/);
});

test('a symlink loop: listed, one line; unlisted, no harm', (t) => {
  const loop = { a: { symlink: 'b' }, b: { symlink: 'a' } };
  const listed = makePackage({ ...TINY_C, ...loop, 'mv-image.json': manifest({ files: [{ src: 'a', dest: '/app/a' }] }) });
  buildFails(t, listed, /^mv-image: package: files\[0\]\.src "a" is a symlink loop \(fix: /);
  buildOk(t, makePackage({ ...TINY_C, ...loop, 'mv-image.json': manifest({}) }));
});

test('a symlink to /dev/zero in the package is not read while hashing', (t) => {
  buildOk(t, makePackage({ ...TINY_C, zero: { symlink: '/dev/zero' }, 'mv-image.json': manifest({}) }));
});

test('a file over 2 GiB: listed, one line before the build; unlisted, hashed in pieces', (t) => {
  const big = 2 * 2 ** 30 + 1;
  const listed = makePackage({ ...TINY_C, 'big.bin': { sparse: big }, 'mv-image.json': manifest({ files: ['big.bin'] }) });
  buildFails(t, listed, /^mv-image: package: files\[0\]\.src "big\.bin" is 2\.0 GiB, over the 2 GiB a file in the initramfs may have/);
  buildOk(t, makePackage({ ...TINY_C, 'big.bin': { sparse: big }, 'mv-image.json': manifest({}) }));
});

test('a directory as src is copied whole', (t) => {
  const dir = makePackage({
    ...TINY_C,
    'lib/a.txt': 'a\n',
    'lib/sub/b.txt': 'bb\n',
    'mv-image.json': manifest({ files: [{ src: 'lib', dest: '/app/lib' }] }),
  });
  const files = imageFiles(t, buildOk(t, dir));
  t.is(files.get('/app/lib/a.txt'), 2);
  t.is(files.get('/app/lib/sub/b.txt'), 3);
});

test('a truncated entry ELF', (t) => {
  const dir = makePackage({
    ...TINY_C,
    Makefile: 'prog: prog.c\n\t$(CC) -o full prog.c\n\thead -c 300 full > prog\n',
    'mv-image.json': manifest({}),
  });
  buildFails(t, dir, /^mv-image: package: entry binary prog is a damaged ELF file: .+ lies past the end of the file \(300 bytes\) \(fix: /);
});
