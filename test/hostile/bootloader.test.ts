// Rule: the manifest's "cmdline" is a list of kernel parameters that reaches the kernel exactly,
// through GRUB (grub.cfg) and iPXE (boot.ipxe); anything that could not is refused, in one
// line, before anything is built. Last, a real ISO boots and its guest reads /proc/cmdline.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { cli, tempDir } from '../helpers/cli';
import { grubLinuxCmdline, ipxeArgs, parseCmdline } from '../../src/lib/cmdline';
import { render } from '../../src/lib/templates';
import { Progress } from '../../src/lib/progress';
import { isoStage, renderGrubCfg } from '../../src/stages/iso';
import type { Runner } from '../../src/builder/runner';
import { MvError } from '../../src/lib/errors';
import { buildFails, failure, manifestPkg, pkg } from './helpers';

const refused: [string, string, string][] = [
  [
    'a newline (it would add GRUB lines)',
    'quiet\nmenuentry evil {',
    'contains a newline (U+000a) (fix: use printable ASCII only: write kernel parameters separated by spaces, e.g. "mitigations=off foo.bar=1")',
  ],
  [
    'a tab',
    'a\tb',
    'contains a control character (U+0009) (fix: use printable ASCII only: write kernel parameters separated by spaces, e.g. "mitigations=off foo.bar=1")',
  ],
  [
    'a lone double quote',
    'foo="bar',
    'has an unbalanced double quote (fix: close the quote: "name=value with spaces" or name="value with spaces")',
  ],
  [
    'a quote inside a parameter',
    'a"b c"d',
    'has a double quote inside the parameter a"b c"d (fix: quote a whole parameter or its whole value: "name=a b" or name="a b")',
  ],
  [
    'a single quote',
    "x='y'",
    "contains ', which GRUB or iPXE would not pass to the kernel unchanged (fix: leave it out: the kernel has no escapes, and double quotes are its only quoting)",
  ],
  [
    'a backslash',
    'x=a\\b',
    'contains \\, which GRUB or iPXE would not pass to the kernel unchanged (fix: leave it out: the kernel has no escapes, and double quotes are its only quoting)',
  ],
  [
    'an iPXE setting',
    'x=${net0/ip}',
    'contains ${, which GRUB or iPXE would not pass to the kernel unchanged (fix: leave it out: the kernel has no escapes, and double quotes are its only quoting)',
  ],
  [
    'an iPXE comment',
    '"x=a #b"',
    'has "x=a #b", which an iPXE script would read as a comment or a command separator (fix: remove it, or join it to its neighbour without a space)',
  ],
  [
    'an iPXE separator',
    'a || b',
    'has ||, which an iPXE script would read as a comment or a command separator (fix: remove it, or join it to its neighbour without a space)',
  ],
  ['two spaces inside quotes', 'x="a  b"', 'has two spaces in a row in x="a  b" (fix: use single spaces (iPXE would merge them))'],
  [
    'non-ASCII',
    'x=é',
    'contains a non-ASCII character (U+00e9) (fix: use printable ASCII only: write kernel parameters separated by spaces, e.g. "mitigations=off foo.bar=1")',
  ],
  ['over 1024 characters', 'x'.repeat(1025), 'is 1025 characters, over 1024 (fix: keep it to the parameters the kernel needs)'],
];
for (const [what, cmdline, rest] of refused) {
  test(`cmdline with ${what} is refused before the build`, (t) => {
    const dir = manifestPkg({ cmdline });
    buildFails(t, dir, `mv-image: manifest: ${join(dir, 'mv-image.json')}: cmdline ${rest}`);
  });
}

test('the netboot format refuses the same, and writes no directory', (t) => {
  const dir = manifestPkg({ cmdline: 'a ; b' });
  const out = tempDir('mv-out-');
  const r = cli(['build', dir, '--format', 'netboot', '-o', join(out, 'x-netboot')]);
  t.regex(failure(t, r), /cmdline has ;, which an iPXE script would read as a comment or a command separator/);
  t.deepEqual(readdirSync(out), []);
});

// Printable ASCII with what GRUB and iPXE treat specially: as loose characters (spaces and quotes
// anywhere), and as parameters with quoted names or values.
const chars = (extra: string) =>
  fc.array(fc.constantFrom(...`ab=.;$&|<>(){}#-_,:/[]*?!~\`x1${extra}`.split('')), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
const loose = fc.array(chars('"     '), { maxLength: 5 }).map((a) => a.join(''));
const spaced = fc.array(chars(''), { minLength: 1, maxLength: 3 }).map((w) => w.join(' '));
const param = fc.oneof(
  chars(''),
  spaced.map((v) => `"${v}"`),
  fc.tuple(chars(''), spaced).map(([n, v]) => `${n}="${v}"`),
);
const tricky = fc.oneof(
  loose,
  fc.array(param, { maxLength: 6 }).map((ps) => ps.join(' ')),
);

/** What iPXE makes of a `kernel` line: whitespace-split words, rejoined by single spaces. */
function ipxeKernelLine(script: string): string {
  const line = script.split('\n').find((l) => l.startsWith('kernel '))!;
  const words = line.split(/\s+/).filter(Boolean);
  for (const w of words)
    if (w.startsWith('#') || ['||', '&&', ';'].includes(w) || /\$\{.*\}/.test(w)) throw new Error(`iPXE would read ${w}`);
  return words.slice(2).join(' ');
}

test('any accepted cmdline reaches the kernel exactly through GRUB and iPXE; grub-script-check agrees', (t) => {
  const dir = tempDir('mv-grub-');
  let checked = 0;
  fc.assert(
    fc.property(tricky, (s) => {
      const p = parseCmdline(s);
      if (!Array.isArray(p)) return;
      const line = ['panic=10', ...p].join(' ');
      const cfg = renderGrubCfg({ title: 'x (mv-image)', cmdline: line });
      t.is(cfg.split('\n').filter((l) => /^\s*(linux|initrd|menuentry)\b/.test(l)).length, 3, 'one entry, one linux and one initrd line');
      t.is(grubLinuxCmdline(cfg.match(/^\s*linux\s.*$/m)![0]), `console=tty0 console=ttyS0,115200 ${line}`);
      t.is(ipxeKernelLine(render('boot.ipxe.ejs', { name: 'x', args: ipxeArgs(line) })), `console=tty0 console=ttyS0,115200 ${line}`);
      if (checked++ < 150) {
        writeFileSync(join(dir, 'grub.cfg'), cfg);
        execFileSync('grub-script-check', [join(dir, 'grub.cfg')]);
      }
    }),
    { numRuns: 600, seed: 14 },
  );
  t.true(checked > 100, `${checked} accepted`);
});

test('the iso stage runs grub-script-check on grub.cfg before grub-mkrescue, and stops on its verdict', async (t) => {
  process.env.XDG_CACHE_HOME = tempDir('mv-cache-');
  const dir = tempDir();
  writeFileSync(join(dir, 'vmlinuz'), 'k');
  writeFileSync(join(dir, 'initrd.img'), 'i');
  const calls: string[][] = [];
  const runner: Runner = {
    kind: 'host',
    id: 'fake',
    requireTools: () => {},
    run: async (cmd, args) => {
      calls.push([cmd, ...args]);
      return { status: 97, stdout: '', stderr: 'Syntax error at line 9', output: 'Syntax error at line 9\n' };
    },
  };
  const e = await t.throwsAsync(
    isoStage.run(Progress.quiet(), {
      title: 't',
      vmlinuz: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.img'),
      cmdline: 'quiet',
      sourceDateEpoch: 0,
      runner,
    }),
    { instanceOf: MvError },
  );
  t.is(
    e!.line(),
    'mv-image: iso: grub-script-check rejects the generated grub.cfg: Syntax error at line 9 (fix: this is a bug in mv-image: report it with the "cmdline" of mv-image.json)',
  );
  t.is(calls.length, 1);
  t.regex(
    calls[0].join(' '),
    /^sh -c grub-script-check "\$0" \|\| exit 97; exec "\$@" \S+\/boot\/grub\/grub\.cfg faketime .* grub-mkrescue /,
  );
});

// One real ISO, at a path with a comma (QEMU option escaping), booted once: the guest prints
// /proc/cmdline, which must be the line the build reports, after what GRUB and grub.cfg add.
const PROGRAM = `#include <stdio.h>
int main(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	if (n && buf[n - 1] == '\\n')
		buf[n - 1] = 0;
	printf("CMDLINE<%s>\\n", buf);
	return f ? 0 : 2;
}
`;

test.serial("a tricky but valid cmdline is exactly the kernel's /proc/cmdline in a booted ISO", (t) => {
  const cmdline = 'mv.semi=a;b mv.dollar=$HOME mv.brace={x} mv.ops=a|b&c<d> "mv.space=two words" mv.value="v w" mv.hash=a#b mv.q=""';
  const dir = pkg({
    'cmdline.c': PROGRAM,
    Makefile: 'cmdline: cmdline.c\n\t$(CC) -O2 -o $@ $<\n',
    'mv-image.json': JSON.stringify({ name: 'cmdline', cmdline }),
  });
  const out = join(tempDir('mv-out-'), 'with,comma');
  mkdirSync(out);
  const iso = join(out, 'cmd,line.iso');
  const b = cli(['build', dir, '-o', iso, '--json']);
  t.is(b.status, 0, b.stderr);
  const built = JSON.parse(b.stdout).cmdline;
  t.is(
    built,
    'panic=10 quiet mv.semi=a;b mv.dollar=$HOME mv.brace={x} mv.ops=a|b&c<d> "mv.space=two words" "mv.value=v w" mv.hash=a#b mv.q=',
  );
  const grub = execFileSync('bsdtar', ['-xOf', iso, 'boot/grub/grub.cfg']).toString();
  t.regex(
    grub,
    /^ {2}linux \/boot\/vmlinuz console=tty0 console=ttyS0,115200 panic=10 quiet 'mv\.semi=a;b' 'mv\.dollar=\$HOME' 'mv\.brace=\{x\}' 'mv\.ops=a\|b&c<d>' 'mv\.space=two words' 'mv\.value=v w' 'mv\.hash=a#b' mv\.q=$/m,
  );
  t.is(JSON.parse(cli(['inspect', iso, '--json']).stdout).cmdline, `console=tty0 console=ttyS0,115200 ${built}`);
  const r = cli(['run', iso, '--timeout', '240']);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.match(/^CMDLINE<(.*)>$/m)?.[1], `BOOT_IMAGE=/boot/vmlinuz console=tty0 console=ttyS0,115200 ${built}`);
});
