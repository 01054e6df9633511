# bash workload of bench/compat.ts: pipes, subshells, functions, arrays, arithmetic, here-docs,
# process substitution, background jobs, traps, and its children (which must start natively).
set -u
# PATH comes from bench/compat.ts (Debian's programs before busybox's applets)
f() { local x=$1; echo $(( x * x + ${#x} )); }
declare -a arr=()
for i in $(seq 1 50); do arr+=("$(f "$i")"); done
echo "array ${#arr[@]} sum $(IFS=+; echo $(( ${arr[*]} )))"
echo "pipe $(seq 1 2000 | sort -r | head -3 | tr '\n' ' ')"
( cd /tmp && echo "subshell $(pwd)"; exit 3 ); echo "subshell status $?"
declare -A h=([one]=1 [two]=2 [three]=3)
for k in $(printf '%s\n' "${!h[@]}" | sort); do echo "assoc $k=${h[$k]}"; done
while read -r a b; do echo "read $b $a"; done <<END
x 1
y 2
END
echo "procsub $(wc -l < <(seq 1 77))"
sleep 0.2 & p1=$!; (exit 5) & p2=$!; wait $p1; s1=$?; wait $p2; s2=$?
echo "jobs $s1 $s2"
trap 'echo "trap USR1"' USR1; kill -USR1 $$; trap - USR1
s="Hello, World"; echo "params ${s,,} ${s^^} ${s/World/bash} ${s:7:5} ${#s}"
# The children: an exec'd program has no libmv in its maps, no LD_PRELOAD and no KVM fds.
echo "child maps libmv: $(grep -c libmv /proc/self/maps)"
echo "child env LD_PRELOAD: $(tr '\0' '\n' < /proc/self/environ | grep -c '^LD_PRELOAD=')"
echo "child kvm fds: $(ls -l /proc/self/fd/ | grep -c kvm)"
echo "grandchild: $(bash -c 'grep -c libmv /proc/self/maps')"
exit 4
