// Stage "package": build the package with the toolchain, then collect the entry binary, its
// shared libraries (resolved like ldd, interpreter included) and the manifest's extra files.
// The build runs in a copy of the package directory, so the user's tree stays clean and the
// cache key (a hash of the tree, manifest and toolchain) stays stable.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { cached, hashOf, hashTree } from '../lib/cache';
import { notX8664Elf, readElf } from '../lib/elf';
import { sharedLibraries } from '../lib/ldd';
import type { Manifest } from '../lib/manifest';
import { msg } from '../lib/messages';
import { buildDir } from '../lib/paths';
import { hostRunner, Runner, toolchainInputs } from '../builder/runner';
import type { Progress } from '../lib/progress';
import type { Toolchain } from '../lib/toolchain';
import { sourceStage } from './source';

/** A file for the image: where it goes, and where its bytes are now. */
export interface ImageFile { dest: string; src: string; mode: number }

export interface PackageArtifact {
  cached: boolean;
  program: ImageFile; // the entry binary, at /app/<name>
  files: ImageFile[]; // shared libraries and the manifest's extra files
}

export const APP_DIR = '/app';

/** Manifest fields that only shape the image's init, not the build: changing them reuses the
 *  build (the manifest file itself is keyed through the other fields, not its bytes). */
const RUNTIME_ONLY = new Set(['args', 'env', 'cmdline', 'onExit', 'hrt', 'kernel']);
const buildFields = (m: Manifest) => Object.fromEntries(Object.entries(m).filter(([k]) => !RUNTIME_ONLY.has(k)));

export function checkPackageDir(dir: string): void {
  if (!existsSync(dir)) throw msg.noPackageDir(dir);
  if (!statSync(dir).isDirectory()) throw msg.notADirectory(dir);
}

/** The manifest's overrides must be names mv-cc knows (it would fail the link otherwise, with
 *  its own line buried in the build log): the toolchain's own list, before anything is built. */
function checkOverrides(manifest: Manifest, toolchain: Toolchain): void {
  if (!manifest.overrides.length || !existsSync(toolchain.CC)) return;
  const known = execFileSync(toolchain.CC, ['--mv-list-overrides'], { encoding: 'utf8' }).split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean);
  const bad = manifest.overrides.find((o) => !known.includes(o));
  if (bad) throw msg.unknownOverride(bad, known);
}

export async function packageStage(progress: Progress, dir: string, manifest: Manifest, toolchain: Toolchain, runner: Runner = hostRunner): Promise<PackageArtifact> {
  checkPackageDir(dir);
  runner.requireTools('package');
  if (!manifest.build && !existsSync(join(dir, manifest.entry))) throw msg.noBuildCommand(dir);
  for (const f of manifest.files) if (!existsSync(join(dir, f.src))) throw msg.extraFileMissing(f.src);
  checkOverrides(manifest, toolchain);
  // With an upstream source the build runs in (a copy of) the unpacked tree; "files" still come
  // from the package directory, whose tree hash covers them (hashTree follows symlinks).
  const source = manifest.source ? await sourceStage(progress, manifest.source) : undefined;
  const key = hashOf({ tree: hashTree(dir, (r) => r === '.git' || r === 'images' || r === 'mv-image.json'), manifest: JSON.stringify(buildFields(manifest)), toolchain: toolchain.id, ...(source ? { source: source.files.map((f) => f.sha256) } : {}) });

  const { dir: out, hit } = await cached('package', key, async (tmp) => {
    // A fixed build path per key, so paths the compiler embeds are the same on every build.
    const work = buildDir(`package-${key.slice(0, 16)}`);
    rmSync(work, { recursive: true, force: true });
    cpSync(source?.dir ?? dir, work, { recursive: true });
    try {
      if (manifest.build) {
        progress.note(manifest.build);
        const r = await runner.run('sh', ['-c', manifest.build], { cwd: work, env: { CC: toolchain.CC, CXX: toolchain.CXX, ...(manifest.overrides.length ? { MV_OVERRIDES: manifest.overrides.join(',') } : {}) }, dirs: [work], inputs: toolchainInputs(toolchain) });
        if (r.status !== 0) throw msg.buildFailed(manifest.build, r.status, r.output);
      }
      const entry = join(work, manifest.entry);
      if (!existsSync(entry) || !statSync(entry).isFile()) throw msg.entryMissing(manifest.entry);
      const bin = readFileSync(entry);
      const why = notX8664Elf(bin);
      if (why) throw msg.entryNotElf(manifest.entry, why);
      const t = readElf(bin).type;
      if (t !== 'exec' && t !== 'dyn') throw msg.entryNotElf(manifest.entry, `ELF type ${t}, not an executable`);

      const files: ImageFile[] = [];
      const keep = (src: string, dest: string, mode: number) => {
        const local = join(tmp, 'root', dest);
        mkdirSync(dirname(local), { recursive: true });
        cpSync(src, local, { dereference: true });
        files.push({ dest, src: join('root', dest), mode });
      };
      keep(entry, `${APP_DIR}/${basename(manifest.entry)}`, 0o755);
      for (const lib of sharedLibraries(entry)) keep(lib, lib, 0o755);
      const filesDir = source ? resolve(dir) : work;
      for (const f of manifest.files) keep(join(filesDir, f.src), f.dest, statSync(join(filesDir, f.src)).mode & 0o777);
      writeFileSync(join(tmp, 'package.json'), JSON.stringify(files, null, 1));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  const files: ImageFile[] = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')).map((f: ImageFile) => ({ ...f, src: resolve(out, f.src) }));
  return { cached: hit, program: files[0], files: files.slice(1) };
}
