/* hypercall.c - the VMM side of the hypercall ABI (mv/abi.h): one dispatch
 * table from op code to handler. The vCPU is stopped in its `out` while a
 * handler runs; the handler writes cp->ret (and cp->flags) for the resume. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include "mv.h"

static void hc__syscall(struct mv_vcpu *v)
{
	struct mv_call_page *cp = v->cp;
	uint64_t nr = cp->arg[0], t0 = v->stats ? stats__now() : 0;
	v->cp->ret = syscall__forward(v, nr, &cp->arg[1]);
	if (v->stats)
		stats__syscall(v, nr, stats__now() - t0);
}

static void hc__page_fault(struct mv_vcpu *v)
{
	struct mv_call_page *cp = v->cp;
	uint64_t key = cp->arg[0] ^ (cp->arg[1] << 56) ^ cp->regs.rip;

	/* The same fault over and over means the mapping we install does not
	 * satisfy the CPU (reserved bits, a stale TLB): report, never spin. */
	/* Relaxed atomics: mem__apply, on another partner, may reset it meanwhile. */
	uint64_t repeats = key == v->last_fault ? __atomic_load_n(&v->fault_repeats, __ATOMIC_RELAXED) + 1 : 0;
	__atomic_store_n(&v->fault_repeats, repeats, __ATOMIC_RELAXED);
	v->last_fault = key;
	if (cp->arg[1] & 8)
		report__die(v, "page fault with reserved bits set in a PTE (VMM bug)", &cp->regs, SIGSEGV);
	if (repeats > 64)
		report__die(v, "page fault loop: the same fault repeats after mapping (VMM bug)", &cp->regs, SIGSEGV);
	uint64_t t0 = v->stats ? stats__now() : 0;
	pthread_mutex_lock(&v->vm->mem_lock);
	int rc = mem__handle_fault(v, cp->arg[0], cp->arg[1]);
	pthread_mutex_unlock(&v->vm->mem_lock);
	if (v->stats)
		stats__fault(v, stats__now() - t0);
	if (rc == 0) {
		cp->ret = 0;
		return;
	}
	if (rc != -EFAULT) {
		/* The process has the page; the VMM could not give it to the HRT. */
		char what[96];
		snprintf(what, sizeof what, "cannot map process memory into the HRT (%s; VMM limit or bug)",
			 strerror(-rc));
		report__die(v, what, &cp->regs, SIGSEGV);
	}
	pthread_mutex_lock(&v->vm->mem_lock);
	int code = mem__vma_find(v->vm, cp->arg[0]) ? SEGV_ACCERR : SEGV_MAPERR;
	pthread_mutex_unlock(&v->vm->mem_lock);
	if (signal__fault(v, SIGSEGV, code, cp->arg[0]) == 0)
		return;
	report__die(v, "segmentation fault", &cp->regs, SIGSEGV);
}

static void hc__exit(struct mv_vcpu *v)
{
	v->exit_status = (int)v->cp->arg[0];
	vcpu__set_state(v, MV_VCPU_EXITED);
}

static void hc__console(struct mv_vcpu *v)
{
	void *p;
	uint64_t len = v->cp->arg[1];

	if (vm__gva_to_host(v->vm, v->cp->arg[0], len, &p))
		mv__raw_syscall(SYS_write, 2, (long)p, (long)len, 0, 0, 0);
	v->cp->ret = 0;
}

/* si_code and si_addr for an exception, as Linux's x86 trap handlers set them. */
static const int vec_code[32] = {
	[0] = FPE_INTDIV, [1] = TRAP_TRACE, [3] = SI_KERNEL,	[4] = SI_KERNEL,   [5] = SI_KERNEL,   [6] = ILL_ILLOPN,
	[7] = FPE_FLTINV, [13] = SI_KERNEL, [14] = SEGV_MAPERR, [16] = FPE_FLTINV, [17] = BUS_ADRALN, [19] = FPE_FLTINV
};

static uint64_t vec_addr(const struct mv_regs *r)
{
	/* #GP and #BP carry no address, #PF its cr2, the others the faulting instruction. */
	return r->vector == 13 || r->vector == 3 ? 0 : r->vector == 14 ? r->cr2 : r->rip;
}

static void hc__panic(struct mv_vcpu *v)
{
	struct mv_call_page *cp = v->cp;
	static const int vec_sig[32] = {
		[0] = SIGFPE, [1] = SIGTRAP,  [3] = SIGTRAP,  [4] = SIGSEGV, [5] = SIGSEGV, [6] = SIGILL,
		[7] = SIGFPE, [13] = SIGSEGV, [14] = SIGSEGV, [16] = SIGFPE, [17] = SIGBUS, [19] = SIGFPE
	};
	int sig = SIGSEGV;

	cp->text[sizeof cp->text - 1] = 0;
	if (cp->arg[1] && gdb__trap(v))
		return; /* a breakpoint, step or watchpoint of gdb's: the program resumes (gdb.c) */
	if (cp->arg[1] && cp->regs.vector < 32 && vec_sig[cp->regs.vector]) {
		sig = vec_sig[cp->regs.vector];
		/* An exception in program code: its handler, if it has one. */
		if (signal__fault(v, sig, vec_code[cp->regs.vector], vec_addr(&cp->regs)) == 0)
			return;
	}
	report__die(v, cp->text, cp->arg[1] ? &cp->regs : NULL, sig);
}

static void hc__ready(struct mv_vcpu *v)
{
	if (v->id == 0) {
		stats__mark(v->vm, MV_START_BOOT);
		/* main starts in the HRT. Only now: had the probe failed, the program would run
		 * natively, with no VM for these to serve. */
		signal__adopt(v->vm);
		poll__start(v->vm);
		profile__start(v->vm);
		gdb__start(v->vm, v->vm->main_fn); /* waits for gdb before main runs */
	}
	vcpu__set_state(v, MV_VCPU_RUNNING);
	if (v->vm->opt.announce && !__atomic_exchange_n(&v->vm->announced, 1, __ATOMIC_RELAXED)) {
		char line[64];
		int n = snprintf(line, sizeof line, "MV-HRT vcpus=%d cpl=%d\n", 1, (int)v->cp->arg[0]);
		mv__raw_syscall(SYS_write, 2, (long)line, n, 0, 0, 0);
	}
	v->cp->ret = 0;
}

static void hc__nop(struct mv_vcpu *v)
{
	v->cp->ret = 0;
}

static const struct {
	const char *name;
	void (*fn)(struct mv_vcpu *v);
} hc_table[MV_OP_COUNT] = {
	[MV_OP_NOP] = { "nop", hc__nop },
	[MV_OP_SYSCALL] = { "syscall", hc__syscall },
	[MV_OP_PAGE_FAULT] = { "page_fault", hc__page_fault },
	[MV_OP_EXIT] = { "exit", hc__exit },
	[MV_OP_CONSOLE] = { "console", hc__console },
	[MV_OP_PANIC] = { "panic", hc__panic },
	[MV_OP_READY] = { "ready", hc__ready },
};

void hypercall__dispatch(struct mv_vcpu *v)
{
	uint32_t op = v->cp->op;
	enum mv_vcpu_state prev = v->state;

	if (op >= MV_OP_COUNT || !hc_table[op].fn) {
		char msg[64];
		snprintf(msg, sizeof msg, "unknown hypercall op %u", op);
		report__die(v, msg, NULL, SIGSEGV);
	}
	if (prev == MV_VCPU_RUNNING)
		vcpu__set_state(v, MV_VCPU_IN_CALL);
	hc_table[op].fn(v);
	if (v->state == MV_VCPU_IN_CALL)
		vcpu__set_state(v, MV_VCPU_RUNNING);
	if (op == MV_OP_SYSCALL || op == MV_OP_PAGE_FAULT)
		signal__after_call(v, op);
}
