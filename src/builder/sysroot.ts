// The part of the builder image's file system that goes into images: the loader, the shared
// libraries and their search path (ld.so.conf), busybox and script (init's console capture).
// Exported once per image ID (and KEEP list) from a container that never starts, unpacked (as
// any container output: src/builder/archive.ts) into the cache, and read through a file system
// view (src/lib/fsview.ts), so a docker build's image carries the builder's files, never the
// host's.
import type Docker from 'dockerode';
import { join } from 'node:path';
import { cached, hashOf } from '../lib/cache';
import { onStop } from '../lib/lifecycle';
import { msg } from '../lib/messages';
import { unpackInto } from './archive';
import { STAGE_LABELS } from './confine';

/** Paths of the export kept: the merged-/usr links, ld.so.conf, the library directories, busybox,
 *  script. Part of the cache key, so a change here exports again. */
const KEEP = [
  /^(bin|lib|lib64|sbin|etc|usr|usr\/bin|usr\/local)$/,
  /^etc\/ld\.so\.conf(\.d(\/.*)?)?$/,
  /^usr\/lib\/[^/]+$/, // files directly in /usr/lib (a default search directory)
  /^usr\/lib\/x86_64-linux-gnu(\/.*)?$/,
  /^usr\/lib64(\/.*)?$/,
  /^usr\/local\/lib(\/.*)?$/,
  /^usr\/bin\/busybox$/,
  /^usr\/bin\/script$/,
];

export async function builderRoot(docker: Docker, image: { tag: string; id: string }): Promise<string> {
  const key = `${image.id.replace(/^sha256:/, '')}-${hashOf(KEEP.map(String)).slice(0, 12)}`;
  const { dir } = await cached('builder-root', key, async (tmp) => {
    const c = await docker.createContainer({ Image: image.id, Cmd: ['true'], Labels: STAGE_LABELS, HostConfig: { NetworkMode: 'none' } });
    const unstop = onStop(() => c.remove({ force: true, v: true }));
    try {
      await unpackInto(join(tmp, 'root'), await c.export(), (name) => KEEP.some((re) => re.test(name)));
    } catch (e) {
      throw msg.builderRootFailed(image.tag, (e as Error).message);
    } finally {
      unstop();
      await c.remove({ force: true, v: true }).catch(() => {});
    }
  });
  return join(dir, 'root');
}
