# A NULL write in HRT code: gdb stops with SIGSEGV at the faulting instruction; continuing
# delivers it, as natively.
continue
bt 2
x/i $pc
continue
