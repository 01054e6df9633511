// The virtual cluster's network: a network namespace of its own with a bridge and one tap per
// node, addresses that exist only inside it (10.77.0.0/24 and a ULA), so nothing binds to or
// sends on a host interface. Made and removed with iproute2, synchronously, so that removal also
// works from a signal handler and at process exit.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { msg } from '../lib/messages';

export const BRIDGE = 'mvbr0';
export const SERVER_IP = '10.77.0.1';
export const PREFIX = 24;
/** A ULA on the bridge, so that dnsmasq can tell iPXE there is no IPv6 router (see dnsmasq.conf.ejs). */
export const SERVER_IP6 = 'fd77:6d76::1/64';
export const DHCP_RANGE = '10.77.0.100,10.77.0.199';
const NS_PREFIX = 'mv-cluster-';

export interface ClusterNet {
  ns: string;
  taps: string[];
}

const tap = (i: number) => `mvtap${i}`;
/** Each node's MAC: locally administered (QEMU's 52:54:00 prefix), the index in the last byte. */
export const nodeMac = (i: number) => `52:54:00:77:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

function ip(args: string[], step: string): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw msg.clusterTool('ip', 'iproute2');
  if (r.status !== 0) throw msg.netnsFailed(step, r.stderr || r.stdout);
}

/** Makes the namespace `mv-cluster-<pid>`, its bridge with the server's addresses and `n` taps. */
export function createNet(n: number): ClusterNet {
  const ns = `${NS_PREFIX}${process.pid}`;
  ip(['netns', 'add', ns], `ip netns add ${ns}`);
  const net = { ns, taps: [] as string[] };
  try {
    ip(['-n', ns, 'link', 'set', 'lo', 'up'], 'bringing up lo');
    ip(['-n', ns, 'link', 'add', BRIDGE, 'type', 'bridge'], 'making the bridge');
    ip(['-n', ns, 'addr', 'add', `${SERVER_IP}/${PREFIX}`, 'dev', BRIDGE], 'addressing the bridge');
    ip(['-n', ns, '-6', 'addr', 'add', SERVER_IP6, 'dev', BRIDGE, 'nodad'], 'addressing the bridge (IPv6)');
    ip(['-n', ns, 'link', 'set', BRIDGE, 'up'], 'bringing up the bridge');
    for (let i = 0; i < n; i++) {
      ip(['-n', ns, 'tuntap', 'add', 'dev', tap(i), 'mode', 'tap'], `making ${tap(i)}`);
      net.taps.push(tap(i));
      ip(['-n', ns, 'link', 'set', tap(i), 'master', BRIDGE, 'up'], `attaching ${tap(i)}`);
    }
  } catch (e) {
    removeNet(net);
    throw e;
  }
  return net;
}

const pidsIn = (ns: string) =>
  (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .filter((p) => /^\d+$/.test(p))
    .map(Number);

/** Kills what still runs in the namespace and deletes it (its bridge and taps go with it). */
export function removeNet(net: Pick<ClusterNet, 'ns'>): void {
  for (let round = 0; round < 20; round++) {
    const pids = pidsIn(net.ns);
    if (!pids.length) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    sleepSync(50);
  }
  spawnSync('ip', ['netns', 'del', net.ns]);
}

/** Namespaces left by a cluster run that was killed outright (its pid is gone): removed. */
export function removeStale(): string[] {
  if (!existsSync('/run/netns')) return [];
  const stale = readdirSync('/run/netns').filter((n) => n.startsWith(NS_PREFIX) && !alive(Number(n.slice(NS_PREFIX.length))));
  for (const ns of stale) removeNet({ ns });
  return stale;
}

export const clusterNamespaces = () => (existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(NS_PREFIX)) : []);

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
