// Resolve a program's shared libraries the way the dynamic loader would (like `ldd`, but without
// running the program): DT_RUNPATH/RPATH with $ORIGIN, the ld.so.conf directories, then the
// default directories. The interpreter (ld-linux) is included.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readElf } from './elf';
import { msg } from './messages';

const DEFAULT_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

function ldSoConfDirs(file = '/etc/ld.so.conf', seen = new Set<string>()): string[] {
  if (seen.has(file) || !existsSync(file)) return [];
  seen.add(file);
  const dirs: string[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const inc = line.match(/^include\s+(.+)$/);
    if (!inc) { dirs.push(line); continue; }
    const pattern = inc[1];
    const dir = dirname(pattern), glob = new RegExp('^' + pattern.slice(dir.length + 1).replace(/\./g, '\\.').replace(/\*/g, '.*') + '$');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (glob.test(f)) dirs.push(...ldSoConfDirs(join(dir, f), seen));
  }
  return dirs;
}

/** Absolute paths (as the loader names them) of the interpreter and every library `program` needs. */
export function sharedLibraries(program: string): string[] {
  const found = new Map<string, string>(); // soname -> path
  const confDirs = ldSoConfDirs();
  const result: string[] = [];
  const top = readElf(readFileSync(program), program);
  if (top.interp) result.push(top.interp);

  const visit = (file: string): void => {
    const info = readElf(readFileSync(file), file);
    const origin = dirname(file);
    const own = info.runpath.map((d) => d.replace(/\$\{?ORIGIN\}?/g, origin));
    for (const soname of info.needed) {
      if (found.has(soname)) continue;
      const path = soname.includes('/') ? soname
        : [...own, ...confDirs, ...DEFAULT_DIRS].map((d) => join(d, soname)).find((p) => existsSync(p));
      if (!path) throw msg.libraryMissing(soname, file);
      found.set(soname, path);
      result.push(path);
      visit(path);
    }
  };
  visit(program);
  return [...new Set(result)];
}
