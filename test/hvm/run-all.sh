#!/bin/sh
# run-all.sh DIR - runs every HRT C test from DIR inside the guest and frames
# each run as "=== BEGIN <case>" ... "=== END <case> <status>", which
# test/hvm/hrt.test.ts parses. Dynamic and -static builds both run.
D=${1:-/mv/t}
cd /tmp || exit 1
. "$D/case.sh" # run, bounded: each case framed and bounded in time
printf 'one\ntwo\nthree\n' > /tmp/stdin.txt
# init holds one idle VM open (mv-kvmhold): its fds are /dev/kvm, the VM and its vCPU.
echo "=== BEGIN kvmhold"
for p in /proc/[0-9]*; do
	[ "$(cat "$p/comm" 2>/dev/null)" = mv-kvmhold ] && echo "mv-kvmhold holds: $(ls -l "$p/fd" | grep -o 'kvm[^ ]*' | sort | tr '\n' ' ')"
done
echo "rcu_expedited: $(cat /sys/kernel/rcu_expedited)"
echo "=== END kvmhold 0"
for s in "" -static; do
	run "cpl$s" "$D/t_cpl$s"
	run "args$s" env MV_TEST_VAR=hello "$D/t_args$s" one "two words"
	run "files$s" "$D/t_files$s"
	run "malloc$s" "$D/t_malloc$s"
	run "mmap$s" "$D/t_mmap$s"
	run "mmap-ro-write$s" "$D/t_mmap$s" ro-write
	run "mmap-text-write$s" "$D/t_mmap$s" text-write
	run "mmap-unmapped$s" "$D/t_mmap$s" unmapped
	run "tls$s" "$D/t_tls$s"
	run "time$s" "$D/t_time$s"
	run "cxx$s" "$D/t_cxx$s"
	echo "=== BEGIN stdin$s"; printf 'one\ntwo\nthree\n' | bounded "$D/t_stdin$s" 2>&1; echo "=== END stdin$s $?"
	for m in ret exit _exit; do
		for n in 0 3 255; do run "exit-$m-$n$s" "$D/t_exit$s" $m $n; done
	done
	run "null$s" "$D/t_null$s"
	run "stack$s" "$D/t_stack$s"
	run "threads$s" env MV_ANNOUNCE=1 "$D/t_threads$s" 3
	run "threads-main-exit$s" "$D/t_threads$s" main-exit
	run "spawn$s" "$D/t_spawn$s"
	run "fork$s" "$D/t_fork$s"
	run "stress$s" "$D/t_stress$s" 20
	run "signal$s" "$D/t_signal$s"
	run "signal-term$s" "$D/t_signal$s" term
	run "signal-exit$s" "$D/t_signal$s" exit
	run "signal-resethand$s" "$D/t_signal$s" resethand
	run "signal-abort$s" "$D/t_signal$s" abort
	echo "=== BEGIN signal-kick$s"
	bounded env MV_TRACE=1 "$D/t_signal$s" kick 300 2>/tmp/kick.trace; st=$?
	echo "signals that landed inside Nautilus: $(grep -c 'inside Nautilus' /tmp/kick.trace)"
	echo "=== END signal-kick$s $st"
	# Stop and continue from outside, as a shell's job control does.
	echo "=== BEGIN signal-stopcont$s"
	watch "$CASE_S" & w=$!
	"$D/t_signal$s" stopcont > /tmp/sc.out 2>&1 &
	pid=$!
	i=0; while ! grep -q ready /tmp/sc.out && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	kill -STOP $pid; sleep 0.5
	echo "state after SIGSTOP: $(cut -d' ' -f3 /proc/$pid/stat)"
	kill -CONT $pid; sleep 0.5
	echo "state after SIGCONT: $(cut -d' ' -f3 /proc/$pid/stat)"
	kill -USR2 $pid
	wait $pid; st=$?; kill $w 2>/dev/null
	cat /tmp/sc.out
	echo "=== END signal-stopcont$s $st"
	for m in ud2 div0 gp triple; do run "fault-$m$s" "$D/t_fault$s" $m; done
	# What Racket CS's JIT and collector do to memory (issue 13).
	run "jit$s" "$D/t_jit$s" 4
	run "gcmem$s" "$D/t_gcmem$s" 3
	# Exitless calls (hvm/src/poll.c), forced on this one-CPU guest: with a 20 ms spin budget
	# the server (sharing the CPU) takes most calls; MV_POLL=0 must print the same lines.
	echo "=== BEGIN poll$s"
	rm -f /tmp/poll.stats; bounded env MV_POLL=1 MV_POLL_NS=20000000 MV_STATS=/tmp/poll.stats "$D/t_poll$s" > /tmp/poll.on 2>&1; st=$?
	bounded env MV_POLL=0 "$D/t_poll$s" > /tmp/poll.off 2>&1
	cat /tmp/poll.on; echo "stats: $(cat /tmp/poll.stats)"
	if cmp -s /tmp/poll.on /tmp/poll.off; then echo "same output without exitless calls: yes"; else echo "same output without exitless calls: no"; diff /tmp/poll.on /tmp/poll.off; fi
	echo "=== END poll$s $st"
	# mmap, write, munmap at one address, 1600 times (CPython's test_mmap, issue 16).
	run "remap$s" "$D/t_remap$s" 3
	# MV_PROFILE (hvm/src/profile.c): the folded profile of t_prof's three phases.
	echo "=== BEGIN prof$s"
	rm -f /tmp/prof.folded; bounded env MV_PROFILE=/tmp/prof.folded MV_PROFILE_HZ=499 "$D/t_prof$s" 2>&1; st=$?
	echo "--- folded"; cat /tmp/prof.folded; ls /tmp/prof.folded.tmp.* 2>/dev/null
	echo "=== END prof$s $st"
	# Protection keys as V8 probes them; 20000 mappings (issue 15).
	run "pkey$s" "$D/t_pkey$s"
	run "maps$s" "$D/t_maps$s" 20000
	# errno is the program's: MV_HRT_CPUS names a CPU that does not exist, so pinning a new
	# thread's partner fails inside libmv (issue 15).
	run "errno$s" env MV_HRT_CPUS=0,9 "$D/t_errno$s"
	run "getcpu$s" "$D/t_getcpu$s"
	run "int80$s" "$D/t_int80$s"
	run "int81$s" "$D/t_int80$s" int81
	run "rtsig$s" "$D/t_rtsig$s"
	run "pio$s" "$D/t_pio$s"
	run "pio-noperm$s" "$D/t_pio$s" noperm
	# MV_STATS: the summary when main returns, and at a forwarded exit_group.
	for m in ret exit; do
		echo "=== BEGIN stats-$m$s"
		rm -f /tmp/stats.txt; bounded env MV_STATS=/tmp/stats.txt "$D/t_stats$s" $m 2>&1; st=$?; echo "stats: $(cat /tmp/stats.txt)"
		echo "=== END stats-$m$s $st"
	done
	# The same summary as a table on stderr, and natively (MV_DISABLE=1): all zero, same fields.
	echo "=== BEGIN stats-table$s"; bounded env MV_STATS=1 "$D/t_stats$s" ret 2>&1; echo "=== END stats-table$s $?"
	echo "=== BEGIN stats-native$s"
	rm -f /tmp/stats.txt; bounded env MV_DISABLE=1 MV_STATS=/tmp/stats.txt "$D/t_stats$s" ret 2>&1; st=$?; echo "stats: $(cat /tmp/stats.txt)"
	echo "=== END stats-native$s $st"
done
# The C tests for threads, signals, files, children and memory again with exitless calls on
# (a 2 ms budget: on one CPU most posted calls are taken back after it and go the exit path, so
# both paths and the hand-over between them run).
for t in threads signal files stress spawn fork mmap time stdin; do
	echo "=== BEGIN polled-$t"; bounded env MV_POLL=1 MV_POLL_NS=2000000 "$D/t_$t" < /tmp/stdin.txt 2>&1; echo "=== END polled-$t $?"
done
# mvrun: an unmodified program (plain gcc) with its main in the HRT.
run mvrun env MV_ANNOUNCE=1 "$D/mvrun" "$D/t_plain" 7
run mvrun-static "$D/mvrun" "$D/t_plain-static" 7
# The C tests for threads, children, memory, files and signals, unmodified, under mvrun.
run mvrun-threads env MV_ANNOUNCE=1 "$D/mvrun" "$D/t_threads-plain" 3
run mvrun-stress env MV_ANNOUNCE=1 "$D/mvrun" "$D/t_stress-plain" 20
for t in spawn fork signal mmap files; do run "mvrun-$t" env MV_ANNOUNCE=1 "$D/mvrun" "$D/t_$t-plain"; done
echo "=== BEGIN prof-mvrun"
rm -f /tmp/prof.folded; bounded env MV_PROFILE=/tmp/prof.folded "$D/mvrun" "$D/t_prof-plain" 2>&1; st=$?
echo "--- folded"; cat /tmp/prof.folded
echo "=== END prof-mvrun $st"
run prof-badpath env MV_PROFILE=/nonexistent/dir/p.folded MV_PROFILE_HZ=99x "$D/t_prof" 0.2
# Children of a program under mvrun start natively even when the program has its own unsetenv
# (bash exports one): a C program that does, and bash itself (issue 15).
run mvrun-envchild "$D/mvrun" "$D/t_envchild-plain"
run mvrun-bash "$D/mvrun" /bin/bash -c "$D/t_envchild-plain child; true"
# Node.js (Debian's node, unmodified) under mvrun: JIT, crypto, fs, a worker thread; the output
# must equal a native run's (issue 15). Natively the CPU's protection keys are there.
run native-pkey env MV_DISABLE=1 "$D/t_pkey"
echo "=== BEGIN node"
bounded /usr/bin/node "$D/check.js" > /tmp/node.nat 2>&1; b=$?
bounded env MV_ANNOUNCE=1 MV_REQUIRE_HRT=1 "$D/mvrun" /usr/bin/node "$D/check.js" > /tmp/node.hrt 2>&1; a=$?
cat /tmp/node.hrt
grep -v '^MV-HRT ' /tmp/node.hrt > /tmp/node.cmp
if cmp -s /tmp/node.cmp /tmp/node.nat && [ $a = $b ]; then echo "same as native: yes"
else echo "same as native: no (status $b natively)"; diff /tmp/node.cmp /tmp/node.nat; fi
echo "=== END node $a"
# gdb (MV_GDB, hvm/src/gdb.c): Debian's gdb in batch mode against t_gdb, as a user would drive
# it (test/hvm/gdb/*.gdb). remotetimeout: the program boots to main before it answers, which
# takes seconds under emulation.
ip link set lo up
gdbrun() { # NAME PORT SCRIPT PROGRAM [ARGS...]; gdb reads symbols from GDB_FILE (default PROGRAM)
	name=$1 port=$2 script=$3 prog=${GDB_FILE:-$4}; shift 3
	echo "=== BEGIN gdb-$name"
	watch "$CASE_S" & w=$! # bounds the program and gdb together
	MV_GDB=$port "$@" > /tmp/gdbprog.out 2>&1 &
	pid=$!
	"$D/gdb" -batch -nx -ex 'set pagination off' -ex 'set remotetimeout 120' -ex "target remote 127.0.0.1:$port" \
		-x "$D/$script.gdb" "$prog" 2>&1 | grep -v -e 'does not support file transfer' -e 'No such file or directory\.$'
	wait $pid; st=$?
	kill $w 2>/dev/null
	sed 's/^/program: /' /tmp/gdbprog.out
	echo "=== END gdb-$name $st"
}
for s in "" -static; do
	gdbrun "main$s" 1240${#s} main "$D/t_gdb$s"
	gdbrun "fault$s" 1241${#s} fault "$D/t_gdb$s" fault
	gdbrun "step$s" 1242${#s} step "$D/t_gdb$s"
done
GDB_FILE="$D/t_gdb-plain" gdbrun mvrun 12430 main "$D/mvrun" "$D/t_gdb-plain"
gdbrun badbp 12460 badbp "$D/t_gdb"
# Bad clients: a wrong checksum and a packet cut off by a disconnect; a port in use. The program
# runs on without the debugger each time.
echo "=== BEGIN gdb-badclient"
watch "$CASE_S" & w=$!
MV_GDB=12440 "$D/t_gdb" > /tmp/gdbprog.out 2>&1 &
pid=$!
sleep 1; i=0; while ! printf '+$qSupported#00$m0,4#6d$qSupp' | nc 127.0.0.1 12440 > /tmp/nc.out 2>&1 && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
wait $pid; st=$?; kill $w 2>/dev/null; cat /tmp/gdbprog.out; echo "replies: $(cat /tmp/nc.out)"
echo "=== END gdb-badclient $st"
echo "=== BEGIN gdb-portinuse"
nc -l -p 12450 > /dev/null 2>&1 & ncpid=$!
sleep 1; bounded env MV_GDB=12450 "$D/t_gdb" 2>&1; st=$?; kill $ncpid 2>/dev/null
echo "=== END gdb-portinuse $st"
# The native fallback: each program runs in the HRT and with MV_DISABLE=1; the
# guest compares the two outputs itself (the serial line is not byte-exact).
same() {
	name=$1; shift
	bounded "$@" < /tmp/stdin.txt > /tmp/hrt.out 2>&1; a=$?
	bounded env MV_DISABLE=1 "$@" < /tmp/stdin.txt > /tmp/nat.out 2>&1; b=$?
	grep -v '^MV-HRT ' /tmp/hrt.out > /tmp/hrt.cmp
	echo "=== BEGIN native-$name"
	cat /tmp/nat.out
	if cmp -s /tmp/hrt.cmp /tmp/nat.out && [ $a = $b ]; then echo "identical: yes"
	else echo "identical: no (status $a vs $b)"; diff /tmp/hrt.cmp /tmp/nat.out; fi
	echo "=== END native-$name $b"
}
same args env MV_TEST_VAR=hello "$D/t_args" one "two words"
same files "$D/t_files"
same tls "$D/t_tls"
same mmap "$D/t_mmap"
same stdin "$D/t_stdin"
same cxx "$D/t_cxx"
same exit-exit-3 "$D/t_exit" exit 3
same exit-ret-255 "$D/t_exit" ret 255
same args-static env MV_TEST_VAR=hello "$D/t_args-static" one "two words"
same files-static "$D/t_files-static"
run "native-cpl" env MV_DISABLE=1 "$D/t_cpl" --native
run "native-null" env MV_DISABLE=1 "$D/t_null"
run "trace" env MV_TRACE=1 "$D/t_exit" ret 4
run "announce" env MV_ANNOUNCE=1 "$D/t_exit" ret 0
run "require-hrt" env MV_REQUIRE_HRT=1 "$D/t_exit" ret 0
# No /dev/kvm at all: the same binary falls back to native after one warning.
mv /dev/kvm /dev/kvm.off
run "nokvm-fallback" "$D/t_cpl" --native
run "nokvm-disabled" env MV_DISABLE=1 "$D/t_cpl" --native
run "nokvm-required" env MV_REQUIRE_HRT=1 "$D/t_cpl" --native
mv /dev/kvm.off /dev/kvm
exit 0
