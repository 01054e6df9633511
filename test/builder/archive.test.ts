// The tar streams a builder container's directories travel in: modes, symlinks and nested
// directories survive a pack/unpack round trip, and an entry cannot escape its target.
import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { packDir, unpackInto } from '../../src/builder/archive';
import { tempDir } from '../helpers/cli';

test('a directory round-trips with modes and symlinks', async (t) => {
  const src = tempDir();
  mkdirSync(join(src, 'sub'));
  writeFileSync(join(src, 'sub', 'tool'), '#!/bin/sh\n');
  chmodSync(join(src, 'sub', 'tool'), 0o755);
  writeFileSync(join(src, 'data'), Buffer.alloc(100_000, 7));
  symlinkSync('sub/tool', join(src, 'link'));
  const dest = tempDir();
  await unpackInto(dest, packDir(src, { uid: 1000, gid: 1000 }) as unknown as NodeJS.ReadableStream);
  const back = join(dest, basename(src));
  t.is(lstatSync(join(back, 'sub', 'tool')).mode & 0o777, 0o755);
  t.true(readFileSync(join(back, 'data')).equals(Buffer.alloc(100_000, 7)));
  t.is(readlinkSync(join(back, 'link')), 'sub/tool');
});

test('an entry outside the target directory is refused', async (t) => {
  const pack = tar.pack();
  pack.entry({ name: '../escaped', type: 'file' }, 'x');
  pack.finalize();
  // As from the engine: a Node stream (getArchive gives an HTTP response).
  await t.throwsAsync(unpackInto(tempDir(), Readable.from(pack)), { message: /has a "\.\." segment/ });
});
