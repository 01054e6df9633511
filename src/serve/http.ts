// mv-image's own HTTP server for the nodes: the iPXE scripts, the kernel and the initramfs
// (streamed, with Range), and the nodes' announcements and reports (bounded, validated). It
// listens on the serving interface's address only.
import { createReadStream, statSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import { ipxeArgs, KERNEL_LINE_MAX } from '../lib/cmdline';
import { msg } from '../lib/messages';
import { render } from '../lib/templates';
import type { BootFiles } from './image';
import type { NodeTable } from './nodes';
import { BODY_MAX, MAC_RE, normalMac, parseReport } from './report';

export interface HttpOptions {
  files: BootFiles;
  address: string;
  port: number;
  table: NodeTable;
  /** Each request when it ends: method, path, status, bytes sent, seconds it took. */
  onRequest?: (line: string) => void;
}

const peer = (req: IncomingMessage) => (req.socket.remoteAddress ?? '?').replace(/^::ffff:/, '');

function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

/** A file streamed from disk, whole or the one byte range asked for (several ranges: whole). */
function sendFile(req: IncomingMessage, res: ServerResponse, path: string): void {
  const size = statSync(path).size;
  let start = 0,
    end = size - 1,
    status = 200;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(req.headers.range ?? '');
  if (m && (m[1] || m[2])) {
    if (m[1]) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    } else start = Math.max(0, size - Number(m[2]));
    if (start > end || start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    status = 206;
  }
  res.writeHead(status, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': end - start + 1,
    'Accept-Ranges': 'bytes',
    ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(path, { start, end });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** The request body, at most `max` bytes (undefined when it is larger). */
function body(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((done) => {
    if (Number(req.headers['content-length'] ?? 0) > max) {
      done(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let got = 0;
    req.on('data', (b: Buffer) => {
      got += b.length;
      if (got > max) {
        done(undefined);
        req.destroy();
        return;
      }
      chunks.push(b);
    });
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', () => done(undefined));
  });
}

/** The kernel parameters of one node: the image's, then where to report and who it is. */
export function nodeParams(files: BootFiles, base: string, mac: string, index: number, count: number | undefined): string {
  const ours = [`mv.server=${base}`, `mv.mac=${mac}`, `mv.node=${index}`, ...(count ? [`mv.nodes=${count}`] : [])];
  // initrd= names the initramfs for a kernel started through its EFI stub (iPXE before 1.21.1).
  const line = ipxeArgs(['initrd=initrd.img', ...files.params, ...ours].join(' '));
  if (line.length > KERNEL_LINE_MAX) throw msg.cmdlineTooLong(line.length, KERNEL_LINE_MAX);
  return line;
}

async function handle(o: HttpOptions, base: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://node');
  const get = req.method === 'GET' || req.method === 'HEAD';
  const route = `${get ? 'GET' : req.method} ${url.pathname}`;
  const from = peer(req);
  switch (route) {
    case 'GET /boot.ipxe':
      return text(res, 200, render('serve.ipxe.ejs', { base }));
    case 'GET /node.ipxe': {
      const mac = url.searchParams.get('mac') ?? '';
      if (!MAC_RE.test(mac)) {
        o.table.refused(from, 'node.ipxe without a valid mac');
        return text(res, 400, '#!ipxe\necho mv-image: no valid MAC in the request\nexit 1\n');
      }
      const n = o.table.boot(normalMac(mac), from);
      if (!n) {
        o.table.refused(from, `${normalMac(mac)} is not one of the expected nodes`);
        return text(res, 200, `#!ipxe\necho mv-image: ${normalMac(mac)} is not one of the nodes this server expects\nexit 1\n`);
      }
      const args = nodeParams(o.files, base, n.mac, n.index, o.table.count);
      return text(res, 200, render('node.ipxe.ejs', { base, args, name: o.files.name, index: n.index, mac: n.mac }));
    }
    case 'GET /vmlinuz':
      return sendFile(req, res, o.files.vmlinuz);
    case 'GET /initrd.img':
      return sendFile(req, res, o.files.initrd);
    case 'GET /hosts':
      return text(
        res,
        200,
        o.table
          .hosts()
          .map((h) => `${h}\n`)
          .join(''),
      );
    case 'POST /up': {
      const b = await body(req, 1024);
      const p = new URLSearchParams(b?.toString('latin1') ?? '');
      const mac = p.get('mac') ?? '',
        ip = p.get('ip') ?? '';
      if (!MAC_RE.test(mac) || !isIPv4(ip) || !o.table.up(normalMac(mac), ip)) {
        o.table.refused(from, 'an announcement without a valid, known mac and ip');
        return text(res, 403, 'refused\n');
      }
      return text(res, 200, 'ok\n');
    }
    case 'POST /report': {
      const b = await body(req, BODY_MAX);
      const r = b ? parseReport(b) : `it is over ${BODY_MAX} bytes`;
      if (typeof r === 'string') {
        o.table.refused(from, `a report that ${r}`);
        return text(res, b ? 400 : 413, 'refused\n');
      }
      if (!o.table.report(r)) {
        o.table.refused(from, `a report from ${r.mac}, which did not boot from this server`);
        return text(res, 403, 'refused\n');
      }
      return text(res, 200, 'ok\n');
    }
    default:
      return text(res, get || req.method === 'POST' ? 404 : 405, 'not here\n');
  }
}

/** Listens on address:port; fails with one line when the port is taken. */
export function startHttp(o: HttpOptions): Promise<Server> {
  const base = `http://${o.address}:${o.port}`;
  const server = createServer((req, res) => {
    const t0 = Date.now();
    if (o.onRequest)
      res.on('close', () =>
        o.onRequest!(
          `${peer(req)} ${req.method} ${JSON.stringify((req.url ?? '').slice(0, 80))} ${res.statusCode} in ${((Date.now() - t0) / 1000).toFixed(2)} s`,
        ),
      );
    handle(o, base, req, res).catch(() => {
      if (!res.headersSent) text(res, 500, 'error\n');
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  server.maxHeadersCount = 50;
  server.maxConnections = 512;
  return new Promise((done, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') fail(msg.portInUse(o.port, o.address));
      else if (e.code === 'EACCES') fail(msg.notRoot('serve', `port ${o.port} is below 1024`));
      else fail(e);
    });
    server.listen(o.port, o.address, () => done(server));
  });
}
