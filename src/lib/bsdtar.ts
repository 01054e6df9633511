// One member of an ISO read through bsdtar, with a byte limit and a deadline. `inspect` reads
// into memory and `serve` onto disk; both take the image from anyone, so both stop it the same
// way here and only word the failure their own way.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

export interface MemberRead {
  /** At most this many bytes reach `onData`. */
  max: number;
  /** The first `max` bytes are enough: a longer member is not a problem. */
  head?: boolean;
  timeoutMs: number;
  onData: (chunk: Buffer) => void;
}

/** Why a read failed: the member is longer than `max`, bsdtar took too long, or it failed
 *  (detail: bsdtar's own last line, or its exit status). */
export interface MemberProblem {
  kind: 'over' | 'late' | 'failed';
  detail: string;
}

/** Streams `member` of `iso` to `o.onData`; resolves null when read whole (or its head, with
 *  `o.head`), else the problem. Rejects only when bsdtar cannot be started. */
export function readIsoMember(iso: string, member: string, o: MemberRead): Promise<MemberProblem | null> {
  return new Promise((done, fail) => {
    const child = spawn('bsdtar', ['-xOf', resolve(iso), member], { stdio: ['ignore', 'pipe', 'pipe'] });
    let got = 0,
      stderr = '',
      over = false,
      late = false;
    const timer = setTimeout(() => {
      late = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      if (over) return;
      const room = o.max - got;
      got += b.length;
      if (got > o.max || (o.head && got === o.max)) {
        over = true;
        child.kill('SIGKILL');
      }
      o.onData(b.length > room ? b.subarray(0, room) : b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      if (late) return done({ kind: 'late', detail: `reading ${member} took over ${o.timeoutMs / 1000} s` });
      if (over) return done(o.head ? null : { kind: 'over', detail: `${member} is over ${o.max} bytes` });
      if (status !== 0) {
        const last = stderr
          .trim()
          .split('\n')
          .pop()
          ?.replace(/^bsdtar: /, '');
        return done({ kind: 'failed', detail: `${member}: ${last || `bsdtar failed with status ${status}`}` });
      }
      done(null);
    });
  });
}

/** `member` of `iso` written to the new file `dest` (mode 0644), at most `max` bytes: null when
 *  written whole, else the problem (what was read so far stays in `dest`). */
export async function writeIsoMember(
  iso: string,
  member: string,
  dest: string,
  o: Omit<MemberRead, 'onData' | 'head'>,
): Promise<MemberProblem | null> {
  const fd = openSync(dest, 'w', 0o644);
  try {
    return await readIsoMember(iso, member, { ...o, onData: (b) => writeAll(fd, b) });
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length;) off += writeSync(fd, b, off);
}
