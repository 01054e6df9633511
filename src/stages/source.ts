// Stage "source": a Debian source package (manifest `"source": {"debian": NAME}`), fetched into
// the cache through the private apt state of lib/debsrc, verified against the .dsc's checksums,
// and unpacked the Debian way (dpkg-source -x applies Debian's patches). The package stage then
// builds in a copy of the unpacked tree. Cached by the .dsc's sha256, so the same source version
// is fetched and unpacked once.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedMeta, hashOf, sha256File } from '../lib/cache';
import { aptOptions, aptSrcRoot, ensureSourceIndex, SourceFile, sourceUris, validSourceName, verifySourceFiles } from '../lib/debsrc';
import { exec } from '../lib/exec';
import { trackPath } from '../lib/lifecycle';
import { requireTools } from '../lib/hosttools';
import { msg } from '../lib/messages';
import { metaFile, N, S } from '../lib/meta';
import type { Progress } from '../lib/progress';
import type { Stage } from '../lib/stage';

export interface SourceSpec {
  debian: string;
}

export interface SourceArtifact {
  cached: boolean;
  pkg: string;
  version: string;
  /** The unpacked, patched tree: build in a copy, never in place. */
  dir: string;
  /** The .dsc and what it lists, each verified by sha256. */
  files: SourceFile[];
}

/** source.json: the version unpacked and the files it came from. */
const SOURCE_META = metaFile('source.json', {
  type: 'object',
  required: ['pkg', 'version', 'files'],
  properties: {
    pkg: S,
    version: S,
    files: { type: 'array', items: { type: 'object', required: ['name', 'size', 'sha256'], properties: { name: S, size: N, sha256: S } } },
  },
} as const);

/** The index entry for `pkg`; an unknown name gets one forced index refresh before the error. */
async function lookUp(pkg: string, note: (s: string) => void): Promise<SourceFile[]> {
  if (!validSourceName(pkg)) throw msg.unknownSourcePackage(pkg);
  await ensureSourceIndex(note);
  let files = await sourceUris(pkg);
  if (!files) {
    await ensureSourceIndex(note, true);
    files = await sourceUris(pkg);
  }
  if (!files) throw msg.unknownSourcePackage(pkg);
  return files;
}

/** Downloads into the shared downloads dir unless every file is already there and intact. */
async function download(pkg: string, files: SourceFile[], note: (s: string) => void): Promise<string> {
  const dir = join(aptSrcRoot(), 'downloads');
  mkdirSync(dir, { recursive: true });
  const intact = (f: SourceFile) => existsSync(join(dir, f.name)) && sha256File(join(dir, f.name)) === f.sha256;
  if (files.every(intact)) return dir;
  note(`apt-get source --download-only ${pkg}`);
  // A private scratch dir, so a concurrent build never sees a half-downloaded file.
  const tmp = join(dir, `.dl-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const untrack = trackPath(tmp);
  try {
    const r = await exec('apt-get', [...aptOptions(), 'source', '--download-only', '--only-source', pkg], { cwd: tmp });
    // The first "E:" line names the file and the HTTP status; the last one only says "some archives".
    if (r.status !== 0)
      throw msg.sourceDownload(
        pkg,
        (r.output.split('\n').find((l) => l.startsWith('E:')) ?? r.output.trim().split('\n').pop() ?? '')
          .replace(/^E:\s*/, '')
          .replace(/\s+/g, ' '),
      );
    for (const f of files) if (existsSync(join(tmp, f.name))) renameSync(join(tmp, f.name), join(dir, f.name));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    untrack();
  }
  return dir;
}

/** Keyed by the package name and its .dsc's sha256. */
export const sourceStage: Stage<SourceSpec, SourceArtifact> = { name: 'source', run };

async function run(progress: Progress, spec: SourceSpec): Promise<SourceArtifact> {
  requireTools('source');
  const pkg = spec.debian;
  const note = (s: string) => progress.note(s);
  const index = await lookUp(pkg, note);
  const dsc = index.find((f) => f.name.endsWith('.dsc'))!;
  const key = hashOf({ pkg, dsc: dsc.sha256, format: 1 });
  const { dir, hit, meta } = await cachedMeta(sourceStage.name, key, SOURCE_META, async (tmp) => {
    const dl = await download(pkg, index, note);
    const listed = verifySourceFiles(dl, dsc.name, index);
    const version = readFileSync(join(dl, dsc.name), 'utf8').match(/^Version:\s*(\S+)/m)?.[1] ?? '';
    // dpkg-source reads the files next to the .dsc: give it a copy of exactly the verified set.
    const orig = join(tmp, 'orig');
    mkdirSync(orig);
    for (const f of [dsc, ...listed]) copyFileSync(join(dl, f.name), join(orig, f.name));
    note(`dpkg-source -x ${dsc.name}`);
    const r = await exec('dpkg-source', ['-x', join(orig, dsc.name), join(tmp, 'tree')], {
      cwd: tmp,
      env: { ...process.env, LC_ALL: 'C' },
    });
    if (r.status !== 0 || !existsSync(join(tmp, 'tree'))) throw msg.sourceUnpack(dsc.name, r.output);
    rmSync(orig, { recursive: true, force: true });
    writeFileSync(join(tmp, SOURCE_META.file), JSON.stringify({ pkg, version, files: [dsc, ...listed] }, null, 1));
  });
  return { cached: hit, pkg, version: meta.version, dir: join(dir, 'tree'), files: meta.files };
}
