/* hypercall.c - the Nautilus side of the hypercall ABI (mv/abi.h): fill this
 * vCPU's call page, one `out` to MV_HC_PORT, read the result. */
#include <nk/nk.h>

int64_t hc__call(uint32_t op, uint64_t a0, uint64_t a1)
{
	struct mv_call_page *cp = percpu__this()->call;

	cp->op = op;
	cp->arg[0] = a0;
	cp->arg[1] = a1;
	cp->seq++;
	/* The VMM reads the call page while the vCPU is stopped in this `out`;
	 * the "memory" clobber keeps the stores above before it. */
	__asm__ volatile("outb %%al, %0" ::"i"(MV_HC_PORT), "a"(0) : "memory");
	if (cp->flags & MV_CALL_FLUSH_TLB) {
		cp->flags &= ~MV_CALL_FLUSH_TLB;
		tlb__flush_all();
	}
	if (cp->flags & MV_CALL_CPUNODE) {
		/* Atomic: other partners set MV_CALL_FLUSH_TLB at any time. */
		__atomic_fetch_and(&cp->flags, ~MV_CALL_CPUNODE, __ATOMIC_SEQ_CST);
		cpu__set_cpunode(cp->cpunode);
	}
	if (cp->flags & MV_CALL_RESUME) {
		/* A signal handler's entry or a sigreturn: this kernel stack
		 * (syscall or IST) is abandoned; each entry starts it afresh. */
		cp->flags &= ~MV_CALL_RESUME;
		nk_resume(&cp->regs);
	}
	return cp->ret;
}

void hc__panic(const char *msg, const struct mv_regs *regs)
{
	struct mv_call_page *cp = percpu__this()->call;
	size_t n = strlen(msg);

	if (n >= sizeof cp->text)
		n = sizeof cp->text - 1;
	memcpy(cp->text, msg, n);
	cp->text[n] = 0;
	if (regs)
		cp->regs = *regs;
	else
		memset(&cp->regs, 0, sizeof cp->regs);
	for (;;) /* the VMM never resumes a PANIC */
		hc__call(MV_OP_PANIC, (uint64_t)cp->text, regs != 0);
}
