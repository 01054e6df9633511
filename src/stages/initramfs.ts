// Stage "initramfs": a gzip-compressed newc cpio with ros-initramfs/, busybox, the kernel
// modules, /init, init's tools (mv-kvmhold, mv-drain) and the program's files. Reproducible: sorted entries, fixed owners, inodes and
// mtimes (SOURCE_DATE_EPOCH), and a gzip stream without a timestamp.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cached, hashOf } from '../lib/cache';
import { CpioEntry, writeCpio } from '../lib/cpio';
import { requireTools } from '../lib/hosttools';
import { repoPath } from '../lib/paths';
import type { KernelArtifact } from './kernel';
import type { ImageFile } from './package';

export const BUSYBOX = '/bin/busybox';

export interface InitramfsInputs {
  kernel: KernelArtifact;
  init: string;
  files: ImageFile[];
  /** Static tools init uses (the toolchain's mv-kvmhold and mv-drain), installed in /sbin. */
  initTools?: string[];
  /** Generated files, given as bytes. */
  extra?: { dest: string; data: Buffer; mode: number }[];
  sourceDateEpoch: number;
}

export interface InitramfsArtifact { cached: boolean; path: string; entries: number }

/** Every file under ros-initramfs/ except its README. */
function skeleton(): CpioEntry[] {
  const root = repoPath('ros-initramfs');
  const out: CpioEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === 'README.md') continue;
      const st = statSync(join(root, r));
      if (st.isDirectory()) { out.push({ path: r, type: 'dir', mode: st.mode & 0o7777 }); walk(r); }
      else out.push({ path: r, type: 'file', data: readFileSync(join(root, r)), mode: st.mode & 0o7777 });
    }
  };
  walk('');
  return out;
}

export function initramfsEntries(i: InitramfsInputs): CpioEntry[] {
  return [
    ...skeleton(),
    ...['proc', 'sys', 'dev', 'run', 'mnt', 'sbin', 'usr/bin', 'usr/sbin'].map((d): CpioEntry => ({ path: d, type: 'dir' })),
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
    { path: 'bin/busybox', type: 'file', data: readFileSync(BUSYBOX), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', data: Buffer.from(i.init), mode: 0o755 },
    ...(i.initTools ?? []).map((t): CpioEntry => ({ path: `sbin/${basename(t)}`, type: 'file', data: readFileSync(t), mode: 0o755 })),
    ...i.kernel.modules.map((m): CpioEntry => ({ path: m.imagePath, type: 'file', data: readFileSync(m.file), mode: 0o644 })),
    ...i.files.map((f): CpioEntry => ({ path: f.dest, type: 'file', data: readFileSync(f.src), mode: f.mode })),
    ...(i.extra ?? []).map((f): CpioEntry => ({ path: f.dest, type: 'file', data: f.data, mode: f.mode })),
  ];
}

export async function initramfsStage(i: InitramfsInputs): Promise<InitramfsArtifact> {
  requireTools('initramfs');
  const entries = initramfsEntries(i);
  const key = hashOf({ entries: entries as never, epoch: i.sourceDateEpoch, format: 1 });
  const { dir, hit } = await cached('initramfs', key, async (tmp) => {
    const cpio = writeCpio(entries, i.sourceDateEpoch);
    writeFileSync(join(tmp, 'initrd.img'), gzipSync(cpio, { level: 9 }));
  });
  return { cached: hit, path: join(dir, 'initrd.img'), entries: entries.length };
}
