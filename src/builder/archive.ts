// Directories in and out of a container as tar streams (tar-stream). A directory goes in as a tar
// of itself (entries named <basename>/..., owned by the container's user), put at its parent;
// getArchive gives it back the same way.
import { createWriteStream, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

export interface Owner { uid: number; gid: number }

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

/** Unpacks a getArchive tar (entries named <basename>/...) into `into`, the parent of the directory asked for. */
export async function unpackInto(into: string, stream: NodeJS.ReadableStream): Promise<void> {
  const extract = tar.extract();
  // The first problem is kept and thrown at the end: an error passed to next() or a destroyed
  // entry stream would be thrown out of the parser instead of rejecting this promise.
  let failure: Error | undefined;
  extract.on('entry', (h, body, next) => {
    const dest = resolve(into, h.name);
    const fail = (e: Error) => { failure ??= e; body.resume(); body.on('end', next); };
    // A hostile or broken archive must not write outside `into`.
    if (relative(into, dest).startsWith('..')) return fail(new Error(`archive entry ${h.name} escapes ${into}`));
    const mode = (h.mode ?? 0o644) & 0o7777;
    if (h.type === 'directory') { mkdirSync(dest, { recursive: true, mode }); body.resume(); body.on('end', next); return; }
    mkdirSync(dirname(dest), { recursive: true });
    if (h.type === 'symlink') { rmSync(dest, { force: true }); symlinkSync(h.linkname!, dest); body.resume(); body.on('end', next); return; }
    if (h.type === 'link') {
      const target = resolve(into, h.linkname!);
      if (relative(into, target).startsWith('..')) return fail(new Error(`archive link ${h.name} escapes ${into}`));
      rmSync(dest, { force: true }); linkSync(target, dest); body.resume(); body.on('end', next); return;
    }
    if (h.type !== 'file') { body.resume(); body.on('end', next); return; }
    rmSync(dest, { force: true });
    pipeline(body, createWriteStream(dest, { mode })).then(() => next(), (e) => { failure ??= e; next(); });
  });
  await pipeline(stream, extract);
  if (failure) throw failure;
}
