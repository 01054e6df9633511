// A --builder docker image does not depend on the host: the program's shared libraries and loader,
// busybox, the toolchain that compiled it and init's tools all come from the builder image. Shown
// by building hello twice with the docker builder, each time with a fresh cache (the kernel aside,
// which is Debian's package either way): once as usual, once in a mount namespace where the host's
// library directory holds only altered copies (extra bytes at the end: still loadable) of the
// libraries node and apt-cache need (the loader and libc included), and busybox and gcc are empty
// files. Anything the image took from the host would then differ, or fail to build; the ISOs must
// be byte-identical.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { sharedLibraries } from '../../src/lib/ldd';
import { bin, cli, repo, tempDir } from '../helpers/cli';
import { ensureBuilder } from './helpers';

const EPOCH = '1700000000';
const LIBDIR = '/usr/lib/x86_64-linux-gnu';
const hello = join(repo, 'examples/hello');

test.before(() => {
  ensureBuilder();
});

/** A fresh cache that shares only the kernel stage (and its download) with the user's. */
function freshCache(): string {
  const cache = tempDir('mv-cache-');
  const user = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mv-image');
  mkdirSync(join(cache, 'mv-image'));
  for (const s of ['kernel', 'debs']) {
    mkdirSync(join(user, s), { recursive: true });
    symlinkSync(join(user, s), join(cache, 'mv-image', s));
  }
  return cache;
}

interface Stage {
  stage: string;
  ms: number;
  cached: boolean;
}

function report(
  t: import('ava').ExecutionContext,
  what: string,
  r: { status: number | null; stdout: string; stderr: string },
  t0: number,
): Stage[] {
  t.is(r.status, 0, `${r.stderr}\n${r.stdout}`.trim());
  const stages: Stage[] = JSON.parse(r.stdout).stages;
  t.log(
    `${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s (${stages.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)}${s.cached ? ' cached' : ''}`).join(', ')})`,
  );
  return stages;
}

test.serial("a docker build gives the same bytes with the host's libraries, loader, busybox and gcc hidden", (t) => {
  const out = tempDir('mv-indep-');
  const usual = join(out, 'usual.iso'),
    hidden = join(out, 'hidden.iso');
  const args = (iso: string) => ['build', hello, '-o', iso, '--builder', 'docker', '--json'];

  let t0 = Date.now();
  report(t, 'usual docker build', cli(args(usual), { SOURCE_DATE_EPOCH: EPOCH, XDG_CACHE_HOME: freshCache() }, 900_000), t0);

  // The altered library directory: what node and apt-cache (the kernel stage) need to start, each
  // with bytes appended, and nothing else.
  const libs = tempDir('mv-libs-');
  for (const lib of new Set([process.execPath, '/usr/bin/apt-cache', '/bin/sh'].flatMap((p) => sharedLibraries(p)))) {
    const copy = join(libs, basename(lib));
    copyFileSync(realpathSync(lib), copy);
    appendFileSync(copy, 'altered by host-independent.test.ts');
  }
  const gcc = realpathSync(spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim());
  const cache = freshCache();
  // Bind mounts before the library directory changes (mount itself needs the real one); then node
  // starts with the altered loader and libc.
  const script = `mount --bind /dev/null /usr/bin/busybox && mount --bind /dev/null "${gcc}" && mount --bind "$0" ${LIBDIR} && exec "$@"`;
  t0 = Date.now();
  const r = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, libs, process.execPath, bin, ...args(hidden)],
    { env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, XDG_CACHE_HOME: cache }, encoding: 'utf8', timeout: 900_000 },
  );
  const stages = report(t, 'docker build, host hidden', r, t0);
  for (const s of stages.filter((x) => x.stage !== 'kernel')) t.false(s.cached, `${s.stage} was a cache hit`);

  t.true(readFileSync(hidden).equals(readFileSync(usual)), 'the ISOs differ');
  // And the program's libc is the builder's, not the host's (which the namespace altered).
  const pkgDir = join(cache, 'mv-image', 'package');
  const entry = readdirSync(pkgDir).find((d) => existsSync(join(pkgDir, d, 'package.json')))!;
  const files: { dest: string; src: string }[] = JSON.parse(readFileSync(join(pkgDir, entry, 'package.json'), 'utf8'));
  const libc = files.find((f) => f.dest.endsWith('/libc.so.6'))!;
  const root = join(cache, 'mv-image', 'builder-root');
  const builderLibc = join(
    root,
    readdirSync(root).find((d) => !d.includes('.'))!,
    'root',
    'usr/lib/x86_64-linux-gnu/libc.so.6',
  );
  t.true(readFileSync(join(pkgDir, entry, libc.src)).equals(readFileSync(builderLibc)));
});
