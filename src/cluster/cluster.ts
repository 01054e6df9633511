// `mv-image cluster run`: a whole cluster on this machine. A network namespace with a bridge and
// a tap per node (netns.ts), `mv-image serve` inside it as the network's DHCP server, and N
// QEMU nodes that network-boot from the bridge with their firmware's own PXE, all at once.
// Each node's result comes from its report to serve, or, when none arrived, from its serial
// console (a kernel panic, a timeout, QEMU failing). Every exit path, Ctrl-C included, stops
// the nodes and serve (which stops dnsmasq) and removes the namespace with its bridge and taps.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { boot } from '../harness/qemu';
import { isMvError, MvError } from '../lib/errors';
import { requireTools, which } from '../lib/hosttools';
import { halted, onStop, setStage, trackPath } from '../lib/lifecycle';
import { msg } from '../lib/messages';
import { repoPath } from '../lib/paths';
import { checkDnsmasq } from '../serve/dnsmasq';
import { checkImage } from '../serve/image';
import { summaryTable, type NodeJson } from '../serve/nodes';
import { BRIDGE, ClusterNet, createNet, DHCP_RANGE, nodeMac, removeNet, removeStale, sleepSync } from './netns';

export interface ClusterOptions {
  image: string;
  nodes: number;
  /** How many of the nodes (the last ones) boot with OVMF (UEFI) instead of SeaBIOS. */
  uefiNodes: number;
  timeoutS: number;
  memMiB: number;
  cpus: number;
  /** Keep every node's serial log here (default: a temporary directory, kept only on failure). */
  logs?: string;
  json: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ClusterNode {
  index: number;
  mac: string;
  firmware: 'bios' | 'uefi';
  ok: boolean;
  status: number | null;
  problem: string | null;
  /** Seconds from this node's power-on (QEMU start) to its report. */
  reportS: number | null;
  log: string;
  report: NodeJson | null;
}

export interface ClusterResult {
  nodes: ClusterNode[];
  seconds: number;
  error?: MvError;
}

const PORT = 8080;

/** The last `mv-image: <stage>: <problem> (fix: <fix>)` line a child printed, as our own error. */
function childError(stderr: string): MvError | undefined {
  const m = [...stderr.matchAll(/^mv-image: ([a-z]+): (.*) \(fix: (.*)\)$/gm)].pop();
  return m ? new MvError(m[1], m[2], m[3]) : undefined;
}

function checkHost(o: ClusterOptions): void {
  if (o.uefiNodes > o.nodes) throw msg.badNodeCount(o.nodes, o.uefiNodes);
  checkImage(o.image);
  if (process.getuid?.() !== 0) throw msg.notRoot('cluster', 'it makes a network namespace, a bridge and taps, and runs dnsmasq');
  if (!which('ip')) throw msg.clusterTool('ip', 'iproute2');
  checkDnsmasq();
  requireTools('run');
}

export async function clusterRun(o: ClusterOptions): Promise<ClusterResult> {
  checkHost(o);
  const logs = o.logs ? resolve(o.logs) : mkdtempSync(join(tmpdir(), 'mv-cluster-'));
  mkdirSync(logs, { recursive: true });
  let net: ClusterNet | undefined, serve: ChildProcess | undefined;
  const stopNodes = new AbortController();
  let tornDown = false;
  // Synchronous, so that it also runs from a signal handler and at exit.
  const teardown = () => {
    if (tornDown) return;
    tornDown = true;
    stopNodes.abort();
    if (serve?.pid && serve.exitCode === null) {
      try {
        process.kill(serve.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 100 && alive(serve.pid); i++) sleepSync(50);
    }
    if (net) removeNet(net);
  };
  // SIGINT/SIGTERM/SIGHUP: lifecycle (src/lib/lifecycle.ts) runs the teardown, removes the
  // temporary log directory, prints its one line and exits 128 + the signal's number.
  setStage('cluster');
  const untrackLogs = o.logs ? () => {} : trackPath(logs);
  const unstop = onStop(async () => teardown());
  process.on('exit', teardown);
  try {
    const stale = removeStale();
    if (stale.length) o.err(`removed ${stale.length} network namespace(s) left by an earlier run that was killed: ${stale.join(', ')}`);
    net = createNet(o.nodes);
    const macs = Array.from({ length: o.nodes }, (_, i) => nodeMac(i));
    const reports = new Map<number, { json: NodeJson; at: number }>();
    const ready = join(logs, '.serve-ready');
    rmSync(ready, { force: true });
    let serveErr = '',
      forward = true;
    const args = [
      repoPath('bin', 'run.js'),
      'serve',
      resolve(o.image),
      '--interface',
      BRIDGE,
      '--dhcp-range',
      DHCP_RANGE,
      '--port',
      String(PORT),
      '--json',
      '--no-summary',
      '--until-reports',
      String(o.nodes),
      '--timeout',
      String(o.timeoutS + 60),
      '--ready-file',
      ready,
      ...macs.flatMap((m) => ['--mac', m]),
    ];
    const pre = which('setpriv') ? ['setpriv', '--pdeathsig', 'TERM', '--'] : [];
    serve = spawn(pre[0] ?? 'ip', [...pre.slice(1), ...(pre.length ? ['ip'] : []), 'netns', 'exec', net.ns, process.execPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const serveExit = new Promise<void>((done) => serve!.on('close', () => done()));
    lines(serve.stdout!, (l) => {
      try {
        const j = JSON.parse(l) as NodeJson;
        if (typeof j.index === 'number' && j.status !== null) reports.set(j.index, { json: j, at: Date.now() });
      } catch {
        /* not a report */
      }
    });
    lines(serve.stderr!, (l) => {
      serveErr += l + '\n';
      if (forward && !/^mv-image: /.test(l)) o.err(l);
    });

    // Wait until serve serves (or fails: its own one line becomes ours).
    while (!existsSync(ready)) {
      if (serve.exitCode !== null) {
        await serveExit;
        await halted();
        throw childError(serveErr) ?? msg.dnsmasqFailed(serveErr.trim().split('\n').pop() ?? 'serve exited');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const servedAt = Date.now();
    o.err(
      `${o.nodes} node${o.nodes > 1 ? 's' : ''} powering on together (${o.nodes - o.uefiNodes} SeaBIOS, ${o.uefiNodes} OVMF), network-booting from ${BRIDGE} in ${net.ns}`,
    );
    const powerOn: number[] = [];
    const runs = macs.map((mac, i) => {
      const firmware: ClusterNode['firmware'] = i >= o.nodes - o.uefiNodes ? 'uefi' : 'bios';
      const log = join(logs, `node-${i}.log`);
      powerOn[i] = Date.now();
      return boot({
        pxe: { netns: net!.ns, tap: net!.taps[i], mac },
        uefi: firmware === 'uefi',
        accel: 'tcg',
        memMiB: o.memMiB,
        cpus: o.cpus,
        timeoutMs: o.timeoutS * 1000,
        logPath: log,
        signal: stopNodes.signal,
      }).then(
        (r) => ({ firmware, log, status: r.status as number | undefined, problem: undefined as string | undefined }),
        (e) => ({ firmware, log, status: undefined, problem: isMvError(e) ? consoleProblem(e) : String(e) }),
      );
    });
    const booted = await Promise.all(runs);
    // A signal stopped the nodes: lifecycle prints its line and exits; nothing else is reported.
    await halted();
    // Reports are posted before a node powers off; give the last one a moment to be read.
    for (let i = 0; i < 20 && reports.size < o.nodes && serve.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    forward = false;
    const nodes: ClusterNode[] = booted.map((b, i) => {
      const r = reports.get(i);
      const problem = r
        ? r.json.status
          ? `MV-EXIT ${r.json.status}`
          : null
        : (b.problem ?? `MV-EXIT ${b.status} on the console, but no report reached the server`);
      return {
        index: i,
        mac: macs[i],
        firmware: b.firmware,
        ok: !!r && r.json.status === 0,
        status: r?.json.status ?? null,
        problem,
        reportS: r ? Math.round((r.at - powerOn[i]) / 100) / 10 : null,
        log: b.log,
        report: r?.json ?? null,
      };
    });
    for (const n of nodes) if (!n.ok) o.err(`node ${n.index} ${n.mac}: ${n.problem} (serial log ${n.log})`);
    const seconds = Math.round((Date.now() - servedAt) / 100) / 10;
    const failed = nodes.filter((n) => !n.ok).length;
    if (!failed && !o.logs) rmSync(logs, { recursive: true, force: true });
    // The failed nodes' logs are kept (and named above).
    untrackLogs();
    return { nodes, seconds, error: failed ? msg.clusterFailed(failed, nodes.length) : undefined };
  } finally {
    unstop();
    teardown();
    process.off('exit', teardown);
  }
}

/** What the console says happened to a node that did not report. */
function consoleProblem(e: MvError): string {
  if (e.exitCode === 125) return 'kernel panic';
  if (e.exitCode === 124) return 'no MV-EXIT before --timeout (it never booted, or hung)';
  return e.problem.replace(/ \(serial log: [^)]*\)/, '');
}

export function clusterTable(r: ClusterResult): string {
  return summaryTable(
    r.nodes.map((n) => ({
      index: n.index,
      mac: n.mac,
      ip: n.report?.ip,
      hostname: n.report?.hostname ?? undefined,
      result: `${n.ok ? 'MV-EXIT 0' : (n.problem ?? 'failed')} [${n.firmware}]`,
      start: n.report?.startS ?? undefined,
      exit: n.report?.exitS ?? undefined,
    })),
  );
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let pending = '';
  stream.on('data', (b: Buffer) => {
    pending += b.toString();
    const ls = pending.split('\n');
    pending = ls.pop() ?? '';
    for (const l of ls) onLine(l);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
