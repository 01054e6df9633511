// `mv-image run --gdb PORT` and `--profile DIR`: the flags checked before anything boots, and the
// profile that came back written as DIR/profile.folded and DIR/profile.svg (src/lib/flamegraph.ts
// draws it). The channel that carries both is src/harness/control.ts.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { imageProgram } from './inspect';
import { cacheRoot } from './lib/paths';
import type { ControlResult } from './harness/control';
import { MAX_BYTES, parseFolded, renderFlameGraph } from './lib/flamegraph';
import { msg } from './lib/messages';

export interface DebugOptions {
  gdbPort?: number;
  /** Where profile.folded and profile.svg go (absolute). */
  profileDir?: string;
  profileHz?: number;
}

export const DEFAULT_PROFILE_HZ = 999;
/** The largest profile taken back from the guest: what `mv-image flamegraph` reads. */
export const MAX_PROFILE = MAX_BYTES;

const integerIn = (v: string, lo: number, hi: number) => /^[0-9]{1,6}$/.test(v) && Number(v) >= lo && Number(v) <= hi;

/** The flags as given (strings, so that a bad value is our one line, not the parser's). */
export function debugOptions(f: { gdb?: string; profile?: string; profileHz?: string }): DebugOptions {
  const o: DebugOptions = {};
  if (f.gdb !== undefined) {
    if (!integerIn(f.gdb, 1, 65535)) throw msg.badGdbPort(f.gdb);
    o.gdbPort = Number(f.gdb);
  }
  if (f.profileHz !== undefined) {
    if (!integerIn(f.profileHz, 1, 10000)) throw msg.badProfileHz(f.profileHz);
    if (f.profile === undefined) throw msg.profileHzAlone();
  }
  if (f.profile !== undefined) {
    o.profileDir = resolve(f.profile);
    o.profileHz = f.profileHz !== undefined ? Number(f.profileHz) : DEFAULT_PROFILE_HZ;
  }
  return o;
}

/** Makes DIR if needed and proves it writable by creating a file in it, so a run that would
 *  profile for nothing stops before the boot. */
export function prepareProfileDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    const probe = join(dir, `.mv-profile-probe.${process.pid}`);
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw msg.profileDirUnusable(
      dir,
      code === 'ENOTDIR' || code === 'EEXIST'
        ? 'it is not a directory'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? 'it is not writable'
          : (code ?? String(e)),
    );
  }
}

export interface SavedProfile {
  folded: string;
  svg: string;
  samples: number;
}

/** Writes the profile and its flame graph. Each file is written whole to a temporary name and
 *  renamed; the folded stacks are checked and drawn first, so a profile that cannot be read
 *  leaves neither file. */
export async function saveProfile(dir: string, folded: Buffer, title: string): Promise<SavedProfile> {
  const text = folded.toString('utf8');
  const tree = parseFolded(text, 'the profile that came back');
  const svg = await renderFlameGraph(tree, { title });
  const out = { folded: join(dir, 'profile.folded'), svg: join(dir, 'profile.svg') };
  const tmp = { folded: `${out.folded}.tmp.${process.pid}`, svg: `${out.svg}.tmp.${process.pid}` };
  try {
    writeFileSync(tmp.folded, folded);
    writeFileSync(tmp.svg, svg);
    renameSync(tmp.folded, out.folded);
    renameSync(tmp.svg, out.svg);
  } catch (e) {
    for (const t of Object.values(tmp)) rmSync(t, { force: true });
    throw msg.profileDirUnusable(dir, (e as NodeJS.ErrnoException).code ?? String(e));
  }
  return { ...out, samples: tree.value };
}

/** After the run: what init said it took must be what was asked, and the profile must have come
 *  back whole; then it is written. Each failure is one line. */
export async function debugResult(got: ControlResult, o: DebugOptions, image: string): Promise<SavedProfile | undefined> {
  if (got.ready === undefined) throw msg.noControlChannel(image);
  if (o.gdbPort !== undefined && !/(^| )MV_GDB=/.test(got.ready)) throw msg.gdbNotBridged(got.ready);
  if (!o.profileDir) return undefined;
  if (got.problem) throw msg.profileNotBack(got.problem);
  if (got.profile === undefined) throw msg.profileNotBack('init sent none (did the guest stop before the program ended?)');
  if (got.profile === null) throw msg.profileNotBack('the program wrote none');
  return saveProfile(o.profileDir, got.profile, basename(image));
}

/** The image's own program, copied out for gdb (which must read the very binary the guest runs:
 *  its symbols, and a PIE's layout) to <cache>/gdb/<hash of its bytes>/<name>. Undefined when the
 *  image has no record of its program or cannot be read: the run goes on, and the hint names none. */
export async function programForGdb(image: string): Promise<string | undefined> {
  let p;
  try {
    p = await imageProgram(image);
  } catch {
    return undefined;
  }
  if (!p) return undefined;
  const name = /^[A-Za-z0-9._+-]+$/.test(basename(p.path)) && !/^\.\.?$/.test(basename(p.path)) ? basename(p.path) : 'program';
  const out = join(cacheRoot(), 'gdb', createHash('sha256').update(p.data).digest('hex').slice(0, 16), name);
  if (existsSync(out)) return out;
  const tmp = `${out}.tmp.${process.pid}`;
  try {
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(tmp, p.data, { mode: 0o755 });
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { force: true });
    return undefined;
  }
  return out;
}
