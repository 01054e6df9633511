// Stage "package": build the package with the toolchain, then collect the entry binary, its
// shared libraries (resolved like ldd, interpreter included) and the manifest's extra files.
// The build runs in a copy of the package directory (or, for a "source" build, of the unpacked
// source tree, with the package directory beside it as $MV_PACKAGE_DIR), so the user's tree stays
// clean and the cache key (a hash of what the build sees, the manifest and the toolchain) stays
// stable. Every path a manifest names is resolved inside its base (src/lib/pkgfiles.ts).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { cachedMeta, hashOf, hashTree } from '../lib/cache';
import { notX8664Elf, readElf } from '../lib/elf';
import { libraryFiles } from '../lib/ldd';
import { scratchDir } from '../lib/lock';
import type { FileEntry, Manifest } from '../lib/manifest';
import { msg } from '../lib/messages';
import { metaFile, N, S } from '../lib/meta';
import { buildDir } from '../lib/paths';
import { collectEntry, ImageFile, imageDest, resolveInside } from '../lib/pkgfiles';
import { hostRunner, Runner, toolchainInputs, viewFor } from '../builder/runner';
import type { Progress } from '../lib/progress';
import type { Stage } from '../lib/stage';
import type { Toolchain } from '../lib/toolchain';
import { InstallArtifact, installedEntry } from './install';
import type { SourceArtifact } from './source';

export type { ImageFile } from '../lib/pkgfiles';

export interface PackageArtifact {
  cached: boolean;
  program: ImageFile; // the entry binary, at /app/<name>
  files: ImageFile[]; // shared libraries and the manifest's extra files
}

export const APP_DIR = '/app';

/** Manifest fields that only shape the image's init, not the build: changing them reuses the
 *  build (the manifest file itself is keyed through the other fields, not its bytes). */
const RUNTIME_ONLY = new Set(['args', 'env', 'cmdline', 'onExit', 'hrt', 'kernel', 'builderLimits', 'mvrun']);
const buildFields = (m: Manifest, files: FileEntry[]) => ({
  ...Object.fromEntries(Object.entries(m).filter(([k]) => !RUNTIME_ONLY.has(k))),
  files,
});

/** Where a source build sees the package directory (minus its "files"): $MV_PACKAGE_DIR. */
export const PACKAGE_COPY = '.mv-package';

export function checkPackageDir(dir: string): void {
  if (!existsSync(dir)) throw msg.noPackageDir(dir);
  if (!statSync(dir).isDirectory()) throw msg.notADirectory(dir);
}

/** The manifest's overrides must be names mv-cc knows (it would fail the link otherwise, with
 *  its own line buried in the build log): the toolchain's own list, before anything is built. */
function checkOverrides(manifest: Manifest, toolchain: Toolchain): void {
  if (!manifest.overrides.length || !existsSync(toolchain.CC)) return;
  const known = execFileSync(toolchain.CC, ['--mv-list-overrides'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(/\s+/)[0])
    .filter(Boolean);
  const bad = manifest.overrides.find((o) => !known.includes(o));
  if (bad) throw msg.unknownOverride(bad, known);
}

/** Two files may not land on one path (the last cpio entry would win silently). */
function checkDestinations(files: Built[]): void {
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.dest);
    if (other) throw msg.destDuplicate(f.dest, other, f.origin);
    seen.set(f.dest, f.origin);
  }
}

const PKG_WHERE = 'the package directory',
  BUILD_WHERE = 'the build tree';

type Built = ImageFile & { origin: string };

/** package.json: the files the build gave, each src relative to the cache entry. */
const PACKAGE_META = metaFile('package.json', {
  type: 'array',
  items: { type: 'object', required: ['dest', 'src', 'mode', 'origin'], properties: { dest: S, src: S, mode: N, origin: S } },
} as const);

export interface PackageInputs {
  /** The package directory. */
  dir: string;
  manifest: Manifest;
  toolchain: Toolchain;
  /** Where the build runs (default: this host). */
  runner?: Runner;
  /** The install stage's Debian packages, when the manifest names some; an absolute "entry" is
   *  then a program of theirs (installedEntry), not something the build makes. */
  installed?: InstallArtifact;
  /** The source stage's tree, for a manifest with "source": the build runs in a copy of it. */
  source?: SourceArtifact;
}

/** Keyed by what the build sees (the tree, the source's files), the build's manifest fields and the toolchain. */
export const packageStage: Stage<PackageInputs, PackageArtifact> = { name: 'package', run };

async function run(
  progress: Progress,
  { dir, manifest, toolchain, runner = hostRunner, installed, source }: PackageInputs,
): Promise<PackageArtifact> {
  checkPackageDir(dir);
  runner.requireTools('package');
  const pkgDir = realpathSync(dir);
  const fromDebian = isAbsolute(manifest.entry) && installed ? installedEntry(installed, manifest.entry) : undefined;
  if (!manifest.build && !fromDebian && !existsSync(join(pkgDir, manifest.entry))) throw msg.noBuildCommand(dir);
  // Everything about "files" that can be checked before the build is checked now.
  // A package file's src is checked before its dest (a string entry's dest is made from its src).
  const specs = manifest.files.map((f, i) => {
    if (f.from === 'package') resolveInside(pkgDir, f.src, `files[${i}].src`, PKG_WHERE);
    return { ...f, i, dest: imageDest(f.dest, `files[${i}].dest`) };
  });
  if (!fromDebian && (isAbsolute(manifest.entry) || normalize(manifest.entry).split(sep)[0] === '..'))
    throw msg.entryOutside(manifest.entry);
  const fromPackage: Built[] = specs
    .filter((f) => f.from === 'package')
    .flatMap((f) => collectEntry(pkgDir, f.src, f.dest, `files[${f.i}].src`, PKG_WHERE).map((x) => ({ ...x, origin: `files[${f.i}]` })));
  checkOverrides(manifest, toolchain);
  if (!manifest.source !== !source)
    throw msg.internal(`the package stage needs the source stage's tree exactly when the manifest has "source"`);
  // A source build does not see the package's "files" (they go into the image, not the build),
  // so changing them does not rebuild; a plain build sees the whole package directory.
  const listed = new Set(
    specs.filter((f) => f.from === 'package').map((f) => relative(pkgDir, resolveInside(pkgDir, f.src, `files[${f.i}].src`, PKG_WHERE))),
  );
  const hidden = (rel: string) =>
    rel === '.git' || rel === 'images' || (source !== undefined && [...listed].some((l) => rel === l || rel.startsWith(l + sep)));
  const key = hashOf({
    tree: hashTree(pkgDir, (r) => hidden(r) || r === 'mv-image.json'),
    manifest: JSON.stringify(buildFields(manifest, source ? specs.filter((f) => f.from === 'build') : manifest.files)),
    toolchain: toolchain.id,
    ...(source ? { source: source.files.map((f) => f.sha256) } : {}),
  });

  const {
    dir: out,
    hit,
    meta,
  } = await cachedMeta(packageStage.name, key, PACKAGE_META, async (tmp) => {
    // A fixed build path per key, so paths the compiler embeds are the same on every build.
    const work = buildDir(`package-${key.slice(0, 16)}`);
    // Ours alone while we build (a lock), and removed on every exit, a signal's too.
    const done = await scratchDir(work);
    try {
      const copy = (from: string, to: string) => cpSync(from, to, { recursive: true, filter: (p) => !hidden(relative(from, p)) });
      copy(source?.dir ?? pkgDir, work);
      const env: Record<string, string> = {
        CC: toolchain.CC,
        CXX: toolchain.CXX,
        ...(manifest.overrides.length ? { MV_OVERRIDES: manifest.overrides.join(',') } : {}),
      };
      if (source) {
        if (existsSync(join(work, PACKAGE_COPY)))
          throw msg.buildFailed(manifest.build ?? '', null, `the source tree already has ${PACKAGE_COPY}`);
        copy(pkgDir, join(work, PACKAGE_COPY));
        env.MV_PACKAGE_DIR = join(work, PACKAGE_COPY);
      }
      if (manifest.build) {
        progress.note(manifest.build);
        const r = await runner.run('sh', ['-c', manifest.build], {
          cwd: work,
          env,
          dirs: [work],
          inputs: toolchainInputs(toolchain),
          stage: 'package',
          what: `the build command "${manifest.build}"`,
        });
        if (r.status !== 0) throw msg.buildFailed(manifest.build, r.status, r.output);
      }
      const tree = realpathSync(work);
      const files: Built[] = [];
      const keep = (src: string, dest: string, mode: number, origin: string) => {
        const local = join(tmp, 'root', dest);
        mkdirSync(dirname(local), { recursive: true });
        cpSync(src, local, { dereference: true });
        files.push({ dest, src: join('root', dest), mode, origin });
      };
      if (!fromDebian) keepEntry(tree, keep);
      // "files" come from the package directory as given, or with "from": "build" from the tree
      // the build ran in.
      for (const f of specs.filter((s) => s.from === 'build')) {
        for (const x of collectEntry(tree, f.src, f.dest, `files[${f.i}].src`, BUILD_WHERE)) keep(x.src, x.dest, x.mode, `files[${f.i}]`);
      }
      writeFileSync(join(tmp, PACKAGE_META.file), JSON.stringify(files, null, 1));
    } finally {
      done();
    }
  });
  // The entry the build made, with its libraries (looked up where the build ran: the host, or
  // the builder image, never the host's files for a docker build).
  function keepEntry(tree: string, keep: (src: string, dest: string, mode: number, origin: string) => void): void {
    if (!existsSync(join(tree, manifest.entry))) throw msg.entryMissing(manifest.entry);
    const entry = resolveInside(tree, manifest.entry, 'entry', BUILD_WHERE);
    if (!statSync(entry).isFile()) throw msg.entryMissing(manifest.entry);
    const bin = readFileSync(entry);
    const why = notX8664Elf(bin);
    if (why) throw msg.entryNotElf(manifest.entry, why);
    // A damaged ELF (cut short, headers pointing past the end) is one line naming the entry.
    const t = readElf(bin, `entry binary ${manifest.entry}`).type;
    if (t !== 'exec' && t !== 'dyn') throw msg.entryNotElf(manifest.entry, `ELF type ${t}, not an executable`);
    const libs = libraryFiles(entry, viewFor(runner, [tree, ...toolchainInputs(toolchain)]));
    keep(entry, `${APP_DIR}/${basename(manifest.entry)}`, 0o755, 'entry');
    for (const lib of libs) keep(lib.src, lib.path, 0o755, `the library ${lib.path}`);
  }
  const built: Built[] = meta.map((f) => ({ ...f, src: resolve(out, f.src) }));
  const all = [...(fromDebian ? [{ ...fromDebian, origin: 'entry' }] : []), ...built, ...fromPackage];
  checkDestinations(all);
  return { cached: hit, program: all[0], files: all.slice(1) };
}
