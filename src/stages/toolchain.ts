// Stage "toolchain": the Multiverse toolchain (mv-cc, mv-c++, libmv and the embedded Nautilus)
// built from this repo's nautilus/ and hvm/, installed into the cache, and keyed by a hash of
// their sources and the host compiler. Packages are then built with CC=mv-cc, so their main()
// runs in the HRT.
//
// The build runs in a fixed directory (not a per-process temp dir): libmv keeps debug info, and
// the paths in it must be the same on every build for images to be reproducible. The directory is
// named by the sources alone, so a host and a docker build of the same sources embed the same paths.
// With the docker builder, the toolchain is built in the builder image (its gcc, binutils and libc),
// like everything else that goes into a docker-built image.
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostRunner, Runner } from '../builder/runner';
import { cached, hashOf, hashTree } from '../lib/cache';
import { exec } from '../lib/exec';
import { scratchDir } from '../lib/lock';
import { msg } from '../lib/messages';
import { buildDir, repoPath } from '../lib/paths';
import type { Progress } from '../lib/progress';
import type { Stage } from '../lib/stage';
import type { Toolchain } from '../lib/toolchain';

export interface ToolchainArtifact extends Toolchain {
  cached: boolean;
  prefix: string;
  /** Static tools for the image's init: mv-kvmhold (hvm/src/kvmhold), mv-drain (hvm/src/drain). */
  initTools: string[];
}

const SOURCES = ['nautilus', 'hvm'];
/** Build outputs, the READMEs and hvm's host unit tests: a change to documentation or to a test
 *  must not rebuild every package. */
const notInputs = (rel: string) =>
  rel === 'build' || rel.endsWith('/build') || rel.endsWith('.md') || rel === 'unit' || rel.startsWith('unit/');

export interface ToolchainInputs {
  /** Where it builds (default: this host). */
  runner?: Runner;
}

/** Keyed by the sources' tree hash and the compiler (the host gcc's version line, or the builder image). */
export const toolchainStage: Stage<ToolchainInputs, ToolchainArtifact> = { name: 'toolchain', run };

async function run(progress: Progress, { runner = hostRunner }: ToolchainInputs): Promise<ToolchainArtifact> {
  runner.requireTools('toolchain');
  const sources = SOURCES.map((s) => hashTree(repoPath(s), notInputs));
  const compiler = runner.kind === 'host' ? (await exec('gcc', ['--version'])).stdout.split('\n')[0] : runner.id;
  const key = hashOf({ sources, cc: compiler, format: 2 });
  const { dir, hit } = await cached(toolchainStage.name, key, async (tmp) => {
    const work = buildDir(`toolchain-${hashOf({ sources }).slice(0, 16)}`);
    const done = await scratchDir(work);
    try {
      for (const s of SOURCES) cpSync(repoPath(s), join(work, s), { recursive: true, filter: (src) => !/\/(build|unit)$/.test(src) });
      const install = join(work, 'install');
      for (const step of [
        ['-C', join(work, 'nautilus')],
        ['-C', join(work, 'hvm')],
        ['-C', join(work, 'hvm'), 'install', `PREFIX=${install}`],
      ]) {
        const what = `make ${step.join(' ')}`;
        progress.note(`make ${step.slice(2).join(' ') || step[1].replace(/^.*\//, '')}`);
        const r = await runner.run('make', ['-j2', ...step], { dirs: [work], stage: 'toolchain', what });
        if (r.status !== 0) throw msg.toolchainFailed(what, r.output);
      }
      // mv-cc finds libmv next to itself, so the installed tree moves as it is (mv-c++ is a relative link).
      cpSync(install, join(tmp, 'root'), { recursive: true, verbatimSymlinks: true });
    } finally {
      done();
    }
  });
  const prefix = join(dir, 'root');
  if (!existsSync(join(prefix, 'bin', 'mv-cc'))) throw msg.toolchainFailed('make install', 'no bin/mv-cc installed');
  return {
    cached: hit,
    prefix,
    CC: join(prefix, 'bin', 'mv-cc'),
    CXX: join(prefix, 'bin', 'mv-c++'),
    initTools: ['mv-kvmhold', 'mv-drain'].map((t) => join(prefix, 'bin', t)),
    id: `mv-cc ${key}`,
  };
}
