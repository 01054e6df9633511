import test from 'ava';
import { readFileSync, statSync } from 'node:fs';
import { modinfo } from '../../src/lib/elf';
import { Progress } from '../../src/lib/progress';
import { kernelStage, loadOrder } from '../../src/stages/kernel';

test("fetches Debian's kernel and keeps vmlinuz and the KVM modules in load order", async (t) => {
  const k = await kernelStage.run(Progress.quiet(), {});
  t.regex(k.version, /^\d+\.\d+\.\d+-\d+-amd64$/);
  const vmlinuz = readFileSync(k.vmlinuz);
  t.is(vmlinuz.toString('latin1', 0x202, 0x206), 'HdrS', 'vmlinuz is a bzImage');
  const names = k.modules.map((m) => m.name);
  for (const m of ['kvm', 'kvm_amd', 'kvm_intel', 'irqbypass', 'ccp', 'virtio_pci']) t.true(names.includes(m), m);
  // Every module comes after each of its dependencies, and the dependencies are the .modinfo's.
  for (const [i, m] of k.modules.entries()) {
    const deps = (modinfo(readFileSync(m.file)).get('depends')?.[0] ?? '')
      .split(',')
      .filter(Boolean)
      .map((d) => d.replace(/-/g, '_'));
    t.deepEqual(m.depends, deps);
    for (const d of deps) t.true(names.indexOf(d) < i, `${d} before ${m.name}`);
    t.true(m.imagePath.startsWith(`/lib/modules/${k.version}/`));
    t.is(modinfo(readFileSync(m.file)).get('vermagic')?.[0].split(' ')[0], k.version);
  }
  t.true(statSync(k.vmlinuz).size > 4e6);
  const again = await kernelStage.run(Progress.quiet(), {});
  t.true(again.cached);
  t.is(again.vmlinuz, k.vmlinuz);
});

test('load order puts dependencies first and names a missing module', (t) => {
  const deps = new Map([
    ['a', ['b', 'c']],
    ['b', ['c']],
    ['c', []],
  ]);
  t.deepEqual(loadOrder(['a'], deps, 'v'), ['c', 'b', 'a']);
  t.throws(() => loadOrder(['zz'], deps, '6.1'), { message: /kernel module zz is not in Debian's 6.1 kernel/ });
});
