// Resolve a program's shared libraries the way the dynamic loader would (like `ldd`, but without
// running the program): DT_RUNPATH/RPATH with $ORIGIN, the ld.so.conf directories, then the
// default directories. The interpreter (ld-linux) is included. Everything is looked up in a file
// system view (src/lib/fsview.ts): the host's for a host build, the builder image's for a docker
// build, so a docker-built program gets the builder's libraries, never the host's.
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { readElf } from './elf';
import { FsView, fileIn, HOST_VIEW, hostPath, resolveIn } from './fsview';
import { msg } from './messages';

const DEFAULT_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

function ldSoConfDirs(view: FsView, file = '/etc/ld.so.conf', seen = new Set<string>()): string[] {
  const host = fileIn(view, file);
  if (seen.has(file) || !host) return [];
  seen.add(file);
  const dirs: string[] = [];
  for (const raw of readFileSync(host, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const inc = line.match(/^include\s+(.+)$/);
    if (!inc) {
      dirs.push(line);
      continue;
    }
    const pattern = inc[1];
    const dir = posix.dirname(pattern),
      glob = new RegExp(
        '^' +
          pattern
            .slice(dir.length + 1)
            .replace(/\./g, '\\.')
            .replace(/\*/g, '.*') +
          '$',
      );
    const real = resolveIn(view, dir);
    if (real === undefined) continue;
    let names: string[];
    try {
      names = readdirSync(hostPath(view, real));
    } catch {
      continue;
    }
    for (const f of names.sort()) if (glob.test(f)) dirs.push(...ldSoConfDirs(view, posix.join(dir, f), seen));
  }
  return dirs;
}

/** A library for the image: `path` as the loader names it (its place in the image), `src` the
 *  host file with its bytes. */
export interface LibraryFile {
  path: string;
  src: string;
}

/** The interpreter and every library `program` (a path in the view) needs. */
export function libraryFiles(program: string, view: FsView = HOST_VIEW): LibraryFile[] {
  const found = new Map<string, string>(); // soname -> path
  const confDirs = ldSoConfDirs(view);
  const result: LibraryFile[] = [];
  const read = (p: string) => {
    const src = fileIn(view, p);
    if (!src) return undefined;
    return { src, elf: readElf(readFileSync(src), p) };
  };
  const top = read(program);
  if (!top) throw msg.libraryMissing(program, program);
  if (top.elf.interp) {
    const interp = fileIn(view, top.elf.interp);
    if (!interp) throw msg.libraryMissing(top.elf.interp, program);
    result.push({ path: top.elf.interp, src: interp });
  }

  const visit = (file: string, elf: ReturnType<typeof readElf>): void => {
    const origin = posix.dirname(file);
    const own = elf.runpath.map((d) => d.replace(/\$\{?ORIGIN\}?/g, origin));
    for (const soname of elf.needed) {
      if (found.has(soname)) continue;
      const candidates = soname.includes('/') ? [soname] : [...own, ...confDirs, ...DEFAULT_DIRS].map((d) => posix.join(d, soname));
      const path = candidates.find((p) => fileIn(view, p) !== undefined);
      if (!path) throw msg.libraryMissing(soname, file);
      found.set(soname, path);
      const lib = read(path)!;
      result.push({ path, src: lib.src });
      visit(path, lib.elf);
    }
  };
  visit(program, top.elf);
  const seen = new Set<string>();
  return result.filter((l) => !seen.has(l.path) && seen.add(l.path));
}

/** Absolute paths (as the loader names them) of the interpreter and every library `program` needs, on this host. */
export function sharedLibraries(program: string): string[] {
  return libraryFiles(program).map((l) => l.path);
}
