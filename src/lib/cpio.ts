// A newc ("070701") cpio writer with reproducible defaults, for the Linux initramfs.
// Entries are sorted by path, parents come before children, inode numbers are assigned in that
// order, and owner/mtime are fixed, so the same inputs always give the same bytes.

export type CpioEntry =
  | { path: string; type: 'file'; data: Buffer; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'chardev'; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000,
  S_IFCHR = 0o020000;

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
  const push = (b: Buffer) => {
    chunks.push(b);
    offset += b.length;
  };
  const pad = () => {
    const n = (4 - (offset % 4)) % 4;
    if (n) push(Buffer.alloc(n));
  };
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
      case 'dir':
        record(ino++, S_IFDIR | (e.mode ?? 0o755), 2, Buffer.alloc(0), e.path);
        break;
      case 'file':
        record(ino++, S_IFREG | (e.mode ?? 0o644), 1, e.data, e.path);
        break;
      case 'symlink':
        record(ino++, S_IFLNK | 0o777, 1, Buffer.from(e.target), e.path);
        break;
      case 'chardev':
        record(ino++, S_IFCHR | (e.mode ?? 0o600), 1, Buffer.alloc(0), e.path, [e.major, e.minor]);
        break;
    }
  }
  record(0, 0, 1, Buffer.alloc(0), 'TRAILER!!!');
  return Buffer.concat(chunks);
}

export interface CpioMember {
  path: string;
  mode: number;
  size: number;
  data: Buffer;
}

/** A newc archive that is not one (damaged, cut short, or over a limit); callers say whose. */
export class CpioError extends Error {}

export interface CpioLimits {
  /** Most members it may list. */
  members: number;
  /** Most bytes one kept member may have. */
  keepBytes: number;
}
const DEFAULT_LIMITS: CpioLimits = { members: 1_000_000, keepBytes: 1 << 30 };
const HEADER = 110,
  NAME_MAX = 4096;
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Reads a newc archive as it streams in (push each chunk, then end()): every member's path,
 *  mode and size, and the data of the members `keep` picks (others get an empty buffer). Only the
 *  bytes a header announces are taken, each field is checked, and it stops at TRAILER!!!. */
export class CpioReader {
  readonly members: CpioMember[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private offset = 0; // of `pending` in the archive, for error messages
  private data?: { member: CpioMember; left: number; chunks?: Buffer[] };
  private skip = 0;
  private done = false;

  constructor(
    private readonly keep: (path: string) => boolean = () => true,
    private readonly limits = DEFAULT_LIMITS,
  ) {}

  push(chunk: Buffer): void {
    if (this.done) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (!this.done && this.step());
  }

  end(): CpioMember[] {
    if (!this.done) throw new CpioError(`the archive ends at byte ${this.offset + this.pending.length}, before its TRAILER!!! entry`);
    return this.members;
  }

  private take(n: number): Buffer {
    const b = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.offset += n;
    return b;
  }

  /** Makes one step of progress; false when it needs more bytes. */
  private step(): boolean {
    if (this.data) {
      const b = this.take(Math.min(this.data.left, this.pending.length));
      this.data.chunks?.push(Buffer.from(b));
      this.data.left -= b.length;
      if (this.data.left > 0) return false;
      if (this.data.chunks) this.data.member.data = Buffer.concat(this.data.chunks);
      this.skip = pad4(this.data.member.size);
      this.data = undefined;
      return true;
    }
    if (this.skip) {
      this.skip -= this.take(Math.min(this.skip, this.pending.length)).length;
      return this.skip === 0;
    }
    if (this.pending.length < HEADER) return false;
    const at = this.offset;
    const head = this.pending.toString('latin1', 0, HEADER);
    if (!/^07070[12][0-9A-Fa-f]{104}$/.test(head)) throw new CpioError(`the entry header at byte ${at} is damaged`);
    const field = (i: number) => parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1),
      size = field(6),
      namesize = field(11);
    if (namesize < 1 || namesize > NAME_MAX) throw new CpioError(`the entry at byte ${at} has a name of ${namesize} bytes`);
    const nameEnd = HEADER + namesize;
    if (this.pending.length < nameEnd + pad4(nameEnd)) return false;
    if (this.pending[nameEnd - 1] !== 0) throw new CpioError(`the entry name at byte ${at} does not end with a NUL`);
    const path = this.pending.toString('utf8', HEADER, nameEnd - 1);
    this.take(nameEnd + pad4(nameEnd));
    if (path === 'TRAILER!!!') {
      this.done = true;
      return false;
    }
    if (this.members.length >= this.limits.members) throw new CpioError(`it has more than ${this.limits.members} entries`);
    const kept = this.keep(path);
    if (kept && size > this.limits.keepBytes) throw new CpioError(`${path} is ${size} bytes, over ${this.limits.keepBytes}`);
    const member = { path, mode, size, data: Buffer.alloc(0) };
    this.members.push(member);
    this.data = { member, left: size, chunks: kept ? [] : undefined };
    return true;
  }
}

/** Reads a whole newc archive held in memory (as written above, or by the kernel's tools). */
export function readCpio(buf: Buffer, keep?: (path: string) => boolean): CpioMember[] {
  const r = new CpioReader(keep);
  r.push(buf);
  return r.end();
}
