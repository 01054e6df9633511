// Stage "kernel": Debian's linux-image-amd64, fetched with `apt-get download` into the cache and
// read in TypeScript (no dpkg on the host). Keeps vmlinuz and the modules the image needs, with
// their dependencies taken from each module's .modinfo (the .deb ships no modules.dep), in load order.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedMeta, hashOf, sha256File } from '../lib/cache';
import { readDebData } from '../lib/deb';
import { modinfo } from '../lib/elf';
import { exec } from '../lib/exec';
import { trackPath } from '../lib/lifecycle';
import { msg } from '../lib/messages';
import { metaFile, S, STRINGS } from '../lib/meta';
import { cacheRoot } from '../lib/paths';
import { requireTools } from '../lib/hosttools';
import type { Progress } from '../lib/progress';
import type { Stage } from '../lib/stage';

/** What the ROS needs from the kernel: KVM for the hybrid VMM, virtio for QEMU's devices. */
export const DEFAULT_MODULES = ['kvm_amd', 'kvm_intel', 'virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console'];
const META_PACKAGE = 'linux-image-amd64';

export interface KernelModule {
  name: string;
  file: string;
  imagePath: string;
  depends: string[];
}
export interface KernelArtifact {
  cached: boolean;
  version: string; // e.g. 6.1.0-56-amd64
  pkg: string; // e.g. linux-image-6.1.0-56-amd64=6.1.192-2
  vmlinuz: string;
  modules: KernelModule[]; // dependency order: load front to back
}

/** kernel.json: the version, the package and the modules kept (files relative to the entry). */
const KERNEL_META = metaFile('kernel.json', {
  type: 'object',
  required: ['version', 'pkg', 'modules'],
  properties: {
    version: S,
    pkg: S,
    modules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'file', 'imagePath', 'depends'],
        properties: { name: S, file: S, imagePath: S, depends: STRINGS },
      },
    },
  },
} as const);

const modName = (file: string) => file.replace(/^.*\//, '').replace(/\.ko$/, '').replace(/-/g, '_');

/** A package as the apt lists describe it (shared with the tuned kernel, which fetches linux-source). */
export interface AptPkg {
  name: string;
  version: string;
  sha256: string;
  filename: string;
}

/** A field of an apt-cache stanza (the first, when `text` holds several). */
export const aptField = (text: string, f: string) => text.match(new RegExp(`^${f}: (.+)$`, 'm'))?.[1];

/** The package a stanza describes, when the archive has it: a version dpkg knows only as
 *  installed (from elsewhere) has no Filename and no SHA256. */
export function aptPkgOf(name: string, stanza: string): AptPkg | undefined {
  const version = aptField(stanza, 'Version'),
    sha256 = aptField(stanza, 'SHA256'),
    filename = aptField(stanza, 'Filename');
  return version && sha256 && filename ? { name, version, sha256, filename } : undefined;
}

export async function aptShow(name: string): Promise<AptPkg> {
  const r = await exec('apt-cache', ['show', '--no-all-versions', name]);
  const pkg = r.status === 0 ? aptPkgOf(name, r.stdout) : undefined;
  if (!pkg) throw msg.aptDownload(name, r.output || 'no such package in the apt lists');
  return pkg;
}

/** linux-image-amd64 -> the concrete linux-image-<abi>-amd64 package it depends on. */
async function resolveKernelPackage(): Promise<AptPkg> {
  const meta = await aptShow(META_PACKAGE);
  const r = await exec('apt-cache', ['show', '--no-all-versions', `${META_PACKAGE}=${meta.version}`]);
  const dep = r.stdout
    .match(/^Depends: (.+)$/m)?.[1]
    .split(',')
    .map((d) => d.trim().split(' ')[0])
    .find((d) => d.startsWith('linux-image-'));
  if (!dep) throw msg.aptDownload(META_PACKAGE, 'its Depends names no linux-image package');
  return aptShow(dep);
}

/** The .deb in the download cache, fetched and checked against the archive's SHA256. */
export async function fetchDeb(pkg: AptPkg, progress: Progress): Promise<string> {
  const dir = join(cacheRoot(), 'debs');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, pkg.filename.replace(/^.*\//, ''));
  if (existsSync(file) && sha256File(file) === pkg.sha256) return file;
  progress.note(`apt-get download ${pkg.name}=${pkg.version}`);
  const tmp = join(dir, `.dl-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  // A private download dir, removed on every exit (it was left behind before).
  const untrack = trackPath(tmp);
  try {
    const r = await exec('apt-get', ['download', '-o', 'APT::Sandbox::User=root', `${pkg.name}=${pkg.version}`], { cwd: tmp });
    // apt-get names the file by package and version, with an epoch as "%3a" (zlib1g_1%3a1.2.13...),
    // where the archive's Filename has none: the one .deb of this private directory is it.
    const debs = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    if (r.status !== 0 || debs.length !== 1) throw msg.aptDownload(pkg.name, r.output);
    const got = join(tmp, debs[0]);
    if (sha256File(got) !== pkg.sha256) throw msg.kernelPackageBroken(got, 'SHA256 differs from the archive index');
    renameSync(got, file);
    return file;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    untrack();
  }
}

/** Modules in load order: every module after the modules it depends on. */
export function loadOrder(wanted: string[], deps: Map<string, string[]>, version: string): string[] {
  const order: string[] = [];
  const visit = (m: string, path: string[]) => {
    if (order.includes(m) || path.includes(m)) return;
    if (!deps.has(m)) throw msg.moduleMissing(m, version);
    for (const d of deps.get(m)!) visit(d, [...path, m]);
    order.push(m);
  };
  for (const m of wanted) visit(m, []);
  return order;
}

export interface KernelInputs {
  /** The modules to keep, with what they depend on (default DEFAULT_MODULES). */
  modules?: string[];
}

/** Debian's kernel, keyed by the concrete linux-image package (name, version, SHA256) and the modules. */
export const kernelStage: Stage<KernelInputs, KernelArtifact> = { name: 'kernel', run };

async function run(progress: Progress, { modules = DEFAULT_MODULES }: KernelInputs): Promise<KernelArtifact> {
  requireTools('kernel');
  const pkg = await resolveKernelPackage();
  const key = hashOf({ pkg: pkg.name, version: pkg.version, sha256: pkg.sha256, modules, format: 1 });
  const { dir, hit, meta } = await cachedMeta(kernelStage.name, key, KERNEL_META, async (tmp) => {
    const deb = await fetchDeb(pkg, progress);
    progress.note(`reading ${deb.replace(/^.*\//, '')}`);
    const kos = new Map<string, { path: string; data: Buffer }>();
    let vmlinuz: Buffer | undefined,
      version = '';
    await readDebData(
      deb,
      (p) => p.endsWith('.ko') || /^\/boot\/vmlinuz-/.test(p),
      (f) => {
        if (f.path.startsWith('/boot/vmlinuz-')) {
          vmlinuz = f.data;
          version = f.path.slice('/boot/vmlinuz-'.length);
        } else kos.set(modName(f.path), { path: f.path, data: f.data });
      },
    );
    if (!vmlinuz) throw msg.kernelPackageBroken(deb, 'no /boot/vmlinuz-*');
    const deps = new Map<string, string[]>();
    for (const [name, ko] of kos) {
      deps.set(
        name,
        (modinfo(ko.data).get('depends')?.[0] ?? '')
          .split(',')
          .filter(Boolean)
          .map((d) => d.replace(/-/g, '_')),
      );
    }
    const order = loadOrder(modules, deps, version);
    writeFileSync(join(tmp, 'vmlinuz'), vmlinuz);
    mkdirSync(join(tmp, 'modules'));
    const list: KernelModule[] = order.map((name) => {
      const ko = kos.get(name)!;
      writeFileSync(join(tmp, 'modules', `${name}.ko`), ko.data);
      return { name, file: `modules/${name}.ko`, imagePath: ko.path, depends: deps.get(name)! };
    });
    writeFileSync(join(tmp, KERNEL_META.file), JSON.stringify({ version, pkg: `${pkg.name}=${pkg.version}`, modules: list }, null, 2));
  });
  return {
    cached: hit,
    version: meta.version,
    pkg: meta.pkg,
    vmlinuz: join(dir, 'vmlinuz'),
    modules: meta.modules.map((m) => ({ ...m, file: join(dir, m.file) })),
  };
}
