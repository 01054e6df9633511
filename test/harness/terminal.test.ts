import test from 'ava';
import { PassThrough } from 'node:stream';
import { attachTerminal, escapeFilter, EscapeCommand } from '../../src/harness/terminal';

function filtered(chunks: string[]): { bytes: string; commands: EscapeCommand[] } {
  const commands: EscapeCommand[] = [];
  const filter = escapeFilter((c) => commands.push(c));
  const bytes = chunks.map((c) => filter(Buffer.from(c, 'latin1')).toString('latin1')).join('');
  return { bytes, commands };
}

test('keys pass through unchanged, Ctrl-C and Ctrl-D included', (t) => {
  t.deepEqual(filtered(['hello\r', '\x03\x04\x1c']), { bytes: 'hello\r\x03\x04\x1c', commands: [] });
});

test('Ctrl-A x stops, Ctrl-A h and Ctrl-A ? ask for help, Ctrl-A Ctrl-A types one Ctrl-A', (t) => {
  t.deepEqual(filtered(['a\x01xb']), { bytes: 'ab', commands: ['stop'] });
  t.deepEqual(filtered(['\x01h\x01?']), { bytes: '', commands: ['help', 'help'] });
  t.deepEqual(filtered(['\x01\x01z']), { bytes: '\x01z', commands: [] });
});

test('the escape spans chunks, and an unknown key after Ctrl-A is dropped as QEMU drops it', (t) => {
  t.deepEqual(filtered(['a\x01', 'x']), { bytes: 'a', commands: ['stop'] });
  t.deepEqual(filtered(['\x01', 'q', 'r']), { bytes: 'r', commands: [] });
});

test('piped stdin is forwarded as is: no raw mode, no escape', (t) => {
  const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
  const term = attachTerminal(stdin, new PassThrough());
  t.is(term.input, stdin);
  t.false(term.signal.aborted);
  term.detach();
});
