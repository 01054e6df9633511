// The host tools each stage needs, read from debian-packages.txt (the same list .ci/run installs).
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoPath } from './paths';
import { msg } from './messages';

export interface HostTool {
  pkg: string;
  /** A command on PATH, or an absolute path that must exist. */
  tool: string;
  stages: string[];
}

export function hostTools(): HostTool[] {
  return readFileSync(repoPath('debian-packages.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => {
      const [pkg, tool, stages] = l.split(/\s+/);
      return { pkg, tool, stages: stages.split(',') };
    });
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export function toolPresent(t: HostTool): boolean {
  return t.tool.startsWith('/') ? existsSync(t.tool) : which(t.tool) !== undefined;
}

/** Throws the one-line "install X" error for the first missing tool a stage needs. */
export function requireTools(stage: string): void {
  for (const t of hostTools()) {
    if (t.stages.includes(stage) && !toolPresent(t)) throw msg.toolMissing(t.tool, t.pkg);
  }
}
