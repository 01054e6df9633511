// bench/overrides: clock_gettime, malloc/free, getpid and pthread_create+join per call in four
// settings measured in one QEMU TCG guest (nested kvm_amd) in one run: native Linux (plain gcc),
// HRT forwarded (the system-call forms, syscall(2), from main in the HRT; for threads an ordinary
// HRT thread), HRT without overrides (mv-cc), HRT overridden (mv-cc --mv-override=all); and the
// Lua suite (bench/programs/lua, examples/lua) natively, in the HRT, and in the HRT with the
// manifest's "overrides". Writes bench/results/overrides.json and .md.
// Target (issue 9): overridden within 2x of native and at least 10x faster than forwarded.
// Usage: node dist/bench/overrides/run.js [--rounds N] [--preset small|bench] [--no-lua]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifest } from '../../src/lib/manifest';
import { Progress } from '../../src/lib/progress';
import { runInGuest, GuestFile } from '../../src/harness/guest';
import { hostRunner, runnerToolchain } from '../../src/builder/runner';
import { buildPackage } from '../../src/pipeline';
import { toolchainStage } from '../../src/stages/toolchain';
import { hostInfo, median } from '../stats';

const repo = join(__dirname, '..', '..', '..');
const OPS = ['clock_gettime', 'malloc_free', 'malloc_free_mix', 'getpid', 'thread_create_join'] as const;
const LUA_OVERRIDES = ['clock_gettime', 'gettimeofday', 'time', 'malloc'];
type Row = Record<string, number | string>;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function luaFiles(): Promise<GuestFile[]> {
  const progress = Progress.quiet();
  const dir = join(repo, 'examples', 'lua');
  const toolchain = runnerToolchain(await toolchainStage.run(progress, {}), hostRunner);
  const plain = await buildPackage(progress, { dir, manifest: loadManifest(dir), toolchain });
  const ov = await buildPackage(progress, { dir, manifest: { ...loadManifest(dir), overrides: LUA_OVERRIDES }, toolchain });
  return [
    ...plain.files.filter((f) => f.dest.startsWith('/app/')),
    { src: plain.program.src, dest: '/app/lua5.4' },
    { src: ov.program.src, dest: '/app/lua5.4-ov' },
  ];
}

async function main() {
  const rounds = Number(arg('--rounds', '3'));
  const preset = arg('--preset', 'bench');
  const lua = !process.argv.includes('--no-lua');
  for (const dir of ['nautilus', 'hvm', 'bench/overrides']) execFileSync('make', ['-s', '-C', join(repo, dir)], { stdio: 'inherit' });
  const b = join(repo, 'bench', 'overrides', 'build');
  const files: GuestFile[] = ['native', 'hrt', 'hrt-ov'].map((f) => ({ src: join(b, f), dest: `/mv/b/${f}` }));
  if (lua) files.push(...(await luaFiles()));
  const script = [
    'cd /mv/b',
    // Alternate the order per round so drift in the guest does not favour one setting.
    `for r in $(seq 1 ${rounds}); do`,
    '  if [ $((r % 2)) = 1 ]; then ./native native; ./hrt hrt; ./hrt-ov hrt-ov; else ./hrt-ov hrt-ov; ./hrt hrt; ./native native; fi',
    'done',
    'MV_DISABLE=1 ./hrt-ov hrt-ov-disabled',
    ...(lua
      ? [
          'cd /app',
          `echo "=== LUA native"; MV_DISABLE=1 ./lua5.4 bench/run.lua suite ${preset}`,
          `echo "=== LUA hrt"; MV_REQUIRE_HRT=1 ./lua5.4 bench/run.lua suite ${preset}`,
          `echo "=== LUA hrt-ov"; MV_REQUIRE_HRT=1 ./lua5.4-ov bench/run.lua suite ${preset}`,
        ]
      : []),
    '',
  ].join('\n');
  const t0 = Date.now();
  const r = await runInGuest({
    files,
    script,
    cpus: 1,
    timeoutMs: 3 * 3600_000,
    onLine: (l) => {
      if (/^(RESULT|=== LUA|MV-BENCH)/.test(l)) console.error(l);
    },
  });
  const lines = r.output.split('\n').map((l) => l.replace(/\r$/, ''));
  const results: Row[] = lines.filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)));
  if (r.status !== 0 || results.length < 3 * rounds)
    throw new Error(`bench failed (status ${r.status}, log ${r.logPath}):\n${r.output.slice(-3000)}`);

  const med = (setting: string, op: string) => median(results.filter((x) => x.setting === setting).map((x) => Number(x[op])));
  const settings = {
    native: Object.fromEntries(OPS.map((op) => [op, med('native', op)])),
    // The forwarded path: the system-call form from main in the HRT (glibc's getpid() is one);
    // for threads, an ordinary HRT thread (forwarded clone: a partner and a vCPU boot).
    hrtForwarded: {
      clock_gettime: med('hrt', 'clock_gettime_syscall'),
      getpid: med('hrt', 'getpid_syscall'),
      thread_create_join: med('hrt', 'thread_create_join'),
    },
    hrt: Object.fromEntries(OPS.map((op) => [op, med('hrt', op)])),
    hrtOverridden: Object.fromEntries(OPS.map((op) => [op, med('hrt-ov', op)])),
  };
  const ratios = Object.fromEntries(
    OPS.map((op) => {
      const ov = settings.hrtOverridden[op];
      const fwd = (settings.hrtForwarded as Record<string, number>)[op];
      return [
        op,
        { overriddenVsNative: +(ov / settings.native[op]).toFixed(2), forwardedVsOverridden: fwd ? +(fwd / ov).toFixed(1) : null },
      ];
    }),
  );
  const disabled = results.find((x) => x.setting === 'hrt-ov-disabled');
  const served = results.find((x) => x.setting === 'hrt-ov')?.served;

  // Lua: MV-BENCH lines after each "=== LUA <setting>" marker.
  const luaRuns: Record<string, Record<string, { cpu_s: number; check: string }>> = {};
  let cur = '';
  for (const l of lines) {
    const m = l.match(/^=== LUA (\S+)/);
    if (m) {
      cur = m[1];
      luaRuns[cur] = {};
      continue;
    }
    const b2 = l.match(/^MV-BENCH name=(\S+) n=\d+ cpu_s=([\d.]+) .*check=(\S+)/);
    if (b2 && cur) luaRuns[cur][b2[1]] = { cpu_s: Number(b2[2]), check: b2[3] };
  }
  const luaTable = Object.keys(luaRuns.native ?? {}).map((name) => {
    const n = luaRuns.native[name],
      h = luaRuns.hrt?.[name],
      o = luaRuns['hrt-ov']?.[name];
    return {
      name,
      native_s: n.cpu_s,
      hrt_s: h?.cpu_s,
      hrtOv_s: o?.cpu_s,
      hrtVsNative: h ? +(h.cpu_s / n.cpu_s).toFixed(3) : null,
      hrtOvVsNative: o ? +(o.cpu_s / n.cpu_s).toFixed(3) : null,
      ok: [n, h, o].every((x) => x?.check === 'ok'),
    };
  });

  const result = {
    where: 'QEMU 7.2 TCG -cpu max, 1 guest CPU, nested kvm_amd',
    host: hostInfo(),
    elapsedS: Math.round((Date.now() - t0) / 1000),
    rounds,
    unit: 'ns per call (median of rounds, each a median of 9 batches)',
    settings,
    ratios,
    fallback: {
      note: 'MV_DISABLE=1 with the overridden binary: the originals run natively, nothing is served',
      served: disabled?.served,
      perCall: disabled,
    },
    servedInHrt: served,
    lua: lua ? { preset, overrides: LUA_OVERRIDES, unit: 'os.clock() s', programs: luaTable } : null,
    raw: results,
  };
  const f = (x: number | undefined) =>
    x === undefined || Number.isNaN(x) ? '–' : x >= 1000 ? `${(x / 1000).toFixed(1)} µs` : `${x.toFixed(1)} ns`;
  const md = [
    '| call | native Linux | HRT forwarded | HRT, no override | HRT overridden | overridden / native | forwarded / overridden |',
    '|---|---|---|---|---|---|---|',
    ...OPS.map(
      (op) =>
        `| ${op} | ${f(settings.native[op])} | ${f((settings.hrtForwarded as Record<string, number>)[op])} | ${f(settings.hrt[op])} | ${f(settings.hrtOverridden[op])} | ${ratios[op].overriddenVsNative}× | ${ratios[op].forwardedVsOverridden ?? '–'}${ratios[op].forwardedVsOverridden ? '×' : ''} |`,
    ),
    ...(lua
      ? [
          '',
          `Lua suite (preset ${preset}, os.clock() s; overrides ${LUA_OVERRIDES.join(', ')}):`,
          '',
          '| program | native | HRT | HRT + overrides | HRT / native | HRT+ov / native | outputs ok |',
          '|---|---|---|---|---|---|---|',
          ...luaTable.map(
            (p) =>
              `| ${p.name} | ${p.native_s} | ${p.hrt_s ?? '–'} | ${p.hrtOv_s ?? '–'} | ${p.hrtVsNative ?? '–'} | ${p.hrtOvVsNative ?? '–'} | ${p.ok ? 'yes' : 'NO'} |`,
          ),
        ]
      : []),
  ].join('\n');
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'results', 'overrides.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(repo, 'bench', 'results', 'overrides.md'), md + '\n');
  console.log(md);
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
