// Where things live: the repo's own files, the cache, and the image output directory.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository (or installed package) root: dist/src/lib -> ../../.. */
export const repoRoot = resolve(__dirname, '..', '..', '..');
export const repoPath = (...p: string[]) => join(repoRoot, ...p);

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'mv-image');
}

export const imagesDir = () => repoPath('images');
