// The host's end of the control channel (src/harness/control.ts), with this test playing QEMU's
// two cards and the guest's init: settings asked and answered, a debugger's bytes held until init
// says the guest's end is open, then relayed both ways, and the profile's frame read back.
import test from 'ava';
import { existsSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { ControlChannel, ControlParser, settingsLine } from '../../src/harness/control';
import { qemuArgs } from '../../src/harness/qemu';
import { MvError } from '../../src/lib/errors';
import { freePort } from '../helpers/cli';

const open = (path: string | number) =>
  new Promise<Socket>((done, fail) => {
    const s = typeof path === 'number' ? connect(path, '127.0.0.1') : connect(path);
    s.once('connect', () => done(s)).once('error', fail);
  });
/** Everything a socket receives, and a way to wait for it to contain something. */
function collect(s: Socket): { text: () => string; until: (want: string) => Promise<void> } {
  let got = '';
  const waiters: (() => void)[] = [];
  s.on('data', (b: Buffer) => {
    got += b.toString('latin1');
    waiters.splice(0).forEach((w) => w());
  });
  const until = (want: string): Promise<void> =>
    got.includes(want) ? Promise.resolve() : new Promise((r) => waiters.push(() => r(until(want))));
  return { text: () => got, until };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the settings line holds only the keys init takes', (t) => {
  t.is(settingsLine({ gdbPort: 1234, profileHz: 999 }), 'MV_GDB=1234 MV_PROFILE=1 MV_PROFILE_HZ=999\n');
  t.is(settingsLine({ profileHz: 50 }), 'MV_PROFILE=1 MV_PROFILE_HZ=50\n');
  t.is(settingsLine({ gdbPort: 1 }), 'MV_GDB=1\n');
});

test('QEMU gets the two PCI serial cards at the slots init looks at, and nothing without --gdb/--profile', (t) => {
  const plain = qemuArgs({ iso: '/x.iso' }, '/tmp', '/tmp/serial');
  t.false(plain.join(' ').includes('pci-serial'));
  const both = qemuArgs({ iso: '/x.iso', control: { ctl: '/t/a,b/ctl.sock', gdb: '/t/gdb.sock' } }, '/tmp', '/tmp/serial').join(' ');
  t.regex(both, /-chardev socket,id=mvctl,path=\/t\/a,,b\/ctl\.sock -device pci-serial,chardev=mvctl,addr=1e/);
  t.regex(both, /-chardev socket,id=mvgdb,path=\/t\/gdb\.sock -device pci-serial,chardev=mvgdb,addr=1f/);
  const ctlOnly = qemuArgs({ iso: '/x.iso', control: { ctl: '/t/ctl.sock' } }, '/tmp', '/tmp/serial').join(' ');
  t.false(ctlOnly.includes('mvgdb'));
});

test('the parser reads lines and a profile framed by its size, in chunks of any size', (t) => {
  const stream = Buffer.from('MV-CTL 1\nMV-CTL ready MV_PROFILE=/tmp/p MV_PROFILE_HZ=9\nMV-PROFILE 13\nmain;f 3\na 1\nMV-PROFILE-END\n');
  for (const step of [1, 2, 7, stream.length]) {
    let asked = 0;
    const p = new ControlParser(1000, { request: () => asked++ });
    for (let i = 0; i < stream.length; i += step) p.push(stream.subarray(i, i + step));
    p.end();
    t.is(asked, 1);
    t.deepEqual(p.result, { ready: 'MV_PROFILE=/tmp/p MV_PROFILE_HZ=9', profile: Buffer.from('main;f 3\na 1\n') });
  }
});

test('the parser takes nothing it cannot frame: cut short, too large, unknown lines, endless lines', (t) => {
  const run = (s: string | Buffer, max = 1000) => {
    const p = new ControlParser(max);
    p.push(Buffer.from('MV-CTL 1\n'));
    p.push(Buffer.from(s));
    p.end();
    return p.result;
  };
  t.regex(run('MV-PROFILE 10\nabc').problem ?? '', /cut short: 3 of 10 bytes/);
  t.regex(run('MV-PROFILE 3\nabc').problem ?? '', /without its MV-PROFILE-END/);
  t.regex(run('MV-PROFILE 3\nabcXX\n').problem ?? '', /not followed by MV-PROFILE-END/);
  t.regex(run('MV-PROFILE 5000\n').problem ?? '', /over the 1000 taken/);
  t.regex(run('MV-PROFILE 99999999999\n').problem ?? '', /unknown line/);
  t.regex(run('rm -rf /\n').problem ?? '', /unknown line/);
  t.regex(run(Buffer.alloc(100_000, 0x41)).problem ?? '', /over 256 bytes/);
  t.is(run('MV-PROFILE none\n').profile, null);
  t.is(run('').ready, undefined);
});

test("before init asks, what the card carries (a firmware's text) is skipped, however long", (t) => {
  let asked = 0;
  const p = new ControlParser(1000, { request: () => asked++ });
  p.push(Buffer.from('\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\nMV-PROFILE 5\nrm -rf /\n'));
  p.push(Buffer.alloc(100_000, 0x41));
  p.push(Buffer.from('\nMV-CTL 1\nMV-CTL ready MV_PROFILE=/tmp/p\nMV-PROFILE none\n'));
  p.end();
  t.is(asked, 1);
  t.deepEqual(p.result, { ready: 'MV_PROFILE=/tmp/p', profile: null });
});

test('settings answered, the debugger held until the guest end is open, relayed both ways, detached when it leaves, the profile read', async (t) => {
  const port = await freePort();
  let gdbReady = 0;
  const ch = await ControlChannel.open({ gdbPort: port, profileHz: 999 }, 1 << 20, { gdbReady: () => gdbReady++ });
  const ctl = await open(ch.sockets.ctl);
  const ctlIn = collect(ctl);
  const guestGdb = await open(ch.sockets.gdb!);
  const stub = collect(guestGdb);
  ctl.write('MV-CTL 1\n');
  await ctlIn.until('\n');
  t.is(ctlIn.text(), 'MV_GDB=' + port + ' MV_PROFILE=1 MV_PROFILE_HZ=999\n');

  const gdb = await open(port);
  const debugger_ = collect(gdb);
  gdb.write('+$qSupported#37');
  await sleep(200);
  t.is(stub.text(), '', 'held while the guest end is not open');
  ctl.write(`MV-CTL ready MV_PROFILE=/tmp/mv-profile.folded MV_PROFILE_HZ=999 MV_GDB=${port}\n`);
  await stub.until('$qSupported#37');
  t.is(gdbReady, 1);
  t.is(stub.text(), '+$qSupported#37');
  guestGdb.write('+$PacketSize=4000#00');
  await debugger_.until('PacketSize');
  const second = await open(port).catch(() => undefined);
  if (second) await new Promise((r) => second.once('close', r)); // one debugger at a time
  gdb.destroy();
  await stub.until('$D#44');
  t.pass('a debugger that left was detached for');

  ctl.end('MV-PROFILE 9\nmain;f 3\nMV-PROFILE-END\n');
  const got = await ch.finish();
  t.deepEqual(got.profile, Buffer.from('main;f 3\n'));
  t.false(existsSync(ch.sockets.ctl), 'the sockets are removed');
  await t.throwsAsync(open(port), undefined, 'the port is closed after the run');
});

test('a gdb port in use is one line before anything boots', async (t) => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  const e = await t.throwsAsync(ControlChannel.open({ gdbPort: port }, 1000));
  busy.close();
  t.true(e instanceof MvError);
  t.is(
    (e as MvError).line(),
    `mv-image: run: cannot listen for gdb on 127.0.0.1:${port} (the port is in use) (fix: pick another --gdb port, or stop what listens there (ss -ltnp 'sport = :${port}'))`,
  );
});
