import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached, hashOf } from '../../src/lib/cache';
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
