// bench/noise: the PNG: one panel per setting, detour length (log scale) against time. Rendered by
// gnuplot (Debian's gnuplot-nox, pngcairo terminal): no browser, no native npm addon.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTools } from '../../src/lib/hosttools';

export interface NoiseRun {
  setting: 'ros' | 'isolated' | 'hrt';
  inHrt: number;
  cpu: number;
  tscHz: number;
  seconds: number;
  iterations: number;
  minIterNs: number;
  thresholdNs: number;
  count: number;
  maxNs: number;
  totalNs: number;
  notKept: number;
  /** The largest detours (at most 1500), in time order: [µs since the start, length in ns]. */
  detours: [number, number][];
}

/** One PNG, one panel per setting: detour length (µs, log scale) against time (s). */
export function plot(runs: NoiseRun[], png: string, title: string): void {
  requireTools('bench');
  const dir = mkdtempSync(join(tmpdir(), 'mv-noise-plot-'));
  const panels = runs.map((r) => {
    const data = join(dir, `${r.setting}.dat`);
    writeFileSync(data, r.detours.map(([at, len]) => `${at / 1e6} ${len / 1e3}`).join('\n') + '\n');
    const name = { ros: 'native, ROS CPU 0', isolated: 'native, isolated CPU 1', hrt: 'HRT (Nautilus), CPU 1' }[r.setting];
    return (
      `set title "${name}: ${r.count} detours > ${r.thresholdNs / 1e3} us, longest ${(r.maxNs / 1e3).toFixed(1)} us"\n` +
      // An empty panel plots a constant below the y range: gnuplot needs something to plot.
      `plot ${r.detours.length ? `"${data}" using 1:2 with impulses lc rgb "#1f77b4" notitle` : '0.1 notitle'}\n`
    );
  });
  // One y range for every panel, so their heights compare at a glance.
  const ymax = Math.max(10, ...runs.map((r) => (r.maxNs / 1e3) * 2));
  const script = `set terminal pngcairo size 1000,${260 * runs.length + 40} font ",10"
set output "${png}"
set multiplot layout ${runs.length},1 title "${title}"
set logscale y
set yrange [1:${ymax}]
set xrange [0:${Math.max(...runs.map((r) => r.seconds))}]
set xlabel "time (s)"
set ylabel "detour (us)"
set grid
${panels.join('')}unset multiplot
`;
  writeFileSync(join(dir, 'plot.gp'), script);
  execFileSync('gnuplot', [join(dir, 'plot.gp')]);
  rmSync(dir, { recursive: true, force: true });
}
