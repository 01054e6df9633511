// Shared by the signal and confinement tests: packages in temp dirs, a private cache and TMPDIR per
// file (so what a build leaves behind is ours to see; the stages that do not change here are shared
// with the user's cache, which has locks), and the leftover checks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { bin, CliResult, tempDir } from '../helpers/cli';
import { makePackage } from '../helpers/package';
import { docker } from '../builder/helpers';

export const ONE_LINE = /^mv-image: [a-z]+: .+ \(fix: .+\)$/;
export const lastLine = (r: { stderr: string }) => r.stderr.trim().split('\n').pop()!;

/** A package directory made of these files (test/helpers/package.ts). */
export const pkg = (files: Record<string, string>): string => makePackage(files);

/** Stages shared with the user's cache: their inputs are the same for every test here. */
const SHARED = ['kernel', 'toolchain', 'builder-root'];

/** A private XDG_CACHE_HOME (with the shared stages linked in) and TMPDIR. */
export function privateEnv(): { XDG_CACHE_HOME: string; TMPDIR: string } {
  const cache = tempDir('mv-cache-'),
    tmp = tempDir('mv-tmp-');
  const shared = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mv-image');
  mkdirSync(join(cache, 'mv-image'));
  for (const s of SHARED) {
    mkdirSync(join(shared, s), { recursive: true });
    symlinkSync(join(shared, s), join(cache, 'mv-image', s));
  }
  return { XDG_CACHE_HOME: cache, TMPDIR: tmp };
}

/** The private build area under TMPDIR (src/lib/paths.ts: mv-image-build-<uid>, 0700). */
export const buildArea = (env: { TMPDIR: string }) => join(env.TMPDIR, `mv-image-build-${process.getuid!()}`);

/** Temp dirs, locks and scratch dirs in the private cache and TMPDIR (the shared stages aside),
 *  and any file grub-mkrescue or another tool left in TMPDIR. */
export function leftovers(env: { XDG_CACHE_HOME: string; TMPDIR: string }): string[] {
  const root = join(env.XDG_CACHE_HOME, 'mv-image');
  const own = [
    root,
    ...readdirSync(root)
      .map((n) => join(root, n))
      .filter((p) => !lstatSync(p).isSymbolicLink() && lstatSync(p).isDirectory()),
  ];
  const inCache = own.flatMap((d) =>
    readdirSync(d)
      .filter((n) => /\.tmp-\d+$|\.lock$|^\.dl-\d+$/.test(n))
      .map((n) => join(d, n)),
  );
  const build = buildArea(env);
  const inTmp = readdirSync(env.TMPDIR)
    .map((n) => join(env.TMPDIR, n))
    .filter((p) => p !== build);
  return [...inCache, ...inTmp, ...(existsSync(build) ? readdirSync(build).map((n) => join(build, n)) : [])];
}

/** Whether a process runs (a zombie does not: this machine's init does not reap orphans). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** A pid that belonged to a process that has exited. */
export function deadPid(): number {
  return spawnSync('true').pid;
}

/** The CLI as a user at a terminal starts it: the leader of its own process group. */
export function start(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '',
    stdout = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((res) =>
    child.on('close', (status, signal) => res({ status, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

/** Waits (up to `ms`) for a file to exist and hold a pid. */
export async function pidFrom(file: string, ms = 300_000): Promise<number> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0;
    if (pid) return pid;
  }
  throw new Error(`${file} never appeared`);
}

/** Builder containers and their volumes a build left behind. */
export async function leftoverDocker(): Promise<string[]> {
  const cs = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ['mv-image=stage'] }) });
  const vs =
    ((await docker.listVolumes({ filters: JSON.stringify({ label: ['mv-image=stage'] }) })) as { Volumes?: { Name: string }[] }).Volumes ??
    [];
  return [...cs.map((c) => `container ${c.Id}`), ...vs.map((v) => `volume ${v.Name}`)];
}
