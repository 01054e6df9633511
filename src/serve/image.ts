// What `serve` hands out: the kernel, the initramfs and the kernel parameters of an image, read
// from a netboot directory (its boot.ipxe) or out of an ISO (its grub.cfg, through bsdtar, with
// the limits `inspect` uses). The parameters are checked again (src/lib/cmdline.ts): the image
// may come from anyone, and they go into an iPXE script.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { grubLinuxCmdline, parseCmdline } from '../lib/cmdline';
import { writeIsoMember } from '../lib/bsdtar';
import { isMvError } from '../lib/errors';
import { requireTools } from '../lib/hosttools';
import { isoVolume } from '../lib/iso9660';
import { msg } from '../lib/messages';
import { isoMember, LIMITS } from '../inspect';
import { checkBootable } from '../run';

export interface BootFiles {
  /** Image name (for the summary and the node hostnames). */
  name: string;
  vmlinuz: string;
  initrd: string;
  /** Canonical kernel parameters, console= included. */
  params: string[];
}

const SCRIPT_MAX = 64 * 1024;

function readHead(path: string, max: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(max);
    return buf.subarray(0, readSync(fd, buf, 0, max, 0));
  } finally {
    closeSync(fd);
  }
}

/** The words after `kernel <file>` in a netboot bundle's boot.ipxe. */
function ipxeKernelParams(dir: string): string {
  const script = readHead(join(dir, 'boot.ipxe'), SCRIPT_MAX).toString('utf8');
  const line = script.split('\n').find((l) => /^\s*kernel\s/.test(l));
  if (!line) throw msg.serveNotImage(dir, 'its boot.ipxe has no kernel line');
  return line.trim().split(/\s+/).slice(2).join(' ');
}

function checked(image: string, line: string): string[] {
  const p = parseCmdline(line);
  if (!Array.isArray(p)) throw msg.serveImageCmdline(image, p.why);
  return p;
}

/** One member of the ISO written to `dest` through bsdtar, at most `max` bytes. */
async function extract(iso: string, member: string, dest: string, max: number): Promise<void> {
  const problem = await writeIsoMember(iso, member, dest, { max, timeoutMs: LIMITS.timeoutMs * 4 });
  if (problem?.kind === 'failed') throw msg.serveNotImage(iso, problem.detail);
  if (problem) throw msg.imageDamaged(iso, problem.detail);
}

/** What IMAGE is, refusing at once anything that is not a whole netboot directory or ISO. */
export function checkImage(image: string): 'netboot' | 'iso' {
  if (!existsSync(image)) throw msg.imageMissing(image);
  const st = statSync(image);
  if (st.isDirectory()) {
    try {
      checkBootable({ netboot: image });
    } catch (e) {
      if (isMvError(e)) throw msg.serveNotImage(image, e.problem.replace(/^.* cannot be booted: /, ''));
      throw e;
    }
    return 'netboot';
  }
  if (!st.isFile()) throw msg.serveNotImage(image, 'it is not a regular file or a directory');
  if (readHead(image, 0x8006).toString('latin1', 0x8001, 0x8006) !== 'CD001')
    throw msg.serveNotImage(image, 'it is a file without an ISO 9660 volume descriptor');
  const vol = isoVolume(image);
  if (typeof vol === 'string') throw msg.serveNotImage(image, vol);
  return 'iso';
}

/** The boot files of IMAGE; an ISO's are unpacked into `work`. */
export async function bootFiles(image: string, work: string): Promise<BootFiles> {
  const name = basename(resolve(image)).replace(/(-netboot|\.iso)$/, '');
  if (checkImage(image) === 'netboot') {
    return {
      name,
      vmlinuz: resolve(image, 'vmlinuz'),
      initrd: resolve(image, 'initrd.img'),
      params: checked(image, ipxeKernelParams(image)),
    };
  }
  requireTools('inspect');
  const grub = (await isoMember(image, 'boot/grub/grub.cfg', LIMITS.grubCfg)).toString('utf8');
  const linux = grub.match(/^\s*linux\s.*$/m)?.[0];
  if (!linux) throw msg.serveNotImage(image, 'its boot/grub/grub.cfg has no linux line (not made by mv-image)');
  const vmlinuz = join(work, 'vmlinuz'),
    initrd = join(work, 'initrd.img');
  await extract(image, 'boot/vmlinuz', vmlinuz, LIMITS.kernel);
  await extract(image, 'boot/initrd.img', initrd, LIMITS.initrd);
  if (readHead(vmlinuz, 0x206).toString('latin1', 0x202, 0x206) !== 'HdrS')
    throw msg.serveNotImage(image, 'its boot/vmlinuz is not a Linux kernel (bzImage)');
  return { name, vmlinuz, initrd, params: checked(image, grubLinuxCmdline(linux)) };
}
