# Instruction steps, finish, and kill.
break add
continue
stepi
stepi
p $pc > add && $pc < add + 32
finish
kill
