// Shared by the builder tests: the real engine (the one .ci/run starts) through dockerode, and the
// builder image, made once (builder create is a no-op when its tag exists).
import Docker from 'dockerode';
import { cli } from '../helpers/cli';

export const docker = new Docker();

export function ensureBuilder(): string {
  const r = cli(['builder', 'create', '--json'], {}, 1_500_000);
  if (r.status !== 0) throw new Error(`builder create failed: ${r.stderr}`);
  return JSON.parse(r.stdout).tag;
}

/** Containers a build left behind (each stage's container carries the label mv-image=stage). */
export async function leftoverContainers(): Promise<string[]> {
  const cs = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ['mv-image=stage'] }) });
  return cs.map((c) => c.Id);
}
