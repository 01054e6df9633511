// The Lua benchmark's numbers: `run.lua ab` lines in, medians and HRT/native ratios out, written
// as JSON, a Markdown table, a PNG bar chart of the ratios (gnuplot's pngcairo terminal draws it)
// and the README's generated "Results" block.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../src/lib/exec';
import { requireTools } from '../src/lib/hosttools';
import { repoPath } from '../src/lib/paths';
import { hostInfo, median } from './stats';

export interface RunLine { mode: 'native' | 'hrt'; run: number; status: number; wall_s: number; name: string; n: number; cpu_s?: number; digest?: string; check?: string }
export interface Stat { median: number; min: number; max: number; all: number[] }
export interface ProgramResult {
  name: string; n: number; kind: 'compute' | 'syscall' | 'alloc';
  native: { cpu: Stat; wall: Stat }; hrt: { cpu: Stat; wall: Stat };
  /** HRT / native, of the medians: in-program CPU time, and process wall time (10 ms steps). */
  ratio: number; wallRatio: number;
  outputsIdentical: boolean; digestOk: boolean; ok: boolean;
  /** filecopy only: extra time per forwarded 4 KiB system call, µs. */
  perCallUs?: number;
  failures: string[];
}
export interface LuaBenchResult {
  host: ReturnType<typeof hostInfo>;
  where: { kind: 'direct' | 'guest' | 'image'; detail: string };
  preset: string; runs: number; elapsedS: number;
  programs: ProgramResult[];
  summary: { computeMedianRatio: number; computeTarget: string; allOutputsIdentical: boolean };
}

const KIND: Record<string, ProgramResult['kind']> = { filecopy: 'syscall', alloc: 'alloc' };

export function parseRuns(output: string): RunLine[] {
  const runs: RunLine[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('MV-BENCH mode=')) continue;
    const f = Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    const num = (k: string) => (f[k] === undefined ? undefined : Number(f[k]));
    runs.push({ mode: f.mode as RunLine['mode'], run: num('run')!, status: num('status')!, wall_s: num('wall_s')!, name: f.name, n: num('n')!, cpu_s: num('cpu_s'), digest: f.digest, check: f.check });
  }
  return runs;
}

const stat = (xs: number[]): Stat => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), all: xs });

export function summarize(meta: Omit<LuaBenchResult, 'programs' | 'summary'>, runs: RunLine[]): LuaBenchResult {
  const names = [...new Set(runs.map((r) => r.name))];
  const programs = names.map((name): ProgramResult => {
    const mine = runs.filter((r) => r.name === name);
    const side = (mode: RunLine['mode']) => mine.filter((r) => r.mode === mode);
    const good = (rs: RunLine[]) => rs.filter((r) => r.status === 0 && r.cpu_s !== undefined);
    const failures = mine.filter((r) => r.status !== 0 || r.check !== 'ok').map((r) => `${r.mode} run ${r.run}: status ${r.status}, check ${r.check ?? 'none'}`);
    const n = side('native'), h = side('hrt');
    const cpu = (rs: RunLine[]) => stat(good(rs).map((r) => r.cpu_s!).concat(good(rs).length ? [] : [NaN]));
    const wall = (rs: RunLine[]) => stat(good(rs).map((r) => r.wall_s).concat(good(rs).length ? [] : [NaN]));
    const res: ProgramResult = {
      name, n: mine[0].n, kind: KIND[name] ?? 'compute',
      native: { cpu: cpu(n), wall: wall(n) }, hrt: { cpu: cpu(h), wall: wall(h) },
      ratio: NaN, wallRatio: NaN,
      outputsIdentical: new Set(mine.map((r) => r.digest)).size === 1 && mine.every((r) => r.digest),
      digestOk: mine.every((r) => r.check === 'ok'),
      ok: false, failures,
    };
    res.ratio = res.hrt.cpu.median / res.native.cpu.median;
    res.wallRatio = res.hrt.wall.median / res.native.wall.median;
    res.ok = res.outputsIdentical && res.digestOk && failures.length === 0 && n.length > 0 && h.length > 0;
    // filecopy of n KiB: n/4 writes, then n/4+1 reads and n/4 writes, then n/4+1 reads, plus
    // about ten opens, closes and unlinks: n + 12 calls, of which every one is forwarded.
    if (name === 'filecopy') res.perCallUs = ((res.hrt.cpu.median - res.native.cpu.median) / (res.n + 12)) * 1e6;
    return res;
  });
  const compute = programs.filter((p) => p.kind === 'compute' && Number.isFinite(p.ratio)).map((p) => p.ratio);
  return {
    ...meta, programs,
    summary: { computeMedianRatio: compute.length ? median(compute) : NaN, computeTarget: '0.97-1.00', allOutputsIdentical: programs.every((p) => p.outputsIdentical) },
  };
}

const s3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const sec = (st: Stat) => (Number.isFinite(st.median) ? `${s3(st.median)} (${s3(st.min)}–${s3(st.max)})` : 'failed');

export function markdown(r: LuaBenchResult): string {
  const rows = r.programs.map((p) => `| ${p.name} | ${p.kind} | ${p.n} | ${sec(p.native.cpu)} | ${sec(p.hrt.cpu)} | **${s3(p.ratio)}** | ${s3(p.wallRatio)} | ${p.ok ? 'identical, digest ok' : p.failures.concat(p.outputsIdentical ? [] : ['outputs differ']).join('; ')} |`);
  const fc = r.programs.find((p) => p.perCallUs !== undefined);
  return [
    `# Lua 5.4 (Debian lua5.4, built with mv-cc): HRT vs native`,
    '',
    `- Machine: ${r.host.cpu}, ${r.host.cores} cores, ${r.host.memGiB} GiB, Linux ${r.host.kernel}`,
    `- Where: ${r.where.kind}: ${r.where.detail}`,
    `- Date: ${r.host.date}; preset \`${r.preset}\`, ${r.runs} runs per side, alternating native/HRT (${r.elapsedS} s in all)`,
    `- Time: the program's own CPU time (os.clock) around its work, median (min–max) in seconds; wall ratio: whole process, /proc/uptime (10 ms steps)`,
    '',
    '| program | kind | n | native s | HRT s | HRT/native | wall ratio | outputs |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Compute-bound median HRT/native: **${s3(r.summary.computeMedianRatio)}** (target ${r.summary.computeTarget}).` +
      (fc ? ` filecopy: about ${fc.perCallUs!.toFixed(0)} µs extra per forwarded 4 KiB read/write.` : '') +
      ` Outputs identical between native and HRT: ${r.summary.allOutputsIdentical ? 'yes' : 'NO'}.`,
    '',
  ].join('\n');
}

/** A bar chart of the ratios, drawn by gnuplot (pngcairo), with the 1.0 line. */
async function chart(r: LuaBenchResult, png: string): Promise<void> {
  requireTools('bench');
  const dir = mkdtempSync(join(tmpdir(), 'mv-chart-'));
  const dat = join(dir, 'lua-ratios.dat');
  writeFileSync(dat, r.programs.map((p) => `${p.name} ${Number.isFinite(p.ratio) ? p.ratio : 0} ${Number.isFinite(p.wallRatio) ? p.wallRatio : 0}`).join('\n') + '\n');
  const script = [
    `set terminal pngcairo size 900,480 font "sans,10"`,
    `set output '${png}'`,
    `set title "Lua 5.4 in the HRT / native (${r.where.kind}, ${r.runs} runs, ${r.host.date.slice(0, 10)})"`,
    `set style data histograms`, `set style histogram clustered gap 1`, `set style fill solid 0.8 border -1`,
    `set boxwidth 0.9`, `set ylabel "HRT time / native time"`, `set yrange [0:*]`, `set grid ytics`,
    `set xtics rotate by -30`, `set key top left`,
    `plot '${dat}' using 2:xtic(1) title 'in-program CPU time', '' using 3 title 'process wall time', 1 with lines lw 2 lc rgb 'black' title 'native'`,
  ].join('\n');
  const g = await exec('gnuplot', [], { input: script });
  rmSync(dir, { recursive: true, force: true });
  if (g.status !== 0) throw new Error(`gnuplot failed: ${g.output}`);
}

const BEGIN = '<!-- results:lua:begin (generated by npm run bench:lua from bench/results/lua.json) -->';
const END = '<!-- results:lua:end -->';

/** The README's Results block, replaced in place between its markers (added under "## Results"). */
export function readmeBlock(r: LuaBenchResult): string {
  const ratios = r.programs.map((p) => `${p.name} ${s3(p.ratio)}`).join(', ');
  const fc = r.programs.find((p) => p.perCallUs !== undefined);
  return [
    BEGIN,
    `Lua 5.4 suite (\`bench/programs\`, preset \`${r.preset}\`, ${r.runs} runs per side), ${r.host.date.slice(0, 10)}, ` +
      `${r.where.kind === 'direct' ? 'on' : 'inside QEMU TCG on'} ${r.host.cpu} (${r.host.cores} cores): ` +
      `HRT/native median over the compute-bound programs **${s3(r.summary.computeMedianRatio)}**; ${ratios}.` +
      (fc ? ` filecopy ≈ ${fc.perCallUs!.toFixed(0)} µs per forwarded call.` : '') +
      ` Outputs identical: ${r.summary.allOutputsIdentical ? 'yes' : 'no'}. Full table: \`bench/results/lua.md\`, chart: \`bench/results/lua-ratios.png\`.`,
    END,
  ].join('\n');
}

export function updateReadme(text: string, block: string): string {
  const a = text.indexOf(BEGIN.slice(0, 30)), b = text.indexOf(END);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + END.length);
  if (/^## Results$/m.test(text)) return text.replace(/^## Results\n/m, `## Results\n\n${block}\n`);
  return text.replace(/\n*$/, `\n\n## Results\n\n${block}\n`);
}

export async function writeReports(r: LuaBenchResult): Promise<{ json: string; md: string; png: string }> {
  const dir = repoPath('bench/results');
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, 'lua.json'), md: join(dir, 'lua.md'), png: join(dir, 'lua-ratios.png') };
  writeFileSync(files.json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(files.md, markdown(r));
  await chart(r, files.png);
  const readme = repoPath('README.md');
  writeFileSync(readme, updateReadme(readFileSync(readme, 'utf8'), readmeBlock(r)));
  return files;
}
