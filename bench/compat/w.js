// node workload of bench/compat.ts (node -e reads it): JIT-compiled loops, Buffer, crypto, JSON,
// promises and timers.
/* global setTimeout */
const crypto = require('crypto');
let primes = 0;
for (let i = 2; i < 30000; i++) {
  let p = true;
  for (let j = 2; j * j <= i; j++) if (i % j === 0) { p = false; break; }
  if (p) primes++;
}
console.log('primes', primes);
const b = Buffer.alloc(1 << 16);
for (let i = 0; i < b.length; i++) b[i] = (i * 7) & 255;
console.log('sha256', crypto.createHash('sha256').update(b).digest('hex'));
const o = { a: [1, 2, 3], s: 'x'.repeat(10), n: { m: 1.5 } };
console.log('json', JSON.stringify(JSON.parse(JSON.stringify(o))));
Promise.all([1, 2, 3].map((x) => new Promise((r) => setTimeout(() => r(x * 2), 10 * x)))).then((v) => {
  console.log('timers', v.join(','));
  process.exitCode = 2;
});
