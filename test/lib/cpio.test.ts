import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeCpio } from '../../src/lib/cpio';
import { tempDir } from '../helpers/cli';

const entries = () => [
  { path: '/usr/bin/tool', type: 'file' as const, data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  { path: 'etc/motd', type: 'file' as const, data: Buffer.from('odd length!') },
  { path: 'bin/sh', type: 'symlink' as const, target: 'busybox' },
  { path: 'dev/console', type: 'chardev' as const, major: 5, minor: 1 },
];

test('cpio -t lists every entry, parents first and sorted', (t) => {
  const list = execFileSync('cpio', ['-t', '--quiet'], { input: writeCpio(entries()) })
    .toString()
    .trim()
    .split('\n');
  t.deepEqual(list, ['bin', 'bin/sh', 'dev', 'dev/console', 'etc', 'etc/motd', 'usr', 'usr/bin', 'usr/bin/tool']);
});

test('bsdtar extracts contents, modes and symlinks intact', (t) => {
  const dir = tempDir();
  const archive = join(dir, 'a.cpio');
  writeFileSync(archive, writeCpio(entries(), 1700000000));
  mkdirSync(join(dir, 'x'));
  execFileSync('bsdtar', ['-xf', archive, '-C', join(dir, 'x'), '--exclude', 'dev/console']);
  t.is(readFileSync(join(dir, 'x/usr/bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
  t.is(lstatSync(join(dir, 'x/usr/bin/tool')).mode & 0o777, 0o755);
  t.is(readFileSync(join(dir, 'x/etc/motd'), 'utf8'), 'odd length!');
  t.is(readlinkSync(join(dir, 'x/bin/sh')), 'busybox');
  t.is(lstatSync(join(dir, 'x/etc/motd')).mtimeMs, 1700000000 * 1000);
  const verbose = execFileSync('bsdtar', ['-tvf', archive]).toString();
  t.regex(verbose, /crw-------.* 5,\s*1 .*dev\/console/);
});

test('the same entries in another order give the same bytes', (t) => {
  t.deepEqual(writeCpio(entries()), writeCpio(entries().reverse()));
});
