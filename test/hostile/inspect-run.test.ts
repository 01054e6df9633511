// Rule: `inspect` and `run` take any file: they read with limits (regular files only, what each
// format says and no more), refuse what they cannot use at once, in one line, and a QEMU that
// stops early leaves its serial log, whose last lines are shown.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cli, repo, tempDir } from '../helpers/cli';
import { writeCpio } from '../../src/lib/cpio';
import { MvError } from '../../src/lib/errors';
import { inspect, LIMITS } from '../../src/inspect';
import { bootSector, failure, makeIso, miniIso, withHrt } from './helpers';

const FIX_INSPECT = '(fix: pass an ISO built by mv-image, or an x86-64 ELF program)';
const FIX_ELF = '(fix: rebuild it; a file cut short or altered after linking cannot be used)';
const FIX_DAMAGED = "(fix: rebuild it with 'mv-image build'; a copy cut short or altered cannot be read)";
const FIX_RUN = "(fix: pass an ISO or a netboot directory made by 'mv-image build' (build it again if it was cut short))";

const inspectFails = (t: import('ava').ExecutionContext, path: string) => failure(t, cli(['inspect', path], {}, 30_000));
const runFails = (t: import('ava').ExecutionContext, path: string) => {
  const t0 = Date.now();
  const last = failure(t, cli(['run', path, '--accel', 'tcg', '--timeout', '300'], {}, 30_000));
  t.true(Date.now() - t0 < 20_000, 'refused at once, not after the timeout');
  return last;
};

test('inspect /dev/zero ends at once: only regular files are read', (t) => {
  t.is(
    inspectFails(t, '/dev/zero'),
    `mv-image: inspect: /dev/zero cannot be inspected: it is not a regular file (a device, FIFO or socket) ${FIX_INSPECT}`,
  );
});

test('inspect a FIFO does not wait for a writer', (t) => {
  const fifo = join(tempDir(), 'fifo');
  execFileSync('mkfifo', [fifo]);
  t.is(
    inspectFails(t, fifo),
    `mv-image: inspect: ${fifo} cannot be inspected: it is not a regular file (a device, FIFO or socket) ${FIX_INSPECT}`,
  );
});

test('inspect a program whose .mv_hrt lies past the end of the file: damaged, not "present"', (t) => {
  const { path, header } = withHrt();
  t.regex(cli(['inspect', path]).stdout, /^embedded HRT: yes \(\.mv_hrt, 8214 bytes, Nautilus-HRT 0\.0-test\)$/m);
  const buf = readFileSync(path);
  buf.writeBigUInt64LE(BigInt(buf.length + 4096), header + 24);
  writeFileSync(path, buf);
  t.is(
    inspectFails(t, path),
    `mv-image: inspect: ${path} is a damaged ELF file: section .mv_hrt (bytes ${buf.length + 4096} to ${buf.length + 4096 + 8214}) lies past the end of the file (${buf.length} bytes) ${FIX_ELF}`,
  );
});

test('inspect a program cut short, or with a header that points anywhere: one line, no RangeError', (t) => {
  const dir = tempDir();
  const short = join(dir, 'short');
  writeFileSync(short, readFileSync('/bin/true').subarray(0, 1000));
  t.regex(
    inspectFails(t, short),
    new RegExp(`^mv-image: inspect: ${short} is a damaged ELF file: .* lies past the end of the file \\(1000 bytes\\) \\(fix: `),
  );
  const wild = join(dir, 'wild');
  const buf = Buffer.from(readFileSync('/bin/true'));
  buf.writeBigUInt64LE(0xffffffffffff0000n, 40); // e_shoff
  writeFileSync(wild, buf);
  t.regex(
    inspectFails(t, wild),
    /is a damaged ELF file: the section header table \(bytes 18446744073709486080 to \d+\) lies past the end of the file/,
  );
});

test('inspect a small ISO made the way mv-image makes them', async (t) => {
  const r = await inspect(miniIso(join(tempDir(), 'mini.iso')));
  t.like(r, {
    kind: 'iso',
    kernelVersion: '6.1.0-test',
    cmdline: 'console=ttyS0 x=a;b',
    program: { path: '/app/prog', args: ['a b'], hrt: null },
  });
});

test('inspect an ISO cut short says so', (t) => {
  const iso = miniIso(join(tempDir(), 'short.iso'));
  const size = readFileSync(iso).length;
  truncateSync(iso, size - 4096);
  t.is(
    inspectFails(t, iso),
    `mv-image: inspect: ${iso} is damaged: cut short: the volume has ${size} bytes, the file ${size - 4096} ${FIX_DAMAGED}`,
  );
});

test('inspect an ISO whose initramfs is not one: one line', (t) => {
  const dir = tempDir();
  const garbage = miniIso(join(dir, 'garbage.iso'), { initrd: Buffer.from('this is not gzip') });
  t.regex(
    inspectFails(t, garbage),
    new RegExp(`^mv-image: inspect: ${garbage} is damaged: its initramfs \\(boot/initrd.img\\): it is not gzip data \\(.*\\) \\(fix: `),
  );
  // A header whose size field is not hex used to make the reader walk backwards or forever.
  const cpio = Buffer.from(writeCpio([{ path: 'etc/x', type: 'file', data: Buffer.from('x') }]));
  cpio.write('-0000001', 6 + 6 * 8, 'latin1');
  const bad = miniIso(join(dir, 'bad.iso'), { initrd: gzipSync(cpio) });
  t.is(
    inspectFails(t, bad),
    `mv-image: inspect: ${bad} is damaged: its initramfs (boot/initrd.img): the entry header at byte 0 is damaged ${FIX_DAMAGED}`,
  );
  const cut = miniIso(join(dir, 'cut.iso'), {
    initrd: gzipSync(writeCpio([{ path: 'etc/x', type: 'file', data: Buffer.alloc(5000) }]).subarray(0, 3000)),
  });
  t.regex(inspectFails(t, cut), /its initramfs \(boot\/initrd\.img\): the archive ends at byte 3000, before its TRAILER!!! entry/);
});

test('inspect stops unpacking an initramfs at its limit', async (t) => {
  // Its own bound: the shared LIMITS stay as they are for the tests running beside this one.
  const iso = miniIso(join(tempDir(), 'big.iso'));
  const e = await t.throwsAsync(inspect(iso, { ...LIMITS, initrdUnpacked: 4096 }), { instanceOf: MvError });
  t.regex(e!.line(), /its initramfs \(boot\/initrd\.img\): it unpacks to over 4096 bytes/);
});

test('run a text file is refused at once, not after the timeout', (t) => {
  const path = join(repo, 'package.json');
  t.is(
    runFails(t, path),
    `mv-image: run: ${path} cannot be booted: it is not an ISO 9660 image (no primary volume descriptor at byte 32768) ${FIX_RUN}`,
  );
});

test('run /dev/zero is refused at once', (t) => {
  t.is(runFails(t, '/dev/zero'), `mv-image: run: /dev/zero cannot be booted: it is not a regular file ${FIX_RUN}`);
});

test('run an ISO cut short is refused at once', (t) => {
  const iso = makeIso(join(tempDir(), 'cut.iso'), { 'a.txt': 'a' }, bootSector('never\n'));
  const size = readFileSync(iso).length;
  truncateSync(iso, 40_000);
  t.is(
    runFails(t, iso),
    `mv-image: run: ${iso} cannot be booted: it is cut short: the volume has ${size} bytes, the file 40000 ${FIX_RUN}`,
  );
});

test('run an ISO without a boot record is refused at once', (t) => {
  const iso = makeIso(join(tempDir(), 'data.iso'), { 'a.txt': 'a' });
  t.is(runFails(t, iso), `mv-image: run: ${iso} cannot be booted: the ISO has no El Torito boot record ${FIX_RUN}`);
});

test('run a netboot directory without a kernel is refused at once', (t) => {
  const dir = join(tempDir(), 'x-netboot');
  mkdirSync(dir);
  writeFileSync(join(dir, 'boot.ipxe'), '#!ipxe\nkernel vmlinuz\ninitrd initrd.img\nboot\n');
  writeFileSync(join(dir, 'initrd.img'), 'x');
  t.is(runFails(t, dir), `mv-image: run: ${dir} cannot be booted: it has no vmlinuz ${FIX_RUN}`);
});

// A real boot (about a second): the image sits in a directory with a comma (QEMU's option syntax),
// its boot sector prints a line and powers off before any MV-EXIT.
test.serial('QEMU stopping early keeps the serial log and shows its last lines', (t) => {
  const dir = join(tempDir(), 'a,b');
  mkdirSync(dir);
  const iso = makeIso(join(dir, 'early,stop.iso'), { 'a.txt': 'a' }, bootSector('MV-TEST boot sector ran\n'));
  const r = cli(['run', iso, '--accel', 'tcg', '--timeout', '120', '--quiet'], {}, 150_000);
  const last = failure(t, r, 126);
  const m = last.match(
    /^mv-image: run: QEMU exited with status 0 before the program finished: the guest powered off or reset without printing MV-EXIT \(serial log: (\S+)\) \(fix: read the serial log \(its last lines are above\); run 'mv-image doctor' and check the QEMU options\)$/,
  );
  t.truthy(m, last);
  t.regex(r.stderr, /^last lines of the serial log:\n {2}MV-TEST boot sector ran\nmv-image: run: /m);
  t.true(existsSync(m![1]));
  t.regex(readFileSync(m![1], 'utf8'), /MV-TEST boot sector ran/);
});

test('an image path with a comma reaches QEMU intact', (t) => {
  const dir = join(tempDir(), 'x,y');
  mkdirSync(dir);
  const iso = join(dir, 'a,b.iso');
  copyFileSync(makeIso(join(tempDir(), 'plain.iso'), { 'a.txt': 'a' }, bootSector('comma ok\n')), iso);
  const r = cli(['run', iso, '--accel', 'tcg', '--timeout', '120'], {}, 150_000);
  t.regex(r.stdout, /^comma ok$/m, r.stderr);
  t.notRegex(r.stderr, /Could not open/);
});
