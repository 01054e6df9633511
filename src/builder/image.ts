// The builder image: Debian bookworm (debootstrap --variant=minbase from the host's configured
// mirror) with the build stages' packages from debian-packages.txt, imported into the engine with
// the API's image import (no registry, no docker CLI). Its tag is a hash of the suite and package
// list, so a changed list makes a new image and an unchanged one is found again (cached).
import type Docker from 'dockerode';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hashOf } from '../lib/cache';
import { exec, spawnChild } from '../lib/exec';
import { trackPath } from '../lib/lifecycle';
import { hostTools, requireTools } from '../lib/hosttools';
import { msg } from '../lib/messages';
import { cacheRoot } from '../lib/paths';
import type { Progress } from '../lib/progress';

export const SUITE = 'bookworm';
export const REPO = 'mv-image-builder';
/** The stages that run in the builder; their packages make up the image. */
export const BUILD_STAGES = ['package', 'toolchain', 'initramfs', 'iso'];
/** What debootstrap leaves that no build reads: package caches, apt lists, docs, logs. */
const SLIM = [
  'var/cache/apt/archives',
  'var/cache/apt/pkgcache.bin',
  'var/cache/apt/srcpkgcache.bin',
  'var/lib/apt/lists',
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/locale',
  'var/log',
];

export function builderPackages(): string[] {
  const pkgs = hostTools()
    .filter((t) => t.stages.some((s) => BUILD_STAGES.includes(s)))
    .map((t) => t.pkg);
  return [...new Set(pkgs)].sort();
}

export function builderTag(pkgs = builderPackages()): string {
  return `${REPO}:${hashOf({ suite: SUITE, pkgs }).slice(0, 12)}`;
}

/** The host's Debian mirror (deb822 sources first, then sources.list), else deb.debian.org. */
export function debianMirror(): string {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(deb822)) {
    for (const stanza of readFileSync(deb822, 'utf8').split(/\n\s*\n/)) {
      const uri = stanza.match(/^URIs:\s*(\S+)/m)?.[1];
      if (uri && new RegExp(`^Suites:.*\\b${SUITE}\\b(?!-)`, 'm').test(stanza)) return uri;
    }
  }
  const list = '/etc/apt/sources.list';
  const line = existsSync(list)
    ? readFileSync(list, 'utf8').match(new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${SUITE}\\s`, 'm'))
    : null;
  return line?.[1] ?? 'http://deb.debian.org/debian';
}

export interface BuilderImage {
  tag: string;
  id: string;
  size: number;
  created: number;
}

/** The builder image for this package list, or undefined when it has not been made. */
export async function findBuilder(docker: Docker, tag = builderTag()): Promise<BuilderImage | undefined> {
  try {
    const i = await docker.getImage(tag).inspect();
    return { tag, id: i.Id, size: i.Size, created: Date.parse(i.Created) };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

export async function requireBuilder(docker: Docker): Promise<BuilderImage> {
  const tag = builderTag();
  const b = await findBuilder(docker, tag);
  if (!b) throw msg.builderMissing(tag);
  return b;
}

export async function listBuilders(docker: Docker): Promise<BuilderImage[]> {
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [REPO] }) });
  return images.flatMap((i) =>
    (i.RepoTags ?? []).filter((t) => t.startsWith(`${REPO}:`)).map((tag) => ({ tag, id: i.Id, size: i.Size, created: i.Created * 1000 })),
  );
}

export interface CreateResult extends BuilderImage {
  cached: boolean;
}

export async function createBuilder(docker: Docker, progress: Progress): Promise<CreateResult> {
  const pkgs = builderPackages();
  const tag = builderTag(pkgs);
  const found = await findBuilder(docker, tag);
  if (found) return { ...found, cached: true };
  requireTools('builder');
  const root = join(cacheRoot(), `builder-rootfs.tmp-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const untrack = trackPath(root);
  try {
    progress.note(`debootstrap ${SUITE} from ${debianMirror()}`);
    const r = await exec('debootstrap', ['--variant=minbase', `--include=${pkgs.join(',')}`, SUITE, root, debianMirror()], {
      onLine: (l) => progress.note(l),
    });
    if (r.status !== 0) throw msg.builderCreateFailed('debootstrap', r.output);
    for (const p of SLIM) rmSync(join(root, p), { recursive: true, force: true });
    progress.note(`importing ${tag}`);
    await importRoot(docker, root, tag);
  } finally {
    rmSync(root, { recursive: true, force: true });
    untrack();
  }
  const made = await findBuilder(docker, tag);
  if (!made) throw msg.builderCreateFailed('image import', `the engine has no ${tag} after the import`);
  return { ...made, cached: false };
}

/** Streams the root file system as a tar into the engine's image import (POST /images/create?fromSrc=-). */
async function importRoot(docker: Docker, root: string, tag: string): Promise<void> {
  // GNU tar, not a JS walker: debootstrap's tree has hard links, device nodes and root-owned
  // files whose owners must be kept as numbers.
  const tar = spawnChild('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const [repo, version] = tag.split(':');
  const stream = await docker.importImage(tar.stdout!, { repo, tag: version });
  const events: { error?: string }[] = await new Promise((res, rej) =>
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => (err ? rej(err) : res(out))),
  );
  const failed = events.find((e) => e.error);
  if (failed) throw msg.builderCreateFailed('image import', failed.error!);
  const status: number | null = tar.exitCode ?? (await new Promise((res) => tar.on('close', res)));
  if (status !== 0) throw msg.builderCreateFailed('tar of the root file system', stderr);
}

export async function removeBuilder(docker: Docker, tag: string): Promise<void> {
  try {
    await docker.getImage(tag).remove();
  } catch (e) {
    const code = (e as { statusCode?: number }).statusCode;
    if (code === 404) throw msg.builderUnknown(tag);
    if (code === 409) throw msg.builderInUse(tag, (e as { json?: { message?: string } }).json?.message ?? 'it is in use');
    throw e;
  }
}
