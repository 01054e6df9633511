import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifest } from '../../src/lib/manifest';
import { MvError } from '../../src/lib/errors';
import { tempDir } from '../helpers/cli';

function pkg(manifest?: unknown, makefile = true): string {
  const dir = join(tempDir(), 'my-pkg');
  mkdirSync(dir);
  if (makefile) writeFileSync(join(dir, 'Makefile'), 'all:\n');
  if (manifest !== undefined) writeFileSync(join(dir, 'mv-image.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return dir;
}

test('a directory with only a Makefile gets every default', (t) => {
  t.deepEqual(loadManifest(pkg()), {
    name: 'my-pkg',
    build: 'make',
    entry: 'my-pkg',
    args: [],
    env: {},
    files: [],
    cmdline: '',
    kernel: 'debian',
    onExit: 'poweroff',
    builder: 'host',
    hrt: { require: false, cpus: '' },
    source: null,
    overrides: [],
    builderLimits: { memoryMiB: 4096, pids: 512, timeoutS: 3600 },
    install: null,
    mvrun: false,
  });
});

test('install and mvrun: Debian packages for the image, and an absolute entry they provide run under mvrun', (t) => {
  const m = loadManifest(pkg({ install: { debian: ['nodejs', 'libstdc++6', 'g++-12'] }, entry: '/usr/bin/node', mvrun: true }, false));
  t.deepEqual(m.install, { debian: ['nodejs', 'libstdc++6', 'g++-12'], exclude: [] });
  t.is(m.entry, '/usr/bin/node');
  t.true(m.mvrun);
});

test("install: a name outside Debian's package-name grammar is one line naming it", (t) => {
  for (const bad of ['Nodejs', 'node js', '-o', 'x', '../x', 'a;rm -rf /', 'nodejs=18', '']) {
    const e = t.throws(() => loadManifest(pkg({ install: { debian: [bad] } })), { instanceOf: MvError }, bad);
    t.regex(
      e!.line(),
      /^mv-image: manifest: .*mv-image\.json: install\.debian\.0 must (match pattern|NOT have fewer) .*\(fix: [^\n]*\)$/,
      bad,
    );
  }
  t.regex(t.throws(() => loadManifest(pkg({ install: { debian: [] } })))!.message, /install\.debian must NOT have fewer than 1 items/);
  t.regex(t.throws(() => loadManifest(pkg({ install: { ubuntu: ['x'] } })))!.message, /unknown field "install\.ubuntu"/);
  t.regex(t.throws(() => loadManifest(pkg({ mvrun: 'yes' })))!.message, /mvrun must be boolean/);
});

test('install.exclude: dependencies left out; a name in both lists is one line', (t) => {
  t.deepEqual(loadManifest(pkg({ install: { debian: ['mpich'], exclude: ['adduser'] } })).install, {
    debian: ['mpich'],
    exclude: ['adduser'],
  });
  t.regex(
    t.throws(() => loadManifest(pkg({ install: { debian: ['mpich'], exclude: ['mpich'] } })), { instanceOf: MvError })!.line(),
    /install\.exclude names mpich, which "install\.debian" asks for \(fix: name it in only one of the two lists\)$/,
  );
  t.regex(
    t.throws(() => loadManifest(pkg({ install: { debian: ['mpich'], exclude: ['A;b'] } })))!.message,
    /install\.exclude\.0 must match pattern/,
  );
});

test('an absolute entry needs "install" (a package that provides it), and no "=" in its path', (t) => {
  t.regex(
    t.throws(() => loadManifest(pkg({ entry: '/usr/bin/node' })), { instanceOf: MvError })!.line(),
    /entry "\/usr\/bin\/node" is an absolute path, but "install" names no Debian package/,
  );
  t.regex(
    t.throws(() => loadManifest(pkg({ entry: '/usr/a=b/node', install: { debian: ['nodejs'] } })), { instanceOf: MvError })!.line(),
    /has "=" in its path/,
  );
});

test('builderLimits: each limit given replaces its default; a bad one names itself', (t) => {
  t.deepEqual(loadManifest(pkg({ builderLimits: { pids: 64 } })).builderLimits, { memoryMiB: 4096, pids: 64, timeoutS: 3600 });
  const e = t.throws(() => loadManifest(pkg({ builderLimits: { memoryMiB: 8 } })), { instanceOf: MvError });
  t.regex(e!.line(), /^mv-image: manifest: .*mv-image\.json: builderLimits\.memoryMiB must be >= 64 \(fix: /);
  t.regex(t.throws(() => loadManifest(pkg({ builderLimits: { cpus: 2 } })))!.message, /unknown field "builderLimits\.cpus"/);
});

test('fields given are kept; string files map to the same path in the image', (t) => {
  const m = loadManifest(
    pkg({
      name: 'x',
      entry: 'bin/x',
      args: ['a'],
      env: { A: 'b' },
      files: ['data/f.txt', { src: 'g', dest: '/etc/g' }, { src: 'out', dest: '/o', from: 'build' }],
      onExit: 'shell',
    }),
  );
  t.is(m.entry, 'bin/x');
  t.deepEqual(m.files, [
    { src: 'data/f.txt', dest: '/data/f.txt', from: 'package' },
    { src: 'g', dest: '/etc/g', from: 'package' },
    { src: 'out', dest: '/o', from: 'build' },
  ]);
  t.is(m.onExit, 'shell');
});

test('no Makefile and no build command means build null', (t) => {
  t.is(loadManifest(pkg({}, false)).build, null);
});

const bad: [string, unknown, RegExp][] = [
  ['unknown top-level field', { nmae: 'x' }, /unknown field "nmae"/],
  ['unknown nested field', { hrt: { cpu: '1' } }, /unknown field "hrt.cpu"/],
  ['wrong type', { args: 'one two' }, /args must be array/],
  ['bad enum', { onExit: 'halt' }, /onExit must be equal to one of the allowed values/],
  ['bad builder', { builder: 'podman' }, /builder must be equal to one of the allowed values/],
  ['bad name', { name: '../evil' }, /name must match pattern/],
  ['relative dest', { files: [{ src: 'a', dest: 'etc/a' }] }, /files.0.dest must match pattern/],
  ['an override that is not a C name', { overrides: ['clock gettime'] }, /overrides.0 must match pattern/],
  ['malformed JSON', '{"name": "x",}', /is not valid JSON/],
  ['not an object', '[1,2]', /must be a JSON object/],
];
for (const [what, manifest, re] of bad) {
  test(`rejects ${what} with one clear line`, (t) => {
    const e = t.throws(() => loadManifest(pkg(manifest)), { instanceOf: MvError });
    t.regex(e!.line(), re);
    t.regex(e!.line(), /^mv-image: manifest: .*\(fix: .+\)$/);
    t.false(e!.line().includes('\n'));
  });
}
