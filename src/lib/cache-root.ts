// The cache's root, on its own so that messages.ts (whose fixes name it) and paths.ts (whose
// checks throw those messages) do not import each other.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $XDG_CACHE_HOME/mv-image, default ~/.cache/mv-image. */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'mv-image');
}
