// The one QEMU harness: boots an ISO or a kernel + initramfs, streams the serial console, feeds
// it input, and turns the guest's "MV-EXIT <status>" line into a result. QEMU is always killed:
// on timeout, on a kernel panic, on our own exit or a signal, and when the caller aborts.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  constants,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  closeSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { isStopping } from '../lib/lifecycle';
import { msg } from '../lib/messages';
import { requireTools, which } from '../lib/hosttools';
import type { ControlSockets } from './control';

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  iso?: string;
  /** A netboot bundle directory: iPXE in QEMU's NIC ROM fetches boot.ipxe from QEMU's own
   *  built-in TFTP server (user-mode networking, nothing leaves the QEMU process). */
  netboot?: string;
  /** PXE boot from a tap in a network namespace (mv-image cluster run): the firmware's own
   *  network boot, SeaBIOS's iPXE option ROM or (with uefi) OVMF's PXE, not QEMU's TFTP. QEMU runs
   *  inside the namespace and is killed when we die (setpriv --pdeathsig). */
  pxe?: { netns: string; tap: string; mac: string };
  kernel?: string;
  initrd?: string;
  append?: string;
  uefi?: boolean;
  accel?: Accel;
  /** Extra -cpu flags after the model, e.g. "-svm" to hide nested virtualization. */
  cpuFlags?: string;
  memMiB?: number;
  cpus?: number;
  /** TCG with several CPUs: one host thread for all (default, see qemuArgs) or one per CPU
   *  ("multi": what a measurement needs whose two sides run on two CPUs at once). */
  tcgThreads?: 'single' | 'multi';
  timeoutMs?: number;
  /** Every serial line, as it arrives. */
  onLine?: (line: string) => void;
  /** The serial output as it arrives, partial lines included (prompts, echo of typed input). */
  onOutput?: (text: string) => void;
  /** Bytes for the guest's console (what a user types). They are held until init prints
   *  "MV-TTY", when the program owns the terminal, then written in order; end of the stream
   *  is not passed on (a serial line has none: type Ctrl-D for end of input). */
  input?: Readable;
  /** Aborting it kills QEMU; boot() then fails with stoppedFromHost (exit 130) unless the
   *  guest already printed MV-EXIT. */
  signal?: AbortSignal;
  /** Where the serial log is written (default: a temp file, removed on success). */
  logPath?: string;
  /** The unix sockets of the control channel to init (mv-image run --gdb/--profile): QEMU's PCI
   *  serial cards at 00:1e.0 (control) and 00:1f.0 (gdb), see control.ts. */
  control?: ControlSockets;
}

export interface BootResult {
  status: number;
  output: string;
  logPath: string;
  ms: number;
  /** QEMU ended by itself after MV-EXIT (init powered off), rather than being killed after a grace period. */
  poweredOff: boolean;
}

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
  const killAll = () => {
    for (const c of live) c.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // When src/lib/lifecycle.ts handles the signal (cluster run), it ends the run and exits.
    process.on(sig, () => {
      killAll();
      if (!isStopping()) process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A value inside a QEMU option list (`-drive file=...,media=...`): QEMU reads a comma as the end
 *  of the value unless it is doubled. Paths are made absolute, so that none reads as a protocol
 *  prefix ("nbd:", "json:"). */
export function qemuValue(s: string): string {
  return s.replace(/,/g, ',,');
}
const qemuPath = (p: string) => qemuValue(resolve(p));

/** `serial` is the base path of QEMU's pipe chardev: it writes <serial>.out and reads <serial>.in
 *  (the `pipe:` form takes the rest of the word as the path, commas included: not escaped). */
export function qemuArgs(o: BootOptions, scratch: string, serial: string): string[] {
  const accel = o.accel ?? 'tcg';
  const cpus = o.cpus ?? 2;
  const args = [
    // Multi-threaded TCG (QEMU 7.2) now and then keeps running a stale translation of kernel text
    // that another vCPU live-patched (a static key: KVM flips some when a VM comes or goes), and
    // the guest freezes. One TCG thread for all vCPUs cannot race that way, and costs little
    // here: the ROS and HRT CPUs are rarely busy at once (hvm/README.md, "Known problems").
    '-accel',
    accel === 'tcg' && cpus > 1 ? `tcg,thread=${o.tcgThreads ?? 'single'}` : accel,
    '-cpu',
    (accel === 'kvm' ? 'host' : 'max') + (o.cpuFlags ? `,${o.cpuFlags}` : ''),
    '-smp',
    String(cpus),
    '-m',
    String(o.memMiB ?? 2048),
    '-display',
    'none',
    '-vga',
    'std',
    // The console goes to a file that we tail, not to a pipe: QEMU's 16550 drops a byte after a
    // few EAGAINs from its chardev, which a busy reader of a pipe can cause; a file never blocks.
    // A "pipe" chardev because, unlike "file", it also takes input on the command line: it opens
    // <serial>.out (a link to the log file, so output is written exactly as with file:) and
    // <serial>.in (a FIFO for input), see serialPort().
    '-serial',
    `pipe:${serial}`,
    '-monitor',
    'none',
    '-no-reboot',
  ];
  if (o.netboot) args.push('-boot', 'n', '-nic', `user,model=virtio-net-pci,tftp=${qemuPath(o.netboot)},bootfile=boot.ipxe`);
  else if (o.pxe) {
    // Under OVMF no option ROM: its own virtio-net driver and PXE fetch ipxe.efi over TFTP.
    args.push(
      '-boot',
      'n',
      '-netdev',
      `tap,id=pxe,ifname=${qemuValue(o.pxe.tap)},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=pxe,mac=${o.pxe.mac},bootindex=1${o.uefi ? ',romfile=' : ''}`,
    );
  } else args.push('-nic', 'none');
  if (o.uefi) {
    if (!existsSync(OVMF_CODE) || !existsSync(OVMF_VARS)) throw msg.ovmfMissing();
    const vars = join(scratch, 'OVMF_VARS.fd');
    copyFileSync(OVMF_VARS, vars);
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${qemuPath(OVMF_CODE)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${qemuPath(vars)}`,
    );
  }
  if (o.iso) args.push('-drive', `file=${qemuPath(o.iso)},media=cdrom,readonly=on,format=raw`, '-boot', 'd');
  // Fixed slots: init finds the cards there (templates/init.ejs) and nowhere else.
  if (o.control) args.push('-chardev', `socket,id=mvctl,path=${qemuPath(o.control.ctl)}`, '-device', 'pci-serial,chardev=mvctl,addr=1e');
  if (o.control?.gdb)
    args.push('-chardev', `socket,id=mvgdb,path=${qemuPath(o.control.gdb)}`, '-device', 'pci-serial,chardev=mvgdb,addr=1f');
  if (o.kernel) args.push('-kernel', o.kernel);
  if (o.initrd) args.push('-initrd', o.initrd);
  if (o.kernel) args.push('-append', o.append ?? 'console=ttyS0,115200');
  return args;
}

export async function boot(o: BootOptions): Promise<BootResult> {
  requireTools('run');
  if (o.iso && !existsSync(o.iso)) throw msg.imageMissing(o.iso);
  if (o.signal?.aborted) throw msg.stoppedFromHost();
  const scratch = mkdtempSync(join(tmpdir(), 'mv-qemu-'));
  const logPath = o.logPath ?? join(scratch, 'serial.log');
  writeFileSync(logPath, '');
  let port: SerialPort;
  try {
    port = serialPort(scratch, logPath);
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  const t0 = Date.now();
  const [cmd, ...pre] = o.pxe
    ? [...(which('setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []), 'ip', 'netns', 'exec', o.pxe.netns, 'qemu-system-x86_64']
    : ['qemu-system-x86_64'];
  const child = spawn(cmd, [...pre, ...qemuArgs(o, scratch, port.base)], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let output = '',
    stderr = '',
    pending = '';
  let status: number | undefined,
    panic = false,
    timedOut = false,
    stopped = false,
    killed = false;
  let grace: NodeJS.Timeout | undefined;
  const kill = () => {
    killed = true;
    child.kill('SIGKILL');
  };
  const timeout = setTimeout(() => {
    timedOut = true;
    kill();
  }, o.timeoutMs ?? 300_000);
  const onAbort = () => {
    stopped = true;
    kill();
  };
  o.signal?.addEventListener('abort', onAbort);
  const onInput = (b: Buffer | string) => port.input.send(Buffer.from(b));
  o.input?.on('data', onInput);

  const serial = tail(logPath, (s) => {
    output += s;
    o.onOutput?.(s);
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      o.onLine?.(line);
      if (/^MV-TTY /.test(line)) port.input.open();
      const m = line.match(/^MV-EXIT (\d+)\s*$/);
      if (m && status === undefined) {
        status = Number(m[1]);
        grace = setTimeout(kill, POWEROFF_GRACE_MS);
      }
      if (/Kernel panic - not syncing/.test(line)) {
        panic = true;
        grace ??= setTimeout(kill, 2000);
      }
    }
  });
  child.stdout!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const code: number | null = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timeout);
  if (grace) clearTimeout(grace);
  o.signal?.removeEventListener('abort', onAbort);
  o.input?.off('data', onInput);
  port.input.close();
  serial.stop();
  if (pending) o.onLine?.(pending);
  const ms = Date.now() - t0;
  const keepLog = () => {
    if (!o.logPath) {
      const kept = join(tmpdir(), `mv-serial-${Date.now()}.log`);
      copyFileSync(logPath, kept);
      return kept;
    }
    return logPath;
  };
  try {
    if (status !== undefined) return { status, output, logPath: o.logPath ?? '', ms, poweredOff: !killed };
    if (stopped) throw msg.stoppedFromHost();
    if (panic) throw msg.kernelPanic(keepLog());
    if (timedOut) throw msg.bootTimeout(Math.round((o.timeoutMs ?? 300_000) / 1000), keepLog());
    // QEMU's own complaint if it made one; else the guest stopped by itself (a power-off or, with
    // -no-reboot, a reset) before MV-EXIT, and only the serial log can say why.
    const reason = stderr.trim().split('\n').pop() || 'the guest powered off or reset without printing MV-EXIT';
    throw msg.qemuFailed(code, reason, keepLog(), lastLines(output, 20));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The last `n` non-empty lines of the console, for an error's details. */
function lastLines(output: string, n: number): string {
  const lines = output.split('\n').filter((l) => l.trim());
  // Control characters (a guest's terminal escapes) are shown, not sent to the user's terminal.
  const shown = lines.slice(-n).map((l) => `  ${l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')}`);
  return lines.length ? ['last lines of the serial log:', ...shown].join('\n') : 'the serial log is empty';
}

interface SerialPort {
  base: string;
  input: ConsoleInput;
}

/** QEMU's pipe chardev opens <base>.out and <base>.in. .out links to the log, a regular file, so
 *  output never blocks; .in is a FIFO that we open read-write, which neither blocks (no reader
 *  needed yet) nor ever shows QEMU an end of input. */
function serialPort(scratch: string, logPath: string): SerialPort {
  const base = join(scratch, 'serial');
  symlinkSync(resolve(logPath), `${base}.out`);
  const r = spawnSync('mkfifo', [`${base}.in`], { encoding: 'utf8' });
  if (r.status !== 0) throw msg.serialFifo(`${base}.in`, (r.stderr || String(r.error)).trim());
  return { base, input: new ConsoleInput(openSync(`${base}.in`, constants.O_RDWR | constants.O_NONBLOCK)) };
}

/** Input for the guest's console, written to the serial FIFO without ever blocking the event
 *  loop (a guest that does not read fills the FIFO). Held until open(): before init prints
 *  MV-TTY no program owns the terminal, and the tty discards a Ctrl-C together with the
 *  input typed before it. */
class ConsoleInput {
  private held: Buffer[] = [];
  private isOpen = false;
  private retry?: NodeJS.Timeout;
  constructor(private fd: number) {}

  send(bytes: Buffer): void {
    if (bytes.length) {
      this.held.push(bytes);
      this.flush();
    }
  }
  open(): void {
    this.isOpen = true;
    this.flush();
  }
  close(): void {
    clearTimeout(this.retry);
    closeSync(this.fd);
    this.fd = -1;
    this.held = [];
  }

  private flush(): void {
    if (this.retry) return; // a full FIFO: the timer writes the rest, in order
    while (this.isOpen && this.fd >= 0 && this.held.length) {
      const n = this.write(this.held[0]);
      if (n < this.held[0].length) {
        this.held[0] = this.held[0].subarray(n);
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.flush();
        }, 20);
        return;
      }
      this.held.shift();
    }
  }

  private write(bytes: Buffer): number {
    try {
      return writeSync(this.fd, bytes);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
      throw e;
    }
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
  return {
    stop: () => {
      clearInterval(timer);
      poll();
      closeSync(fd);
    },
  };
}

/** KVM is used only when /dev/kvm opens AND a real kernel boots under it (the emulator here
 *  opens fine but hangs on a full PC), so `auto` means a short probe boot. */
export async function probeKvm(kernel: string): Promise<boolean> {
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch {
    return false;
  }
  const child = spawn(
    'qemu-system-x86_64',
    [
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-no-reboot',
      '-nic',
      'none',
      '-kernel',
      kernel,
      '-append',
      'console=ttyS0 panic=-1',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  killOnExit(child);
  return new Promise((resolve) => {
    let out = '';
    const done = (ok: boolean) => {
      clearTimeout(t);
      child.kill('SIGKILL');
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 20_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (/Linux version|Kernel panic/.test(out)) done(true);
    });
    child.on('close', () => done(false));
  });
}
