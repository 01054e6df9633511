// Node.js as a supported runtime (issue 15): examples/node installs Debian's nodejs and what it
// depends on from the archive (the install stage: apt's closure, SHA256-checked, unpacked into
// the image) and runs /usr/bin/node under mvrun, main in ring 0 of the HRT (MV_REQUIRE_HRT=1: no
// silent fallback), on the Node suite (examples/node/programs, also bench/programs/node): V8's
// JIT tiers, Buffer/crypto, fs streams, two worker_threads, each digest checked against the
// known-good one. One build and one boot: CI's budget.
import test from 'ava';
import { join } from 'node:path';
import { cli, repo, tempDir } from '../helpers/cli';

const PKG = join(repo, 'examples', 'node');
const PROGRAMS = ['compute', 'crypto', 'fs', 'workers'];
// A cold build downloads about 25 MB of .debs; the boot reads a large initramfs under TCG.
const SLOW = 30 * 60_000;

test.serial(
  "mv-image build examples/node gives an ISO whose init runs Debian's node under mvrun, main in the HRT, with every digest checked",
  (t) => {
    t.timeout(SLOW);
    const iso = join(tempDir('mv-node-'), 'node.iso');
    const b = cli(['build', PKG, '-o', iso, '--json'], {}, SLOW);
    t.is(b.status, 0, b.stderr);
    const built = JSON.parse(b.stdout) as { size: number; stages: { stage: string; ms: number; cached: boolean }[] };
    t.truthy(
      built.stages.find((s) => s.stage === 'install'),
      'the install stage ran',
    );
    t.log(
      `ISO ${(built.size / 2 ** 20).toFixed(1)} MiB; stages ${built.stages.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)}s${s.cached ? ' (cached)' : ''}`).join(', ')}`,
    );
    const i = cli(['inspect', iso, '--json']);
    t.is(i.status, 0, i.stderr);
    const seen = JSON.parse(i.stdout) as { program: { path: string; mvrun: boolean }; initramfs: { path: string }[] };
    t.is(seen.program.path, '/usr/bin/node');
    t.true(seen.program.mvrun, 'inspect says it runs under mvrun');
    for (const f of [
      '/usr/bin/mvrun',
      '/usr/lib/mv/libmv-preload.so',
      '/usr/lib/x86_64-linux-gnu/libnode.so.108',
      '/usr/share/nodejs/cjs-module-lexer/lexer.js',
    ])
      t.truthy(
        seen.initramfs.find((m) => m.path === f),
        f,
      );
    const t0 = Date.now();
    const r = cli(['run', iso, '--timeout', '900'], {}, SLOW);
    t.log(`boot and run: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    t.is(r.status, 0, r.stdout.slice(-3000) + r.stderr);
    t.regex(r.stdout, /^MV-HRT vcpus=\d+ cpl=0\r?$/m, "node's main runs in ring 0 of the HRT");
    t.notRegex(r.stdout, /no usable KVM|cannot run/);
    for (const name of PROGRAMS)
      t.regex(r.stdout, new RegExp(`^MV-BENCH name=${name} time_s=[\\d.]+ digest=[0-9a-f]{16} check=ok\\r?$`, 'm'), name);
    t.regex(r.stdout, /^MV-BENCH-SUITE programs=4 bad=0\r?$/m);
    t.regex(r.stdout, /^MV-EXIT 0\r?$/m);
  },
);
