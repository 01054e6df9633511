// A small Node.js workload for the HRT suite (issue 15): JIT-compiled compute, Buffer and
// crypto, fs write and read back, and a worker_threads worker. Its output must not depend on
// where main runs: the suite compares an HRT run with a native one in the same guest.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

function primes(n) { // hot loop: optimized by V8's JIT tiers
  let count = 0;
  for (let i = 2; i < n; i++) {
    let p = true;
    for (let j = 2; j * j <= i; j++) if (i % j === 0) { p = false; break; }
    if (p) count++;
  }
  return count;
}

if (!isMainThread) {
  parentPort.postMessage({ primes: primes(workerData), hash: crypto.createHash('sha256').update(String(workerData)).digest('hex') });
} else {
  console.log('primes below 200000:', primes(200000));
  const buf = Buffer.alloc(1 << 20);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + 7) & 0xff;
  console.log('sha256 of 1 MiB:', crypto.createHash('sha256').update(buf).digest('hex'));
  console.log('base64 head:', buf.subarray(0, 12).toString('base64'));
  const f = '/tmp/node-check.bin';
  fs.writeFileSync(f, buf);
  const back = fs.readFileSync(f);
  console.log('fs round trip:', back.length, back.equals(buf) ? 'same' : 'different');
  fs.unlinkSync(f);
  const w = new Worker(__filename, { workerData: 50000 });
  w.on('message', (m) => console.log('worker:', m.primes, m.hash.slice(0, 16)));
  w.on('error', (e) => { console.log('worker error:', e.message); process.exitCode = 1; });
  w.on('exit', (code) => console.log('worker exit:', code));
}
