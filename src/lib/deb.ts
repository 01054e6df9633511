// Read a Debian package without dpkg: the ar container, then data.tar.xz through an xz
// decompressor (WASM, no native addon) and tar-stream. What cannot be read is one error naming
// the package (its only packages are kernel packages: src/stages/kernel.ts, tuned-kernel.ts).
import { createReadStream, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { XzReadableStream } from 'xz-decompress';
import { isMvError } from './errors';
import { msg } from './messages';

export interface ArMember {
  name: string;
  offset: number;
  size: number;
}

/** Lists the members of an ar archive (the outer container of a .deb). */
export function arMembers(path: string): ArMember[] {
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    const magic = Buffer.alloc(8);
    readSync(fd, magic, 0, 8, 0);
    if (magic.toString('latin1') !== '!<arch>\n') throw msg.kernelPackageBroken(path, 'not an ar archive');
    const out: ArMember[] = [];
    const hdr = Buffer.alloc(60);
    for (let off = 8; off + 60 <= total;) {
      readSync(fd, hdr, 0, 60, off);
      if (hdr.toString('latin1', 58, 60) !== '`\n') throw msg.kernelPackageBroken(path, `bad ar header at byte ${off}`);
      const name = hdr.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      const size = parseInt(hdr.toString('latin1', 48, 58).trim(), 10);
      out.push({ name, offset: off + 60, size });
      off += 60 + size + (size % 2);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export interface TarFile {
  path: string;
  type: string;
  linkname?: string;
  mode: number;
  data: Buffer;
}

/**
 * Streams the entries of a .deb's data.tar.xz. `want` picks which entries to read into memory;
 * the rest are skipped without buffering.
 */
export async function readDebData(debPath: string, want: (path: string) => boolean, onFile: (f: TarFile) => void): Promise<void> {
  const member = arMembers(debPath).find((m) => m.name.startsWith('data.tar'));
  if (!member) throw msg.kernelPackageBroken(debPath, 'no data.tar member');
  if (member.name !== 'data.tar.xz') throw msg.kernelPackageBroken(debPath, `its ${member.name} is not xz-compressed`);
  const raw = createReadStream(debPath, { start: member.offset, end: member.offset + member.size - 1 });
  const xz = new XzReadableStream(Readable.toWeb(raw) as unknown as ReadableStream<Uint8Array>);
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const path = header.name.replace(/^\.\//, '/');
    if (!want(path)) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const parts: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      parts.push(c as Buffer);
    });
    stream.on('end', () => {
      onFile({
        path,
        type: header.type ?? 'file',
        linkname: header.linkname ?? undefined,
        mode: header.mode ?? 0o644,
        data: Buffer.concat(parts),
      });
      next();
    });
  });
  try {
    await pipeline(Readable.fromWeb(xz as unknown as import('node:stream/web').ReadableStream<Uint8Array>), extract);
  } catch (e) {
    throw isMvError(e) ? e : msg.kernelPackageBroken(debPath, `its data.tar.xz cannot be read: ${(e as Error).message}`);
  }
}
