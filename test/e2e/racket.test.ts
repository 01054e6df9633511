// Racket CS, the runtime Multiverse was first shown on, hybridized without changes: Debian's
// racket source built with mv-cc by examples/racket (Chez Scheme writes its machine code into
// writable+executable memory, its collector maps and unmaps all the time, futures and places are
// OS threads). In a QEMU TCG guest with nested KVM: the whole suite (examples/racket/programs)
// in the HRT, each program's digest checked, the A/B driver running every program natively and in
// the HRT with identical output, places, and MV_STATS. Last, the examples/racket ISO boots and
// its init runs the suite in the HRT.
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

const PKG = join(repo, 'examples', 'racket');
const PROGRAMS = ['nbody', 'spectralnorm', 'fannkuch', 'binarytrees', 'fasta', 'mandelbrot', 'alloc', 'filecopy', 'parallel'];

let built: Promise<PackageArtifact> | undefined;
const buildRacket = () =>
  (built ??= (async () => {
    const progress = Progress.quiet();
    const toolchain = await toolchainStage.run(progress, {});
    return buildPackage(progress, { dir: PKG, manifest: loadManifest(PKG), toolchain: runnerToolchain(toolchain, hostRunner) });
  })());

// A cold Racket build is about 9 minutes of two cores (Chez bootstraps itself from its portable
// boot files, then the expander and the collections compile); ava's default would end it.
const SLOW = 60 * 60_000;

test.serial(
  'examples/racket builds Debian racket (Racket CS 8.7) with mv-cc: main is wrapped, Nautilus and the boot files are embedded',
  async (t) => {
    t.timeout(SLOW);
    const pkg = await buildRacket();
    t.is(pkg.program.dest, '/app/racket');
    const elf = readElf(readFileSync(pkg.program.src));
    t.truthy(
      elf.sections.find((s) => s.name === '.mv_hrt'),
      'the .mv_hrt section (Nautilus) is linked in',
    );
    t.truthy(
      elf.sections.find((s) => s.name === '.rackboot'),
      "Racket's boot files are in their .rackboot section",
    );
    const syms = await exec('nm', [pkg.program.src]);
    t.regex(syms.stdout, / T __wrap_main$/m, "mv-cc's --wrap=main");
    t.regex(syms.stdout, / T main$/m, "Racket's own main (cs/c/main.c), the one __wrap_main calls");
    for (const f of [
      '/app/collects/racket/compiled/base_rkt.zo',
      '/app/collects/racket/compiled/future_rkt.zo',
      '/app/collects/racket/compiled/place_rkt.zo',
      '/app/etc/config.rktd',
      '/app/bench/run.rkt',
      '/app/bench/digests.rktd',
      ...PROGRAMS.map((p) => `/app/bench/${p}.rkt`),
    ]) {
      t.truthy(
        pkg.files.find((x) => x.dest === f),
        f,
      );
    }
    t.falsy(
      pkg.files.find((x) => x.dest.endsWith('.rkt') && x.dest.startsWith('/app/collects/')),
      'collections as .zo only',
    );
    // The collection path is relative to the executable, so the cached tree runs as it is.
    const r = await exec(
      pkg.program.src,
      ['-l', 'racket/base', '-l', 'racket/flonum', '-e', '(printf "~a ~a\\n" (version) (fl* 6.0 7.0))'],
      { env: { ...process.env, MV_DISABLE: '1' } },
    );
    t.is(r.stdout, '8.7 42.0\n', r.output);
  },
);

// One guest boot (2 CPUs, so futures and places have a second CPU): the suite in the HRT with
// MV_STATS, the A/B driver for one round, places in the HRT, then a program killed by a signal.
const SCRIPT = `cd /app
echo "=== BEGIN hrt"; MV_REQUIRE_HRT=1 MV_ANNOUNCE=1 MV_STATS=/tmp/suite.stats /app/racket /app/bench/run.rkt suite small 2>&1; echo "=== END hrt $?"
echo "=== BEGIN stats"; cat /tmp/suite.stats; echo "=== END stats 0"
echo "=== BEGIN ab"; MV_DISABLE=1 /app/racket /app/bench/run.rkt ab small 1 2>&1; echo "=== END ab $?"
cat > /tmp/places.rkt <<'X'
#lang racket/base
(require racket/place)
(provide worker)
(define (worker ch)
  (define n (place-channel-get ch))
  (place-channel-put ch (for/sum ([i (in-range (* n 100000))]) (remainder i 7))))
(module+ main
  (define ps (for/list ([i 2]) (dynamic-place (string->path "/tmp/places.rkt") 'worker)))
  (for ([p ps] [i (in-naturals 1)]) (place-channel-put p i))
  (printf "places: ~a\\n" (for/list ([p ps]) (place-channel-get p)))
  (printf "place exits: ~a\\n" (map place-wait ps)))
X
echo "=== BEGIN places"; MV_REQUIRE_HRT=1 MV_ANNOUNCE=1 MV_STATS=1 /app/racket /tmp/places.rkt 2>&1; echo "=== END places $?"
echo "=== BEGIN places-native"; MV_DISABLE=1 /app/racket /tmp/places.rkt 2>&1; echo "=== END places-native $?"
echo "=== BEGIN exit"; MV_REQUIRE_HRT=1 /app/racket -l racket/base -e '(with-handlers ([exn:fail? (lambda (e) (displayln (exn-message e)) (exit 3))]) (vector-ref (vector) 1))' 2>&1; echo "=== END exit $?"
echo "=== BEGIN segv"; MV_REQUIRE_HRT=1 /app/racket -l racket/base -l racket/unsafe/ops -e '(for ([a (list 1000000000001 77777777777)]) (with-handlers ([exn:fail? (lambda (e) (printf "caught: ~a\n" (exn-message e)))]) (unsafe-car a)))' 2>&1; echo "=== END segv $?"
echo "=== BEGIN break"; MV_REQUIRE_HRT=1 /app/racket -l racket/base -e '(with-handlers ([exn:break? (lambda (e) (displayln "break") (exit 3))]) (displayln "sleeping") (flush-output) (sleep 120))' > /tmp/break.out 2>&1 & p=$!
i=0; while ! grep -q sleeping /tmp/break.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; kill -INT $p; wait $p; st=$?; cat /tmp/break.out; echo "=== END break $st"
echo "=== BEGIN threads"; MV_REQUIRE_HRT=1 /app/racket -l racket/base -e '(define c (make-channel)) (for ([i 4]) (thread (lambda () (sleep (* 0.01 i)) (channel-put c i)))) (printf "got ~a\n" (sort (for/list ([i 4]) (channel-get c)) <)) (printf "timeout ~a\n" (sync/timeout 0.05 (make-semaphore 0))) (define cu (make-custodian)) (define t (parameterize ([current-custodian cu]) (thread (lambda () (sleep 100))))) (custodian-shutdown-all cu) (void (sync t)) (printf "dead ~a\n" (thread-dead? t))' 2>&1; echo "=== END threads $?"
`;
let guest: Promise<GuestResult> | undefined;
const guestRun = () =>
  (guest ??= (async () => {
    const pkg = await buildRacket();
    return runInGuest({
      files: [pkg.program, ...pkg.files].filter((f) => f.dest.startsWith('/app/')),
      script: SCRIPT,
      cpus: 2,
      memMiB: 3072,
      timeoutMs: 1800_000,
    });
  })());

function section(out: string, name: string): { text: string; status: number } | undefined {
  const m = out.match(new RegExp(`^=== BEGIN ${name}\\n([\\s\\S]*?)^=== END ${name} (\\d+)$`, 'm'));
  return m ? { text: m[1], status: Number(m[2]) } : undefined;
}

async function sectionOf(t: import('ava').ExecutionContext, name: string) {
  const g = await guestRun();
  const s = section(g.output, name);
  if (!s) t.fail(`section ${name} did not run (guest status ${g.status}, serial log ${g.logPath || '(none)'}):\n${g.output.slice(-3000)}`);
  return s ?? { text: '', status: -1 };
}

test.serial('in the guest, racket runs the whole suite in ring 0 of the HRT', async (t) => {
  t.timeout(SLOW);
  const s = await sectionOf(t, 'hrt');
  t.regex(s.text, /^MV-HRT vcpus=1 cpl=0$/m);
  t.notRegex(s.text, /no usable KVM|cannot run/);
  t.regex(s.text, new RegExp(`^MV-BENCH-SUITE small programs=${PROGRAMS.length} bad=0$`, 'm'), s.text);
  t.is(s.status, 0, s.text);
  t.regex(
    s.text,
    /^MV-BENCH name=parallel n=\d+ .* check=ok info=workers:1$/m,
    'one future worker per HRT CPU (MV_HRT_CPUS=1 with 2 guest CPUs)',
  );
});

for (const name of PROGRAMS) {
  test.serial(`${name}: right digest in the HRT, and the same output natively in the same guest`, async (t) => {
    t.timeout(SLOW);
    const hrt = (await sectionOf(t, 'hrt')).text;
    const line = hrt.match(
      new RegExp(
        `^MV-BENCH name=${name} n=\\d+ real_s=[\\d.]+ cpu_s=[\\d.]+ gc_s=[\\d.]+ bytes=\\d+ digest=([0-9a-f]{16}) check=(\\w+)`,
        'm',
      ),
    );
    t.truthy(line, `no result for ${name} in the HRT run:\n${hrt}`);
    t.is(line?.[2], 'ok', 'the HRT output matches the known-good digest');
    const ab = await sectionOf(t, 'ab');
    const runs = [
      ...ab.text.matchAll(
        new RegExp(`^MV-BENCH mode=(native|hrt) run=1 status=(\\d+) wall_s=\\S+ name=${name} .*digest=(\\w+) check=(\\w+)`, 'gm'),
      ),
    ];
    t.deepEqual(runs.map((m) => m[1]).sort(), ['hrt', 'native'], ab.text);
    for (const m of runs) {
      t.is(m[2], '0', `${m[1]} status`);
      t.is(m[4], 'ok', `${m[1]} digest`);
      t.is(m[3], line?.[1] ?? '', `${m[1]} output identical to the HRT suite run`);
    }
    // The driver passes each HRT child's MV_STATS summary on.
    const stats = ab.text.match(new RegExp(`^MV-BENCH-STATS mode=hrt run=1 name=${name} (\\{.*\\})$`, 'm'));
    t.truthy(stats, ab.text);
    const s = JSON.parse(stats?.[1] ?? '{}');
    t.true(s.hrt && s.syscalls.n > 0 && s.exits.total >= s.syscalls.n);
    t.true(s.syscalls.by_name.read?.n > 0, 'start-up reads the boot files and .zo files through forwarded reads');
  });
}

test.serial(
  'MV_STATS: the suite run forwarded its file I/O, mmap traffic and thread start-up, and counted its HRT page faults',
  async (t) => {
    t.timeout(SLOW);
    const text = (await sectionOf(t, 'stats')).text;
    const s = JSON.parse(text.match(/^\{.*\}$/m)?.[0] ?? '{}');
    t.true(s.hrt, text);
    t.true(s.vcpus >= 2, 'the futures of parallel.rkt ran on vCPUs of their own');
    t.true(s.syscalls.n + s.exitless.n > 1000 && s.exits.total >= s.syscalls.n);
    t.true(s.faults.n > 0);
    for (const call of ['read', 'write', 'mmap', 'munmap', 'openat', 'clone', 'futex'])
      t.true((s.syscalls.by_name[call]?.n ?? 0) + (s.exitless.by_name[call]?.n ?? 0) > 0, call);
  },
);

test.serial('places: two places (OS threads, each a Racket instance of its own) run in the HRT and give the native results', async (t) => {
  t.timeout(SLOW);
  const hrt = await sectionOf(t, 'places');
  const native = await sectionOf(t, 'places-native');
  t.is(hrt.status, 0, hrt.text);
  t.regex(hrt.text, /^MV-HRT vcpus=1 cpl=0$/m);
  t.regex(native.text, /^places: \(\d+ \d+\)$/m, native.text);
  t.is(hrt.text.match(/^places: .*$/m)?.[0], native.text.match(/^places: .*$/m)?.[0]);
  t.regex(hrt.text, /^place exits: \(0 0\)$/m);
  t.true(
    Number(hrt.text.match(/^mv-stats: main in the HRT, [\d.]+ ms wall, (\d+) vCPU/m)?.[1]) >= 3,
    'main and each place on a vCPU of its own',
  );
});

test.serial('a Racket exception and exit status come back as on Linux', async (t) => {
  t.timeout(SLOW);
  const s = await sectionOf(t, 'exit');
  t.is(s.status, 3, s.text);
  t.regex(s.text, /^vector-ref: index is out of range/m);
});

test.serial("Chez's own SIGSEGV handler turns a bad memory reference in the HRT into a Racket exception, twice", async (t) => {
  t.timeout(SLOW);
  const s = await sectionOf(t, 'segv');
  t.is(s.status, 0, s.text);
  t.is((s.text.match(/^caught: invalid memory reference\./gm) ?? []).length, 2, s.text);
});

test.serial('SIGINT to racket in the HRT is a break (exn:break), as on Linux', async (t) => {
  t.timeout(SLOW);
  const s = await sectionOf(t, 'break');
  t.is(s.status, 3, s.text);
  t.regex(s.text, /^sleeping\nbreak$/m);
});

test.serial("Racket's green threads, channels, timeouts and custodians in the HRT", async (t) => {
  t.timeout(SLOW);
  const s = await sectionOf(t, 'threads');
  t.is(s.status, 0, s.text);
  t.regex(s.text, /^got \(0 1 2 3\)\ntimeout #f\ndead #t$/m);
});

test.serial('mv-image build examples/racket gives an ISO whose init runs the whole suite in the HRT', (t) => {
  t.timeout(SLOW);
  const iso = join(tempDir('mv-racket-'), 'racket.iso');
  const b = cli(['build', PKG, '-o', iso], {}, SLOW);
  t.is(b.status, 0, b.stderr);
  const r = cli(['run', iso, '--timeout', '1800'], {}, SLOW);
  t.is(r.status, 0, r.stdout.slice(-3000) + r.stderr);
  t.regex(r.stdout, /^MV-HRT vcpus=1 cpl=0$/m);
  for (const name of PROGRAMS) t.regex(r.stdout, new RegExp(`^MV-BENCH name=${name} n=\\d+ .* check=ok`, 'm'), name);
  t.regex(r.stdout, new RegExp(`^MV-BENCH-SUITE bench programs=${PROGRAMS.length} bad=0$`, 'm'));
  t.regex(r.stdout, /^MV-EXIT 0$/m);
});
