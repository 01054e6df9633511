// The files a package puts into its image, read as if someone else wrote the package: every
// source path resolves (symlinks followed) to a path inside its base directory (the package, or
// the tree the build ran in), nothing but regular files and directories is read, a directory is
// walked with bounds, and every destination is an absolute, normalised path inside the image.
import { lstatSync, readdirSync, realpathSync, Stats, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { msg } from './messages';

/** A file for the image: where it goes, and where its bytes are now; `origin` names the manifest
 *  field (or other source) it came from, for error lines. */
export interface ImageFile {
  dest: string;
  src: string;
  mode: number;
  origin?: string;
}

/** Bounds on one "files" entry that is a directory (a runtime's library tree fits easily). */
export const DIR_LIMITS = { files: 100_000, depth: 64, bytes: 4 * 2 ** 30 };

/** One file may not exceed this (it is read into memory for the initramfs). */
export const FILE_LIMIT = 2 * 2 ** 30 - 1;

/** `dest` as the image will hold it: absolute, no `.`/`..` segments, no control characters, not `/`. */
export function imageDest(dest: string, field: string): string {
  if (!dest.startsWith('/')) throw msg.destInvalid(field, dest, 'it must be an absolute path in the image');
  if (/[\x00-\x1f\x7f]/.test(dest)) throw msg.destInvalid(field, dest, 'it contains a control character');
  const parts = dest.split('/').filter(Boolean);
  if (parts.some((p) => p === '..' || p === '.')) throw msg.destInvalid(field, dest, 'it contains a "." or ".." segment');
  if (!parts.length) throw msg.destInvalid(field, dest, 'it is the image root');
  return '/' + parts.join('/');
}

const inside = (base: string, p: string) => p === base || p.startsWith(base + sep);

const kindOf = (st: Stats) =>
  st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';

/** The real path of `rel` under `base`, which must stay inside base; missing, loops and escapes
 *  are errors naming `field`. `base` must itself be a real path. */
export function resolveInside(base: string, rel: string, field: string, where: string): string {
  if (isAbsolute(rel)) throw msg.pathOutside(field, rel, rel, where);
  let real: string;
  try {
    real = realpathSync(join(base, rel));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw msg.symlinkLoop(field, rel);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw msg.pathMissing(field, rel, where);
    throw e;
  }
  if (!inside(base, real)) throw msg.pathOutside(field, rel, real, where);
  return real;
}

/** The image files of one "files" entry: a regular file, or every regular file under a
 *  directory (symlinks inside it followed only when they stay inside `base`). */
export function collectEntry(base: string, src: string, dest: string, field: string, where: string): ImageFile[] {
  const top = resolveInside(base, src, field, where);
  const st = statSync(top);
  if (st.isFile()) {
    if (st.size > FILE_LIMIT) throw msg.fileTooLarge(field, src, st.size);
    return [{ src: top, dest, mode: st.mode & 0o777 }];
  }
  if (!st.isDirectory()) throw msg.fileSpecial(field, src, kindOf(st));
  const out: ImageFile[] = [];
  let bytes = 0;
  const walk = (dir: string, destDir: string, depth: number, seen: Set<string>) => {
    if (depth > DIR_LIMITS.depth) throw msg.dirTooLarge(field, src, `deeper than ${DIR_LIMITS.depth} levels`);
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const l = lstatSync(p);
      let real = p,
        s = l;
      if (l.isSymbolicLink()) {
        real = resolveInside(base, relative(base, p), `${field} (${relative(base, p)})`, where);
        s = statSync(real);
      }
      const d = posix.join(destDir, name);
      if (s.isDirectory()) {
        if (seen.has(real)) throw msg.symlinkLoop(field, relative(base, p));
        walk(real, d, depth + 1, new Set(seen).add(real));
      } else if (s.isFile()) {
        bytes += s.size;
        if (out.push({ src: real, dest: d, mode: s.mode & 0o777 }) > DIR_LIMITS.files)
          throw msg.dirTooLarge(field, src, `more than ${DIR_LIMITS.files} files`);
        if (bytes > DIR_LIMITS.bytes) throw msg.dirTooLarge(field, src, `more than ${DIR_LIMITS.bytes / 2 ** 30} GiB`);
      } else throw msg.fileSpecial(field, relative(base, p), kindOf(s));
    }
  };
  walk(top, dest, 0, new Set([top]));
  return out;
}
