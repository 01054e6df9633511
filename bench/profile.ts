// The profiler on a real runtime (issue 19): Debian's lua5.4 built with mv-cc (examples/lua) runs
// the Lua suite in the HRT with and without MV_PROFILE, alternating, N rounds, in one QEMU guest
// with nested KVM; the time of each program is its own CPU time (os.clock, which in the HRT is
// the process's, so the sampler thread's work counts too). Then one program at its bench size is
// profiled at --hz and its folded stacks are kept. The overhead is measured at --hz and at a tenth
// of it. Writes results/profile-lua.{json,md,folded,svg}.
// Usage: node dist/bench/profile.js [--runs N] [--program fannkuch] [--hz 999]
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../src/lib/paths';
import { Progress } from '../src/lib/progress';
import { runInGuest } from '../src/harness/guest';
import { parseFolded, renderFlameGraph } from '../src/lib/flamegraph';
import { buildPackage } from './suite-run';
import { hostInfo, median } from './stats';

interface Options {
  runs: number;
  program: string;
  hz: number;
}

function options(argv: string[]): Options {
  const val = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const o = { runs: Number(val('--runs') ?? 3), program: val('--program') ?? 'fannkuch', hz: Number(val('--hz') ?? 999) };
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`--runs ${val('--runs')}: give a whole number of rounds, 1 or more`);
  if (!/^[a-z]+$/.test(o.program)) throw new Error(`--program ${o.program}: give the name of a program of bench/programs/lua`);
  if (!Number.isInteger(o.hz) || o.hz < 1 || o.hz > 10000) throw new Error(`--hz ${val('--hz')}: give a rate from 1 to 10000`);
  return o;
}

/** Folded stacks -> the functions with the most samples at the top of the stack (self) and
 *  anywhere in it (total), as shares of all samples. */
export function topFrames(folded: string, n = 10) {
  const self = new Map<string, number>(),
    total = new Map<string, number>();
  let all = 0;
  for (const line of folded.split('\n')) {
    const m = line.match(/^(\S+) (\d+)$/);
    if (!m) continue;
    const count = Number(m[2]),
      frames = m[1].split(';');
    all += count;
    self.set(frames[frames.length - 1], (self.get(frames[frames.length - 1]) ?? 0) + count);
    for (const f of new Set(frames)) total.set(f, (total.get(f) ?? 0) + count);
  }
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, c]) => ({ name, share: c / all }));
  return { samples: all, self: top(self), total: top(total) };
}

/** The program's size in the suite's bench preset (run.lua: `bench = { nbody = 100000, ... }`). */
function benchSize(program: string): number {
  const preset = readFileSync(repoPath('examples', 'lua', 'programs', 'run.lua'), 'utf8').match(/^\s*bench = \{([^}]*)\}/m)?.[1] ?? '';
  const n = preset.match(new RegExp(`\\b${program} = (\\d+)`))?.[1];
  if (!n) throw new Error(`--program ${program}: not a program of the Lua suite's bench preset`);
  return Number(n);
}

async function main() {
  const o = options(process.argv.slice(2));
  const progress = new Progress();
  const host = hostInfo();
  const pkg = await buildPackage(progress, repoPath('examples/lua'));
  const lua = pkg.program.dest;
  // Alternate which side goes first, as the A/B drivers do.
  const rates = [0, o.hz, Math.max(1, Math.round(o.hz / 10))]; // 0: without the profiler
  const run = (hz: number, r: number) =>
    `echo "=== hz=${hz} ${r + 1}"; MV_REQUIRE_HRT=1 ${hz ? `MV_PROFILE=/tmp/suite.folded MV_PROFILE_HZ=${hz} ` : ''}${lua} /app/bench/run.lua suite small`;
  const rounds = Array.from({ length: o.runs }, (_, r) => rates.map((_, i) => run(rates[(i + r) % rates.length], r)).join('\n')).join('\n');
  const script = `cd /app
${rounds}
echo "=== one"; MV_REQUIRE_HRT=1 MV_PROFILE=/tmp/one.folded MV_PROFILE_HZ=${o.hz} ${lua} /app/bench/run.lua ${o.program} ${benchSize(o.program)}
echo "=== folded"; cat /tmp/one.folded; echo "=== end"
`;
  console.error('booting the guest: the suite with and without the profiler, then one profiled program');
  const r = await runInGuest({
    files: [pkg.program, ...pkg.files.filter((f) => f.dest.startsWith('/app/'))],
    script,
    cpus: 2,
    memMiB: 2048,
    timeoutMs: 3 * 3600_000,
  });
  if (r.status === null) throw new Error(`the guest did not finish: ${r.output.slice(-2000)}`);
  // Per program, per side: the CPU times of the rounds.
  const times = new Map<string, Map<number, number[]>>();
  let side: number | undefined;
  for (const line of r.output.split('\n')) {
    const s = line.match(/^=== (?:hz=(\d+)|one)/);
    if (s) {
      side = s[1] === undefined ? undefined : Number(s[1]);
      continue;
    }
    const m = line.match(/^MV-BENCH name=(\w+) n=\d+ cpu_s=([\d.]+) .*check=(\w+)/);
    if (!m || side === undefined) continue;
    if (m[3] !== 'ok') throw new Error(`${m[1]} gave the wrong output (${side}):\n${r.output.slice(-3000)}`);
    const t = times.get(m[1]) ?? new Map(rates.map((hz) => [hz, [] as number[]]));
    t.get(side)?.push(Number(m[2]));
    times.set(m[1], t);
  }
  const programs = [...times]
    .map(([name, t]) => ({
      name,
      runs: Math.min(...rates.map((hz) => t.get(hz)?.length ?? 0)),
      cpu_s: Object.fromEntries(rates.map((hz) => [hz, median(t.get(hz) ?? [])])) as Record<number, number>,
    }))
    .map((p) => ({
      ...p,
      ratio: Object.fromEntries(rates.slice(1).map((hz) => [hz, p.cpu_s[hz] / p.cpu_s[0]])) as Record<number, number>,
    }));
  if (!programs.length || programs.some((p) => p.runs !== o.runs)) throw new Error(`missing MV-BENCH lines:\n${r.output.slice(-3000)}`);
  const folded = r.output.split('=== folded\n')[1]?.split('=== end')[0] ?? '';
  const one = r.output.match(/^mv: profile: (\d+) samples at (\d+) Hz/m);
  if (!one || !folded.trim()) throw new Error(`no profile of ${o.program}:\n${r.output.slice(-3000)}`);
  const top = topFrames(folded);
  const result = {
    host,
    where: 'QEMU 7.2 TCG -cpu max -smp 2, nested KVM (kvm_amd) in the guest; kernel + initramfs as in the image',
    hz: o.hz,
    runs: o.runs,
    program: o.program,
    loadAtEnd: hostInfo().load1,
    overhead: {
      rates: rates.slice(1),
      median: Object.fromEntries(rates.slice(1).map((hz) => [hz, median(programs.map((p) => p.ratio[hz]))])) as Record<number, number>,
      programs,
    },
    profile: { ...top, samples: Number(one[1]), stackSamples: top.samples },
  };
  const dir = repoPath('bench', 'results');
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(`${p}.tmp`, text);
    renameSync(`${p}.tmp`, p);
    return p;
  };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const md = [
    '# MV_PROFILE on the Lua suite',
    '',
    `- Machine: ${host.cpu}, ${host.cores} cores, load average ${host.load1} at the start, ${result.loadAtEnd} at the end; ${result.where}`,
    `- Date: ${host.date}; ${o.runs} rounds of \`run.lua suite small\` in the HRT without and with \`MV_PROFILE\` at ${o.hz} Hz, alternating`,
    '',
    `## Sampling overhead (the program's CPU time with the profiler / without, median over the programs): ${rates
      .slice(1)
      .map((hz) => `${result.overhead.median[hz].toFixed(3)}× at ${hz} Hz`)
      .join(', ')}`,
    '',
    `| program | without s | ${rates
      .slice(1)
      .map((hz) => `${hz} Hz s | ratio`)
      .join(' | ')} |`,
    `|---|---|${rates
      .slice(1)
      .map(() => '---|---|')
      .join('')}`,
    ...programs.map(
      (p) =>
        `| ${p.name} | ${p.cpu_s[0].toFixed(3)} | ${rates
          .slice(1)
          .map((hz) => `${p.cpu_s[hz].toFixed(3)} | ${p.ratio[hz].toFixed(3)}`)
          .join(' | ')} |`,
    ),
    '',
    `## ${o.program} (bench size): ${result.profile.samples} samples`,
    '',
    '| self (top of the stack) | share | total (anywhere in the stack) | share |',
    '|---|---|---|---|',
    ...top.self.map(
      (s, i) => `| \`${s.name}\` | ${pct(s.share)} | \`${top.total[i]?.name ?? ''}\` | ${top.total[i] ? pct(top.total[i].share) : ''} |`,
    ),
    '',
    'Each sample of a vCPU in the HRT costs a signal and a VM exit; in this guest (nested SVM under TCG) an exit costs tens of microseconds, so the overhead here is far above what it is with hardware KVM. Debian builds lua5.4 without frame pointers, so the stacks are short; the leaf functions are exact.',
    '',
    `The folded stacks: \`profile-lua.folded\`; drawn as a flame graph (\`mv-image flamegraph\`): \`profile-lua.svg\`.`,
    '',
  ].join('\n');
  write('profile-lua.json', JSON.stringify(result, null, 2) + '\n');
  write('profile-lua.folded', folded);
  write(
    'profile-lua.svg',
    await renderFlameGraph(parseFolded(folded), {
      title: `${o.program} (Lua 5.4) in the HRT, ${result.profile.samples} samples at ${o.hz} Hz`,
    }),
  );
  const mdPath = write('profile-lua.md', md);
  console.log(readFileSync(mdPath, 'utf8'));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
