// The nodes `serve` knows of, by MAC: when each fetched its boot script (its index is fixed
// then), when its network came up in Linux, and its report. Also the lines and the table the
// user sees, and the JSON object per node.
import { NodeReport, shown } from './report';

export interface NodeState {
  mac: string;
  index: number;
  /** Address the node fetched its boot script from (iPXE's), then the one Linux announced. */
  ip: string;
  /** Seconds since serve started: boot script fetched, Linux network up, report received. */
  bootAt: number;
  upAt?: number;
  reportAt?: number;
  report?: NodeReport;
}

export type NodeEvent = { kind: 'boot' | 'up' | 'report' | 'again'; node: NodeState } | { kind: 'refused'; from: string; why: string };

/** More nodes than any one serve is meant for: a bound on what a flood of requests can add. */
const MAX_NODES = 4096;

export class NodeTable {
  private readonly byMac = new Map<string, NodeState>();
  private readonly t0 = Date.now();

  /** `macs`: the expected nodes, in index order (others are turned away); `count`: how many
   *  nodes the job has (MV_NODE_COUNT), when known. */
  constructor(
    readonly macs: string[],
    readonly count: number | undefined,
    private readonly onEvent: (e: NodeEvent) => void,
  ) {}

  private now(): number {
    return (Date.now() - this.t0) / 1000;
  }

  get nodes(): NodeState[] {
    return [...this.byMac.values()].sort((a, b) => a.index - b.index);
  }
  get reported(): number {
    return this.nodes.filter((n) => n.report).length;
  }

  /** A node fetched its boot script: its index, or undefined when it is not one of ours. */
  boot(mac: string, ip: string): NodeState | undefined {
    let n = this.byMac.get(mac);
    if (!n) {
      const index = this.macs.length ? this.macs.indexOf(mac) : this.byMac.size;
      if (index < 0 || this.byMac.size >= MAX_NODES) return undefined;
      n = { mac, index, ip, bootAt: this.now() };
      this.byMac.set(mac, n);
    } else {
      n.ip = ip;
      n.bootAt = this.now();
    }
    this.onEvent({ kind: 'boot', node: n });
    return n;
  }

  up(mac: string, ip: string): boolean {
    const n = this.byMac.get(mac);
    if (!n) return false;
    n.ip = ip;
    n.upAt = this.now();
    this.onEvent({ kind: 'up', node: n });
    return true;
  }

  report(r: NodeReport): boolean {
    const n = this.byMac.get(r.mac);
    if (!n) return false;
    const again = !!n.report;
    n.report = r;
    n.ip = r.ip;
    n.reportAt = this.now();
    this.onEvent({ kind: again ? 'again' : 'report', node: n });
    return true;
  }

  refused(from: string, why: string): void {
    this.onEvent({ kind: 'refused', from, why });
  }

  /** Nodes that came up in Linux, in index order: what an MPI hostfile needs. */
  hosts(): string[] {
    return this.nodes.filter((n) => n.upAt !== undefined).map((n) => n.ip);
  }
}

const s1 = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(1)} s`);

/** The one line printed when something happens to a node. */
export function eventLine(e: NodeEvent): string {
  if (e.kind === 'refused') return `refused a request from ${e.from}: ${e.why}`;
  const n = e.node,
    id = `node ${n.index} ${n.mac}`;
  if (e.kind === 'boot') return `${id}: boot script sent to ${n.ip} (+${s1(n.bootAt)})`;
  if (e.kind === 'up') return `${id}: Linux up at ${n.ip} (+${s1(n.upAt)})`;
  const r = n.report!;
  return `${id} ${r.ip} ${r.hostname}: MV-EXIT ${r.status}${r.status ? ' FAILED' : ''} (program start ${r.startS.toFixed(1)} s, exit ${r.exitS.toFixed(1)} s after kernel start; report at +${s1(n.reportAt)})${e.kind === 'again' ? ' (again: the node booted twice)' : ''}`;
}

export interface NodeJson {
  index: number;
  mac: string;
  ip: string;
  hostname: string | null;
  status: number | null;
  ok: boolean;
  /** The node's uptime at the program's start and exit. */
  startS: number | null;
  exitS: number | null;
  /** Seconds since serve started: boot script fetched, network up, report received. */
  bootAt: number;
  upAt: number | null;
  reportAt: number | null;
  problem: string | null;
  console: string;
}

export function nodeJson(n: NodeState, problem?: string): NodeJson {
  const r = n.report;
  return {
    index: n.index,
    mac: n.mac,
    ip: n.ip,
    hostname: r?.hostname ?? null,
    status: r?.status ?? null,
    ok: !!r && r.status === 0 && !problem,
    startS: r?.startS ?? null,
    exitS: r?.exitS ?? null,
    bootAt: n.bootAt,
    upAt: n.upAt ?? null,
    reportAt: n.reportAt ?? null,
    problem: problem ?? (r ? (r.status ? `MV-EXIT ${r.status}` : null) : 'no report'),
    console: r?.console ?? '',
  };
}

/** The summary table: one row per node, expected nodes that never booted included. */
export function summaryTable(
  rows: { index: number; mac: string; ip?: string; hostname?: string; result: string; start?: number; exit?: number }[],
): string {
  const head = ['node', 'mac', 'ip', 'hostname', 'result', 'start', 'exit'];
  const cells = rows.map((r) => [String(r.index), r.mac, r.ip ?? '-', shown(r.hostname ?? '-'), r.result, s1(r.start), s1(r.exit)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells]
    .map((c) =>
      c
        .map((x, i) => x.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
