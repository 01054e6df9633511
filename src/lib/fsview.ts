// A file system as a builder's commands saw it, read from the host: container paths map to host
// directories (the builder image's exported root at /, the build's directories at their own
// paths). Symlinks are followed here, one path segment at a time, inside the view: an absolute
// link starts again at the view's root, so no path ever reaches a host file outside the mounts.
// The host builder's view is the host itself.
import { lstatSync, readlinkSync, Stats } from 'node:fs';
import { posix } from 'node:path';

export interface Mount {
  at: string;
  host: string;
}
export interface FsView {
  mounts: Mount[];
}

export const HOST_VIEW: FsView = { mounts: [{ at: '/', host: '/' }] };

/** A view with `root` at / and each of `dirs` at its own path. */
export function viewOf(root: string, dirs: string[] = []): FsView {
  return { mounts: [{ at: '/', host: root }, ...dirs.map((d) => ({ at: posix.resolve(d), host: posix.resolve(d) }))] };
}

const under = (p: string, at: string) => at === '/' || p === at || p.startsWith(at + '/');

/** The host path of a container path, by the longest mount that holds it (no symlinks followed). */
export function hostPath(view: FsView, p: string): string {
  const m = view.mounts.filter((x) => under(p, x.at)).sort((a, b) => b.at.length - a.at.length)[0];
  return posix.join(m.host, p.slice(m.at === '/' ? 0 : m.at.length));
}

/** A directory on the way to a mount point exists in the view even when the root lacks it. */
const onMountPath = (view: FsView, p: string) => view.mounts.some((m) => m.at !== '/' && (m.at === p || m.at.startsWith(p + '/')));

/** The container path `p` resolves to (every symlink followed inside the view), or undefined
 *  when it does not exist. Throws ELOOP after 40 links, as the kernel would. */
export function resolveIn(view: FsView, p: string): string | undefined {
  const todo = p.split('/').filter(Boolean);
  let cur = '/',
    links = 0;
  while (todo.length) {
    const seg = todo.shift()!;
    if (seg === '.') continue;
    if (seg === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, seg);
    if (onMountPath(view, next)) {
      cur = next;
      continue;
    }
    let st: Stats;
    try {
      st = lstatSync(hostPath(view, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) throw Object.assign(new Error(`too many symlinks resolving ${p}`), { code: 'ELOOP' });
      const target = readlinkSync(hostPath(view, next));
      todo.unshift(...target.split('/').filter(Boolean));
      if (target.startsWith('/')) cur = '/';
      continue;
    }
    if (todo.length && !st.isDirectory()) return undefined;
    cur = next;
  }
  return cur;
}

/** The host path of the regular file `p` resolves to in the view, or undefined. */
export function fileIn(view: FsView, p: string): string | undefined {
  const real = resolveIn(view, p);
  if (real === undefined) return undefined;
  const host = hostPath(view, real);
  try {
    return lstatSync(host).isFile() ? host : undefined;
  } catch {
    return undefined;
  }
}
