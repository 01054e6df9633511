/* sigact.c - the program's signal actions (vm->sigact[]) as the async handler
 * reads them. Writers hold sig_lock (signal.c); the handler (signal__host) can
 * take no lock, so each entry is guarded by a sequence word: odd while an entry
 * changes. A writer blocks host signals meanwhile, so a handler never waits on
 * a write its own thread was making. Pure but for the signal mask: host unit
 * tests run it under ThreadSanitizer (unit/t_sigact.c). */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include "mv.h"

/* Store sigact[sig]; the caller holds sig_lock (one writer at a time). */
void sigact__set(struct mv_vm *vm, int sig, const struct mv_sigaction *a)
{
	uint64_t all = ~0ULL, old;
	struct mv_sigaction *e = &vm->sigact[sig];

	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&old, 8, 0, 0);
	/* Release stores, not fences (ThreadSanitizer models no fences): a reader that sees any
	 * new field also sees the odd sequence stored before it, and retries. */
	__atomic_store_n(&vm->sigact_seq, vm->sigact_seq + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&e->handler, a->handler, __ATOMIC_RELEASE);
	__atomic_store_n(&e->flags, a->flags, __ATOMIC_RELEASE);
	__atomic_store_n(&e->restorer, a->restorer, __ATOMIC_RELEASE);
	__atomic_store_n(&e->mask, a->mask, __ATOMIC_RELEASE);
	__atomic_store_n(&vm->sigact_seq, vm->sigact_seq + 1, __ATOMIC_RELEASE);
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);
}

/* sigact[sig] as one consistent copy, without sig_lock. */
struct mv_sigaction sigact__read(struct mv_vm *vm, int sig)
{
	const struct mv_sigaction *e = &vm->sigact[sig];
	struct mv_sigaction a;
	uint32_t seq;

	do {
		while ((seq = __atomic_load_n(&vm->sigact_seq, __ATOMIC_ACQUIRE)) & 1)
			__asm__ volatile("pause" ::: "memory");
		/* Acquire loads: the second look at the sequence cannot move before them. */
		a.handler = __atomic_load_n(&e->handler, __ATOMIC_ACQUIRE);
		a.flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
		a.restorer = __atomic_load_n(&e->restorer, __ATOMIC_ACQUIRE);
		a.mask = __atomic_load_n(&e->mask, __ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&vm->sigact_seq, __ATOMIC_RELAXED) != seq);
	return a;
}
