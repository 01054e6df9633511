// The user's side of `mv-image run`: what they type goes to the guest's serial console. On a
// terminal, stdin is put in raw mode so that every key, Ctrl-C included, reaches the guest
// program; QEMU's own escape, Ctrl-A, is kept for the host (Ctrl-A x stops the VM). Piped stdin is
// forwarded byte for byte, with no escape.
import { PassThrough, Readable } from 'node:stream';

const CTRL_A = 0x01;

export const ESCAPE_HELP = 'Ctrl-A x stops the VM, Ctrl-A Ctrl-A types Ctrl-A, Ctrl-A h shows this help';

export type EscapeCommand = 'stop' | 'help';

/** A stateful filter for keystrokes: the byte after Ctrl-A is a command for us (x: stop, h or ?:
 *  help, Ctrl-A: one Ctrl-A for the guest; others are dropped, as QEMU does); the rest is the guest's. */
export function escapeFilter(onCommand: (c: EscapeCommand) => void): (keys: Buffer) => Buffer {
  let escaped = false;
  return (keys) => {
    const out: number[] = [];
    for (const b of keys) {
      if (!escaped && b === CTRL_A) {
        escaped = true;
        continue;
      }
      if (!escaped) {
        out.push(b);
        continue;
      }
      escaped = false;
      if (b === CTRL_A) out.push(b);
      else if (b === 0x78 /* x */) onCommand('stop');
      else if (b === 0x68 /* h */ || b === 0x3f /* ? */) onCommand('help');
    }
    return Buffer.from(out);
  };
}

export interface Terminal {
  /** The bytes for the guest. */
  input: Readable;
  /** Aborted by Ctrl-A x. */
  signal: AbortSignal;
  /** Stops reading stdin and leaves raw mode; also done on process exit. */
  detach(): void;
}

export function attachTerminal(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream): Terminal {
  const stop = new AbortController();
  if (!stdin.isTTY) return { input: stdin, signal: stop.signal, detach: () => stdin.destroy() };

  const input = new PassThrough();
  const filter = escapeFilter((c) => {
    if (c === 'stop') stop.abort();
    else stderr.write(`\r\nmv-image: ${ESCAPE_HELP}\r\n`);
  });
  const onKeys = (keys: Buffer) => {
    const bytes = filter(keys);
    if (bytes.length) input.write(bytes);
  };
  const leaveRaw = () => {
    if (stdin.isRaw) stdin.setRawMode(false);
  };
  // Raw mode: no line editing, no echo (the guest's tty echoes), no SIGINT for Ctrl-C.
  stdin.setRawMode(true);
  process.once('exit', leaveRaw);
  stdin.on('data', onKeys);
  return {
    input,
    signal: stop.signal,
    detach: () => {
      stdin.off('data', onKeys);
      leaveRaw();
      stdin.pause();
      input.end();
    },
  };
}
