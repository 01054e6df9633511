// Where a stage's command runs: on this host, or in a container from the builder image.
// Stages call runner.run() where they used to call exec(); everything else they do stays in
// TypeScript on the host. A docker run gets its directories by putArchive at the same absolute
// paths (so paths the tools embed match a host build), no network, and gives them back by
// getArchive; its container is removed on success, on failure and on a signal (src/lib/lifecycle.ts).
import type Docker from 'dockerode';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { exec, ExecResult } from '../lib/exec';
import { requireTools } from '../lib/hosttools';
import { halted, onStop } from '../lib/lifecycle';
import type { Manifest } from '../lib/manifest';
import type { Progress } from '../lib/progress';
import type { Toolchain } from '../lib/toolchain';
import { packDirs, unpackInto } from './archive';
import { connectEngine, engineAnswers, engineError } from './engine';
import { requireBuilder } from './image';

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
}

export interface Runner {
  readonly kind: 'host' | 'docker';
  /** The identity of the tools it runs; part of the cache keys of the stages that use it. */
  readonly id: string;
  run(cmd: string, args: string[], o?: RunOptions): Promise<ExecResult>;
  /** The install line for a missing host tool; a no-op in the builder, which has them all. */
  requireTools(stage: string): void;
}

export const hostRunner: Runner = {
  kind: 'host',
  id: 'host',
  run: (cmd, args, o = {}) => exec(cmd, args, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env, PATH: [...(o.path ?? []), process.env.PATH ?? ''].join(':') },
  }),
  requireTools,
};

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class DockerRunner implements Runner {
  readonly kind = 'docker';
  readonly id: string;

  constructor(private readonly docker: Docker, private readonly image: { tag: string; id: string }, private readonly progress: Progress) {
    this.id = `docker ${image.tag} ${image.id}`;
  }

  requireTools(): void {}

  async run(cmd: string, args: string[], o: RunOptions = {}): Promise<ExecResult> {
    // MV_IMAGE_BUILDER tells a build command it runs in the builder (and which one).
    const env = { PATH: [...(o.path ?? []), BASE_PATH].join(':'), HOME: '/root', MV_IMAGE_BUILDER: this.image.tag, ...passThrough(), ...o.env };
    const c = await this.docker.createContainer({
      Image: this.image.id,
      Cmd: [cmd, ...args],
      WorkingDir: o.cwd ? resolve(o.cwd) : '/',
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { 'mv-image': 'stage' },
      HostConfig: { NetworkMode: 'none' },
    }).catch(engineError);
    const unstop = onStop(() => c.remove({ force: true }));
    try {
      const into = [...(o.inputs ?? []), ...(o.dirs ?? [])];
      // tar-stream's pack is a streamx stream: it pipes like a Node stream, which is all putArchive does.
      if (into.length) await c.putArchive(packDirs(into) as unknown as NodeJS.ReadableStream, { path: '/' });
      const r = await this.attachAndRun(c);
      // Removing the container on a signal ends wait() early; the signal handler exits.
      await halted();
      for (const d of o.dirs ?? []) await unpackInto(resolve(d, '..'), await c.getArchive({ path: resolve(d) }));
      return r;
    } catch (e) {
      // A signal removed the container under us: the handler reports it, not this error.
      await halted();
      throw e;
    } finally {
      unstop();
      await c.remove({ force: true }).catch(() => {});
    }
  }

  /** Starts the container with its output streamed to the progress display, and waits for it. */
  private async attachAndRun(c: Docker.Container): Promise<ExecResult> {
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    let stdout = '', stderr = '', output = '';
    const sink = (which: 'out' | 'err') => {
      const p = new PassThrough();
      let partial = '';
      p.on('data', (b: Buffer) => {
        const s = b.toString();
        if (which === 'out') stdout += s; else stderr += s;
        output += s;
        const lines = (partial + s).split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l.trim()) this.progress.note(l);
      });
      return p;
    };
    const ended = new Promise((res) => { stream.on('end', res); stream.on('close', res); });
    c.modem.demuxStream(stream, sink('out'), sink('err'));
    await c.start();
    const { StatusCode } = await c.wait();
    // The log stream can end just after the exit is reported; don't lose the last lines.
    await Promise.race([ended, new Promise((res) => setTimeout(res, 2000))]);
    return { status: StatusCode, stdout, stderr, output };
  }
}

/** Variables a build honours and that must reach it in the container as on the host. */
function passThrough(): Record<string, string> {
  const v = process.env.SOURCE_DATE_EPOCH;
  return v === undefined ? {} : { SOURCE_DATE_EPOCH: v };
}

/** The runner for a build: host, docker (the engine must answer and the image exist), or auto. */
export async function selectRunner(choice: BuilderChoice, progress: Progress): Promise<Runner> {
  if (choice === 'host' || (choice === 'auto' && !(await engineAnswers()))) return hostRunner;
  const docker = await connectEngine();
  return new DockerRunner(docker, await requireBuilder(docker), progress);
}

/** A toolchain for a runner: the same compilers, keyed apart when they run in the builder; an
 *  absolute compiler path (mv-cc in the cache) is an input directory the container needs. */
export function runnerToolchain(t: Toolchain, runner: Runner): Toolchain {
  return runner.kind === 'host' ? t : { ...t, id: `${t.id} in ${runner.id}` };
}

export function toolchainInputs(t: Toolchain): string[] {
  return [...new Set([t.CC, t.CXX].filter((p) => p.startsWith('/')).map((p) => resolve(p, '..', '..')))];
}
