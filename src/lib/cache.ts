// Content-addressed stage cache: <cacheRoot>/<stage>/<key>/ holds a stage's artefacts.
// A stage writes into a temporary sibling and renames it into place, so a half-built entry never
// looks complete, and two builds racing for the same key both end with a whole entry. The temp
// dir and the lock go on every exit (src/lib/lifecycle.ts); a dead process's are swept later.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { trackPath } from './lifecycle';
import { lock, subdirs, sweepStale } from './lock';
import type { MetaFile } from './meta';
import { msg } from './messages';
import { buildDir, cacheRoot } from './paths';

export type HashInput = string | Buffer | number | boolean | null | undefined | HashInput[] | { [k: string]: HashInput };

/** A stable sha256 of a JSON-like value (object keys sorted). */
export function hashOf(value: HashInput): string {
  const h = createHash('sha256');
  const feed = (v: HashInput): void => {
    if (Buffer.isBuffer(v)) {
      h.update(`b${v.length}:`);
      h.update(v);
    } else if (Array.isArray(v)) {
      h.update('[');
      v.forEach(feed);
      h.update(']');
    } else if (v !== null && typeof v === 'object') {
      h.update('{');
      for (const k of Object.keys(v).sort()) {
        h.update(JSON.stringify(k));
        feed(v[k]);
      }
      h.update('}');
    } else h.update(JSON.stringify(v ?? null));
  };
  feed(value);
  return h.digest('hex');
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Hash of every entry under a directory (relative path, type, mode, and a file's content or a
 *  symlink's target text), skipping `skip` paths. Symlinks are not followed: what a link points
 *  at outside the tree is not part of it (and may be /dev/zero). Files are read in pieces, so
 *  size does not matter; FIFOs, sockets and devices are refused (reading one would block). */
export function hashTree(dir: string, skip: (rel: string) => boolean = () => false): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const p = join(dir, r);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(r);
      else if (st.isSymbolicLink()) h.update(`${r}\0link\0${readlinkSync(p)}\0`);
      else if (st.isFile()) {
        h.update(`${r}\0${st.mode & 0o777}\0${st.size}\0`);
        const fd = openSync(p, 'r');
        try {
          for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
        } finally {
          closeSync(fd);
        }
      } else throw msg.treeSpecialFile(join(dir, r), st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device');
    }
  };
  walk('');
  return h.digest('hex');
}

export interface CacheHit {
  dir: string;
  hit: boolean;
}

/** Returns the cache dir for (stage, key), running `produce(tmpDir)` first when it is missing.
 *  One producer per key at a time (a lock directory): stages build in fixed scratch paths, and a
 *  second build of the same key waits for the first and then takes its result. `valid` checks a
 *  complete entry too: one it refuses is a miss, built again and replaced. */
export async function cached(
  stage: string,
  key: string,
  produce: (tmp: string) => Promise<void>,
  valid: (dir: string) => boolean = () => true,
): Promise<CacheHit> {
  const dir = join(cacheRoot(), stage, key);
  const usable = () => existsSync(join(dir, '.complete')) && valid(dir);
  if (usable()) return { dir, hit: true };
  mkdirSync(join(cacheRoot(), stage), { recursive: true });
  const unlock = await lock(`${dir}.lock`);
  try {
    if (usable()) return { dir, hit: true };
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const untrack = trackPath(tmp);
    mkdirSync(tmp);
    try {
      await produce(tmp);
      writeFileSync(join(tmp, '.complete'), '');
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    } finally {
      untrack();
    }
    return { dir, hit: false };
  } finally {
    unlock();
  }
}

/** `cached`, for an entry whose metadata file `meta` (written by `produce`) is read back through
 *  its validating reader: a malformed file makes the entry a miss, so it is built again. */
export async function cachedMeta<T>(
  stage: string,
  key: string,
  meta: MetaFile<T>,
  produce: (tmp: string) => Promise<void>,
): Promise<CacheHit & { meta: T }> {
  let got: T | undefined;
  const r = await cached(stage, key, produce, (dir) => (got = meta.read(dir)) !== undefined);
  if (!r.hit) got = meta.read(r.dir);
  if (got === undefined) throw msg.internal(`the ${stage} stage wrote a ${meta.file} its own reader refuses (${r.dir})`);
  return { ...r, meta: got };
}

/** What dead builds left: temp dirs and locks in the cache (its entries are never touched), and
 *  scratch build directories whose lock's owner is gone. */
export function sweepLeftovers(): void {
  const root = cacheRoot();
  sweepStale([root, ...subdirs(root), join(root, 'apt-src', 'downloads')]);
  sweepStale([buildDir('')], true);
}
