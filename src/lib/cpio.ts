// A newc ("070701") cpio writer with reproducible defaults, for the Linux initramfs.
// Entries are sorted by path, parents come before children, inode numbers are assigned in that
// order, and owner/mtime are fixed, so the same inputs always give the same bytes.

export type CpioEntry =
  | { path: string; type: 'file'; data: Buffer; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'chardev'; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

function norm(p: string): string {
  return p.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Adds the missing parent directories and sorts, so the archive unpacks in one pass. */
export function normalizeEntries(entries: CpioEntry[]): CpioEntry[] {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const path = norm(e.path);
    if (!path) continue;
    byPath.set(path, { ...e, path });
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'dir' });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function writeCpio(entries: CpioEntry[], mtime = 0): Buffer {
  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => { chunks.push(b); offset += b.length; };
  const pad = () => { const n = (4 - (offset % 4)) % 4; if (n) push(Buffer.alloc(n)); };
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

  const record = (ino: number, mode: number, nlink: number, data: Buffer, name: string, rdev = [0, 0]) => {
    const nameBuf = Buffer.from(name + '\0');
    const header = '070701' + [ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex).join('');
    push(Buffer.from(header, 'ascii'));
    push(nameBuf);
    pad();
    push(data);
    pad();
  };

  let ino = 1;
  for (const e of normalizeEntries(entries)) {
    switch (e.type) {
      case 'dir': record(ino++, S_IFDIR | (e.mode ?? 0o755), 2, Buffer.alloc(0), e.path); break;
      case 'file': record(ino++, S_IFREG | (e.mode ?? 0o644), 1, e.data, e.path); break;
      case 'symlink': record(ino++, S_IFLNK | 0o777, 1, Buffer.from(e.target), e.path); break;
      case 'chardev': record(ino++, S_IFCHR | (e.mode ?? 0o600), 1, Buffer.alloc(0), e.path, [e.major, e.minor]); break;
    }
  }
  record(0, 0, 1, Buffer.alloc(0), 'TRAILER!!!');
  return Buffer.concat(chunks);
}

export interface CpioMember { path: string; mode: number; size: number; data: Buffer }

/** Reads a newc archive (as written above, or by the kernel's tools). */
export function readCpio(buf: Buffer): CpioMember[] {
  const out: CpioMember[] = [];
  const align = (n: number) => (n + 3) & ~3;
  for (let off = 0; off + 110 <= buf.length;) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`bad cpio header at ${off}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1), size = field(6), namesize = field(11);
    const path = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    const dataOff = align(off + 110 + namesize);
    if (path === 'TRAILER!!!') break;
    out.push({ path, mode, size, data: buf.subarray(dataOff, dataOff + size) });
    off = align(dataOff + size);
  }
  return out;
}
