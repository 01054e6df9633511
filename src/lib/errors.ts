// One error type for every stage: a problem a user can act on, the stage it came from, and the fix.
// The CLI prints it as one line and exits non-zero; nothing else in src/ prints errors.

export class MvError extends Error {
  constructor(
    readonly stage: string,
    readonly problem: string,
    readonly fix: string,
    readonly exitCode = 1,
    /** Extra lines shown before the one-line summary (e.g. a failing build's output). */
    readonly details = '',
  ) {
    super(`${stage}: ${problem}`);
    this.name = 'MvError';
  }

  /** The single line the user sees: control characters and Unicode line separators from names
   *  it quotes (a path or a manifest value with a newline) are shown escaped, so it stays one line. */
  line(): string {
    return oneLine(`mv-image: ${this.stage}: ${this.problem} (fix: ${this.fix})`);
  }
}

const oneLine = (s: string) =>
  s.replace(/[\x00-\x1f\x7f\x85\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));

export function isMvError(e: unknown): e is MvError {
  return e instanceof MvError;
}
