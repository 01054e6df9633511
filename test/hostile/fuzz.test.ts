// Fuzz (fast-check, fixed seed; MV_FUZZ_SEED picks another): the manifest loader and `inspect`
// get random and mutated input. Every case must end in success or one `mv-image:` line (an
// MvError): never another exception, and never a hang.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { tempDir } from '../helpers/cli';
import { CpioError, CpioReader, writeCpio } from '../../src/lib/cpio';
import { grubLinuxCmdline, parseCmdline } from '../../src/lib/cmdline';
import { readElf } from '../../src/lib/elf';
import { MvError } from '../../src/lib/errors';
import { DEBIAN_PACKAGE_PATTERN, loadManifest, manifestSchema } from '../../src/lib/manifest';
import { cpuProblem, defaultName, NAME_MAX } from '../../src/lib/manifest-rules';
import { kernelCmdline } from '../../src/pipeline';
import { bzImageVersion, inspect } from '../../src/inspect';
import { renderInit } from '../../src/stages/init';
import { miniIso, withHrt } from './helpers';

const SEED = Number(process.env.MV_FUZZ_SEED ?? 14);
const LINE = /^mv-image: [a-z]+: .+ \(fix: .+\)$/;

/** An error that is not one MvError line fails the case. */
function mustBeMvError(e: unknown): void {
  if (!(e instanceof MvError)) throw e;
  if (!LINE.test(e.line())) throw new Error(`not one mv-image line: ${JSON.stringify(e.line())}`);
}

/** `f` must settle within `ms`, with a result or an MvError. */
async function settles<T>(f: () => Promise<T>, ms = 15_000): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([f(), hang]);
  } catch (e) {
    mustBeMvError(e);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

// ---- the manifest loader --------------------------------------------------------------------

const weird = fc.constantFrom(
  '',
  '-F',
  '--',
  '.',
  '..',
  '0',
  '0-999',
  '3-1',
  '1-99999',
  'a=b',
  'bin/x=y',
  'x\u0000y',
  'n'.repeat(300),
  '"',
  'a"b',
  '\n',
  '${x}',
  'a;b',
  '$HOME',
  ' ',
  'é',
  '\u2028',
  '/etc/passwd',
  '../x',
  '1,,2',
  '1-',
  '-1',
);
const str = fc.oneof(
  weird,
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...'01239-, ="\'\\\n\t\u0000ab$;#{}'), maxLength: 30 }),
);
const anyValue = fc.oneof(
  str,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(str, { maxLength: 4 }),
  fc.dictionary(str, str, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const FIELDS = Object.keys(manifestSchema.properties);
const targeted = fc.record(
  {
    name: str,
    build: fc.oneof(str, fc.constant(null)),
    entry: str,
    args: fc.array(str, { maxLength: 5 }),
    env: fc.dictionary(fc.oneof(fc.constantFrom('A', 'PATH', '_x', 'MV_HRT_CPUS'), str), str, { maxKeys: 3 }),
    files: fc.array(
      fc.oneof(str, fc.record({ src: str, dest: str, from: fc.constantFrom('package', 'build', 'x') }, { requiredKeys: [] })),
      { maxLength: 3 },
    ),
    cmdline: str,
    kernel: fc.constantFrom('debian', 'tuned', 'x'),
    onExit: fc.constantFrom('poweroff', 'shell', 'halt'),
    builder: fc.constantFrom('host', 'docker', 'auto', 'podman'),
    hrt: fc.record(
      {
        require: fc.oneof(fc.boolean(), str),
        cpus: fc.oneof(str, fc.stringMatching(/^[0-9]{1,5}(-[0-9]{1,5})?(,[0-9]{1,5}(-[0-9]{1,5})?){0,3}$/)),
      },
      { requiredKeys: [] },
    ),
    source: fc.oneof(fc.constant(null), fc.record({ debian: str })),
    overrides: fc.array(str, { maxLength: 3 }),
    install: fc.oneof(
      fc.constant(null),
      fc.record({ debian: fc.array(fc.oneof(str, fc.constantFrom('nodejs', 'libc6', 'g++-12')), { maxLength: 3 }) }),
    ),
    mvrun: fc.oneof(fc.boolean(), str),
  },
  { requiredKeys: [] },
);
const manifestValue = fc.oneof(targeted, fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), str), anyValue, { maxKeys: 6 }), anyValue);
/** JSON text with a few characters changed. */
const mangled = fc
  .tuple(targeted, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...'{}[]",:\\ \n0tn')), { maxLength: 3 }))
  .map(([v, edits]) => {
    const s = [...JSON.stringify(v)];
    for (const [at, c] of edits) s[at % s.length] = c;
    return s.join('');
  });
const fileText = fc.oneof(
  { weight: 4, arbitrary: manifestValue.map((v) => JSON.stringify(v)) },
  mangled,
  fc.string({ unit: 'binary', maxLength: 60 }),
);

test('manifest loader: random and mutated manifests load, or fail in one line', (t) => {
  const dir = join(tempDir(), 'fuzz-pkg');
  mkdirSync(dir);
  writeFileSync(join(dir, 'Makefile'), 'all:\n');
  let loaded = 0,
    shChecked = 0;
  fc.assert(
    fc.property(fileText, (text) => {
      writeFileSync(join(dir, 'mv-image.json'), text);
      let m;
      try {
        m = loadManifest(dir);
      } catch (e) {
        mustBeMvError(e);
        return;
      }
      loaded++;
      // What a loaded manifest promises the stages after it.
      if (m.name.length > NAME_MAX || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(m.name)) throw new Error(`name ${m.name}`);
      if (!Array.isArray(parseCmdline(m.cmdline)) || cpuProblem(m.hrt.cpus, m.kernel)) throw new Error('cmdline or cpus');
      if ([...m.args, ...Object.values(m.env)].some((s) => s.includes('\0'))) throw new Error('NUL');
      if (m.install?.debian.some((n) => !new RegExp(DEBIAN_PACKAGE_PATTERN).test(n))) throw new Error(`package name ${m.install.debian}`);
      if (m.entry.startsWith('/') && (!m.install || m.entry.includes('='))) throw new Error(`entry ${m.entry}`);
      try {
        kernelCmdline(m);
      } catch (e) {
        mustBeMvError(e);
      }
      const init = renderInit({
        hostname: m.name,
        modules: [],
        argv: [...(m.mvrun ? ['/usr/bin/mvrun'] : []), m.entry.startsWith('/') ? m.entry : `/app/${m.entry.split('/').pop()}`, ...m.args],
        env: m.env,
        cwd: '/app',
        onExit: m.onExit,
        hrtCpus: m.hrt.cpus,
      });
      if (shChecked++ < 40) execFileSync('sh', ['-n'], { input: init });
    }),
    { numRuns: 2500, seed: SEED },
  );
  t.true(loaded > 100, `${loaded} manifests loaded`);
});

test('default names: any directory name gives a valid name, or one line', (t) => {
  fc.assert(
    fc.property(fc.oneof(weird, fc.string(), fc.string({ unit: 'binary' })), (dirName) => {
      try {
        const n = defaultName(dirName);
        if (n.length > NAME_MAX || !/^[A-Za-z0-9]/.test(n)) throw new Error(`default name ${n}`);
      } catch (e) {
        mustBeMvError(e);
      }
    }),
    { numRuns: 2000, seed: SEED },
  );
  t.pass();
});

// ---- inspect on ELF programs ----------------------------------------------------------------

/** Offsets worth hitting in an ELF: its header, every program and section header, and the tables they point at. */
function elfTargets(buf: Buffer): { bytes: number[]; u64: number[]; u16: number[] } {
  const phoff = Number(buf.readBigUInt64LE(32)),
    shoff = Number(buf.readBigUInt64LE(40));
  const phnum = buf.readUInt16LE(56),
    shnum = buf.readUInt16LE(60);
  const info = readElf(buf);
  const bytes = [...Array(64).keys()];
  const u64 = [32, 40],
    u16 = [54, 56, 58, 60, 62];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * 56;
    bytes.push(p);
    u64.push(p + 8, p + 16, p + 32);
  }
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * 64;
    bytes.push(s, s + 4);
    u64.push(s + 24, s + 32);
  }
  for (const s of info.sections)
    if (s.size && ['.shstrtab', '.dynstr', '.dynamic', '.interp', '.mv_hrt'].includes(s.name)) bytes.push(s.offset, s.offset + s.size - 1);
  return { bytes, u64, u16 };
}

const edit = (len: number, at: { bytes: number[]; u64: number[]; u16: number[] }) =>
  fc.oneof(
    fc.record({
      kind: fc.constant('byte' as const),
      at: fc.oneof(fc.constantFrom(...at.bytes), fc.nat(len - 1)),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      kind: fc.constant('u64' as const),
      at: fc.constantFrom(...at.u64),
      value: fc.oneof(
        fc.constantFrom(0n, 1n, BigInt(len - 1), BigInt(len), BigInt(len + 1), 2n ** 63n, 2n ** 64n - 1n),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      ),
    }),
    fc.record({ kind: fc.constant('u16' as const), at: fc.constantFrom(...at.u16), value: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(len), value: fc.constant(0) }),
  );
type Edit = { kind: 'byte' | 'u16' | 'cut'; at: number; value: number } | { kind: 'u64'; at: number; value: bigint };

function apply(base: Buffer, edits: Edit[]): Buffer {
  let b = Buffer.from(base);
  for (const e of edits) {
    if (e.kind === 'cut') b = b.subarray(0, Math.min(e.at, b.length));
    else if (e.kind === 'byte' && e.at < b.length) b[e.at] = e.value;
    else if (e.kind === 'u16' && e.at + 2 <= b.length) b.writeUInt16LE(e.value, e.at);
    else if (e.kind === 'u64' && e.at + 8 <= b.length) b.writeBigUInt64LE(e.value, e.at);
  }
  return b;
}

test('inspect: mutated ELF programs are read, or reported damaged in one line', async (t) => {
  const base = readFileSync(withHrt(2048).path);
  const file = join(tempDir(), 'prog');
  let ok = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(edit(base.length, elfTargets(base)), { minLength: 1, maxLength: 6 }), async (edits) => {
      writeFileSync(file, apply(base, edits as Edit[]));
      if (await settles(() => inspect(file))) ok++;
    }),
    { numRuns: 2000, seed: SEED },
  );
  t.true(ok > 50, `${ok} still readable`);
});

// ---- inspect on ISO images -------------------------------------------------------------------

// The parts of a small ISO (miniIso), its initramfs stored uncompressed in its gzip (level 0), so
// a same-length change to the archive inside gives a same-length file that we patch in place:
// every case is a real ISO with a valid gzip, without running xorriso again.
const RECORD = Buffer.from(JSON.stringify({ name: 'mini', program: '/app/prog', args: ['a b'] }).padEnd(120, ' '));
const PROGRAM = readFileSync('/bin/true');
const CPIO = writeCpio([
  { path: 'app/prog', type: 'file', data: PROGRAM, mode: 0o755 },
  { path: 'etc/mv-image.json', type: 'file', data: RECORD },
  { path: 'init', type: 'file', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
]);
const stored = (cpio: Buffer) => gzipSync(cpio, { level: 0 });

/** Where each newc header's fields, each name and each file's data start in CPIO. */
function cpioTargets(cpio: Buffer): { fields: number[]; names: number[]; record: number } {
  const fields: number[] = [],
    names: number[] = [];
  let record = -1;
  for (let off = 0; off < cpio.length;) {
    for (let i = 0; i < 13; i++) fields.push(off + 6 + i * 8);
    const size = parseInt(cpio.toString('latin1', off + 54, off + 62), 16),
      namesize = parseInt(cpio.toString('latin1', off + 94, off + 102), 16);
    names.push(off + 110);
    const data = off + 110 + namesize + ((4 - ((110 + namesize) % 4)) % 4);
    if (cpio.toString('latin1', off + 110, off + 110 + namesize - 1) === 'etc/mv-image.json') record = data;
    if (cpio.toString('latin1', off + 110, off + 110 + namesize - 1) === 'TRAILER!!!') break;
    off = data + size + ((4 - (size % 4)) % 4);
  }
  return { fields, names, record };
}

const hex8 = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((n) => n.toString(16).padStart(8, '0')),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefXYZ- \u0000'), minLength: 8, maxLength: 8 }),
);
const recordText = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        program: fc.oneof(str, fc.constantFrom('/app/prog', '/init', '/', '//app/prog', '/etc/mv-image.json')),
        args: fc.oneof(fc.array(str, { maxLength: 3 }), anyValue),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 120 }),
);

type IsoCase = { cpio?: { at: number; text: Buffer }[]; grub?: string; raw?: Edit[] };

test('inspect: mutated ISO images are read, or reported damaged in one line', async (t) => {
  const dir = tempDir();
  const grubCfg =
    "menuentry 'mini (mv-image)' {\n  linux /boot/vmlinuz console=ttyS0 'x=a;b' \"q=1 2\"\n  initrd /boot/initrd.img\n}\n".padEnd(400, '#');
  const iso = readFileSync(miniIso(join(dir, 'base.iso'), { grubCfg, initrd: stored(CPIO) }));
  const at = { initrd: iso.indexOf(stored(CPIO)), grub: iso.indexOf(grubCfg) };
  t.true(at.initrd > 0 && at.grub > 0);
  const c = cpioTargets(CPIO);
  const cpioEdit = fc.oneof(
    fc.tuple(fc.constantFrom(...c.fields), hex8).map(([a, h]) => ({ at: a, text: Buffer.from(h, 'latin1') })),
    fc
      .tuple(fc.constantFrom(...c.names), fc.string({ unit: fc.constantFrom(...'ab/.\u0000\n'), minLength: 1, maxLength: 4 }))
      .map(([a, s]) => ({ at: a, text: Buffer.from(s, 'latin1') })),
    recordText.map((s) => ({ at: c.record, text: Buffer.from(s.slice(0, RECORD.length).padEnd(RECORD.length, ' ')) })),
    fc.tuple(fc.nat(CPIO.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([a, b]) => ({ at: a, text: Buffer.from(b) })),
  );
  const isoCase: fc.Arbitrary<IsoCase> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ cpio: fc.array(cpioEdit, { minLength: 1, maxLength: 3 }) }) },
    fc.record({ grub: fc.string({ unit: fc.constantFrom(...'linux /boot/vmlinuz "\'\\$;{}\n\t x='), maxLength: 400 }) }),
    fc.record({
      raw: fc.array(
        edit(iso.length, {
          bytes: [...Array(24 * 2048).keys()].filter((i) => i >= 16 * 2048 && i % 7 === 0),
          u64: [16 * 2048 + 80],
          u16: [16 * 2048 + 128],
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  );
  const file = join(dir, 'case.iso');
  let ok = 0;
  await fc.assert(
    fc.asyncProperty(isoCase, async (k) => {
      let img: Buffer = Buffer.from(iso);
      if (k.cpio) {
        const cpio = Buffer.from(CPIO);
        for (const e of k.cpio) e.text.copy(cpio, e.at, 0, Math.max(0, Math.min(e.text.length, cpio.length - e.at)));
        const gz = stored(cpio);
        if (gz.length !== stored(CPIO).length) throw new Error('stored gzip length changed');
        gz.copy(img, at.initrd);
      }
      if (k.grub !== undefined) Buffer.from(k.grub.padEnd(grubCfg.length, ' ').slice(0, grubCfg.length), 'latin1').copy(img, at.grub);
      if (k.raw) img = apply(img, k.raw as Edit[]);
      writeFileSync(file, img);
      if (await settles(() => inspect(file))) ok++;
    }),
    { numRuns: 120, seed: SEED },
  );
  t.true(ok > 15, `${ok} still readable`);
});

// ---- the readers inspect is built on, alone (many more cases per second) ------------------------

test('cpio reader: random and mutated archives in random chunks end in members or CpioError', (t) => {
  const archive = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
    fc.array(fc.tuple(fc.nat(CPIO.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((edits) => {
      const b = Buffer.from(CPIO);
      for (const [a, v] of edits) b[a] = v;
      return b;
    }),
    fc.nat(CPIO.length).map((n) => CPIO.subarray(0, n)),
  );
  fc.assert(
    fc.property(archive, fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }), (buf, cuts) => {
      const r = new CpioReader((p) => p.startsWith('etc/'), { members: 100, keepBytes: 1 << 20 });
      try {
        let off = 0;
        for (let i = 0; off < buf.length; i++) {
          const n = cuts[i % cuts.length];
          r.push(buf.subarray(off, off + n));
          off += n;
        }
        for (const m of r.end())
          if (m.data.length && m.data.length !== m.size) throw new Error(`${m.path}: kept ${m.data.length} of ${m.size} bytes`);
      } catch (e) {
        if (!(e instanceof CpioError)) throw e;
      }
    }),
    { numRuns: 3000, seed: SEED },
  );
  t.pass();
});

test('grub.cfg and bzImage readers never throw on any input', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 0x400 }), (line, bytes) => {
      grubLinuxCmdline(`linux /boot/vmlinuz ${line}`);
      const img = Buffer.alloc(0x600);
      Buffer.from(bytes).copy(img, 0x200);
      img.write('HdrS', 0x202, 'latin1');
      bzImageVersion(img);
      bzImageVersion(Buffer.from(bytes));
    }),
    { numRuns: 3000, seed: SEED },
  );
  t.pass();
});
