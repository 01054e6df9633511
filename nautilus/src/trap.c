/* trap.c - exception dispatch. User-half page faults go to the VMM, which
 * maps the process page and lets us retry, or ends the process with SIGSEGV
 * semantics. Everything else is reported to the VMM as a PANIC with the full
 * register frame; the VMM resumes it only at another context (a signal
 * handler's, or, for gdb's breakpoints and steps, the program's own again:
 * MV_CALL_RESUME). For #DB, cr2 carries DR6. */
#include <nk/nk.h>

/* Layout pushed by nk_trap_common (entry.S) over the stub and CPU frames. */
struct nk_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define VEC_DB 1
#define VEC_PF 14

static void trap__fill_regs(struct mv_regs *r, const struct nk_trap_frame *f)
{
	r->rax = f->rax;
	r->rbx = f->rbx;
	r->rcx = f->rcx;
	r->rdx = f->rdx;
	r->rsi = f->rsi;
	r->rdi = f->rdi;
	r->rbp = f->rbp;
	r->rsp = f->rsp;
	r->r8 = f->r8;
	r->r9 = f->r9;
	r->r10 = f->r10;
	r->r11 = f->r11;
	r->r12 = f->r12;
	r->r13 = f->r13;
	r->r14 = f->r14;
	r->r15 = f->r15;
	r->rip = f->rip;
	r->rflags = f->rflags;
	r->cs = f->cs;
	r->ss = f->ss;
	r->vector = f->vector;
	r->error_code = f->error_code;
	r->cr2 = read_cr2();
	r->cr3 = read_cr3();
	r->fs_base = rdmsr(MSR_FS_BASE);
	r->gs_base = rdmsr(MSR_GS_BASE);
}

#define VEC_INT80 0x80

/* i386 system call numbers -> x86-64 ones, for the calls a 64-bit program
 * still makes with int $0x80 whose ia32 and x86-64 forms agree once the
 * arguments are cut to 32 bits (int and unsigned arguments, byte buffers;
 * none with a struct or a signed long, whose layouts differ). 0: -ENOSYS. */
static const uint16_t int80_nr[256] = {
	[1] = 60,    /* exit */[3] = 0,		  /* read: below */[4] = 1,   /* write */
	[5] = 2,     /* open */[6] = 3,		  /* close */[10] = 87,	      /* unlink */
	[12] = 80,   /* chdir */[20] = 39,	  /* getpid */[33] = 21,      /* access */
	[37] = 62,   /* kill */[38] = 82,	  /* rename */[39] = 83,      /* mkdir */
	[40] = 84,   /* rmdir */[41] = 32,	  /* dup */[42] = 22,	      /* pipe */
	[45] = 12,   /* brk */[63] = 33,	  /* dup2 */[64] = 110,	      /* getppid */
	[158] = 24,  /* sched_yield */[183] = 79, /* getcwd */[199] = 102,    /* getuid32 */
	[200] = 104, /* getgid32 */[201] = 107,	  /* geteuid32 */[202] = 108, /* getegid32 */
	[224] = 186, /* gettid */[252] = 231,				      /* exit_group */
};

/* int $0x80 from a 64-bit program: Linux's ia32 system call gate. Forwarded
 * like a SYSCALL with the number translated and the arguments (ebx, ecx,
 * edx, esi, edi, ebp) cut to 32 bits; the result comes back in rax. */
static void trap__int80(struct nk_trap_frame *f, struct mv_call_page *cp)
{
	uint32_t nr = (uint32_t)f->rax;
	const uint64_t a[6] = { (uint32_t)f->rbx, (uint32_t)f->rcx, (uint32_t)f->rdx,
				(uint32_t)f->rsi, (uint32_t)f->rdi, (uint32_t)f->rbp };

	if (nr >= 256 || (!int80_nr[nr] && nr != 3)) {
		f->rax = (uint64_t)-38; /* -ENOSYS */
		return;
	}
	for (int i = 1; i < 6; i++)
		cp->arg[i + 1] = a[i];
	f->rax = (uint64_t)hc__call(MV_OP_SYSCALL, int80_nr[nr], a[0]);
}

/* Precondition: IRQs off (interrupt gates), on this vCPU's IST stack. */
void trap__dispatch(struct nk_trap_frame *f)
{
	struct mv_call_page *cp = percpu__this()->call;

	trap__fill_regs(&cp->regs, f);
	if (f->vector == VEC_INT80) {
		trap__int80(f, cp);
		return;
	}
	if (f->vector == VEC_DB) {
		/* Which debug condition (a step, a debug register): in cr2, which #DB does not use;
		 * DR6's bits are sticky, so they are cleared for the next one. */
		cp->regs.cr2 = read_dr6();
		write_dr6(0xffff0ff0);
	}
	if (f->vector == VEC_PF && cp->regs.cr2 < MV_USER_TOP) {
		/* Returning from here retries the access: the VMM either mapped
		 * the page (flushing the TLB if it changed a live entry) or it
		 * ended the process and never resumes us. */
		hc__call(MV_OP_PAGE_FAULT, cp->regs.cr2, f->error_code);
		return;
	}
	hc__panic("unhandled exception in the HRT", &cp->regs);
}
