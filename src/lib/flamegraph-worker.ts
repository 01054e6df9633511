// The flame-graph drawing (flamegraph.ts), in a worker thread of its own: a jsdom document stands
// in for the browser, d3-flame-graph draws the tree into it, and the SVG goes back as a string.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { JSDOM } from 'jsdom';
import type { FlameNode } from './flamegraph';

interface FlameChart {
  width(w: number): FlameChart;
  cellHeight(h: number): FlameChart;
  transitionDuration(ms: number): FlameChart;
  minFrameSize(px: number): FlameChart;
  title(t: string): FlameChart;
  sort(s: boolean): FlameChart;
}

async function draw(root: FlameNode, title: string, width: number): Promise<string> {
  const dom = new JSDOM('<!DOCTYPE html><body><div id="chart"></div></body>', { pretendToBeVisual: true });
  // d3's modules look for the browser's globals when they load and when they draw.
  const g = globalThis as Record<string, unknown>;
  for (const k of ['self', 'window', 'document', 'navigator']) {
    Object.defineProperty(g, k, {
      value: k === 'self' || k === 'window' ? dom.window : (dom.window as unknown as Record<string, unknown>)[k],
      configurable: true,
      writable: true,
    });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const flamegraph = require('d3-flame-graph/dist/d3-flamegraph.js') as () => FlameChart;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { select } = require('d3-selection') as typeof import('d3-selection');
  const chart = flamegraph().width(width).cellHeight(18).transitionDuration(0).minFrameSize(1).title(title).sort(true);
  const el = dom.window.document.getElementById('chart')!;
  select(el)
    .datum(root)
    .call(chart as never);
  const svg = el.querySelector('svg');
  if (!svg) throw new Error('d3-flame-graph drew nothing');
  // Its transitions (zero-length) end on later animation frames: wait until every box has the
  // width its frame was given (the <g>'s width attribute), or 30 s.
  const settled = () =>
    [...svg.querySelectorAll('g.frame')].every((g) => g.querySelector('rect')?.getAttribute('width') === g.getAttribute('width'));
  for (let i = 0; i < 1500 && !settled(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!settled()) throw new Error('the drawing did not settle within 30 s');
  const style = dom.window.document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = readFileSync(require.resolve('d3-flame-graph/dist/d3-flamegraph.css'), 'utf8') + '\nsvg { background: #fff; }\n';
  svg.insertBefore(style, svg.firstChild);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new dom.window.XMLSerializer().serializeToString(svg) + '\n';
}

const { root, title, width } = workerData as { root: FlameNode; title: string; width: number };
draw(root, title, width).then(
  (svg) => parentPort?.postMessage({ svg }),
  (e) => parentPort?.postMessage({ error: e instanceof Error ? e.message : String(e) }),
);
