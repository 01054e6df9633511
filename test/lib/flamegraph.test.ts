// Folded stacks -> flame graph: the parser (sums, bounds, one clear error per bad line), the SVG
// d3-flame-graph draws (boxes as wide as their share of the samples), and `mv-image flamegraph`.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFolded, renderFlameGraph } from '../../src/lib/flamegraph';
import { MvError } from '../../src/lib/errors';
import { cli, tempDir } from '../helpers/cli';

const FOLDED = 'main;run;luaV_execute 60\nmain;run;luaV_execute;[syscall:read] 20\nmain;load;[page-fault] 20\n\n';

test('parseFolded sums each frame over the stacks that pass through it', (t) => {
  const root = parseFolded(FOLDED);
  t.is(root.value, 100);
  const main = root.children[0];
  t.is(main.name, 'main');
  t.deepEqual(
    main.children.map((c) => [c.name, c.value]),
    [
      ['run', 80],
      ['load', 20],
    ],
  );
  t.is(main.children[0].children[0].children[0].name, '[syscall:read]');
});

test('parseFolded names the first line that is not a folded stack, and refuses an empty profile', (t) => {
  const bad = t.throws(() => parseFolded('main;a 3\nmain;b three\n', 'p.folded'), { instanceOf: MvError });
  t.regex(bad.message, /line 2 of p\.folded is not a folded stack/);
  t.throws(() => parseFolded('main;;b 3\n'), { message: /line 1/ }, 'an empty frame');
  t.throws(() => parseFolded('\n\n'), { message: /holds no samples/ });
});

test('the SVG has a box per frame, each as wide as its share of the samples', async (t) => {
  const svg = await renderFlameGraph(parseFolded(FOLDED), { title: 'demo', width: 1000 });
  t.regex(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.regex(svg, /<style>\.d3-flame-graph rect/, 'the stylesheet is inside, so the file stands alone');
  const width = (name: string) =>
    Number(svg.match(new RegExp(`<g [^>]*name="${name.replace(/[[\]]/g, '\\$&')}"[^>]*><rect [^>]*width="([\\d.]+)"`))?.[1]);
  t.is(width('all'), 1000);
  t.is(Math.round(width('run')), 800);
  t.is(Math.round(width('load')), 200);
  t.is(Math.round(width('[syscall:read]')), 200);
  t.regex(svg, /<title>luaV_execute \(80\.000%, 80 samples\)<\/title>/);
});

test('mv-image flamegraph writes the SVG next to the profile; bad input is one line and no file', (t) => {
  const dir = tempDir('mv-flame-');
  writeFileSync(join(dir, 'p.folded'), FOLDED);
  const ok = cli(['flamegraph', join(dir, 'p.folded')], {}, 60_000);
  t.is(ok.status, 0, ok.stderr);
  t.regex(readFileSync(join(dir, 'p.svg'), 'utf8'), /name="luaV_execute"/);
  writeFileSync(join(dir, 'bad.folded'), 'not a stack\n');
  const bad = cli(['flamegraph', join(dir, 'bad.folded'), '-o', join(dir, 'bad.svg')], {}, 60_000);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^mv-image: flamegraph: line 1 of .*bad\.folded is not a folded stack .*\(fix: .*\)\n$/);
  const missing = cli(['flamegraph', join(dir, 'none.folded')], {}, 60_000);
  t.regex(missing.stderr, /^mv-image: flamegraph: .*none\.folded does not exist/m);
  const dirIn = cli(['flamegraph', dir], {}, 60_000);
  t.regex(dirIn.stderr, /is not a regular file/);
  t.false(existsSync(join(dir, 'bad.svg')));
  t.deepEqual(readdirSync(dir).sort(), ['bad.folded', 'p.folded', 'p.svg'], 'no temporary file left');
});
