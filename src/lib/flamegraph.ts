// Folded stacks (MV_PROFILE's output, and what perf/flamegraph.pl tooling writes: `a;b;c 12`)
// to a flame graph SVG. The drawing is d3-flame-graph's (a maintained D3 component, the one
// `perf script report flamegraph` uses), run in a jsdom document on the host; the SVG it builds
// is serialized with its stylesheet inlined, so it opens in a browser on its own.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { msg } from './messages';

export interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

// Bounds for a file someone else wrote.
export const MAX_BYTES = 256 << 20;
const MAX_DEPTH = 1024;
const MAX_NAME = 4096;

/** Parses folded stacks into a tree rooted at "all". Blank lines are skipped; a malformed line is
 *  one error naming its number. */
export function parseFolded(text: string, what = 'the profile'): FlameNode {
  if (text.length > MAX_BYTES) throw msg.profileTooLarge(what, MAX_BYTES >> 20);
  const root: FlameNode = { name: 'all', value: 0, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trimEnd();
    if (!line) continue;
    const m = line.match(/^(.+) (\d+)$/);
    const frames = m?.[1].split(';');
    if (!m || !frames || frames.length > MAX_DEPTH || frames.some((f) => !f || f.length > MAX_NAME)) {
      throw msg.profileLine(i + 1, what);
    }
    const n = Number(m[2]);
    root.value += n;
    let node = root;
    for (const f of frames) {
      let kids = index.get(node);
      if (!kids) index.set(node, (kids = new Map()));
      let child = kids.get(f);
      if (!child) {
        child = { name: f, value: 0, children: [] };
        kids.set(f, child);
        node.children.push(child);
      }
      child.value += n;
      node = child;
    }
  }
  if (!root.value) throw msg.profileEmpty(what);
  return root;
}

/** Renders the tree to a standalone SVG document. The drawing runs in a worker thread: jsdom and
 *  D3 want browser globals, and D3's timers would keep this process alive after the last frame;
 *  the worker has its own globals and is ended when it has answered. */
export async function renderFlameGraph(root: FlameNode, opts: { title?: string; width?: number } = {}): Promise<string> {
  const worker = new Worker(join(__dirname, 'flamegraph-worker.js'), {
    workerData: { root, title: opts.title ?? '', width: opts.width ?? 1200 },
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      worker.once('message', (m: { svg?: string; error?: string }) =>
        m.svg ? resolve(m.svg) : reject(msg.flamegraphDraw(m.error ?? 'no reason given')),
      );
      worker.once('error', (e) => reject(msg.flamegraphDraw(e.message)));
      worker.once('exit', (code) => reject(msg.flamegraphDraw(`its worker ended (${code}) without an answer`)));
    });
  } finally {
    await worker.terminate();
  }
}
