// bench/syscall: builds driver (plain gcc) and hrt (mv-cc), runs them in one QEMU TCG guest
// with kvm_amd (the one place here where the HRT runs libc), prints the table and writes
// bench/results/syscall.json. Target (ARCHITECTURE.md §9): forwarded <= 1.25x bare exit.
// Usage: node dist/bench/syscall/run.js
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest } from '../../src/harness/guest';
import { hostInfo } from '../stats';

const repo = join(__dirname, '..', '..', '..');

async function main() {
  for (const dir of ['nautilus', 'hvm', 'bench/syscall']) execFileSync('make', ['-s', '-C', join(repo, dir)], { stdio: 'inherit' });
  const build = join(repo, 'bench', 'syscall', 'build');
  const r = await runInGuest({
    files: [
      { src: join(build, 'driver'), dest: '/mv/b/driver' },
      { src: join(build, 'hrt'), dest: '/mv/b/hrt' },
    ],
    script: 'cd /mv/b && ./driver ./hrt\n',
    // Two CPUs, each its own TCG thread: the exitless rows need the poll server running on the
    // ROS CPU (0) while the vCPU (pinned to CPU 1 by MV_HRT_CPUS) spins. With one TCG thread for
    // both, the server would run only when QEMU switches CPUs, and the rows would measure that.
    cpus: 2,
    tcgThreads: 'multi',
    timeoutMs: 600_000,
  });
  const lines = r.output.split('\n').map((l) => l.replace(/\r$/, ''));
  const json = lines.find((l) => l.startsWith('JSON '));
  if (r.status !== 0 || !json) throw new Error(`bench failed (status ${r.status}, log ${r.logPath}):\n${r.output.slice(-2000)}`);
  const start = lines.findIndex((l) => l.startsWith('measure (median)'));
  console.log(lines.slice(start, start + 19).join('\n'));
  const result = {
    where: 'QEMU TCG -cpu max -smp 2 (a TCG thread per CPU) guest, nested kvm_amd; vCPU on CPU 1, poll server on CPU 0',
    host: hostInfo(),
    ...JSON.parse(json.slice(5)),
  };
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'results', 'syscall.json'), JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
