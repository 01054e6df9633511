// Issue 15's program table as a repeatable script: Debian's own binaries, unmodified, each run
// on a short deterministic workload natively and under mvrun with main in the HRT
// (MV_REQUIRE_HRT=1: no silent fallback; MV_ANNOUNCE=1: one "MV-HRT" line per process whose main
// reached the HRT), back to back in ONE boot of the QEMU TCG guest with nested KVM that the HRT
// tests use (runInGuest). Per program: stdout and the exit status must be the same byte for byte,
// and so must every file the workload leaves in its directory (sha256); the wall time of each side
// is recorded. Workloads live in bench/compat/ (w.py, w.pl, w.awk, w.sh, prog.c, w.mk, w.js).
//
// The guest's root is an initramfs built from the host's files (runInGuest copies each file given
// and, for ELF programs, their shared libraries; busybox gives the shell and the rest), so every
// program and the data it reads (python's standard library, perl-base, gcc's cc1/as/ld, crt files
// and the headers prog.c includes, tcc's runtime, openssl.cnf) is listed here. busybox installs its
// applets in /bin, so the workloads name Debian's programs by their /usr/bin paths and PATH puts
// /usr/bin first.
//
// Writes bench/results/compat.json and compat.md; exits 1 if any program's outputs differ or its
// HRT side did not reach the HRT.
// Usage: node dist/bench/compat.js [--runs N] [--only python3,bash] [--local] [--from guest.txt]
//   --runs N: N runs of each workload each way (default 3): round 1 native then HRT (its diffs
//            shown), later rounds alternating; times are medians; every run must agree.
//   --from F: the report from a saved guest output (the temp dir's guest.txt) instead of a boot.
//   --local: run the guest script on this host, both sides natively (no guest, no HRT): checks that
//            every workload is deterministic; writes nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GuestFile, runInGuest } from '../src/harness/guest';
import { sharedLibraries } from '../src/lib/ldd';
import { pythonFiles } from './conformance/files';
import { hostInfo, median } from './stats';

const repo = join(__dirname, '..', '..');
const WDIR = join(repo, 'bench', 'compat');
/** Where the workloads and their inputs go in the guest; mvrun is where pythonFiles puts it. */
const C = '/mv/c';
const MVRUN = '/mv/bin/mvrun';
const GCC_LIB = '/usr/lib/gcc/x86_64-linux-gnu/12';
const MULTIARCH = '/usr/lib/x86_64-linux-gnu';
/** Debian's programs whose /usr/bin path is one of busybox's applet links (init installs those,
 *  and the initramfs refuses a file there): they go here instead, first in PATH. */
const DEB = '/mv/debian/bin';
const AES_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const AES_IV = '0f0e0d0c0b0a09080706050403020100';

interface Workload {
  name: string;
  /** What the table calls the program. */
  program: string;
  workload: string;
  /** Shell (busybox sh) run in a fresh directory; `$R` is the prefix (empty natively, mvrun in
   *  the HRT) before each Debian program under test, `$C` the workload directory. */
  sh: string;
  /** Host files the program needs besides its ELF's libraries (programs included). */
  files: () => string[];
  /** Processes whose main must have reached the HRT (MV-HRT lines), when it is exact. */
  hrtProcesses?: number;
  /** Lines the native output must have (a workload that fails the same way on both sides
   *  would otherwise count as the same). */
  expect: RegExp[];
}

const coreutils = [
  'date',
  'sha256sum',
  'md5sum',
  'wc',
  'od',
  'base64',
  'cut',
  'tr',
  'head',
  'tail',
  'seq',
  'factor',
  'split',
  'expr',
  'stat',
  'cat',
  'sort',
  'uniq',
  'ls',
  'sleep',
  'cp',
  'printf',
  'env',
  'tac',
  'comm',
  'paste',
  'timeout',
].map((p) => `/usr/bin/${p}`);

const WORKLOADS: Workload[] = [
  {
    name: 'python3',
    program: 'python3.11',
    workload:
      'w.py: 4 threads, subprocess, os.fork, signal.alarm, mmap (anon + file), ctypes qsort callback, sqlite3, asyncio queue, multiprocessing Pool(2)',
    sh: `$R /usr/bin/python3.11 $C/w.py`,
    files: () => [], // pythonFiles() below
    expect: [
      /^threads \[/m,
      /^subprocess 3 42$/m,
      /^fork child says hi 7$/m,
      /^alarm True$/m,
      /^ctypes qsort \[0, 1, 2/m,
      /^asyncio \(1305, 30\)$/m,
      /^multiprocessing \[0, 1, 4, 9/m,
    ],
    hrtProcesses: 1,
  },
  {
    name: 'perl',
    program: 'perl',
    workload: 'w.pl: word counts (regex, hash, sort), arithmetic, pack, a file, a piped child (wc), s///e, tr',
    sh: `$R /usr/bin/perl $C/w.pl $C/in/text.txt`,
    files: () => ['/usr/bin/perl', ...walk('/usr/lib/x86_64-linux-gnu/perl-base')],
    expect: [/^acc \d+$/m, /^child wc\s+\d+ perl\.out$/m],
    hrtProcesses: 1,
  },
  {
    name: 'gawk',
    program: 'gawk',
    workload: 'w.awk on text.txt: fields, arrays, printf, sin/sqrt, split',
    sh: `$R /usr/bin/gawk -f $C/w.awk $C/in/text.txt`,
    files: () => ['/usr/bin/gawk'],
    expect: [/^words \d+ distinct \d+/m, /^split 4 c$/m],
    hrtProcesses: 1,
  },
  {
    name: 'mawk',
    program: 'mawk',
    workload: 'the same w.awk on text.txt',
    sh: `$R /usr/bin/mawk -f $C/w.awk $C/in/text.txt`,
    files: () => ['/usr/bin/mawk'],
    expect: [/^words \d+ distinct \d+/m, /^split 4 c$/m],
    hrtProcesses: 1,
  },
  {
    name: 'sed',
    program: 'sed',
    workload: 'ERE substitutions with back-references, d, GNU step addresses, $=, -i.bak on a copy',
    sh: [
      `$R /usr/bin/sed -E -e 's/([a-z]+) ([a-z]+)/\\2 \\1/g' -e '/^the/d' -e '5~7s/e/E/g' $C/in/text.txt > swapped.txt; echo "sed1 $?"`,
      `$R /usr/bin/sed -n '$=' $C/in/text.txt`,
      `cp $C/in/text.txt copy.txt && $R /usr/bin/sed -i.bak -e 's/a/A/g' -e '1~3y/eio/EIO/' copy.txt; echo "sed-i $?"`,
      `$R /usr/bin/sed -n '/^lorem/,/ipsum$/p' $C/in/text.txt | wc -l`,
    ].join('\n'),
    files: () => ['/usr/bin/sed'],
    expect: [/^sed1 0$/m, /^sed-i 0$/m],
  },
  {
    name: 'grep',
    program: 'grep',
    workload: 'grep -c -E, -n -i -w -m, -o with PCRE look-behind (-P: pcre2 JIT), -v -F -f, a miss (status 1)',
    sh: [
      `$R /usr/bin/grep -c -E '\\b(the|and)\\b' $C/in/text.txt`,
      `$R /usr/bin/grep -n -i -w -m 5 'lorem' $C/in/text.txt`,
      `$R /usr/bin/grep -o -P '(?<=\\bqu)\\w+' $C/in/text.txt | sort | uniq -c | sort -rn -k1,1 -k2`,
      `printf 'the\\nand\\nof\\n' > pat.txt; $R /usr/bin/grep -v -F -f pat.txt $C/in/text.txt > rest.txt; echo "grep-v $?"`,
      `$R /usr/bin/grep -q zzzzzz $C/in/text.txt; echo "grep-miss $?"`,
    ].join('\n'),
    files: () => ['/usr/bin/grep'],
    expect: [/^grep-v 0$/m, /^grep-miss 1$/m],
  },
  {
    name: 'sort',
    program: 'sort',
    workload: 'sort --parallel=2 -S 1M (threads, temp files), -t -k2,2 -k1,1, -u, -R with a fixed random source, -n',
    sh: [
      `$R /usr/bin/sort --parallel=2 -S 1M -T . $C/in/text.txt > s1.txt; echo "sort1 $?"`,
      `$R /usr/bin/sort -t ' ' -k2,2 -k1,1 $C/in/text.txt > s2.txt; echo "sort2 $?"`,
      `tr ' ' '\\n' < $C/in/text.txt | $R /usr/bin/sort -u | wc -l`,
      `$R /usr/bin/sort -R --random-source=$C/in/data.bin $C/in/text.txt > s3.txt; echo "sort3 $?"`,
      `seq 1000 -7 1 | $R /usr/bin/sort -n | head -3`,
    ].join('\n'),
    files: () => [],
    expect: [/^sort1 0$/m, /^sort2 0$/m, /^sort3 0$/m],
  },
  {
    name: 'xz',
    program: 'xz',
    workload: 'xz -6 -T2 compress, decompress, -t, -l of data.bin (256 KiB)',
    sh: [
      `$R /usr/bin/xz -6 -T2 -c $C/in/data.bin > data.xz; echo "xz $?"`,
      `$R /usr/bin/xz -d -c data.xz > data.out; echo "unxz $?"; cmp $C/in/data.bin data.out && echo same`,
      `$R /usr/bin/xz -t data.xz; echo "xz-t $?"`,
      `$R /usr/bin/xz -l --robot data.xz | cut -f1-6`,
    ].join('\n'),
    files: () => ['/usr/bin/xz'],
    expect: [/^xz 0$/m, /^same$/m, /^xz-t 0$/m],
  },
  {
    name: 'bzip2',
    program: 'bzip2',
    workload: 'bzip2 -9 compress, decompress, -t of data.bin',
    sh: [
      `$R /usr/bin/bzip2 -9 -c $C/in/data.bin > data.bz2; echo "bzip2 $?"`,
      `$R /usr/bin/bzip2 -d -c data.bz2 > data.out; echo "bunzip2 $?"; cmp $C/in/data.bin data.out && echo same`,
      `$R /usr/bin/bzip2 -t data.bz2; echo "bzip2-t $?"`,
    ].join('\n'),
    files: () => ['/usr/bin/bzip2'],
    expect: [/^bzip2 0$/m, /^same$/m, /^bzip2-t 0$/m],
  },
  {
    name: 'tar',
    program: 'tar',
    workload: 'tar -c (sorted, fixed mtime/owner), -tv, -x, and -c/-x through xz (-I xz: xz its child)',
    sh: [
      `T="--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner"`,
      `$R /usr/bin/tar $T -cf in.tar -C $C in; echo "tar-c $?"`,
      `$R /usr/bin/tar -tvf in.tar; echo "tar-t $?"`,
      `mkdir x && $R /usr/bin/tar -xf in.tar -C x; echo "tar-x $?"`,
      `$R /usr/bin/tar $T -I /usr/bin/xz -cf in.tar.xz -C $C in; echo "tar-cJ $?"`,
      `mkdir y && $R /usr/bin/tar -I /usr/bin/xz -xf in.tar.xz -C y; echo "tar-xJ $?"`,
    ].join('\n'),
    files: () => ['/usr/bin/tar', '/usr/bin/xz'],
    expect: [/^tar-x 0$/m, /^tar-cJ 0$/m, /^tar-xJ 0$/m],
  },
  {
    name: 'gcc',
    program: 'gcc (driver)',
    workload: 'gcc -O2 -Wall prog.c -lm (cc1, as, collect2/ld its children), then the binary run natively',
    sh: [`$R /usr/bin/gcc -O2 -Wall -o prog $C/prog.c -lm; echo "gcc $?"`, `./prog arg; echo "prog $?"`].join('\n'),
    files: gccFiles,
    expect: [/^gcc 0$/m, /^min 5 max 99976 /m, /^prog 3$/m],
    hrtProcesses: 1,
  },
  {
    name: 'tcc',
    program: 'tcc',
    workload: 'tcc -run prog.c (compiled into memory and run in the HRT process), tcc -o and the binary run',
    sh: [
      `$R /usr/bin/tcc -run $C/prog.c arg; echo "tcc-run $?"`,
      `$R /usr/bin/tcc -o tprog $C/prog.c -lm; echo "tcc $?"`,
      `./tprog arg; echo "tprog $?"`,
    ].join('\n'),
    files: () => ['/usr/bin/tcc', ...walk(`${MULTIARCH}/tcc`), ...headers(), ...crtFiles()],
    expect: [/^tcc-run 3$/m, /^tprog 3$/m],
  },
  {
    name: 'bash',
    program: 'bash',
    workload:
      'w.sh: functions, arrays, pipes, subshells, here-doc, <(...), jobs, trap, expansions; its children check they have no libmv, LD_PRELOAD or KVM fd',
    sh: `$R /bin/bash $C/w.sh`,
    files: () => ['/bin/bash'],
    expect: [
      /^jobs 0 5$/m,
      /^trap USR1$/m,
      /^child maps libmv: 0$/m,
      /^child env LD_PRELOAD: 0$/m,
      /^child kvm fds: 0$/m,
      /^grandchild: 0$/m,
    ],
    hrtProcesses: 1,
  },
  {
    name: 'coreutils',
    program: 'coreutils',
    workload: 'sha256sum, md5sum, wc, od, base64, cut, tr, factor, seq, split, expr, tac, paste, date -d, stat',
    sh: [
      `$R /usr/bin/sha256sum $C/in/data.bin $C/in/text.txt`,
      `$R /usr/bin/md5sum $C/in/text.txt`,
      `$R /usr/bin/wc $C/in/text.txt`,
      `$R /usr/bin/od -A x -t x1z -N 128 $C/in/data.bin`,
      `$R /usr/bin/base64 -w 76 $C/in/data.bin > b64.txt`,
      `$R /usr/bin/cut -d ' ' -f 2,4 $C/in/text.txt > cut.txt`,
      `$R /usr/bin/tr a-z A-Z < $C/in/text.txt > upper.txt`,
      `$R /usr/bin/factor 1234567890123 600851475143 18446744073709551557`,
      `$R /usr/bin/seq -w 1 7 50 | $R /usr/bin/paste -s -d,`,
      `$R /usr/bin/split -n 4 -d $C/in/data.bin part.; echo "split $?"`,
      `$R /usr/bin/expr 7 '*' 6 + 1`,
      `$R /usr/bin/tac $C/in/text.txt > tac.txt`,
      `$R /usr/bin/date -u -d @1234567890 '+%F %T %j'`,
      `$R /usr/bin/stat -c '%s %F %a' $C/in/data.bin`,
    ].join('\n'),
    files: () => [],
    expect: [/^split 0$/m, /^43$/m],
  },
  {
    name: 'openssl',
    program: 'openssl',
    workload: 'dgst sha256/sha3-512/HMAC, enc aes-256-cbc and chacha20 with a fixed key/iv both ways, base64, prime',
    sh: [
      `$R /usr/bin/openssl dgst -sha256 $C/in/data.bin`,
      `$R /usr/bin/openssl dgst -sha3-512 $C/in/text.txt`,
      `$R /usr/bin/openssl dgst -sha256 -hmac key $C/in/text.txt`,
      `$R /usr/bin/openssl enc -aes-256-cbc -K ${AES_KEY} -iv ${AES_IV} -in $C/in/data.bin -out aes.bin; echo "enc $?"`,
      `$R /usr/bin/openssl enc -d -aes-256-cbc -K ${AES_KEY} -iv ${AES_IV} -in aes.bin -out aes.out; echo "dec $?"; cmp $C/in/data.bin aes.out && echo same`,
      `$R /usr/bin/openssl enc -chacha20 -K ${AES_KEY} -iv ${AES_IV} -in $C/in/text.txt -out chacha.bin; echo "chacha20 $?"`,
      `$R /usr/bin/openssl base64 -in chacha.bin -out chacha.b64; echo "base64 $?"`,
      `$R /usr/bin/openssl prime 2305843009213693951`,
    ].join('\n'),
    files: () => ['/usr/bin/openssl', '/usr/lib/ssl/openssl.cnf'],
    expect: [/^enc 0$/m, /^same$/m, /^chacha20 0$/m],
  },
  {
    name: 'make',
    program: 'make',
    workload: 'make -s -j2 -f w.mk: 7 targets, recipes in parallel (sh, seq, sha256sum as children)',
    sh: `$R /usr/bin/make -s -j2 -f $C/w.mk`,
    files: () => ['/usr/bin/make'],
    expect: [/^p6 [0-9a-f]{16}$/m, /^6$/m],
    hrtProcesses: 1,
  },
  {
    name: 'stress-ng',
    program: 'stress-ng',
    workload:
      "--verify, 14 stressors (cpu vm malloc matrix hash fork pipe mmap sem futex qsort zlib crypt str), 1 instance each, ops-bounded, --timeout 10s; compared: exit status, the stressors dispatched, skips, every fail/error line and the run's verdict (stress-ng 0.15 prints no per-stressor passed: line)",
    sh: [
      `$R /usr/bin/stress-ng --verify --timeout 10s ` +
        [
          'cpu 1 --cpu-ops 100',
          'vm 1 --vm-bytes 8M --vm-ops 100',
          'malloc 1 --malloc-ops 10000',
          'matrix 1 --matrix-ops 100',
          'hash 1 --hash-ops 100',
          'fork 1 --fork-ops 100',
          'pipe 1 --pipe-ops 10000',
          'mmap 1 --mmap-bytes 1M --mmap-ops 5',
          'sem 1 --sem-ops 1000',
          'futex 1 --futex-ops 10000',
          'qsort 1 --qsort-ops 10',
          'zlib 1 --zlib-ops 10',
          'crypt 1 --crypt-ops 100',
          'str 1 --str-ops 100',
        ]
          .map((s) => `--${s}`)
          .join(' ') +
        ' > sng.log 2>&1',
      'st=$?',
      "grep '^MV-HRT ' sng.log >&2",
      // Verdicts without pids or times: fail/error lines, what was dispatched or skipped, the run's result.
      `sed -n -E -e 's/^stress-ng: (fail|error): +\\[[0-9]+\\] +/\\1: /p' -e 's/^stress-ng: info: +\\[[0-9]+\\] +((dispatching|.*skipp).*)/\\1/p' -e 's/^stress-ng: info: +\\[[0-9]+\\] +((un)?successful run completed).*/\\1/p' sng.log`,
      'mv sng.log ../sng.$$.log',
      'exit $st',
    ].join('\n'),
    files: () => ['/usr/bin/stress-ng'],
    expect: [/^dispatching hogs: 1 cpu/m, /^successful run completed$/m],
    hrtProcesses: 1,
  },
  {
    name: 'node',
    program: 'node',
    workload: 'node -e: JIT-compiled prime loop, Buffer + crypto sha256, JSON, promises and timers, exit code 2',
    sh: `$R /usr/bin/node -e "$(cat $C/w.js)"`,
    files: () => ['/usr/bin/node'],
    expect: [/^primes 3245$/m, /^timers 2,4,6$/m],
    hrtProcesses: 1,
  },
];

/** Every regular file under dir (links followed). */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...walk(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** The headers prog.c includes, as gcc's preprocessor finds them on this host. */
function headers(): string[] {
  // -O2 includes more (glibc's extern inlines: bits/stdio.h and the like).
  return ['-O0', '-O2'].flatMap((o) => {
    const r = spawnSync('gcc', [o, '-M', join(WDIR, 'prog.c')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc -M prog.c: ${r.stderr}`);
    return r.stdout
      .replace(/\\\n/g, ' ')
      .split(/\s+/)
      .filter((f) => f.startsWith('/usr/'));
  });
}

/** glibc's start files and linker scripts (gcc and tcc link with them). */
function crtFiles(): string[] {
  return ['Scrt1.o', 'crt1.o', 'crti.o', 'crtn.o', 'libc.so', 'libc_nonshared.a', 'libm.so', 'libmvec.so.1', 'libgcc_s.so.1', 'libm.so.6']
    .map((f) => `${MULTIARCH}/${f}`)
    .concat(['/lib/x86_64-linux-gnu/libmvec.so.1', '/lib/x86_64-linux-gnu/libm.so.6']);
}

/** gcc's driver, cc1, as, collect2 and ld, the LTO plugin ld loads, gcc's own start files and
 *  libgcc, glibc's, and the headers prog.c includes (gcc's own stddef.h/stdarg.h among them). */
function gccFiles(): string[] {
  return [
    '/usr/bin/gcc',
    '/usr/bin/as',
    '/usr/bin/ld',
    ...[
      'cc1',
      'collect2',
      'lto-wrapper',
      'liblto_plugin.so',
      'crtbeginS.o',
      'crtendS.o',
      'crtbegin.o',
      'crtend.o',
      'libgcc.a',
      'libgcc_s.so',
      'libgcc_eh.a',
    ].map((f) => `${GCC_LIB}/${f}`),
    ...crtFiles(),
    ...headers(),
  ];
}

/** A deterministic text (words from a fixed vocabulary, an LCG) and 256 KiB of mixed data. */
function inputs(dir: string): void {
  const words = (
    'lorem ipsum dolor sit amet the and of quick brown fox jumps over lazy dog quantum quasar ' +
    'question quota quiet quince kernel hybrid runtime nautilus partner forward fault signal thread'
  ).split(' ');
  let x = 20261202;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(Array.from({ length: 4 + rnd(9) }, () => words[rnd(words.length)]).join(' '));
  writeFileSync(join(dir, 'text.txt'), lines.join('\n') + '\n');
  const data = Buffer.alloc(256 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = i % 4096 < 2048 ? rnd(256) : 'abcdefgh'.charCodeAt(rnd(8));
  writeFileSync(join(dir, 'data.bin'), data);
}

function guestFiles(ws: Workload[], inDir: string): GuestFile[] {
  const out = new Map<string, GuestFile>();
  const add = (src: string, dest = guestPath(src)) => {
    if (!existsSync(src)) throw new Error(`${src} is missing on this host (bench/README.md, "compat": the packages it needs)`);
    out.set(dest, { src, dest, mode: statSync(src).mode & 0o777 });
  };
  // python3.11, its standard library, extension modules' libraries, mvrun and libmv's preload.
  for (const f of pythonFiles([])) out.set(f.dest, f);
  for (const p of [...coreutils, '/usr/bin/diff', '/usr/bin/cmp']) add(p);
  for (const w of ws) for (const f of w.files()) add(f);
  // Shared objects loaded with dlopen (the LTO plugin, perl's XS modules): their libraries too.
  for (const f of [...out.values()])
    if (/\.so(\.\d+)*$/.test(f.dest) && !f.dest.startsWith('/lib/') && isElf(f.src))
      for (const l of sharedLibraries(f.src)) if (!out.has(l)) add(l);
  for (const f of readdirSync(WDIR)) add(join(WDIR, f), `${C}/${f}`);
  for (const f of readdirSync(inDir)) add(join(inDir, f), `${C}/in/${f}`);
  return [...out.values()];
}

let applets: Set<string> | undefined;
/** Where a host program goes in the guest: its own path, unless busybox's applet link is there. */
function guestPath(p: string): string {
  applets ??= new Set(
    execFileSync('busybox', ['--list-full'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((a) => `/${a}`),
  );
  return applets.has(p) ? `${DEB}/${basename(p)}` : p;
}

/** The same command with each /usr/bin program at its guest path. */
const relocate = (sh: string) => sh.replace(/\/usr\/bin\/[\w.+-]+/g, (m) => guestPath(m));

/** Not a linker script (libc.so, libgcc_s.so are text). */
function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(4);
  readSync(fd, b, 0, 4, 0);
  closeSync(fd);
  return b.toString('latin1') === '\x7fELF';
}

/** The guest's script: each workload natively, then in the HRT, each in a fresh directory;
 *  one result line per run; where the two differ, the first lines of each diff. */
function script(ws: Workload[], hrtPrefix: string, c: string, guest: boolean, runs: number): string {
  const lines = [
    `export PATH=${guest ? `${DEB}:` : ''}/usr/bin:/bin:/usr/sbin:/sbin HOME=/root LANG=C LC_ALL=C TZ=UTC TMPDIR=/tmp`,
    `C=${c}`,
    'export C',
    '[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd',
    'ip link set lo up 2>/dev/null',
    'W=$(mktemp -d /tmp/mv-compat.XXXXXX)',
    'now() { /usr/bin/date +%s.%N; }',
    '# one NAME MODE RUN: the workload in a fresh directory; its stdout, stderr and files (sha256) kept',
    'one() {',
    '  name=$1 mode=$2 run=$3 f="$W/$2.$1.$3"',
    `  if [ "$mode" = hrt ]; then R="${hrtPrefix}"; else R=; fi`,
    '  export R',
    '  mkdir -p "$W/$mode/$name.$run" && cd "$W/$mode/$name.$run" || return',
    '  t0=$(now)',
    '  timeout -s KILL 900 sh "$C/cmd/$name.sh" > "$f.out" 2> "$f.err" < /dev/null',
    '  st=$?',
    '  t1=$(now)',
    '  find . -type f | LC_ALL=C sort | xargs -r sha256sum > "$f.files"',
    '  cd "$W" && rm -rf "$W/$mode/$name.$run"',
    '  grep -v "^MV-HRT " "$f.err" > "$f.err2"',
    '  echo "MV-COMPAT name=$name mode=$mode run=$run status=$st secs=$(awk "BEGIN { printf \\"%.3f\\", $t1 - $t0 }") out=$(sha256sum < "$f.out" | cut -c1-16) outlines=$(wc -l < "$f.out") files=$(wc -l < "$f.files") filesum=$(sha256sum < "$f.files" | cut -c1-16) hrt=$(grep -c "^MV-HRT " "$f.err")"',
    '  grep "^mv" "$f.err" | head -20 | sed "s/^/MV-COMPAT-L $name $mode.$run| /"',
    '  [ "$run" != 1 ] || head -8 "$f.err2" | sed "s/^/MV-COMPAT-E $name $mode.$run| /"',
    '}',
    '# cmp_one NAME MODE RUN: that run against the first native one; the first lines of each diff',
    'cmp_one() {',
    '  b="$W/native.$1.1" f="$W/$2.$1.$3" t="$1 $2.$3|"',
    '  cmp -s "$b.out" "$f.out" || diff -u "$b.out" "$f.out" | head -40 | sed "s/^/MV-COMPAT-D $t /"',
    '  cmp -s "$b.files" "$f.files" || diff -u "$b.files" "$f.files" | head -20 | sed "s/^/MV-COMPAT-F $t /"',
    '  cmp -s "$b.err2" "$f.err2" || diff -u "$b.err2" "$f.err2" | head -20 | sed "s/^/MV-COMPAT-S $t /"',
    '}',
  ];
  // Round 1 native then HRT; later rounds (timing) alternate which goes first.
  for (const w of ws)
    lines.push(
      `one ${w.name} native 1`,
      `one ${w.name} hrt 1`,
      `cmp_one ${w.name} hrt 1`,
      `head -40 "$W/native.${w.name}.1.out" | sed "s/^/MV-COMPAT-O ${w.name}| /"`,
    );
  for (let r = 2; r <= runs; r++) {
    const order = r % 2 ? ['native', 'hrt'] : ['hrt', 'native'];
    for (const w of ws) for (const m of order) lines.push(`one ${w.name} ${m} ${r}`, `cmp_one ${w.name} ${m} ${r}`);
  }
  lines.push('echo MV-COMPAT-DONE');
  const text = lines.join('\n') + '\n';
  return guest ? relocate(text) : text;
}

interface Side {
  run: number;
  status: number;
  secs: number;
  out: string;
  outLines: number;
  files: number;
  filesum: string;
  hrt: number;
}

interface Row {
  name: string;
  program: string;
  workload: string;
  /** Every run's result, in order. */
  native: Side[];
  hrt: Side[];
  /** Median wall time of each side. */
  nativeS?: number;
  hrtS?: number;
  ratio?: number;
  same: boolean;
  note: string;
  sample: string[];
  diff: string[];
  filesDiff: string[];
  stderrDiff: string[];
  libmv: string[];
  /** The first lines of stderr of each side (MV-HRT lines removed). */
  stderrNative: string[];
  stderrHrt: string[];
}

function parse(output: string, ws: Workload[]): Row[] {
  const sides = new Map<string, Side[]>();
  const blocks = new Map<string, string[]>();
  const block = (key: string) => blocks.get(key) ?? blocks.set(key, []).get(key)!;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = line.match(
      /^MV-COMPAT name=(\S+) mode=(native|hrt) run=(\d+) status=(\d+) secs=([\d.]+) out=(\w+) outlines=\s*(\d+) files=\s*(\d+) filesum=(\w+) hrt=(\d+)/,
    );
    if (m) {
      const key = `${m[1]}/${m[2]}`;
      (sides.get(key) ?? sides.set(key, []).get(key)!).push({
        run: +m[3],
        status: +m[4],
        secs: +m[5],
        out: m[6],
        outLines: +m[7],
        files: +m[8],
        filesum: m[9],
        hrt: +m[10],
      });
      continue;
    }
    const b = line.match(/^MV-COMPAT-([DFSOEL]) (\S+)(?: (native|hrt)\.(\d+))?\| ?(.*)$/);
    if (!b) continue;
    block(`${b[1]}/${b[2]}`).push(b[3] && b[1] !== 'E' && b[1] !== 'L' ? `[${b[3]} run ${b[4]}] ${b[5]}` : b[5]);
    if (b[3]) block(`${b[1]}/${b[2]}/${b[3]}`).push(b[5]);
  }
  return ws.map((w) => {
    const native = sides.get(`${w.name}/native`) ?? [],
      hrt = sides.get(`${w.name}/hrt`) ?? [];
    const notes: string[] = [];
    let same = false;
    const base = native.find((x) => x.run === 1);
    if (!base || !hrt.length) notes.push(`no result ${!base ? 'natively' : 'in the HRT'} (the guest stopped?)`);
    else {
      const differ = (k: 'out' | 'status' | 'filesum', xs: Side[]) => xs.filter((x) => x[k] !== base[k]).map((x) => x.run);
      same = true;
      for (const [k, what] of [
        ['out', 'stdout'],
        ['status', 'exit status'],
        ['filesum', 'output files'],
      ] as const) {
        const h = differ(k, hrt),
          n = differ(k, native);
        if (h.length) {
          same = false;
          notes.push(`${what} differs in the HRT (run ${h.join(', ')} of ${hrt.length})`);
        }
        if (n.length) {
          same = false;
          notes.push(`${what} differs between native runs (run ${n.join(', ')}): not deterministic`);
        }
      }
      const noHrt = hrt.filter((x) => x.hrt < 1).map((x) => x.run);
      if (noHrt.length) {
        same = false;
        notes.push(`main did not reach the HRT (no MV-HRT line; run ${noHrt.join(', ')})`);
      }
      const extra = w.hrtProcesses === undefined ? [] : hrt.filter((x) => x.hrt >= 1 && x.hrt !== w.hrtProcesses);
      if (extra.length) {
        same = false;
        notes.push(`${extra[0].hrt} processes reached the HRT, expected ${w.hrtProcesses} (a child in the HRT?)`);
      }
      if (native.some((x) => x.hrt)) notes.push('MV-HRT lines natively?');
      const text = (blocks.get(`O/${w.name}`) ?? []).join('\n');
      const missing = w.expect.filter((re) => !re.test(text));
      if (missing.length) {
        same = false;
        notes.push(`the workload failed natively: no ${missing.map(String).join(', ')}`);
      }
      notes.push(`status ${base.status}`);
      if (base.files) notes.push(`${base.files} output file${base.files > 1 ? 's' : ''}`);
      notes.push(`${hrt[0].hrt} process${hrt[0].hrt > 1 ? 'es' : ''} in the HRT`);
      if (blocks.get(`S/${w.name}`)) notes.push('stderr differs (not compared)');
    }
    const nativeS = native.length ? median(native.map((x) => x.secs)) : undefined,
      hrtS = hrt.length ? median(hrt.map((x) => x.secs)) : undefined;
    return {
      name: w.name,
      program: w.program,
      workload: w.workload,
      native,
      hrt,
      nativeS,
      hrtS,
      ratio: nativeS && hrtS ? hrtS / nativeS : undefined,
      same,
      note: notes.join('; '),
      sample: blocks.get(`O/${w.name}`) ?? [],
      diff: blocks.get(`D/${w.name}`) ?? [],
      filesDiff: blocks.get(`F/${w.name}`) ?? [],
      stderrDiff: blocks.get(`S/${w.name}`) ?? [],
      libmv: blocks.get(`L/${w.name}/hrt`) ?? [],
      stderrNative: blocks.get(`E/${w.name}/native`) ?? [],
      stderrHrt: blocks.get(`E/${w.name}/hrt`) ?? [],
    };
  });
}

const esc = (s: string) => s.replace(/\|/g, '\\|');
const fmt = (n: number | undefined, d = 2) => (n === undefined ? '–' : n.toFixed(d));

function markdown(rows: Row[], meta: { host: ReturnType<typeof hostInfo>; wallS: number; guest: string; runs: number }): string {
  const ok = rows.filter((r) => r.same).length;
  const out = [
    "# Debian's programs under mvrun: native vs HRT (issue 15's table)",
    '',
    `Each program, unmodified (Debian bookworm's binaries), on a short deterministic workload (\`bench/compat/\`), natively and under \`mvrun\` with \`MV_REQUIRE_HRT=1\`, back to back in one boot of ${meta.guest} on ${meta.host.cpu} (${meta.host.cores} cores, load ${meta.host.load1}, ${meta.host.date}; the whole run ${meta.wallS.toFixed(0)} s).`,
    `Same = stdout, exit status and every file the workload left (sha256) identical byte for byte, main reached the HRT (libmv's \`MV-HRT\` line), and the native output has the lines the workload must print. Times are the workload's wall time in seconds, the median of ${meta.runs} runs each way (round 1 native first, then alternating; every run's output must equal the first native one's), TCG, so the HRT's exits cost about 50 µs each, with the host's load at the start as given; ratio = HRT / native. A workload that runs N programs under mvrun (the note's "N processes in the HRT") pays N HRT starts, which dominate the short ones.`,
    '',
    `**${ok} of ${rows.length} programs agree.**`,
    '',
    '| program | workload | native s | HRT s | ratio | same output | note |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.program} | ${esc(r.workload)} | ${fmt(r.nativeS)} | ${fmt(r.hrtS)} | ${fmt(r.ratio)} | ${r.same ? 'yes' : '**no**'} | ${esc(r.note)} |`,
    ),
    '',
  ];
  for (const r of rows.filter((x) => !x.same || x.stderrDiff.length || x.libmv.length)) {
    out.push(`## ${r.program}${r.same ? ' (same output; stderr or libmv lines)' : ': differs'}`, '');
    if (r.diff.length) out.push('stdout, `diff -u native hrt` (first lines):', '', '```diff', ...r.diff, '```', '');
    if (r.filesDiff.length) out.push('output files (sha256), `diff -u native hrt`:', '', '```diff', ...r.filesDiff, '```', '');
    if (r.stderrDiff.length)
      out.push('stderr (not compared; `MV-HRT` lines removed), `diff -u native hrt`:', '', '```diff', ...r.stderrDiff, '```', '');
    if (r.libmv.length) out.push("libmv's lines on stderr in the HRT:", '', '```', ...r.libmv, '```', '');
  }
  out.push('## First lines of each native output', '');
  for (const r of rows) out.push(`- ${r.program}: \`${esc(r.sample.slice(0, 3).join(' ⏎ ')).slice(0, 200)}\``);
  out.push('');
  return out.join('\n');
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main() {
  const args = process.argv.slice(2);
  const only = option(args, '--only')?.split(',');
  const runs = Number(option(args, '--runs') ?? 3);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${option(args, '--runs')}`);
  const ws = only ? WORKLOADS.filter((w) => only.includes(w.name)) : WORKLOADS;
  if (only && ws.length !== only.length) throw new Error(`--only: unknown names (have ${WORKLOADS.map((w) => w.name).join(', ')})`);
  const tmp = mkdtempSync(join(tmpdir(), 'mv-compat-'));
  const inDir = join(tmp, 'in');
  mkdirSync(inDir);
  inputs(inDir);

  if (args.includes('--local')) {
    // The same script on this host, natively both times: are the workloads deterministic?
    const c = join(tmp, 'c');
    mkdirSync(join(c, 'cmd'), { recursive: true });
    spawnSync('cp', ['-r', inDir, join(c, 'in')]);
    for (const f of readdirSync(WDIR)) writeFileSync(join(c, f), readFileSync(join(WDIR, f)));
    for (const w of ws) writeFileSync(join(c, 'cmd', `${w.name}.sh`), w.sh + '\n');
    const r = spawnSync('busybox', ['sh', '-c', script(ws, '', c, false, runs)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    process.stdout.write(r.stdout.replace(/^MV-COMPAT-O .*\n/gm, ''));
    process.stderr.write(r.stderr);
    const rows = parse(r.stdout, ws);
    for (const row of rows) {
      const bad = row.note.split('; ').filter((n) => /differs|failed natively/.test(n));
      console.log(
        `${row.name}: ${bad.length ? `DIFFERS: ${bad.join('; ')}` : 'deterministic'} (${fmt(row.nativeS, 3)} s, ${fmt(row.hrtS, 3)} s)`,
      );
    }
    return;
  }

  const guest = { cpus: 2, memMiB: 4096 };
  const outDir = join(repo, 'bench', 'results');
  const from = option(args, '--from');
  let run: { output: string; status: number | null }, host: ReturnType<typeof hostInfo>, wallS: number;
  if (from) {
    // A saved guest output (guest.txt): the report again, with the host and time of the run that
    // wrote bench/results/compat.json (the run that output came from).
    run = { output: readFileSync(from, 'utf8'), status: 0 };
    const prev = JSON.parse(readFileSync(join(outDir, 'compat.json'), 'utf8')) as { host: typeof host; wallS: number };
    host = prev.host;
    wallS = prev.wallS;
  } else {
    const files = guestFiles(ws, inDir);
    // The commands go in as files (runInGuest takes files; the script is one more).
    const cmdDir = join(tmp, 'cmd');
    mkdirSync(cmdDir);
    for (const w of ws) {
      writeFileSync(join(cmdDir, `${w.name}.sh`), relocate(w.sh) + '\n');
      files.push({ src: join(cmdDir, `${w.name}.sh`), dest: `${C}/cmd/${w.name}.sh`, mode: 0o644 });
    }
    const mib = files.reduce((sum, f) => sum + statSync(f.src).size, 0) / 2 ** 20;
    console.error(`compat: ${ws.length} programs, ${runs} runs, ${files.length} guest files (${mib.toFixed(0)} MiB); booting the guest`);
    host = hostInfo();
    const t0 = Date.now();
    run = await runInGuest({
      files,
      script: script(ws, `env MV_REQUIRE_HRT=1 MV_ANNOUNCE=1 ${MVRUN}`, C, true, runs),
      ...guest,
      timeoutMs: 7_200_000,
      onLine: (l) => {
        if (/^MV-COMPAT name=/.test(l)) console.error(l.trim());
      },
    });
    wallS = (Date.now() - t0) / 1000;
    writeFileSync(join(tmp, 'guest.txt'), run.output);
  }
  const rows = parse(run.output, ws);
  const done = /^MV-COMPAT-DONE/m.test(run.output);
  const runsDone = Math.max(0, ...rows.map((r) => Math.min(r.native.length, r.hrt.length)));
  const where = `the HRT tests' QEMU TCG guest (-cpu max, ${guest.cpus} CPUs, ${guest.memMiB} MiB, nested KVM via kvm_amd)`;
  const result = {
    suite: 'compat',
    title: "Debian's programs under mvrun: native vs HRT",
    host,
    guest: { ...guest, accel: 'tcg' },
    runs: runsDone,
    wallS,
    completed: done,
    guestStatus: run.status,
    agree: rows.filter((r) => r.same).length,
    programs: rows,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'compat.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, 'compat.md'), markdown(rows, { host, wallS, guest: where, runs: runsDone }));
  console.log('| program | native s | HRT s | ratio | same | note |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.program} | ${fmt(r.nativeS)} | ${fmt(r.hrtS)} | ${fmt(r.ratio)} | ${r.same ? 'yes' : 'NO'} | ${r.note} |`);
  console.error(
    `compat: ${result.agree} of ${rows.length} agree; guest output ${from ?? join(tmp, 'guest.txt')}; wrote bench/results/compat.{json,md}`,
  );
  if (!done)
    console.error(`compat: the guest did not finish (status ${run.status}); tail:\n${run.output.split('\n').slice(-30).join('\n')}`);
  if (!done || rows.some((r) => !r.same)) process.exit(1);
}

if (require.main === module)
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
