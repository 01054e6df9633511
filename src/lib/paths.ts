// Where things live: the repo's own files, the cache, and the image output directory.
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { msg } from './messages';

/** The repository (or installed package) root: dist/src/lib -> ../../.. */
export const repoRoot = resolve(__dirname, '..', '..', '..');
export const repoPath = (...p: string[]) => join(repoRoot, ...p);

export { cacheRoot } from './cache-root';

export const imagesDir = () => repoPath('images');

/** A fixed scratch directory for a build whose paths can end up in its output (debug info,
 *  __FILE__, a runtime's compiled-in library path): the same on every build and for every cache
 *  location, so images stay reproducible. The name is predictable on purpose (a random one would
 *  change the bytes); what makes it safe is the parent: <tmp>/mv-image-build-<uid>, made 0700 and
 *  checked to be a real directory of ours that nobody else can write, so no one can plant a file
 *  in it or point it elsewhere. */
export function buildDir(name: string): string {
  const uid = process.getuid?.() ?? 0;
  const root = join(tmpdir(), `mv-image-build-${uid}`);
  try {
    mkdirSync(root, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(root);
  if (st.isSymbolicLink()) throw msg.buildAreaUnsafe(root, 'it is a symlink');
  if (!st.isDirectory()) throw msg.buildAreaUnsafe(root, 'it is not a directory');
  if (st.uid !== uid) throw msg.buildAreaUnsafe(root, `it belongs to uid ${st.uid}`);
  if (st.mode & 0o077) throw msg.buildAreaUnsafe(root, `its mode is ${(st.mode & 0o777).toString(8)}, not 700`);
  return join(root, name);
}
