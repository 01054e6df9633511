// The install stage's pieces: the Depends parser, and the closure apt's lists give (apt-cache
// only, nothing downloaded). The stage itself (the download, the unpacked tree) is run by
// test/e2e/node.test.ts, which builds examples/node, and test/cluster/mpi.test.ts.
import test from 'ava';
import { dependsOf, resolveClosure } from '../../src/stages/install';

test('dependsOf: Pre-Depends and Depends, the first alternative, no versions or architecture qualifiers', (t) => {
  const stanza =
    'Package: x\nPre-Depends: libc6 (>= 2.34)\nDepends: libnode108 (= 18.20.4+dfsg-1~deb12u3), nodejs:any, libgcc-s1 | libgcc1, libc6 (>= 2.28)\nRecommends: ca-certificates\n';
  t.deepEqual(dependsOf(stanza), ['libc6', 'libnode108', 'nodejs', 'libgcc-s1']);
  t.deepEqual(dependsOf('Package: base-files\nVersion: 12\n'), []);
});

test('resolveClosure: an excluded package is left out with what only it brings', async (t) => {
  // libibverbs1 depends on adduser (its maintainer script adds a group), which depends on passwd.
  const names = async (exclude?: string[]) => (await resolveClosure(['libibverbs1'], exclude)).map((r) => r.pkg.name);
  const all = await names();
  t.true(all.includes('adduser') && all.includes('passwd'), all.join(' '));
  const without = await names(['adduser']);
  t.false(without.includes('adduser') || without.includes('passwd'), without.join(' '));
  t.true(without.includes('libibverbs1'));
});
