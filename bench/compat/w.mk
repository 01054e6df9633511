# make workload of bench/compat.ts, run with -j2: the recipes write files (their order under -j2
# is free), only `all` prints, in a fixed order.
# PATH comes from bench/compat.ts (Debian's programs before busybox's applets).
parts := p1 p2 p3 p4 p5 p6
all: $(addsuffix .txt,$(parts)) sum.txt
	@cat $(addsuffix .txt,$(parts)) sum.txt
%.txt:
	@seq 1 $(subst p,,$*)000 | sha256sum | cut -c1-16 > $@.tmp && echo "$* $$(cat $@.tmp)" > $@ && rm $@.tmp
sum.txt: $(addsuffix .txt,$(parts))
	@cat $^ | wc -l > $@
