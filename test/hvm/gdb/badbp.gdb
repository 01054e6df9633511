# A breakpoint at an address that is not mapped: gdb cannot insert it, the script stops there,
# gdb detaches at its end, and the program runs on.
break *0x10
continue
