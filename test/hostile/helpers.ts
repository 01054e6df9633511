// Shared by the hostile-input tests: packages in temp dirs and the failure contract of the real CLI.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { cli, CliResult, tempDir } from '../helpers/cli';

/** A package directory (named `name`) holding `files`; a Makefile that says when it ran. */
export function pkg(files: Record<string, string | Buffer>, name = 'pkg'): string {
  const dir = join(tempDir(), name);
  mkdirSync(dir);
  for (const [f, body] of Object.entries({ Makefile: 'all:\n\t@echo BUILD-RAN\n', ...files })) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), body);
  }
  return dir;
}

export const manifestPkg = (manifest: unknown) => pkg({ 'mv-image.json': JSON.stringify(manifest) });

/** The last stderr line: exactly one `mv-image:` line with a fix, and a non-zero exit. */
export function failure(t: ExecutionContext, r: CliResult, status = 1): string {
  t.is(r.status, status, r.stderr);
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1];
  t.regex(last, /^mv-image: [a-z]+: .+ \(fix: .+\)$/);
  t.is(lines.filter((l) => l.startsWith('mv-image: ')).length, 1, 'one error line');
  t.notRegex(r.stderr, /^\s+at /m, 'no stack trace');
  return last;
}

/** `build` into a fresh directory: the exact line, nothing written there, the build never ran. */
export function buildFails(t: ExecutionContext, dir: string, line: string | RegExp, extra: string[] = []): CliResult {
  const out = tempDir('mv-out-');
  const r = cli(['build', dir, '-o', join(out, 'x.iso'), ...extra]);
  const last = failure(t, r);
  if (typeof line === 'string') t.is(last, line); else t.regex(last, line);
  t.deepEqual(readdirSync(out), [], 'nothing written');
  t.notRegex(r.stdout + r.stderr, /BUILD-RAN/, 'found before the build ran');
  return r;
}
