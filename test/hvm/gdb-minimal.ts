// Debian's gdb-minimal (gdb without Python, so it runs in the test guest without a Python
// stdlib), fetched with apt-get download and unpacked into the cache once, for the MV_GDB tests.
// It is not installed: it conflicts with the full gdb package, whose libraries it shares (CI
// installs gdb, see debian-packages.txt). Also the iconv modules gdb needs for its charsets.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptShow, fetchDeb } from '../../src/stages/kernel';
import { readDebData } from '../../src/lib/deb';
import { cacheRoot } from '../../src/lib/paths';
import { Progress } from '../../src/lib/progress';

const GCONV = '/usr/lib/x86_64-linux-gnu/gconv';

export interface GuestFile {
  src: string;
  dest: string;
  mode: number;
}

/** gdb at `dest`, plus the gconv modules at their own paths. */
export async function gdbFiles(dest: string): Promise<GuestFile[]> {
  const pkg = await aptShow('gdb-minimal');
  const dir = join(cacheRoot(), 'test-tools', `gdb-minimal-${pkg.version}`);
  const bin = join(dir, 'gdb');
  if (!existsSync(bin)) {
    const deb = await fetchDeb(pkg, Progress.quiet());
    mkdirSync(dir, { recursive: true });
    await readDebData(
      deb,
      (p) => p === '/usr/bin/gdb',
      (f) => writeFileSync(`${bin}.tmp`, f.data, { mode: 0o755 }),
    );
    renameSync(`${bin}.tmp`, bin);
  }
  return [
    { src: bin, dest, mode: 0o755 },
    ...['gconv-modules', 'gconv-modules.cache', 'UTF-32.so', 'UTF-16.so', 'UNICODE.so', 'ISO8859-1.so']
      .filter((f) => existsSync(join(GCONV, f)))
      .map((f) => ({ src: join(GCONV, f), dest: join(GCONV, f), mode: 0o644 })),
  ];
}
