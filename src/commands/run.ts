import { Args, Flags } from '@oclif/core';
import { MvCommand } from '../lib/base-command';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { msg } from '../lib/messages';
import { runImage, ACCELS } from '../run';
import { debugOptions } from '../debug';
import { shq } from '../lib/shell';
import { attachTerminal, ESCAPE_HELP } from '../harness/terminal';

// No SVM/VMX for the guest. la57 goes too: QEMU 7.2 TCG with `max,-svm` and 5-level paging
// returns a garbage readlink("/proc/self/exe") in the guest, and static busybox aborts in
// _dl_get_origin (measured: "-svm,-vmx" fails, "-svm,-vmx,-la57" boots cleanly).
const NO_NESTED_CPU = '-svm,-vmx,-la57';

export default class Run extends MvCommand {
  static override summary = "Boot an image under QEMU, stream its serial console and exit with the program's status";
  static override description = `Boots the ISO (SeaBIOS, or OVMF with --uefi) and prints the serial console as it comes.
The exit status is the program's MV-EXIT status; 124 on timeout, 125 on a kernel panic,
126 when QEMU fails. QEMU is always killed when mv-image exits.
--accel auto uses KVM only if /dev/kvm works for a real kernel (a short probe boot), else TCG.

Input: what you type goes to the guest's console. The program runs there as the foreground job of the console tty, as on a Linux console: it reads the lines you type, Ctrl-C sends it SIGINT (MV-EXIT 130), Ctrl-\\ SIGQUIT, Ctrl-D ends its input. Input is held until init prints MV-TTY (the program owns the terminal), so keys typed during the boot are not lost.

On a terminal, stdin is in raw mode for the run, so Ctrl-C goes to the guest program, not to mv-image. The escape is QEMU's: ${ESCAPE_HELP}. Stopping the VM with Ctrl-A x exits with status 130.

Piped stdin is forwarded as it comes, with no escape (e.g. printf 'x\\003' | mv-image run IMAGE). Its end is not an end of file in the guest, as a serial line has none: send Ctrl-D (\\004) for that.

Debugging and profiling: --gdb PORT starts the program stopped at main in the HRT; mv-image copies the image's program out and prints the gdb command that debugs it through 127.0.0.1:PORT. --profile DIR samples the program in the HRT (--profile-hz, default 999) and writes DIR/profile.folded and the flame graph DIR/profile.svg. Both reach the guest's init through a control channel (a QEMU PCI serial card); an image built before it existed is refused after the run with a line saying to rebuild it.`;
  static override examples = [
    '<%= config.bin %> run images/hello.iso',
    '<%= config.bin %> run images/hello.iso --uefi --timeout 120',
    {
      description: 'Type a line into the program from a pipe, then end its input:',
      command: "printf 'hi\\r\\004' | <%= config.bin %> run images/echo.iso",
    },
    {
      description: 'Debug main in the HRT with gdb (run the gdb line it prints in another terminal):',
      command: '<%= config.bin %> run images/hello.iso --gdb 1234',
    },
    { description: 'Profile the program and draw a flame graph:', command: '<%= config.bin %> run images/hello.iso --profile prof/' },
  ];
  static override args = {
    image: Args.string({ description: 'the ISO, or a netboot bundle directory (build --format netboot), to boot', required: true }),
  };
  static override flags = {
    uefi: Flags.boolean({ description: 'boot with OVMF (UEFI) instead of SeaBIOS' }),
    accel: Flags.option({ description: 'QEMU accelerator', options: ACCELS, default: 'auto' as const })(),
    timeout: Flags.integer({
      description: 'seconds to wait for MV-EXIT (default 300; none with --gdb, a session lasts what it lasts)',
      min: 1,
    }),
    memory: Flags.integer({ description: 'guest memory in MiB', default: 2048, min: 256 }),
    cpus: Flags.integer({ description: 'guest CPUs', default: 2, min: 1 }),
    log: Flags.string({ description: 'also write the serial console to this file' }),
    quiet: Flags.boolean({ char: 'q', description: 'do not stream the console; print only the MV-EXIT status line' }),
    'no-nested': Flags.boolean({ description: 'hide SVM/VMX from the guest, so it has no usable KVM (shows the native fallback)' }),
    gdb: Flags.string({
      description:
        'start the program stopped at main and let gdb debug it in the HRT through host port PORT on 127.0.0.1 (target remote :PORT)',
      helpValue: 'PORT',
    }),
    profile: Flags.string({
      description: 'profile the program in the HRT (MV_PROFILE) and write DIR/profile.folded and DIR/profile.svg',
      helpValue: 'DIR',
    }),
    'profile-hz': Flags.string({ description: 'samples per second with --profile, 1 to 10000 (default 999)', helpValue: 'N' }),
  };

  async run() {
    const { args, flags } = await this.parse(Run);
    if (!existsSync(args.image)) throw msg.imageMissing(args.image);
    const debug = debugOptions({ gdb: flags.gdb, profile: flags.profile, profileHz: flags['profile-hz'] });
    const netboot = statSync(args.image).isDirectory();
    if (netboot && !existsSync(join(args.image, 'boot.ipxe'))) throw msg.notNetboot(args.image);
    const term = attachTerminal(process.stdin, process.stderr);
    const screen = flags.quiet ? undefined : streamTo(process.stdout);
    const r = await runImage({
      ...(netboot ? { netboot: resolve(args.image) } : { iso: args.image }),
      uefi: flags.uefi,
      accel: flags.accel,
      timeoutMs: (flags.timeout ?? (debug.gdbPort !== undefined ? NO_TIMEOUT_S : 300)) * 1000,
      debug,
      onGdbReady: (program) => gdbHint(debug.gdbPort!, program),
      memMiB: flags.memory,
      cpus: flags.cpus,
      logPath: flags.log,
      cpuFlags: flags['no-nested'] ? NO_NESTED_CPU : undefined,
      onOutput: screen?.write,
      input: term.input,
      signal: term.signal,
    }).finally(() => {
      term.detach();
      screen?.endLine();
    });
    if (flags.quiet) this.log(`MV-EXIT ${r.status}`);
    process.stderr.write(`mv-image: program exited with status ${r.status} (${(r.ms / 1000).toFixed(1)} s, accel ${r.accel})\n`);
    if (r.profile)
      process.stderr.write(`mv-image: profile: ${r.profile.samples} samples in ${r.profile.folded}, flame graph ${r.profile.svg}\n`);
    this.exit(r.status);
  }
}

/** --gdb with no --timeout: QEMU runs for as long as the session (setTimeout's limit, 24 days). */
const NO_TIMEOUT_S = 2_147_483;

function gdbHint(port: number, program: string | undefined): void {
  const prog = program ? shq(program) : "PROGRAM (the image's program: see mv-image inspect)";
  process.stderr.write(
    `mv-image: gdb: the program stops at main in the HRT; debug it with: gdb ${prog} -ex 'target remote 127.0.0.1:${port}'\n`,
  );
}

/** Streams the console as it comes (prompts and echo are not whole lines), and ends a last
 *  partial line so that our own status line starts on a line of its own. */
function streamTo(out: NodeJS.WriteStream): { write: (s: string) => void; endLine: () => void } {
  let atLineStart = true;
  return {
    write: (s) => {
      if (s) {
        out.write(s);
        atLineStart = s.endsWith('\n');
      }
    },
    endLine: () => {
      if (!atLineStart) out.write('\n');
      atLineStart = true;
    },
  };
}
