// `mv-image inspect`: what an ISO or a binary carries. For an ISO: kernel version, command line,
// initramfs contents with sizes, the program, and whether it embeds the HRT. For a binary: its
// .mv_hrt section (the embedded Nautilus) with version and size.
// Any file may be handed to it, so it reads with limits: only regular files, the first bytes to
// tell the format, at most what each part may need (LIMITS), and a damaged part is one error line.
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CpioError, CpioMember, CpioReader } from './lib/cpio';
import { notX8664Elf, readElf, sectionData } from './lib/elf';
import { isMvError, MvError } from './lib/errors';
import { grubLinuxCmdline } from './lib/cmdline';
import { requireTools } from './lib/hosttools';
import { isoVolume, readAt } from './lib/iso9660';
import { readIsoMember } from './lib/bsdtar';
import { msg } from './lib/messages';

export interface HrtInfo {
  section: '.mv_hrt';
  size: number;
  nautilusVersion: string | null;
}
export interface BinaryReport {
  kind: 'binary';
  path: string;
  elfType: string;
  interp: string | null;
  hrt: HrtInfo | null;
}
export interface IsoReport {
  kind: 'iso';
  path: string;
  kernelVersion: string | null;
  cmdline: string;
  /** mvrun: init runs the program under mvrun (the manifest's "mvrun"), so main runs in the HRT without an embedded one. */
  program: { path: string; args: string[]; hrt: HrtInfo | null; mvrun: boolean } | null;
  initramfs: { path: string; size: number; mode: string }[];
}

/** Where the image records what it runs (written by the pipeline into the initramfs). */
export const IMAGE_INFO_PATH = 'etc/mv-image.json';

export type InspectLimits = typeof LIMITS;

export const LIMITS = Object.freeze({
  /** Enough to tell an ELF (64-byte header) from an ISO (descriptors from byte 32768). */
  head: 64 * 1024,
  binary: 1 << 30,
  grubCfg: 64 * 1024,
  /** The bzImage header and its version string (kernel_version is a 16-bit offset past 0x200). */
  kernelHead: 0x10200 + 256,
  /** A whole bzImage, as `serve` and `run`'s KVM probe read one out (Debian's is 8 MiB). */
  kernel: 64 << 20,
  initrd: 1 << 30,
  /** Unpacked: the initramfs may carry 4 GiB of "files" and more. */
  initrdUnpacked: 16 * 2 ** 30,
  imageInfo: 1 << 20,
  /** Each bsdtar read of the ISO. */
  timeoutMs: 60_000,
});

export function hrtInfo(elf: Buffer, what?: string): HrtInfo | null {
  const data = sectionData(elf, readElf(elf, what), '.mv_hrt');
  if (!data) return null;
  const version = data.toString('latin1').match(/Nautilus-HRT [\x20-\x7e]+/)?.[0] ?? null;
  return { section: '.mv_hrt', size: data.length, nautilusVersion: version };
}

/** The version string a bzImage carries (boot protocol: kernel_version at 0x20e, +0x200). */
export function bzImageVersion(img: Buffer): string | null {
  if (img.length < 0x210 || img.toString('latin1', 0x202, 0x206) !== 'HdrS') return null;
  const off = img.readUInt16LE(0x20e) + 0x200;
  const end = img.indexOf(0, off);
  if (off >= img.length || end < 0 || end - off > 256) return null;
  const v = img.toString('latin1', off, end).split(' ')[0];
  return /^[\x21-\x7e]+$/.test(v) ? v : null;
}

function kind(mode: number): string {
  const type = mode & 0o170000;
  if (type === 0o040000) return 'dir';
  if (type === 0o120000) return 'link';
  if (type === 0o020000) return 'chr';
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Errors from the readers (an ELF's stage is "package") become inspect's own line. */
function asInspect(e: unknown): unknown {
  return isMvError(e) && e.stage !== 'inspect' ? new MvError('inspect', e.problem, e.fix, e.exitCode, e.details) : e;
}

function inspectBinary(path: string, size: number, limits: InspectLimits): BinaryReport {
  if (size > limits.binary) throw msg.notAnImage(path, `it is ${size} bytes, over the ${limits.binary} an ELF program may have here`);
  const buf = readFileSync(path);
  const info = readElf(buf, path);
  return { kind: 'binary', path, elfType: info.type, interp: info.interp ?? null, hrt: hrtInfo(buf, path) };
}

/** One file of the ISO, through bsdtar, at most `max` bytes (`head`: the first `max` bytes are
 *  enough; otherwise a larger file is an error). */
export async function isoMember(iso: string, member: string, max: number, head = false, timeoutMs = LIMITS.timeoutMs): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const problem = await readIsoMember(iso, member, { max, head, timeoutMs, onData: (b) => chunks.push(b) });
  if (problem?.kind === 'failed') throw msg.notAnImage(iso, problem.detail);
  if (problem) throw msg.imageDamaged(iso, problem.detail);
  return Buffer.concat(chunks);
}

/** Lists the gzip'd newc initramfs as it unpacks, keeping the data of the members `keep` picks. */
async function scanInitrd(iso: string, gz: Buffer, keep: (p: string) => boolean, limits: InspectLimits): Promise<CpioMember[]> {
  const reader = new CpioReader(keep, { members: 1_000_000, keepBytes: limits.binary });
  let unpacked = 0;
  try {
    for await (const chunk of Readable.from([gz]).pipe(createGunzip())) {
      unpacked += (chunk as Buffer).length;
      if (unpacked > limits.initrdUnpacked) throw new CpioError(`it unpacks to over ${limits.initrdUnpacked} bytes`);
      reader.push(chunk as Buffer);
    }
    return reader.end();
  } catch (e) {
    const why = e instanceof CpioError ? e.message : `it is not gzip data (${(e as Error).message})`;
    throw msg.imageDamaged(iso, `its initramfs (boot/initrd.img): ${why}`);
  }
}

/** The record the pipeline writes at IMAGE_INFO_PATH, checked field by field. */
function imageInfo(iso: string, data: Buffer): { program: string; args: string[]; mvrun: boolean } {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    v = undefined;
  }
  const r = v as { program?: unknown; args?: unknown; mvrun?: unknown } | undefined;
  if (
    !r ||
    typeof r !== 'object' ||
    typeof r.program !== 'string' ||
    !r.program.startsWith('/') ||
    !Array.isArray(r.args) ||
    !r.args.every((a) => typeof a === 'string') ||
    (r.mvrun !== undefined && typeof r.mvrun !== 'boolean')
  ) {
    throw msg.imageDamaged(iso, `its /${IMAGE_INFO_PATH} is not the record mv-image writes`);
  }
  return { program: r.program, args: r.args as string[], mvrun: r.mvrun === true };
}

async function inspectIso(path: string, limits: InspectLimits): Promise<IsoReport> {
  requireTools('inspect');
  const grub = (await isoMember(path, 'boot/grub/grub.cfg', limits.grubCfg, false, limits.timeoutMs)).toString('utf8');
  const linux = grub.match(/^\s*linux\s.*$/m)?.[0];
  const kernelHead = await isoMember(path, 'boot/vmlinuz', limits.kernelHead, true, limits.timeoutMs);
  const gz = await isoMember(path, 'boot/initrd.img', limits.initrd, false, limits.timeoutMs);
  const listing = await scanInitrd(path, gz, (p) => p === IMAGE_INFO_PATH, limits);
  const meta = listing.find((m) => m.path === IMAGE_INFO_PATH);
  if (meta && meta.size > limits.imageInfo) throw msg.imageDamaged(path, `its /${IMAGE_INFO_PATH} is ${meta.size} bytes`);
  const info = meta ? imageInfo(path, meta.data) : null;
  // A second pass for the program's bytes: its path is known only from the record, which sorts after /app.
  const progPath = info?.program.replace(/^\/+/, '');
  const prog =
    progPath && listing.some((m) => m.path === progPath)
      ? (await scanInitrd(path, gz, (p) => p === progPath, limits)).find((m) => m.path === progPath)
      : undefined;
  return {
    kind: 'iso',
    path,
    kernelVersion: bzImageVersion(kernelHead),
    cmdline: linux ? grubLinuxCmdline(linux) : '',
    program: info
      ? { path: info.program, args: info.args, hrt: prog ? hrtInfo(prog.data, `${path}:${info.program}`) : null, mvrun: info.mvrun }
      : null,
    initramfs: listing.map((m) => ({ path: '/' + m.path, size: m.size, mode: kind(m.mode) })),
  };
}

/** The program an image runs (its path in the image and its bytes), read with inspect's limits:
 *  what `run --gdb` hands to gdb, which needs the very binary the guest runs. `image` is an ISO or
 *  a netboot directory; null when the image carries no record of its program. */
export async function imageProgram(image: string, limits: InspectLimits = LIMITS): Promise<{ path: string; data: Buffer } | null> {
  let gz: Buffer;
  if (statSync(image).isDirectory()) {
    const initrd = resolve(image, 'initrd.img');
    if (statSync(initrd).size > limits.initrd) throw msg.imageDamaged(image, `its initrd.img is over ${limits.initrd} bytes`);
    gz = readFileSync(initrd);
  } else {
    requireTools('inspect');
    gz = await isoMember(image, 'boot/initrd.img', limits.initrd, false, limits.timeoutMs);
  }
  const meta = (await scanInitrd(image, gz, (p) => p === IMAGE_INFO_PATH, limits)).find((m) => m.path === IMAGE_INFO_PATH);
  if (!meta || meta.size > limits.imageInfo) return null;
  const { program } = imageInfo(image, meta.data);
  const member = (await scanInitrd(image, gz, (p) => p === program.replace(/^\/+/, ''), limits)).find(
    (m) => m.path === program.replace(/^\/+/, ''),
  );
  return member ? { path: program, data: member.data } : null;
}

/** The first bytes of a regular file, to tell its format. */
function head(path: string): { size: number; bytes: Buffer } {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw msg.inspectMissing(path);
  }
  if (!st.isFile())
    throw msg.notAnImage(path, `it is ${st.isDirectory() ? 'a directory' : 'not a regular file (a device, FIFO or socket)'}`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw msg.inspectMissing(path);
  }
  try {
    return { size: st.size, bytes: readAt(fd, 0, LIMITS.head) };
  } finally {
    closeSync(fd);
  }
}

/** `limits` is for tests that need a small bound without changing the shared one under other tests. */
export async function inspect(path: string, limits: InspectLimits = LIMITS): Promise<IsoReport | BinaryReport> {
  const { size, bytes } = head(path);
  try {
    if (!notX8664Elf(bytes)) return inspectBinary(path, size, limits);
    if (bytes.toString('latin1', 0x8001, 0x8006) === 'CD001') {
      const vol = isoVolume(path);
      if (typeof vol === 'string') throw msg.imageDamaged(path, vol.replace(/^it is /, ''));
      return await inspectIso(path, limits);
    }
  } catch (e) {
    throw asInspect(e);
  }
  throw msg.notAnImage(path, 'neither an ISO 9660 image nor an x86-64 ELF');
}
