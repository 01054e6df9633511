// How every command reports failure: an MvError becomes its details (if any), then one line,
// then a non-zero exit. Anything else is a bug and keeps its stack.
import type { Command } from '@oclif/core';
import { isMvError } from './errors';

export async function runCli<T>(cmd: Command, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (!isMvError(e)) throw e;
    if (e.details) process.stderr.write(e.details.endsWith('\n') ? e.details : e.details + '\n');
    process.stderr.write(e.line() + '\n');
    return cmd.exit(e.exitCode) as never;
  }
}
