// Shared by the benchmarks: medians and a description of the machine they ran on.
import { cpus, loadavg, release, totalmem } from 'node:os';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function hostInfo() {
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    date: new Date().toISOString(),
    load1: +loadavg()[0].toFixed(2),
  };
}
