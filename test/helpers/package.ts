// Packages someone else wrote, for the hostile-package tests: a directory made from a spec
// (files, symlinks, FIFOs), and a build through the real CLI whose failure must be one
// `mv-image:` line that leaves nothing behind (no image, no build directory, no cache temp or lock).
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { cli, CliResult, tempDir } from './cli';

export type Entry = string | { symlink: string } | { fifo: true } | { sparse: number };

/** A package directory under a fresh temp dir; keys are relative paths. */
export function makePackage(spec: Record<string, Entry>): string {
  const dir = join(tempDir('mv-hostile-'), 'pkg');
  mkdirSync(dir);
  for (const [rel, e] of Object.entries(spec)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof e === 'string') writeFileSync(p, e);
    else if ('symlink' in e) symlinkSync(e.symlink, p);
    else if ('fifo' in e) execFileSync('mkfifo', [p]);
    else execFileSync('truncate', ['-s', String(e.sparse), p]);
  }
  return dir;
}

/** A Makefile that builds a one-line C program called `prog` with $(CC) (mv-cc). */
export const TINY_C = { 'prog.c': 'int main(void) { return 0; }\n', Makefile: 'prog: prog.c\n\t$(CC) -o prog prog.c\n' };

export const manifest = (m: object) => JSON.stringify({ name: 'prog', entry: 'prog', ...m });

const cacheDir = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mv-image');

/** What a build run with `pid` may have left: cache temps and locks, and the build area of the
 *  private TMPDIR the build ran with. */
export function leftovers(pid: number | undefined, tmp: string): string[] {
  const left: string[] = [];
  const cache = cacheDir();
  if (existsSync(cache)) {
    for (const stage of readdirSync(cache)) {
      const d = join(cache, stage);
      for (const e of existsSync(d) ? readdirSync(d) : []) if (e.endsWith(`.tmp-${pid}`)) left.push(join(d, e));
    }
  }
  for (const area of existsSync(tmp) ? readdirSync(tmp).filter((e) => e.startsWith('mv-image-build-')) : []) {
    for (const e of readdirSync(join(tmp, area))) left.push(join(tmp, area, e));
  }
  return left;
}

/** `mv-image build DIR -o OUT/x.iso` with a private TMPDIR, expected to fail with one line. */
export function buildFails(t: ExecutionContext, dir: string, line: RegExp, env: NodeJS.ProcessEnv = {}): CliResult {
  const out = tempDir('mv-out-'),
    tmp = tempDir('mv-tmp-');
  const r = cli(['build', dir, '-o', join(out, 'x.iso')], { TMPDIR: tmp, ...env });
  t.is(r.status, 1, r.stderr);
  const last = r.stderr.trim().split('\n').pop() ?? '';
  t.regex(last, /^mv-image: [a-z]+: .+ \(fix: .+\)$/);
  t.regex(last, line);
  t.deepEqual(readdirSync(out), [], 'no image, not even a partial one');
  t.deepEqual(leftovers(r.pid, tmp), [], 'no build directory, cache temp or lock left');
  return r;
}

/** The same build, expected to succeed; returns the ISO's path. */
export function buildOk(t: ExecutionContext, dir: string, env: NodeJS.ProcessEnv = {}): string {
  const out = tempDir('mv-out-'),
    tmp = tempDir('mv-tmp-');
  const iso = join(out, 'x.iso');
  const r = cli(['build', dir, '-o', iso], { TMPDIR: tmp, ...env });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(leftovers(r.pid, tmp), []);
  return iso;
}

/** The initramfs members of an ISO, as `mv-image inspect --json` lists them: path -> size. */
export function imageFiles(t: ExecutionContext, iso: string): Map<string, number> {
  const r = cli(['inspect', iso, '--json']);
  t.is(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { initramfs: { path: string; size: number }[] };
  return new Map(info.initramfs.map((e) => [e.path.replace(/^\/?/, '/'), e.size]));
}
