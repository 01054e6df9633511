// The benchmark suites' arithmetic (bench/suite-report.ts): driver lines in, medians, ratios,
// output identity, MV_STATS tables and the README's generated block out. No timing is asserted
// here (that is bench/'s job).
import test from 'ava';
import { markdown, parseForwarded, readmeBlock, summarize, updateReadme } from '../../bench/suite-report';
import { LUA } from '../../bench/lua';
import { RACKET } from '../../bench/racket';
import { hostInfo } from '../../bench/stats';

const line = (mode: string, run: number, name: string, cpu: number, digest = 'aaaa', check = 'ok', status = 0) =>
  `MV-BENCH mode=${mode} run=${run} status=${status} wall_s=${(cpu + 0.01).toFixed(2)} name=${name} n=10 cpu_s=${cpu} bytes=3 digest=${digest} check=${check}`;

const meta = { host: hostInfo(), where: { kind: 'guest' as const, detail: 'test' }, preset: 'small', runs: 3, elapsedS: 1 };

test('medians, min/max and the HRT/native ratio per program; compute median over compute-bound ones', (t) => {
  const out = [
    'noise',
    line('native', 1, 'nbody', 1.0),
    line('hrt', 1, 'nbody', 1.1),
    line('hrt', 2, 'nbody', 0.9),
    line('native', 2, 'nbody', 1.2),
    line('native', 3, 'nbody', 1.1),
    line('hrt', 3, 'nbody', 1.0),
    line('native', 1, 'filecopy', 0.1),
    line('hrt', 1, 'filecopy', 0.2),
  ].join('\n');
  const r = summarize(LUA, meta, out);
  const nb = r.programs.find((p) => p.name === 'nbody')!;
  t.deepEqual(nb.native.time, { median: 1.1, min: 1.0, max: 1.2, all: [1.0, 1.2, 1.1] });
  t.is(nb.hrt.time.median, 1.0);
  t.is(nb.ratio, 1.0 / 1.1);
  t.true(nb.ok && nb.outputsIdentical);
  const fc = r.programs.find((p) => p.name === 'filecopy')!;
  t.is(fc.kind, 'syscall');
  t.is(Math.round(fc.perCallUs!), Math.round((0.1 / 22) * 1e6));
  t.is(r.summary.computeMedianRatio, nb.ratio);
  t.regex(markdown(LUA, r), /\| nbody \| compute \| 10 \| 1\.100 \(1\.000–1\.200\) \| 1\.000 \(0\.900–1\.100\) \| \*\*0\.909\*\* \|/);
});

test('a different output, a wrong digest or a failed run marks the program not ok', (t) => {
  const r = summarize(
    LUA,
    meta,
    [
      line('native', 1, 'fasta', 1, 'aaaa'),
      line('hrt', 1, 'fasta', 1, 'bbbb'),
      line('native', 1, 'mandelbrot', 1, 'cccc', 'BAD'),
      line('hrt', 1, 'mandelbrot', 1, 'cccc', 'BAD'),
      line('native', 1, 'alloc', 1),
      'MV-BENCH mode=hrt run=1 status=126 wall_s=0.01 name=alloc n=10 check=none',
    ].join('\n'),
  );
  const by = (n: string) => r.programs.find((p) => p.name === n)!;
  t.false(by('fasta').outputsIdentical);
  t.false(by('fasta').ok);
  t.false(by('mandelbrot').digestOk);
  t.false(by('alloc').ok);
  t.deepEqual(by('alloc').failures, ['hrt run 1: status 126, check none']);
  t.false(r.summary.allOutputsIdentical);
});

test('the README block is added under "## Results" once, then replaced in place; each suite has its own', (t) => {
  const r = summarize(LUA, meta, [line('native', 1, 'nbody', 1), line('hrt', 1, 'nbody', 1)].join('\n'));
  const once = updateReadme('lua', '# x\n\ntext\n', readmeBlock(LUA, r));
  t.regex(once, /\n## Results\n\n<!-- results:lua:begin[^\n]*-->\nLua 5\.4 suite .*nbody 1\.000.*\n<!-- results:lua:end -->\n$/);
  const twice = updateReadme('lua', once, readmeBlock(LUA, r).replace('nbody 1.000', 'nbody 2.000'));
  t.is(twice.match(/results:lua:begin/g)?.length, 1);
  t.regex(twice, /nbody 2\.000/);
  const other = updateReadme('lua', '# x\n\n## Results\n\nother bench\n', readmeBlock(LUA, r));
  t.regex(other, /## Results\n\n<!-- results:lua:begin[\s\S]*results:lua:end -->\n\nother bench\n$/);
  const both = updateReadme('racket', twice, readmeBlock(RACKET, summarize(RACKET, meta, '')));
  t.is(both.match(/results:lua:begin/g)?.length, 1);
  t.is(both.match(/results:racket:begin/g)?.length, 1);
  // The new block went first; replacing the later one (lua) leaves it alone.
  const again = updateReadme('lua', both, readmeBlock(LUA, r).replace('nbody 1.000', 'nbody 2.000'));
  t.is(again.match(/results:racket:begin/g)?.length, 1, again);
  t.is(again, both);
});

// Racket: three modes, the time is real_s, and the HRT modes carry MV_STATS lines.
const rline = (mode: string, run: number, name: string, real: number) =>
  `MV-BENCH mode=${mode} run=${run} status=0 wall_s=${real + 1} name=${name} n=64 real_s=${real} cpu_s=0.5 gc_s=0 bytes=3 digest=dd check=ok`;
const stats = (mode: string, run: number, name: string, syscalls: number, readN: number, clock = 0) => [
  `MV-BENCH-STATS mode=${mode} run=${run} name=${name} ` +
    JSON.stringify({
      hrt: true,
      wall_us: 9000000,
      vcpus: 2,
      guest_us: 1,
      exits: { total: syscalls + 50, syscall: syscalls },
      syscalls: { n: syscalls, us: syscalls * 100, by_name: { read: { n: readN, us: readN * 80 }, mmap: { n: 30, us: 900 } } },
      faults: { n: 40, us: 4000 },
      signals: 0,
      exitless: { n: 0 },
      overridden: { n: clock, ...(clock ? { clock_gettime: clock } : {}) },
    }),
];

test('Racket: real_s as the time, the hrt-ov mode and its ratios, and the forwarded-call tables', (t) => {
  const out = [
    rline('native', 1, 'nbody', 1.0),
    rline('hrt', 1, 'nbody', 1.2),
    ...stats('hrt', 1, 'nbody', 2000, 1600),
    rline('hrt-ov', 1, 'nbody', 1.1),
    ...stats('hrt-ov', 1, 'nbody', 1900, 1600, 500),
    rline('native', 2, 'nbody', 1.0),
    rline('hrt', 2, 'nbody', 1.4),
    ...stats('hrt', 2, 'nbody', 2200, 1700),
    rline('hrt-ov', 2, 'nbody', 1.1),
    ...stats('hrt-ov', 2, 'nbody', 1900, 1600, 700),
  ].join('\n');
  const r = summarize(RACKET, { ...meta, overrides: ['clock_gettime'] }, out);
  const nb = r.programs[0];
  const near = (a: number | undefined, b: number) => t.true(Math.abs((a ?? NaN) - b) < 1e-9, `${a} != ${b}`);
  near(nb.hrt.time.median, 1.3);
  near(nb.ratio, 1.3);
  near(nb.hrtOv?.time.median, 1.1);
  near(nb.ovVsHrt, 1.1 / 1.3);
  t.deepEqual(nb.forwarded.hrt, {
    syscalls: 2100,
    syscallMs: 210,
    faults: 40,
    faultMs: 4,
    exits: 2150,
    vcpus: 2,
    calls: [
      { name: 'read', n: 1650, ms: 132 },
      { name: 'mmap', n: 30, ms: 0.9 },
    ],
    overridden: [],
  });
  t.deepEqual(nb.forwarded['hrt-ov']?.overridden, [{ name: 'clock_gettime', n: 600 }]);
  t.true(nb.ok);
  const md = markdown(RACKET, r);
  t.regex(
    md,
    /\| nbody \| compute \| 64 \| 1\.000 \(1\.000–1\.000\) \| 1\.300 \(1\.200–1\.400\) \| \*\*1\.300\*\* \| [\d.]+ \| 1\.100 \(1\.100–1\.100\) \| \*\*1\.100\*\* \| identical, digest ok \|/,
  );
  t.regex(md, /\| nbody \| 2\.300 \| 2 \| 2150 \| 2100 \| 210 \| 40 \| 4\.00 \| read 1650 \(132\), mmap 30 \(0\.90\) \|/);
  t.regex(md, /\| nbody \| 1\.300 \| 1\.100 \| \*\*0\.846\*\* \| 2100 → 1900 \| clock_gettime 600 \|/);
  t.is(parseForwarded(out, 'nbody', 'native'), undefined, 'the native runs have no MV_STATS');
});
