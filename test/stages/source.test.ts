// The Debian source fetch: a real package through the private apt state (checksums verified,
// Debian's patches applied), a bad name giving a clean error, a tampered file caught, and the
// host's apt configuration left alone.
import test from 'ava';
import { sha256File } from '../../src/lib/cache';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptSrcRoot, deriveSourceEntries, dscChecksums, verifySourceFiles } from '../../src/lib/debsrc';
import { MvError } from '../../src/lib/errors';
import { Progress } from '../../src/lib/progress';
import { sourceStage } from '../../src/stages/source';
import { tempDir } from '../helpers/cli';

const hostAptState = () =>
  ['/etc/apt/sources.list.d', '/var/lib/apt/lists']
    .map((d) =>
      readdirSync(d)
        .sort()
        .map((f) => `${f}:${statSync(join(d, f)).mtimeMs}`)
        .join(','),
    )
    .join('|');

test.serial('fetches lua5.4 from Debian, verifies the .dsc checksums and unpacks it with the patches applied', async (t) => {
  const before = hostAptState();
  const s = await sourceStage.run(Progress.quiet(), { debian: 'lua5.4' });
  t.is(s.pkg, 'lua5.4');
  t.regex(s.version, /^5\.4\.\d+-/);
  t.true(
    s.files.some((f) => /\.orig\.tar\./.test(f.name)),
    'the upstream orig tarball is listed',
  );
  t.true(
    s.files.some((f) => /\.debian\.tar\./.test(f.name)),
    "Debian's tarball is listed",
  );
  for (const f of s.files) {
    t.regex(f.sha256, /^[0-9a-f]{64}$/);
    t.is(sha256File(join(aptSrcRoot(), 'downloads', f.name)), f.sha256, f.name);
  }
  t.true(existsSync(join(s.dir, 'src', 'lua.c')));
  // dpkg-source applied the quilt series: Debian's build-system patch adds libtool to src/Makefile.
  t.true(existsSync(join(s.dir, 'debian', 'patches', 'series')));
  t.regex(readFileSync(join(s.dir, 'src', 'Makefile'), 'utf8'), /\$\(LIBTOOL\) --mode=compile/);
  t.true(existsSync(join(s.dir, '.pc', 'applied-patches')));
  t.is(hostAptState(), before, "the host's sources and lists are unchanged");
  const again = await sourceStage.run(Progress.quiet(), { debian: 'lua5.4' });
  t.true(again.cached);
  t.is(again.dir, s.dir);
});

for (const bad of ['no-such-package-mv-image', 'Not_A_Name']) {
  test.serial(`an unknown source package (${bad}) is one clean error`, async (t) => {
    const e = await t.throwsAsync(sourceStage.run(Progress.quiet(), { debian: bad }), { instanceOf: MvError });
    t.is(e!.line().split('\n').length, 1);
    t.regex(e!.line(), new RegExp(`^mv-image: source: Debian has no source package named "${bad}" \\(fix: `));
  });
}

test('a file that differs from the .dsc checksum is caught, naming the file', (t) => {
  const s = join(aptSrcRoot(), 'downloads');
  const dsc = existsSync(s) ? readdirSync(s).find((f) => f.startsWith('lua5.4_') && f.endsWith('.dsc')) : undefined;
  const dir = tempDir();
  let dscName = 'x_1.dsc';
  if (dsc) {
    dscName = dsc;
    for (const f of dscChecksums(readFileSync(join(s, dsc), 'utf8'))) copyFileSync(join(s, f.name), join(dir, f.name));
    copyFileSync(join(s, dsc), join(dir, dsc));
  } else {
    // Without the fetched package (this test ran alone), a hand-made .dsc does the same job.
    writeFileSync(join(dir, 'x_1.orig.tar.gz'), 'upstream');
    writeFileSync(
      join(dir, dscName),
      `Format: 3.0 (quilt)\nChecksums-Sha256:\n ${sha256File(join(dir, 'x_1.orig.tar.gz'))} 8 x_1.orig.tar.gz\n`,
    );
  }
  t.notThrows(() => verifySourceFiles(dir, dscName));
  const victim = dscChecksums(readFileSync(join(dir, dscName), 'utf8'))[0].name;
  const bytes = readFileSync(join(dir, victim));
  bytes[bytes.length >> 1] ^= 1;
  writeFileSync(join(dir, victim), bytes);
  const e = t.throws(() => verifySourceFiles(dir, dscName), { instanceOf: MvError });
  t.regex(
    e!.line(),
    new RegExp(`^mv-image: source: ${victim.replace(/[.+]/g, '\\$&')} does not match the checksum in the \\.dsc: sha256 `),
  );
});

test('the private list takes the host entries as deb-src only, and skips disabled ones', (t) => {
  const { sources, list } = deriveSourceEntries(
    [
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n\nTypes: deb\nURIs: http://x\nSuites: y\nComponents: main\nEnabled: no\n',
    ],
    ['deb http://deb.debian.org/debian bookworm main\n# deb http://commented out\ndeb-src http://already src\n'],
  );
  t.is(sources, 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n');
  t.is(list, 'deb-src http://deb.debian.org/debian bookworm main\n');
});
