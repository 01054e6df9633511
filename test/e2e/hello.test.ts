// End to end: build examples/hello into an ISO, check it is reproducible, and boot it under QEMU
// (SeaBIOS and OVMF), asserting the program's output and its MV-EXIT status.
import test from 'ava';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';

const EPOCH = '1700000000';
const out = tempDir('mv-e2e-');
const iso = join(out, 'hello.iso');

test.serial('build --json gives the image path, size, sha256 and stage timings', (t) => {
  const r = cli(['build', join(repo, 'examples/hello'), '-o', iso, '--json'], { SOURCE_DATE_EPOCH: EPOCH });
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.image, iso);
  t.is(j.size, readFileSync(iso).length);
  t.regex(j.sha256, /^[0-9a-f]{64}$/);
  t.deepEqual(
    j.stages.map((s: { stage: string }) => s.stage),
    ['toolchain', 'package', 'kernel', 'initramfs', 'iso'],
  );
  t.true(j.size < 40e6, `ISO is ${j.size} bytes`);
});

test.serial('the same inputs and SOURCE_DATE_EPOCH give the same bytes, with a cold cache', (t) => {
  const cold = tempDir('mv-cache-');
  const again = join(out, 'again.iso');
  const r = cli(['build', join(repo, 'examples/hello'), '-o', again], { SOURCE_DATE_EPOCH: EPOCH, XDG_CACHE_HOME: cold });
  t.is(r.status, 0, r.stderr);
  t.true(readFileSync(again).equals(readFileSync(iso)));
});

function bootsHello(t: import('ava').ExecutionContext, extra: string[]) {
  const r = cli(['run', iso, '--timeout', '240', ...extra]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^MV-KVM present$/m);
  t.regex(r.stdout, /^MV-CPUS ros=0 hrt=1 isolated=none nohz_full=none$/m);
  t.regex(r.stdout, /^MV-HRT vcpus=1 cpl=0$/m, 'main ran in ring 0 of the HRT');
  t.regex(r.stdout, /^hello from \/app\/hello$/m);
  t.regex(r.stdout, /^arg\[2\]=two words$/m);
  t.regex(r.stdout, /^env GREETING=hi there$/m);
  t.regex(r.stdout, /^file: This line was read from a file inside the image\.$/m);
  t.is(r.stdout.match(/^MV-EXIT \d+$/gm)?.join(), 'MV-EXIT 0');
}

test.serial('boots under SeaBIOS and runs the program', (t) => bootsHello(t, []));
test.serial('boots under OVMF (UEFI) and runs the program', (t) => bootsHello(t, ['--uefi']));

test.serial("a non-zero program status is mv-image run's exit status", (t) => {
  const iso3 = helloVariant(t, 'hello3', (m) => {
    m.env.HELLO_STATUS = '3';
  });
  const r = cli(['run', iso3, '--timeout', '240', '--quiet']);
  t.is(r.status, 3);
  t.is(r.stdout.trim(), 'MV-EXIT 3');
});

/** A copy of examples/hello with manifest changes, built into out/<name>.iso. */
function helloVariant(
  t: import('ava').ExecutionContext,
  name: string,
  change: (m: { env: Record<string, string>; hrt?: { require?: boolean; cpus?: string } }) => void,
): string {
  const dir = join(tempDir(), name);
  cpSync(join(repo, 'examples/hello'), dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'mv-image.json'), 'utf8'));
  Object.assign(m, { name, entry: 'hello' });
  change(m);
  writeFileSync(join(dir, 'mv-image.json'), JSON.stringify(m));
  const image = join(out, `${name}.iso`);
  const b = cli(['build', dir, '-o', image]);
  t.is(b.status, 0, b.stderr);
  return image;
}

test.serial('without usable KVM the program falls back to native, with a warning', (t) => {
  const r = cli(['run', iso, '--timeout', '240', '--no-nested']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^MV-KVM absent: the program runs natively$/m);
  t.notRegex(r.stdout, /^MV-HRT /m);
  t.regex(r.stdout, /^hello from \/app\/hello$/m);
  t.regex(r.stdout, /^MV-EXIT 0$/m);
});

test.serial('an image that requires the HRT fails cleanly without KVM', (t) => {
  const image = helloVariant(t, 'hello-req', (m) => {
    m.hrt = { require: true };
  });
  const r = cli(['run', image, '--timeout', '240', '--no-nested']);
  t.not(r.status, 0);
  t.regex(r.stdout, /^MV-KVM absent: the program runs natively, but this image requires the HRT$/m);
  t.notRegex(r.stdout, /^hello from/m, 'the program did not run');
  const exit = r.stdout.match(/^MV-EXIT (\d+)$/m);
  t.truthy(exit);
  t.is(Number(exit![1]), r.status ?? -1);
});

test.serial('explicit hrt.cpus are isolated by the kernel: isolcpus and nohz_full take effect', (t) => {
  const image = helloVariant(t, 'hello-iso', (m) => {
    m.hrt = { cpus: '1' };
  });
  const r = cli(['run', image, '--timeout', '240']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^MV-CPUS ros=0 hrt=1 isolated=1 nohz_full=1$/m);
  t.regex(r.stdout, /^MV-HRT vcpus=1 cpl=0$/m);
});

test.serial('a boot that never reaches MV-EXIT times out with status 124 and keeps the log', (t) => {
  const r = cli(['run', iso, '--timeout', '3']);
  t.is(r.status, 124);
  const line = r.stderr.trim().split('\n').pop()!;
  t.regex(line, /^mv-image: run: the guest printed no MV-EXIT line within 3 s \(serial log: (\S+)\)/);
  t.true(existsSync(line.match(/serial log: (\S+)\)/)![1]));
});

test.serial('--format netboot gives vmlinuz, initrd and an iPXE script that iPXE boots over TFTP', (t) => {
  const dir = join(out, 'hello-netboot');
  const b = cli(['build', join(repo, 'examples/hello'), '--format', 'netboot', '-o', dir, '--json']);
  t.is(b.status, 0, b.stderr);
  t.is(JSON.parse(b.stdout).format, 'netboot');
  t.deepEqual(readdirSync(dir).sort(), ['boot.ipxe', 'initrd.img', 'vmlinuz']);
  t.regex(
    readFileSync(join(dir, 'boot.ipxe'), 'utf8'),
    /^#!ipxe\n[^]*^kernel vmlinuz console=tty0 console=ttyS0,115200 panic=10 quiet$\n^initrd initrd.img$\n^boot$/m,
  );
  const r = cli(['run', dir, '--timeout', '240']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^MV-HRT vcpus=1 cpl=0$/m);
  t.regex(r.stdout, /^MV-EXIT 0$/m);
});

test('run names a missing image', (t) => {
  const r = cli(['run', '/nonexistent.iso']);
  t.is(r.status, 1);
  t.regex(r.stderr, /^mv-image: run: image \/nonexistent.iso does not exist \(fix: build it first/m);
});
