// The manifest's "overrides" reach the package's build: the package stage sets MV_OVERRIDES for
// mv-cc, so the entry binary carries the wrappers (__wrap_getpid) and a build without the field
// does not. (Unknown names: test/commands/build-errors.test.ts; the HRT side: test/hvm/override.test.ts.)
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostRunner, runnerToolchain } from '../../src/builder/runner';
import { loadManifest } from '../../src/lib/manifest';
import { Progress } from '../../src/lib/progress';
import { packageStage } from '../../src/stages/package';
import { toolchainStage } from '../../src/stages/toolchain';
import { tempDir } from '../helpers/cli';

function pkg(manifest: object): string {
  const dir = join(tempDir(), 'ovpkg');
  mkdirSync(dir);
  writeFileSync(join(dir, 'p.c'), '#include <unistd.h>\nint main(void) { return getpid() > 0 ? 0 : 1; }\n');
  writeFileSync(join(dir, 'Makefile'), 'prog: p.c\n\t$(CC) -O2 -o prog p.c\n');
  writeFileSync(join(dir, 'mv-image.json'), JSON.stringify({ entry: 'prog', ...manifest }));
  return dir;
}

test('"overrides" in the manifest wraps the named functions in the built program', async (t) => {
  const progress = Progress.quiet();
  const tc = runnerToolchain(await toolchainStage.run(progress, {}), hostRunner);
  const nm = async (dir: string) => {
    const a = await packageStage.run(progress, { dir, manifest: loadManifest(dir), toolchain: tc });
    return execFileSync('nm', [a.program.src], { encoding: 'utf8' });
  };
  t.regex(await nm(pkg({ overrides: ['getpid'] })), / T __wrap_getpid$/m);
  t.notRegex(await nm(pkg({})), /__wrap_getpid/);
});
