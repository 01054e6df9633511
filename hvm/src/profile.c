/* profile.c - MV_PROFILE=FILE: a sampling profiler of the code that runs in the HRT.
 *
 * perf cannot see into a VM and strace sees only the partners, but the HRT
 * shares the process's address space: the program's stacks and symbols are
 * the process's own. A sampler thread wakes MV_PROFILE_HZ times a second
 * (default 999) and takes one sample per vCPU that runs a thread:
 *   - a vCPU stopped in a forwarded call: the program's registers at the
 *     call are in its call page (Nautilus put them there); the sample's leaf
 *     frame is the call, [syscall:NAME] or [page-fault]. No signal, so the
 *     call is not disturbed.
 *   - a vCPU in KVM_RUN: its partner is sent PROF_SIG; KVM_RUN returns, the
 *     handler (on the partner, so no one else is in the vCPU's ioctls) reads
 *     the registers with KVM_GET_REGS, and the run loop goes on. RIP in
 *     Nautilus is [nautilus] ([exitless:NAME] while a posted call waits).
 * The stack is walked by frame pointers, read with process_vm_readv so a
 * bad frame pointer ends the walk instead of faulting. Samples are counted
 * by stack in a fixed table (full: counted as dropped); at exit the
 * addresses are symbolized from the ELF symbol tables of the program and its
 * shared objects (dl_iterate_phdr gives their load addresses) and written
 * in the folded-stack format (`main;f;g 12`) that flamegraph tools and
 * speedscope read: to FILE.tmp.PID, renamed to FILE when complete.
 *
 * Threading: prof.lock (a spinlock: a signal handler takes it) guards the
 * table; only the sampler thread reads the vCPU list; v->prof_want is set by
 * the sampler and cleared by the partner's handler.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "mv.h"

#define PROF_SIG       MV_PROF_SIG
#define MAX_DEPTH      48
#define NSTACKS	       16384	   /* distinct stacks kept */
#define MAX_STACK_SPAN (64u << 20) /* a frame pointer this far above RSP ends the walk */

enum { LEAF_NONE, LEAF_FAULT, LEAF_NAUTILUS, LEAF_HYPERCALL, LEAF_SYSCALL = 0x1000, LEAF_EXITLESS = 0x2000 };

struct stack {
	uint32_t count, leaf;
	uint32_t depth, pad;
	uint64_t hash;
	uint64_t pc[MAX_DEPTH];
};

static struct {
	int on, stop, fd, hz;
	char path[4096], tmp[4096 + 32];
	struct mv_vm *vm;
	pthread_t thread;
	int lock;
	struct stack *tab; /* NSTACKS entries, open addressing by hash */
	uint64_t samples, dropped, ticks;
} prof;

static void lock(void)
{
	while (__atomic_exchange_n(&prof.lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}
static void unlock(void)
{
	__atomic_store_n(&prof.lock, 0, __ATOMIC_RELEASE);
}

/* Frame-pointer walk from (rip, rbp), the stack above rsp; pc[0] = rip. */
static int walk(uint64_t rip, uint64_t rbp, uint64_t rsp, uint64_t *pc)
{
	int n = 0;
	pc[n++] = rip;
	while (n < MAX_DEPTH && rbp >= rsp && rbp - rsp < MAX_STACK_SPAN && !(rbp & 7)) {
		uint64_t w[2];
		if (mv__copy_in(w, rbp, sizeof w) < 0)
			break;
		if (w[1] < 4096 || w[1] >= MV_USER_TOP)
			break;
		pc[n++] = w[1] - 1; /* inside the call instruction: its line, not the next one */
		if (w[0] <= rbp)
			break;
		rsp = rbp;
		rbp = w[0];
	}
	return n;
}

static void record(uint32_t leaf, const uint64_t *pc, int depth)
{
	uint64_t h = 1469598103934665603ULL ^ leaf;
	for (int i = 0; i < depth; i++)
		h = (h ^ pc[i]) * 1099511628211ULL;
	lock();
	prof.samples++;
	for (uint32_t i = 0; i < NSTACKS; i++) {
		struct stack *s = &prof.tab[(h + i) & (NSTACKS - 1)];
		if (!s->count) {
			*s = (struct stack){ .count = 1, .leaf = leaf, .depth = (uint32_t)depth, .hash = h };
			memcpy(s->pc, pc, (size_t)depth * sizeof *pc);
			unlock();
			return;
		}
		if (s->hash == h && s->leaf == leaf && s->depth == (uint32_t)depth &&
		    !memcmp(s->pc, pc, (size_t)depth * sizeof *pc)) {
			s->count++;
			unlock();
			return;
		}
	}
	prof.dropped++;
	unlock();
}

/* A vCPU stopped in a hypercall: the program's registers are in its call page. */
static void sample_call(struct mv_vcpu *v)
{
	struct mv_call_page *cp = v->cp;
	uint32_t op = __atomic_load_n(&cp->op, __ATOMIC_ACQUIRE);
	uint64_t pc[MAX_DEPTH];
	uint32_t leaf = op == MV_OP_SYSCALL	 ? LEAF_SYSCALL + (uint32_t)(cp->arg[0] & 0xfff)
			: op == MV_OP_PAGE_FAULT ? LEAF_FAULT
						 : LEAF_HYPERCALL;
	if (op != MV_OP_SYSCALL && op != MV_OP_PAGE_FAULT) {
		pc[0] = 0;
		record(leaf, pc, 0);
		return;
	}
	record(leaf, pc, walk(cp->regs.rip, cp->regs.rbp, cp->regs.rsp, pc));
}

static struct mv_vcpu *vcpu_of_tid(int tid)
{
	struct mv_vm *vm = prof.vm;
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		struct mv_vcpu *v = vm->vcpus[i];
		if (v && __atomic_load_n(&v->busy, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&v->tid, __ATOMIC_RELAXED) == tid)
			return v;
	}
	return NULL;
}

/* PROF_SIG on a partner: KVM_RUN has returned, so the vCPU's registers can be read here. */
static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	struct mv_vcpu *v = vcpu_of_tid((int)mv__raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0));
	struct kvm_regs kr;
	uint64_t pc[MAX_DEPTH];
	if (!v || !__atomic_exchange_n(&v->prof_want, 0, __ATOMIC_ACQ_REL))
		return;
	enum mv_vcpu_state st = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);
	if (st == MV_VCPU_IN_CALL) { /* it stopped in a call since the sampler looked */
		sample_call(v);
		return;
	}
	if (st != MV_VCPU_RUNNING || mv__raw_syscall(SYS_ioctl, v->fd, KVM_GET_REGS, (long)&kr, 0, 0, 0) < 0)
		return;
	if (kr.rip >= MV_USER_TOP && v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == MV_HC_PORT) {
		sample_call(v); /* the partner is about to serve this hypercall */
		return;
	}
	if (kr.rip >= MV_USER_TOP) {
		volatile struct mv_poll *p = (volatile struct mv_poll *)((char *)v->cp + MV_CP_POLL_OFF);
		uint32_t st = p->state;
		pc[0] = 0;
		record(st == MV_POLL_POSTED || st == MV_POLL_TAKEN ? LEAF_EXITLESS + (uint32_t)(p->nr & 0xfff)
								   : LEAF_NAUTILUS,
		       pc, 0);
		return;
	}
	record(LEAF_NONE, pc, walk(kr.rip, kr.rbp, kr.rsp, pc));
}

static void *sampler(void *arg)
{
	(void)arg;
	struct timespec next, now;
	long period = 1000000000L / prof.hz;
	pid_t pid =
		(pid_t)mv__raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0); /* not a wrapped getpid (the getpid override) */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* the program's signals are for its threads */
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!__atomic_load_n(&prof.stop, __ATOMIC_ACQUIRE)) {
		next.tv_nsec += period;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec + 1)
			next = now; /* fell far behind (a stopped process): no burst of samples */
		prof.ticks++;
		int n = __atomic_load_n(&prof.vm->nvcpus, __ATOMIC_ACQUIRE);
		for (int i = 0; i < n; i++) {
			struct mv_vcpu *v = prof.vm->vcpus[i];
			if (!v || !__atomic_load_n(&v->busy, __ATOMIC_ACQUIRE) || v->gdb_parked)
				continue;
			enum mv_vcpu_state st = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);
			if (st == MV_VCPU_IN_CALL) {
				sample_call(v);
			} else if (st == MV_VCPU_RUNNING) {
				__atomic_store_n(&v->prof_want, 1, __ATOMIC_RELEASE);
				mv__raw_syscall(SYS_tgkill, pid, __atomic_load_n(&v->tid, __ATOMIC_RELAXED), PROF_SIG,
						0, 0, 0);
			}
		}
	}
	return NULL;
}

/* MV_PROFILE=FILE [MV_PROFILE_HZ=N]: start sampling before main. */
void profile__start(struct mv_vm *vm)
{
	const char *path = getenv("MV_PROFILE"), *hz = getenv("MV_PROFILE_HZ");
	char *end;
	if (!path || !*path)
		return;
	prof.hz = 999;
	if (hz && *hz) {
		long h = strtol(hz, &end, 10);
		if (*end || h < 1 || h > 10000) {
			mv__log("mv: MV_PROFILE_HZ=%s: not a rate from 1 to 10000 (samples per second); using 999\n",
				hz);
		} else {
			prof.hz = (int)h;
		}
	}
	if (strlen(path) >= sizeof prof.path) {
		mv__log("mv: MV_PROFILE: the path is too long; running without the profiler\n");
		return;
	}
	snprintf(prof.path, sizeof prof.path, "%s", path);
	snprintf(prof.tmp, sizeof prof.tmp, "%s.tmp.%d", path, (int)getpid());
	prof.fd = open(prof.tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (prof.fd < 0) {
		mv__log("mv: MV_PROFILE=%s: cannot write there (%s); running without the profiler\n", path,
			strerror(errno));
		return;
	}
	prof.tab = mmap(NULL, NSTACKS * sizeof(struct stack), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (prof.tab == MAP_FAILED) {
		mv__log("mv: MV_PROFILE: no memory for the sample table; running without the profiler\n");
		close(prof.fd);
		unlink(prof.tmp);
		return;
	}
	struct sigaction act = { .sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&act.sa_mask);
	sigaction(PROF_SIG, &act, NULL);
	prof.vm = vm;
	if (pthread_create(&prof.thread, NULL, sampler, NULL)) {
		mv__log("mv: MV_PROFILE: cannot start the sampler thread; running without the profiler\n");
		close(prof.fd);
		unlink(prof.tmp);
		return;
	}
	prof.on = 1;
}

/* --- symbolization ----------------------------------------------------------------------- */

struct sym {
	uint64_t value, size;
	const char *name;
};
struct object {
	uint64_t base, lo, hi; /* load bias; the run-time range of its PT_LOAD segments */
	char file[512];
	const char *short_name;
	int loaded;
	struct sym *syms;
	size_t nsyms;
	void *map;
	size_t maplen;
};
#define MAX_OBJECTS 512
static struct object objs[MAX_OBJECTS];
static int nobjs;

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size, (void)arg;
	if (nobjs == MAX_OBJECTS)
		return 1;
	struct object *o = &objs[nobjs];
	memset(o, 0, sizeof *o);
	o->base = info->dlpi_addr;
	o->lo = ~0ULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (o->base + p->p_vaddr < o->lo)
			o->lo = o->base + p->p_vaddr;
		if (o->base + p->p_vaddr + p->p_memsz > o->hi)
			o->hi = o->base + p->p_vaddr + p->p_memsz;
	}
	const char *name = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : NULL;
	if (!name && nobjs) /* the vDSO has no file */
		name = "[vdso]";
	snprintf(o->file, sizeof o->file, "%s", name ? name : "/proc/self/exe");
	const char *slash = strrchr(name ? name : "", '/');
	o->short_name = name ? (slash ? slash + 1 : name) : NULL;
	if (o->lo < o->hi)
		nobjs++;
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->value < y->value ? -1 : x->value > y->value;
}

/* The object's function symbols from .symtab (else .dynsym), every offset checked. */
static void load_symbols(struct object *o)
{
	o->loaded = 1;
	int fd = open(o->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(ElfW(Ehdr)) || st.st_size > (off_t)2 << 30) {
		close(fd);
		return;
	}
	o->maplen = (size_t)st.st_size;
	o->map = mmap(NULL, o->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (o->map == MAP_FAILED) {
		o->map = NULL;
		return;
	}
	const char *f = o->map;
	const ElfW(Ehdr) *eh = o->map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff > o->maplen ||
	    (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr)) > o->maplen - eh->e_shoff)
		return;
	const ElfW(Shdr) *sh = (const void *)(f + eh->e_shoff);
	const ElfW(Shdr) *tab = NULL;
	for (int pass = 0; pass < 2 && !tab; pass++)
		for (int i = 0; i < eh->e_shnum; i++)
			if (sh[i].sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB)) {
				tab = &sh[i];
				break;
			}
	if (!tab || tab->sh_link >= eh->e_shnum || tab->sh_entsize != sizeof(ElfW(Sym)) || tab->sh_offset > o->maplen ||
	    tab->sh_size > o->maplen - tab->sh_offset)
		return;
	const ElfW(Shdr) *strs = &sh[tab->sh_link];
	if (strs->sh_offset > o->maplen || strs->sh_size > o->maplen - strs->sh_offset || !strs->sh_size)
		return;
	const ElfW(Sym) *s = (const void *)(f + tab->sh_offset);
	size_t n = tab->sh_size / sizeof *s;
	o->syms = calloc(n ? n : 1, sizeof *o->syms);
	if (!o->syms)
		return;
	for (size_t i = 0; i < n; i++) {
		if (ELF64_ST_TYPE(s[i].st_info) != STT_FUNC || !s[i].st_value || s[i].st_name >= strs->sh_size)
			continue;
		const char *name = f + strs->sh_offset + s[i].st_name;
		if (!memchr(name, 0, strs->sh_size - s[i].st_name))
			continue;
		o->syms[o->nsyms++] = (struct sym){ s[i].st_value, s[i].st_size, name };
	}
	qsort(o->syms, o->nsyms, sizeof *o->syms, sym_cmp);
}

/* The loaded object whose segments hold pc, if any. */
static struct object *object_of(uint64_t pc)
{
	for (int i = 0; i < nobjs; i++)
		if (pc >= objs[i].lo && pc < objs[i].hi)
			return &objs[i];
	return NULL;
}

/* One frame's name: the function, else object+offset, else the address. */
static void frame_name(uint64_t pc, char *buf, size_t len)
{
	if (pc >= MV_USER_TOP) { /* Nautilus: a fault or exception taken in the kernel */
		snprintf(buf, len, "[nautilus]");
		return;
	}
	struct object *o = object_of(pc);
	if (!o) {
		snprintf(buf, len, "0x%llx", (unsigned long long)pc);
		return;
	}
	if (!o->loaded)
		load_symbols(o);
	uint64_t a = pc - o->base;
	size_t lo = 0, hi = o->nsyms;
	while (lo < hi) { /* the last symbol at or below a */
		size_t mid = (lo + hi) / 2;
		if (o->syms[mid].value <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && (a < o->syms[lo - 1].value + o->syms[lo - 1].size || !o->syms[lo - 1].size))
		snprintf(buf, len, "%s", o->syms[lo - 1].name);
	else
		snprintf(buf, len, "%s+0x%llx", o->short_name ? o->short_name : "[exe]", (unsigned long long)a);
}

static void leaf_name(uint32_t leaf, char *buf, size_t len)
{
	if (leaf >= LEAF_EXITLESS)
		snprintf(buf, len, "[exitless:%s]", syscall__name(leaf - LEAF_EXITLESS));
	else if (leaf >= LEAF_SYSCALL)
		snprintf(buf, len, "[syscall:%s]", syscall__name(leaf - LEAF_SYSCALL));
	else
		snprintf(buf, len, "%s",
			 leaf == LEAF_FAULT	 ? "[page-fault]"
			 : leaf == LEAF_NAUTILUS ? "[nautilus]"
						 : "[hypercall]");
}

struct line {
	char *text;
	uint64_t count;
};
static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

/* Symbolize one stack, root first: "main;f;g[;leaf]". Names never hold ';' or ' ' here. */
static char *fold(const struct stack *s)
{
	size_t cap = 256, len = 0;
	char *out = malloc(cap), name[512];
	if (!out)
		return NULL;
	out[0] = 0;
	/* A return address in no loaded object means the walk left the frame chain (code
	 * without frame pointers keeps other values in RBP): the stack ends below it. */
	int depth = (int)s->depth;
	for (int k = 1; k < depth; k++)
		if (!object_of(s->pc[k])) {
			depth = k;
			break;
		}
	for (int i = depth - 1; i >= -1; i--) {
		if (i < 0 && s->leaf == LEAF_NONE)
			break;
		if (i >= 0)
			frame_name(s->pc[i], name, sizeof name);
		else
			leaf_name(s->leaf, name, sizeof name);
		for (char *c = name; *c; c++)
			if (*c == ';' || *c == ' ' || *c == '\n')
				*c = '_';
		size_t n = strlen(name);
		if (len + n + 2 > cap) {
			char *bigger = realloc(out, cap = (len + n + 2) * 2);
			if (!bigger)
				break;
			out = bigger;
		}
		if (len)
			out[len++] = ';';
		memcpy(out + len, name, n + 1);
		len += n;
	}
	return out;
}

/* At exit (main returned, exit_group, or a fatal signal): stop sampling, write the profile. */
void profile__finish(struct mv_vm *vm)
{
	(void)vm;
	if (!__atomic_exchange_n(&prof.on, 0, __ATOMIC_ACQ_REL))
		return;
	/* No sample of this thread from here on: its handler would wait for the lock held below. */
	sigset_t mine;
	sigemptyset(&mine);
	sigaddset(&mine, PROF_SIG);
	pthread_sigmask(SIG_BLOCK, &mine, NULL);
	__atomic_store_n(&prof.stop, 1, __ATOMIC_RELEASE);
	pthread_join(prof.thread, NULL);
	dl_iterate_phdr(add_object, NULL);
	size_t n = 0;
	struct line *lines = calloc(NSTACKS, sizeof *lines);
	lock(); /* a partner still in its handler (a sample asked for before the stop) finishes first */
	for (size_t i = 0; lines && i < NSTACKS; i++)
		if (prof.tab[i].count && (lines[n].text = fold(&prof.tab[i])))
			lines[n++].count = prof.tab[i].count;
	unlock();
	if (lines)
		qsort(lines, n, sizeof *lines, line_cmp);
	FILE *f = fdopen(prof.fd, "w");
	int ok = f != NULL && lines != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		uint64_t c = lines[i].count;
		while (i + 1 < n && !strcmp(lines[i].text, lines[i + 1].text)) /* same functions, other addresses */
			c += lines[++i].count;
		ok = fprintf(f, "%s %llu\n", lines[i].text, (unsigned long long)c) > 0;
	}
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i].text);
	free(lines);
	if (f ? fclose(f) != 0 : close(prof.fd) != 0)
		ok = 0;
	if (!ok || rename(prof.tmp, prof.path) < 0) {
		mv__log("mv: MV_PROFILE=%s: could not write the profile (%s)\n", prof.path, strerror(errno));
		unlink(prof.tmp);
		return;
	}
	mv__log("mv: profile: %llu samples at %d Hz in %s\n", (unsigned long long)prof.samples, prof.hz, prof.path);
	if (prof.dropped)
		mv__log("mv: profile: %llu samples not kept: more than %d distinct stacks\n",
			(unsigned long long)prof.dropped, NSTACKS);
}
