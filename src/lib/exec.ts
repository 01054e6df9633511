// Running host programs: output captured, one helper for all stages.
import { spawn, SpawnOptions } from 'node:child_process';

export interface ExecResult { status: number | null; stdout: string; stderr: string; output: string }

/** Runs a command to completion; never throws for a non-zero status (callers decide). */
export function exec(cmd: string, args: string[], opts: SpawnOptions & { input?: string; onLine?: (l: string) => void } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', output = '';
    const feed = (which: 'out' | 'err') => (b: Buffer) => {
      const s = b.toString();
      if (which === 'out') stdout += s; else stderr += s;
      output += s;
      if (opts.onLine) for (const l of s.split('\n')) if (l.trim()) opts.onLine(l);
    };
    child.stdout!.on('data', feed('out'));
    child.stderr!.on('data', feed('err'));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, output }));
    if (opts.input !== undefined) { child.stdin!.on('error', () => {}); child.stdin!.end(opts.input); }
  });
}
