// A minimal ELF64 reader: just what the image needs (is it an x86-64 program, its interpreter,
// DT_NEEDED/RUNPATH for library resolution, and named sections such as .mv_hrt and .modinfo).
// Files may come from anyone: every offset and size is checked against the file before it is
// read, and a file that lies about itself is reported as damaged (elfDamaged), never half-read.
import { msg } from './messages';

export interface ElfSection {
  name: string;
  offset: number;
  size: number;
  addr: bigint;
}

export interface ElfInfo {
  type: 'exec' | 'dyn' | 'rel' | 'other';
  interp?: string;
  needed: string[];
  runpath: string[];
  sections: ElfSection[];
}

const PT_LOAD = 1,
  PT_DYNAMIC = 2,
  PT_INTERP = 3;
const DT_NEEDED = 1,
  DT_STRTAB = 5,
  DT_RPATH = 15,
  DT_RUNPATH = 29;
const SHT_NOBITS = 8;
const EHDR = 64,
  PHDR = 56,
  SHDR = 64;
/** Strings we read (interpreter, library names, section names) are paths or names: PATH_MAX. */
const STR_MAX = 4096;

/** Why `buf` is not an x86-64 ELF, or undefined when it is one. */
export function notX8664Elf(buf: Buffer): string | undefined {
  if (buf.length < EHDR || buf.readUInt32BE(0) !== 0x7f454c46) return 'no ELF magic';
  if (buf[4] !== 2) return 'not a 64-bit ELF';
  if (buf[5] !== 1) return 'not little-endian';
  if (buf.readUInt16LE(18) !== 0x3e) return `machine ${buf.readUInt16LE(18)} is not x86-64`;
  return undefined;
}

/** Bounds-checked reads of one file: `what` names it in the error. */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}

  fail(why: string): never {
    throw msg.elfDamaged(this.what, why);
  }

  /** [off, off + len) must lie inside the file; `thing` says what was there. */
  range(off: bigint | number, len: bigint | number, thing: string): number {
    const o = BigInt(off),
      n = BigInt(len);
    if (o < 0n || n < 0n || o + n > BigInt(this.buf.length))
      this.fail(`${thing} (bytes ${o} to ${o + n}) lies past the end of the file (${this.buf.length} bytes)`);
    return Number(o);
  }

  u16(off: number): number {
    return this.buf.readUInt16LE(this.range(off, 2, 'a header field'));
  }
  u32(off: number): number {
    return this.buf.readUInt32LE(this.range(off, 4, 'a header field'));
  }
  u64(off: number): bigint {
    return this.buf.readBigUInt64LE(this.range(off, 8, 'a header field'));
  }

  /** A NUL-terminated string starting at `off`, ending before `end`. */
  str(off: bigint | number, end: number, thing: string): string {
    const start = this.range(off, 1, thing);
    const stop = this.buf.indexOf(0, start);
    if (stop < 0 || stop >= end) this.fail(`${thing} at byte ${start} has no terminating NUL inside its table`);
    if (stop - start > STR_MAX) this.fail(`${thing} at byte ${start} is longer than ${STR_MAX} bytes`);
    return this.buf.toString('utf8', start, stop);
  }
}

/** `what` names the file in errors; the one caller without a name (the package stage) reads the entry. */
export function readElf(buf: Buffer, what = 'the entry binary'): ElfInfo {
  const why = notX8664Elf(buf);
  if (why) throw msg.elfDamaged(what, why);
  const r = new Reader(buf, what);
  const etype = r.u16(16);
  const phoff = r.u64(32),
    shoff = r.u64(40);
  const phentsize = r.u16(54),
    phnum = r.u16(56);
  const shentsize = r.u16(58),
    shnum = r.u16(60),
    shstrndx = r.u16(62);

  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let interp: string | undefined;
  let dyn: { offset: number; size: number } | undefined;
  if (phnum) {
    if (phentsize < PHDR) r.fail(`program headers of ${phentsize} bytes, not ${PHDR}`);
    const table = r.range(phoff, phnum * phentsize, 'the program header table');
    for (let i = 0; i < phnum; i++) {
      const p = table + i * phentsize;
      const type = r.u32(p);
      const offset = r.u64(p + 8),
        vaddr = r.u64(p + 16),
        filesz = r.u64(p + 32);
      if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
      if (type === PT_INTERP) {
        const at = r.range(offset, filesz, 'the interpreter path (PT_INTERP)');
        interp = r.str(at, at + Number(filesz), 'the interpreter path');
      }
      if (type === PT_DYNAMIC) dyn = { offset: r.range(offset, filesz, 'the dynamic section (PT_DYNAMIC)'), size: Number(filesz) };
    }
  }

  const needed: string[] = [],
    runpath: string[] = [];
  if (dyn) {
    const raw: [number, bigint][] = [];
    let strtab: bigint | undefined;
    for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.size; o += 16) {
      const tag = Number(buf.readBigInt64LE(o)),
        val = buf.readBigUInt64LE(o + 8);
      if (tag === 0) break;
      if (tag === DT_STRTAB) strtab = val;
      raw.push([tag, val]);
    }
    const seg = strtab === undefined ? undefined : loads.find((l) => strtab! >= l.vaddr && strtab! < l.vaddr + l.filesz);
    if (seg) {
      const strOff = strtab! - seg.vaddr + seg.offset;
      const end = r.range(seg.offset, seg.filesz, 'the segment holding the dynamic strings') + Number(seg.filesz);
      for (const [tag, val] of raw) {
        if (tag === DT_NEEDED) needed.push(r.str(strOff + val, end, 'a DT_NEEDED library name'));
        if (tag === DT_RUNPATH || tag === DT_RPATH)
          runpath.push(
            ...r
              .str(strOff + val, end, 'a DT_RUNPATH')
              .split(':')
              .filter(Boolean),
          );
      }
    }
  }

  const sections: ElfSection[] = [];
  // shnum 0 with a section table means more than 0xff00 sections (counted elsewhere): none of
  // ours, so such a file is read as having no sections; so is one without a name table.
  if (shoff && shnum && shstrndx < shnum) {
    if (shentsize < SHDR) r.fail(`section headers of ${shentsize} bytes, not ${SHDR}`);
    const table = r.range(shoff, shnum * shentsize, 'the section header table');
    const hdr = (i: number) => table + i * shentsize;
    const names = { off: r.u64(hdr(shstrndx) + 24), size: r.u64(hdr(shstrndx) + 32) };
    const namesEnd = r.range(names.off, names.size, 'the section name table') + Number(names.size);
    for (let i = 0; i < shnum; i++) {
      const s = hdr(i);
      const name = i === 0 ? '' : r.str(names.off + BigInt(r.u32(s)), namesEnd, 'a section name');
      const type = r.u32(s + 4),
        offset = r.u64(s + 24),
        size = r.u64(s + 32);
      // .bss and the like take no room in the file; every other section must lie inside it.
      if (type !== SHT_NOBITS) r.range(offset, size, `section ${name || i}`);
      sections.push({ name, addr: r.u64(s + 16), offset: Number(offset), size: type === SHT_NOBITS ? 0 : Number(size) });
    }
  }
  const type = etype === 2 ? 'exec' : etype === 3 ? 'dyn' : etype === 1 ? 'rel' : 'other';
  return { type, interp, needed, runpath, sections };
}

/** A section's bytes (readElf checked that they lie inside the file). */
export function sectionData(buf: Buffer, info: ElfInfo, name: string): Buffer | undefined {
  const s = info.sections.find((x) => x.name === name);
  return s ? buf.subarray(s.offset, s.offset + s.size) : undefined;
}

/** key=value strings of a kernel module's .modinfo section. */
export function modinfo(buf: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const data = sectionData(buf, readElf(buf, 'a kernel module'), '.modinfo');
  if (!data) return out;
  for (const kv of data.toString('latin1').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const k = kv.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), kv.slice(eq + 1)]);
  }
  return out;
}
