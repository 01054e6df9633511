// MPI across a virtual cluster: examples/mpi on `mv-image cluster run` (3 QEMU TCG nodes by
// default, one rank each), the job run by hydra's mpiexec on node 0 twice in one boot: every
// rank's main in the HRT, then natively (MV_DISABLE=1). Reads node 0's console (the report's
// tail: hydra forwards every rank's output there) and writes the ping-pong table, HRT vs native,
// to bench/results/mpi.json and mpi.md and the README's block. Needs root (cluster run does).
// test/cluster/mpi.test.ts uses parseMpiConsole for its checks.
// Usage: node dist/bench/mpi.js [--nodes N] [--runs R (boots, default 3)] [--report]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../src/pipeline';
import { Progress } from '../src/lib/progress';
import { repoPath } from '../src/lib/paths';
import { hostInfo, median } from './stats';
import { updateReadme } from './suite-report';

export interface PingPong {
  bytes: number;
  reps: number;
  latencyUs: number;
  bandwidthMBps: number;
}

/** One run of mpi-bench, from its `[rank] MPI-...` lines. */
export interface MpiRun {
  /** Each rank's privilege level (0: main in the HRT; 3: Linux), by rank. */
  cpl: Record<number, number>;
  /** Ranks whose libmv said `MV-HRT ... cpl=0` (prefixed with the rank by hydra). */
  announced: number[];
  ring: boolean;
  allreduce: boolean;
  /** Rank 0's count of ranks at cpl 0 (MPI-HRT ... cpl0=N). */
  cpl0: number | null;
  pingpong: PingPong[];
  done: boolean;
}

export interface MpiJob {
  hrt: MpiRun;
  native: MpiRun;
  /** mpi-node.sh's `MPI-JOB end status=S`. */
  status: number | null;
}

function parseRun(text: string): MpiRun {
  const run: MpiRun = { cpl: {}, announced: [], ring: false, allreduce: false, cpl0: null, pingpong: [], done: false };
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\r$/, '');
    let m: RegExpMatchArray | null;
    if ((m = l.match(/^\[(\d+)\] MPI-RANK (\d+) of \d+ on \S+: main at cpl=(\d)$/)) && m[1] === m[2]) run.cpl[+m[1]] = +m[3];
    else if ((m = l.match(/^\[(\d+)\] MV-HRT vcpus=\d+ cpl=0$/))) run.announced.push(+m[1]);
    else if (/^\[0\] MPI-RING ranks=\d+ token=\d+ expected=\d+ ok$/.test(l)) run.ring = true;
    else if (/^\[0\] MPI-ALLREDUCE ranks=\d+ sum=\d+ closed_form=\d+ ok$/.test(l)) run.allreduce = true;
    else if ((m = l.match(/^\[0\] MPI-HRT ranks=\d+ cpl0=(\d+)$/))) run.cpl0 = +m[1];
    else if ((m = l.match(/^\[0\] MPI-PINGPONG cpl=\d bytes=(\d+) reps=(\d+) latency_us=([\d.]+) bandwidth_MBps=([\d.]+)$/)))
      run.pingpong.push({ bytes: +m[1], reps: +m[2], latencyUs: +m[3], bandwidthMBps: +m[4] });
    else if (/^\[0\] MPI-DONE ok$/.test(l)) run.done = true;
  }
  return run;
}

/** Node 0's console: the HRT run between `MPI-JOB hrt` and `MPI-JOB native`, then the native one. */
export function parseMpiConsole(console: string): MpiJob {
  const text = console.replace(/\r\n/g, '\n');
  const h = text.indexOf('\nMPI-JOB hrt\n'),
    n = text.indexOf('\nMPI-JOB native (MV_DISABLE=1)\n'),
    e = text.search(/\nMPI-JOB end status=\d+\n/);
  const status = text.match(/^MPI-JOB end status=(\d+)$/m);
  return {
    hrt: parseRun(h >= 0 && n > h ? text.slice(h, n) : ''),
    native: parseRun(n >= 0 && e > n ? text.slice(n, e) : ''),
    status: status ? +status[1] : null,
  };
}

const size = (b: number) => (b >= 1 << 20 ? `${b >> 20} MiB` : b >= 1024 ? `${b >> 10} KiB` : `${b} B`);
const sig = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

interface Result {
  host: ReturnType<typeof hostInfo>;
  nodes: number;
  /** One per boot of the cluster. */
  jobs: MpiJob[];
  wallS: number[];
}

/** Per message size: the median over the boots of each boot's median latency, HRT and native,
 *  with the range, and the bandwidth of those medians. */
function table(r: Result): string[] {
  const pick = (mode: 'hrt' | 'native', i: number) => r.jobs.map((j) => j[mode].pingpong[i].latencyUs);
  const range = (xs: number[]) => (xs.length > 1 ? ` (${sig(Math.min(...xs))}–${sig(Math.max(...xs))})` : '');
  return [
    '| message | latency, HRT | latency, native | HRT / native | bandwidth, HRT | bandwidth, native |',
    '|---|---|---|---|---|---|',
    ...r.jobs[0].hrt.pingpong.map((p, i) => {
      const h = pick('hrt', i),
        n = pick('native', i);
      const mh = median(h),
        mn = median(n);
      return `| ${size(p.bytes)} | ${sig(mh)} µs${range(h)} | ${sig(mn)} µs${range(n)} | ${(mh / mn).toFixed(2)} | ${sig(p.bytes / mh)} MB/s | ${sig(p.bytes / mn)} MB/s |`;
    }),
  ];
}

function report(r: Result): void {
  const runs = r.jobs.length;
  const where = `${r.nodes} QEMU TCG nodes of \`cluster run\` (2 vCPUs, 1 GiB each, one rank each), ${r.host.date.slice(0, 10)}, on ${r.host.cpu} (${r.host.cores} cores, load average ${r.host.load1} at the end: other work shared the machine), ${runs} boot(s)`;
  const md = [
    `examples/mpi, ping-pong between ranks 0 and 1 (nodes 0 and 1): one-way latency (half the median round trip of a boot; the median over the boots, their range in brackets) and the bandwidth it gives; ${where}. Each boot runs the job twice: every rank's main in the HRT (${r.jobs.map((j) => j.hrt.cpl0).join(', ')} of ${r.nodes} ranks at cpl 0), then \`MV_DISABLE=1\` (natively). Whole \`cluster run\`: ${r.wallS.map((w) => w.toFixed(0)).join(', ')} s.`,
    '',
    ...table(r),
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(repoPath('bench/results'), { recursive: true });
  writeFileSync(repoPath('bench/results/mpi.json'), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(repoPath('bench/results/mpi.md'), md);
  const block = [
    '<!-- results:mpi:begin (generated by npm run bench:mpi from bench/results/mpi.json) -->',
    `On ${where}: the ring and \`MPI_Allreduce\` checks passed with every rank's main at cpl 0; ping-pong between ranks 0 and 1, one-way latency (median; range over the boots) and bandwidth, HRT vs \`MV_DISABLE=1\` in the same boot:`,
    '',
    ...table(r),
    '',
    "Each node's NIC is emulated by QEMU TCG, and the 3 nodes share 2 cores with each other and whatever else runs: the figures vary several-fold from boot to boot, so they compare the HRT with Linux on the same emulated path, not what a network does. Full data: `bench/results/mpi.json`.",
    '<!-- results:mpi:end -->',
  ].join('\n');
  const readme = repoPath('README.md');
  writeFileSync(readme, updateReadme('mpi', readFileSync(readme, 'utf8'), block));
}

async function main() {
  if (process.argv.includes('--report')) {
    report(JSON.parse(readFileSync(repoPath('bench/results/mpi.json'), 'utf8')));
    return;
  }
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const nodes = arg('--nodes', 3),
    runs = arg('--runs', 3);
  const out = mkdtempSync(join(tmpdir(), 'mv-bench-mpi-'));
  const iso = join(out, 'mpi.iso');
  await buildImage({ packageDir: repoPath('examples/mpi'), output: iso, progress: Progress.quiet() });
  const jobs: MpiJob[] = [],
    wallS: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [repoPath('bin', 'run.js'), 'cluster', 'run', iso, '--nodes', String(nodes), '--timeout', '900', '--json'],
      { encoding: 'utf8', timeout: 1_200_000 },
    );
    wallS.push((Date.now() - t0) / 1000);
    if (r.status !== 0) throw new Error(`cluster run failed (${r.status}):\n${r.stderr}`);
    const node0 = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { index: number; report: { console: string } })
      .find((n) => n.index === 0)!;
    const job = parseMpiConsole(node0.report.console);
    if (job.status !== 0 || job.hrt.pingpong.length !== 4 || job.native.pingpong.length !== 4)
      throw new Error(`the MPI job did not give both ping-pong tables:\n${node0.report.console}`);
    console.error(`boot ${k + 1}/${runs}: ${wallS[k].toFixed(0)} s`);
    jobs.push(job);
  }
  rmSync(out, { recursive: true, force: true });
  report({ host: hostInfo(), nodes, jobs, wallS });
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
