import test from 'ava';
import { execFileSync } from 'node:child_process';
import { renderInit } from '../../src/stages/init';

const base = { hostname: 'h', modules: [{ name: 'kvm', imagePath: '/lib/modules/v/kvm.ko' }, { name: 'kvm_amd', imagePath: '/lib/modules/v/kvm-amd.ko' }], cwd: '/app', onExit: 'poweroff' as const };

test('init is valid sh, loads modules, runs the program with quoted args and env, and reports MV-EXIT', (t) => {
  const init = renderInit({ ...base, argv: ['/app/p', 'two words', "it's"], env: { A: 'x y' } });
  execFileSync('sh', ['-n'], { input: init });
  t.regex(init, /^#!\/bin\/sh\n/);
  t.regex(init, /insmod \/lib\/modules\/v\/kvm\.ko/);
  t.regex(init, /grep -qw svm \/proc\/cpuinfo && insmod \/lib\/modules\/v\/kvm-amd\.ko/);
  t.regex(init, /MV-KVM present/);
  t.regex(init, /env -i PATH=.* A='x y' \/app\/p 'two words' 'it'\\''s'/);
  t.regex(init, /echo "MV-EXIT \$status"/);
  t.regex(init, /poweroff -f/);
});

test('onExit picks the last step', (t) => {
  t.regex(renderInit({ ...base, argv: ['/p'], env: {}, onExit: 'shell' }), /exec \/bin\/sh/);
  t.regex(renderInit({ ...base, argv: ['/p'], env: {}, onExit: 'reboot' }), /reboot -f/);
});

test('quoting survives the shell: the args reach the program unchanged', (t) => {
  const init = renderInit({ ...base, argv: ['/usr/bin/printf', '[%s]', 'two words', "it's", '$HOME'], env: {} });
  const line = init.split('\n').find((l) => l.startsWith('env -i'))!.replace(/ <\/dev\/console$/, '');
  t.is(execFileSync('sh', ['-c', line]).toString(), "[two words][it's][$HOME]");
});
