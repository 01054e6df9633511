// Where things live: the repo's own files, the cache, and the image output directory.
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository (or installed package) root: dist/src/lib -> ../../.. */
export const repoRoot = resolve(__dirname, '..', '..', '..');
export const repoPath = (...p: string[]) => join(repoRoot, ...p);

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'mv-image');
}

export const imagesDir = () => repoPath('images');

/** A fixed scratch directory for a build whose paths can end up in its output (debug info,
 *  __FILE__): the same on every build and for every cache location, so images stay reproducible. */
export function buildDir(name: string): string {
  return join(tmpdir(), 'mv-image-build', name);
}
