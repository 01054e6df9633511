// The kernel command line: what a manifest's "cmdline" may hold, and how it is written into
// grub.cfg and an iPXE script so that the kernel gets exactly the parameters meant.
//
// - The kernel splits its command line at spaces outside double quotes; it has no escapes.
// - GRUB's `linux` joins its words with spaces, puts a word holding a space in double quotes,
//   and puts a backslash (which the kernel keeps) before every ", ' and \.
// - iPXE splits a line at whitespace and has no quoting: it expands ${...}, and a word that
//   starts with # begins a comment and ||, && and ; separate commands.
// So a parameter may hold spaces only in double quotes around the whole parameter or its whole
// value, and never ' or \. Each parameter is kept in one canonical form, `name=value` or
// `"name=value with spaces"` (the form GRUB itself emits), which both boot loaders pass on as is.

/** The manifest's own part. */
export const CMDLINE_MAX = 1024;
/** The whole line kernelCmdline makes: the kernel's 2048 bytes (NUL included) less what the boot
 *  loaders and templates add in front (GRUB's "BOOT_IMAGE=/boot/vmlinuz ", the console=). */
export const KERNEL_LINE_MAX = 2047 - 128;

export interface CmdlineProblem {
  why: string;
  fix: string;
}

const FIX = 'write kernel parameters separated by spaces, e.g. "mitigations=off foo.bar=1"';

/** Splits a command line into canonical parameters, or says why it cannot be passed on safely. */
export function parseCmdline(s: string): string[] | CmdlineProblem {
  if (s.length > CMDLINE_MAX)
    return { why: `is ${s.length} characters, over ${CMDLINE_MAX}`, fix: 'keep it to the parameters the kernel needs' };
  const bad = [...s].find((c) => c < ' ' || c > '~');
  if (bad !== undefined) {
    const code = bad.codePointAt(0)!;
    const what = code === 10 ? 'a newline' : code < 32 || code === 127 ? 'a control character' : 'a non-ASCII character';
    return { why: `contains ${what} (U+${code.toString(16).padStart(4, '0')})`, fix: `use printable ASCII only: ${FIX}` };
  }
  const esc = s.match(/['\\]|\$\{/);
  if (esc)
    return {
      why: `contains ${esc[0]}, which GRUB or iPXE would not pass to the kernel unchanged`,
      fix: 'leave it out: the kernel has no escapes, and double quotes are its only quoting',
    };
  const tokens: string[] = [];
  let cur = '',
    quoted = false;
  for (const c of s + ' ') {
    if (c === '"') quoted = !quoted;
    if (c === ' ' && !quoted) {
      if (cur) tokens.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted)
    return { why: 'has an unbalanced double quote', fix: 'close the quote: "name=value with spaces" or name="value with spaces"' };
  const params: string[] = [];
  for (const t of tokens) {
    const p = canonical(t);
    if (typeof p !== 'string') return p;
    params.push(p);
  }
  return params;
}

/** `name="v w"` and `"name=v w"` both become `"name=v w"`; quotes around no space go away. */
function canonical(t: string): string | CmdlineProblem {
  const quotes = [...t].filter((c) => c === '"').length;
  const eq = t.indexOf('=');
  const whole = quotes === 2 && t.startsWith('"') && t.endsWith('"');
  const value = quotes === 2 && eq >= 0 && t[eq + 1] === '"' && t.endsWith('"') && t.length > eq + 2;
  if (quotes && !whole && !value)
    return {
      why: `has a double quote inside the parameter ${t}`,
      fix: 'quote a whole parameter or its whole value: "name=a b" or name="a b"',
    };
  const content = t.replace(/"/g, '');
  if (!content) return { why: 'has an empty parameter ""', fix: 'remove it' };
  if (content.includes('  ')) return { why: `has two spaces in a row in ${t}`, fix: 'use single spaces (iPXE would merge them)' };
  const param = content.includes(' ') ? `"${content}"` : content;
  // iPXE sees the pieces between spaces, quoted or not.
  if (param.split(' ').some((w) => w.startsWith('#') || ['||', '&&', ';'].includes(w))) {
    return {
      why: `has ${t}, which an iPXE script would read as a comment or a command separator`,
      fix: 'remove it, or join it to its neighbour without a space',
    };
  }
  return param;
}

/** The words GRUB's `linux` command needs so that it emits `param` (canonical) unchanged: the
 *  content without quotes (GRUB adds them back around a space), single-quoted when GRUB's
 *  script syntax would otherwise read something into it ($, ;, {, # ...). */
export function grubWord(param: string): string {
  const content = param.replace(/"/g, '');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(content) ? content : `'${content}'`;
}

/** The line a canonical command line becomes in grub.cfg, after `linux /boot/vmlinuz ...`. */
export function grubArgs(cmdline: string): string {
  return canonicalParams(cmdline).map(grubWord).join(' ');
}

/** The same for iPXE: canonical parameters are already safe there (parseCmdline refused the rest). */
export function ipxeArgs(cmdline: string): string {
  return canonicalParams(cmdline).join(' ');
}

function canonicalParams(cmdline: string): string[] {
  const p = parseCmdline(cmdline);
  if (!Array.isArray(p)) throw new Error(`not a checked command line (${p.why}): ${cmdline}`);
  return p;
}

/** What the kernel gets from a grub.cfg `linux` line: its words as GRUB's script parser reads
 *  them, joined as GRUB's linux loader does. For `inspect`: the command line as booted. */
export function grubLinuxCmdline(line: string): string {
  return grubSplit(line)
    .slice(2)
    .map((w) => {
      const e = w.replace(/[\\'"]/g, (c) => `\\${c}`);
      return w.includes(' ') ? `"${e}"` : e;
    })
    .join(' ');
}

/** GRUB script words: '...' is literal, "..." and bare words take \ escapes. */
function grubSplit(line: string): string[] {
  const words: string[] = [];
  let cur: string | undefined,
    i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
      i++;
      continue;
    }
    cur ??= '';
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? line.length : end + 1;
      continue;
    }
    if (c === '"') {
      for (i++; i < line.length && line[i] !== '"'; i++)
        cur += line[i] === '\\' && '$"\\'.includes(line[i + 1] ?? 'x') ? line[++i] : line[i];
      i++;
      continue;
    }
    cur += c === '\\' && i + 1 < line.length ? line[++i] : c;
    i++;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}
