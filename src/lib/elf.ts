// A minimal ELF64 reader: just what the image needs (is it an x86-64 program, its interpreter,
// DT_NEEDED/RUNPATH for library resolution, and named sections such as .mv_hrt and .modinfo).

export interface ElfSection { name: string; offset: number; size: number; addr: bigint }

export interface ElfInfo {
  type: 'exec' | 'dyn' | 'rel' | 'other';
  interp?: string;
  needed: string[];
  runpath: string[];
  sections: ElfSection[];
}

const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
const DT_NEEDED = 1, DT_STRTAB = 5, DT_RPATH = 15, DT_RUNPATH = 29;

/** Why `buf` is not an x86-64 ELF, or undefined when it is one. */
export function notX8664Elf(buf: Buffer): string | undefined {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) return 'no ELF magic';
  if (buf[4] !== 2) return 'not a 64-bit ELF';
  if (buf[5] !== 1) return 'not little-endian';
  if (buf.readUInt16LE(18) !== 0x3e) return `machine ${buf.readUInt16LE(18)} is not x86-64`;
  return undefined;
}

export function readElf(buf: Buffer): ElfInfo {
  const why = notX8664Elf(buf);
  if (why) throw new Error(why);
  const etype = buf.readUInt16LE(16);
  const phoff = Number(buf.readBigUInt64LE(32));
  const shoff = Number(buf.readBigUInt64LE(40));
  const phentsize = buf.readUInt16LE(54), phnum = buf.readUInt16LE(56);
  const shentsize = buf.readUInt16LE(58), shnum = buf.readUInt16LE(60), shstrndx = buf.readUInt16LE(62);

  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let interp: string | undefined;
  let dyn: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = buf.readUInt32LE(p);
    const offset = buf.readBigUInt64LE(p + 8), vaddr = buf.readBigUInt64LE(p + 16), filesz = buf.readBigUInt64LE(p + 32);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_INTERP) interp = cstr(buf, Number(offset));
    if (type === PT_DYNAMIC) dyn = { offset: Number(offset), size: Number(filesz) };
  }

  const needed: string[] = [], runpath: string[] = [];
  if (dyn) {
    const raw: [number, bigint][] = [];
    let strtab = 0n;
    for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.size; o += 16) {
      const tag = Number(buf.readBigInt64LE(o)), val = buf.readBigUInt64LE(o + 8);
      if (tag === 0) break;
      if (tag === DT_STRTAB) strtab = val;
      raw.push([tag, val]);
    }
    const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
    const strOff = seg ? Number(strtab - seg.vaddr + seg.offset) : undefined;
    if (strOff !== undefined) {
      for (const [tag, val] of raw) {
        if (tag === DT_NEEDED) needed.push(cstr(buf, strOff + Number(val)));
        if (tag === DT_RUNPATH || tag === DT_RPATH) runpath.push(...cstr(buf, strOff + Number(val)).split(':').filter(Boolean));
      }
    }
  }

  const sections: ElfSection[] = [];
  if (shoff && shnum && shstrndx < shnum) {
    const strBase = Number(buf.readBigUInt64LE(shoff + shstrndx * shentsize + 24));
    for (let i = 0; i < shnum; i++) {
      const s = shoff + i * shentsize;
      sections.push({
        name: cstr(buf, strBase + buf.readUInt32LE(s)),
        addr: buf.readBigUInt64LE(s + 16),
        offset: Number(buf.readBigUInt64LE(s + 24)),
        size: Number(buf.readBigUInt64LE(s + 32)),
      });
    }
  }
  const type = etype === 2 ? 'exec' : etype === 3 ? 'dyn' : etype === 1 ? 'rel' : 'other';
  return { type, interp, needed, runpath, sections };
}

export function sectionData(buf: Buffer, info: ElfInfo, name: string): Buffer | undefined {
  const s = info.sections.find((x) => x.name === name);
  return s ? buf.subarray(s.offset, s.offset + s.size) : undefined;
}

/** key=value strings of a kernel module's .modinfo section. */
export function modinfo(buf: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const data = sectionData(buf, readElf(buf), '.modinfo');
  if (!data) return out;
  for (const kv of data.toString('latin1').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const k = kv.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), kv.slice(eq + 1)]);
  }
  return out;
}

function cstr(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end < 0 ? buf.length : end);
}
