// The examples, built into images with mv-cc and booted under QEMU TCG: their main runs in the HRT.
import test from 'ava';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';

const out = tempDir('mv-examples-');

function buildAndBoot(t: import('ava').ExecutionContext, name: string) {
  const iso = join(out, `${name}.iso`);
  const b = cli(['build', join(repo, 'examples', name), '-o', iso]);
  t.is(b.status, 0, b.stderr);
  const r = cli(['run', iso, '--timeout', '300']);
  t.regex(r.stdout, /^MV-HRT vcpus=\d+ cpl=0$/m, 'main ran in ring 0 of the HRT');
  return r;
}

test.serial('primes: CC=mv-cc ./configure && make works unchanged, and the program runs in the HRT', (t) => {
  const r = buildAndBoot(t, 'primes');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^2 3 5 7 11 13 17 19 23 29 31 37 41 43 47$/m);
  t.regex(r.stdout, /^15 primes below 50$/m);
  t.regex(r.stdout, /^MV-EXIT 0$/m);
});

test.serial('threads: 4 POSIX threads (one vCPU and partner host thread each) sum correctly in the HRT', (t) => {
  const r = buildAndBoot(t, 'threads');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^threads: PASS$/m);
  t.regex(r.stdout, /^MV-EXIT 0$/m);
});
