// Kconfig fragments (kernel-configs/): parse, merge with conflict checks, and verify a resulting
// .config. Pure text work, so the tests can run it without building a kernel.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { msg } from './messages';
import { repoPath } from './paths';

/** One requested option: `value` is y, m, n, a number or a quoted string, as .config writes it. */
export interface KOption {
  name: string;
  value: string;
  fragment: string;
  line: number;
}

export const fragmentsDir = () => repoPath('kernel-configs');

/** Every fragment name: the files in kernel-configs/ except the README. */
export function knownFragments(dir = fragmentsDir()): string[] {
  return readdirSync(dir)
    .filter((f) => !f.includes('.'))
    .sort();
}

export function readFragment(name: string, dir = fragmentsDir()): string {
  const known = knownFragments(dir);
  if (!known.includes(name)) throw msg.fragmentMissing(name, known);
  return readFileSync(join(dir, name), 'utf8');
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.+)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

export function parseFragment(fragment: string, text: string): KOption[] {
  const out: KOption[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    const set = l.match(SET),
      unset = l.match(UNSET);
    if (set) out.push({ name: set[1], value: set[2], fragment, line: i + 1 });
    else if (unset) out.push({ name: unset[1], value: 'n', fragment, line: i + 1 });
    // "# CONFIG_X" that is not the exact unset form is a typo that would silently do nothing.
    else if (/^#\s*CONFIG_/.test(l) || (l && !l.startsWith('#'))) throw msg.kconfigSyntax(fragment, i + 1, l);
  });
  return out;
}

/** The options of several fragments, in order. The same option twice is fine if the values agree. */
export function mergeFragments(fragments: { name: string; text: string }[]): KOption[] {
  const merged = new Map<string, KOption>();
  for (const f of fragments) {
    for (const o of parseFragment(f.name, f.text)) {
      const prev = merged.get(o.name);
      if (prev && prev.value !== o.value) throw msg.kconfigConflict(o.name, prev.fragment, prev.value, o.fragment, o.value);
      if (!prev) merged.set(o.name, o);
    }
  }
  return [...merged.values()];
}

/** The lines appended to tinyconfig's .config (kconfig lets later lines override earlier ones). */
export function fragmentText(options: KOption[]): string {
  return options.map((o) => (o.value === 'n' ? `# ${o.name} is not set` : `${o.name}=${o.value}`)).join('\n') + '\n';
}

/** A .config as name -> value; options that are "not set" map to n. */
export function parseDotConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split('\n')) {
    const set = l.match(SET),
      unset = l.match(UNSET);
    if (set) m.set(set[1], set[2]);
    else if (unset) m.set(unset[1], 'n');
  }
  return m;
}

const symbolsOf = new Map<string, Set<string>>();

/** Every symbol the source tree's Kconfig files define, as CONFIG_NAME (read once per tree). */
export function kconfigSymbols(srcDir: string): Set<string> {
  const known = symbolsOf.get(srcDir);
  if (known) return known;
  const out = new Set<string>();
  const walk = (dir: string): void => {
    // withFileTypes: no stat per file, which matters on a 75k-file tree with a cold page cache.
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      // tools/ (user-space tools) is never sourced by the kernel's Kconfig; skip its bulk.
      if (dir === srcDir && ['tools', '.git'].includes(e.name)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('Kconfig')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) out.add(`CONFIG_${m[1]}`);
      }
    }
  };
  walk(srcDir);
  symbolsOf.set(srcDir, out);
  return out;
}

/** Throws for the first requested option the source tree does not define (checked before any make). */
export function checkKnown(options: KOption[], symbols: Set<string>, source: string): void {
  for (const o of options) if (!symbols.has(o.name)) throw msg.kconfigUnknown(o.name, o.fragment, source);
}

/** Throws for the first requested option that olddefconfig dropped or changed. */
export function checkApplied(options: KOption[], dotConfig: string): void {
  const got = parseDotConfig(dotConfig);
  for (const o of options) {
    const v = got.get(o.name) ?? 'n'; // an option whose dependencies are off is not even written
    if (v !== o.value) throw msg.kconfigNotApplied(o.name, o.fragment, o.value, v === 'n' ? 'not set' : v);
  }
}
