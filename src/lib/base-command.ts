// The one error path of every command (each in src/commands/ extends MvCommand). A failure is an
// MvError: its details (if any), then its one line, on stderr; with --json also one JSON object
// (JsonError) on stdout; then the process exits with the error's status. What oclif's parser
// rejects (an unknown flag, a value not among a flag's options, a missing argument) becomes such
// an error too, stage "usage", status 2. Anything else is a bug in mv-image and keeps its stack.
import { Command, Errors, handle, Interfaces } from '@oclif/core';
import { isMvError, MvError } from './errors';
import { msg } from './messages';

/** What a failing command prints on stdout under --json: one line holding one object of this
 *  shape (README, "CLI reference"). The stderr line is printed as without --json. */
export interface JsonError {
  error: { stage: string; problem: string; fix: string; exitCode: number };
}

export const jsonError = (e: MvError): JsonError => ({ error: { stage: e.stage, problem: e.problem, fix: e.fix, exitCode: e.exitCode } });

/** oclif's FlagOutput and ArgOutput, which its index does not export (their values are `any` there). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Output = { [name: string]: any };

export abstract class MvCommand extends Command {
  /** oclif's parse; whatever it rejects is a usage error naming the command's help. */
  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv);
    } catch (e) {
      throw isMvError(e) ? e : msg.usage((this.id ?? '').replace(/:/g, ' '), usageProblem(e));
    }
  }

  protected override async catch(err: Interfaces.CommandError): Promise<never> {
    // this.exit(status) (run exits with the program's status): nothing to report.
    if (err instanceof Errors.ExitError) throw err;
    if (!isMvError(err)) {
      if (this.wantsJson()) this.printJson(jsonError(msg.internal(err.message)));
      throw err;
    }
    if (err.details) process.stderr.write(err.details.endsWith('\n') ? err.details : err.details + '\n');
    process.stderr.write(err.line() + '\n');
    if (this.wantsJson()) this.printJson(jsonError(err));
    return this.exit(err.exitCode);
  }

  /** --json was given: oclif's own flag (enableJsonFlag), or a command's own --json flag (serve
   *  and cluster run, whose output is JSON lines), before any "--". */
  protected wantsJson(): boolean {
    if (this.jsonEnabled()) return true;
    if (!this.ctor.flags || !('json' in this.ctor.flags)) return false;
    const json = this.argv.indexOf('--json'),
      end = this.argv.indexOf('--');
    return json !== -1 && (end === -1 || json < end);
  }

  private printJson(j: JsonError): void {
    process.stdout.write(JSON.stringify(j) + '\n');
  }
}

/** oclif's parse error as one line: without its colours, its "See more help" line and its
 *  indented lists ("Parsing --width\n\tExpected an integer ..." -> "--width: expected an integer ..."). */
/** bin/run.js's handler for what fails outside a command: a command line that names no command
 *  ("mv-image kernel build extra", a typo) is a usage error like the commands' own; the rest (a
 *  command's exit, a bug) goes to oclif's handler. */
export async function handleTopLevel(err: Error): Promise<void> {
  const unknown =
    err instanceof Errors.CLIError && !(err instanceof Errors.ExitError) ? err.message.match(/^command (\S+) not found$/) : null;
  if (!unknown) return handle(err);
  const e = msg.unknownCommand(unknown[1].replace(/:/g, ' '));
  process.stderr.write(e.line() + '\n');
  const argv = process.argv.slice(2),
    end = argv.indexOf('--');
  if (argv.slice(0, end === -1 ? undefined : end).includes('--json')) process.stdout.write(JSON.stringify(jsonError(e)) + '\n');
  process.exit(e.exitCode);
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function usageProblem(e: unknown): string {
  const err = e as Error & { args?: { name?: string; description?: string }[] };
  const text = String(err?.message ?? e).replace(/\x1b\[[0-9;]*m/g, '');
  if (/^Missing \d+ required arg/.test(text) && Array.isArray(err.args) && err.args.every((a) => a?.name)) {
    const names = err.args.map((a) => `${a.name!.toUpperCase()}${a.description ? ` (${a.description})` : ''}`);
    return `missing the required argument${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
  }
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'See more help with --help' && !/^The following errors? occurred:$/.test(l));
  const parsing = lines[0]?.match(/^Parsing (--\S+)$/);
  return parsing && lines.length > 1 ? `${parsing[1]}: ${lowerFirst(lines.slice(1).join('; '))}` : lowerFirst(lines.join('; '));
}
