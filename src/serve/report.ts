// Node reports: what init POSTs to /report when the program ends, read as hostile input. The body
// is a few `key=value` lines, then a line `console`, then the last bytes of the console. Every
// field is checked against a strict pattern; the console is kept as bytes and only ever shown
// escaped (JSON, or control characters as `?`). Nothing from a report reaches a shell.
import { isIPv4 } from 'node:net';

/** The console tail init sends (64 KiB), plus the header lines and the `script` footer. */
export const CONSOLE_MAX = 64 * 1024;
export const BODY_MAX = CONSOLE_MAX + 4096;
const HEADER_MAX = 2048;

export interface NodeReport {
  hostname: string;
  mac: string;
  ip: string;
  index: number | null;
  status: number;
  /** Seconds from the kernel's start (the node's uptime) to the program's start and exit. */
  startS: number;
  exitS: number;
  console: string;
}

const FIELDS: Record<string, RegExp> = {
  hostname: /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/,
  mac: /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/,
  ip: /^[0-9.]{7,15}$/,
  index: /^(\d{1,5})?$/,
  status: /^\d{1,3}$/,
  start: /^\d{1,7}(\.\d{1,3})?$/,
  exit: /^\d{1,7}(\.\d{1,3})?$/,
};

export const MAC_RE = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
/** A MAC as iPXE (`hexhyp`) or a user writes it, in the one form kept: lower case with colons. */
export const normalMac = (s: string) => s.toLowerCase().replace(/-/g, ':');

/** The report in `body`, or why it is refused. */
export function parseReport(body: Buffer): NodeReport | string {
  if (body.length > BODY_MAX) return `it is ${body.length} bytes, over ${BODY_MAX}`;
  const split = body.subarray(0, HEADER_MAX).indexOf('\nconsole\n');
  if (split < 0) return 'it has no console section';
  const lines = body.subarray(0, split).toString('latin1').split('\n');
  if (lines[0] !== 'mv-report 1') return 'it does not start with "mv-report 1"';
  const f = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const eq = l.indexOf('=');
    const k = l.slice(0, eq);
    if (eq < 0 || !(k in FIELDS) || f.has(k)) return `line ${JSON.stringify(l.slice(0, 40))} is not one of its fields`;
    if (!FIELDS[k].test(l.slice(eq + 1))) return `field ${k} has an invalid value`;
    f.set(k, l.slice(eq + 1));
  }
  const missing = Object.keys(FIELDS).find((k) => !f.has(k));
  if (missing) return `field ${missing} is missing`;
  if (!isIPv4(f.get('ip')!)) return 'field ip is not an IPv4 address';
  const status = Number(f.get('status'));
  if (status > 255) return 'field status is over 255';
  return {
    hostname: f.get('hostname')!,
    mac: f.get('mac')!,
    ip: f.get('ip')!,
    index: f.get('index') ? Number(f.get('index')) : null,
    status,
    startS: Number(f.get('start')),
    exitS: Number(f.get('exit')),
    console: consoleText(body.subarray(split + '\nconsole\n'.length)),
  };
}

/** The console tail as text: CRs of the pty dropped, and the header and footer lines util-linux
 *  `script` writes around the capture (init runs the program under it) taken off. */
function consoleText(b: Buffer): string {
  let s = b.subarray(-CONSOLE_MAX).toString('utf8').replace(/\r\n/g, '\n');
  s = s.replace(/^Script started on [^\n]*\n/, '').replace(/\n?Script done on [^\n]*\n?$/, '');
  return s;
}

/** Text from a node, made safe to print on the user's terminal. */
export const shown = (s: string) => s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '?');
