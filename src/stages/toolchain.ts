// Stage "toolchain": the Multiverse toolchain (mv-cc, mv-c++, libmv and the embedded Nautilus)
// built from this repo's nautilus/ and hvm/, installed into the cache, and keyed by a hash of
// their sources and the host compiler. Packages are then built with CC=mv-cc, so their main()
// runs in the HRT.
//
// The build runs in a fixed directory (not a per-process temp dir): libmv keeps debug info, and
// the paths in it must be the same on every build for images to be reproducible.
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cached, hashOf, hashTree } from '../lib/cache';
import { exec } from '../lib/exec';
import { requireTools } from '../lib/hosttools';
import { scratchDir } from '../lib/lock';
import { msg } from '../lib/messages';
import { buildDir, repoPath } from '../lib/paths';
import type { Progress } from '../lib/progress';
import type { Toolchain } from '../lib/toolchain';

export interface ToolchainArtifact extends Toolchain {
  cached: boolean;
  prefix: string;
  /** Static tools for the image's init: mv-kvmhold (hvm/src/kvmhold), mv-drain (hvm/src/drain). */
  initTools: string[];
}

const SOURCES = ['nautilus', 'hvm'];
/** Build outputs, and the READMEs (a documentation change must not rebuild every package). */
const notInputs = (rel: string) => rel === 'build' || rel.endsWith('/build') || rel.endsWith('.md');

export async function toolchainStage(progress: Progress): Promise<ToolchainArtifact> {
  requireTools('toolchain');
  const cc = await exec('gcc', ['--version']);
  const key = hashOf({ sources: SOURCES.map((s) => hashTree(repoPath(s), notInputs)), cc: cc.stdout.split('\n')[0], format: 1 });
  const { dir, hit } = await cached('toolchain', key, async (tmp) => {
    const work = buildDir(`toolchain-${key.slice(0, 16)}`);
    const done = await scratchDir(work);
    try {
      for (const s of SOURCES) cpSync(repoPath(s), join(work, s), { recursive: true, filter: (src) => !/\/build$/.test(src) });
      for (const step of [['-C', join(work, 'nautilus')], ['-C', join(work, 'hvm')], ['-C', join(work, 'hvm'), 'install', `PREFIX=${join(tmp, 'root')}`]]) {
        progress.note(`make ${step.slice(2).join(' ') || step[1].replace(/^.*\//, '')}`);
        const r = await exec('make', ['-j2', ...step]);
        if (r.status !== 0) throw msg.toolchainFailed(`make ${step.join(' ')}`, r.output);
      }
    } finally {
      done();
    }
  });
  const prefix = join(dir, 'root');
  if (!existsSync(join(prefix, 'bin', 'mv-cc'))) throw msg.toolchainFailed('make install', 'no bin/mv-cc installed');
  return { cached: hit, prefix, CC: join(prefix, 'bin', 'mv-cc'), CXX: join(prefix, 'bin', 'mv-c++'), initTools: ['mv-kvmhold', 'mv-drain'].map((t) => join(prefix, 'bin', t)), id: `mv-cc ${key}` };
}
