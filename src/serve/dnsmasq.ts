// Debian's dnsmasq as serve's DHCP (or proxy-DHCP) and TFTP server, with nothing of the host's
// touched: its own config file (--conf-file only), lease file and pid file in serve's run
// directory, bound to the one interface. It stays our child (--keep-in-foreground), dies with
// us (setpriv --pdeathsig) and is stopped on every way out.
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { which } from '../lib/hosttools';
import { trackGroup } from '../lib/lifecycle';
import { msg } from '../lib/messages';
import { render } from '../lib/templates';

export const IPXE_DIR = '/usr/lib/ipxe';
/** BIOS PXE clients get undionly.kpxe, UEFI ones ipxe.efi (Debian's ipxe package). */
export const IPXE_FILES = ['undionly.kpxe', 'ipxe.efi'];

export interface DnsmasqOptions {
  dir: string;
  iface: string;
  /** http://address:port of serve's HTTP server. */
  base: string;
  /** Proxy-DHCP on this network address; otherwise a full DHCP server over `range`. */
  proxyNetwork?: string;
  range?: [string, string];
  netmask: string;
  /** Send IPv6 router advertisements (the interface has an IPv6 address of its own). */
  ra?: boolean;
  /** Each line dnsmasq logs (DHCP and TFTP events). */
  onLine?: (line: string) => void;
}

export interface Dnsmasq {
  child: ChildProcess;
  stop: () => Promise<void>;
}

export function dnsmasqConfig(o: DnsmasqOptions): string {
  return render('dnsmasq.conf.ejs', {
    iface: o.iface,
    dir: o.dir,
    base: o.base,
    proxy: !!o.proxyNetwork,
    network: o.proxyNetwork,
    range: o.range?.join(','),
    netmask: o.netmask,
    ra: !!o.ra,
  });
}

/** Checks what dnsmasq needs before anything starts. */
export function checkDnsmasq(): void {
  if (!which('dnsmasq')) throw msg.dnsmasqMissing();
  for (const f of IPXE_FILES) if (!existsSync(join(IPXE_DIR, f))) throw msg.ipxeMissing(join(IPXE_DIR, f));
}

/** Writes the TFTP root and the config, starts dnsmasq and waits until it serves. */
export function startDnsmasq(o: DnsmasqOptions, bootScript: string): Promise<Dnsmasq> {
  const tftp = join(o.dir, 'tftp');
  mkdirSync(tftp, { recursive: true, mode: 0o755 });
  for (const f of IPXE_FILES) copyFileSync(join(IPXE_DIR, f), join(tftp, f));
  // For iPXE in proxy-DHCP mode: a TFTP file name is all a PXE menu entry can carry.
  writeFileSync(join(tftp, 'mv-boot.ipxe'), bootScript, { mode: 0o644 });
  const conf = join(o.dir, 'dnsmasq.conf');
  writeFileSync(conf, dnsmasqConfig(o), { mode: 0o644 });
  const bin = which('dnsmasq')!;
  const args = ['--keep-in-foreground', `--conf-file=${conf}`];
  const setpriv = which('setpriv');
  // A process group of its own (src/lib/lifecycle.ts): a terminal's Ctrl-C reaches serve alone,
  // which stops dnsmasq in its order; a signal to serve ends the group.
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const untrack = child.pid ? trackGroup(child.pid) : () => {};
  let last = '',
    pending = '';
  const exited = new Promise<void>((done) => child.on('close', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    untrack();
  };
  return new Promise((done, fail) => {
    let ready = false;
    const onData = (b: Buffer) => {
      pending += b.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        if (l.trim()) last = l.replace(/^dnsmasq(-dhcp|-tftp)?: /, '');
        if (!ready && /started, version/.test(l)) {
          ready = true;
          done({ child, stop });
        }
        o.onLine?.(l);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (e) => fail(msg.dnsmasqFailed(e.message)));
    child.on('close', (code) => {
      if (!ready) {
        untrack();
        fail(msg.dnsmasqFailed(last || `it exited with status ${code}`));
      }
    });
  });
}
