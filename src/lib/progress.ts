// Progress of long stages: a live spinner line on a TTY, plain lines otherwise, nothing with --json.
// Stage timings are recorded either way, for `build --json` and the benchmarks.
import { isStopping, setStage } from './lifecycle';

export interface StageTiming {
  stage: string;
  ms: number;
  cached: boolean;
}

export class Progress {
  readonly timings: StageTiming[] = [];
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private current = '';

  constructor(private readonly mode: 'tty' | 'plain' | 'quiet' = process.stderr.isTTY ? 'tty' : 'plain') {}

  static quiet(): Progress {
    return new Progress('quiet');
  }

  /** Runs one named stage, reporting its start, live note and end. */
  async stage<T extends { cached?: boolean }>(name: string, run: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    setStage(name);
    this.start(name);
    try {
      const out = await run();
      const ms = Date.now() - t0;
      this.timings.push({ stage: name, ms, cached: out.cached ?? false });
      this.end(`${name}: ${out.cached ? 'cached' : 'done'} (${(ms / 1000).toFixed(1)} s)`);
      return out;
    } catch (e) {
      this.end(`${name}: failed`);
      throw e;
    }
  }

  /** A short live note about what the current stage is doing. */
  note(text: string): void {
    if (this.mode === 'plain') process.stderr.write(`  ${this.current}: ${text}\n`);
    if (this.mode === 'tty') {
      this.current = this.current.split(' — ')[0] + ' — ' + text;
      this.draw();
    }
  }

  private start(name: string): void {
    this.current = name;
    if (this.mode === 'plain') process.stderr.write(`${name}...\n`);
    if (this.mode === 'tty') this.timer = setInterval(() => this.draw(), 100);
  }

  private draw(): void {
    if (isStopping()) return; // the signal handler owns the line now
    const spin = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[this.frame++ % 10];
    process.stderr.write(`\r\x1b[K${spin} ${this.current}`);
  }

  private end(line: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.mode === 'tty') process.stderr.write(`\r\x1b[K✓ ${line}\n`);
    if (this.mode === 'plain') process.stderr.write(`${line}\n`);
  }
}
