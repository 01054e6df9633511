// mv-cc / mv-c++ on the build host: --version, `CC=mv-cc ./configure && make`, `make CC=mv-cc`,
// static and dynamic links, C++, an installed copy found relative to itself. The binaries they
// produce embed Nautilus (.mv_hrt) and wrap main; where the host has no usable KVM they run
// natively after one warning line (the HRT side runs in hrt.test.ts, inside QEMU).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..', '..');
const mvcc = join(repo, 'hvm', 'toolchain', 'mv-cc');
const mvcxx = join(repo, 'hvm', 'toolchain', 'mv-c++');
/** The ABI version the sources define (hvm/include/mv/abi.h), which libmv reports. */
const abiVersion = readFileSync(join(repo, 'hvm', 'include', 'mv', 'abi.h'), 'utf8').match(/^#define MV_ABI_VERSION (\d+)$/m)?.[1];

test.before(() => {
  for (const dir of ['nautilus', 'hvm']) execFileSync('make', ['-s', '-j2', '-C', join(repo, dir)], { stdio: 'pipe' });
});

function sh(cmd: string, cwd: string, env: Record<string, string> = {}) {
  return spawnSync('/bin/sh', ['-c', cmd], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
}

function sections(bin: string): string {
  return execFileSync('readelf', ['-SW', bin], { encoding: 'utf8' });
}

function symbols(bin: string): string {
  return execFileSync('nm', [bin], { encoding: 'utf8' });
}

/** Runs a program built by mv-cc: in the HRT where KVM is usable, natively after one warning otherwise. */
function runsSomewhere(t: import('ava').ExecutionContext, bin: string, expect: RegExp) {
  const r = spawnSync(bin, [], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, expect);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('mv:'));
  t.true(warnings.length <= 1, r.stderr);
  if (warnings.length) t.regex(warnings[0], /^mv: no usable KVM \(.+\); running main natively$/);
}

test('mv-cc --version names the underlying compiler and ours', (t) => {
  const out = execFileSync(mvcc, ['--version'], { encoding: 'utf8' });
  t.regex(out, /^mv-cc \d+\.\d+\.\d+ \(mv-image Multiverse toolchain/m);
  t.regex(out, /^gcc .*\d+\.\d+/m);
  const cxx = execFileSync(mvcxx, ['--version'], { encoding: 'utf8' });
  t.regex(cxx, /^mv-c\+\+ /m);
  t.regex(cxx, /^g\+\+ /m);
});

test('CC=mv-cc ./configure && make builds an HRT program', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-ac-'));
  cpSync(join(repo, 'test', 'hvm', 'fixtures', 'autoconf'), dir, { recursive: true });
  const ac = sh('autoconf', dir);
  t.is(ac.status, 0, `autoconf is needed for this test: ${ac.stderr}`);
  const conf = sh('./configure', dir, { CC: mvcc });
  t.is(conf.status, 0, conf.stdout + conf.stderr);
  t.regex(readFileSync(join(dir, 'config.log'), 'utf8'), /#define HAVE_MV_HRT_H 1/);
  const mk = sh('make', dir);
  t.is(mk.status, 0, mk.stderr);
  const bin = join(dir, 'demo');
  t.regex(sections(bin), /\.mv_hrt/);
  t.regex(symbols(bin), / T __wrap_main$/m);
  runsSomewhere(t, bin, /^demo in_hrt=[01]$/m);
});

test('make CC=mv-cc: compile and link steps, static and dynamic, C and C++', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-mk-'));
  writeFileSync(
    join(dir, 'a.c'),
    '#include <stdio.h>\n#include <mv/hrt.h>\nint f(void);\nint main(void) { printf("sum %d hrt %d\\n", f(), mv_in_hrt()); return 0; }\n',
  );
  writeFileSync(join(dir, 'b.c'), 'int f(void) { return 42; }\n');
  writeFileSync(
    join(dir, 'c.cc'),
    '#include <iostream>\nint main() { try { throw 7; } catch (int e) { std::cout << "caught " << e << std::endl; } return 0; }\n',
  );
  writeFileSync(
    join(dir, 'Makefile'),
    [
      'all: dyn stat cxx',
      'dyn: a.o b.o\n\t$(CC) -o $@ a.o b.o',
      'stat: a.o b.o\n\t$(CC) -static -o $@ a.o b.o',
      'cxx: c.cc\n\t$(CXX) -o $@ c.cc',
      '%.o: %.c\n\t$(CC) -c -O2 -Wall -Werror -o $@ $<',
      '',
    ].join('\n'),
  );
  const mk = sh(`make CC=${mvcc} CXX=${mvcxx}`, dir);
  t.is(mk.status, 0, mk.stdout + mk.stderr);
  t.notRegex(sections(join(dir, 'a.o')), /\.mv_hrt/, 'compile steps pass through');
  for (const b of ['dyn', 'stat', 'cxx']) t.regex(sections(join(dir, b)), /\.mv_hrt/, b);
  t.notRegex(execFileSync('readelf', ['-lW', join(dir, 'stat')], { encoding: 'utf8' }), /INTERP/);
  runsSomewhere(t, join(dir, 'dyn'), /^sum 42 hrt [01]$/m);
  runsSomewhere(t, join(dir, 'stat'), /^sum 42 hrt [01]$/m);
  runsSomewhere(t, join(dir, 'cxx'), /^caught 7$/m);
});

test('an installed mv-cc finds libmv and Nautilus relative to itself', (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'mv-prefix-'));
  execFileSync('make', ['-s', '-C', join(repo, 'hvm'), 'install', `PREFIX=${prefix}`], { stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'mv-inst-'));
  writeFileSync(join(dir, 'h.c'), '#include <stdio.h>\n#include <mv/hrt.h>\nint main(void) { puts(mv_version()); return 0; }\n');
  const cc = sh(`${join(prefix, 'bin', 'mv-cc')} -o h h.c`, dir);
  t.is(cc.status, 0, cc.stderr);
  t.truthy(abiVersion, 'MV_ABI_VERSION in abi.h');
  runsSomewhere(t, join(dir, 'h'), new RegExp(`^libmv \\d+\\.\\d+\\.\\d+ \\(mv abi ${abiVersion}\\)$`, 'm'));
  const ver = execFileSync(join(prefix, 'bin', 'mv-cc'), ['--version'], { encoding: 'utf8' });
  t.true(ver.includes(join(prefix, 'lib', 'mv')), ver);
});

test('MV_DISABLE=1 runs main natively without a warning', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-dis-'));
  writeFileSync(join(dir, 'h.c'), '#include <stdio.h>\nint main(int c, char **v) { printf("argc %d %s\\n", c, v[1]); return 5; }\n');
  t.is(sh(`${mvcc} -o h h.c`, dir).status, 0);
  const r = spawnSync(join(dir, 'h'), ['x'], { encoding: 'utf8', env: { ...process.env, MV_DISABLE: '1' } });
  t.is(r.status, 5);
  t.is(r.stdout, 'argc 2 x\n');
  t.is(r.stderr, '');
});
