// Directories in and out of a container as tar streams (tar-stream). A directory goes in as a tar
// of itself (entries named <basename>/..., owned by the container's user), put at its parent;
// getArchive gives it back the same way. What comes back was written by the build, so unpacking
// treats it as hostile: no absolute names, no `..`, no write through a symlink (every parent is
// checked with lstat and made by us; a file is created with O_EXCL, which never follows one), a
// symlink entry becomes a symlink and nothing else, a hard link must name a regular file of the
// same archive, and setuid/setgid bits are dropped.
import {
  chmodSync,
  createWriteStream,
  fchmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  Stats,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { msg } from '../lib/messages';

export interface Owner {
  uid: number;
  gid: number;
}

/** A tar of `dir`, its entries named <basename>/..., owned by `owner`: for putArchive at its parent. */
export function packDir(dir: string, owner: Owner): tar.Pack {
  const pack = tar.pack();
  const add = (abs: string, name: string): void => {
    const st = lstatSync(abs);
    const base = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: owner.uid, gid: owner.gid };
    if (st.isDirectory()) {
      pack.entry({ ...base, type: 'directory' });
      for (const n of readdirSync(abs).sort()) add(join(abs, n), `${name}/${n}`);
    } else if (st.isSymbolicLink()) pack.entry({ ...base, type: 'symlink', linkname: readlinkSync(abs) });
    else if (st.isFile()) pack.entry({ ...base, type: 'file' }, readFileSync(abs));
  };
  // Entries are queued synchronously; tar-stream buffers them until the engine reads.
  const root = resolve(dir);
  add(root, basename(root));
  pack.finalize();
  return pack;
}

/** An entry name as path segments, or why it is refused. */
function segments(name: string): string[] | string {
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.includes('\0')) return 'has a NUL byte in its name';
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return 'has a ".." segment';
  if (!parts.length) return 'names the target directory itself';
  return parts;
}

const lstatOrNull = (p: string): Stats | null => {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
};

/** Makes (or checks) every parent of `parts` under `root` as a real directory: never a symlink. */
function parents(root: string, parts: string[]): string | undefined {
  let p = root;
  for (const seg of parts.slice(0, -1)) {
    p = join(p, seg);
    const st = lstatOrNull(p);
    if (!st) mkdirSync(p, { mode: 0o755 });
    else if (st.isSymbolicLink()) return `would be written through the symlink ${p}`;
    else if (!st.isDirectory()) return `would be written inside the file ${p}`;
  }
  return undefined;
}

/** Clears the way for a non-directory at `dest`: a directory there is refused, anything else unlinked. */
function clear(dest: string): string | undefined {
  const st = lstatOrNull(dest);
  if (st?.isDirectory()) return `would replace the directory ${dest}`;
  if (st) unlinkSync(dest);
  return undefined;
}

/** Unpacks a getArchive tar into `into` (the parent of the directory asked for). `keep` filters
 *  entries by their relative name. A refused entry fails the whole unpack with one line. */
export async function unpackInto(into: string, stream: NodeJS.ReadableStream, keep: (name: string) => boolean = () => true): Promise<void> {
  const root = resolve(into);
  mkdirSync(root, { recursive: true });
  const extract = tar.extract();
  // The first problem is kept and thrown at the end: an error passed to next() or a destroyed
  // entry stream would be thrown out of the parser instead of rejecting this promise.
  let failure: Error | undefined;
  extract.on('entry', (h, body, next) => {
    const skip = () => {
      body.resume();
      body.on('end', next);
    };
    const fail = (why: string) => {
      failure ??= msg.archiveUnsafe(h.name, why);
      skip();
    };
    if (failure) return skip();
    const parts = segments(h.name);
    if (typeof parts === 'string') return fail(parts);
    if (!keep(parts.join('/'))) return skip();
    const bad = parents(root, parts);
    if (bad) return fail(bad);
    const dest = join(root, ...parts);
    const mode = (h.mode ?? 0o644) & 0o777;
    if (h.type === 'directory') {
      const st = lstatOrNull(dest);
      if (st && !st.isDirectory()) unlinkSync(dest);
      if (!st?.isDirectory()) mkdirSync(dest);
      // Our own later writes and removals need the owner's bits, whatever the build set.
      chmodSync(dest, mode | 0o700);
      return skip();
    }
    if (h.type === 'symlink') {
      const why = clear(dest);
      if (why) return fail(why);
      symlinkSync(h.linkname ?? '', dest);
      return skip();
    }
    if (h.type === 'link') {
      const target = segments(h.linkname ?? '');
      if (typeof target === 'string') return fail(`is a hard link that ${target}`);
      const badTarget = parents(root, target);
      if (badTarget) return fail(`is a hard link that ${badTarget}`);
      const t = lstatOrNull(join(root, ...target));
      if (!t?.isFile()) return fail(`is a hard link to ${h.linkname}, which is not a regular file of the archive`);
      const why = clear(dest);
      if (why) return fail(why);
      linkSync(join(root, ...target), dest);
      return skip();
    }
    if (h.type !== 'file') return skip();
    const why = clear(dest);
    if (why) return fail(why);
    // O_EXCL: created here, never opened through a symlink someone put in the way.
    const fd = openSync(dest, 'wx', 0o600);
    fchmodSync(fd, mode);
    pipeline(body, createWriteStream('', { fd })).then(
      () => next(),
      (e) => {
        failure ??= e;
        next();
      },
    );
  });
  await pipeline(stream, extract);
  if (failure) throw failure;
}
