// The install stage's pieces that need no apt: the Depends parser. The stage itself (apt, the
// download, the unpacked tree) is run by test/e2e/node.test.ts, which builds examples/node.
import test from 'ava';
import { dependsOf } from '../../src/stages/install';

test('dependsOf: Pre-Depends and Depends, the first alternative, no versions or architecture qualifiers', (t) => {
  const stanza =
    'Package: x\nPre-Depends: libc6 (>= 2.34)\nDepends: libnode108 (= 18.20.4+dfsg-1~deb12u3), nodejs:any, libgcc-s1 | libgcc1, libc6 (>= 2.28)\nRecommends: ca-certificates\n';
  t.deepEqual(dependsOf(stanza), ['libc6', 'libnode108', 'nodejs', 'libgcc-s1']);
  t.deepEqual(dependsOf('Package: base-files\nVersion: 12\n'), []);
});
