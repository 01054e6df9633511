// The files the QEMU test guest needs to run CPython's own regression tests: Debian's
// python3.11 (its shared libraries come with it through runInGuest), the standard library less
// what no selected test imports (GUI, packaging, the big test data), the test package's runner,
// helpers and the selected test modules, the extension modules with their own libraries, and
// mvrun with libmv's preload library. The guest's root is an initramfs in RAM: every MiB counts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestFile } from '../../src/harness/guest';
import { sharedLibraries } from '../../src/lib/ldd';
import { repoPath } from '../../src/lib/paths';

export const PYTHON = '/usr/bin/python3.11';
export const STDLIB = '/usr/lib/python3.11';
const LIBGCC_S = '/lib/x86_64-linux-gnu/libgcc_s.so.1';
/** Where mvrun and its library go in the guest. */
export const MV_DIR = '/mv/bin';

/** Standard-library trees no selected test (nor regrtest) imports. */
const SKIP_STDLIB = new Set([
  'idlelib',
  'tkinter',
  'turtledemo',
  'ensurepip',
  'lib2to3',
  'pydoc_data',
  'config-3.11-x86_64-linux-gnu',
  'test',
  'distutils/tests',
  'unittest/test',
  'site-packages',
  'dist-packages',
]);
/** Directories of test/ that the runner or the selected tests need besides the modules themselves. */
const TEST_DIRS = ['support', 'libregrtest', 'subprocessdata', 'data'];
/** Top-level files of test/ above this size are data of tests we do not run. */
const MAX_HELPER = 256 * 1024;

function walk(dir: string, rel: string, skip: (rel: string) => boolean, out: GuestFile[]): void {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (skip(r)) continue;
    let st;
    try {
      st = statSync(join(dir, r));
    } catch {
      continue;
    } // a dangling link: nothing to copy
    if (st.isDirectory()) walk(dir, r, skip, out);
    else if (st.isFile()) out.push({ src: join(dir, r), dest: join(dir, r), mode: st.mode & 0o777 });
  }
}

/** The test package: runner, helpers, data files and the selected modules (file or package). */
function testPackage(modules: string[], extraTests: Map<string, string>): GuestFile[] {
  const tdir = join(STDLIB, 'test');
  const out: GuestFile[] = [];
  const wanted = new Set(modules);
  const pyOf = (f: string) => f.replace(/\.cpython-311(\.opt-\d)?\.pyc$/, '');
  for (const name of readdirSync(tdir).sort()) {
    const p = join(tdir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (TEST_DIRS.includes(name) || wanted.has(name)) walk(tdir, name, () => false, out);
      continue;
    }
    const mod = name.replace(/\.py$/, '');
    if (name.startsWith('test_') ? wanted.has(mod) : st.size <= MAX_HELPER) out.push({ src: p, dest: p, mode: st.mode & 0o777 });
  }
  // Compiled helpers only for the sources that are there (the cache holds every test's).
  const have = new Set(out.map((f) => f.dest.slice(tdir.length + 1).replace(/\.py$/, '')));
  for (const name of readdirSync(join(tdir, '__pycache__')).sort()) {
    if (have.has(pyOf(name))) out.push({ src: join(tdir, '__pycache__', name), dest: join(tdir, '__pycache__', name), mode: 0o644 });
  }
  // Test packages Debian's binary package leaves out, taken from its source package (same version).
  for (const [mod, dir] of extraTests)
    if (wanted.has(mod)) {
      const found: GuestFile[] = [];
      walk(dir, '', () => false, found);
      for (const f of found) out.push({ ...f, dest: join(tdir, mod, f.src.slice(dir.length + 1)) });
    }
  return out;
}

/** Every guest file the conformance run needs, for these test modules. */
export function pythonFiles(modules: string[], extraTests = new Map<string, string>()): GuestFile[] {
  const files: GuestFile[] = [{ src: PYTHON, dest: PYTHON, mode: 0o755 }];
  walk(STDLIB, '', (r) => SKIP_STDLIB.has(r), files);
  files.push(...testPackage(modules, extraTests));
  // Extension modules load with dlopen: runInGuest resolves only programs' libraries.
  const libs = new Set<string>();
  for (const f of files) if (f.dest.endsWith('.so')) for (const l of sharedLibraries(f.src)) libs.add(l);
  // glibc dlopens libgcc_s for pthread_exit and thread cancellation (no ELF names it).
  libs.add(LIBGCC_S);
  for (const l of [...libs].sort()) if (!files.some((f) => f.dest === l)) files.push({ src: l, dest: l, mode: 0o755 });
  // Service and protocol names (getservbyname, getaddrinfo with a service), as on any Debian.
  for (const f of ['/etc/services', '/etc/protocols']) if (existsSync(f)) files.push({ src: f, dest: f, mode: 0o644 });
  for (const f of ['mvrun', 'libmv-preload.so']) {
    const src = repoPath('hvm', 'build', f);
    if (!existsSync(src)) throw new Error(`${src} is missing: run npm run build:c`);
    files.push({ src, dest: `${MV_DIR}/${f}`, mode: 0o755 });
  }
  return files;
}
