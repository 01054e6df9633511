// End to end: an MPI job across a virtual cluster. Builds examples/mpi (Debian's MPICH, mpicc
// with MPICH_CC=mv-cc), boots it on 3 nodes with `cluster run`, where node 0 starts the job with
// hydra's mpiexec over ssh (dropbear) twice: every rank's main in the HRT, then MV_DISABLE=1.
// One boot of the cluster: the file took 80 s to 2.5 min under TCG on 2 cores (the build 15 s
// with the image cached, 65 s without; cluster run 60 to 80 s). Root, like cluster.test.ts.
import test from 'ava';
import { join } from 'node:path';
import { parseMpiConsole } from '../../bench/mpi';
import { cli, repo, tempDir } from '../helpers/cli';

const iso = join(tempDir('mv-mpi-test-'), 'mpi.iso');

test.serial('examples/mpi builds with MPICH through mv-cc', (t) => {
  const r = cli(['build', join(repo, 'examples/mpi'), '-o', iso], { SOURCE_DATE_EPOCH: '1700000000' });
  t.is(r.status, 0, r.stderr);
});

test.serial("cluster run: an MPI job on 3 nodes, started by hydra's mpiexec, every rank's main in the HRT, then natively", (t) => {
  t.timeout(900_000);
  const r = cli(['cluster', 'run', iso, '--nodes', '3', '--timeout', '600', '--json'], {}, 840_000);
  t.is(r.status, 0, r.stderr);
  const nodes = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  t.is(nodes.length, 3);
  for (const n of nodes) t.like(n, { ok: true, status: 0 }, `node ${n.index}`);
  for (const n of nodes.slice(1)) t.regex(n.report.console, new RegExp(`^MPI-NODE ${n.index}: node 0 says the job is over\\r?$`, 'm'));
  const con = nodes[0].report.console as string;
  const job = parseMpiConsole(con);
  t.is(job.status, 0, con);
  // Every rank, one per node, ran its main at cpl 0 and libmv announced it; rank 0 agrees.
  t.deepEqual(job.hrt.cpl, { 0: 0, 1: 0, 2: 0 }, con);
  t.deepEqual([...job.hrt.announced].sort(), [0, 1, 2], con);
  t.is(job.hrt.cpl0, 3);
  t.regex(con, /^\[0\] MPI-RANK 0 of 3 on mpi-0: /m);
  t.regex(con, /^\[2\] MPI-RANK 2 of 3 on mpi-2: /m);
  // The same job natively (MV_DISABLE=1).
  t.deepEqual(job.native.cpl, { 0: 3, 1: 3, 2: 3 });
  t.deepEqual(job.native.announced, []);
  for (const run of [job.hrt, job.native]) {
    t.true(run.ring && run.allreduce && run.done, con);
    t.regex(con, /^\[0\] MPI-ALLREDUCE ranks=3 sum=14 closed_form=14 ok\r?$/m);
    t.deepEqual(
      run.pingpong.map((p) => p.bytes),
      [8, 1024, 65536, 1 << 20],
    );
    for (const p of run.pingpong) t.true(p.latencyUs > 0 && p.bandwidthMBps > 0, JSON.stringify(p));
  }
  // Where the run's time went: each node's power-on to report, its kernel's uptime at the program's
  // start, and node 0's phases (since its kernel started). A slow run says which part.
  t.log(nodes.map((n) => `node ${n.index}: report ${n.reportS} s after power-on, program start ${n.report?.startS} s`).join('; '));
  // UCX's finalize hang (examples/mpi/README.md): the results above were all printed before it.
  for (const l of con.match(/^MPI-JOB-BOUND .*$/gm) ?? []) t.log('node 0:', l.trim());
  t.log('node 0:', [...con.matchAll(/^MPI-TIME (\S+) ([\d.]+)\r?$/gm)].map((m) => `${m[1]} ${m[2]} s`).join(', '));
  t.log(
    'ping-pong, latency µs / bandwidth MB/s, HRT vs native:',
    job.hrt.pingpong
      .map(
        (p, i) =>
          `${p.bytes} B: ${p.latencyUs}/${p.bandwidthMBps} vs ${job.native.pingpong[i].latencyUs}/${job.native.pingpong[i].bandwidthMBps}`,
      )
      .join('; '),
  );
});
