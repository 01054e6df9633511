// Every bad input gives one clear line naming the problem and the fix, a non-zero exit, and no
// partial file where the image would have gone.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';

function pkg(files: Record<string, string>): string {
  const dir = join(tempDir(), 'pkg');
  mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return dir;
}

/** Runs `build` into a fresh output dir and checks the common contract of a failure. */
function failsWith(t: import('ava').ExecutionContext, args: string[], re: RegExp, env: NodeJS.ProcessEnv = {}) {
  const out = tempDir('mv-out-');
  const r = cli(['build', ...args, '-o', join(out, 'x.iso')], env);
  t.not(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1];
  t.regex(last, /^mv-image: [a-z]+: .+ \(fix: .+\)$/);
  t.regex(last, re);
  t.deepEqual(readdirSync(out), [], 'nothing written');
  return r;
}

test('a missing package directory', (t) => {
  failsWith(t, ['/nonexistent/pkg'], /package directory \/nonexistent\/pkg does not exist/);
});

test('a Debian package name outside the grammar, before anything runs', (t) => {
  failsWith(
    t,
    [pkg({ 'mv-image.json': JSON.stringify({ install: { debian: ['nodejs; touch /tmp/x'] }, entry: '/usr/bin/node' }) })],
    /^mv-image: manifest: .*install\.debian\.0 must match pattern/,
  );
});

test('a Debian package the archive does not have', (t) => {
  failsWith(
    t,
    [pkg({ 'mv-image.json': JSON.stringify({ install: { debian: ['no-such-package-mv'] }, entry: '/usr/bin/x' }) })],
    /^mv-image: install: Debian package "no-such-package-mv" \(named in "install"\) is not in the apt lists/,
  );
});

test('an absolute entry the installed packages do not provide', (t) => {
  failsWith(
    t,
    [pkg({ 'mv-image.json': JSON.stringify({ install: { debian: ['zlib1g'] }, entry: '/usr/bin/node' }) })],
    /^mv-image: install: entry "\/usr\/bin\/node" is not a regular file the installed packages provide \(gcc-12-base, libc6, libgcc-s1, zlib1g\)/,
  );
});

test('a file instead of a directory', (t) => {
  failsWith(t, [join(repo, 'package.json')], /is not a directory/);
});

test('a malformed manifest', (t) => {
  failsWith(t, [pkg({ 'mv-image.json': '{ "name": ' })], /mv-image.json is not valid JSON/);
});

test('an invalid manifest names the field', (t) => {
  failsWith(t, [pkg({ 'mv-image.json': '{ "entyr": "x" }' })], /unknown field "entyr"/);
});

test('no Makefile and no build command', (t) => {
  failsWith(t, [pkg({ README: 'nothing to build' })], /has no Makefile and its manifest names no "build" command/);
});

test('a failing build shows its output', (t) => {
  const r = failsWith(
    t,
    [pkg({ Makefile: 'all:\n\t@echo "compiler says: syntax error in frob.c"\n\t@false\n' })],
    /build command "make" failed with status 2/,
  );
  t.regex(r.stderr, /compiler says: syntax error in frob.c/);
});

test('an entry binary the build did not make', (t) => {
  failsWith(
    t,
    [pkg({ Makefile: 'all:\n\t@true\n', 'mv-image.json': '{"entry": "bin/prog"}' })],
    /entry binary bin\/prog was not produced by the build/,
  );
});

test('an entry that is a script, not an ELF', (t) => {
  failsWith(
    t,
    [pkg({ Makefile: 'all:\n\tprintf "#!/bin/sh\\necho hi\\n" > prog; chmod +x prog\n', 'mv-image.json': '{"entry": "prog"}' })],
    /entry binary prog is not an x86-64 ELF executable \(no ELF magic\)/,
  );
});

test('an entry that is an object file, not an executable', (t) => {
  failsWith(
    t,
    [pkg({ Makefile: 'all:\n\techo "int main(void){return 0;}" > p.c; cc -c -o prog p.c\n', 'mv-image.json': '{"entry": "prog"}' })],
    /ELF type rel, not an executable/,
  );
});

test('an extra file that does not exist', (t) => {
  failsWith(
    t,
    [pkg({ Makefile: 'all:\n', 'mv-image.json': '{"files": ["missing.txt"]}' })],
    /files\[0\]\.src "missing\.txt" does not exist in the package directory/,
  );
});

test('an unknown override names the known ones, before anything is built', (t) => {
  const r = failsWith(
    t,
    [pkg({ Makefile: 'all:\n\t@echo BUILD-RAN\n', 'mv-image.json': '{"overrides": ["clock_gettime", "frobnicate"]}' })],
    /^mv-image: manifest: unknown override "frobnicate" in "overrides" \(known: clock_gettime, .*malloc.*\) \(fix: /,
  );
  t.notRegex(r.stdout + r.stderr, /BUILD-RAN/);
});

test('a missing host tool names its Debian package', (t) => {
  const bin = tempDir('mv-path-');
  symlinkSync(process.execPath, join(bin, 'node'));
  failsWith(t, [join(repo, 'examples/hello')], /gcc is not installed \(fix: run: apt-get install -y gcc/, { PATH: bin });
});

test('a full disk leaves no partial image', (t) => {
  const mnt = tempDir('mv-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  t.teardown(() => execFileSync('umount', [mnt]));
  const r = cli(['build', join(repo, 'examples/hello'), '-o', join(mnt, 'hello.iso')]);
  t.not(r.status, 0);
  t.regex(r.stderr.trim().split('\n').pop()!, /^mv-image: output: no space left on the device while writing .*hello.iso \(fix: /);
  t.deepEqual(readdirSync(mnt), []);
});

test('--help documents build', (t) => {
  const r = cli(['build', '--help']);
  t.is(r.status, 0);
  t.regex(r.stdout, /--output/);
  t.regex(r.stdout, /SOURCE_DATE_EPOCH/);
});
