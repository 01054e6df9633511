/* native.c - HRT-native threads: pthread_create without a partner per thread.
 *
 * An execution group (thread.c) costs a host clone(2) and a Nautilus boot of
 * its vCPU per thread. A native thread instead runs on a pooled vCPU that
 * stays booted in Nautilus. Each pooled vCPU has one runner: a host thread of
 * libmv's (not the program's), which KVM needs to run the vCPU, and which
 * serves the system calls of whatever native thread that vCPU runs, so a
 * call from a native thread is still forwarded faithfully. When a native
 * thread exits, its runner clears and wakes the thread's CLONE_CHILD_CLEARTID
 * word itself (pthread_join's futex), then sleeps inside the hypercall until
 * the next native thread is handed over; that thread starts with an
 * MV_CALL_RESUME at its clone return point: no host clone, no vCPU boot.
 *
 * The program asks for it around pthread_create (mv_hrt_thread_create, or
 * mv-cc --mv-override=pthread_create): the service page's native_clone[v]
 * flag makes the next thread clone(2) from vCPU v a native one. glibc builds
 * the thread (stack, TCB, TLS) exactly as for any other thread.
 *
 * What the thread's TID is: its runner's, which the kernel knows (signals
 * sent with pthread_kill reach the runner's recorder, and are delivered on
 * the thread's vCPU as for any HRT thread). A runner reuses its TID for each
 * thread it runs.
 *
 * Its robust-list head is kept by Nautilus in the call page (MV_BOOT_NATIVE,
 * no exit). Linux walks such a list only when the registering thread exits,
 * and the runner does not: so at the thread's exit the runner walks it as
 * Linux would (native__robust_exit), and a robust mutex the thread still
 * held gives its next locker EOWNERDEAD. get_robust_list of the thread itself
 * reads the head back (syscall.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <asm/prctl.h>
#include "mv.h"

#define RSEQ_FLAG_UNREGISTER 1

/* Did program code on this vCPU ask for a native thread? Consumes the ask. */
int native__wanted(struct mv_vcpu *parent)
{
	uint8_t *f = &vm__svc(parent->vm)->native_clone[parent->id & (MV_MAX_VCPUS - 1)];
	return __atomic_exchange_n(f, 0, __ATOMIC_RELAXED) != 0;
}

static void native__futex(uint32_t *w, int op, uint32_t val)
{
	mv__raw_syscall(SYS_futex, (long)w, op, val, 0, 0, 0);
}

/* clone(2) of a thread, as a native thread: returns its TID or -errno. */
int64_t native__spawn(struct mv_vcpu *parent, uint64_t flags, const uint64_t *a, uint64_t fs)
{
	struct mv_vcpu *v = thread__get_vcpu(parent->vm, 1);
	int64_t ret;

	if (!v)
		return -EAGAIN;
	v->native_ctid = (flags & CLONE_CHILD_CLEARTID) ? a[3] : 0;
	if (!v->runner) {
		/* A new pooled vCPU: booted like any thread vCPU, under a runner
		 * that never takes the thread's CLONE_CHILD_CLEARTID (it outlives
		 * the thread: native__exit does the clear and wake). Marked as
		 * having its runner first: the thread may exit, and the vCPU be
		 * taken again, before the clone below returns here. */
		v->runner = 1;
		ret = thread__boot(parent, v, flags & ~(uint64_t)CLONE_CHILD_CLEARTID, a, fs);
		if (ret < 0) {
			v->runner = 0;
			__atomic_store_n(&v->busy, 0, __ATOMIC_RELEASE);
		}
		return ret;
	}
	/* An idle runner, asleep in native__exit: hand it the thread. */
	int tid = v->tid;
	if (flags & CLONE_PARENT_SETTID)
		*(volatile int *)a[2] = tid;
	if (flags & CLONE_CHILD_SETTID)
		*(volatile int *)a[3] = tid;
	v->native_rip = parent->cp->regs.rip; /* after the creator's `syscall` */
	v->native_sp = a[1];
	v->native_fs = fs;
	/* As clone(2) would: the child starts with its creator's mask (glibc
	 * blocks everything around the clone; the child restores its own). */
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&v->native_mask, 8, 0, 0);
	__atomic_store_n(&v->native_go, 1, __ATOMIC_RELEASE);
	native__futex(&v->native_go, FUTEX_WAKE_PRIVATE, 1);
	if (parent->vm->opt.trace)
		mv__log("mv: [vcpu %d] native thread %d handed to pooled vcpu %d\n", parent->id, tid, v->id);
	return tid;
}

/* rseq(2) from a native thread went to its runner: remember the
 * registration, which native__exit must undo before the thread's TCB (where
 * the area lives) can be freed by its joiner. */
void native__rseq(struct mv_vcpu *v, const uint64_t *a, int64_t ret)
{
	if (ret != 0)
		return;
	if (a[2] & RSEQ_FLAG_UNREGISTER) {
		v->rseq[1] = 0;
	} else {
		v->rseq[0] = a[0];
		v->rseq[1] = a[1];
		v->rseq[2] = a[3];
	}
}

/* One robust futex of the dead thread, as Linux's handle_futex_death: if the
 * thread owns it, mark the owner dead (keeping FUTEX_WAITERS) and wake one
 * waiter; a pending lock that nobody owns gets the wake its locker may wait
 * for. Only in memory the program can write (the VMA table says). */
static void native__futex_death(struct mv_vcpu *v, uint64_t uaddr, int pi, int pending)
{
	uint32_t uval, tid = (uint32_t)__atomic_load_n(&v->tid, __ATOMIC_RELAXED);
	const struct mv_vma *m;

	if ((uaddr & 3) || mv__copy_in(&uval, uaddr, sizeof uval) < 0)
		return;
	mem__reach(v, uaddr); /* a mapping made outside the HRT enters the table */
	pthread_mutex_lock(&v->vm->mem_lock);
	m = mem__vma_find(v->vm, uaddr);
	int writable = m && (m->prot & MV_PROT_W);
	pthread_mutex_unlock(&v->vm->mem_lock);
	if (!writable)
		return;
	uint32_t *w = (uint32_t *)uaddr;
	for (;;) {
		uval = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (pending && !pi && !uval) {
			native__futex(w, FUTEX_WAKE, 1);
			return;
		}
		if ((uval & FUTEX_TID_MASK) != tid)
			return;
		uint32_t mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
		if (__atomic_compare_exchange_n(w, &uval, mval, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
	}
	if (!pi && (uval & FUTEX_WAITERS))
		native__futex(w, FUTEX_WAKE, 1);
}

/* The dead thread's robust list, walked as Linux's exit_robust_list walks it:
 * read with bounds (mv__copy_in, ROBUST_LIST_LIMIT entries), the entry being
 * locked (list_op_pending) last. */
static void native__robust_exit(struct mv_vcpu *v)
{
	struct robust_list_head h;
	uint64_t head = v->cp->robust_head, entry, pending, next;
	int pi, pip, limit = ROBUST_LIST_LIMIT;

	v->cp->robust_head = 0;
	if (!head || mv__copy_in(&h, head, sizeof h) < 0)
		return;
	entry = (uint64_t)h.list.next;
	pending = (uint64_t)h.list_op_pending;
	pi = entry & 1;
	pip = pending & 1;
	entry &= ~1ULL;
	pending &= ~1ULL;
	while (entry != head) {
		int rc = mv__copy_in(&next, entry, sizeof next);
		if (entry != pending)
			native__futex_death(v, entry + (uint64_t)h.futex_offset, pi, 0);
		if (rc < 0 || !--limit)
			break;
		pi = next & 1;
		entry = next & ~1ULL;
	}
	if (pending)
		native__futex_death(v, pending + (uint64_t)h.futex_offset, pip, 1);
}

/* exit(2) from a native thread, on its runner. Undo the per-thread kernel
 * state the thread gave the runner, release the vCPU, do the thread's
 * CLONE_CHILD_CLEARTID, and sleep until the next native thread is handed
 * over; then return into it. From the clear on, the old thread's stack and
 * TCB may be gone while this thread's FS still points there: nothing below
 * touches TLS (raw system calls only) until FS is the new thread's. */
int64_t native__exit(struct mv_vcpu *v)
{
	uint64_t all = ~0ULL;
	uint32_t *ctid = (uint32_t *)v->native_ctid;
	stack_t off = { .ss_flags = SS_DISABLE };

	native__robust_exit(v); /* before the clear, as Linux orders them: the TCB is still there */
	if (v->rseq[1])
		mv__raw_syscall(SYS_rseq, (long)v->rseq[0], (long)v->rseq[1], RSEQ_FLAG_UNREGISTER, (long)v->rseq[2], 0,
				0);
	v->rseq[1] = 0;
	mv__raw_syscall(SYS_sigaltstack, (long)&off, 0, 0, 0, 0, 0);
	/* Idle, the runner takes no process-directed signal. */
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, 8, 0, 0);
	__atomic_store_n(&v->native_go, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&v->busy, 0, __ATOMIC_RELEASE);
	if (ctid) {
		/* As the kernel does at a thread's exit: a shared wake, which
		 * is what pthread_join waits for. */
		__atomic_store_n(ctid, 0, __ATOMIC_RELEASE);
		native__futex(ctid, FUTEX_WAKE, 1);
	}
	while (!__atomic_load_n(&v->native_go, __ATOMIC_ACQUIRE))
		native__futex(&v->native_go, FUTEX_WAIT_PRIVATE, 0);

	/* The next thread (native__spawn filled in its start). */
	mv__raw_syscall(SYS_arch_prctl, ARCH_SET_FS, (long)v->native_fs, 0, 0, 0, 0);
	v->hrt_errno = 0; /* the new thread's, as glibc leaves it (vcpu.c restores it) */
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&v->native_mask, 0, 8, 0, 0);
	signal__thread_start(v);
	__atomic_store_n(&v->fault_repeats, 0, __ATOMIC_RELAXED);
	v->last_fault = 0;
	if (vcpu__resume_thread(v, v->native_rip, v->native_sp, v->native_fs) < 0)
		report__die(v, "cannot load a native thread's state into its vCPU (VMM bug)", NULL, SIGSEGV);
	return 0;
}
