// Output formats, one table: name -> how to write the image from the kernel and initramfs.
// `build --format` takes its choices and help from here.
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Runner } from './builder/runner';
import { msg } from './lib/messages';
import type { Progress } from './lib/progress';
import { render } from './lib/templates';
import { ipxeArgs } from './lib/cmdline';
import { runStage } from './lib/stage';
import { isoStage } from './stages/iso';

export interface FormatInputs {
  name: string;
  vmlinuz: string;
  initrd: string;
  cmdline: string;
  sourceDateEpoch: number;
  runner: Runner;
  progress: Progress;
}

export interface Format {
  summary: string;
  /** The default output path under images/. */
  defaultOutput: (name: string) => string;
  /** Writes the image at `output`, whole or not at all. */
  write: (i: FormatInputs, output: string) => Promise<void>;
}

export const FORMATS = {
  iso: {
    summary: 'one hybrid ISO (SeaBIOS and UEFI; CD, disk or USB stick) made by grub-mkrescue',
    defaultOutput: (name: string) => `${name}.iso`,
    write: async (i: FormatInputs, output: string) => {
      const iso = await runStage(i.progress, isoStage, {
        title: `${i.name} (mv-image)`,
        vmlinuz: i.vmlinuz,
        initrd: i.initrd,
        cmdline: i.cmdline,
        sourceDateEpoch: i.sourceDateEpoch,
        runner: i.runner,
      });
      publish(iso.path, output);
    },
  },
  netboot: {
    summary: 'a directory with vmlinuz, initrd.img and an iPXE script, for cluster provisioning',
    defaultOutput: (name: string) => `${name}-netboot`,
    write: async (i: FormatInputs, output: string) => {
      publishDir(output, (tmp) => {
        copyFileSync(i.vmlinuz, join(tmp, 'vmlinuz'));
        copyFileSync(i.initrd, join(tmp, 'initrd.img'));
        writeFileSync(join(tmp, 'boot.ipxe'), render('boot.ipxe.ejs', { name: i.name, args: ipxeArgs(i.cmdline) }));
      });
    },
  },
} satisfies Record<string, Format>;

export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

/** Copies an artefact to its final path through a temporary file, so no half-written image is left. */
export function publish(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${Date.now()}-${process.pid}.partial`);
  try {
    copyFileSync(src, tmp);
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw msg.diskFull(dest);
    throw e;
  }
}

/** The same for a directory: filled in a temporary sibling, then renamed over the old one. */
function publishDir(dest: string, fill: (tmp: string) => void): void {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${Date.now()}-${process.pid}.partial`);
  try {
    mkdirSync(tmp);
    fill(tmp);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw msg.diskFull(dest);
    throw e;
  }
}
