// The one QEMU harness: boots an ISO or a kernel + initramfs, streams the serial console, and
// turns the guest's "MV-EXIT <status>" line into a result. QEMU is always killed: on timeout,
// on a kernel panic, on our own exit and on Ctrl-C.
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openSync, closeSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msg } from '../lib/messages';
import { requireTools } from '../lib/hosttools';

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  iso?: string;
  /** A netboot bundle directory: iPXE in QEMU's NIC ROM fetches boot.ipxe from QEMU's own
   *  built-in TFTP server (user-mode networking, nothing leaves the QEMU process). */
  netboot?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  uefi?: boolean;
  accel?: Accel;
  /** Extra -cpu flags after the model, e.g. "-svm" to hide nested virtualization. */
  cpuFlags?: string;
  memMiB?: number;
  cpus?: number;
  timeoutMs?: number;
  /** Every serial line, as it arrives. */
  onLine?: (line: string) => void;
  /** Where the serial log is written (default: a temp file, removed on success). */
  logPath?: string;
}

export interface BootResult { status: number; output: string; logPath: string; ms: number }

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** After MV-EXIT the guest powers off by itself; give it this long before QEMU is killed. */
const POWEROFF_GRACE_MS = 15_000;

const live = new Set<ChildProcess>();
let hooked = false;
function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.on('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  const killAll = () => { for (const c of live) c.kill('SIGKILL'); };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => { killAll(); process.exit(sig === 'SIGINT' ? 130 : 143); });
  }
}

export function qemuArgs(o: BootOptions, scratch: string, serialLog: string): string[] {
  const accel = o.accel ?? 'tcg';
  const args = [
    '-accel', accel,
    '-cpu', (accel === 'kvm' ? 'host' : 'max') + (o.cpuFlags ? `,${o.cpuFlags}` : ''),
    '-smp', String(o.cpus ?? 2),
    '-m', String(o.memMiB ?? 2048),
    '-display', 'none', '-vga', 'std',
    // The console goes to a file that we tail, not to a pipe: QEMU's 16550 drops a byte after a
    // few EAGAINs from its chardev, which a busy reader of a pipe can cause; a file never blocks.
    '-serial', `file:${serialLog}`, '-monitor', 'none',
    '-no-reboot',
  ];
  if (o.netboot) args.push('-boot', 'n', '-nic', `user,model=virtio-net-pci,tftp=${o.netboot},bootfile=boot.ipxe`);
  else args.push('-nic', 'none');
  if (o.uefi) {
    if (!existsSync(OVMF_CODE) || !existsSync(OVMF_VARS)) throw msg.ovmfMissing();
    const vars = join(scratch, 'OVMF_VARS.fd');
    copyFileSync(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  if (o.iso) args.push('-drive', `file=${o.iso},media=cdrom,readonly=on,format=raw`, '-boot', 'd');
  if (o.kernel) args.push('-kernel', o.kernel);
  if (o.initrd) args.push('-initrd', o.initrd);
  if (o.kernel) args.push('-append', o.append ?? 'console=ttyS0,115200');
  return args;
}

export async function boot(o: BootOptions): Promise<BootResult> {
  requireTools('run');
  if (o.iso && !existsSync(o.iso)) throw msg.imageMissing(o.iso);
  const scratch = mkdtempSync(join(tmpdir(), 'mv-qemu-'));
  const logPath = o.logPath ?? join(scratch, 'serial.log');
  writeFileSync(logPath, '');
  const t0 = Date.now();
  const child = spawn('qemu-system-x86_64', qemuArgs(o, scratch, logPath), { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let output = '', stderr = '', pending = '';
  let status: number | undefined, panic = false, timedOut = false;
  let grace: NodeJS.Timeout | undefined;
  const timeout = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeoutMs ?? 300_000);

  const serial = tail(logPath, (s) => {
    output += s;
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      o.onLine?.(line);
      const m = line.match(/^MV-EXIT (\d+)\s*$/);
      if (m && status === undefined) {
        status = Number(m[1]);
        grace = setTimeout(() => child.kill('SIGKILL'), POWEROFF_GRACE_MS);
      }
      if (/Kernel panic - not syncing/.test(line)) { panic = true; grace ??= setTimeout(() => child.kill('SIGKILL'), 2000); }
    }
  });
  child.stdout!.on('data', (b: Buffer) => { stderr += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const code: number | null = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timeout);
  if (grace) clearTimeout(grace);
  serial.stop();
  if (pending) o.onLine?.(pending);
  const ms = Date.now() - t0;
  const keepLog = () => { if (!o.logPath) { const kept = join(tmpdir(), `mv-serial-${Date.now()}.log`); copyFileSync(logPath, kept); return kept; } return logPath; };
  try {
    if (status !== undefined) return { status, output, logPath: o.logPath ?? '', ms };
    if (panic) throw msg.kernelPanic(keepLog());
    if (timedOut) throw msg.bootTimeout(Math.round((o.timeoutMs ?? 300_000) / 1000), keepLog());
    throw msg.qemuFailed(code, stderr || output.split('\n').slice(-3).join(' '));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Follows a growing file, handing each new chunk (CRs dropped) to `onText`; stop() reads the rest. */
function tail(path: string, onText: (s: string) => void): { stop: () => void } {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(65536);
  let pos = 0;
  const decoder = new StringDecoder('utf8');
  const poll = () => {
    for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) onText(decoder.write(buf.subarray(0, n)).replace(/\r/g, ''));
  };
  const timer = setInterval(poll, 50);
  return { stop: () => { clearInterval(timer); poll(); closeSync(fd); } };
}

/** KVM is used only when /dev/kvm opens AND a real kernel boots under it (the emulator here
 *  opens fine but hangs on a full PC), so `auto` means a short probe boot. */
export async function probeKvm(kernel: string): Promise<boolean> {
  try { closeSync(openSync('/dev/kvm', 'r+')); } catch { return false; }
  const child = spawn('qemu-system-x86_64', ['-accel', 'kvm', '-cpu', 'host', '-m', '256', '-display', 'none', '-serial', 'stdio',
    '-monitor', 'none', '-no-reboot', '-nic', 'none', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  killOnExit(child);
  return new Promise((resolve) => {
    let out = '';
    const done = (ok: boolean) => { clearTimeout(t); child.kill('SIGKILL'); resolve(ok); };
    const t = setTimeout(() => done(false), 20_000);
    child.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (/Linux version|Kernel panic/.test(out)) done(true); });
    child.on('close', () => done(false));
  });
}
