// Issue 14, rule 5: the build area is private. Builds run in <TMPDIR>/mv-image-build-<uid>/,
// made 0700 and checked to be our own real directory before every build (its name is fixed so
// that paths a compiler embeds, and so the image bytes, do not change from build to build); and
// every "files" src is resolved against the package directory only, never the build area.
import test from 'ava';
import { chmodSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli';
import { buildFails, buildOk, makePackage, manifest, TINY_C } from '../helpers/package';

/** A package no earlier build made, so the build really runs in the build area (no cache hit). */
const fresh = () =>
  makePackage({
    ...TINY_C,
    'prog.c': `int main(void) { return 0; } /* ${Date.now()} ${Math.random()} */\n`,
    'mv-image.json': manifest({}),
  });

const uid = process.getuid!();

test('a build area that is a symlink is refused', (t) => {
  const tmp = tempDir('mv-tmp-');
  symlinkSync(tempDir('mv-elsewhere-'), join(tmp, `mv-image-build-${uid}`));
  buildFails(
    t,
    fresh(),
    new RegExp(
      `^mv-image: package: the build area ${tmp}/mv-image-build-${uid} is not private: it is a symlink \\(fix: remove ${tmp}/mv-image-build-${uid} `,
    ),
    { TMPDIR: tmp },
  );
});

test('a build area others can write is refused', (t) => {
  const tmp = tempDir('mv-tmp-');
  mkdirSync(join(tmp, `mv-image-build-${uid}`));
  chmodSync(join(tmp, `mv-image-build-${uid}`), 0o777);
  buildFails(t, fresh(), /is not private: its mode is 777, not 700/, { TMPDIR: tmp });
});

test('a file planted next to the build directory cannot be reached with ../', (t) => {
  const tmp = tempDir('mv-tmp-');
  mkdirSync(join(tmp, `mv-image-build-${uid}`), { mode: 0o700 });
  writeFileSync(join(tmp, `mv-image-build-${uid}`, 'planted'), 'planted\n');
  const dir = makePackage({ ...TINY_C, 'mv-image.json': manifest({ files: [{ src: '../planted', dest: '/app/planted' }] }) });
  buildFails(t, dir, /files\[0\]\.src "\.\.\/planted" does not exist in the package directory/, { TMPDIR: tmp });
});

test('a build makes the area 0700 and leaves it empty', (t) => {
  const tmp = tempDir('mv-tmp-');
  buildOk(t, fresh(), { TMPDIR: tmp });
  const area = join(tmp, `mv-image-build-${uid}`);
  t.is(statSync(area).mode & 0o777, 0o700);
  t.deepEqual(readdirSync(area), []);
});
