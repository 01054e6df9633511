#!/bin/sh
# run-overrides.sh DIR [SECONDS] - the override tests (t_ov_*) inside the
# guest, each in the HRT and natively (MV_DISABLE=1), dynamic and -static,
# framed as "=== BEGIN <case>" ... "=== END <case> <status>" like run-all.sh;
# test/hvm/override.test.ts parses them. SECONDS: t_ov_clock's long run.
D=${1:-/mv/t}
S=${2:-10}
cd /tmp || exit 1
. "$D/case.sh" # run: each case framed and bounded in time
for s in "" -static; do
	run "ov-clock$s" "$D/t_ov_clock$s" "$S"
	run "ov-clock-native$s" env MV_DISABLE=1 "$D/t_ov_clock$s" 2
	# A TSC rate 500 ppm off KVM's figure (5 ms over 10 s): re-anchoring keeps it within 1 ms.
	run "ov-clock-skew$s" env MV_TEST_CLOCK_SKEW_PPM=500 "$D/t_ov_clock$s" "$S"
	run "ov-signal$s" "$D/t_ov_signal$s"
	for t in ident malloc user; do
		run "ov-$t$s" "$D/t_ov_$t$s"
		run "ov-$t-native$s" env MV_DISABLE=1 "$D/t_ov_$t$s"
	done
	# HRT-native threads (mv_hrt_thread_create), and the same program as ordinary threads.
	run "native-threads$s" "$D/t_native$s"
	run "native-threads-ros$s" env MV_DISABLE=1 "$D/t_native$s"
	run "native-threads-bench$s" "$D/t_native$s" bench 30
	# Existing tests rebuilt with every override (build/ov/): the same checks must pass.
	for t in time malloc stress threads signal fork spawn files tls; do
		run "ov-again-$t$s" "$D/ov/t_$t$s"
	done
done
exit 0
