// `mv-image inspect`: what an ISO or a binary carries. For an ISO: kernel version, command line,
// initramfs contents with sizes, the program, and whether it embeds the HRT. For a binary: its
// .mv_hrt section (the embedded Nautilus) with version and size.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readCpio } from './lib/cpio';
import { notX8664Elf, readElf, sectionData } from './lib/elf';
import { exec } from './lib/exec';
import { requireTools } from './lib/hosttools';
import { msg } from './lib/messages';

export interface HrtInfo { section: '.mv_hrt'; size: number; nautilusVersion: string | null }
export interface BinaryReport { kind: 'binary'; path: string; elfType: string; interp: string | null; hrt: HrtInfo | null }
export interface IsoReport {
  kind: 'iso';
  path: string;
  kernelVersion: string | null;
  cmdline: string;
  program: { path: string; args: string[]; hrt: HrtInfo | null } | null;
  initramfs: { path: string; size: number; mode: string }[];
}

/** Where the image records what it runs (written by the pipeline into the initramfs). */
export const IMAGE_INFO_PATH = 'etc/mv-image.json';

export function hrtInfo(elf: Buffer): HrtInfo | null {
  const data = sectionData(elf, readElf(elf), '.mv_hrt');
  if (!data) return null;
  const version = data.toString('latin1').match(/Nautilus-HRT [\x20-\x7e]+/)?.[0] ?? null;
  return { section: '.mv_hrt', size: data.length, nautilusVersion: version };
}

/** The version string a bzImage carries (boot protocol: kernel_version at 0x20e, +0x200). */
export function bzImageVersion(img: Buffer): string | null {
  if (img.length < 0x210 || img.toString('latin1', 0x202, 0x206) !== 'HdrS') return null;
  const off = img.readUInt16LE(0x20e) + 0x200;
  return img.toString('latin1', off, img.indexOf(0, off)).split(' ')[0] || null;
}

function kind(mode: number): string {
  const type = mode & 0o170000;
  if (type === 0o040000) return 'dir';
  if (type === 0o120000) return 'link';
  if (type === 0o020000) return 'chr';
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function inspectBinary(path: string, buf: Buffer): BinaryReport {
  const info = readElf(buf);
  return { kind: 'binary', path, elfType: info.type, interp: info.interp ?? null, hrt: hrtInfo(buf) };
}

async function inspectIso(path: string): Promise<IsoReport> {
  requireTools('inspect');
  const dir = mkdtempSync(join(tmpdir(), 'mv-inspect-'));
  try {
    const r = await exec('bsdtar', ['-xf', path, '-C', dir, 'boot/grub/grub.cfg', 'boot/vmlinuz', 'boot/initrd.img']);
    if (r.status !== 0) throw msg.notAnImage(path, r.output.trim().split('\n').pop() ?? '');
    const grub = readFileSync(join(dir, 'boot/grub/grub.cfg'), 'utf8');
    const cmdline = grub.match(/^\s*linux\s+\S+\s*(.*)$/m)?.[1].trim() ?? '';
    const members = readCpio(gunzipSync(readFileSync(join(dir, 'boot/initrd.img'))));
    const file = (p: string) => members.find((m) => m.path === p);
    const meta = file(IMAGE_INFO_PATH);
    const info = meta ? (JSON.parse(meta.data.toString()) as { program: string; args: string[] }) : null;
    const prog = info ? file(info.program.replace(/^\//, '')) : undefined;
    return {
      kind: 'iso', path,
      kernelVersion: bzImageVersion(readFileSync(join(dir, 'boot/vmlinuz'))),
      cmdline,
      program: info ? { path: info.program, args: info.args, hrt: prog ? hrtInfo(prog.data) : null } : null,
      initramfs: members.map((m) => ({ path: '/' + m.path, size: m.size, mode: kind(m.mode) })),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function inspect(path: string): Promise<IsoReport | BinaryReport> {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch { throw msg.inspectMissing(path); }
  if (!notX8664Elf(buf)) return inspectBinary(path, buf);
  if (buf.length > 0x8006 && buf.toString('latin1', 0x8001, 0x8006) === 'CD001') return inspectIso(path);
  throw msg.notAnImage(path, 'neither an ISO 9660 image nor an x86-64 ELF');
}
