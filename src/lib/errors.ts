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

  /** The single line the user sees. */
  line(): string {
    return `mv-image: ${this.stage}: ${this.problem} (fix: ${this.fix})`;
  }
}

export function isMvError(e: unknown): e is MvError {
  return e instanceof MvError;
}
