// Shared by the hostile-input tests: packages in temp dirs, the failure contract of the real CLI,
// and small ISO images made with xorriso (no GRUB, no build).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ExecutionContext } from 'ava';
import { cli, CliResult, tempDir } from '../helpers/cli';
import { writeCpio } from '../../src/lib/cpio';
import { readElf } from '../../src/lib/elf';

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
  if (typeof line === 'string') t.is(last, line);
  else t.regex(last, line);
  t.deepEqual(readdirSync(out), [], 'nothing written');
  t.notRegex(r.stdout + r.stderr, /BUILD-RAN/, 'found before the build ran');
  return r;
}

/** 2048 bytes of real-mode code for an El Torito no-emulation boot: prints `text` on COM1, then
 *  powers off (ACPI, QEMU's PIIX4 and older ports), with a triple fault as the fallback: either
 *  way QEMU (-no-reboot) exits with status 0, and no MV-EXIT was printed. */
export function bootSector(text: string): Buffer {
  const code = [0xba, 0xf8, 0x03]; // mov dx, 0x3f8
  for (const c of Buffer.from(text)) code.push(0xb0, c, 0xee); // mov al, c; out dx, al
  code.push(0xba, 0x04, 0x06, 0xb8, 0x00, 0x20, 0xef); // mov dx, 0x604; mov ax, 0x2000; out dx, ax
  code.push(0xba, 0x04, 0xb0, 0xef); // mov dx, 0xb004; out dx, ax
  code.push(0x31, 0xc0, 0x50, 0x50, 0x50, 0x89, 0xe5, 0x0f, 0x01, 0x5e, 0x00, 0xcc); // lidt of a zero IDT; int3
  code.push(0xf4, 0xeb, 0xfd); // hlt; jmp hlt
  const img = Buffer.alloc(2048);
  Buffer.from(code).copy(img);
  return img;
}

/** An ISO with `files` (path -> bytes); `boot` makes boot/boot.img its El Torito boot image. */
export function makeIso(iso: string, files: Record<string, string | Buffer>, boot?: Buffer): string {
  const tree = join(tempDir('mv-iso-tree-'), 'tree');
  const all = boot ? { ...files, 'boot/boot.img': boot } : files;
  for (const [f, body] of Object.entries(all)) {
    mkdirSync(dirname(join(tree, f)), { recursive: true });
    writeFileSync(join(tree, f), body);
  }
  const bootArgs = boot ? ['-b', 'boot/boot.img', '-no-emul-boot', '-boot-load-size', '4'] : [];
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', ...bootArgs, '-o', iso, tree], { stdio: 'ignore' });
  return iso;
}

/** /bin/true with a .mv_hrt section of `size` bytes, and the offset of that section's header. */
export function withHrt(size = 8192): { path: string; header: number } {
  const dir = tempDir();
  writeFileSync(join(dir, 'blob'), Buffer.concat([Buffer.from('Nautilus-HRT 0.0-test\0'), Buffer.alloc(size)]));
  const path = join(dir, 'prog');
  execFileSync('objcopy', ['--add-section', `.mv_hrt=${join(dir, 'blob')}`, '/bin/true', path]);
  const buf = readFileSync(path);
  const i = readElf(buf).sections.findIndex((s) => s.name === '.mv_hrt');
  return { path, header: Number(buf.readBigUInt64LE(40)) + i * buf.readUInt16LE(58) };
}

export interface IsoParts {
  grubCfg?: string | Buffer;
  kernel?: Buffer;
  initrd?: Buffer;
  record?: Buffer;
  program?: Buffer;
}

/** A small ISO laid out like mv-image's: grub.cfg, a bzImage head, an initramfs with the record
 *  (etc/mv-image.json) and the program; `parts` replaces any of them. */
export function miniIso(path: string, parts: IsoParts = {}): string {
  const kernel = Buffer.alloc(0x1000);
  kernel.write('HdrS', 0x202, 'latin1');
  kernel.writeUInt16LE(0x300, 0x20e);
  kernel.write('6.1.0-test (builder@mv) #1\0', 0x500, 'latin1');
  const cpio = writeCpio([
    { path: 'init', type: 'file', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { path: 'app/prog', type: 'file', data: parts.program ?? readFileSync('/bin/true'), mode: 0o755 },
    {
      path: 'etc/mv-image.json',
      type: 'file',
      data: parts.record ?? Buffer.from(JSON.stringify({ name: 'mini', program: '/app/prog', args: ['a b'] })),
    },
  ]);
  return makeIso(path, {
    'boot/grub/grub.cfg':
      parts.grubCfg ?? "menuentry 'mini (mv-image)' {\n  linux /boot/vmlinuz console=ttyS0 'x=a;b'\n  initrd /boot/initrd.img\n}\n",
    'boot/vmlinuz': parts.kernel ?? kernel,
    'boot/initrd.img': parts.initrd ?? gzipSync(cpio),
  });
}
