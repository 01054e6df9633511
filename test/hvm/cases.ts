// Shared by the guest suites (hrt.test.ts, override.test.ts): building the C parts, and reading
// the framing the guest scripts print around each run ("=== BEGIN <case>" ... "=== END <case>
// <status>", see run-all.sh).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const repo = join(__dirname, '..', '..', '..');

export interface Case {
  output: string;
  status: number;
}

export function parseCases(output: string): Map<string, Case> {
  const cases = new Map<string, Case>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const b = line.match(/^=== BEGIN (\S+)$/);
    const e = line.match(/^=== END (\S+) (\d+)$/);
    if (b) {
      name = b[1];
      lines = [];
      continue;
    }
    if (e && e[1] === name) {
      cases.set(name, { output: lines.join('\n'), status: Number(e[2]) });
      name = undefined;
      continue;
    }
    if (name !== undefined) lines.push(line);
  }
  return cases;
}

/** Nautilus, libmv and the C test programs, as the Makefiles build them. */
export function buildC(): void {
  for (const dir of ['nautilus', 'hvm', 'test/hvm']) execFileSync('make', ['-s', '-j2', '-C', join(repo, dir)], { stdio: 'pipe' });
}
