// The host's end of the control channel to a booted image's init (mv-image run --gdb/--profile).
// The tuned kernel has no fw_cfg in sysfs and a booted ISO's command line is GRUB's, so settings
// cannot reach init that way; QEMU's PCI serial card (1b36:0002), which the 8250 driver built
// into both kernels drives, can, and init finds it in sysfs without waiting for anything:
//
//   00:1e.0  control: init -> "MV-CTL 1"; mv-image -> one settings line (MV_GDB=PORT
//            MV_PROFILE=1 MV_PROFILE_HZ=N); init -> "MV-CTL ready <what it took>"; after the
//            program, init -> "MV-PROFILE <bytes>\n<bytes>MV-PROFILE-END\n" or "MV-PROFILE none".
//   00:1f.0  gdb's bytes (only with --gdb): in the guest, busybox nc joins the card to libmv's stub
//            on 127.0.0.1:PORT; here, mv-image joins it to the one debugger that connects to
//            127.0.0.1:PORT, holding the debugger's bytes until init says the guest end is open.
//
// Each card's chardev is a unix socket mv-image listens on and QEMU connects to: mv-image owns the
// TCP port (one in use is an error before anything boots), and everything from the guest is read
// here, framed and bounded, never run.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msg } from '../lib/messages';

export interface ControlOptions {
  /** Host TCP port (on 127.0.0.1) for gdb; the guest's stub listens on the same number. */
  gdbPort?: number;
  /** Sample rate for MV_PROFILE; set means "profile". */
  profileHz?: number;
}

/** The unix sockets QEMU's two cards connect to (BootOptions.control). */
export interface ControlSockets {
  ctl: string;
  gdb?: string;
}

export interface ControlResult {
  /** What init took from the settings ("MV_PROFILE=... MV_GDB=..."); undefined: init never asked. */
  ready?: string;
  /** The profile's bytes; null when init said the program wrote none; undefined when none came. */
  profile?: Buffer | null;
  /** Why the channel's data could not be read (a broken frame). */
  problem?: string;
}

/** The one settings line mv-image sends (init accepts these keys with digits only). */
export function settingsLine(o: ControlOptions): string {
  const kv = [];
  if (o.gdbPort !== undefined) kv.push(`MV_GDB=${o.gdbPort}`);
  if (o.profileHz !== undefined) kv.push('MV_PROFILE=1', `MV_PROFILE_HZ=${o.profileHz}`);
  return `${kv.join(' ')}\n`;
}

const MAX_LINE = 256;

/** Reads what init sends on the control card: lines, and a profile framed by its size. */
export class ControlParser {
  readonly result: ControlResult = {};
  private buf: Buffer = Buffer.alloc(0);
  private body?: { size: number; parts: Buffer[]; got: number };
  /** The profile's bytes came; its MV-PROFILE-END line is next. */
  private expectEnd = false;
  /** init asked for the settings: from here on every line must be one of the protocol's. */
  private asked = false;

  constructor(
    private readonly maxProfile: number,
    private readonly on: { request?: () => void; ready?: (took: string) => void } = {},
  ) {}

  push(chunk: Buffer): void {
    if (this.result.problem) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.body) {
        const take = Math.min(this.body.size - this.body.got, this.buf.length);
        this.body.parts.push(this.buf.subarray(0, take));
        this.body.got += take;
        this.buf = this.buf.subarray(take);
        if (this.body.got < this.body.size) return;
        this.result.profile = Buffer.concat(this.body.parts);
        this.body = undefined;
        this.expectEnd = true;
        continue;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        // Before init asks, the card may carry a firmware's text (OVMF writes to the serial
        // ports it finds): kept short and skipped.
        if (!this.asked) this.buf = this.buf.subarray(-MAX_LINE);
        else if (this.buf.length > MAX_LINE) this.fail(`a line of over ${MAX_LINE} bytes`);
        return;
      }
      const line = this.buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      this.line(line);
      if (this.result.problem) return;
    }
  }

  /** The channel ended: a profile cut short is a problem. */
  end(): void {
    if (this.result.problem) return;
    if (this.body) this.fail(`the profile was cut short: ${this.body.got} of ${this.body.size} bytes came`);
    else if (this.expectEnd) this.fail('the profile came without its MV-PROFILE-END line');
  }

  private line(line: string): void {
    if (this.expectEnd) {
      if (line !== 'MV-PROFILE-END')
        return this.fail(`the profile was not followed by MV-PROFILE-END but by ${JSON.stringify(line.slice(0, 40))}`);
      this.expectEnd = false;
      return;
    }
    let m;
    if (line.endsWith('MV-CTL 1') && !this.asked) {
      this.asked = true;
      this.on.request?.();
    } else if (!this.asked) return;
    else if ((m = line.match(/^MV-CTL ready ?(.*)$/))) {
      this.result.ready = m[1].trim();
      this.on.ready?.(this.result.ready);
    } else if (line === 'MV-PROFILE none') this.result.profile = null;
    else if ((m = line.match(/^MV-PROFILE (\d{1,10})$/))) {
      const size = Number(m[1]);
      if (size > this.maxProfile) return this.fail(`a profile of ${size} bytes, over the ${this.maxProfile} taken`);
      this.body = { size, parts: [], got: 0 };
    } else if (line) this.fail(`an unknown line ${JSON.stringify(line.slice(0, 40))}`);
  }

  private fail(why: string): void {
    this.result.problem = why;
  }
}

/** Listens on a unix socket for QEMU's one connection. */
function unixServer(path: string, onConn: (s: Socket) => void): Promise<Server> {
  return new Promise((done, fail) => {
    const srv = createServer((s) => onConn(s));
    srv.once('error', fail);
    srv.listen(path, () => {
      srv.off('error', fail);
      done(srv);
    });
  });
}

function tcpServer(port: number, onConn: (s: Socket) => void): Promise<Server> {
  return new Promise((done, fail) => {
    const srv = createServer({ pauseOnConnect: true }, (s) => onConn(s));
    srv.once('error', (e: NodeJS.ErrnoException) => fail(msg.gdbPortBusy(port, e.code ?? e.message)));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      srv.removeAllListeners('error');
      srv.on('error', () => undefined);
      done(srv);
    });
  });
}

export class ControlChannel {
  private servers: Server[] = [];
  private tcp?: Server;
  private ctlSock?: Socket;
  private ctlEnded?: Promise<void>;
  private guestGdb?: Socket;
  private client?: Socket;
  /** The debugger whose bytes go to the guest (the one session of a run). */
  private session?: Socket;
  private relaying = false;
  private parser: ControlParser;

  private constructor(
    private readonly o: ControlOptions,
    private readonly dir: string,
    readonly sockets: ControlSockets,
    maxProfile: number,
    private readonly hooks: { gdbReady?: () => void },
  ) {
    this.parser = new ControlParser(maxProfile, {
      request: () => this.ctlSock?.write(settingsLine(o)),
      ready: (took) => {
        if (/(^| )MV_GDB=/.test(took)) {
          this.relaying = true;
          this.startRelay();
          this.hooks.gdbReady?.();
        }
      },
    });
  }

  /** Listens on the sockets (and the gdb port) before QEMU starts. */
  static async open(o: ControlOptions, maxProfile: number, hooks: { gdbReady?: () => void } = {}): Promise<ControlChannel> {
    const dir = mkdtempSync(join(tmpdir(), 'mv-ctl-'));
    const sockets: ControlSockets = { ctl: join(dir, 'ctl.sock'), ...(o.gdbPort !== undefined ? { gdb: join(dir, 'gdb.sock') } : {}) };
    const ch = new ControlChannel(o, dir, sockets, maxProfile, hooks);
    // A signal ends mv-image with process.exit (qemu.ts): the sockets go with it.
    process.once('exit', ch.removeDir);
    try {
      if (o.gdbPort !== undefined) {
        ch.tcp = await tcpServer(o.gdbPort, (c) => ch.onClient(c));
        ch.servers.push(ch.tcp);
        ch.servers.push(await unixServer(sockets.gdb!, (s) => ch.onGuestGdb(s)));
      }
      ch.servers.push(await unixServer(sockets.ctl, (s) => ch.onCtl(s)));
    } catch (e) {
      ch.close();
      throw e;
    }
    return ch;
  }

  private onCtl(s: Socket): void {
    if (this.ctlSock) return void s.destroy();
    this.ctlSock = s;
    this.ctlEnded = new Promise((done) => s.on('close', () => done()));
    s.on('data', (b: Buffer) => this.parser.push(b));
    s.on('error', () => undefined);
  }

  private onGuestGdb(s: Socket): void {
    if (this.guestGdb) return void s.destroy();
    this.guestGdb = s;
    s.on('error', () => undefined);
    // The stub answers only what it was sent: with no debugger here, nothing is lost by dropping.
    // Before init opened the card, what comes is not the stub's (a firmware's text): dropped.
    s.on('data', (b: Buffer) => {
      if (this.relaying) this.client?.write(b);
    });
    this.startRelay();
  }

  /** One debugger at a time; its bytes wait (paused socket) until the guest's end is open. */
  private onClient(c: Socket): void {
    if (this.client) return void c.destroy();
    this.client = c;
    c.on('error', () => undefined);
    c.on('close', () => {
      this.client = undefined;
      if (this.session !== c) return; // it left before the guest's end was open: nothing was sent
      // A debugger that went away without detaching: detach for it, as the stub does when its
      // socket closes, so the program runs on ("$D#44" is gdb's detach packet). One session per run.
      this.guestGdb?.write('$D#44');
      this.tcp?.close();
    });
    this.startRelay();
  }

  private startRelay(): void {
    const { client, guestGdb } = this;
    if (!this.relaying || !client || !guestGdb || this.session === client) return;
    this.session = client;
    client.on('data', (b: Buffer) => guestGdb.write(b));
    client.resume();
  }

  /** After QEMU ended: what init sent. Waits (briefly) for the control socket to be read out. */
  async finish(): Promise<ControlResult> {
    if (this.ctlEnded) await Promise.race([this.ctlEnded, new Promise((r) => setTimeout(r, 5000))]);
    this.parser.end();
    this.close();
    return this.parser.result;
  }

  close(): void {
    for (const s of [this.ctlSock, this.guestGdb, this.client]) s?.destroy();
    for (const srv of this.servers) srv.close();
    this.servers = [];
    this.removeDir();
    process.off('exit', this.removeDir);
  }

  private readonly removeDir = () => rmSync(this.dir, { recursive: true, force: true });
}
