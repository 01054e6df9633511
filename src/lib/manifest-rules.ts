// Manifest rules JSON Schema cannot say: each is checked when the manifest is read, before any
// stage runs, so a bad value costs no build. README.md's manifest table states every rule.
import { basename } from 'node:path';
import { parseCmdline } from './cmdline';
import type { Manifest } from './manifest';
import { msg } from './messages';

/** The name is also the hostname (a DNS label: at most 63 characters) and the image's file name. */
export const NAME_MAX = 63;
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

/** The highest CPU number each ROS kernel accepts in isolcpus (NR_CPUS - 1): Debian's kernel is
 *  built with MAXSMP (8192); the tuned kernel with x86-64's SMP default, 64. */
export const MAX_CPU: Record<Manifest['kernel'], number> = { debian: 8191, tuned: 63 };
export const CPUS_MAX_LENGTH = 256;

/** The kernel refuses an argument or environment string of MAX_ARG_STRLEN (131072) bytes or more,
 *  NUL included, and all of them with their pointers over a quarter of the stack limit (2 MiB by
 *  default). We keep to half of that: each string counts its bytes, its NUL and its pointer. */
export const ARG_STRING_MAX = 131071;
export const ARGS_ENV_MAX = 1 << 20;
const PER_STRING = 1 + 8;

type Rule = [where: string, problem: string, fix: string];

/** The image name for a package directory without "name": its characters outside the name
 *  pattern become "-", leading ".", "_" and "-" go (a name like "-F" would be read as an option),
 *  and it is cut to NAME_MAX. */
export function defaultName(dirName: string): string {
  const name = dirName
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, NAME_MAX);
  if (!new RegExp(NAME_PATTERN).test(name)) throw msg.noDefaultName(dirName);
  return name;
}

/** Which CPUs `cpus` names, or why it cannot be used: every CPU from 1 (the ROS keeps CPU 0) to
 *  MAX_CPU of the kernel, ranges low-high. */
export function cpuProblem(cpus: string, kernel: Manifest['kernel']): string | undefined {
  if (!cpus) return undefined;
  if (cpus.length > CPUS_MAX_LENGTH) return `is ${cpus.length} characters, over ${CPUS_MAX_LENGTH}`;
  for (const item of cpus.split(',')) {
    if (!/^\d+(-\d+)?$/.test(item)) return `has "${item}", which is neither a CPU number nor a range`;
    const [lo, hi = lo] = item.split('-').map(Number);
    if (lo === 0) return 'names CPU 0, which the ROS keeps';
    if (hi < lo) return `has the range ${item}, which runs backwards`;
    if (hi > MAX_CPU[kernel]) return `names CPU ${hi}, but the ${kernel} kernel knows CPUs 0 to ${MAX_CPU[kernel]} only`;
  }
  return undefined;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function argvRules(m: Manifest): Rule | undefined {
  const strings: [string, string][] = [
    ...m.args.map((a, i): [string, string] => [`args[${i}]`, a]),
    ...Object.entries(m.env).map(([k, v]): [string, string] => [`env.${k}`, `${k}=${v}`]),
  ];
  let total = 0;
  for (const [where, s] of strings) {
    if (s.includes('\0')) return [where, 'contains a NUL byte, which ends a string passed to a program', 'remove the \\u0000 from it'];
    if (bytes(s) > ARG_STRING_MAX)
      return [
        where,
        `is ${bytes(s)} bytes, over the kernel's ${ARG_STRING_MAX} for one argument or variable`,
        'pass large data in a file ("files") instead',
      ];
    total += bytes(s) + PER_STRING;
  }
  if (total > ARGS_ENV_MAX)
    return [
      'args and env',
      `take ${total} bytes together, over ${ARGS_ENV_MAX} (each string counts its bytes + ${PER_STRING})`,
      'pass large data in a file ("files") instead',
    ];
  return undefined;
}

function rules(m: Manifest): Rule | undefined {
  const cmdline = parseCmdline(m.cmdline);
  if (!Array.isArray(cmdline)) return ['cmdline', cmdline.why, cmdline.fix];
  const cpus = cpuProblem(m.hrt.cpus, m.kernel);
  if (cpus) return ['hrt.cpus', cpus, `name CPUs from 1 to ${MAX_CPU[m.kernel]}, e.g. "1-3" or "2,4-7"`];
  if (m.entry.includes('\0')) return ['entry', 'contains a NUL byte', 'name the program the build makes'];
  // init starts the program with `env -i VAR=value ... /app/<name>`, and env takes any word
  // with "=" for one more variable.
  const both = m.install?.exclude.find((x) => m.install!.debian.includes(x));
  if (both !== undefined)
    return ['install.exclude', `names ${both}, which "install.debian" asks for`, 'name it in only one of the two lists'];
  // An absolute entry is a program an installed Debian package provides, run at its own path.
  if (m.entry.startsWith('/') && !m.install)
    return [
      'entry',
      `"${m.entry}" is an absolute path, but "install" names no Debian package that could provide it`,
      'name the program the build makes, relative to the tree the build runs in, or list its package in "install": {"debian": [...]}',
    ];
  if (m.entry.startsWith('/') && m.entry.includes('='))
    return ['entry', `"${m.entry}" has "=" in its path, which env(1) would take for a variable`, 'name a path without "="'];
  if (basename(m.entry).includes('='))
    return [
      'entry',
      `"${m.entry}" has "=" in its file name, which env(1) would take for a variable`,
      'rename the program so its file name has no "="',
    ];
  return argvRules(m);
}

/** Throws the first rule `m` breaks, as one manifest line naming the field. */
export function checkManifestRules(m: Manifest, file: string): void {
  const broken = rules(m);
  if (broken) throw msg.manifestRule(file, ...broken);
}
