// A real language runtime, hybridized without changes: Debian's lua5.4 source (fetched, verified,
// patched the Debian way) built with mv-cc by examples/lua, then every program of the Lua suite
// (examples/lua/programs, also at bench/programs/lua) run in the HRT inside a QEMU TCG guest with nested KVM, small sizes, each
// checking its own output digest; the same programs natively in the same guest give identical
// output. Last, `mv-image build examples/lua` gives an ISO whose init runs the suite in the HRT.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostRunner, runnerToolchain } from '../../src/builder/runner';
import { readElf } from '../../src/lib/elf';
import { exec } from '../../src/lib/exec';
import { loadManifest } from '../../src/lib/manifest';
import { Progress } from '../../src/lib/progress';
import { GuestResult, runInGuest } from '../../src/harness/guest';
import type { PackageArtifact } from '../../src/stages/package';
import { buildPackage } from '../../src/pipeline';
import { toolchainStage } from '../../src/stages/toolchain';
import { cli, repo, tempDir } from '../helpers/cli';

const PKG = join(repo, 'examples', 'lua');
const PROGRAMS = ['nbody', 'spectralnorm', 'fannkuch', 'binarytrees', 'fasta', 'knucleotide', 'mandelbrot', 'filecopy', 'alloc'];

let built: Promise<PackageArtifact> | undefined;
const buildLua = () =>
  (built ??= (async () => {
    const progress = Progress.quiet();
    const toolchain = await toolchainStage.run(progress, {});
    return buildPackage(progress, { dir: PKG, manifest: loadManifest(PKG), toolchain: runnerToolchain(toolchain, hostRunner) });
  })());

// A cold Lua build takes 2 min of CPU (Debian's Makefile compiles everything twice, for C and
// C++); on a loaded 2-core machine that is well over ava's 10 min inactivity timeout.
const SLOW = 40 * 60_000;

test.serial(
  'examples/lua builds Debian lua5.4 with mv-cc: the interpreter embeds the HRT and runs natively with MV_DISABLE=1',
  async (t) => {
    t.timeout(SLOW);
    const pkg = await buildLua();
    t.is(pkg.program.dest, '/app/lua5.4');
    const bin = readFileSync(pkg.program.src);
    t.truthy(
      readElf(bin).sections.find((s) => s.name === '.mv_hrt'),
      'the .mv_hrt section (Nautilus) is linked in',
    );
    t.true(bin.includes(Buffer.from('Lua 5.4')), 'it is the Lua 5.4 interpreter');
    for (const p of ['run', 'digests', ...PROGRAMS])
      t.truthy(
        pkg.files.find((f) => f.dest === `/app/bench/${p}.lua`),
        p,
      );
    const r = await exec(pkg.program.src, ['-e', 'print(_VERSION, 6 * 7)'], { env: { ...process.env, MV_DISABLE: '1' } });
    t.is(r.stdout, 'Lua 5.4\t42\n', r.output);
  },
);

// One guest boot: the suite in the HRT (MV_REQUIRE_HRT: no silent fallback to native), then
// the A/B driver for one round, which runs each program natively and in the HRT.
const SCRIPT = `cd /app
echo "=== BEGIN hrt"; MV_REQUIRE_HRT=1 MV_ANNOUNCE=1 /app/lua5.4 /app/bench/run.lua suite small 2>&1; echo "=== END hrt $?"
echo "=== BEGIN ab"; MV_DISABLE=1 /app/lua5.4 /app/bench/run.lua ab small 1 2>&1; echo "=== END ab $?"
`;
let guest: Promise<GuestResult> | undefined;
const guestRun = () =>
  (guest ??= (async () => {
    const pkg = await buildLua();
    return runInGuest({ files: [pkg.program, ...pkg.files].filter((f) => f.dest.startsWith('/app/')), script: SCRIPT, timeoutMs: 900_000 });
  })());

function section(out: string, name: string): { text: string; status: number } | undefined {
  const m = out.match(new RegExp(`^=== BEGIN ${name}\\n([\\s\\S]*?)^=== END ${name} (\\d+)$`, 'm'));
  return m ? { text: m[1], status: Number(m[2]) } : undefined;
}

test.serial('in the guest, lua5.4 runs in ring 0 of the HRT', async (t) => {
  t.timeout(SLOW);
  const g = await guestRun();
  const s = section(g.output, 'hrt');
  t.truthy(s, `the suite did not run (guest status ${g.status}):\n${g.output.slice(-3000)}`);
  t.regex(s!.text, /^MV-HRT vcpus=1 cpl=0$/m);
  t.notRegex(s!.text, /no usable KVM|cannot run/);
  t.regex(s!.text, /^MV-BENCH-SUITE small programs=9 bad=0$/m);
  t.is(s!.status, 0, s!.text);
});

for (const name of PROGRAMS) {
  test.serial(`${name}: right digest in the HRT, and the same output natively in the same guest`, async (t) => {
    t.timeout(SLOW);
    const g = await guestRun();
    const hrt = section(g.output, 'hrt')?.text ?? '';
    const line = hrt.match(new RegExp(`^MV-BENCH name=${name} n=\\d+ cpu_s=[\\d.]+ bytes=\\d+ digest=([0-9a-f]{16}) check=(\\w+)$`, 'm'));
    t.truthy(line, `no result for ${name} in the HRT run:\n${hrt}`);
    t.is(line?.[2], 'ok', 'the HRT output matches the known-good digest');
    const ab = section(g.output, 'ab');
    t.truthy(ab, `the A/B driver did not run:\n${g.output.slice(-3000)}`);
    const runs = [
      ...(ab?.text ?? '').matchAll(
        new RegExp(`^MV-BENCH mode=(native|hrt) run=1 status=(\\d+) wall_s=\\S+ name=${name} .*digest=(\\w+) check=(\\w+)$`, 'gm'),
      ),
    ];
    t.deepEqual(runs.map((m) => m[1]).sort(), ['hrt', 'native'], ab?.text);
    for (const m of runs) {
      t.is(m[2], '0', `${m[1]} status`);
      t.is(m[4], 'ok', `${m[1]} digest`);
      t.is(m[3], line?.[1] ?? '', `${m[1]} output identical to the HRT suite run`);
    }
  });
}

test.serial('mv-image build examples/lua gives an ISO whose init runs the whole suite in the HRT', (t) => {
  t.timeout(SLOW);
  const iso = join(tempDir('mv-lua-'), 'lua.iso');
  const b = cli(['build', PKG, '-o', iso], {}, SLOW);
  t.is(b.status, 0, b.stderr);
  const r = cli(['run', iso, '--timeout', '900'], {}, SLOW);
  t.is(r.status, 0, r.stdout.slice(-3000) + r.stderr);
  for (const name of PROGRAMS) t.regex(r.stdout, new RegExp(`^MV-BENCH name=${name} n=\\d+ .* check=ok$`, 'm'), name);
  t.regex(r.stdout, /^MV-BENCH-SUITE bench programs=9 bad=0$/m);
  t.regex(r.stdout, /^MV-EXIT 0$/m);
});
