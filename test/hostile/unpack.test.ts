// What a builder container gives back is unpacked as hostile input: no entry is written through a
// symlink or outside the target directory, a symlink entry comes back only as a symlink, and a
// symlink a build makes in the container is read later only through the package stage's checks.
// The archives are made with tar-stream as a hostile (or broken) engine could send them; the last
// tests run real builds in the builder container.
import test from 'ava';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { unpackInto } from '../../src/builder/archive';
import { isMvError } from '../../src/lib/errors';
import { cli, tempDir } from '../helpers/cli';
import { makePackage } from '../helpers/package';
import { ensureBuilder, leftoverContainers } from '../builder/helpers';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; mode?: number; body?: string };

/** A tar stream as the engine would send it (an HTTP response is a plain Node stream). */
function archive(entries: Entry[]): NodeJS.ReadableStream {
  const pack = tar.pack();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? 0o644 };
    if (header.type === 'file') pack.entry(header, e.body ?? 'x');
    else pack.entry(header);
  }
  pack.finalize();
  return Readable.from(pack);
}

/** A target directory and, beside it, a victim directory nothing may write into. */
function dirs() {
  const base = tempDir('mv-unpack-');
  const into = join(base, 'into'),
    victim = join(base, 'victim');
  mkdirSync(into);
  mkdirSync(victim);
  writeFileSync(join(victim, 'precious'), 'keep me');
  return { into, victim };
}

async function refused(t: import('ava').ExecutionContext, into: string, entries: Entry[], why: RegExp) {
  const e = await t.throwsAsync(unpackInto(into, archive(entries)));
  t.true(isMvError(e), String(e));
  if (isMvError(e)) t.regex(e.line(), why);
}

const untouched = (t: import('ava').ExecutionContext, victim: string) => {
  t.deepEqual(readdirSync(victim), ['precious']);
  t.is(readFileSync(join(victim, 'precious'), 'utf8'), 'keep me');
};

test('a symlink entry is recreated as a symlink, and a later entry through it is refused', async (t) => {
  const { into, victim } = dirs();
  await refused(
    t,
    into,
    [
      { name: 'pkg/', type: 'directory', mode: 0o755 },
      { name: 'pkg/link', type: 'symlink', linkname: victim },
      { name: 'pkg/link/pwned', body: 'owned' },
    ],
    new RegExp(
      `^mv-image: builder: the builder container gave back an entry "pkg/link/pwned" that would be written through the symlink ${join(into, 'pkg', 'link')}; it was not unpacked \\(fix: .+\\)$`,
    ),
  );
  t.is(readlinkSync(join(into, 'pkg', 'link')), victim);
  untouched(t, victim);
});

test('absolute names and ".." segments are refused', async (t) => {
  const { into, victim } = dirs();
  await refused(t, into, [{ name: join(victim, 'abs') }], /entry ".*\/victim\/abs" that is an absolute path; it was not unpacked/);
  await refused(t, into, [{ name: 'pkg/../../victim/dots' }], /entry "pkg\/\.\.\/\.\.\/victim\/dots" that has a "\.\." segment/);
  untouched(t, victim);
});

test('a hard link must name a regular file of the archive', async (t) => {
  const { into, victim } = dirs();
  await refused(
    t,
    into,
    [{ name: 'pkg/h', type: 'link', linkname: join(victim, 'precious') }],
    /entry "pkg\/h" that is a hard link that is an absolute path/,
  );
  await refused(
    t,
    into,
    [
      { name: 'pkg/l', type: 'symlink', linkname: victim },
      { name: 'pkg/h', type: 'link', linkname: 'pkg/l/precious' },
    ],
    /entry "pkg\/h" that is a hard link that would be written through the symlink/,
  );
  untouched(t, victim);
});

test('symlinks already in the target are replaced or refused, never written through', async (t) => {
  const { into, victim } = dirs();
  // A file entry where a symlink to an outside file is: the link goes, a new file is made.
  symlinkSync(join(victim, 'precious'), join(into, 'file'));
  // A directory entry where a symlink to an outside directory is: the link goes, a directory is made.
  symlinkSync(victim, join(into, 'dir'));
  await unpackInto(
    into,
    archive([
      { name: 'file', body: 'new' },
      { name: 'dir/', type: 'directory', mode: 0o755 },
      { name: 'dir/inside', body: 'in' },
    ]),
  );
  t.true(lstatSync(join(into, 'file')).isFile());
  t.true(lstatSync(join(into, 'dir')).isDirectory());
  t.is(readFileSync(join(into, 'dir', 'inside'), 'utf8'), 'in');
  untouched(t, victim);
  // A parent that is a symlink and has no directory entry of its own is refused.
  symlinkSync(victim, join(into, 'other'));
  await refused(t, into, [{ name: 'other/pwned' }], /would be written through the symlink .*\/into\/other;/);
  untouched(t, victim);
});

test('setuid and setgid bits are dropped', async (t) => {
  const { into } = dirs();
  await unpackInto(into, archive([{ name: 'suid', mode: 0o6755 }]));
  t.is(lstatSync(join(into, 'suid')).mode & 0o7777, 0o755);
});

// Real builds in the builder container: a symlink the build makes is given back as a symlink.

function pkg(files: Record<string, string>, links: Record<string, string> = {}): string {
  return makePackage({ ...files, ...Object.fromEntries(Object.entries(links).map(([n, target]) => [n, { symlink: target }])) });
}

function build(dir: string) {
  const out = tempDir('mv-out-');
  const r = cli(['build', dir, '-o', join(out, 'x.iso'), '--builder', 'docker']);
  return { ...r, last: r.stderr.trim().split('\n').pop()!, written: readdirSync(out) };
}

test.serial('a build that turns a symlink to a host directory into a directory writes nothing there', async (t) => {
  ensureBuilder();
  const { victim } = dirs();
  // The package's own symlink (copied into the container as a symlink) is replaced by the build.
  const dir = pkg({ Makefile: 'all:\n\trm lnk && mkdir lnk && echo pwned > lnk/pwned\n' }, { lnk: victim });
  const r = build(dir);
  t.is(r.status, 1, r.stderr);
  t.is(
    r.last,
    'mv-image: package: entry binary pkg was not produced by the build (fix: set "entry" in mv-image.json to the program the build makes)',
  );
  untouched(t, victim);
  t.deepEqual(r.written, []);
  t.deepEqual(await leftoverContainers(), []);
});

test.serial('an entry the build made a symlink to a host file is refused by the package checks', async (t) => {
  ensureBuilder();
  const dir = pkg({ Makefile: 'all:\n\tln -s /etc/passwd prog\n', 'mv-image.json': '{"entry": "prog"}' });
  const r = build(dir);
  t.is(r.status, 1, r.stderr);
  t.is(
    r.last,
    'mv-image: package: entry "prog" resolves to "/etc/passwd", outside the build tree (fix: only files inside the build tree go into the image: copy the file into it (a symlink must stay inside it too))',
  );
  t.deepEqual(r.written, []);
  t.false(existsSync(join(dir, 'prog')));
});
