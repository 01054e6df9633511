// Where a stage's command runs: on this host, or in a container from the builder image.
// Stages call runner.run() where they used to call exec(); everything else they do stays in
// TypeScript on the host. The host runner is the invoking user with no confinement at all. A
// docker run is confined (src/builder/confine.ts): an unprivileged user, no capabilities, no
// network, a read-only root, limits. Its directories go in by putArchive at the same absolute
// paths (so paths the tools embed match a host build) and come back by getArchive, unpacked as
// hostile input (archive.ts). Its container and volumes are removed on success, on failure and on
// a signal (src/lib/lifecycle.ts).
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { exec, ExecResult } from '../lib/exec';
import { FsView, HOST_VIEW, viewOf } from '../lib/fsview';
import { requireTools } from '../lib/hosttools';
import { halted, onStop } from '../lib/lifecycle';
import type { BuilderLimits, Manifest } from '../lib/manifest';
import { msg } from '../lib/messages';
import type { Progress } from '../lib/progress';
import type { Toolchain } from '../lib/toolchain';
import { packDir, unpackInto } from './archive';
import { containerUser, hostConfig, LIMIT_SHIM, pidsLimitHit, removeStale, STAGE_LABELS } from './confine';
import { connectEngine, engineAnswers, engineError } from './engine';
import { requireBuilder } from './image';
import { builderRoot } from './sysroot';

export type BuilderChoice = Manifest['builder'];

export interface RunOptions {
  cwd?: string;
  /** Variables on top of the runner's base environment (the host's, or a fixed one in the container). */
  env?: Record<string, string>;
  /** Directories put first on PATH. */
  path?: string[];
  /** Host directories the command reads and writes: a container gets them and gives them back. */
  dirs?: string[];
  /** Host directories the command only reads (a toolchain outside the image). */
  inputs?: string[];
  /** For a limit's error line: the stage, and what ran (default: the command line). */
  stage?: string;
  what?: string;
}

export interface Runner {
  readonly kind: 'host' | 'docker';
  /** The identity of the tools it runs; part of the cache keys of the stages that use it. */
  readonly id: string;
  run(cmd: string, args: string[], o?: RunOptions): Promise<ExecResult>;
  /** The install line for a missing host tool; a no-op in the builder, which has them all. */
  requireTools(stage: string): void;
  /** The file system its commands saw, with `dirs` (given to run()) at their paths: where a
   *  program's libraries and busybox are read from. Without it, the host's (viewFor). */
  fsView?(dirs: string[]): FsView;
}

export const viewFor = (runner: Runner, dirs: string[]): FsView => runner.fsView?.(dirs) ?? HOST_VIEW;

export const hostRunner: Runner = {
  kind: 'host',
  id: 'host',
  run: (cmd, args, o = {}) =>
    exec(cmd, args, {
      cwd: o.cwd,
      env: { ...process.env, ...o.env, PATH: [...(o.path ?? []), process.env.PATH ?? ''].join(':') },
    }),
  requireTools,
  fsView: () => HOST_VIEW,
};

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class DockerRunner implements Runner {
  readonly kind = 'docker';
  readonly id: string;

  constructor(
    private readonly docker: Docker,
    private readonly image: { tag: string; id: string },
    private readonly progress: Progress,
    private readonly limits: BuilderLimits,
    private readonly root: string,
  ) {
    this.id = `docker ${image.tag} ${image.id}`;
  }

  requireTools(): void {}

  fsView(dirs: string[]): FsView {
    return viewOf(this.root, dirs);
  }

  async run(cmd: string, args: string[], o: RunOptions = {}): Promise<ExecResult> {
    const dirs = (o.dirs ?? []).map((d) => resolve(d)),
      inputs = (o.inputs ?? []).map((d) => resolve(d));
    const user = containerUser();
    // MV_IMAGE_BUILDER tells a build command it runs in the builder (and which one).
    const env = {
      PATH: [...(o.path ?? []), BASE_PATH].join(':'),
      HOME: '/tmp',
      MV_IMAGE_BUILDER: this.image.tag,
      ...passThrough(),
      ...o.env,
    };
    // The shim reports (after a random marker) whether a fork failed at the PID limit.
    const marker = `mv-limit-${randomBytes(8).toString('hex')}`;
    const c = await this.docker
      .createContainer({
        Image: this.image.id,
        Cmd: ['/bin/sh', '-c', LIMIT_SHIM, marker, cmd, ...args],
        User: `${user.uid}:${user.gid}`,
        WorkingDir: o.cwd ? resolve(o.cwd) : '/',
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: STAGE_LABELS,
        HostConfig: hostConfig(this.limits, [...dirs, ...inputs]),
      })
      .catch(engineError);
    const unstop = onStop(() => c.remove({ force: true, v: true }));
    try {
      // Inputs stay root's (the build can read them, not change them); dirs are the user's.
      // tar-stream's pack is a streamx stream: it pipes like a Node stream, which is all putArchive does.
      for (const d of inputs) await c.putArchive(packDir(d, { uid: 0, gid: 0 }) as unknown as NodeJS.ReadableStream, { path: dirname(d) });
      for (const d of dirs) await c.putArchive(packDir(d, user) as unknown as NodeJS.ReadableStream, { path: dirname(d) });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        void c.kill().catch(() => {});
      }, this.limits.timeoutS * 1000);
      const r = await this.attachAndRun(c, marker).finally(() => clearTimeout(timer));
      // Removing the container on a signal ends wait() early; the signal handler exits.
      await halted();
      const what = o.what ?? [cmd, ...args].join(' '),
        stage = o.stage ?? 'builder';
      if (timedOut) throw msg.limitTimeout(stage, what, this.limits.timeoutS, r.output);
      if (r.status !== 0 && (await c.inspect()).State.OOMKilled) throw msg.limitMemory(stage, what, this.limits.memoryMiB, r.output);
      if (r.status !== 0 && r.pidsHit) throw msg.limitPids(stage, what, this.limits.pids, r.output);
      // The container's copy is the result: the host's is replaced, not merged into.
      for (const d of dirs) {
        rmSync(d, { recursive: true, force: true });
        await unpackInto(dirname(d), await c.getArchive({ path: d }));
      }
      return r;
    } catch (e) {
      // A signal removed the container under us: the handler reports it, not this error.
      await halted();
      throw e;
    } finally {
      unstop();
      await c.remove({ force: true, v: true }).catch(() => {});
    }
  }

  /** Starts the container with its output streamed to the progress display, and waits for it. */
  private async attachAndRun(c: Docker.Container, marker: string): Promise<ExecResult & { pidsHit: boolean }> {
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const r = { status: null as number | null, stdout: '', stderr: '', output: '', pidsHit: false };
    const add = (which: 'out' | 'err', text: string) => {
      if (which === 'out') r.stdout += text;
      else r.stderr += text;
      r.output += text;
    };
    const partial = { out: '', err: '' };
    const sink = (which: 'out' | 'err') => {
      const p = new PassThrough();
      p.on('data', (b: Buffer) => {
        const lines = (partial[which] + b.toString()).split('\n');
        partial[which] = lines.pop()!;
        for (const l of lines) {
          // The shim's report is ours, not the build's output.
          if (l.startsWith(marker)) {
            r.pidsHit ||= pidsLimitHit(l.slice(marker.length));
            continue;
          }
          add(which, l + '\n');
          if (l.trim()) this.progress.note(l);
        }
      });
      return p;
    };
    const ended = new Promise((res) => {
      stream.on('end', res);
      stream.on('close', res);
    });
    c.modem.demuxStream(stream, sink('out'), sink('err'));
    await c.start();
    r.status = (await c.wait()).StatusCode;
    // The log stream can end just after the exit is reported; don't lose the last lines.
    await Promise.race([ended, new Promise((res) => setTimeout(res, 2000))]);
    add('out', partial.out);
    add('err', partial.err);
    return r;
  }
}

/** Variables a build honours and that must reach it in the container as on the host. */
function passThrough(): Record<string, string> {
  const v = process.env.SOURCE_DATE_EPOCH;
  return v === undefined ? {} : { SOURCE_DATE_EPOCH: v };
}

/** The runner for a build: host, docker (the engine must answer and the image exist), or auto. */
export async function selectRunner(choice: BuilderChoice, progress: Progress, limits: BuilderLimits): Promise<Runner> {
  if (choice === 'host' || (choice === 'auto' && !(await engineAnswers()))) return hostRunner;
  const docker = await connectEngine();
  const image = await requireBuilder(docker);
  await removeStale(docker);
  return new DockerRunner(docker, image, progress, limits, await builderRoot(docker, image));
}

/** A toolchain for a runner: the same compilers, keyed apart when they run in the builder; an
 *  absolute compiler path (mv-cc in the cache) is an input directory the container needs. */
export function runnerToolchain(t: Toolchain, runner: Runner): Toolchain {
  return runner.kind === 'host' ? t : { ...t, id: `${t.id} in ${runner.id}` };
}

export function toolchainInputs(t: Toolchain): string[] {
  return [...new Set([t.CC, t.CXX].filter((p) => p.startsWith('/')).map((p) => resolve(p, '..', '..')))];
}
