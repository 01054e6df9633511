// `mv-image run`: check the image, pick an accelerator and boot it with the shared QEMU harness.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isoVolume, readAt } from './lib/iso9660';
import { trackPath } from './lib/lifecycle';
import { msg } from './lib/messages';
import { writeIsoMember } from './lib/bsdtar';
import { LIMITS } from './inspect';
import { Accel, boot, BootOptions, BootResult, probeKvm } from './harness/qemu';
import { ControlChannel } from './harness/control';
import { debugResult, DebugOptions, MAX_PROFILE, prepareProfileDir, programForGdb, SavedProfile } from './debug';

export const ACCELS = ['auto', 'kvm', 'tcg'] as const;

export interface RunOptions extends Omit<BootOptions, 'accel' | 'control'> {
  accel?: (typeof ACCELS)[number];
  /** --gdb / --profile (src/debug.ts). */
  debug?: DebugOptions;
  /** Called when the guest's end of the gdb channel is open: a debugger may connect. `program`
   *  is the image's program copied out for gdb, when it could be. */
  onGdbReady?: (program: string | undefined) => void;
}

export interface RunResult extends BootResult {
  accel: Accel;
  profile?: SavedProfile;
}

/** `auto` is KVM when a probe boot of the image's own kernel starts under it. Only the image is
 *  read: `run` builds and fetches nothing (it probed with the kernel stage's Debian kernel
 *  before, which fetched it when it was not cached). A kernel that cannot be read out (an ISO
 *  without bsdtar on the host) proves nothing: TCG. */
export async function chooseAccel(want: (typeof ACCELS)[number], image: Pick<BootOptions, 'iso' | 'netboot'> = {}): Promise<Accel> {
  if (want !== 'auto') return want;
  if (!existsSync('/dev/kvm')) return 'tcg';
  if (image.netboot) return (await probeKvm(join(image.netboot, 'vmlinuz'))) ? 'kvm' : 'tcg';
  if (!image.iso) return 'tcg';
  const dir = mkdtempSync(join(tmpdir(), 'mv-probe-'));
  const untrack = trackPath(dir);
  try {
    const vmlinuz = join(dir, 'vmlinuz');
    // Read whole (null problem), or not at all: bsdtar missing, a damaged ISO, over the bound.
    const whole = await writeIsoMember(image.iso, 'boot/vmlinuz', vmlinuz, { max: LIMITS.kernel, timeoutMs: LIMITS.timeoutMs }).then(
      (problem) => !problem,
      () => false,
    );
    if (!whole) return 'tcg';
    return (await probeKvm(vmlinuz)) ? 'kvm' : 'tcg';
  } finally {
    rmSync(dir, { recursive: true, force: true });
    untrack();
  }
}

/** Why a netboot file is not what `build --format netboot` writes, or undefined. */
function netbootFileProblem(dir: string, name: string, magic: { at: number; text: string } | undefined): string | undefined {
  const p = join(dir, name);
  if (!existsSync(p) || !statSync(p).isFile()) return `it has no ${name}`;
  if (!magic) return statSync(p).size ? undefined : `its ${name} is empty`;
  const fd = openSync(p, 'r');
  try {
    if (readAt(fd, magic.at, magic.text.length).toString('latin1') !== magic.text)
      return `its ${name} is not ${name === 'vmlinuz' ? 'a Linux kernel (bzImage)' : 'an iPXE script'}`;
  } finally {
    closeSync(fd);
  }
  return undefined;
}

/** Refuses at once what cannot boot, rather than letting the firmware wait for the timeout:
 *  an ISO must be whole (its volume size) and carry an El Torito boot record; a netboot
 *  directory must hold the iPXE script, a bzImage and an initramfs. */
export function checkBootable(o: Pick<BootOptions, 'iso' | 'netboot'>): void {
  const path = o.iso ?? o.netboot;
  if (!path) return;
  if (!existsSync(path)) throw msg.imageMissing(path);
  const st = statSync(path);
  if (o.netboot) {
    const why =
      netbootFileProblem(path, 'boot.ipxe', { at: 0, text: '#!ipxe' }) ??
      netbootFileProblem(path, 'vmlinuz', { at: 0x202, text: 'HdrS' }) ??
      netbootFileProblem(path, 'initrd.img', undefined);
    if (why) throw msg.notBootable(path, why);
    return;
  }
  if (!st.isFile()) throw msg.notBootable(path, 'it is not a regular file');
  const vol = isoVolume(path);
  if (typeof vol === 'string') throw msg.notBootable(path, vol);
  if (!vol.bootable) throw msg.notBootable(path, 'the ISO has no El Torito boot record');
}

export async function runImage(o: RunOptions): Promise<RunResult> {
  checkBootable(o);
  const { debug = {} } = o;
  if (debug.profileDir) prepareProfileDir(debug.profileDir);
  // The channel first: a gdb port in use is an error before a probe boot or a copy.
  const wanted = debug.gdbPort !== undefined || debug.profileDir !== undefined;
  let program: string | undefined;
  const ctl = wanted
    ? await ControlChannel.open({ gdbPort: debug.gdbPort, profileHz: debug.profileDir ? debug.profileHz : undefined }, MAX_PROFILE, {
        gdbReady: () => o.onGdbReady?.(program),
      })
    : undefined;
  let r: BootResult & { accel: Accel };
  try {
    const accel = await chooseAccel(o.accel ?? 'auto', o);
    if (debug.gdbPort !== undefined) program = await programForGdb((o.iso ?? o.netboot)!);
    r = { ...(await boot({ ...o, accel, control: ctl?.sockets })), accel };
  } catch (e) {
    ctl?.close();
    throw e;
  }
  if (!ctl) return r;
  const profile = await debugResult(await ctl.finish(), debug, (o.iso ?? o.netboot)!);
  return profile ? { ...r, profile } : r;
}
