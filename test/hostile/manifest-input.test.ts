// Rule: a manifest value that would end in a stack trace, a silent misbehaviour in the guest or a
// hang is refused in one line before anything is built: the name (also the hostname), hrt.cpus,
// NUL bytes and the kernel's size limits in args and env, and an entry whose name env(1) would
// take for a variable. A package directory name that looks like an option is made safe.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/cli';
import { loadManifest } from '../../src/lib/manifest';
import { renderInit } from '../../src/stages/init';
import { buildFails, failure, manifestPkg, pkg } from './helpers';

const line = (dir: string, rest: string) => `mv-image: manifest: ${join(dir, 'mv-image.json')}: ${rest}`;

test('a 300-character name (also the hostname) is refused before the build', (t) => {
  const dir = manifestPkg({ name: 'n'.repeat(300) });
  buildFails(t, dir, line(dir, 'name must NOT have more than 63 characters (fix: see the manifest reference in README.md)'));
});

const cpus: [string, Record<string, unknown>, string][] = [
  [
    'CPU 0, which the ROS keeps',
    { hrt: { cpus: '0-999' } },
    'hrt.cpus names CPU 0, which the ROS keeps (fix: name CPUs from 1 to 8191, e.g. "1-3" or "2,4-7")',
  ],
  [
    'a backwards range',
    { hrt: { cpus: '3-1' } },
    'hrt.cpus has the range 3-1, which runs backwards (fix: name CPUs from 1 to 8191, e.g. "1-3" or "2,4-7")',
  ],
  [
    'an absurd CPU number',
    { hrt: { cpus: '1,4-99999' } },
    'hrt.cpus names CPU 99999, but the debian kernel knows CPUs 0 to 8191 only (fix: name CPUs from 1 to 8191, e.g. "1-3" or "2,4-7")',
  ],
  [
    'a CPU the tuned kernel does not have',
    { kernel: 'tuned', hrt: { cpus: '1-64' } },
    'hrt.cpus names CPU 64, but the tuned kernel knows CPUs 0 to 63 only (fix: name CPUs from 1 to 63, e.g. "1-3" or "2,4-7")',
  ],
];
for (const [what, manifest, rest] of cpus) {
  test(`hrt.cpus with ${what} is refused before the build`, (t) => {
    const dir = manifestPkg(manifest);
    buildFails(t, dir, line(dir, rest));
  });
}

test('hrt.cpus beyond the kernel that --kernel picks is refused before the build', (t) => {
  const dir = manifestPkg({ hrt: { cpus: '2-100' } });
  buildFails(
    t,
    dir,
    line(
      dir,
      'hrt.cpus names CPU 100, but the tuned kernel knows CPUs 0 to 63 only (fix: name CPUs from 1 to 63, or build with another --kernel)',
    ),
    ['--kernel', 'tuned'],
  );
});

test('a NUL byte in args is refused (the guest shell would drop it)', (t) => {
  const dir = manifestPkg({ args: ['ok', 'a\u0000b'] });
  buildFails(t, dir, line(dir, 'args[1] contains a NUL byte, which ends a string passed to a program (fix: remove the \\u0000 from it)'));
});

test('a NUL byte in an env value is refused', (t) => {
  const dir = manifestPkg({ env: { GREETING: 'hi\u0000there' } });
  buildFails(
    t,
    dir,
    line(dir, 'env.GREETING contains a NUL byte, which ends a string passed to a program (fix: remove the \\u0000 from it)'),
  );
});

test("one argument over the kernel's MAX_ARG_STRLEN is refused", (t) => {
  const dir = manifestPkg({ args: ['x'.repeat(131072)] });
  buildFails(
    t,
    dir,
    line(
      dir,
      'args[0] is 131072 bytes, over the kernel\'s 131071 for one argument or variable (fix: pass large data in a file ("files") instead)',
    ),
  );
});

test('args and env over 1 MiB together are refused', (t) => {
  const dir = manifestPkg({ args: Array(8).fill('a'.repeat(120000)), env: { BIG: 'b'.repeat(120000) } });
  buildFails(
    t,
    dir,
    line(
      dir,
      'args and env take 1080085 bytes together, over 1048576 (each string counts its bytes + 9) (fix: pass large data in a file ("files") instead)',
    ),
  );
});

test('an entry whose file name holds "=" is refused (env -i would take it for a variable)', (t) => {
  const dir = manifestPkg({ entry: 'bin/x=y' });
  buildFails(
    t,
    dir,
    line(
      dir,
      'entry "bin/x=y" has "=" in its file name, which env(1) would take for a variable (fix: rename the program so its file name has no "=")',
    ),
  );
});

test('a package directory with no usable name asks for one', (t) => {
  const dir = pkg({}, '---');
  const out = tempDir('mv-out-');
  const r = cli(['build', dir, '-o', join(out, 'x.iso')]);
  t.is(
    failure(t, r),
    'mv-image: manifest: no image name can be made from the directory name "---" (fix: set "name" in mv-image.json (letters, digits, ".", "_" and "-", starting with a letter or digit))',
  );
});

test('init sets the hostname after "--", so no name is read as an option', (t) => {
  const init = renderInit({ hostname: 'F', modules: [], argv: ['/app/p'], env: {}, cwd: '/app', onExit: 'poweroff' });
  t.regex(init, /^hostname -- F$/m);
  execFileSync('sh', ['-n'], { input: init });
});

// The one full build here: a directory named -F (init used to run `hostname -F`, which reads
// the hostname from a file) builds an image named F whose init sets hostname F.
test.serial('a package directory named -F builds an image named F', (t) => {
  const dir = pkg({ 'p.c': 'int main(void) { return 0; }\n', Makefile: 'F: p.c\n\t$(CC) -O2 -o $@ $<\n' }, '-F');
  t.is(loadManifest(dir).name, 'F');
  const out = join(tempDir('mv-out-'), 'images');
  mkdirSync(out);
  const r = cli(['build', dir, '-o', join(out, 'F.iso'), '--json']);
  t.is(r.status, 0, r.stderr);
  t.is(JSON.parse(r.stdout).name, 'F');
  t.true(existsSync(join(out, 'F.iso')));
  const initrd = execFileSync('bsdtar', ['-xOf', join(out, 'F.iso'), 'boot/initrd.img'], { maxBuffer: 1 << 30 });
  const init = execFileSync('bsdtar', ['-xOf', '-', 'init'], { input: initrd }).toString();
  t.regex(init, /^hostname -- F$/m);
});
