// Running host programs: output captured, one helper for all stages. Every child leads a process
// group of its own (src/lib/lifecycle.ts): a signal to mv-image ends the whole group, and what a
// command leaves running in its group when it exits is ended too.
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { halted, trackGroup } from './lifecycle';

export interface ExecResult {
  status: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

/** spawn() in a new process group (setsid), tracked until it closes. */
export function spawnChild(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  const child = spawn(cmd, args, { ...opts, detached: true });
  if (child.pid) {
    const untrack = trackGroup(child.pid);
    child.on('close', untrack);
  }
  return child;
}

/** Runs a command to completion; never throws for a non-zero status (callers decide). While a
 *  signal ends mv-image, it never settles: the killed command is not reported as a failure. */
export function exec(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { input?: string; onLine?: (l: string) => void } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(cmd, args, { ...opts, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '',
      output = '';
    const feed = (which: 'out' | 'err') => (b: Buffer) => {
      const s = b.toString();
      if (which === 'out') stdout += s;
      else stderr += s;
      output += s;
      if (opts.onLine) for (const l of s.split('\n')) if (l.trim()) opts.onLine(l);
    };
    child.stdout!.on('data', feed('out'));
    child.stderr!.on('data', feed('err'));
    child.on('error', (e) => {
      void halted().then(() => reject(e));
    });
    child.on('close', (status) => {
      void halted().then(() => resolve({ status, stdout, stderr, output }));
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
  });
}
