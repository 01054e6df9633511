// Stage "tuned-kernel": Linux from Debian's linux-source package, configured as tinyconfig plus
// the kernel-configs/ fragments, with KVM built in. Its artefact has the KernelArtifact shape with
// no modules, so the later stages do not care which kernel they got. One name everywhere: its
// cache directory, progress line and build --json timing, its host tools (debian-packages.txt)
// and its errors.
//
// Cache layout under <cacheRoot>:
//   linux-source/<version>/     the unpacked source tree (never written to: builds use O=)
//   tuned-build/<version>/      one persistent O= build tree, so a changed fragment rebuilds only
//                               what it touches (a cold build is ~8-10 min on 2 cores)
//   tuned-kernel/<key>/         vmlinuz, config, kernel.json; key = hash(source, merged options)
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cached, cachedMeta, hashOf } from '../lib/cache';
import { arMembers } from '../lib/deb';
import { exec, spawnChild } from '../lib/exec';
import { requireTools } from '../lib/hosttools';
import { checkApplied, checkKnown, fragmentText, KOption, kconfigSymbols, mergeFragments, readFragment } from '../lib/kconfig';
import { msg } from '../lib/messages';
import { metaFile, N, S, STRINGS } from '../lib/meta';
import { cacheRoot } from '../lib/paths';
import type { Progress } from '../lib/progress';
import type { Stage } from '../lib/stage';
import { aptShow, AptPkg, fetchDeb, KernelArtifact } from './kernel';

/** The fragments are written for this series; the package name pins it. */
export const SOURCE_PACKAGE = 'linux-source-6.1';
export const DEFAULT_FRAGMENTS = ['base', 'kvm-host', 'hrt-partition', 'virt'];
/** CC lines of a full build with the default fragments, until a build on this host records its own. */
const DEFAULT_CC_COUNT = 1100;

/** What `mv-image kernel list` shows, stored as kernel.json next to vmlinuz: version is uname -r
 *  (6.1.192-mv-tuned), pkg the source package (linux-source-6.1=6.1.192-2). */
const TUNED_META = metaFile('kernel.json', {
  type: 'object',
  required: ['version', 'pkg', 'fragments', 'size', 'buildMs', 'builtAt'],
  properties: { version: S, pkg: S, fragments: STRINGS, size: N, buildMs: N, builtAt: S },
} as const);
/** kernel.json, and the cache entry it was read from. */
export type TunedKernelInfo = NonNullable<ReturnType<typeof TUNED_META.read>> & { dir?: string };

export interface TunedKernelArtifact extends KernelArtifact {
  config: string;
  info: TunedKernelInfo;
}

const ARCH = ['ARCH=x86_64']; // tinyconfig without it is a 32-bit kernel

/** The unpacked source tree of linux-source-<series>: the .deb carries one .tar.xz inside.
 *  Host tar and xz do the unpacking (a pipe of two tars): the WASM xz used for the kernel image
 *  package is too slow for 140 MB of already-compressed data plus a 1.3 GB tree. */
export async function linuxSource(pkg: AptPkg, progress: Progress): Promise<string> {
  const { dir } = await cached('linux-source', pkg.version, async (tmp) => {
    const deb = await fetchDeb(pkg, progress);
    progress.note(`unpacking ${deb.replace(/^.*\//, '')}`);
    const data = arMembers(deb).find((m) => m.name === 'data.tar.xz');
    if (!data) throw msg.kernelPackageBroken(deb, 'no data.tar.xz member');
    const inner = `./usr/src/${pkg.name}.tar.xz`;
    const outer = spawnChild('tar', ['-xJOf', '-', inner], { stdio: ['pipe', 'pipe', 'pipe'] });
    const untar = spawnChild('tar', ['-xJf', '-', '-C', tmp], { stdio: ['pipe', 'ignore', 'pipe'] });
    createReadStream(deb, { start: data.offset, end: data.offset + data.size - 1 }).pipe(outer.stdin!);
    outer.stdout!.pipe(untar.stdin!);
    let err = '';
    for (const c of [outer, untar])
      c.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
      });
    const status = (c: ChildProcess) => new Promise<number | null>((res) => c.on('close', res));
    const [a, b] = await Promise.all([status(outer), status(untar)]);
    if (a !== 0 || b !== 0) throw msg.kernelPackageBroken(deb, `unpacking ${inner} failed: ${err.trim().split('\n').pop() ?? ''}`);
  });
  const top = readdirSync(dir).find((d) => d.startsWith('linux-source-'));
  if (!top) throw msg.kernelPackageBroken(pkg.filename, 'the tarball holds no linux-source-* directory', dir);
  return join(dir, top);
}

async function make(src: string, out: string, targets: string[], onLine?: (l: string) => void): Promise<string> {
  const r = await exec('make', ['-C', src, ...ARCH, `O=${out}`, ...targets], { onLine });
  if (r.status !== 0) throw msg.kernelBuildFailed(`make ${targets.join(' ')}`, r.output);
  return r.stdout;
}

/** tinyconfig, then the fragments on top, then olddefconfig; returns the verified .config text. */
export async function configure(src: string, out: string, options: KOption[], source: string): Promise<string> {
  checkKnown(options, kconfigSymbols(src), source);
  mkdirSync(out, { recursive: true });
  await make(src, out, ['-s', 'tinyconfig']);
  writeFileSync(join(out, '.config'), readFileSync(join(out, '.config'), 'utf8') + fragmentText(options));
  await make(src, out, ['-s', 'olddefconfig']);
  const config = readFileSync(join(out, '.config'), 'utf8');
  checkApplied(options, config);
  return config;
}

/** A text progress bar for the note line: CC lines seen against the count of the last full build. */
export function bar(done: number, total: number, width = 24): string {
  const f = Math.min(1, done / Math.max(total, 1));
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${Math.round(f * 100)}%`;
}

async function compile(src: string, out: string, progress: Progress): Promise<void> {
  const countFile = join(out, '.mv-cc-count');
  const expected = existsSync(countFile) ? Number(readFileSync(countFile, 'utf8')) : DEFAULT_CC_COUNT;
  let cc = 0;
  const jobs = `-j${availableParallelism()}`;
  await make(src, out, [jobs, 'bzImage'], (l) => {
    const m = l.match(/^\s+CC\s+(\S+)/);
    if (m) progress.note(`make ${jobs} bzImage ${bar(++cc, expected)} ${cc}/${expected} CC ${m[1]}`);
  });
  // Only a build that compiled most of the tree is a good estimate for the next cold build.
  if (cc > expected / 2) writeFileSync(countFile, String(cc));
}

export interface TunedKernelInputs {
  /** kernel-configs/ fragments, merged in order (default DEFAULT_FRAGMENTS). */
  fragments?: string[];
}

/** Keyed by linux-source (name, version, SHA256) and the merged options. */
export const tunedKernelStage: Stage<TunedKernelInputs, TunedKernelArtifact> = { name: 'tuned-kernel', run };

async function run(progress: Progress, { fragments = DEFAULT_FRAGMENTS }: TunedKernelInputs): Promise<TunedKernelArtifact> {
  requireTools(tunedKernelStage.name);
  const options = mergeFragments(fragments.map((name) => ({ name, text: readFragment(name) })));
  const pkg = await aptShow(SOURCE_PACKAGE);
  const key = hashOf({ pkg: pkg.name, version: pkg.version, sha256: pkg.sha256, options: fragmentText(options), format: 1 });
  const { dir, hit, meta } = await cachedMeta(tunedKernelStage.name, key, TUNED_META, async (tmp) => {
    const src = await linuxSource(pkg, progress);
    const out = join(cacheRoot(), 'tuned-build', pkg.version);
    progress.note('make tinyconfig + kernel-configs + olddefconfig');
    const config = await configure(src, out, options, `${pkg.name} ${pkg.version}`);
    const t0 = Date.now();
    await compile(src, out, progress);
    const version = (await make(src, out, ['-s', 'kernelrelease'])).trim();
    copyFileSync(join(out, 'arch/x86/boot/bzImage'), join(tmp, 'vmlinuz'));
    writeFileSync(join(tmp, 'config'), config);
    const info: TunedKernelInfo = {
      version,
      pkg: `${pkg.name}=${pkg.version}`,
      fragments,
      size: statSync(join(tmp, 'vmlinuz')).size,
      buildMs: Date.now() - t0,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, TUNED_META.file), JSON.stringify(info, null, 2));
  });
  const info = { ...meta, dir };
  return {
    cached: hit,
    version: info.version,
    pkg: info.pkg,
    vmlinuz: join(dir, 'vmlinuz'),
    modules: [],
    config: join(dir, 'config'),
    info,
  };
}

/** Every complete tuned kernel in the cache, newest first. One whose kernel.json is malformed is
 *  left out: the next build of it takes it as a miss and builds it again. */
export function listTunedKernels(): TunedKernelInfo[] {
  const root = join(cacheRoot(), tunedKernelStage.name);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((k) => existsSync(join(root, k, '.complete')))
    .flatMap((k) => {
      const info = TUNED_META.read(join(root, k));
      return info ? [{ ...info, dir: join(root, k) }] : [];
    })
    .sort((a, b) => b.builtAt.localeCompare(a.builtAt));
}
