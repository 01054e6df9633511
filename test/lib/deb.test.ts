// A .deb that cannot be read is one kernel-stage error naming it and the real cache directory
// (it was a plain Error, which reached the user as a stack trace).
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arMembers, readDebData } from '../../src/lib/deb';
import { MvError } from '../../src/lib/errors';
import { tempDir } from '../helpers/cli';

const cache = tempDir('mv-xdg-');
process.env.XDG_CACHE_HOME = cache;

/** An ar archive of `members` (name -> bytes), as dpkg-deb writes one. */
function ar(members: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const [name, data] of Object.entries(members)) {
    const field = (s: string, n: number) => s.padEnd(n, ' ');
    parts.push(
      Buffer.from(
        field(`${name}/`, 16) +
          field('0', 12) +
          field('0', 6) +
          field('0', 6) +
          field('100644', 8) +
          field(String(data.length), 10) +
          '`\n',
        'latin1',
      ),
      data,
    );
    if (data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

const fix = `(fix: delete ${join(cache, 'mv-image', 'debs')} and build again; if it persists, the mirror serves a damaged file)`;

test("arMembers lists an ar archive's members", (t) => {
  const deb = join(tempDir(), 'ok.deb');
  writeFileSync(deb, ar({ 'debian-binary': Buffer.from('2.0\n'), 'data.tar.xz': Buffer.from('xyz') }));
  t.deepEqual(
    arMembers(deb).map((m) => [m.name, m.size]),
    [
      ['debian-binary', 4],
      ['data.tar.xz', 3],
    ],
  );
});

test('a file that is not an ar archive is one line naming it and the cache directory', (t) => {
  const deb = join(tempDir(), 'linux-image.deb');
  writeFileSync(deb, '<html>404 Not Found</html>\n');
  const e = t.throws(() => arMembers(deb), { instanceOf: MvError });
  t.is(e!.line(), `mv-image: kernel: ${deb} is not a usable kernel package (not an ar archive) ${fix}`);
});

test('a damaged ar header, a missing data.tar and damaged xz data are one line each', async (t) => {
  const dir = tempDir();
  const bad = join(dir, 'header.deb');
  writeFileSync(bad, Buffer.concat([ar({ 'debian-binary': Buffer.from('2.0\n') }).subarray(0, 66), Buffer.alloc(60, 0x41)]));
  t.is(
    t.throws(() => arMembers(bad), { instanceOf: MvError })!.line(),
    `mv-image: kernel: ${bad} is not a usable kernel package (bad ar header at byte 8) ${fix}`,
  );
  const none = join(dir, 'none.deb');
  writeFileSync(none, ar({ 'debian-binary': Buffer.from('2.0\n') }));
  const e1 = await t.throwsAsync(
    readDebData(
      none,
      () => true,
      () => {},
    ),
    { instanceOf: MvError },
  );
  t.regex(e1!.line(), /^mv-image: kernel: \S+none\.deb is not a usable kernel package \(no data\.tar member\) \(fix: /);
  const garbage = join(dir, 'garbage.deb');
  writeFileSync(garbage, ar({ 'debian-binary': Buffer.from('2.0\n'), 'data.tar.xz': Buffer.from('this is not xz data at all') }));
  const e2 = await t.throwsAsync(
    readDebData(
      garbage,
      () => true,
      () => {},
    ),
    { instanceOf: MvError },
  );
  t.regex(
    e2!.line(),
    /^mv-image: kernel: \S+garbage\.deb is not a usable kernel package \(its data\.tar\.xz cannot be read: .+\) \(fix: delete \S+\/mv-image\/debs and build again/,
  );
});
