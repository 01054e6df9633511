/* syscall.c - the SYSCALL path. Nearly every call is forwarded to the VMM:
 * exitless through the poll slot when its server can take it (poll.c), else
 * through the call page with one exit. A few are answered here: the FS base
 * (HRT CPU state: the partner thread must keep its own), clone3 (which the
 * VMM always refuses), and an HRT-native thread's robust-list head. */
#include <nk/nk.h>

#define NR_ARCH_PRCTL	   158
#define ARCH_SET_FS	   0x1002
#define ARCH_GET_FS	   0x1003
#define NR_SET_ROBUST_LIST 273
#define NR_CLONE3	   435
#define ENOSYS		   38
#define EINVAL		   22
#define ROBUST_HEAD_LEN	   24 /* sizeof(struct robust_list_head), all Linux accepts */

/* Layout pushed by nk_syscall_entry (entry.S). */
struct nk_syscall_frame {
	uint64_t rax, rdi, rsi, rdx, r10, r8, r9, rbx, rbp, r12, r13, r14, r15, rflags, rip;
};

void syscall__init(void)
{
	/* STAR selectors are only used by sysret/CPL-3 entry; keep them sane. */
	wrmsr(MSR_STAR, (uint64_t)MV_SEL_KCODE << 32 | (uint64_t)MV_SEL_KCODE << 48);
	wrmsr(MSR_LSTAR, (uint64_t)nk_syscall_entry);
	/* Clear TF, DF, IF, AC on entry (the app's flags come back via r11). */
	wrmsr(MSR_SFMASK, 0x47700);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1); /* SCE */
}

int64_t syscall__dispatch(struct nk_syscall_frame *f)
{
	struct mv_call_page *cp;

	if (f->rax == NR_ARCH_PRCTL && f->rdi == ARCH_SET_FS) {
		/* The guest FS base is the HRT thread's TLS; the host thread's
		 * stays as it is, because the partner runs libmv on it. */
		wrmsr(MSR_FS_BASE, f->rsi);
		return 0;
	}
	if (f->rax == NR_ARCH_PRCTL && f->rdi == ARCH_GET_FS) {
		*(uint64_t *)f->rsi = rdmsr(MSR_FS_BASE); /* may fault: forwarded as a user #PF */
		return 0;
	}
	/* The VMM refuses clone3 so that glibc (>= 2.34 tries it first) falls back to clone(2),
	 * the one thread path it serves (hvm/src/syscall.c): the same answer, without the exit,
	 * for every pthread_create and posix_spawn. */
	if (f->rax == NR_CLONE3)
		return -ENOSYS;
	if (f->rax == NR_SET_ROBUST_LIST && percpu__this()->native) {
		/* Linux checks only the length, then keeps the pointer for the thread's exit,
		 * which on this vCPU its runner performs (MV_BOOT_NATIVE in mv/abi.h). */
		if (f->rsi != ROBUST_HEAD_LEN)
			return -EINVAL;
		percpu__this()->call->robust_head = f->rdi;
		return 0;
	}
	/* Exitless when the VMM's server can perform it (poll.c). */
	int64_t ret;
	uint64_t t_post = 0, t_exit;
	const uint64_t a[6] = { f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9 };
	int how = poll__try(f->rax, a, &ret, &t_post);
	if (how == POLL_DONE)
		return ret;
	cp = percpu__this()->call;
	cp->arg[2] = f->rsi;
	cp->arg[3] = f->rdx;
	cp->arg[4] = f->r10;
	cp->arg[5] = f->r8;
	cp->arg[6] = f->r9;
	/* The app's registers at the SYSCALL: for MV_TRACE and reports, and
	 * for fork(), whose child continues natively from exactly here. */
	cp->regs.rip = f->rip;
	cp->regs.rflags = f->rflags;
	cp->regs.vector = ~0ULL; /* a SYSCALL, not a trap (int $0x80 sets 0x80) */
	cp->regs.rsp = percpu__this()->user_rsp;
	cp->regs.rbx = f->rbx;
	cp->regs.rbp = f->rbp;
	cp->regs.rdi = f->rdi;
	cp->regs.rsi = f->rsi;
	cp->regs.rdx = f->rdx;
	cp->regs.r8 = f->r8;
	cp->regs.r9 = f->r9;
	cp->regs.r10 = f->r10;
	cp->regs.r12 = f->r12;
	cp->regs.r13 = f->r13;
	cp->regs.r14 = f->r14;
	cp->regs.r15 = f->r15;
	if (how == POLL_NONE)
		return hc__call(MV_OP_SYSCALL, f->rax, f->rdi);
	t_exit = nk_rdtsc();
	ret = hc__call(MV_OP_SYSCALL, f->rax, f->rdi);
	poll__learn(how, t_post, t_exit);
	return ret;
}
