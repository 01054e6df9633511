// Stage "initramfs": a gzip-compressed newc cpio with ros-initramfs/, busybox, the kernel
// modules, /init, init's tools (mv-kvmhold, mv-drain) and the program's files. Reproducible: sorted entries, fixed owners, inodes and
// mtimes (SOURCE_DATE_EPOCH), and a gzip stream without a timestamp.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cached, hashOf } from '../lib/cache';
import { CpioEntry, writeCpio } from '../lib/cpio';
import { requireTools } from '../lib/hosttools';
import { msg } from '../lib/messages';
import { repoPath } from '../lib/paths';
import { Owned, reservedReason } from '../lib/reserved';
import type { Stage } from '../lib/stage';
import type { KernelArtifact } from './kernel';
import type { ImageFile } from './package';

export const BUSYBOX = '/bin/busybox';

export interface InitramfsInputs {
  kernel: KernelArtifact;
  init: string;
  files: ImageFile[];
  /** Static tools init uses (the toolchain's mv-kvmhold and mv-drain), installed in /sbin. */
  initTools?: string[];
  /** The busybox binary to install (default: the host's BUSYBOX); a docker build gives the builder's. */
  busybox?: string;
  /** Symlinks (a Debian package's, src/stages/install.ts), checked like files. */
  links?: { dest: string; target: string; origin: string }[];
  /** Generated files, given as bytes. */
  extra?: { dest: string; data: Buffer; mode: number }[];
  sourceDateEpoch: number;
}

export interface InitramfsArtifact {
  cached: boolean;
  path: string;
  entries: number;
}

/** Every file under ros-initramfs/ except its README. */
function skeleton(): CpioEntry[] {
  const root = repoPath('ros-initramfs');
  const out: CpioEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === 'README.md') continue;
      const st = statSync(join(root, r));
      if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: st.mode & 0o7777 });
        walk(r);
      } else out.push({ path: r, type: 'file', data: readFileSync(join(root, r)), mode: st.mode & 0o7777 });
    }
  };
  walk('');
  return out;
}

/** The image paths mv-image writes itself (everything but the package's files), and what each is. */
function ownedPaths(i: InitramfsInputs): Owned {
  const paths = new Map<string, string>();
  for (const e of skeleton()) if (e.type === 'file') paths.set(`/${e.path}`, 'part of the ROS skeleton (ros-initramfs/)');
  paths.set('/init', 'the ROS init');
  paths.set(BUSYBOX, 'busybox, which init runs');
  paths.set('/bin/sh', "init's shell");
  for (const t of i.initTools ?? []) paths.set(`/sbin/${basename(t)}`, `${basename(t)}, which init runs`);
  for (const m of i.kernel.modules) paths.set(`/${m.imagePath.replace(/^\/+/, '')}`, `the kernel module ${m.name}`);
  for (const x of i.extra ?? []) paths.set(x.dest, "mv-image's own");
  return { paths, busybox: i.busybox ?? BUSYBOX };
}

/** No package file may replace one of mv-image's (the last cpio entry would win). */
export function checkCollisions(i: InitramfsInputs): void {
  const owned = ownedPaths(i);
  for (const f of [...i.files, ...(i.links ?? [])]) {
    const why = reservedReason(f.dest, owned);
    if (why) throw msg.imageCollision(f.dest, f.origin ?? f.dest, why);
  }
}

export function initramfsEntries(i: InitramfsInputs): CpioEntry[] {
  checkCollisions(i);
  return [
    ...skeleton(),
    ...['proc', 'sys', 'dev', 'run', 'mnt', 'sbin', 'usr/bin', 'usr/sbin'].map((d): CpioEntry => ({ path: d, type: 'dir' })),
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
    { path: 'bin/busybox', type: 'file', data: readFileSync(i.busybox ?? BUSYBOX), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', data: Buffer.from(i.init), mode: 0o755 },
    ...(i.initTools ?? []).map((t): CpioEntry => ({ path: `sbin/${basename(t)}`, type: 'file', data: readFileSync(t), mode: 0o755 })),
    ...i.kernel.modules.map((m): CpioEntry => ({ path: m.imagePath, type: 'file', data: readFileSync(m.file), mode: 0o644 })),
    ...i.files.map((f): CpioEntry => ({ path: f.dest, type: 'file', data: readFileSync(f.src), mode: f.mode })),
    ...(i.links ?? []).map((l): CpioEntry => ({ path: l.dest, type: 'symlink', target: l.target })),
    ...(i.extra ?? []).map((f): CpioEntry => ({ path: f.dest, type: 'file', data: f.data, mode: f.mode })),
  ];
}

/** Keyed by every entry it writes (paths, modes, bytes) and SOURCE_DATE_EPOCH. */
export const initramfsStage: Stage<InitramfsInputs, InitramfsArtifact> = { name: 'initramfs', run: (_progress, i) => run(i) };

async function run(i: InitramfsInputs): Promise<InitramfsArtifact> {
  // Its one host tool is busybox, which a docker build takes from the builder.
  if (!i.busybox) requireTools('initramfs');
  const entries = initramfsEntries(i);
  const key = hashOf({ entries: entries as never, epoch: i.sourceDateEpoch, format: 1 });
  const { dir, hit } = await cached(initramfsStage.name, key, async (tmp) => {
    const cpio = writeCpio(entries, i.sourceDateEpoch);
    writeFileSync(join(tmp, 'initrd.img'), gzipSync(cpio, { level: 9 }));
  });
  return { cached: hit, path: join(dir, 'initrd.img'), entries: entries.length };
}
