#!/bin/sh
# One node's part of the MPI job, started by init (through /app/mpi-node) on every node of
# `mv-image cluster run`, which gives it MV_NODE_INDEX, MV_NODE_COUNT, MV_NODE_IP and MV_SERVER.
# MPICH's own launcher starts the job: every node runs an ssh server (dropbear) for hydra's ssh
# bootstrap; node 0 waits until every node accepts ssh, runs the job twice with mpiexec (one
# rank per node: main in the HRT, then natively with MV_DISABLE=1, so both ping-pong tables come
# from one boot) and then tells the other nodes that the job is over. Booted alone (mv-image
# run), the node runs the job with 2 ranks of its own.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
n=${MV_NODE_COUNT:-} me=${MV_NODE_INDEX:-} ip=${MV_NODE_IP:-}
# Bounds, in seconds: node 0 waits this long for the others' ssh servers; the others wait
# this long for node 0's word that the job is over (it includes node 0's wait and both jobs).
WAIT_UP=300 WAIT_END=900
now() { cut -d . -f 1 /proc/uptime; }
# Where a slow boot's time went: "MPI-TIME <phase> <seconds since the kernel started>".
mark() { echo "MPI-TIME $1 $(cut -d ' ' -f 1 /proc/uptime)"; }
# UCX (MPICH's transport layer) without its SysV shared memory transport: shmat is refused in
# the HRT (hvm/README.md); POSIX shared memory (mmap of /dev/shm), CMA and TCP remain. Both runs
# use the same transports.
export UCX_TLS=^sysv

# The job once with each rank's main in the HRT, once natively; "$@": where the ranks go.
# mpiexec.hydra: the mpiexec name is an alternatives link, which only dpkg would make. Each run
# is bounded (JOB_S): a rank that hangs fails the job instead of the node's --timeout.
JOB_S=240
# Once rank 0 has printed MPI-DONE, only MPI_Finalize is left: a job still running GRACE_S later
# is in UCX's finalize hang (README.md, "What the job needs") and is stopped then, not at JOB_S.
GRACE_S=20
# A job that reaches either bound is said to have: its results stand only if rank 0 printed them
# all (MPI-DONE) before the hang; stopped in finalize, its status is whether they were all ok.
# The output goes to the console when the job has ended.
job() {
  t0=$(now) done_at='' stopped='' out=/run/mpi-job.out
  timeout "$JOB_S" mpiexec.hydra -prepend-rank "$@" /app/mpi-bench >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    [ -z "$done_at" ] && grep -q '^\[0\] MPI-DONE' "$out" && done_at=$(now)
    if [ -n "$done_at" ] && [ $(($(now) - done_at)) -ge "$GRACE_S" ]; then
      stopped=1
      kill "$pid"
      break
    fi
    sleep 1
  done
  wait "$pid"
  rc=$?
  cat "$out"
  if [ -n "$stopped" ]; then
    echo "MPI-JOB-BOUND the job did not end within $GRACE_S s of MPI-DONE and was stopped (mpiexec status $rc)"
    grep -q '^\[0\] MPI-DONE ok' "$out"
    return
  fi
  [ $(($(now) - t0)) -ge "$JOB_S" ] && echo "MPI-JOB-BOUND the job did not end within $JOB_S s and was stopped (mpiexec status $rc)"
  return "$rc"
}
both() {
  mark job-hrt
  echo "MPI-JOB hrt"
  job "$@"
  st=$?
  mark job-native
  echo "MPI-JOB native (MV_DISABLE=1)"
  job -genv MV_DISABLE 1 "$@" || [ "$st" -ne 0 ] || st=1
  mark job-end
  echo "MPI-JOB end status=$st"
  return "$st"
}

if [ -z "$n" ] || [ -z "$me" ] || [ -z "${MV_SERVER:-}" ] || [ "$ip" = none ]; then
  both -launcher fork -n 2
  exit
fi

# Root logs in over ssh with a blank password (dropbear -B), and the client skips host keys
# (/app/ssh): acceptable only because the cluster's network is private to its nodes. Why, and
# what else was weighed: README.md, "How the ranks are started".
echo 'root::1:0:99999:7:::' > /etc/shadow
mkdir -p /etc/dropbear
# MPICH and UCX look up this node's own name; nothing else names it.
echo "$ip $(hostname)" >> /etc/hosts
mark node-up
dropbear -R -B -E -F -p 22 &
sshd=$!
finish() { kill "$sshd" 2>/dev/null; wait "$sshd" 2>/dev/null; exit "$1"; }

if [ "$me" != 0 ]; then
  end=$(($(now) + WAIT_END))
  while [ ! -e /run/mpi-done ] && [ "$(now)" -lt "$end" ]; do sleep 1; done
  [ -e /run/mpi-done ] && { echo "MPI-NODE $me: node 0 says the job is over"; finish 0; }
  echo "MPI-NODE $me: no word from node 0 within $WAIT_END s"
  finish 1
fi

# Node 0: every node's address from serve (GET /hosts: the nodes that came up, in index order,
# so rank 0 is here), each checked to be an IPv4 address before it goes anywhere.
end=$(($(now) + WAIT_UP))
while :; do
  # (timeout, not wget's -T: busybox 1.35's wget crashes with -T and -O -)
  hosts=$(timeout 10 wget -q -O - "$MV_SERVER/hosts" 2>/dev/null)
  [ "$(echo "$hosts" | grep -c .)" -ge "$n" ] && break
  [ "$(now)" -ge "$end" ] && { echo "MPI-NODE 0: fewer than $n nodes came up within $WAIT_UP s"; finish 1; }
  sleep 2
done
mark hosts-up
list= others=
for h in $hosts; do
  case "$h" in *[!0-9.]* | '') echo "MPI-NODE 0: serve gave a bad address"; finish 1 ;; esac
  list=${list:+$list,}$h
  [ "$h" = "$ip" ] || others="$others $h"
done
# Every other node's ssh server takes a login (what hydra needs), within the bound.
for h in $others; do
  until /app/ssh "$h" true </dev/null >/dev/null 2>&1; do
    [ "$(now)" -ge "$end" ] && { echo "MPI-NODE 0: $h does not take ssh logins within $WAIT_UP s"; finish 1; }
    sleep 1
  done
done
mark ssh-up
echo "MPI-NODE 0: $n nodes take ssh logins: $list"
both -launcher ssh -launcher-exec /app/ssh -localhost "$ip" -hosts "$list" -n "$n"
status=$?
for h in $others; do /app/ssh "$h" 'touch /run/mpi-done' </dev/null >/dev/null 2>&1 || echo "MPI-NODE 0: could not tell $h"; done
finish "$status"
