// Issue 14, rule 2: nothing outside the build area is written. A "dest" is an absolute path in the
// image without "." or ".." segments (so it can never climb out of the image root, the cache's
// copy of it included), without control characters, and not the root itself.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli';
import { buildFails, makePackage, manifest, TINY_C } from '../helpers/package';

test('a dest that climbs out of the image root writes nothing on the host', (t) => {
  const target = join(tempDir('mv-target-'), 'x');
  const dest = '/..'.repeat(12) + target;
  const dir = makePackage({ ...TINY_C, 'f.txt': 'payload\n', 'mv-image.json': manifest({ files: [{ src: 'f.txt', dest }] }) });
  buildFails(
    t,
    dir,
    /^mv-image: manifest: files\[0\]\.dest "(\/\.\.)+\/tmp\/mv-target-\w+\/x" is not a valid destination: it contains a "\." or "\.\." segment \(fix: /,
  );
  t.false(existsSync(target));
});

test('a dest with ".." in the middle, and one with a newline', (t) => {
  const dir = makePackage({ ...TINY_C, 'f.txt': 'x', 'mv-image.json': manifest({ files: [{ src: 'f.txt', dest: '/app/../../etc/x' }] }) });
  buildFails(t, dir, /files\[0\]\.dest "\/app\/\.\.\/\.\.\/etc\/x" is not a valid destination: it contains a "\." or "\.\." segment/);
  const nl = makePackage({ ...TINY_C, 'f.txt': 'x', 'mv-image.json': manifest({ files: [{ src: 'f.txt', dest: '/app/a\nb' }] }) });
  buildFails(
    t,
    nl,
    /^mv-image: manifest: files\[0\]\.dest "\/app\/a\\nb" is not a valid destination: it contains a control character \(fix: /,
  );
});

test('the image root itself is not a destination', (t) => {
  const dir = makePackage({ ...TINY_C, 'f.txt': 'x', 'mv-image.json': manifest({ files: [{ src: 'f.txt', dest: '/' }] }) });
  buildFails(t, dir, /^mv-image: manifest: files\[0\]\.dest "\/" is not a valid destination: it is the image root /);
});

test('a string files entry with ".." is refused as a path outside the package', (t) => {
  const dir = makePackage({ ...TINY_C, 'mv-image.json': manifest({ files: ['../outside.txt'] }) });
  buildFails(
    t,
    dir,
    /^mv-image: package: files\[0\]\.src "\.\.\/outside\.txt" (does not exist|resolves to .*, outside the package directory)/,
  );
});
