// Lock directories owned by a pid, the fixed scratch directories they guard, and the sweep that
// removes what dead processes left: `<x>.lock` whose owner is gone, `<x>.tmp-<pid>` and
// `.dl-<pid>` of a dead pid, and a scratch directory whose lock's owner is gone.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { trackPath } from './lifecycle';

/** A lock directory without its pid file this long is an owner that died between the two writes. */
const UNWRITTEN_MS = 60_000;

export function pidAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function ownerAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(path, 'pid'), 'utf8'));
  } catch {
    try {
      return Date.now() - statSync(path).mtimeMs < UNWRITTEN_MS;
    } catch {
      return false;
    }
  }
  return pid === process.pid || pidAlive(pid);
}

/** Takes the lock directory `path` (waiting while a live process holds it; a dead owner's lock is
 *  taken over). It is removed by the returned function, or on any exit of this process. */
export async function lock(path: string): Promise<() => void> {
  for (;;) {
    try {
      mkdirSync(path);
      const untrack = trackPath(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => {
        rmSync(path, { recursive: true, force: true });
        untrack();
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (!ownerAlive(path)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A fixed scratch directory (its path may end up in build outputs, so it cannot carry our pid),
 *  held under `<dir>.lock` so no other build uses it at the same time, emptied first, and removed
 *  with its lock by the returned function or on any exit. */
export async function scratchDir(dir: string): Promise<() => void> {
  mkdirSync(dirname(dir), { recursive: true });
  const unlock = await lock(`${dir}.lock`);
  const untrack = trackPath(dir);
  rmSync(dir, { recursive: true, force: true });
  return () => {
    rmSync(dir, { recursive: true, force: true });
    untrack();
    unlock();
  };
}

const TEMP = /(?:\.tmp-|^\.dl-)(\d+)$/;

/** Removes what dead processes left in each of `dirs` (not below): temp directories of a dead
 *  pid and locks of a dead owner. With `guarded`, the directory a dead owner's lock guarded goes
 *  too (scratch directories; never a cache entry, which is complete). */
export function sweepStale(dirs: string[], guarded = false): void {
  for (const dir of dirs) sweepDir(dir, guarded);
}

/** The subdirectories of `dir` (none when it does not exist). */
export function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.endsWith('.lock') && !TEMP.test(d.name))
    .map((d) => join(dir, d.name));
}

function sweepDir(dir: string, guarded: boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    const tmp = name.match(TEMP);
    if (tmp && Number(tmp[1]) !== process.pid && !pidAlive(Number(tmp[1]))) rmSync(p, { recursive: true, force: true });
    else if (name.endsWith('.lock') && !ownerAlive(p)) takeOverAndDrop(p, guarded ? p.slice(0, -'.lock'.length) : undefined);
  }
}

/** As lock() does with a dead owner's lock: removed, then taken (someone quicker keeps it), so
 *  the directory it guarded is never removed under a new owner. */
function takeOverAndDrop(path: string, guardedDir?: string): void {
  rmSync(path, { recursive: true, force: true });
  try {
    mkdirSync(path);
  } catch {
    return;
  }
  writeFileSync(join(path, 'pid'), String(process.pid));
  if (guardedDir) rmSync(guardedDir, { recursive: true, force: true });
  rmSync(path, { recursive: true, force: true });
}
