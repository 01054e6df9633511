// Runs a shell script inside a booted ROS guest (Debian's kernel + our initramfs + the KVM
// modules) under QEMU TCG, where TCG's emulated SVM lets kvm_amd create /dev/kvm. The image
// tests and the HRT tests share this: the pipeline makes the guest (src/pipeline.ts rosGuest)
// from the same kernel stage, init and initramfs (with the toolchain's tools for init) as an image.
import { readFileSync, statSync } from 'node:fs';
import { readElf } from '../lib/elf';
import { sharedLibraries } from '../lib/ldd';
import { Progress } from '../lib/progress';
import { rosGuest } from '../pipeline';
import type { ImageFile } from '../stages/package';
import { boot, BootResult } from './qemu';

export interface GuestFile {
  src: string;
  dest: string;
  mode?: number;
}

export interface GuestRun {
  files: GuestFile[];
  /** A /bin/sh script; its exit status becomes `status`. */
  script: string;
  timeoutMs?: number;
  memMiB?: number;
  cpus?: number;
  /** Extra -cpu flags, e.g. "-svm" for a guest without nested virtualization. */
  cpuFlags?: string;
  /** TCG threads with several CPUs (BootOptions.tcgThreads). */
  tcgThreads?: 'single' | 'multi';
  onLine?: (line: string) => void;
}

export interface GuestResult {
  output: string;
  status: number | null;
  logPath: string;
  ms: number;
}

const SCRIPT = '/mv/run.sh';

/** The guest files plus, for dynamic ELF programs, their shared libraries. */
function withLibraries(files: GuestFile[]): ImageFile[] {
  const out = new Map<string, ImageFile>();
  for (const f of files) {
    const mode = f.mode ?? statSync(f.src).mode & 0o777;
    out.set(f.dest, { dest: f.dest, src: f.src, mode });
    const head = readFileSync(f.src);
    let interp: string | undefined;
    try {
      interp = readElf(head).interp;
    } catch {
      /* not an ELF: copied as is */
    }
    if (interp) for (const lib of sharedLibraries(f.src)) out.set(lib, { dest: lib, src: lib, mode: 0o755 });
  }
  return [...out.values()];
}

export async function runInGuest(r: GuestRun): Promise<GuestResult> {
  const { kernel, initrd } = await rosGuest(Progress.quiet(), {
    argv: ['/bin/sh', SCRIPT],
    files: withLibraries(r.files),
    extra: [{ dest: SCRIPT, data: Buffer.from(r.script), mode: 0o755 }],
  });
  // What the guest printed so far: a run that times out or dies still shows how far it got,
  // so a caller that frames several cases (test/hvm/run-all.sh) keeps the ones that finished.
  let printed = '';
  let res: BootResult;
  try {
    res = await boot({
      kernel: kernel.vmlinuz,
      initrd: initrd.path,
      append: 'console=ttyS0,115200 panic=-1 quiet',
      accel: 'tcg',
      cpus: r.cpus ?? 2,
      memMiB: r.memMiB ?? 2048,
      cpuFlags: r.cpuFlags,
      tcgThreads: r.tcgThreads,
      timeoutMs: r.timeoutMs ?? 300_000,
      onLine: r.onLine,
      onOutput: (text) => {
        printed += text;
      },
    });
  } catch (e) {
    return { output: `${printed}\n${(e as Error).message}`, status: null, logPath: '', ms: 0 };
  }
  return { output: res.output, status: res.status, logPath: res.logPath, ms: res.ms };
}
