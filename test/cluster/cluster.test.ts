// End to end: a cluster boots examples/hello over the network. `cluster run` with 3 QEMU nodes
// (SeaBIOS and OVMF PXE) that all report, a run where one node's program fails, Ctrl-C in the
// middle of a run, `serve` in proxy-DHCP mode beside a separate dnsmasq acting as the site's
// DHCP server, and bad input. Everything runs as root inside network namespaces these tests (or
// cluster run) make and remove: nothing binds to or sends on a host interface.
import test, { ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { boot } from '../../src/harness/qemu';
import { bin, cli, CliResult, repo, tempDir } from '../helpers/cli';

const EPOCH = '1700000000';
const out = tempDir('mv-cluster-test-');
const iso = join(out, 'hello.iso');
/** examples/hello, changed to exit 7 on the node whose MV_NODE_INDEX is HELLO_FAIL_NODE. */
const failIso = join(out, 'hellofail.iso');
const mac = (i: number) => `52:54:00:77:00:0${i}`;

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
const ip = (...args: string[]) => {
  const r = sh('ip', args);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const namespaces = () =>
  ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
const pidsIn = (ns: string) =>
  sh('ip', ['netns', 'pids', ns])
    .stdout.split('\n')
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
};
/** Running, not a zombie (an orphan's zombie may never be reaped on this machine's init). */
const running = (pid: number) => {
  try {
    return !/^[ZX]$/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ')[0]);
  } catch {
    return false;
  }
};

/** A namespace of this test's own with a bridge holding `addr`, removed (with whatever still runs in
 *  it) when the test ends. */
function testNet(t: ExecutionContext, name: string, addr: string): { ns: string; bridge: string } {
  const ns = `mvt-${name}-${process.pid}`,
    bridge = 'mvtbr0';
  ip('netns', 'add', ns);
  t.teardown(() => removeNs(ns));
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'link', 'add', bridge, 'type', 'bridge');
  ip('-n', ns, 'addr', 'add', addr, 'dev', bridge);
  ip('-n', ns, 'link', 'set', bridge, 'up');
  return { ns, bridge };
}

function removeNs(ns: string): void {
  for (let i = 0; i < 20 && pidsIn(ns).length; i++) {
    for (const p of pidsIn(ns)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('sleep', ['0.1']);
  }
  spawnSync('ip', ['netns', 'del', ns]);
}

interface Running {
  pid: number;
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** The CLI as a child, its stderr readable while it runs. `prefix`: e.g. ip netns exec NS. */
function start(args: string[], prefix: string[] = []): Running {
  const [cmd, ...pre] = [...prefix, process.execPath, bin];
  const child = spawn(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '',
    stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { pid: child.pid!, done, stderr: () => stderr };
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const lastLine = (s: string) => s.trim().split('\n').pop() ?? '';
const jsonLines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

/** Nothing of cluster run `pid` is left: its namespace (with the bridge and taps), its serve
 *  run directory, processes of its namespace. */
function leftNothing(t: ExecutionContext, pid: number, pids: number[] = []): void {
  t.false(namespaces().includes(`mv-cluster-${pid}`), 'the namespace is removed');
  t.notRegex(ip('-o', 'link'), /mvtap|mvbr0/, 'no tap or bridge in the host namespace');
  for (const p of pids) t.false(running(p), `process ${p} is gone`);
  const runDirs = existsSync('/run/mv-image') ? readdirSync('/run/mv-image') : [];
  for (const p of pids)
    t.false(
      runDirs.some((d) => d.startsWith(`serve-${p}-`)),
      `serve ${p}'s run directory is removed`,
    );
}

test.serial('builds examples/hello, and a copy that fails on one node', (t) => {
  const r = cli(['build', join(repo, 'examples/hello'), '-o', iso], { SOURCE_DATE_EPOCH: EPOCH });
  t.is(r.status, 0, r.stderr);
  const dir = join(tempDir(), 'hellofail');
  cpSync(join(repo, 'examples/hello'), dir, { recursive: true });
  const c = readFileSync(join(dir, 'hello.c'), 'utf8');
  writeFileSync(
    join(dir, 'hello.c'),
    c
      .replace('#include <stdlib.h>\n', '#include <stdlib.h>\n#include <string.h>\n')
      .replace(
        '\tconst char *status = getenv("HELLO_STATUS");',
        '\tconst char *fail = getenv("HELLO_FAIL_NODE"), *node = getenv("MV_NODE_INDEX");\n\tif (fail && node && !strcmp(fail, node))\n\t\treturn 7;\n\tconst char *status = getenv("HELLO_STATUS");',
      ),
  );
  const m = JSON.parse(readFileSync(join(dir, 'mv-image.json'), 'utf8'));
  m.name = 'hellofail';
  m.entry = 'hello';
  m.env.HELLO_FAIL_NODE = '1';
  writeFileSync(join(dir, 'mv-image.json'), JSON.stringify(m));
  const f = cli(['build', dir, '-o', failIso], { SOURCE_DATE_EPOCH: EPOCH });
  t.is(f.status, 0, f.stderr);
});

test.serial('cluster run: 3 nodes (2 SeaBIOS, 1 OVMF) PXE-boot, run main in the HRT and all report MV-EXIT 0 with their MACs', (t) => {
  t.timeout(600_000);
  const r = cli(['cluster', 'run', iso, '--nodes', '3', '--uefi-nodes', '1', '--timeout', '400', '--json'], {}, 540_000);
  t.is(r.status, 0, r.stderr);
  const nodes = jsonLines(r.stdout);
  t.is(nodes.length, 3);
  nodes.forEach((n, i) => {
    t.is(n.index, i);
    t.is(n.mac, mac(i));
    t.is(n.firmware, i === 2 ? 'uefi' : 'bios');
    t.true(n.ok);
    t.is(n.status, 0);
    t.is(n.report.mac, mac(i));
    t.is(n.report.hostname, `hello-${i}`);
    t.regex(n.report.ip, /^10\.77\.0\.1\d\d$/);
    t.true(n.report.exitS >= n.report.startS && n.report.startS > 0);
    // The program's own output, through the report's console tail.
    t.regex(n.report.console, /^MV-HRT vcpus=1 cpl=0$/m, 'main ran in ring 0 of the HRT');
    t.regex(n.report.console, /^hello from \/app\/hello$/m);
    t.regex(n.report.console, new RegExp(`^env MV_NODE_INDEX=${i}$`, 'm'));
    t.regex(n.report.console, /^env MV_NODE_COUNT=3$/m);
    t.regex(n.report.console, new RegExp(`^env MV_NODE_MAC=${mac(i)}$`, 'm'));
  });
  t.is(new Set(nodes.map((n) => n.report.ip)).size, 3);
  for (let i = 0; i < 3; i++)
    t.regex(r.stderr, new RegExp(`^${i} +${mac(i)} +10\\.77\\.0\\.1\\d\\d +hello-${i} +MV-EXIT 0 \\[${i === 2 ? 'uefi' : 'bios'}\\]`, 'm'));
  t.regex(lastLine(r.stderr), /^3 of 3 nodes reported MV-EXIT 0; [\d.]+ s from power-on to the last result$/);
  leftNothing(t, r.pid!);
});

test.serial("cluster run: one node's program fails, the run exits non-zero, and the other node is still reported", (t) => {
  t.timeout(600_000);
  const r = cli(['cluster', 'run', failIso, '--nodes', '2', '--timeout', '400', '--json'], {}, 540_000);
  t.is(r.status, 1, r.stderr);
  const [n0, n1] = jsonLines(r.stdout);
  t.like(n0, { index: 0, mac: mac(0), ok: true, status: 0, problem: null });
  t.regex(n0.report.console, /^file: This line was read from a file inside the image\.$/m);
  t.like(n1, { index: 1, mac: mac(1), ok: false, status: 7, problem: 'MV-EXIT 7' });
  t.regex(n1.report.console, /^env MV_NODE_INDEX=1$/m);
  t.regex(r.stderr, /^1 +52:54:00:77:00:01 .* MV-EXIT 7 \[bios\]/m);
  t.regex(r.stderr, new RegExp(`^node 1 ${mac(1)}: MV-EXIT 7 \\(serial log (/\\S+/node-1\\.log)\\)$`, 'm'));
  const log = r.stderr.match(/serial log (\S+node-1\.log)\)/)![1];
  t.regex(readFileSync(log, 'utf8'), /^MV-EXIT 7\s*$/m, "the failed node's serial log is kept");
  rmSync(dirname(log), { recursive: true, force: true });
  t.is(
    lastLine(r.stderr),
    "mv-image: cluster: 1 of 2 nodes failed (see the table above) (fix: read the failed nodes' serial logs, kept at the paths above)",
  );
  leftNothing(t, r.pid!);
});

test.serial('cluster run: Ctrl-C while the nodes boot leaves no process, namespace, tap or run directory', async (t) => {
  t.timeout(300_000);
  const run = start(['cluster', 'run', iso, '--nodes', '2', '--uefi-nodes', '1', '--timeout', '300']);
  const ns = `mv-cluster-${run.pid}`;
  // A node has fetched its boot script: dnsmasq, serve and both QEMUs run in the namespace.
  await until('a node to fetch its boot script', () => /boot script sent/.test(run.stderr()), 240_000);
  const pids = pidsIn(ns);
  const names = pids.map(comm);
  t.true(names.includes('dnsmasq'), names.join(' '));
  t.is(names.filter((n) => n?.startsWith('qemu-system')).length, 2, names.join(' '));
  t.true(names.includes('node'), 'serve');
  process.kill(run.pid, 'SIGINT');
  const r = await run.done;
  t.is(r.status, 130, r.stderr);
  t.is(
    lastLine(r.stderr),
    'mv-image: cluster: stopped by SIGINT: every node, serve, dnsmasq, the network namespace and its taps were stopped and removed (fix: run it again)',
  );
  // Only that: the stopped nodes are not reported as failures, and no table is printed.
  t.is(r.stderr.match(/^mv-image: /gm)?.length, 1, r.stderr);
  t.notRegex(r.stderr, /^node \d .*serial log/m);
  t.is(r.stdout, '');
  leftNothing(t, run.pid, pids);
});

test.serial("serve in proxy-DHCP mode beside the site's own DHCP server (a separate dnsmasq) boots a node", async (t) => {
  t.timeout(400_000);
  // The "site": a bridge with serve's address, and the site's DHCP server on another host (a
  // namespace of its own, joined to the bridge by a veth pair) handing out 10.78.0.100-150.
  const { ns, bridge } = testNet(t, 'proxy', '10.78.0.1/24');
  const site = `mvt-site-${process.pid}`;
  ip('netns', 'add', site);
  t.teardown(() => removeNs(site));
  ip('-n', ns, 'link', 'add', 'mvtveth0', 'type', 'veth', 'peer', 'name', 'mvtveth1', 'netns', site);
  ip('-n', ns, 'link', 'set', 'mvtveth0', 'master', bridge, 'up');
  ip('-n', site, 'addr', 'add', '10.78.0.2/24', 'dev', 'mvtveth1');
  ip('-n', site, 'link', 'set', 'mvtveth1', 'up');
  ip('-n', ns, 'tuntap', 'add', 'dev', 'mvttap0', 'mode', 'tap');
  ip('-n', ns, 'link', 'set', 'mvttap0', 'master', bridge, 'up');
  const dir = tempDir('mv-site-dhcp-');
  writeFileSync(
    join(dir, 'site.conf'),
    [
      'port=0',
      'interface=mvtveth1',
      'bind-interfaces',
      'dhcp-range=10.78.0.100,10.78.0.150,255.255.255.0,1h',
      'dhcp-authoritative',
      `dhcp-leasefile=${dir}/leases`,
      `pid-file=${dir}/pid`,
      'log-facility=-',
      'log-dhcp',
      '',
    ].join('\n'),
  );
  const siteDhcp = spawn('ip', ['netns', 'exec', site, 'dnsmasq', '--keep-in-foreground', `--conf-file=${dir}/site.conf`], {
    stdio: 'ignore',
  });
  t.teardown(() => {
    siteDhcp.kill('SIGKILL');
  });

  const node = '52:54:00:78:00:05';
  const serve = start(
    ['serve', iso, '--interface', bridge, '--proxy-dhcp', '--until-reports', '1', '--mac', node, '--timeout', '300', '--json'],
    ['ip', 'netns', 'exec', ns],
  );
  await until(
    'serve to serve',
    () => /^serving hello on mvtbr0: proxy-DHCP/m.test(serve.stderr()) || /^mv-image: /m.test(serve.stderr()),
    60_000,
  );
  const b = await boot({
    pxe: { netns: ns, tap: 'mvttap0', mac: node },
    accel: 'tcg',
    memMiB: 1024,
    cpus: 2,
    timeoutMs: 300_000,
    logPath: join(dir, 'node.log'),
  });
  t.is(b.status, 0);
  const r = await serve.done;
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /proxy-DHCP beside the site's DHCP server on 10\.78\.0\.0\/255\.255\.255\.0/);
  const [n] = jsonLines(r.stdout);
  t.like(n, { mac: node, index: 0, status: 0 });
  // The address came from the site's server, not from serve.
  t.regex(n.ip, /^10\.78\.0\.1([0-4]\d|50)$/);
  const leases = readFileSync(join(dir, 'leases'), 'utf8');
  t.true(
    leases.split('\n').some((l) => l.includes(node) && l.includes(n.ip)),
    leases,
  );
  t.regex(n.console, /^MV-HRT vcpus=1 cpl=0$/m);
});

test.serial('bad input: one clear line and a non-zero exit, nothing left running', async (t) => {
  t.timeout(120_000);
  const { ns, bridge } = testNet(t, 'bad', '10.79.0.1/24');
  const inNs = (args: string[]) => {
    const r = sh('ip', ['netns', 'exec', ns, process.execPath, bin, ...args]);
    return { status: r.status, stderr: r.stderr };
  };
  const oneLine = (r: { status: number | null; stderr: string }, re: RegExp) => {
    t.is(r.status, 1, r.stderr);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr.trim(), re);
  };
  // What a serve killed outright left (a dead pid's run directory) goes before anything else.
  let dead = 4_000_000;
  while (existsSync(`/proc/${dead}`)) dead++;
  const stale = `/run/mv-image/serve-${dead}-test`;
  mkdirSync(join(stale, 'tftp'), { recursive: true });
  const first = inNs(['serve', iso, '--interface', 'nosuch0']);
  t.false(existsSync(stale), "a dead serve's run directory is removed");
  t.regex(first.stderr, new RegExp(`^removed what \\d+ serves? killed earlier left: (.*, )?${stale}(, .*)?$`, 'm'));
  t.regex(first.stderr, /^mv-image: serve: there is no network interface "nosuch0"/m);
  oneLine(
    inNs(['serve', iso, '--interface', 'nosuch0']),
    /^mv-image: serve: there is no network interface "nosuch0" \(fix: pick one of: mvtbr0 \('ip -br link' lists them\)\)$/,
  );
  const text = join(out, 'notes.txt');
  writeFileSync(text, 'not an image\n');
  const notImage =
    /^mv-image: serve: \S+ is neither a netboot directory nor an ISO: (it is a file without an ISO 9660 volume descriptor|it has no boot\.ipxe) \(fix: pass an ISO or a directory made by 'mv-image build --format netboot'\)$/;
  oneLine(inNs(['serve', text, '--interface', bridge]), notImage);
  oneLine(inNs(['serve', tempDir(), '--interface', bridge]), notImage);
  oneLine(inNs(['cluster', 'run', text, '--nodes', '2']), notImage);
  oneLine(
    inNs(['cluster', 'run', iso, '--nodes', '2', '--uefi-nodes', '3']),
    /^mv-image: cluster: --uefi-nodes 3 is more than --nodes 2 \(fix: give --uefi-nodes at most --nodes\)$/,
  );
  oneLine(
    inNs(['serve', iso, '--interface', bridge, '--dhcp-range', '10.80.0.100,10.80.0.199']),
    /^mv-image: serve: --dhcp-range "10\.80\.0\.100,10\.80\.0\.199" has 10\.80\.0\.100, outside mvtbr0's subnet/,
  );

  // Port 8080 taken on the serving address.
  const holder = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      "require('net').createServer().listen(8080, '10.79.0.1', () => console.log('listening'))",
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  await new Promise((r) => holder.stdout.once('data', r));
  const before = pidsIn(ns);
  oneLine(
    inNs(['serve', iso, '--interface', bridge, '--dhcp-range', '10.79.0.100,10.79.0.199', '--port', '8080']),
    /^mv-image: serve: port 8080 on 10\.79\.0\.1 is already in use \(fix: stop what listens there, or pick another --port\)$/,
  );
  t.deepEqual(
    pidsIn(ns)
      .map(comm)
      .filter((c) => c === 'dnsmasq'),
    [],
    'no dnsmasq left',
  );
  t.deepEqual(pidsIn(ns).sort(), before.sort());
});

test.serial('serve: Ctrl-C stops dnsmasq and removes its run directory', async (t) => {
  t.timeout(120_000);
  const { ns, bridge } = testNet(t, 'sigint', '10.81.0.1/24');
  const serve = start(['serve', iso, '--interface', bridge, '--dhcp-range', '10.81.0.100,10.81.0.199'], ['ip', 'netns', 'exec', ns]);
  await until(
    'serve to serve',
    () =>
      /^serving hello on mvtbr0: DHCP 10\.81\.0\.100-10\.81\.0\.199, .*Ctrl-C to stop$/m.test(serve.stderr()) ||
      /^mv-image: /m.test(serve.stderr()),
    60_000,
  );
  const pids = pidsIn(ns);
  t.true(pids.map(comm).includes('dnsmasq'), pids.map(comm).join(' '));
  const serveNode = pids.find((p) => comm(p) === 'node')!;
  t.true(readdirSync('/run/mv-image').some((d) => d.startsWith(`serve-${serveNode}-`)));
  process.kill(serveNode, 'SIGINT');
  const r = await serve.done;
  t.is(r.status, 130, r.stderr);
  t.is(lastLine(r.stderr), 'mv-image: serve: stopped by SIGINT: dnsmasq was stopped and its run directory removed (fix: run it again)');
  t.deepEqual(pidsIn(ns), []);
  for (const p of pids) t.false(running(p), `process ${p} (${comm(p)}) is gone`);
  t.false(readdirSync('/run/mv-image').some((d) => d.startsWith(`serve-${serveNode}-`)));
});

test.after.always(() => {
  // Whatever a failed test left (its own namespaces only).
  for (const ns of namespaces()) if (ns.endsWith(`-${process.pid}`) && ns.startsWith('mvt-')) removeNs(ns);
  rmSync(out, { recursive: true, force: true });
});
