# Stopped at main, at CPL 0; a breakpoint, its backtrace and arguments; a step over a line and a
# local; the threads (one per vCPU); a watchpoint (software: QEMU's TCG does not apply debug
# registers to a nested guest); and on to the exit status.
p $cs
break add
continue
bt
info args
next
p sum
info threads
set can-use-hw-watchpoints 0
watch watched
continue
delete
continue
