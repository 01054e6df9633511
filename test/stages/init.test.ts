import test from 'ava';
import { execFileSync } from 'node:child_process';
import { renderInit } from '../../src/stages/init';

const base = {
  hostname: 'h',
  modules: [
    { name: 'kvm', imagePath: '/lib/modules/v/kvm.ko' },
    { name: 'kvm_amd', imagePath: '/lib/modules/v/kvm-amd.ko' },
  ],
  cwd: '/app',
  onExit: 'poweroff' as const,
};

test('init is valid sh, loads modules, runs the program with quoted args and env, and reports MV-EXIT', (t) => {
  const init = renderInit({ ...base, argv: ['/app/p', 'two words', "it's"], env: { A: 'x y' } });
  execFileSync('sh', ['-n'], { input: init });
  t.regex(init, /^#!\/bin\/sh\n/);
  t.regex(init, /insmod \/lib\/modules\/v\/kvm\.ko/);
  t.regex(init, /grep -qw svm \/proc\/cpuinfo && insmod \/lib\/modules\/v\/kvm-amd\.ko/);
  t.regex(init, /MV-KVM present/);
  t.regex(init, /^\[ -c \/dev\/kvm \] && \[ -x \/sbin\/mv-kvmhold \] && \/sbin\/mv-kvmhold &$/m);
  t.regex(init, /env -i MV_HRT_CPUS="\$hrt_cpus" \$node_env PATH=.* A='x y' \$dbg_env \/app\/p 'two words' 'it'\\''s'/);
  t.regex(init, /echo "MV-EXIT \$status"/);
  t.regex(init, /poweroff -f/);
});

test('init reports the CPU partition, announces the HRT and passes MV_HRT_CPUS', (t) => {
  const init = renderInit({ ...base, argv: ['/p'], env: {} });
  t.regex(init, /echo "MV-CPUS ros=0 hrt=\$hrt_cpus isolated=\$\{isolated:-none\} nohz_full=\$\{nohz:-none\}"/);
  t.regex(init, /isolated=\$\(cat \/sys\/devices\/system\/cpu\/isolated/);
  t.regex(init, /env -i MV_HRT_CPUS="\$hrt_cpus" .*MV_ANNOUNCE=1 /);
  t.notRegex(init, /MV_REQUIRE_HRT/);
  const required = renderInit({ ...base, argv: ['/p'], env: {}, requireHrt: true, hrtCpus: '1-3' });
  t.regex(required, /MV_REQUIRE_HRT=1/);
  t.regex(required, /^hrt_cpus=1-3$/m);
  t.regex(required, /MV-KVM absent: the program runs natively, but this image requires the HRT/);
});

test('the partition picks all CPUs but 0 at boot when the manifest names none', (t) => {
  const init = renderInit({ ...base, argv: ['/p'], env: {} });
  const block = init.slice(init.indexOf('ncpu='), init.indexOf('for pid'));
  const run = (n: number) =>
    execFileSync('sh', ['-c', `grep() { echo ${n}; }\n${block}\necho $hrt_cpus`])
      .toString()
      .trim();
  t.is(run(1), '0');
  t.is(run(2), '1');
  t.is(run(8), '1-7');
});

test('the program runs in the foreground of the console tty, and a signal death ends its echo line', (t) => {
  const init = renderInit({ ...base, argv: ['/p'], env: {} });
  t.regex(
    init,
    /^ *setsid cttyhack sh -c 'trap : INT QUIT; echo "MV-TTY \$\(tty\)"; "\$@"; st=\$\?; \[ -x \/sbin\/mv-drain \] && \/sbin\/mv-drain; exit \$st' mv-init env -i .* \/p$/m,
  );
  t.regex(init, /^\[ "\$status" -gt 128 \] && echo\necho "MV-EXIT \$status"$/m);
});

test('onExit picks the last step', (t) => {
  t.regex(renderInit({ ...base, argv: ['/p'], env: {}, onExit: 'shell' }), /exec \/bin\/sh/);
  t.regex(renderInit({ ...base, argv: ['/p'], env: {}, onExit: 'reboot' }), /reboot -f/);
});

test('quoting survives the shell: the args reach the program unchanged', (t) => {
  const init = renderInit({ ...base, argv: ['/usr/bin/printf', '[%s]', 'two words', "it's", '$HOME'], env: {} });
  // setsid and cttyhack are busybox applets of the guest; the rest runs on the host as written.
  const line = init
    .split('\n')
    .find((l) => l.trim().startsWith('setsid cttyhack ') && l.includes('"$@"'))!
    .trim()
    .replace(/^setsid cttyhack /, '');
  t.is(
    execFileSync('sh', ['-c', `node_env=\n${line}`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString(),
    "MV-TTY not a tty\n[two words][it's][$HOME]",
  );
});

test('a cluster node: the program gets its identity, and its command survives script -c unchanged', (t) => {
  const init = renderInit({
    ...base,
    argv: ['/bin/sh', '-c', 'printf "[%s]" "$MV_NODE_INDEX" "$MV_NODE_COUNT" "$0" "$1"', "it's", '$HOME x'],
    env: { PATH: '/usr/bin:/bin' },
  });
  execFileSync('sh', ['-n'], { input: init });
  // Only the forms expected are taken from the kernel command line.
  t.regex(init, /mv\.node=\*\) case "\$v" in ''\|\*\[!0-9\]\*\) ;; \*\) mv_node=\$v ;; esac ;;/);
  const run = init
    .split('\n')
    .find((l) => l.trim().startsWith('run='))!
    .trim();
  // As init hands it to script, whose -c runs it through a shell once more.
  const out = execFileSync('sh', [
    '-c',
    `${run}\nhrt_cpus=1 node_env="MV_NODE_INDEX=1 MV_NODE_COUNT=3"\nsh -c "env -i MV_HRT_CPUS=$hrt_cpus $node_env $run"`,
  ]).toString();
  t.is(out, "[1][3][it's][$HOME x]");
});

// The control channel (mv-image run --gdb/--profile, src/harness/control.ts): what init takes from
// the settings line it reads, run by busybox's sh as in the guest.
const settingsBlock = (init: string) =>
  init.slice(init.indexOf('    set -f\n    for kv in $line'), init.indexOf('    set +f\n', init.indexOf('for kv in $line')) + 11);
function takes(line: string): string {
  const block = settingsBlock(renderInit({ ...base, argv: ['/p'], env: {} }));
  const script = `dbg_gdb= dbg_prof= dbg_hz=\nline=$1\n${block}\nprintf '%s|%s|%s' "$dbg_gdb" "$dbg_prof" "$dbg_hz"`;
  return execFileSync('busybox', ['sh', '-c', script, 'init', line], { cwd: '/tmp' }).toString();
}

test('init takes from the control channel only MV_GDB, MV_PROFILE=1 and MV_PROFILE_HZ, with digits only', (t) => {
  t.is(takes('MV_GDB=1234 MV_PROFILE=1 MV_PROFILE_HZ=999'), '1234|/tmp/mv-profile.folded|999');
  t.is(takes('MV_PROFILE=1'), '|/tmp/mv-profile.folded|');
  t.is(takes('MV_GDB=65535'), '65535||');
  for (const bad of [
    'MV_GDB=65536',
    'MV_GDB=0',
    'MV_GDB=01234',
    'MV_GDB=123456',
    'MV_GDB=-1',
    'MV_GDB=12a',
    'MV_GDB=',
    'MV_GDB=$(reboot)',
    'MV_GDB=`reboot`',
    'MV_GDB=1;reboot',
    'MV_GDB=1 MV_PROFILE=2',
    'MV_PROFILE=/etc/passwd',
    'MV_PROFILE_HZ=10001',
    'MV_PROFILE_HZ=*',
    'PATH=/tmp MV_PRELOAD=1 LD_PRELOAD=1',
    'mv_gdb=1234',
    ' MV_GDB =1234',
    'XMV_GDB=1234',
    '*',
    '/*/*',
  ]) {
    const got = takes(bad).split('|');
    t.true(!got[0] || /^[1-9][0-9]{0,4}$/.test(got[0]), `${bad} -> ${got}`);
    t.not(got[1], '/etc/passwd');
  }
  t.is(takes('MV_GDB=65536 MV_PROFILE=2 MV_PROFILE_HZ=0 LD_PRELOAD=/x'), '||');
  t.is(takes('MV_GDB=1;reboot'), '||');
  t.is(takes('/*'), '||', 'no glob is expanded');
});

test('without a control card init waits for nothing: one test of a sysfs path, no fork', (t) => {
  const init = renderInit({ ...base, argv: ['/p'], env: {} });
  execFileSync('sh', ['-n'], { input: init });
  t.regex(init, /^if \[ -d \/sys\/bus\/pci\/devices\/0000:00:1e\.0\/tty \]; then$/m);
  t.regex(init, /read -t 10 -n 200 -r line <&4/, 'the settings line is bounded in time and length');
  t.regex(
    init,
    /mv-init env -i MV_HRT_CPUS="\$hrt_cpus" \$node_env .* \$dbg_env \/p$/m,
    "the settings reach the program as words of digits, after the manifest's env",
  );
});
