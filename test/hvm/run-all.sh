#!/bin/sh
# run-all.sh DIR - runs every HRT C test from DIR inside the guest and frames
# each run as "=== BEGIN <case>" ... "=== END <case> <status>", which
# test/hvm/hrt.test.ts parses. Dynamic and -static builds both run.
D=${1:-/mv/t}
cd /tmp || exit 1
run() {
	name=$1; shift
	echo "=== BEGIN $name"
	"$@" 2>&1
	echo "=== END $name $?"
}
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
	echo "=== BEGIN stdin$s"; printf 'one\ntwo\nthree\n' | "$D/t_stdin$s" 2>&1; echo "=== END stdin$s $?"
	for m in ret exit _exit; do
		for n in 0 3 255; do run "exit-$m-$n$s" "$D/t_exit$s" $m $n; done
	done
	run "null$s" "$D/t_null$s"
done
# The native fallback: same binaries, MV_DISABLE=1, output must match.
run "native-cpl" env MV_DISABLE=1 "$D/t_cpl" --native
run "native-args" env MV_DISABLE=1 MV_TEST_VAR=hello "$D/t_args" one "two words"
run "native-files" env MV_DISABLE=1 "$D/t_files"
run "native-tls" env MV_DISABLE=1 "$D/t_tls"
run "native-mmap" env MV_DISABLE=1 "$D/t_mmap"
echo "=== BEGIN native-stdin"; printf 'one\ntwo\nthree\n' | MV_DISABLE=1 "$D/t_stdin" 2>&1; echo "=== END native-stdin $?"
run "native-exit-exit-3" env MV_DISABLE=1 "$D/t_exit" exit 3
run "native-null" env MV_DISABLE=1 "$D/t_null"
run "announce" env MV_ANNOUNCE=1 "$D/t_exit" ret 0
run "require-hrt" env MV_REQUIRE_HRT=1 "$D/t_exit" ret 0
exit 0
