import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, cachedMeta, hashOf } from '../../src/lib/cache';
import { META_MAX_BYTES, metaFile } from '../../src/lib/meta';
import { tempDir } from '../helpers/cli';

test.serial('a key is produced once; concurrent callers wait and share the result', async (t) => {
  process.env.XDG_CACHE_HOME = tempDir();
  let runs = 0;
  const produce = async (tmp: string) => {
    runs++;
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(tmp, 'out'), 'made');
  };
  const [a, b] = await Promise.all([cached('t', 'k1', produce), cached('t', 'k1', produce)]);
  t.is(runs, 1);
  t.is(a.dir, b.dir);
  t.deepEqual([a.hit, b.hit].sort(), [false, true]);
  t.is(readFileSync(join(a.dir, 'out'), 'utf8'), 'made');
  t.true((await cached('t', 'k1', produce)).hit);
});

test.serial("a failed producer leaves nothing, and a dead owner's lock is taken over", async (t) => {
  process.env.XDG_CACHE_HOME = tempDir();
  await t.throwsAsync(
    cached('t', 'k2', async () => {
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  const lockDir = join(process.env.XDG_CACHE_HOME, 'mv-image', 't', 'k2.lock');
  mkdirSync(lockDir);
  writeFileSync(join(lockDir, 'pid'), '999999999');
  const r = await cached('t', 'k2', async (tmp) => writeFileSync(join(tmp, 'out'), 'ok'));
  t.false(r.hit);
});

test('hashOf is stable under key order and distinguishes values', (t) => {
  t.is(hashOf({ a: 1, b: [Buffer.from('x'), 'y'] }), hashOf({ b: [Buffer.from('x'), 'y'], a: 1 }));
  t.not(hashOf({ a: '1' }), hashOf({ a: 1 }));
});

test.serial('cached metadata is read back through its schema; a malformed file is a miss and is rebuilt', async (t) => {
  process.env.XDG_CACHE_HOME = tempDir();
  const meta = metaFile('m.json', { type: 'object', required: ['version'], properties: { version: { type: 'string' } } } as const);
  let runs = 0;
  const produce = async (tmp: string) => {
    runs++;
    writeFileSync(join(tmp, 'm.json'), JSON.stringify({ version: `v${runs}` }));
  };
  const a = await cachedMeta('t', 'meta', meta, produce);
  t.deepEqual([a.hit, a.meta.version], [false, 'v1']);
  t.deepEqual((await cachedMeta('t', 'meta', meta, produce)).meta, { version: 'v1' });
  for (const bad of ['{"version": 1}', 'not json', '{}']) {
    writeFileSync(join(a.dir, 'm.json'), bad);
    const b = await cachedMeta('t', 'meta', meta, produce);
    t.false(b.hit, bad);
    t.is(b.meta.version, `v${runs}`);
  }
  t.is(runs, 4);
  // Bounded: a file over META_MAX_BYTES (valid JSON all the same), a directory and a FIFO in its
  // place are misses too, and none of them is read whole or blocks the read.
  const big = `{"version": "v9", "pad": "${'x'.repeat(META_MAX_BYTES)}"}`;
  const replace = (make: (p: string) => void) => {
    rmSync(join(a.dir, 'm.json'), { recursive: true, force: true });
    make(join(a.dir, 'm.json'));
  };
  for (const [what, make] of [
    ['over the bound', (p: string) => writeFileSync(p, big)],
    ['a directory', (p: string) => mkdirSync(p)],
    ['a FIFO', (p: string) => execFileSync('mkfifo', [p])],
  ] as const) {
    replace(make);
    t.is(meta.read(a.dir), undefined, what);
  }
  // A producer that writes what its own reader refuses is a bug, said as one.
  const e = await t.throwsAsync(cachedMeta('t', 'broken', meta, async (tmp) => writeFileSync(join(tmp, 'm.json'), '{}')));
  t.regex(e!.message, /m\.json its own reader refuses/);
});
