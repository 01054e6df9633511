// The Node.js benchmark suite (bench/node.ts, examples/node): `node suite.js NAME [SCALE]` runs one
// program, `node suite.js all [SCALE]` each in turn; each prints
// `MV-BENCH name=NAME time_s=T digest=D check=C` (T: the program's own wall time around its work;
// D: a digest of its result, which must not depend on where main runs; C: ok when D is the
// known-good digest, bad when not, none at a scale that has none). `all` ends with
// `MV-BENCH-SUITE programs=N bad=B` and exits 1 when a digest was bad.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

function primes(lo, hi) { // hot loop: V8's optimizing tiers
  let count = 0, sum = 0;
  for (let i = Math.max(lo, 2); i < hi; i++) {
    let p = true;
    for (let j = 2; j * j <= i; j++) if (i % j === 0) { p = false; break; }
    if (p) { count++; sum = (sum + i) % 1000000007; }
  }
  return { count, sum };
}

function nbody(steps) { // floating point, objects, arrays: the JIT at work
  const b = [[0, 0, 0, 0, 0, 0, 39.47], [4.84, -1.16, -0.10, 0.60, 2.81, -0.02, 0.037],
    [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011], [12.89, -15.11, -0.22, 1.08, 0.86, -0.01, 0.0017],
    [15.37, -25.91, 0.17, 0.97, 0.59, -0.03, 0.002]].map(([x, y, z, vx, vy, vz, m]) => ({ x, y, z, vx, vy, vz, m }));
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) {
      const dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      const d2 = dx * dx + dy * dy + dz * dz, mag = 0.01 / (d2 * Math.sqrt(d2));
      b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
      b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
    }
    for (const p of b) { p.x += 0.01 * p.vx; p.y += 0.01 * p.vy; p.z += 0.01 * p.vz; }
  }
  return b.map((p) => p.x.toFixed(6)).join(',');
}

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);

const programs = {
  compute: async (k) => sha(`${JSON.stringify(primes(0, 150000 * k))} ${nbody(200000 * k)}`),
  crypto: async (k) => { // Buffer fill, sha256 and an HMAC over it
    const buf = Buffer.alloc(4 << 20);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 7) & 0xff;
    let h = '';
    for (let r = 0; r < 4 * k; r++) h = crypto.createHmac('sha256', h || 'k').update(buf).digest('hex');
    return sha(h + buf.toString('base64', 0, 48));
  },
  fs: async (k) => { // a 16 MiB file written and read back through streams, in 64 KiB chunks
    const f = `/tmp/node-bench-${process.pid}.bin`, chunk = Buffer.alloc(64 << 10, 0x5a);
    await new Promise((res, rej) => {
      const w = fs.createWriteStream(f);
      let n = 0;
      const more = () => { while (n < 256 * k) { n++; if (!w.write(chunk)) return w.once('drain', more); } w.end(); };
      w.on('finish', res).on('error', rej);
      more();
    });
    const h = crypto.createHash('sha256');
    await new Promise((res, rej) => fs.createReadStream(f, { highWaterMark: 64 << 10 }).on('data', (d) => h.update(d)).on('end', res).on('error', rej));
    fs.unlinkSync(f);
    return h.digest('hex').slice(0, 16);
  },
  workers: async (k) => { // two worker_threads (two more vCPUs in the HRT), each half the range
    const half = 100000 * k;
    const run = (lo, hi) => new Promise((res, rej) => new Worker(__filename, { workerData: [lo, hi] }).on('message', res).on('error', rej));
    const r = await Promise.all([run(0, half), run(half, 2 * half)]);
    return sha(JSON.stringify(r));
  },
};

/** Known-good digests at scale 1 (Node 18 and 20 agree: bench/results/node.md). */
const EXPECTED = { compute: 'fa2ff0a8a404e9a8', crypto: '051389a17b000783', fs: '55c7e25571a69216', workers: '141e401c1af34009' };

async function run(name, scale) {
  const t0 = process.hrtime.bigint();
  const digest = await programs[name](scale);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const check = scale !== 1 ? 'none' : digest === EXPECTED[name] ? 'ok' : 'bad';
  console.log(`MV-BENCH name=${name} time_s=${s.toFixed(3)} digest=${digest} check=${check}`);
  return check !== 'bad';
}

if (!isMainThread) {
  parentPort.postMessage(primes(workerData[0], workerData[1]));
} else {
  const [name, scale] = [process.argv[2], Number(process.argv[3] || 1)];
  if (!programs[name] && name !== 'all') {
    console.error(`usage: node suite.js ${Object.keys(programs).join('|')}|all [SCALE]`);
    process.exit(2);
  }
  (async () => {
    if (name !== 'all') return void await run(name, scale);
    let bad = 0;
    for (const p of Object.keys(programs)) if (!await run(p, scale)) bad++;
    console.log(`MV-BENCH-SUITE programs=${Object.keys(programs).length} bad=${bad}`);
    if (bad) process.exitCode = 1;
  })();
}
