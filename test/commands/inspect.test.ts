import test from 'ava';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';
import { Progress } from '../../src/lib/progress';
import { toolchainStage } from '../../src/stages/toolchain';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

test.serial('inspect an ISO: kernel, command line, program with its embedded HRT, initramfs with sizes', (t) => {
  const iso = join(tempDir(), 'hello.iso');
  t.is(cli(['build', join(repo, 'examples/hello'), '-o', iso]).status, 0);
  const j = JSON.parse(cli(['inspect', iso, '--json']).stdout);
  t.is(j.kind, 'iso');
  t.regex(j.kernelVersion, /^\d+\.\d+\.\d+-\d+-amd64$/);
  t.regex(j.cmdline, /console=ttyS0,115200/);
  t.deepEqual(j.program.path, '/app/hello');
  t.deepEqual(j.program.args, ['one', 'two words']);
  t.is(j.program.hrt.section, '.mv_hrt');
  t.regex(j.program.hrt.nautilusVersion, /^Nautilus-HRT \S+/);
  t.true(j.program.hrt.size > 4096);
  const init = j.initramfs.find((m: { path: string }) => m.path === '/init');
  t.is(init.mode, '0755');
  t.true(init.size > 100);
  t.truthy(j.initramfs.find((m: { path: string; mode: string }) => m.path === '/bin/sh' && m.mode === 'link'));
  const text = cli(['inspect', iso]).stdout;
  t.regex(text, /^program: +\/app\/hello one 'two words'$/m);
  t.regex(text, /^embedded HRT: yes \(\.mv_hrt, \d+ bytes, Nautilus-HRT /m);
});

test.serial('inspect a binary: built with mv-cc it carries .mv_hrt, a plain one does not', async (t) => {
  const tc = await toolchainStage.run(Progress.quiet(), {});
  const dir = tempDir();
  writeFileSync(join(dir, 'p.c'), 'int main(void) { return 0; }\n');
  execFileSync(tc.CC, ['-O2', '-o', join(dir, 'p'), join(dir, 'p.c')]);
  const j = JSON.parse(cli(['inspect', join(dir, 'p'), '--json']).stdout);
  t.is(j.kind, 'binary');
  t.regex(j.hrt.nautilusVersion, /^Nautilus-HRT /);
  t.regex(cli(['inspect', '/bin/ls']).stdout, /^embedded HRT: no/m);
});

test('inspect rejects what it cannot read, in one line', (t) => {
  const r = cli(['inspect', join(repo, 'package.json')]);
  t.is(r.status, 1);
  t.regex(
    r.stderr.trim(),
    /^mv-image: inspect: .*package.json cannot be inspected: neither an ISO 9660 image nor an x86-64 ELF \(fix: .+\)$/,
  );
  t.regex(cli(['inspect', '/nonexistent']).stderr, /does not exist or cannot be read/);
});
