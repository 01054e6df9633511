# case.sh - sourced by run-all.sh and run-overrides.sh inside the guest: run NAME COMMAND...
# frames one case as "=== BEGIN <name>" ... "=== END <name> <status>" (test/hvm/cases.ts
# parses them); bounded COMMAND... runs a command under the same time bound.
# A case that hangs is killed after CASE_S seconds, with what each of its threads was doing,
# so that it fails alone instead of holding the guest until the test's own bound.
CASE_S=${CASE_S:-300}
watch() { # SECONDS: kill the shell's other children (the case) if they run that long
	# This watcher's pid and its shell's (a pipeline's subshell, say); read is a builtin.
	read -r me _ _ shell _ < /proc/self/stat
	sleep "$1"
	for p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$shell" ] && [ "${p#/proc/}" != "$me" ] || continue
		echo "=== TIMEOUT after $1 s: ${p#/proc/} $(cat "$p/comm")"
		for t in "$p"/task/*; do
			echo "thread ${t##*/} $(cut -d' ' -f2,3 "$t/stat") wchan=$(cat "$t/wchan")"
			sed 's/^/    /' "$t/stack" 2>/dev/null
		done
		kill -KILL "${p#/proc/}"
	done
}
bounded() { # COMMAND...: runs it (in this shell's foreground, stdin kept) under a watch
	watch "$CASE_S" & w=$!
	"$@"; st=$?
	kill $w 2>/dev/null
	return $st
}
run() {
	name=$1; shift
	echo "=== BEGIN $name"
	bounded "$@" 2>&1
	echo "=== END $name $?"
}
