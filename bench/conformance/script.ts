// The guest's shell script: each selected test module runs twice, natively and in the HRT, one
// after the other in the same guest, each in a process of its own under a time limit, so a
// hang or a crash is that module's failure and the run goes on.
//
// Why one `python3 -m test MODULE` per module and mode, without -j: regrtest's -j workers are
// child processes, and mvrun removes LD_PRELOAD before main, so workers would run natively. Run
// in-process, every test runs in the process whose main is in the HRT (their own children,
// e.g. test_subprocess's, run natively as on any Linux: they are separate programs).
// Both modes go through mvrun (MV_DISABLE=1 natively), so the same libraries are loaded.
import { MV_DIR, PYTHON } from './files';

export type Mode = 'native' | 'hrt';

export interface ScriptOptions {
  modules: string[];
  modes: Mode[];
  /** Seconds for one module in one mode (regrtest's own --timeout; a kill a minute later). */
  timeoutS: number;
  /** Test resources (regrtest -u): everything local; nothing that needs the network, a GUI,
   *  sound, large files or a lot of CPU (the guest is TCG). */
  resources?: string;
  /** `-m` patterns (regrtest --match), per module. */
  match?: Record<string, string[]>;
}

export const RESOURCES = 'all,-network,-urlfetch,-largefile,-extralargefile,-audio,-gui,-curses,-cpu,-tzdata';

const ENV: Record<Mode, string> = {
  native: 'MV_DISABLE=1',
  hrt: 'MV_REQUIRE_HRT=1 MV_ANNOUNCE=1',
};

/**
 * Output, per module and mode: `MV-CONF-BEGIN mode= module=`, the log of `python3 -m test -v`
 * gzip'd and base64'd (the serial console is the slowest part of the guest), then
 * `MV-CONF-END mode= module= status= secs=`; at the end `MV-CONF-DONE`.
 */
export function guestScript(o: ScriptOptions): string {
  const lines = [
    '#!/bin/sh',
    'export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1',
    // The loopback parts of test_socket need lo up; nothing else is configured.
    'ip link set lo up',
    'mkdir -p /tmp/conf && cd /tmp/conf || exit 1',
    'now() { cut -d" " -f1 /proc/uptime; }',
    'one() {',
    '  mode=$1 mod=$2 envs=$3; shift 3',
    '  mkdir -p "/tmp/conf/$mode.$mod" && cd "/tmp/conf/$mode.$mod" || return',
    '  t0=$(now)',
    `  timeout -s KILL ${o.timeoutS + 60} env $envs ${MV_DIR}/mvrun ${PYTHON} -m test -v --timeout ${o.timeoutS} -u ${o.resources ?? RESOURCES} --junit-xml "/tmp/conf/$mode.$mod.xml" "$@" "$mod" > "/tmp/conf/$mode.$mod.log" 2>&1`,
    '  st=$?',
    '  t1=$(now)',
    '  cd /tmp/conf; rm -rf "/tmp/conf/$mode.$mod"',
    '  echo "MV-CONF-BEGIN mode=$mode module=$mod"',
    '  gzip -c "/tmp/conf/$mode.$mod.log" | base64',
    '  echo "MV-CONF-END mode=$mode module=$mod status=$st secs=$(awk "BEGIN { printf \\"%.2f\\", $t1 - $t0 }")"',
    '  rm -f "/tmp/conf/$mode.$mod.log" "/tmp/conf/$mode.$mod.xml"',
    '}',
  ];
  for (const m of o.modules) {
    const match = (o.match?.[m] ?? []).map((p) => `-m '${p}'`).join(' ');
    for (const mode of o.modes) lines.push(`one ${mode} ${m} '${ENV[mode]}' ${match}`);
  }
  lines.push('echo MV-CONF-DONE');
  return lines.join('\n') + '\n';
}
