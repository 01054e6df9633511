// How a builder container is confined: the package's build command is someone else's code.
// - an unprivileged user: the invoking user's uid/gid, or BUILDER_UID when root runs mv-image;
// - no capabilities, no-new-privileges (setuid files do nothing), no network;
// - a read-only root; writable are only the volumes the build directories come in (one at each
//   directory's parent, so the directory itself is an entry owned by the user) and a tmpfs /tmp;
// - limits on memory (no swap on top), PIDs and wall time (manifest "builderLimits").
// A directory under /root (the cache when root runs mv-image) is reachable because /root is an
// empty volume that anyone may enter: the image's own /root is root's alone.
import type Docker from 'dockerode';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { BuilderLimits } from '../lib/manifest';
import { pidAlive } from '../lib/lock';

export const BUILDER_UID = 1000;
const TMP_SIZE = '512m';
const MiB = 2 ** 20;

/** Every builder container carries these, and the owner label lets a later build remove the
 *  containers of a process that died without doing so. */
const OWNER = `${hostname()}:${process.pid}`;
export const STAGE_LABELS = { 'mv-image': 'stage', 'mv-image.owner': OWNER };

export function containerUser(): { uid: number; gid: number } {
  const uid = process.getuid?.() ?? 0,
    gid = process.getgid?.() ?? 0;
  return uid === 0 ? { uid: BUILDER_UID, gid: BUILDER_UID } : { uid, gid };
}

/** Runs the command, then reports fork failures at the PID limit (cgroup v1 or v2) after the
 *  marker ($0), using shell builtins only (no fork is left at the limit). */
export const LIMIT_SHIM =
  '"$@"; s=$?; for f in /sys/fs/cgroup/pids/pids.events /sys/fs/cgroup/pids.events; do if [ -r "$f" ]; then read -r k n < "$f"; echo "$0 $k $n" >&2; break; fi; done; exit $s';

/** The shim's report, after its marker: "max <failed forks>". */
export const pidsLimitHit = (report: string) => /^ max [1-9]/.test(report);

export function hostConfig(limits: BuilderLimits, dirs: string[]): Docker.HostConfig {
  const targets = new Set<string>();
  for (const d of dirs) {
    const parent = dirname(d);
    // Their own volume would hide / or the tmpfs; no stage asks for such a directory.
    if (parent === '/' || parent === '/tmp') throw new Error(`${d} cannot go into a builder container: its parent is ${parent}`);
    targets.add(parent);
    if (d.startsWith('/root/')) targets.add('/root');
  }
  return {
    NetworkMode: 'none',
    ReadonlyRootfs: true,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Memory: limits.memoryMiB * MiB,
    MemorySwap: limits.memoryMiB * MiB,
    PidsLimit: limits.pids,
    Tmpfs: { '/tmp': `rw,exec,nosuid,nodev,size=${TMP_SIZE},mode=1777` },
    // Anonymous volumes (no Source), NoCopy: an empty root-owned directory, not a copy of the image's.
    Mounts: [...targets].sort().map((Target) => ({
      Type: 'volume' as const,
      Source: '',
      Target,
      VolumeOptions: { NoCopy: true, Labels: { 'mv-image': 'stage' }, DriverConfig: { Name: 'local', Options: {} } },
    })),
  };
}

/** Removes the builder containers (and their volumes) of dead mv-image processes on this host. */
export async function removeStale(docker: Docker): Promise<void> {
  const cs = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ['mv-image=stage'] }) });
  for (const c of cs) {
    const [host, pid] = (c.Labels['mv-image.owner'] ?? '').split(':');
    if (host === hostname() && !pidAlive(Number(pid)))
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {});
  }
}
