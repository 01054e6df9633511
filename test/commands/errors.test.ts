// Every command fails the same way (src/lib/base-command.ts): one line on stderr and the error's
// exit status; with --json also one JSON object of one shape on stdout. What oclif's parser
// rejects comes out the same way, as a usage error with status 2.
import test from 'ava';
import { join } from 'node:path';
import { cli, CliResult, tempDir } from '../helpers/cli';

const LINE = /^mv-image: [a-z]+: .+ \(fix: .+\)$/;

/** Exactly one line on stderr, the error line, and no stack trace or oclif help box. */
function oneLine(t: import('ava').ExecutionContext, r: CliResult, status: number): string {
  t.is(r.status, status, r.stderr);
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, r.stderr);
  t.regex(lines[0], LINE);
  t.notRegex(r.stderr, /^\s+at |USAGE|›/m);
  return lines[0];
}

/** stdout is one line holding {"error": {stage, problem, fix, exitCode}}, and nothing else. */
function jsonError(t: import('ava').ExecutionContext, r: CliResult) {
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 1, r.stdout);
  const j = JSON.parse(lines[0]);
  t.deepEqual(Object.keys(j), ['error']);
  t.deepEqual(Object.keys(j.error).sort(), ['exitCode', 'fix', 'problem', 'stage']);
  t.is(j.error.exitCode, r.status);
  t.is(`mv-image: ${j.error.stage}: ${j.error.problem} (fix: ${j.error.fix})`, r.stderr.trim().split('\n').pop()!);
  return j.error;
}

test('inspect --json: a missing file is a JSON error on stdout with its exit status', (t) => {
  const r = cli(['inspect', '/nonexistent/x.iso', '--json']);
  oneLine(t, r, 1);
  t.deepEqual(jsonError(t, r), {
    stage: 'inspect',
    problem: '/nonexistent/x.iso does not exist or cannot be read',
    fix: 'pass the path of an ISO built by mv-image, or of a program',
    exitCode: 1,
  });
});

test('build --json: a missing package directory is a JSON error, and no image is written', (t) => {
  const out = tempDir('mv-out-');
  const r = cli(['build', '/nonexistent/pkg', '-o', join(out, 'x.iso'), '--json']);
  oneLine(t, r, 1);
  t.like(jsonError(t, r), { stage: 'package', problem: 'package directory /nonexistent/pkg does not exist', exitCode: 1 });
});

test('without --json, stdout stays empty on a failure', (t) => {
  const r = cli(['inspect', '/nonexistent/x.iso']);
  oneLine(t, r, 1);
  t.is(r.stdout, '');
});

test("an unknown flag is one usage line with status 2, not oclif's help box", (t) => {
  const line = oneLine(t, cli(['build', '--bogus']), 2);
  t.is(line, "mv-image: usage: nonexistent flag: --bogus (fix: see 'mv-image build --help')");
});

test("a value not among a flag's choices is one usage line", (t) => {
  t.is(
    oneLine(t, cli(['run', 'x.iso', '--accel', 'foo']), 2),
    "mv-image: usage: expected --accel=foo to be one of: auto, kvm, tcg (fix: see 'mv-image run --help')",
  );
  t.is(
    oneLine(t, cli(['flamegraph', 'f', '--width', 'abc']), 2),
    "mv-image: usage: --width: expected an integer but received: abc (fix: see 'mv-image flamegraph --help')",
  );
});

test('a missing or extra argument is one usage line naming it; with --json also the JSON error', (t) => {
  t.is(
    oneLine(t, cli(['inspect', 'a.iso', 'b.iso']), 2),
    "mv-image: usage: unexpected argument: b.iso (fix: see 'mv-image inspect --help')",
  );
  const m = cli(['inspect', '--json']);
  t.is(
    oneLine(t, m, 2),
    "mv-image: usage: missing the required argument TARGET (an ISO built by mv-image, or an x86-64 program) (fix: see 'mv-image inspect --help')",
  );
  t.like(jsonError(t, m), { stage: 'usage', exitCode: 2 });
});

test('words that name no command are one usage line too, and JSON with --json', (t) => {
  const r = cli(['kernel', 'build', 'extra', '--json']);
  t.is(
    oneLine(t, r, 2),
    `mv-image: usage: there is no command "kernel build extra" (fix: 'mv-image --help' lists the commands, 'mv-image COMMAND --help' their arguments)`,
  );
  t.like(jsonError(t, r), { stage: 'usage', problem: 'there is no command "kernel build extra"', exitCode: 2 });
});

test('a bad flag with --json is a JSON usage error', (t) => {
  const r = cli(['build', '--format', 'bogus', '--json']);
  oneLine(t, r, 2);
  t.deepEqual(jsonError(t, r), {
    stage: 'usage',
    problem: 'expected --format=bogus to be one of: iso, netboot',
    fix: "see 'mv-image build --help'",
    exitCode: 2,
  });
});
