// The Lua benchmark's arithmetic: run.lua ab lines in, medians, ratios, output identity and the
// README's generated block out. No timing is asserted here (that is bench/'s job).
import test from 'ava';
import { markdown, parseRuns, readmeBlock, summarize, updateReadme } from '../../bench/lua-report';
import { hostInfo } from '../../bench/stats';

const line = (mode: string, run: number, name: string, cpu: number, digest = 'aaaa', check = 'ok', status = 0) =>
  `MV-BENCH mode=${mode} run=${run} status=${status} wall_s=${(cpu + 0.01).toFixed(2)} name=${name} n=10 cpu_s=${cpu} bytes=3 digest=${digest} check=${check}`;

const meta = { host: hostInfo(), where: { kind: 'guest' as const, detail: 'test' }, preset: 'small', runs: 3, elapsedS: 1 };

test('medians, min/max and the HRT/native ratio per program; compute median over compute-bound ones', (t) => {
  const out = [
    'noise', line('native', 1, 'nbody', 1.0), line('hrt', 1, 'nbody', 1.1), line('hrt', 2, 'nbody', 0.9), line('native', 2, 'nbody', 1.2),
    line('native', 3, 'nbody', 1.1), line('hrt', 3, 'nbody', 1.0),
    line('native', 1, 'filecopy', 0.1), line('hrt', 1, 'filecopy', 0.2),
  ].join('\n');
  const r = summarize(meta, parseRuns(out));
  const nb = r.programs.find((p) => p.name === 'nbody')!;
  t.deepEqual(nb.native.cpu, { median: 1.1, min: 1.0, max: 1.2, all: [1.0, 1.2, 1.1] });
  t.is(nb.hrt.cpu.median, 1.0);
  t.is(nb.ratio, 1.0 / 1.1);
  t.true(nb.ok && nb.outputsIdentical);
  const fc = r.programs.find((p) => p.name === 'filecopy')!;
  t.is(fc.kind, 'syscall');
  t.is(Math.round(fc.perCallUs!), Math.round((0.1 / 22) * 1e6));
  t.is(r.summary.computeMedianRatio, nb.ratio);
  t.regex(markdown(r), /\| nbody \| compute \| 10 \| 1\.100 \(1\.000–1\.200\) \| 1\.000 \(0\.900–1\.100\) \| \*\*0\.909\*\* \|/);
});

test('a different output, a wrong digest or a failed run marks the program not ok', (t) => {
  const r = summarize(meta, parseRuns([
    line('native', 1, 'fasta', 1, 'aaaa'), line('hrt', 1, 'fasta', 1, 'bbbb'),
    line('native', 1, 'mandelbrot', 1, 'cccc', 'BAD'), line('hrt', 1, 'mandelbrot', 1, 'cccc', 'BAD'),
    line('native', 1, 'alloc', 1), 'MV-BENCH mode=hrt run=1 status=126 wall_s=0.01 name=alloc n=10 check=none',
  ].join('\n')));
  const by = (n: string) => r.programs.find((p) => p.name === n)!;
  t.false(by('fasta').outputsIdentical);
  t.false(by('fasta').ok);
  t.false(by('mandelbrot').digestOk);
  t.false(by('alloc').ok);
  t.deepEqual(by('alloc').failures, ['hrt run 1: status 126, check none']);
  t.false(r.summary.allOutputsIdentical);
});

test('the README block is added under "## Results" once, then replaced in place', (t) => {
  const r = summarize(meta, parseRuns([line('native', 1, 'nbody', 1), line('hrt', 1, 'nbody', 1)].join('\n')));
  const once = updateReadme('# x\n\ntext\n', readmeBlock(r));
  t.regex(once, /\n## Results\n\n<!-- results:lua:begin[^\n]*-->\nLua 5\.4 suite .*nbody 1\.000.*\n<!-- results:lua:end -->\n$/);
  const twice = updateReadme(once, readmeBlock(r).replace('nbody 1.000', 'nbody 2.000'));
  t.is(twice.match(/results:lua:begin/g)?.length, 1);
  t.regex(twice, /nbody 2\.000/);
  const other = updateReadme('# x\n\n## Results\n\nother bench\n', readmeBlock(r));
  t.regex(other, /## Results\n\n<!-- results:lua:begin[\s\S]*results:lua:end -->\n\nother bench\n$/);
});
