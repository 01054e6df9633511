// The parts of `mv-image serve` that run without a guest or root: node reports read as hostile
// input, dnsmasq's config (checked by dnsmasq itself), and the HTTP server the nodes boot from
// (byte ranges, the per-node iPXE script, announcements and reports), on 127.0.0.1.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { dnsmasqConfig } from '../../src/serve/dnsmasq';
import { startHttp } from '../../src/serve/http';
import { NodeEvent, NodeTable } from '../../src/serve/nodes';
import { BODY_MAX, parseReport } from '../../src/serve/report';
import { tempDir } from '../helpers/cli';

const MAC = '52:54:00:77:00:01';
const head = (o: Record<string, string> = {}) =>
  Object.entries({
    hostname: 'hello-1',
    mac: MAC,
    ip: '10.77.0.130',
    index: '1',
    status: '0',
    start: '6.65',
    exit: '7.63',
    ...o,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
const report = (o: Record<string, string> = {}, console = 'hello\r\nMV-HRT vcpus=1 cpl=0\r\n') =>
  Buffer.from(
    `mv-report 1\n${head(o)}\nconsole\nScript started on 2026-01-01 00:00:00+00:00 [COMMAND="x"]\n${console}\nScript done on 2026-01-01 00:00:01+00:00 [COMMAND_EXIT_CODE="0"]\n`,
  );

test("a report is read field by field; the console loses the pty CRs and script's header and footer", (t) => {
  const r = parseReport(report());
  t.deepEqual(r, {
    hostname: 'hello-1',
    mac: MAC,
    ip: '10.77.0.130',
    index: 1,
    status: 0,
    startS: 6.65,
    exitS: 7.63,
    console: 'hello\nMV-HRT vcpus=1 cpl=0\n',
  });
  const noIndex = parseReport(report({ index: '' }));
  t.is(typeof noIndex === 'object' && noIndex.index, null);
});

test('a report that is not exactly what init sends is refused, with the reason', (t) => {
  const why = (b: Buffer) => {
    const r = parseReport(b);
    return typeof r === 'string' ? r : 'accepted';
  };
  t.is(why(Buffer.from(`mv-report 2\n${head()}\nconsole\n`)), 'it does not start with "mv-report 1"');
  t.is(why(Buffer.from(`mv-report 1\n${head()}\n`)), 'it has no console section');
  t.is(why(report({ status: '256' })), 'field status is over 255');
  t.is(why(report({ status: '-1' })), 'field status has an invalid value');
  t.is(why(report({ mac: '52:54:00:77:00:0G' })), 'field mac has an invalid value');
  t.is(why(report({ ip: '999.1.1.1' })), 'field ip is not an IPv4 address');
  t.is(why(report({ hostname: 'a;reboot' })), 'field hostname has an invalid value');
  t.is(why(report({ hostname: '$(id)' })), 'field hostname has an invalid value');
  t.is(why(Buffer.from(`mv-report 1\n${head()}\nmac=${MAC}\nconsole\n`)), `line "mac=${MAC}" is not one of its fields`);
  t.is(why(Buffer.from(`mv-report 1\n${head()}\nuser=root\nconsole\n`)), 'line "user=root" is not one of its fields');
  t.is(why(Buffer.from(`mv-report 1\nhostname=h\nconsole\n`)), 'field mac is missing');
  t.regex(why(Buffer.concat([report(), Buffer.alloc(BODY_MAX)])), /^it is \d+ bytes, over \d+$/);
});

test('dnsmasq config: proxy-DHCP beside the site server, or a full DHCP server; only its own files; dnsmasq --test accepts both', (t) => {
  const dir = tempDir('mv-dnsmasq-');
  const common = { dir, iface: 'mvbr0', base: 'http://10.77.0.1:8080', netmask: '255.255.255.0' };
  const proxy = dnsmasqConfig({ ...common, proxyNetwork: '10.77.0.0' });
  const full = dnsmasqConfig({ ...common, range: ['10.77.0.100', '10.77.0.199'], ra: true });
  for (const c of [proxy, full]) {
    t.regex(c, /^port=0$/m, 'no DNS');
    t.regex(c, /^interface=mvbr0\nbind-interfaces$/m);
    t.regex(c, new RegExp(`^dhcp-leasefile=${dir}/leases$`, 'm'));
    t.regex(c, new RegExp(`^pid-file=${dir}/dnsmasq.pid$`, 'm'));
    t.regex(c, new RegExp(`^tftp-root=${dir}/tftp$`, 'm'));
    t.regex(c, /^dhcp-userclass=set:ipxe,iPXE$/m);
    for (const l of c.split('\n').filter((x) => /^[a-z-]+=\//.test(x))) t.true(l.includes(`=${dir}/`), `${l} is outside the run directory`);
  }
  t.regex(proxy, /^dhcp-range=10\.77\.0\.0,proxy$/m);
  t.regex(proxy, /^pxe-service=tag:!ipxe,x86PC,"mv-image: iPXE",undionly\.kpxe$/m);
  t.regex(proxy, /^pxe-service=tag:!ipxe,X86-64_EFI,"mv-image: iPXE \(UEFI\)",ipxe\.efi$/m);
  t.regex(proxy, /^pxe-service=tag:ipxe,x86PC,"mv-image",mv-boot\.ipxe$/m);
  t.notRegex(proxy, /dhcp-authoritative|dhcp-boot/, 'a proxy never hands out addresses');
  t.regex(full, /^dhcp-range=10\.77\.0\.100,10\.77\.0\.199,255\.255\.255\.0,1h$/m);
  t.regex(full, /^dhcp-boot=tag:!ipxe,tag:!efi64,undionly\.kpxe$/m);
  t.regex(full, /^dhcp-boot=tag:!ipxe,tag:efi64,ipxe\.efi$/m);
  t.regex(full, /^dhcp-boot=tag:ipxe,http:\/\/10\.77\.0\.1:8080\/boot\.ipxe$/m);
  t.regex(full, /^enable-ra$/m);
  t.notRegex(proxy, /enable-ra/);
  for (const [name, c] of [
    ['proxy', proxy],
    ['full', full],
  ]) {
    const f = join(dir, `${name}.conf`);
    writeFileSync(f, c);
    const r = spawnSync('dnsmasq', ['--test', `--conf-file=${f}`], { encoding: 'utf8' });
    t.is(r.status, 0, `${name}: ${r.stderr}`);
  }
});

interface Served {
  url: string;
  events: NodeEvent[];
  table: NodeTable;
  close: () => void;
}

async function served(t: import('ava').ExecutionContext): Promise<Served> {
  const dir = tempDir('mv-http-');
  const vmlinuz = join(dir, 'vmlinuz'),
    initrd = join(dir, 'initrd.img');
  writeFileSync(vmlinuz, Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251)));
  writeFileSync(initrd, Buffer.alloc(0));
  const events: NodeEvent[] = [];
  const table = new NodeTable([MAC], 3, (e) => events.push(e));
  // A free port first: the scripts name the server by its address and port.
  const port = await new Promise<number>((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => done(p));
    });
  });
  const server = await startHttp({
    files: { name: 'hello', vmlinuz, initrd, params: ['console=ttyS0', '"mv.x=a b"'] },
    address: '127.0.0.1',
    port,
    table,
  });
  const url = `http://127.0.0.1:${port}`;
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  t.teardown(close);
  return { url, events, table, close };
}

test('HTTP: the kernel whole, one byte range, a suffix, a range past the end (416), HEAD, several ranges (whole)', async (t) => {
  const { url } = await served(t);
  const whole = await fetch(`${url}/vmlinuz`);
  t.is(whole.status, 200);
  t.is(whole.headers.get('accept-ranges'), 'bytes');
  const bytes = Buffer.from(await whole.arrayBuffer());
  t.is(bytes.length, 1000);
  const part = await fetch(`${url}/vmlinuz`, { headers: { Range: 'bytes=250-259' } });
  t.is(part.status, 206);
  t.is(part.headers.get('content-range'), 'bytes 250-259/1000');
  t.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(250, 260));
  const open = await fetch(`${url}/vmlinuz`, { headers: { Range: 'bytes=990-' } });
  t.is(open.status, 206);
  t.deepEqual(Buffer.from(await open.arrayBuffer()), bytes.subarray(990));
  const suffix = await fetch(`${url}/vmlinuz`, { headers: { Range: 'bytes=-7' } });
  t.is(suffix.headers.get('content-range'), 'bytes 993-999/1000');
  t.deepEqual(Buffer.from(await suffix.arrayBuffer()), bytes.subarray(993));
  const past = await fetch(`${url}/vmlinuz`, { headers: { Range: 'bytes=1000-1010' } });
  t.is(past.status, 416);
  t.is(past.headers.get('content-range'), 'bytes */1000');
  const clipped = await fetch(`${url}/vmlinuz`, { headers: { Range: 'bytes=995-5000' } });
  t.is(clipped.headers.get('content-range'), 'bytes 995-999/1000');
  const several = await fetch(`${url}/vmlinuz`, { headers: { Range: 'bytes=0-1,5-6' } });
  t.is(several.status, 200);
  t.is(Buffer.from(await several.arrayBuffer()).length, 1000);
  const h = await fetch(`${url}/vmlinuz`, { method: 'HEAD' });
  t.is(h.headers.get('content-length'), '1000');
  const empty = await fetch(`${url}/initrd.img`);
  t.is(empty.status, 200);
  t.is((await empty.arrayBuffer()).byteLength, 0);
  t.is((await fetch(`${url}/etc/passwd`)).status, 404);
  t.is((await fetch(`${url}/vmlinuz`, { method: 'PUT', body: 'x' })).status, 405);
});

test('HTTP: an expected node gets its own script (identity on the kernel command line); others, and bad reports, are refused', async (t) => {
  const { url, events, table } = await served(t);
  t.regex(await (await fetch(`${url}/boot.ipxe`)).text(), /^chain http:\/\/127\.0\.0\.1:\d+\/node\.ipxe\?mac=\$\{netX\/mac:hexhyp\}$/m);
  const script = await (await fetch(`${url}/node.ipxe?mac=52-54-00-77-00-01`)).text();
  t.regex(
    script,
    new RegExp(
      `^kernel ${url}/vmlinuz initrd=initrd\\.img console=ttyS0 "mv\\.x=a b" mv\\.server=${url} mv\\.mac=${MAC} mv\\.node=0 mv\\.nodes=3$`,
      'm',
    ),
  );
  t.regex(script, new RegExp(`^initrd ${url}/initrd\\.img$`, 'm'));
  t.regex(await (await fetch(`${url}/node.ipxe?mac=52:54:00:77:00:09`)).text(), /is not one of the nodes this server expects\nexit 1/);
  t.is((await fetch(`${url}/node.ipxe?mac=\${x}`)).status, 400);
  t.is((await fetch(`${url}/up`, { method: 'POST', body: `mac=${MAC}&ip=10.77.0.130` })).status, 200);
  t.is(await (await fetch(`${url}/hosts`)).text(), '10.77.0.130\n');
  t.is((await fetch(`${url}/up`, { method: 'POST', body: 'mac=52:54:00:77:00:09&ip=10.77.0.131' })).status, 403);
  t.is((await fetch(`${url}/report`, { method: 'POST', body: report({ status: 'x' }) })).status, 400);
  t.is((await fetch(`${url}/report`, { method: 'POST', body: report({ mac: '52:54:00:77:00:09' }) })).status, 403);
  t.is((await fetch(`${url}/report`, { method: 'POST', body: Buffer.alloc(BODY_MAX + 1) })).status, 413);
  t.is(table.reported, 0);
  t.is((await fetch(`${url}/report`, { method: 'POST', body: report({ status: '3' }) })).status, 200);
  t.is(table.reported, 1);
  t.is(table.nodes[0].report?.status, 3);
  t.deepEqual(
    events.map((e) => e.kind),
    ['boot', 'refused', 'refused', 'up', 'refused', 'refused', 'refused', 'refused', 'report'],
  );
});
