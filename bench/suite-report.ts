// A language runtime's benchmark suite, HRT vs native: the A/B driver's lines in (`run.lua ab`,
// `run.rkt ab`), medians and ratios out, as JSON, a Markdown table, a PNG bar chart of the ratios
// (gnuplot's pngcairo terminal draws it) and the README's generated "Results" block. One module
// for every suite; a SuiteSpec says what differs (the time field, the program kinds, the names).
//
// Driver lines (one per process; the HRT modes also give libmv's MV_STATS JSON summary):
//   MV-BENCH mode=native|hrt|hrt-ov run=R status=S wall_s=W name=N n=K <time>=T ... digest=D check=C
//   MV-BENCH-STATS mode=M run=R name=N {"hrt":true,"wall_us":..,"syscalls":{"n":..,"by_name":{..}},..}
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../src/lib/exec';
import { requireTools } from '../src/lib/hosttools';
import { repoPath } from '../src/lib/paths';
import { hostInfo, median } from './stats';

export type Mode = 'native' | 'hrt' | 'hrt-ov';
export type Kind = 'compute' | 'syscall' | 'alloc' | 'parallel';

export interface SuiteSpec {
  /** File and marker names: bench/results/<id>.json, <id>.md, <id>-ratios.png; results:<id>. */
  id: string;
  title: string;
  /** The runtime as the README's block names it, e.g. "Lua 5.4 suite (`bench/programs/lua`". */
  label: string;
  /** Which number of the program's own line is its time, and how the table describes it. */
  timeField: 'cpu_s' | 'real_s';
  timeNote: string;
  kinds: Record<string, Kind>;
  /** For the file I/O program: how many forwarded calls its timed part makes at size n. */
  callsOf?: { name: string; calls: (n: number) => number };
}

export interface RunLine {
  mode: Mode;
  run: number;
  status: number;
  wall_s: number;
  name: string;
  n: number;
  time?: number;
  digest?: string;
  check?: string;
}
export interface Stat {
  median: number;
  min: number;
  max: number;
  all: number[];
}
export interface Side {
  time: Stat;
  wall: Stat;
}
/** What the HRT forwarded in one mode (MV_STATS), medians over the runs. */
export interface Forwarded {
  syscalls: number;
  syscallMs: number;
  faults: number;
  faultMs: number;
  exits: number;
  vcpus: number;
  /** Per system call name, by time spent, largest first. */
  calls: { name: string; n: number; ms: number }[];
  /** Calls overrides served without an exit, by name. */
  overridden: { name: string; n: number }[];
}
export interface ProgramResult {
  name: string;
  n: number;
  kind: Kind;
  native: Side;
  hrt: Side;
  hrtOv?: Side;
  /** HRT / native, of the medians: in-program time, and process wall time. */
  ratio: number;
  wallRatio: number;
  /** HRT with overrides / native, and / HRT, when that mode ran. */
  ovRatio?: number;
  ovVsHrt?: number;
  forwarded: Partial<Record<Mode, Forwarded>>;
  outputsIdentical: boolean;
  digestOk: boolean;
  ok: boolean;
  /** The file I/O program: extra time per forwarded 4 KiB call, µs. */
  perCallUs?: number;
  failures: string[];
}
export interface SuiteResult {
  suite: string;
  host: ReturnType<typeof hostInfo>;
  where: { kind: 'direct' | 'guest' | 'image'; detail: string };
  preset: string;
  runs: number;
  elapsedS: number;
  /** The host's 1-minute load average when the run ended (other work spoils TCG timings). */
  loadAtEnd?: number;
  overrides?: string[];
  programs: ProgramResult[];
  summary: { computeMedianRatio: number; computeTarget: string; allOutputsIdentical: boolean; ovComputeMedianRatio?: number };
}

const fields = (line: string) => Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));

export function parseRuns(output: string, spec: Pick<SuiteSpec, 'timeField'>): RunLine[] {
  const runs: RunLine[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('MV-BENCH mode=')) continue;
    const f = fields(line);
    const num = (k: string) => (f[k] === undefined ? undefined : Number(f[k]));
    runs.push({
      mode: f.mode as Mode,
      run: num('run')!,
      status: num('status')!,
      wall_s: num('wall_s')!,
      name: f.name,
      n: num('n')!,
      time: num(spec.timeField),
      digest: f.digest,
      check: f.check,
    });
  }
  return runs;
}

/** libmv's MV_STATS summary (hvm/README.md, "Statistics"), the fields the report reads. */
interface MvStats {
  vcpus: number;
  exits: { total: number };
  syscalls: { n: number; us: number; by_name: Record<string, { n: number; us: number }> };
  faults: { n: number; us: number };
  overridden: Record<string, number>;
}

/** The MV-BENCH-STATS summaries of one program and mode, as medians over its runs. */
export function parseForwarded(output: string, name: string, mode: Mode): Forwarded | undefined {
  const runs: MvStats[] = [];
  for (const l of output.split('\n')) {
    if (!l.startsWith('MV-BENCH-STATS ') || !l.includes(` mode=${mode} `) || !l.includes(` name=${name} `)) continue;
    try {
      runs.push(JSON.parse(l.slice(l.indexOf('{'))));
    } catch {
      /* a cut line: not counted */
    }
  }
  if (!runs.length) return undefined;
  const med = (f: (s: MvStats) => number) => median(runs.map(f));
  const names = (pick: (s: MvStats) => Record<string, number>) => [...new Set(runs.flatMap((s) => Object.keys(pick(s))))];
  const calls = names((s) => Object.fromEntries(Object.entries(s.syscalls.by_name).map(([k, v]) => [k, v.n]))).map((c) => ({
    name: c,
    n: med((s) => s.syscalls.by_name[c]?.n ?? 0),
    ms: med((s) => s.syscalls.by_name[c]?.us ?? 0) / 1000,
  }));
  const ov = names((s) => s.overridden)
    .filter((k) => k !== 'n')
    .map((k) => ({ name: k, n: med((s) => s.overridden[k] ?? 0) }));
  return {
    syscalls: med((s) => s.syscalls.n),
    syscallMs: med((s) => s.syscalls.us) / 1000,
    faults: med((s) => s.faults.n),
    faultMs: med((s) => s.faults.us) / 1000,
    exits: med((s) => s.exits.total),
    vcpus: med((s) => s.vcpus),
    calls: calls.sort((a, b) => b.ms - a.ms),
    overridden: ov.sort((a, b) => b.n - a.n),
  };
}

const stat = (xs: number[]): Stat => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), all: xs });

export function summarize(spec: SuiteSpec, meta: Omit<SuiteResult, 'programs' | 'summary' | 'suite'>, output: string): SuiteResult {
  const runs = parseRuns(output, spec);
  const names = [...new Set(runs.map((r) => r.name))];
  const programs = names.map((name): ProgramResult => {
    const mine = runs.filter((r) => r.name === name);
    const side = (mode: Mode): Side => {
      const good = mine.filter((r) => r.mode === mode && r.status === 0 && r.time !== undefined);
      const or = (xs: number[]) => stat(xs.length ? xs : [NaN]);
      return { time: or(good.map((r) => r.time!)), wall: or(good.map((r) => r.wall_s)) };
    };
    const has = (mode: Mode) => mine.some((r) => r.mode === mode);
    const failures = mine
      .filter((r) => r.status !== 0 || r.check !== 'ok')
      .map((r) => `${r.mode} run ${r.run}: status ${r.status}, check ${r.check ?? 'none'}`);
    const res: ProgramResult = {
      name,
      n: mine[0].n,
      kind: spec.kinds[name] ?? 'compute',
      native: side('native'),
      hrt: side('hrt'),
      ...(has('hrt-ov') ? { hrtOv: side('hrt-ov') } : {}),
      ratio: NaN,
      wallRatio: NaN,
      forwarded: {},
      outputsIdentical: new Set(mine.map((r) => r.digest)).size === 1 && mine.every((r) => r.digest),
      digestOk: mine.every((r) => r.check === 'ok'),
      ok: false,
      failures,
    };
    res.ratio = res.hrt.time.median / res.native.time.median;
    res.wallRatio = res.hrt.wall.median / res.native.wall.median;
    if (res.hrtOv) {
      res.ovRatio = res.hrtOv.time.median / res.native.time.median;
      res.ovVsHrt = res.hrtOv.time.median / res.hrt.time.median;
    }
    for (const mode of ['hrt', 'hrt-ov'] as const) {
      const f = parseForwarded(output, name, mode);
      if (f) res.forwarded[mode] = f;
    }
    res.ok = res.outputsIdentical && res.digestOk && failures.length === 0 && has('native') && has('hrt');
    if (spec.callsOf?.name === name) res.perCallUs = ((res.hrt.time.median - res.native.time.median) / spec.callsOf.calls(res.n)) * 1e6;
    return res;
  });
  const medianOf = (xs: number[]) => (xs.length ? median(xs) : NaN);
  const compute = programs.filter((p) => p.kind === 'compute');
  return {
    suite: spec.id,
    ...meta,
    programs,
    summary: {
      computeMedianRatio: medianOf(compute.map((p) => p.ratio).filter(Number.isFinite)),
      computeTarget: '0.97-1.00',
      allOutputsIdentical: programs.every((p) => p.outputsIdentical),
      ...(programs.some((p) => p.hrtOv)
        ? { ovComputeMedianRatio: medianOf(compute.map((p) => p.ovRatio ?? NaN).filter(Number.isFinite)) }
        : {}),
    },
  };
}

const s3 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(3) : '—');
const sec = (st: Stat) => (Number.isFinite(st.median) ? `${s3(st.median)} (${s3(st.min)}–${s3(st.max)})` : 'failed');
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function markdown(spec: SuiteSpec, r: SuiteResult): string {
  const ov = r.programs.some((p) => p.hrtOv);
  const rows = r.programs.map((p) =>
    [
      `| ${p.name} | ${p.kind} | ${p.n} | ${sec(p.native.time)} | ${sec(p.hrt.time)} | **${s3(p.ratio)}** | ${s3(p.wallRatio)} |`,
      ov ? ` ${p.hrtOv ? sec(p.hrtOv.time) : '—'} | **${s3(p.ovRatio)}** |` : '',
      ` ${p.ok ? 'identical, digest ok' : p.failures.concat(p.outputsIdentical ? [] : ['outputs differ']).join('; ')} |`,
    ].join(''),
  );
  const fc = r.programs.find((p) => p.perCallUs !== undefined);
  const out = [
    `# ${spec.title}: HRT vs native`,
    '',
    `- Machine: ${r.host.cpu}, ${r.host.cores} cores, ${r.host.memGiB} GiB, Linux ${r.host.kernel}; load average ${r.host.load1 ?? '?'} at the start, ${r.loadAtEnd ?? '?'} at the end`,
    `- Where: ${r.where.kind}: ${r.where.detail}`,
    `- Date: ${r.host.date}; preset \`${r.preset}\`, ${r.runs} runs per mode, rotating which mode goes first (${r.elapsedS} s in all)`,
    `- Time: ${spec.timeNote}, median (min–max) in seconds; wall ratio: the whole process, start-up included`,
    ...(ov
      ? [`- HRT + overrides: the same source built with \`"overrides": [${(r.overrides ?? []).map((o) => `"${o}"`).join(', ')}]\``]
      : []),
    '',
    `| program | kind | n | native s | HRT s | HRT/native | wall ratio |${ov ? ' HRT+ov s | HRT+ov/native |' : ''} outputs |`,
    `|---|---|---|---|---|---|---|${ov ? '---|---|' : ''}---|`,
    ...rows,
    '',
    `Compute-bound median HRT/native: **${s3(r.summary.computeMedianRatio)}** (target ${r.summary.computeTarget}).` +
      (ov ? ` With overrides: **${s3(r.summary.ovComputeMedianRatio)}**.` : '') +
      (fc ? ` ${fc.name}: about ${fc.perCallUs!.toFixed(0)} µs extra per forwarded 4 KiB read/write.` : '') +
      ` Outputs identical between native and HRT: ${r.summary.allOutputsIdentical ? 'yes' : 'NO'}.`,
    '',
  ];
  const fwd = r.programs.filter((p) => p.forwarded.hrt);
  if (fwd.length) {
    out.push(
      '## What the HRT forwarded (MV_STATS, the whole process, medians over the HRT runs)',
      '',
      "Forwarded calls: how many, and the partner's time performing them; page faults: HRT faults the VMM mapped; exits: every return from `KVM_RUN`. The exit round trip itself is not in these times (bench/syscall measures it).",
      '',
      '| program | HRT wall s | vCPUs | exits | forwarded calls | their time ms | page faults | their time ms | top calls by time (n, ms) |',
      '|---|---|---|---|---|---|---|---|---|',
      ...fwd.map((p) => {
        const f = p.forwarded.hrt!;
        const top = f.calls
          .slice(0, 5)
          .map((c) => `${c.name} ${c.n} (${ms(c.ms)})`)
          .join(', ');
        return `| ${p.name} | ${s3(p.hrt.wall.median)} | ${f.vcpus} | ${f.exits} | ${f.syscalls} | ${ms(f.syscallMs)} | ${f.faults} | ${ms(f.faultMs)} | ${top} |`;
      }),
      '',
    );
  }
  const ovs = r.programs.filter((p) => p.hrtOv);
  if (ovs.length) {
    out.push(
      '## Overrides: HRT with and without them',
      '',
      '| program | HRT s | HRT+ov s | HRT+ov / HRT | forwarded calls without → with | served by overrides (n) |',
      '|---|---|---|---|---|---|',
      ...ovs.map((p) => {
        const a = p.forwarded.hrt,
          b = p.forwarded['hrt-ov'];
        const served =
          (b?.overridden ?? [])
            .slice(0, 4)
            .map((o) => `${o.name} ${o.n}`)
            .join(', ') || '—';
        return `| ${p.name} | ${s3(p.hrt.time.median)} | ${s3(p.hrtOv!.time.median)} | **${s3(p.ovVsHrt)}** | ${a?.syscalls ?? '—'} → ${b?.syscalls ?? '—'} | ${served} |`;
      }),
      '',
    );
  }
  return out.join('\n');
}

/** A bar chart of the ratios, drawn by gnuplot (pngcairo), with the 1.0 line. */
async function chart(spec: SuiteSpec, r: SuiteResult, png: string): Promise<void> {
  requireTools('bench');
  const dir = mkdtempSync(join(tmpdir(), 'mv-chart-'));
  const dat = join(dir, `${spec.id}-ratios.dat`);
  const ov = r.programs.some((p) => p.hrtOv);
  const num = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : 0);
  writeFileSync(dat, r.programs.map((p) => `${p.name} ${num(p.ratio)} ${num(p.wallRatio)} ${num(p.ovRatio)}`).join('\n') + '\n');
  const script = [
    `set terminal pngcairo size 900,480 font "sans,10"`,
    `set output '${png}'`,
    `set title "${spec.title} in the HRT / native (${r.where.kind}, ${r.runs} runs, ${r.host.date.slice(0, 10)})"`,
    `set style data histograms`,
    `set style histogram clustered gap 1`,
    `set style fill solid 0.8 border -1`,
    `set boxwidth 0.9`,
    `set ylabel "HRT time / native time"`,
    `set yrange [0:*]`,
    `set grid ytics`,
    `set xtics rotate by -30`,
    `set key top left`,
    `plot '${dat}' using 2:xtic(1) title 'in-program time', '' using 3 title 'process wall time'${ov ? ", '' using 4 title 'in-program time, HRT + overrides'" : ''}, 1 with lines lw 2 lc rgb 'black' title 'native'`,
  ].join('\n');
  const g = await exec('gnuplot', [], { input: script });
  rmSync(dir, { recursive: true, force: true });
  if (g.status !== 0) throw new Error(`gnuplot failed: ${g.output}`);
}

const markers = (id: string) => ({
  begin: `<!-- results:${id}:begin (generated by npm run bench:${id} from bench/results/${id}.json) -->`,
  end: `<!-- results:${id}:end -->`,
});

/** The README's Results block, replaced in place between its markers (added under "## Results"). */
export function readmeBlock(spec: SuiteSpec, r: SuiteResult): string {
  const { begin, end } = markers(spec.id);
  const ratios = r.programs.map((p) => `${p.name} ${s3(p.ratio)}`).join(', ');
  const fc = r.programs.find((p) => p.perCallUs !== undefined);
  return [
    begin,
    `${spec.label}, preset \`${r.preset}\`, ${r.runs} runs per side), ${r.host.date.slice(0, 10)}, ` +
      `${r.where.kind === 'direct' ? 'on' : 'inside QEMU TCG on'} ${r.host.cpu} (${r.host.cores} cores): ` +
      `HRT/native median over the compute-bound programs **${s3(r.summary.computeMedianRatio)}**; ${ratios}.` +
      (r.summary.ovComputeMedianRatio !== undefined ? ` With overrides: ${s3(r.summary.ovComputeMedianRatio)}.` : '') +
      (fc ? ` ${fc.name} ≈ ${fc.perCallUs!.toFixed(0)} µs per forwarded call.` : '') +
      ` Outputs identical: ${r.summary.allOutputsIdentical ? 'yes' : 'no'}. Full table: \`bench/results/${spec.id}.md\`, chart: \`bench/results/${spec.id}-ratios.png\`.`,
    end,
  ].join('\n');
}

export function updateReadme(id: string, text: string, block: string): string {
  const { begin, end } = markers(id);
  // The begin marker up to its first space after the id: "<!-- results:<id>:begin".
  const a = text.indexOf(begin.slice(0, begin.indexOf(' ', 5))),
    b = text.indexOf(end);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + end.length);
  if (/^## Results$/m.test(text)) return text.replace(/^## Results\n/m, `## Results\n\n${block}\n`);
  return text.replace(/\n*$/, `\n\n## Results\n\n${block}\n`);
}

export async function writeReports(spec: SuiteSpec, r: SuiteResult): Promise<{ json: string; md: string; png: string }> {
  const dir = repoPath('bench/results');
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, `${spec.id}.json`), md: join(dir, `${spec.id}.md`), png: join(dir, `${spec.id}-ratios.png`) };
  writeFileSync(files.json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(files.md, markdown(spec, r));
  await chart(spec, r, files.png);
  const readme = repoPath('README.md');
  writeFileSync(readme, updateReadme(spec.id, readFileSync(readme, 'utf8'), readmeBlock(spec, r)));
  return files;
}
