// Stage "install": Debian binary packages for the image (manifest "install": {"debian": [...]}),
// with everything they depend on. A trusted, signed source, not a file of the host or of the
// package, so issue 14's rule ("nothing outside the package is read into an image") still holds:
// - resolved from the apt lists: Depends and Pre-Depends, the first of alternatives, each at the
//   version apt would install (its candidate), or the newest the archive has when the candidate
//   is only known as installed from elsewhere (it has no Filename to download);
// - fetched with `apt-get download` and checked against the archive's SHA256 (fetchDeb, the
//   kernel's: one download cache, by file name, so by package and version);
// - unpacked in TypeScript (src/lib/deb.ts; no dpkg, no maintainer script runs) into one tree,
//   cached by the list of (package, version, SHA256). Documentation is left out, as Debian's
//   minimal images do with dpkg's path-exclude. Every path of a .deb is checked: absolute, no
//   "..", never written through a symlink (symlinks are made last, and none may sit above
//   another entry).
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { cachedMeta, hashOf } from '../lib/cache';
import { readDebData } from '../lib/deb';
import { notX8664Elf, readElf } from '../lib/elf';
import { isMvError, MvError } from '../lib/errors';
import { exec } from '../lib/exec';
import { fileIn, resolveIn, viewOf } from '../lib/fsview';
import { requireTools } from '../lib/hosttools';
import { libraryFiles } from '../lib/ldd';
import { DEBIAN_PACKAGE_PATTERN } from '../lib/manifest';
import { msg } from '../lib/messages';
import { metaFile, N, S } from '../lib/meta';
import type { ImageFile } from '../lib/pkgfiles';
import type { Progress } from '../lib/progress';
import type { Stage } from '../lib/stage';
import { AptPkg, aptField, aptPkgOf, fetchDeb } from './kernel';

/** Left out of the image (Debian's own minimal images exclude the same with dpkg's path-exclude). */
export const EXCLUDED = ['/usr/share/doc/', '/usr/share/man/', '/usr/share/info/', '/usr/share/lintian/'];

export interface InstalledLink {
  dest: string;
  target: string;
  origin: string;
}
export interface InstallArtifact {
  cached: boolean;
  /** The unpacked tree (a host directory); `files` and `links` are what it holds. */
  root: string;
  packages: { name: string; version: string }[];
  files: ImageFile[];
  links: InstalledLink[];
}

interface Resolved {
  pkg: AptPkg;
  depends: string[];
}

const NAME = new RegExp(DEBIAN_PACKAGE_PATTERN);
const origin = (pkg: string) => `the Debian package ${pkg}`;

/** The packages a stanza needs: Pre-Depends and Depends, the first of each set of alternatives,
 *  without version constraints or an architecture qualifier ("nodejs:any"). */
export function dependsOf(stanza: string): string[] {
  const all = ['Pre-Depends', 'Depends'].map((f) => aptField(stanza, f) ?? '').join(',');
  return [
    ...new Set(
      all
        .split(',')
        .map(
          (d) =>
            d
              .split('|')[0]
              .trim()
              .split(/[\s(:]/)[0],
        )
        .filter(Boolean),
    ),
  ];
}

/** apt-cache show for many names at once (each call loads apt's cache: about a second), by name. */
async function stanzas(names: string[], allVersions: boolean): Promise<Map<string, string[]>> {
  const r = await exec('apt-cache', ['show', ...(allVersions ? [] : ['--no-all-versions']), ...names]);
  const out = new Map<string, string[]>();
  for (const s of r.stdout.split(/\n\n+/)) {
    const name = aptField(s, 'Package');
    if (name) out.set(name, [...(out.get(name) ?? []), s]);
  }
  return out;
}

/** The dependency closure of `roots`, one apt-cache call (two when a candidate is not in the
 *  archive) per level of the dependency graph, sorted by name. A package in `exclude` is left
 *  out with what only it would bring (e.g. adduser, which only maintainer scripts run, and no
 *  maintainer script runs here). */
export async function resolveClosure(roots: string[], exclude: string[] = []): Promise<Resolved[]> {
  const chosen = new Map<string, Resolved>();
  const neededBy = new Map(roots.map((r) => [r, 'named in "install"']));
  let level = [...new Set(roots)];
  while (level.length) {
    const candidates = await stanzas(level, false);
    const elsewhere = level.filter((n) => !aptPkgOf(n, candidates.get(n)?.[0] ?? ''));
    const every = elsewhere.length ? await stanzas(elsewhere, true) : new Map<string, string[]>();
    const next = new Set<string>();
    for (const n of level) {
      const cand = candidates.get(n)?.[0];
      const stanza = cand && aptPkgOf(n, cand) ? cand : every.get(n)?.find((s) => aptPkgOf(n, s));
      if (!stanza) throw msg.installNotInArchive(n, neededBy.get(n)!);
      const depends = dependsOf(stanza);
      const bad = depends.find((d) => !NAME.test(d));
      if (bad !== undefined) throw msg.installBroken(n, `its Depends names ${JSON.stringify(bad)}, not a package name`);
      chosen.set(n, { pkg: aptPkgOf(n, stanza)!, depends });
      for (const d of depends) {
        if (chosen.has(d) || level.includes(d) || exclude.includes(d)) continue;
        if (!neededBy.has(d)) neededBy.set(d, `needed by ${n}`);
        next.add(d);
      }
    }
    level = [...next];
  }
  return [...chosen.values()].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1));
}

/** A .deb's path as it lands in the image: absolute, normalized, no "..". */
function imagePath(p: string): string | undefined {
  const path = p.replace(/\/+$/, '');
  if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..') || posix.normalize(path) !== path) return undefined;
  return path;
}

interface Listing {
  files: { dest: string; mode: number; pkg: string }[];
  links: { dest: string; target: string; pkg: string }[];
}

/** install.json: the packages unpacked and the tree's Listing. */
const INSTALL_META = metaFile('install.json', {
  type: 'object',
  required: ['packages', 'files', 'links'],
  properties: {
    packages: { type: 'array', items: { type: 'object', required: ['name', 'version'], properties: { name: S, version: S } } },
    files: { type: 'array', items: { type: 'object', required: ['dest', 'mode', 'pkg'], properties: { dest: S, mode: N, pkg: S } } },
    links: { type: 'array', items: { type: 'object', required: ['dest', 'target', 'pkg'], properties: { dest: S, target: S, pkg: S } } },
  },
} as const);

/** Unpacks the packages, in order, into `root`; returns what it holds. */
async function unpack(debs: { name: string; deb: string }[], root: string): Promise<Listing> {
  const files = new Map<string, { mode: number; pkg: string }>();
  const links = new Map<string, { target: string; pkg: string }>();
  for (const { name, deb } of debs) {
    const write = (dest: string, data: Buffer, mode: number) => {
      const local = join(root, dest);
      const had = files.get(dest);
      if (had) {
        if (!readFileSync(local).equals(data)) throw msg.installBroken(name, `${dest} is also in ${had.pkg}, with other bytes`);
        return;
      }
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, data, { mode: 0o644 });
      files.set(dest, { mode, pkg: name });
    };
    try {
      await readDebData(
        deb,
        (p) => !EXCLUDED.some((e) => p.startsWith(e)),
        (f) => {
          if (f.type === 'directory') return;
          const dest = imagePath(f.path);
          if (!dest) throw msg.installBroken(name, `it holds the path ${JSON.stringify(f.path)}`);
          // No setuid or setgid bits: the image runs one program, as root.
          const mode = f.mode & 0o777;
          if (f.type === 'file' || f.type === 'contiguous-file') write(dest, f.data, mode);
          else if (f.type === 'link') {
            // A hard link names its target as the archive does ("./usr/bin/x" or "usr/bin/x").
            const target = imagePath('/' + (f.linkname ?? '').replace(/^\.?\/+/, ''));
            if (!target || !files.has(target))
              throw msg.installBroken(name, `the hard link ${dest} names ${JSON.stringify(f.linkname)}, which it does not hold`);
            write(dest, readFileSync(join(root, target)), mode);
          } else if (f.type === 'symlink') {
            const had = links.get(dest);
            if (had && had.target !== f.linkname)
              throw msg.installBroken(name, `the symlink ${dest} is also in ${had.pkg}, to another target`);
            links.set(dest, { target: f.linkname ?? '', pkg: name });
          } else throw msg.installBroken(name, `${dest} is a ${f.type}, not a file, directory or link`);
        },
      );
    } catch (e) {
      throw isMvError(e) ? e : msg.installBroken(name, (e as Error).message);
    }
  }
  // Symlinks last, so no file is ever written through one; and none may stand where a file or a
  // directory is, or above another symlink.
  for (const [dest, l] of [...links].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const local = join(root, dest);
    let taken = false;
    try {
      lstatSync(local);
      taken = true;
    } catch {
      /* free */
    }
    const above = dest
      .split('/')
      .slice(1, -1)
      .map((_, i, parts) => '/' + parts.slice(0, i + 1).join('/'))
      .find((p) => links.has(p));
    if (taken || above)
      throw msg.installBroken(
        l.pkg,
        `its symlink ${dest} would stand ${above ? `under the symlink ${above}` : 'where a file or directory is'}`,
      );
    mkdirSync(dirname(local), { recursive: true });
    symlinkSync(l.target, local);
  }
  return {
    files: [...files].map(([dest, f]) => ({ dest, ...f })).sort((a, b) => (a.dest < b.dest ? -1 : 1)),
    links: [...links].map(([dest, l]) => ({ dest, ...l })).sort((a, b) => (a.dest < b.dest ? -1 : 1)),
  };
}

/** The kernel stage's apt errors, as this stage's. */
const asInstall = (e: unknown) => (isMvError(e) && e.stage === 'kernel' ? msg.installApt(e.problem) : e);

/** The manifest's "install": the Debian packages to unpack, with their dependencies. */
export interface InstallInputs {
  debian: string[];
  /** Dependencies left out of the closure (the manifest's install.exclude). */
  exclude?: string[];
}

/** Keyed by the closure's (package, version, SHA256) list and what is left out. */
export const installStage: Stage<InstallInputs, InstallArtifact> = { name: 'install', run };

async function run(progress: Progress, { debian: names, exclude = [] }: InstallInputs): Promise<InstallArtifact> {
  requireTools('install');
  const closure = await resolveClosure(names, exclude).catch((e) => {
    throw asInstall(e);
  });
  const key = hashOf({ packages: closure.map((c) => [c.pkg.name, c.pkg.version, c.pkg.sha256]), excluded: EXCLUDED, format: 1 });
  const { dir, hit, meta } = await cachedMeta(installStage.name, key, INSTALL_META, async (tmp) => {
    const debs: { name: string; deb: string }[] = [];
    for (const c of closure)
      debs.push({
        name: c.pkg.name,
        deb: await fetchDeb(c.pkg, progress).catch((e) => {
          throw asInstall(e);
        }),
      });
    progress.note(`unpacking ${debs.length} Debian packages`);
    const listing = await unpack(debs, join(tmp, 'root'));
    writeFileSync(
      join(tmp, INSTALL_META.file),
      JSON.stringify({ packages: closure.map((c) => ({ name: c.pkg.name, version: c.pkg.version })), ...listing }, null, 1),
    );
  });
  const root = join(dir, 'root');
  return {
    cached: hit,
    root,
    packages: meta.packages,
    files: meta.files.map((f) => ({ dest: f.dest, src: join(root, f.dest), mode: f.mode, origin: origin(f.pkg) })),
    links: meta.links.map((l) => ({ dest: l.dest, target: l.target, origin: origin(l.pkg) })),
  };
}

/** The program an absolute "entry" names, from the installed packages: a regular file once its
 *  symlinks are followed (inside the tree), an x86-64 ELF executable whose libraries the
 *  packages provide. It runs at its own path. */
export function installedEntry(a: InstallArtifact, entry: string): ImageFile {
  const view = viewOf(a.root);
  const real = resolveIn(view, entry);
  const file = real === undefined ? undefined : a.files.find((f) => f.dest === real);
  if (!file || !fileIn(view, entry))
    throw msg.installEntryMissing(
      entry,
      a.packages.map((p) => p.name),
    );
  const bin = readFileSync(file.src);
  const why = notX8664Elf(bin);
  if (why) throw msg.entryNotElf(entry, why);
  const t = readElf(bin, `entry binary ${entry}`).type;
  if (t !== 'exec' && t !== 'dyn') throw msg.entryNotElf(entry, `ELF type ${t}, not an executable`);
  try {
    libraryFiles(real!, view);
  } catch (e) {
    if (isMvError(e)) throw new MvError('install', `entry ${entry}: ${e.problem}`, 'add the Debian package that ships it to "install"');
    throw e;
  }
  return { ...file, mode: 0o755 };
}
