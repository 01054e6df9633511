// Runs a language runtime's suite natively and in the HRT, alternating, N times each, all driven
// by the suite's own A/B driver (run.lua ab, run.rkt ab) inside one machine, so both sides of
// every ratio come from the same machine in the same run:
//   - directly on this host, when the HRT can run here (libmv's own probe: MV_REQUIRE_HRT=1);
//   - otherwise in a QEMU TCG guest (-cpu max, nested KVM through kvm_amd) booted from the same
//     kernel + initramfs as an image; with --image, in the booted ISO itself.
// With overrides, the package is built a second time with them, as <binary>-ov next to the
// first, and the driver runs a third mode, hrt-ov. Then writes the reports (suite-report.ts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { exec } from '../src/lib/exec';
import { loadManifest, Manifest } from '../src/lib/manifest';
import { repoPath } from '../src/lib/paths';
import { Progress } from '../src/lib/progress';
import { GuestFile, runInGuest } from '../src/harness/guest';
import { boot } from '../src/harness/qemu';
import { buildImage } from '../src/pipeline';
import { hostRunner, runnerToolchain } from '../src/builder/runner';
import { buildPackage as pipelineBuildPackage } from '../src/pipeline';
import { runStage } from '../src/lib/stage';
import { toolchainStage } from '../src/stages/toolchain';
import { summarize, SuiteResult, SuiteSpec, writeReports } from './suite-report';
import { hostInfo } from './stats';

export interface SuiteBench {
  spec: SuiteSpec;
  /** The package, relative to the repository: examples/lua. */
  pkg: string;
  /** The driver's arguments for one invocation: `ab PRESET RUNS [ONLY] [MODES]`. */
  driver: (o: BenchOptions, modes: string[]) => string[];
  /** Overrides for the hrt-ov mode (none: no third mode). */
  overrides?: string[];
  guest: { cpus: number; memMiB: number };
}

export interface BenchOptions {
  runs: number;
  preset: string;
  only?: string;
  image: boolean;
  guest: boolean;
  noOverrides: boolean;
}

export function benchOptions(argv: string[], defaultRuns: number): BenchOptions {
  const val = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    runs: Number(val('--runs') ?? defaultRuns),
    preset: val('--preset') ?? 'bench',
    only: val('--only'),
    image: argv.includes('--image'),
    guest: argv.includes('--guest'),
    noOverrides: argv.includes('--no-overrides'),
  };
}

export async function buildPackage(progress: Progress, dir: string, extra: Partial<Manifest> = {}) {
  const manifest = { ...loadManifest(dir), ...extra };
  const toolchain = await runStage(progress, toolchainStage, {});
  return pipelineBuildPackage(progress, { dir, manifest, toolchain: runnerToolchain(toolchain, hostRunner) });
}

/** libmv decides "usable KVM" by running a probe guest; ask it, rather than opening /dev/kvm. */
async function hrtUsableHere(program: string): Promise<boolean> {
  if (!existsSync('/dev/kvm')) return false;
  const r = await exec(program, ['--version'], { env: { ...process.env, MV_REQUIRE_HRT: '1' } });
  return r.status !== 126;
}

export async function runSuiteBench(b: SuiteBench, o: BenchOptions): Promise<SuiteResult> {
  const progress = new Progress();
  const host = hostInfo();
  const dir = repoPath(b.pkg);
  const pkg = await buildPackage(progress, dir);
  const overrides = o.noOverrides || o.image ? undefined : b.overrides;
  const ov = overrides ? await buildPackage(progress, dir, { overrides }) : undefined;
  const modes = ['native', 'hrt', ...(ov ? ['hrt-ov'] : [])];
  const files: GuestFile[] = [
    ...pkg.files.filter((f) => f.dest.startsWith('/app/')),
    pkg.program,
    ...(ov ? [{ ...ov.program, dest: `${ov.program.dest}-ov` }] : []),
  ];
  const program = pkg.program.dest;
  const args = b.driver(o, modes);
  let where: SuiteResult['where'];
  let output: string;
  const t0 = Date.now();
  const show = (l: string) => {
    if (/^MV-BENCH (mode|name)=/.test(l)) console.error(l);
  };
  if (!o.image && !o.guest && (await hrtUsableHere(pkg.program.src))) {
    where = { kind: 'direct', detail: 'on this host, hardware KVM' };
    // The same layout as in the image, under a scratch root.
    const work = mkdtempSync(join(tmpdir(), `mv-${b.spec.id}-`));
    for (const f of files) {
      mkdirSync(join(work, f.dest, '..'), { recursive: true });
      writeFileSync(join(work, f.dest), readFileSync(f.src), { mode: f.mode });
    }
    const r = await exec(
      join(work, program),
      args.map((a) => a.replace(/^\/app/, join(work, 'app'))),
      { cwd: join(work, 'app'), env: { ...process.env, MV_DISABLE: '1' }, onLine: show },
    );
    output = r.stdout;
    rmSync(work, { recursive: true, force: true });
  } else if (!o.image) {
    where = {
      kind: 'guest',
      detail: `QEMU 7.2 TCG -cpu max -smp ${b.guest.cpus}, nested KVM (kvm_amd) in the guest; kernel + initramfs as in the image`,
    };
    const script = `cd /app && MV_DISABLE=1 ${program} ${args.join(' ')}\n`;
    const r = await runInGuest({ files, script, cpus: b.guest.cpus, memMiB: b.guest.memMiB, timeoutMs: 6 * 3600_000, onLine: show });
    if (r.status === null) throw new Error(`the guest did not finish: ${r.output.slice(-2000)}`);
    output = r.output;
  } else {
    where = { kind: 'image', detail: `the ${b.pkg} ISO booted under QEMU 7.2 TCG -cpu max -smp 2 (SeaBIOS), nested KVM (kvm_amd)` };
    const out = mkdtempSync(join(tmpdir(), `mv-${b.spec.id}-iso-`));
    const manifest: Partial<Manifest> = { args, env: { MV_DISABLE: '1' }, hrt: { require: false, cpus: '' } };
    const img = await buildImage({ packageDir: dir, output: join(out, `${basename(dir)}-bench.iso`), progress, overrides: manifest });
    const r = await boot({ iso: img.image, accel: 'tcg', timeoutMs: 6 * 3600_000, onLine: show });
    output = r.output;
    rmSync(out, { recursive: true, force: true });
  }
  if (!/^MV-BENCH mode=/m.test(output)) throw new Error(`no MV-BENCH lines in the output:\n${output.slice(-3000)}`);
  const result = summarize(
    b.spec,
    {
      host,
      where,
      preset: o.preset,
      runs: o.runs,
      elapsedS: Math.round((Date.now() - t0) / 1000),
      loadAtEnd: hostInfo().load1,
      ...(ov ? { overrides } : {}),
    },
    output,
  );
  const written = await writeReports(b.spec, result);
  console.log(readFileSync(written.md, 'utf8'));
  console.error(`wrote ${Object.values(written).join(', ')}`);
  if (result.programs.some((p) => !p.ok)) process.exitCode = 1;
  return result;
}
