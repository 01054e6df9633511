// The tuned kernel: fragment parsing and merging (pure), the merge checked against a real
// `make tinyconfig` + `make olddefconfig` on Debian's linux-source tree, and the build's cache.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KOption, knownFragments, mergeFragments, parseDotConfig, parseFragment, readFragment } from '../../src/lib/kconfig';
import { Progress } from '../../src/lib/progress';
import { aptShow } from '../../src/stages/kernel';
import { cli } from '../helpers/cli';
import { configure, DEFAULT_FRAGMENTS, linuxSource, SOURCE_PACKAGE, tunedKernelStage } from '../../src/stages/tuned-kernel';

const frags = (names: string[]) => names.map((name) => ({ name, text: readFragment(name) }));

test('kernel-configs holds the five fragments, each option under a why-comment', (t) => {
  t.deepEqual(knownFragments(), ['base', 'hrt-partition', 'kvm-host', 'metal', 'virt']);
  for (const name of knownFragments()) {
    const lines = readFragment(name).split('\n');
    lines.forEach((l, i) => {
      if (!/^(CONFIG_|# CONFIG_.* is not set$)/.test(l)) return;
      // Walk up over the option's group to the comment that explains it.
      let j = i - 1;
      while (j >= 0 && /^(CONFIG_|# CONFIG_.* is not set$)/.test(lines[j])) j--;
      t.true(j >= 0 && lines[j].startsWith('#') && !/^# CONFIG_/.test(lines[j]), `${name}:${i + 1} ${l} has no comment`);
    });
  }
});

test('parse reads =y, strings and "is not set", and rejects a malformed line with its place', (t) => {
  t.deepEqual(
    parseFragment('f', '# why\nCONFIG_A=y\nCONFIG_B="x y"\n# CONFIG_C is not set\n').map((o) => [o.name, o.value, o.line]),
    [
      ['CONFIG_A', 'y', 2],
      ['CONFIG_B', '"x y"', 3],
      ['CONFIG_C', 'n', 4],
    ],
  );
  t.throws(() => parseFragment('f', 'CONFIG_A=y\nKVM=y\n'), { message: /^tuned-kernel: kernel-configs\/f:2: "KVM=y" is neither/ });
  t.throws(() => parseFragment('f', '# CONFIG_A=y\n'), { message: /kernel-configs\/f:1/ });
});

test('merging fragments keeps agreeing duplicates and names both sides of a conflict', (t) => {
  const m = mergeFragments([
    { name: 'a', text: 'CONFIG_X=y\nCONFIG_Y=y\n' },
    { name: 'b', text: 'CONFIG_Y=y\nCONFIG_Z=m\n' },
  ]);
  t.deepEqual(
    m.map((o) => `${o.name}=${o.value}@${o.fragment}`),
    ['CONFIG_X=y@a', 'CONFIG_Y=y@a', 'CONFIG_Z=m@b'],
  );
  const e = t.throws(() =>
    mergeFragments([
      { name: 'base', text: 'CONFIG_KVM=y\n' },
      { name: 'small', text: '# CONFIG_KVM is not set\n' },
    ]),
  );
  t.is(e?.message, 'tuned-kernel: CONFIG_KVM is y in kernel-configs/base but n in kernel-configs/small');
  t.throws(() => readFragment('nope'), { message: /no Kconfig fragment named "nope".*/ });
  // virt and metal both ask for the block layer and networking, and agree.
  t.notThrows(() => mergeFragments(frags(knownFragments())));
});

// One scratch O= tree for the real-tree checks: tinyconfig's conf tool is built once.
const scratch = mkdtempSync(join(tmpdir(), 'mv-kconfig-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

async function realTree() {
  const pkg = await aptShow(SOURCE_PACKAGE);
  return { src: await linuxSource(pkg, Progress.quiet()), source: `${pkg.name} ${pkg.version}` };
}

test.serial('on the real tree, .config holds every option of every fragment with its value', async (t) => {
  t.timeout(15 * 60_000); // a cold cache fetches and unpacks linux-source (about 1 min)
  const { src, source } = await realTree();
  const options = mergeFragments(frags(knownFragments()));
  const config = parseDotConfig(await configure(src, scratch, options, source));
  for (const o of options) t.is(config.get(o.name) ?? 'n', o.value, `${o.name} from ${o.fragment}`);
  t.is(config.get('CONFIG_64BIT'), 'y');
  t.is(config.get('CONFIG_MODULES') ?? 'n', 'n');
});

test('mv-image kernel build names an unknown fragment in one line, before any download', (t) => {
  const r = cli(['kernel', 'build', '--fragments', 'base,nope']);
  t.is(r.status, 1);
  t.is(
    r.stderr.trim().split('\n').pop(),
    'mv-image: tuned-kernel: no Kconfig fragment named "nope" in kernel-configs/ (fix: use some of: base, hrt-partition, kvm-host, metal, virt)',
  );
});

test.serial('on the real tree, an unknown option and an unmet dependency are one-line errors', async (t) => {
  t.timeout(5 * 60_000);
  const { src, source } = await realTree();
  const opt = (name: string, value: string, fragment: string): KOption => ({ name, value, fragment, line: 1 });
  await t.throwsAsync(configure(src, scratch, [opt('CONFIG_KVM_TURBO', 'y', 'mine')], source), {
    message: `tuned-kernel: CONFIG_KVM_TURBO (kernel-configs/mine) is not a Kconfig option of ${source}`,
  });
  // KVM_AMD depends on KVM, which tinyconfig leaves off: olddefconfig silently drops it.
  await t.throwsAsync(configure(src, scratch, [opt('CONFIG_KVM_AMD', 'y', 'mine')], source), {
    message: 'tuned-kernel: CONFIG_KVM_AMD=y (kernel-configs/mine) did not survive make olddefconfig: it ended up not set',
  });
});

test.serial('the tuned kernel builds once, is cached on the second build, and has KVM built in', async (t) => {
  t.timeout(45 * 60_000); // a cold build of the whole kernel: ~10 min on 2 idle cores
  const first = await tunedKernelStage.run(Progress.quiet(), {});
  const again = await tunedKernelStage.run(Progress.quiet(), {});
  t.true(again.cached);
  t.is(again.vmlinuz, first.vmlinuz);
  t.deepEqual(again.modules, []);
  t.deepEqual(again.info.fragments, DEFAULT_FRAGMENTS);
  t.regex(again.version, /^6\.1\.\d+-mv-tuned$/);
  const vmlinuz = readFileSync(again.vmlinuz);
  t.is(vmlinuz.toString('latin1', 0x202, 0x206), 'HdrS', 'vmlinuz is a bzImage');
  t.true(vmlinuz.length < 4e6, `${vmlinuz.length} bytes`);
  const config = parseDotConfig(readFileSync(again.config, 'utf8'));
  for (const o of ['CONFIG_KVM', 'CONFIG_KVM_AMD', 'CONFIG_KVM_INTEL', 'CONFIG_NO_HZ_FULL']) t.is(config.get(o), 'y', o);
  t.is(config.get('CONFIG_MODULES') ?? 'n', 'n');
  // mv-image kernel list shows it.
  const list = cli(['kernel', 'list', '--json']);
  t.is(list.status, 0, list.stderr);
  t.true(
    JSON.parse(list.stdout).some(
      (k: { dir: string; fragments: string[] }) => k.dir === dirname(again.vmlinuz) && k.fragments.join() === DEFAULT_FRAGMENTS.join(),
    ),
  );
});
