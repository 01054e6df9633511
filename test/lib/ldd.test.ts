import test from 'ava';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { sharedLibraries } from '../../src/lib/ldd';

// The system's ldd is the reference: every library it resolves, we resolve to the same file.
for (const prog of ['/bin/ls', '/usr/bin/xorriso', '/usr/bin/qemu-system-x86_64']) {
  test(`resolves the same libraries as ldd for ${prog}`, (t) => {
    const ours = sharedLibraries(prog)
      .map((p) => realpathSync(p))
      .sort();
    const theirs = execFileSync('ldd', [prog])
      .toString()
      .split('\n')
      .map((l) => l.match(/=> (\/\S+)/)?.[1] ?? l.match(/^\s*(\/\S+)/)?.[1])
      .filter((p): p is string => !!p)
      .map((p) => realpathSync(p))
      .sort();
    t.deepEqual([...new Set(ours)], [...new Set(theirs)]);
  });
}
