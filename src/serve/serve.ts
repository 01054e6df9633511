// `mv-image serve`: boot a cluster's nodes from an image over the network and collect what each
// node's program did. dnsmasq answers DHCP (or proxy-DHCP) and sends iPXE over TFTP; iPXE then
// fetches its script, the kernel and the initramfs over HTTP from our server (http.ts), and
// init reports back there. Runs in the foreground until the expected reports are in, --timeout,
// or Ctrl-C; dnsmasq is stopped and the run directory removed on every way out.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { isIPv4 } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { MvError } from '../lib/errors';
import { which } from '../lib/hosttools';
import { halted, onStop, setStage, trackPath } from '../lib/lifecycle';
import { msg } from '../lib/messages';
import { render } from '../lib/templates';
import { checkDnsmasq, Dnsmasq, startDnsmasq } from './dnsmasq';
import { startHttp } from './http';
import { bootFiles } from './image';
import { eventLine, NodeEvent, nodeJson, NodeJson, NodeTable, summaryTable } from './nodes';
import { MAC_RE, normalMac } from './report';

export interface ServeOptions {
  image: string;
  iface?: string;
  proxy: boolean;
  /** "A,B": a full DHCP server handing out A..B. */
  dhcpRange?: string;
  port: number;
  /** Stop once this many nodes have reported (and tell each node the count). */
  untilReports?: number;
  /** The expected nodes' MACs, in index order; others are turned away. */
  macs: string[];
  timeoutS?: number;
  /** Written (JSON: base URL, pid) once DHCP and HTTP serve: for `cluster run`. */
  readyFile?: string;
  json: boolean;
  verbose: boolean;
  /** No table at the end (cluster run prints its own). */
  noSummary?: boolean;
  /** Ends serving as Ctrl-C does. */
  signal?: AbortSignal;
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ServeResult {
  nodes: NodeJson[];
  error?: MvError;
}

const RUN_ROOT = '/run/mv-image';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a serve killed outright (SIGKILL) left: its run directory, and its dnsmasq if that
 *  outlived it (setpriv's death signal normally ends it). */
export function sweepRunDirs(): string[] {
  if (!existsSync(RUN_ROOT)) return [];
  const swept: string[] = [];
  for (const d of readdirSync(RUN_ROOT)) {
    const m = /^serve-(\d+)-/.exec(d);
    if (!m || alive(Number(m[1]))) continue;
    const dir = join(RUN_ROOT, d);
    let pid = NaN;
    try {
      pid = Number(readFileSync(join(dir, 'dnsmasq.pid'), 'utf8').trim());
    } catch {
      /* none */
    }
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      /* gone */
    }
    if (pid > 1 && comm === 'dnsmasq') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}
const IFACE_RE = /^[A-Za-z0-9_.@-]{1,15}$/;

const ipNum = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const ipStr = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

interface Iface {
  name: string;
  address: string;
  netmask: string;
  network: string;
}

/** The IPv4 addresses of every interface, from iproute2 (Node's own list leaves out interfaces
 *  without carrier, such as a bridge whose nodes are not started yet). */
function ipv4Addresses(): Map<string, { address: string; prefix: number } | undefined> {
  const r = spawnSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' });
  const out = new Map<string, { address: string; prefix: number } | undefined>();
  let list: { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[] = [];
  try {
    list = JSON.parse(r.stdout || '[]');
  } catch {
    list = [];
  }
  for (const i of list)
    out.set(i.ifname, i.addr_info?.[0] ? { address: i.addr_info[0].local, prefix: i.addr_info[0].prefixlen } : undefined);
  return out;
}

/** Whether the interface has an IPv6 address beyond its link-local one (dnsmasq can then send
 *  router advertisements on it). */
function hasIpv6(name: string): boolean {
  const r = spawnSync('ip', ['-j', '-6', 'addr', 'show', 'dev', name, 'scope', 'global'], { encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout || '[]').some((i: { addr_info?: unknown[] }) => i.addr_info?.length);
  } catch {
    return false;
  }
}

/** The serving interface: the one named, or the only one with an IPv4 address besides loopback. */
export function pickInterface(name: string | undefined): Iface {
  if (!which('ip')) throw msg.toolMissing('ip', 'iproute2');
  const addrs = ipv4Addresses();
  const candidates = [...addrs].filter(([n, a]) => a && n !== 'lo').map(([n]) => n);
  if (name === undefined) {
    if (candidates.length !== 1) throw msg.interfaceNeeded(candidates);
    name = candidates[0];
  }
  const known = existsSync('/sys/class/net') ? readdirSync('/sys/class/net') : [...addrs.keys()];
  if (!IFACE_RE.test(name) || !known.includes(name))
    throw msg.noInterface(
      name,
      known.filter((k) => k !== 'lo'),
    );
  const a = addrs.get(name);
  if (!a) throw msg.interfaceNoAddress(name);
  const mask = a.prefix ? (0xffffffff << (32 - a.prefix)) >>> 0 : 0;
  return { name, address: a.address, netmask: ipStr(mask), network: ipStr((ipNum(a.address) & mask) >>> 0) };
}

export function parseRange(value: string, i: Iface): [string, string] {
  const [a, b, ...rest] = value.split(',');
  if (rest.length || !isIPv4(a ?? '') || !isIPv4(b ?? '')) throw msg.badDhcpRange(value, 'is not two IPv4 addresses separated by a comma');
  const mask = ipNum(i.netmask),
    net = ipNum(i.network);
  for (const x of [a, b]) {
    if ((ipNum(x) & mask) >>> 0 !== net) throw msg.badDhcpRange(value, `has ${x}, outside ${i.name}'s subnet ${i.network}/${i.netmask}`);
  }
  if (ipNum(a) > ipNum(b)) throw msg.badDhcpRange(value, 'starts after it ends');
  if (ipNum(a) <= ipNum(i.address) && ipNum(i.address) <= ipNum(b))
    throw msg.badDhcpRange(value, `holds the server's own address ${i.address}`);
  return [a, b];
}

export function checkMacs(macs: string[]): string[] {
  for (const m of macs) if (!MAC_RE.test(m)) throw msg.badMac(m);
  return macs.map(normalMac);
}

export async function serve(o: ServeOptions): Promise<ServeResult> {
  const macs = checkMacs(o.macs);
  if (process.getuid?.() !== 0) throw msg.notRoot('serve', 'dnsmasq needs the DHCP (67) and TFTP (69) ports');
  checkDnsmasq();
  const swept = sweepRunDirs();
  if (swept.length) o.err(`removed what ${swept.length} serve${swept.length > 1 ? 's' : ''} killed earlier left: ${swept.join(', ')}`);
  const iface = pickInterface(o.iface);
  const range = o.proxy ? undefined : parseRange(o.dhcpRange ?? '', iface);
  const expected = o.untilReports ?? (macs.length || undefined);

  mkdirSync(RUN_ROOT, { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(`${RUN_ROOT}/serve-${process.pid}-`);
  // Removed on every way out, a signal included (src/lib/lifecycle.ts).
  const untrackDir = trackPath(dir);
  setStage('serve');
  // dnsmasq drops root and must still read the TFTP files.
  chmodSync(dir, 0o755);
  let server: Server | undefined, dns: Dnsmasq | undefined;
  const stopped = new AbortController();
  const onSignal = () => stopped.abort();
  // On SIGINT/SIGTERM/SIGHUP lifecycle runs this, then removes the run directory, prints its
  // line and exits 128 + the signal: serving ends, dnsmasq stops and the table is printed first.
  let finished = () => {};
  const done = new Promise<void>((r) => {
    finished = r;
  });
  const unstop = onStop(async () => {
    stopped.abort();
    await done;
  });
  o.signal?.addEventListener('abort', onSignal);
  let wake = () => {};
  const onEvent = (e: NodeEvent) => {
    const line = eventLine(e);
    if (e.kind === 'report' || e.kind === 'again') {
      if (o.json) {
        o.out(JSON.stringify(nodeJson(e.node)));
        o.err(line);
      } else o.out(line);
    } else o.err(line);
    wake();
  };
  const table = new NodeTable(macs, expected, onEvent);
  let error: MvError | undefined;
  try {
    const files = await bootFiles(o.image, dir);
    const base = `http://${iface.address}:${o.port}`;
    if (stopped.signal.aborted) throw msg.interrupted('serve', 'SIGINT');
    const t0 = Date.now();
    const stamp = (l: string) => o.err(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${l}`);
    server = await startHttp({ files, address: iface.address, port: o.port, table, onRequest: o.verbose ? stamp : undefined });
    dns = await startDnsmasq(
      {
        dir,
        iface: iface.name,
        base,
        netmask: iface.netmask,
        range,
        proxyNetwork: o.proxy ? iface.network : undefined,
        ra: !o.proxy && hasIpv6(iface.name),
        onLine: o.verbose ? stamp : undefined,
      },
      render('serve.ipxe.ejs', { base }),
    );
    const mode = o.proxy ? `proxy-DHCP beside the site's DHCP server on ${iface.network}/${iface.netmask}` : `DHCP ${range!.join('-')}`;
    o.err(
      `serving ${files.name} on ${iface.name}: ${mode}, TFTP (iPXE), HTTP ${base}${expected ? `; waiting for ${expected} node${expected > 1 ? 's' : ''}` : '; Ctrl-C to stop'}${o.timeoutS ? ` (at most ${o.timeoutS} s)` : ''}`,
    );
    if (o.readyFile) writeFileSync(o.readyFile, JSON.stringify({ base, pid: process.pid }));

    // Until every expected node reported, the timeout, or Ctrl-C.
    const deadline = o.timeoutS ? Date.now() + o.timeoutS * 1000 : Infinity;
    while (!stopped.signal.aborted && !(expected && table.reported >= expected) && Date.now() < deadline) {
      await new Promise<void>((done) => {
        const t = setTimeout(() => wake(), Math.min(1000, Math.max(0, deadline - Date.now())));
        wake = () => {
          clearTimeout(t);
          stopped.signal.removeEventListener('abort', wake);
          done();
        };
        stopped.signal.addEventListener('abort', wake, { once: true });
      });
    }
    const missing = expected ? Math.max(0, expected - table.reported) : 0;
    const failed = table.nodes.filter((n) => n.report && n.report.status !== 0).length;
    if (stopped.signal.aborted && missing && o.signal?.aborted) error = msg.interrupted('serve', 'SIGINT');
    else if (missing) error = msg.nodesMissing(missing, expected!, o.timeoutS ?? 0);
    else if (failed) error = msg.nodesFailed(failed, table.reported);
  } finally {
    o.signal?.removeEventListener('abort', onSignal);
    await dns?.stop();
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    rmSync(dir, { recursive: true, force: true });
    untrackDir();
    // Synchronously up to the table below, so a signal's exit comes after it.
    unstop();
    finished();
  }
  const result = finish(o, table, error);
  // A signal: lifecycle prints its line and exits; nothing else is reported.
  await halted();
  return result;
}

/** The summary table (with the expected nodes that never asked for their script) and, with
 *  --json, an object for each node that did not report. */
function finish(o: ServeOptions, table: NodeTable, error: MvError | undefined): ServeResult {
  const nodes = table.nodes.map((n) => nodeJson(n));
  table.macs.forEach((mac, index) => {
    if (!nodes.some((n) => n.mac === mac))
      nodes.push({ ...nodeJson({ mac, index, ip: '-', bootAt: -1 }), problem: 'never asked for its boot script', bootAt: -1 });
  });
  nodes.sort((a, b) => a.index - b.index);
  if (o.json) for (const n of nodes) if (n.status === null) o.out(JSON.stringify(n));
  if (nodes.length && !o.noSummary) {
    (o.json ? o.err : o.out)(
      summaryTable(
        nodes.map((n) => ({
          index: n.index,
          mac: n.mac,
          ip: n.ip,
          hostname: n.hostname ?? undefined,
          result: n.status === null ? (n.problem ?? 'no report') : n.status === 0 ? 'MV-EXIT 0' : `MV-EXIT ${n.status} FAILED`,
          start: n.startS ?? undefined,
          exit: n.exitS ?? undefined,
        })),
      ),
    );
  }
  return { nodes, error };
}
