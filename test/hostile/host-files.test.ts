// Issue 14, rule 1: nothing from outside the package gets into the image. Every "files" src and
// the entry resolve (symlinks followed) to a path inside their base: the package directory, or
// the tree the build ran in; anything else is refused with one line naming the field and path.
import test from 'ava';
import { buildFails, buildOk, imageFiles, makePackage, manifest, TINY_C } from '../helpers/package';

test('a files src that climbs out of the package (../../../../etc/shadow)', (t) => {
  const dir = makePackage({ ...TINY_C, 'mv-image.json': manifest({ files: ['../../../../etc/shadow'] }) });
  const r = buildFails(
    t,
    dir,
    /^mv-image: package: files\[0\]\.src "\.\.\/\.\.\/\.\.\/\.\.\/etc\/shadow" resolves to "\/etc\/shadow", outside the package directory \(fix: /,
  );
  t.notRegex(r.stdout + r.stderr, /\$\(CC\)|mv-cc/, 'refused before anything was built');
});

test('a symlink in the package that points at a host file', (t) => {
  const dir = makePackage({
    ...TINY_C,
    secret: { symlink: '/etc/shadow' },
    'mv-image.json': manifest({ files: [{ src: 'secret', dest: '/app/secret' }] }),
  });
  buildFails(t, dir, /^mv-image: package: files\[0\]\.src "secret" resolves to "\/etc\/shadow", outside the package directory /);
});

test('a symlink inside a listed directory that points at a host file', (t) => {
  const dir = makePackage({
    ...TINY_C,
    'data/ok.txt': 'fine\n',
    'data/passwd': { symlink: '/etc/passwd' },
    'mv-image.json': manifest({ files: [{ src: 'data', dest: '/app/data' }] }),
  });
  buildFails(
    t,
    dir,
    /^mv-image: package: files\[0\]\.src \(data\/passwd\) "data\/passwd" resolves to "\/etc\/passwd", outside the package directory /,
  );
});

test('an entry that climbs out of the build tree (../../../../usr/bin/ls), refused before the build', (t) => {
  const dir = makePackage({ Makefile: 'all:\n\t@echo BUILD-RAN\n', 'mv-image.json': manifest({ entry: '../../../../usr/bin/ls' }) });
  const r = buildFails(t, dir, /^mv-image: manifest: entry "\.\.\/\.\.\/\.\.\/\.\.\/usr\/bin\/ls" leaves the build tree \(fix: /);
  t.notRegex(r.stdout + r.stderr, /BUILD-RAN/);
});

test('an entry the build made a symlink to a host program', (t) => {
  const dir = makePackage({ Makefile: 'all:\n\tln -sf /usr/bin/ls prog\n', 'mv-image.json': manifest({}) });
  buildFails(t, dir, /^mv-image: package: entry "prog" resolves to "\/usr\/bin\/ls", outside the build tree /);
});

test('a "from": "build" src the build pointed at a host directory', (t) => {
  const dir = makePackage({
    ...TINY_C,
    Makefile: TINY_C.Makefile.replace('prog: prog.c', 'prog: prog.c\n\tln -sfn /etc out'),
    'mv-image.json': manifest({ files: [{ src: 'out', dest: '/app/out', from: 'build' }] }),
  });
  buildFails(t, dir, /^mv-image: package: files\[0\]\.src "out" resolves to "\/etc", outside the build tree /);
});

test("symlinks that stay inside the package are fine: the image holds the target's bytes", (t) => {
  const text = 'inside the package\n';
  const dir = makePackage({
    ...TINY_C,
    'data/real.txt': text,
    'data/alias.txt': { symlink: 'real.txt' },
    'link-to-data': { symlink: 'data' },
    'mv-image.json': manifest({
      files: [
        { src: 'data/alias.txt', dest: '/app/alias.txt' },
        { src: 'link-to-data', dest: '/app/data' },
      ],
    }),
  });
  const files = imageFiles(t, buildOk(t, dir));
  t.is(files.get('/app/alias.txt'), text.length);
  t.is(files.get('/app/data/real.txt'), text.length);
  t.is(files.get('/app/data/alias.txt'), text.length);
  t.true((files.get('/app/prog') ?? 0) > 0, 'the program');
  t.false([...files.keys()].some((p) => p.includes('shadow')));
});
