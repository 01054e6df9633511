// Runs the real CLI (bin/run.js) as a child process, as a user would.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repo = resolve(__dirname, '..', '..', '..');
export const bin = join(repo, 'bin', 'run.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  pid?: number;
}

/** `input` is written to the CLI's stdin (default: none, an immediate end of input). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000, input = ''): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it). */
export const freePort = () =>
  new Promise<number>((done) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });

export const tempDir = (prefix = 'mv-test-') => mkdtempSync(join(tmpdir(), prefix));

/** One keystroke sequence to type once the output so far matches `after`. */
export interface Step {
  after: RegExp;
  type: string;
}

/** Returns an output handler that types each step, in order, once its pattern has appeared. */
export function typist(steps: Step[], type: (s: string) => void): (text: string) => void {
  let seen = '',
    next = 0;
  return (text) => {
    seen += text;
    while (next < steps.length && steps[next].after.test(seen)) type(steps[next++].type);
  };
}

/** Runs a command with stdin a pipe, typing the steps into it as its stdout shows their patterns. */
export function session(file: string, args: string[], steps: Step[], timeoutMs = 600_000): Promise<CliResult> {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '',
    stderr = '';
  const type = typist(steps, (s) => child.stdin.write(s));
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    type(b.toString());
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (status) => {
      child.stdin.destroy();
      resolve({ status, stdout, stderr });
    }),
  );
}
