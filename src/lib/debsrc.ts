// Debian source packages, fetched through a private apt state so the host's apt configuration
// is never touched: our own sources list (the host's deb entries, as deb-src), our own lists and
// archive cache, all under <cacheRoot>/apt-src/. apt-get downloads; we check every file against
// the checksums the .dsc lists (and the .dsc against the Sources index) ourselves.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from './exec';
import { msg } from './messages';
import { cacheRoot } from './paths';
import { sha256File } from './cache';

/** A file of a source package: name, size and sha256 (from the index or the .dsc). */
export interface SourceFile {
  name: string;
  size: number;
  sha256: string;
}

const HOST_SOURCES_DIR = '/etc/apt/sources.list.d';
const HOST_SOURCES_LIST = '/etc/apt/sources.list';
/** The private lists are refreshed when older than this (Debian point releases move versions). */
const LISTS_MAX_AGE_MS = 7 * 24 * 3600_000;

export const aptSrcRoot = () => join(cacheRoot(), 'apt-src');

/** Debian policy §5.6.1: lower case letters, digits, + - . ; at least two characters. */
export const validSourceName = (name: string) => /^[a-z0-9][a-z0-9+.-]+$/.test(name);

/** apt options that point every piece of state at the private tree. */
export function aptOptions(root = aptSrcRoot()): string[] {
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::Etc::SourceList', join(root, 'sources.list')),
    ...o('Dir::Etc::SourceParts', join(root, 'sources.list.d')),
    ...o('Dir::State', join(root, 'state')),
    ...o('Dir::Cache', join(root, 'cache')),
    // Downloads run as root here; apt's _apt sandbox user could not write our cache dirs.
    ...o('APT::Sandbox::User', 'root'),
  ];
}

/** The host's binary entries turned into source entries: deb822 stanzas and one-line entries. */
export function deriveSourceEntries(deb822: string[], oneLine: string[]): { sources: string; list: string } {
  const stanzas = deb822.flatMap((text) => text.split(/\n\s*\n/)).filter((s) => /^Types:.*\bdeb\b/m.test(s) && !/^Enabled:\s*no/im.test(s));
  // Only deb-src: we never install from this state, so the binary indices would be dead weight.
  const sources = stanzas.map((s) => s.replace(/^Types:.*$/m, 'Types: deb-src').trim()).join('\n\n');
  const list = oneLine
    .flatMap((t) => t.split('\n'))
    .filter((l) => /^deb\s/.test(l))
    .map((l) => l.replace(/^deb\s/, 'deb-src '))
    .join('\n');
  return { sources: sources ? sources + '\n' : '', list: list ? list + '\n' : '' };
}

function readHostSources(): { deb822: string[]; oneLine: string[] } {
  const deb822: string[] = [],
    oneLine: string[] = [];
  if (existsSync(HOST_SOURCES_LIST)) oneLine.push(readFileSync(HOST_SOURCES_LIST, 'utf8'));
  if (existsSync(HOST_SOURCES_DIR)) {
    for (const f of readdirSync(HOST_SOURCES_DIR).sort()) {
      if (f.endsWith('.sources')) deb822.push(readFileSync(join(HOST_SOURCES_DIR, f), 'utf8'));
      else if (f.endsWith('.list')) oneLine.push(readFileSync(join(HOST_SOURCES_DIR, f), 'utf8'));
    }
  }
  return { deb822, oneLine };
}

const sourcesIndexes = (root: string) => {
  const lists = join(root, 'state', 'lists');
  return existsSync(lists) ? readdirSync(lists).filter((f) => /_Sources(\.|$)/.test(f)) : [];
};

/** Writes the private sources from the host's, and runs `apt-get update` when the lists are stale. */
export async function ensureSourceIndex(note: (s: string) => void = () => {}, force = false, root = aptSrcRoot()): Promise<void> {
  const { deb822, oneLine } = readHostSources();
  const { sources, list } = deriveSourceEntries(deb822, oneLine);
  if (!sources && !list) throw msg.noDebSrcIndex('the host has no deb entries in /etc/apt/sources.list{,.d}');
  for (const d of ['sources.list.d', 'state/lists/partial', 'cache/archives/partial']) mkdirSync(join(root, d), { recursive: true });
  const partsFile = join(root, 'sources.list.d', 'host.sources');
  const changed = !existsSync(partsFile) || readFileSync(partsFile, 'utf8') !== sources;
  writeFileSync(partsFile, sources);
  writeFileSync(join(root, 'sources.list'), list);
  const stamp = join(root, 'state', 'updated');
  const fresh = existsSync(stamp) && Date.now() - statSync(stamp).mtimeMs < LISTS_MAX_AGE_MS;
  if (!force && !changed && fresh && sourcesIndexes(root).length) return;
  note('apt-get update (private deb-src state)');
  const r = await exec('apt-get', [...aptOptions(root), 'update']);
  if (r.status !== 0 || !sourcesIndexes(root).length)
    throw msg.noDebSrcIndex(lastLine(r.output) || 'apt-get update fetched no Sources index');
  writeFileSync(stamp, '');
}

const lastLine = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter((l) => /^(E|W|Err):/.test(l))
    .pop() ??
  s.trim().split('\n').pop() ??
  '';

/** The files `apt-get source` would fetch, with the index's sizes and sha256s. */
export async function sourceUris(pkg: string, root = aptSrcRoot()): Promise<SourceFile[] | undefined> {
  const r = await exec('apt-get', [...aptOptions(root), 'source', '--print-uris', '--only-source', pkg]);
  if (r.status !== 0) {
    if (/Unable to find a source package/.test(r.output)) return undefined;
    throw msg.noDebSrcIndex(lastLine(r.output));
  }
  const files = [...r.stdout.matchAll(/^'[^']+' (\S+) (\d+) SHA256:([0-9a-f]{64})$/gm)].map((m) => ({
    name: m[1],
    size: Number(m[2]),
    sha256: m[3],
  }));
  if (!files.some((f) => f.name.endsWith('.dsc'))) throw msg.noDebSrcIndex(`the index lists no .dsc for ${pkg} with a SHA256`);
  return files;
}

/** The Checksums-Sha256 field of a .dsc (the signature armour around it is ignored). */
export function dscChecksums(dscText: string): SourceFile[] {
  const field = dscText.match(/^Checksums-Sha256:\s*\n((?:[ \t]+\S.*\n?)+)/m)?.[1] ?? '';
  return field
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 3)
    .map(([sha256, size, name]) => ({ name, size: Number(size), sha256 }));
}

/** Checks the .dsc against the index, then every file the .dsc lists, by size and sha256. */
export function verifySourceFiles(dir: string, dscName: string, index: SourceFile[] = []): SourceFile[] {
  const check = (f: SourceFile) => {
    const p = join(dir, f.name);
    if (!existsSync(p)) throw msg.sourceChecksum(f.name, 'the file is missing');
    const size = statSync(p).size,
      got = sha256File(p);
    if (size !== f.size || got !== f.sha256)
      throw msg.sourceChecksum(f.name, `sha256 ${got.slice(0, 16)}… (${size} bytes), expected ${f.sha256.slice(0, 16)}… (${f.size} bytes)`);
  };
  const dsc = index.find((f) => f.name === dscName);
  if (dsc) check(dsc);
  const listed = dscChecksums(readFileSync(join(dir, dscName), 'utf8'));
  if (!listed.length) throw msg.sourceChecksum(dscName, 'it lists no Checksums-Sha256');
  listed.forEach(check);
  return listed;
}
