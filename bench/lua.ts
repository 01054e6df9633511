// The Lua benchmark: Debian's lua5.4 built with mv-cc (examples/lua) runs bench/programs natively
// (MV_DISABLE=1) and in the HRT, alternating, N times each, all driven by `run.lua ab` inside one
// machine, so both sides of every ratio come from the same machine in the same run:
//   - directly on this host, when the HRT can run here (libmv's own probe: MV_REQUIRE_HRT=1);
//   - otherwise in a QEMU TCG guest (-cpu max, nested KVM through kvm_amd) booted from the same
//     kernel + initramfs as an image; with --image, in the booted ISO itself.
// Writes bench/results/lua.json, lua.md and lua-ratios.png (gnuplot), and the README's Results.
// Usage: node dist/bench/lua.js [--runs N] [--preset bench|small] [--only a,b] [--image] [--guest]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../src/lib/exec';
import { loadManifest, Manifest } from '../src/lib/manifest';
import { repoPath } from '../src/lib/paths';
import { Progress } from '../src/lib/progress';
import { runInGuest } from '../src/harness/guest';
import { boot } from '../src/harness/qemu';
import { buildImage } from '../src/pipeline';
import { hostRunner, runnerToolchain } from '../src/builder/runner';
import { packageStage } from '../src/stages/package';
import { toolchainStage } from '../src/stages/toolchain';
import { LuaBenchResult, parseRuns, summarize, writeReports } from './lua-report';
import { hostInfo } from './stats';

const PKG = repoPath('examples/lua');
const BENCH_DIR = '/app/bench';

interface Options { runs: number; preset: string; only?: string; image: boolean; guest: boolean }

function options(argv: string[]): Options {
  const val = (f: string) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
  return { runs: Number(val('--runs') ?? 5), preset: val('--preset') ?? 'bench', only: val('--only'), image: argv.includes('--image'), guest: argv.includes('--guest') };
}

/** The driver's command line: run natively itself; its children pick their mode. */
const driverArgs = (o: Options) => [`${BENCH_DIR}/run.lua`, 'ab', o.preset, String(o.runs), ...(o.only ? [o.only] : [])];

async function buildLua(progress: Progress) {
  const manifest = loadManifest(PKG);
  const toolchain = await progress.stage('toolchain', () => toolchainStage(progress));
  return progress.stage('package', () => packageStage(progress, PKG, manifest, runnerToolchain(toolchain, hostRunner), hostRunner));
}

/** libmv decides "usable KVM" by running a probe guest; ask it, rather than opening /dev/kvm. */
async function hrtUsableHere(lua: string): Promise<boolean> {
  if (!existsSync('/dev/kvm')) return false;
  const r = await exec(lua, ['-e', ''], { env: { ...process.env, MV_REQUIRE_HRT: '1' } });
  return r.status === 0;
}

async function main() {
  const o = options(process.argv.slice(2));
  const progress = new Progress();
  const pkg = await buildLua(progress);
  const lua = pkg.program.src;
  let where: LuaBenchResult['where'];
  let output: string;
  const t0 = Date.now();
  if (!o.image && !o.guest && (await hrtUsableHere(lua))) {
    where = { kind: 'direct', detail: 'on this host, hardware KVM' };
    const work = mkdtempSync(join(tmpdir(), 'mv-lua-'));
    // The same layout as in the image: the interpreter next to bench/.
    for (const f of [pkg.program, ...pkg.files]) if (f.dest.startsWith('/app/')) { mkdirSync(join(work, f.dest, '..'), { recursive: true }); writeFileSync(join(work, f.dest), readFileSync(f.src), { mode: f.mode }); }
    const r = await exec(join(work, 'app', 'lua5.4'), driverArgs(o).map((a) => a.replace(/^\/app/, join(work, 'app'))), { cwd: work, env: { ...process.env, MV_DISABLE: '1' }, onLine: (l) => console.error(l) });
    output = r.stdout;
    rmSync(work, { recursive: true, force: true });
  } else if (!o.image) {
    where = { kind: 'guest', detail: 'QEMU 7.2 TCG -cpu max -smp 2, nested KVM (kvm_amd) in the guest; kernel + initramfs as in the image' };
    const files = [pkg.program, ...pkg.files].filter((f) => f.dest.startsWith('/app/'));
    const script = `cd /app && MV_DISABLE=1 /app/lua5.4 ${driverArgs(o).join(' ')}\n`;
    const r = await runInGuest({ files, script, timeoutMs: 4 * 3600_000, onLine: (l) => { if (/^MV-BENCH/.test(l)) console.error(l); } });
    if (r.status === null) throw new Error(`the guest did not finish: ${r.output.slice(-2000)}`);
    output = r.output;
  } else {
    where = { kind: 'image', detail: 'the examples/lua ISO booted under QEMU 7.2 TCG -cpu max -smp 2 (SeaBIOS), nested KVM (kvm_amd)' };
    const out = mkdtempSync(join(tmpdir(), 'mv-lua-iso-'));
    const overrides: Partial<Manifest> = { args: driverArgs(o), env: { MV_DISABLE: '1' }, hrt: { require: false, cpus: '' } };
    const img = await buildImage({ packageDir: PKG, output: join(out, 'lua-bench.iso'), progress, overrides });
    const b = await boot({ iso: img.image, accel: 'tcg', timeoutMs: 4 * 3600_000, onLine: (l) => { if (/^MV-BENCH/.test(l)) console.error(l); } });
    output = b.output;
    rmSync(out, { recursive: true, force: true });
  }
  const runs = parseRuns(output);
  if (!runs.length) throw new Error(`no MV-BENCH lines in the output:\n${output.slice(-3000)}`);
  const result = summarize({ host: hostInfo(), where, preset: o.preset, runs: o.runs, elapsedS: Math.round((Date.now() - t0) / 1000) }, runs);
  const files = await writeReports(result);
  console.log(readFileSync(files.md, 'utf8'));
  console.error(`wrote ${Object.values(files).join(', ')}`);
  if (result.programs.some((p) => !p.ok)) process.exitCode = 1;
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
