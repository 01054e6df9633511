// Stage "init": renders the ROS init script that runs the program at boot.
import { readFileSync } from 'node:fs';
import { FsView, fileIn, HOST_VIEW } from '../lib/fsview';
import { libraryFiles } from '../lib/ldd';
import { msg } from '../lib/messages';
import type { Manifest } from '../lib/manifest';
import type { ImageFile } from '../lib/pkgfiles';
import { shJoin, shq } from '../lib/shell';
import { render } from '../lib/templates';
import type { KernelModule } from './kernel';

export interface InitOptions {
  hostname: string;
  modules: Pick<KernelModule, 'name' | 'imagePath'>[];
  /** The program and its arguments. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  onExit: Manifest['onExit'];
  /** The manifest's hrt.cpus; empty means all CPUs but 0, decided at boot. */
  hrtCpus?: string;
  /** Fail rather than run natively when KVM is unusable (MV_REQUIRE_HRT=1). */
  requireHrt?: boolean;
}

/** The environment every program starts with, before the manifest's own variables.
 *  MV_ANNOUNCE makes libmv print "MV-HRT vcpus=<n> cpl=<cpl>" when main starts in the HRT. */
export const BASE_ENV = { PATH: '/bin:/sbin:/usr/bin:/usr/sbin', HOME: '/root', TERM: 'linux', MV_ANNOUNCE: '1' };

/** util-linux's script (Debian's bsdutils) in the image: init runs a cluster node's program under
 *  it, on a pty, to keep the console's last 64 KiB for the node's report (src/serve/). */
export const CAPTURE_TOOL = { src: '/usr/bin/script', dest: '/usr/lib/mv-image/script' };

export function renderInit(o: InitOptions): string {
  const env = Object.entries({ ...BASE_ENV, ...(o.requireHrt ? { MV_REQUIRE_HRT: '1' } : {}), ...o.env })
    .map(([k, v]) => `${k}=${shq(v)}`)
    .join(' ');
  return render('init.ejs', {
    hrtCpus: '',
    requireHrt: false,
    ...o,
    shq,
    captureTool: CAPTURE_TOOL.dest,
    hostname: shq(o.hostname),
    env,
    command: shJoin(o.argv),
    cwd: shq(o.cwd),
  });
}

/** The capture tool as an image file of mv-image's own, and the libraries it needs that the
 *  program's files do not already bring. Like busybox, taken from the builder's file system
 *  (`view`: the builder image's for a docker build), never the host's for a docker build. */
export function captureFiles(
  have: Pick<ImageFile, 'dest'>[],
  view: FsView = HOST_VIEW,
  builder = 'the host',
): { tool: { dest: string; data: Buffer; mode: number }; libs: ImageFile[] } {
  const src = fileIn(view, CAPTURE_TOOL.src);
  if (!src) throw msg.captureToolMissing(CAPTURE_TOOL.src, builder);
  const dests = new Set(have.map((f) => f.dest));
  const libs = libraryFiles(CAPTURE_TOOL.src, view)
    .filter((l) => !dests.has(l.path))
    .map((l) => ({ dest: l.path, src: l.src, mode: 0o755, origin: `the library ${l.path} (for ${CAPTURE_TOOL.dest})` }));
  return { tool: { dest: CAPTURE_TOOL.dest, data: readFileSync(src), mode: 0o755 }, libs };
}

/** mvrun and its preload library in the image, at the toolchain's own layout (mvrun finds
 *  libmv-preload.so in ../lib/mv), for a manifest with "mvrun": init runs `mvrun ENTRY ARGS`. */
export const MVRUN = { dest: '/usr/bin/mvrun', preload: '/usr/lib/mv/libmv-preload.so' };

/** The toolchain's mvrun and libmv-preload.so (`prefix`: where it is installed, a path in `view`,
 *  the file system the toolchain was built in), and the libraries they need that `have` lacks. */
export function mvrunFiles(
  prefix: string,
  have: Pick<ImageFile, 'dest'>[],
  view: FsView = HOST_VIEW,
): { tools: { dest: string; data: Buffer; mode: number }[]; libs: ImageFile[] } {
  const srcs = [
    [`${prefix}/bin/mvrun`, MVRUN.dest],
    [`${prefix}/lib/mv/libmv-preload.so`, MVRUN.preload],
  ];
  const dests = new Set(have.map((f) => f.dest));
  const libs = new Map<string, ImageFile>();
  for (const [src, dest] of srcs) {
    for (const l of libraryFiles(src, view))
      if (!dests.has(l.path)) libs.set(l.path, { dest: l.path, src: l.src, mode: 0o755, origin: `the library ${l.path} (for ${dest})` });
  }
  return { tools: srcs.map(([src, dest]) => ({ dest, data: readFileSync(fileIn(view, src)!), mode: 0o755 })), libs: [...libs.values()] };
}
