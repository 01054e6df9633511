/* signal.c - signal handlers run in the HRT, with Linux semantics.
 *
 * The kernel delivers a signal to a partner (the HRT thread's host thread:
 * same TID, same mask). rt_sigaction from the HRT is emulated: the program's
 * action is kept here, and for a handler the host gets libmv's recorder
 * (signal__host) instead. The recorder only notes the signal and its siginfo
 * in the vCPU; the partner then delivers it in the HRT, the way the kernel
 * would: it writes an rt_sigframe (return address = the program's restorer,
 * ucontext with the interrupted registers, mask and FPU state, siginfo) on
 * the thread's stack (or its sigaltstack) and resumes the vCPU at the handler:
 *  - the HRT was computing (KVM_RUN returned EINTR): through KVM_SET_REGS;
 *  - the HRT was in a hypercall (a forwarded call, a page fault): through the
 *    call page's MV_CALL_RESUME, which Nautilus honours on the way back.
 * The handler's return runs the restorer's rt_sigreturn, forwarded here:
 * mask, FPU state and registers come back from the frame (a handler may
 * change them, or never return: longjmp, exit). Faults the process has no
 * mapping for (SIGSEGV) and CPU exceptions in program code (SIGFPE, SIGILL,
 * SIGBUS, SIGTRAP) reach the program's handler with a correct siginfo.
 * SIG_DFL and SIG_IGN are the host's own, so default actions (terminate,
 * core, ignore, stop/continue) are exactly Linux's. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include "mv.h"

#define K_SA_RESTORER 0x04000000ULL
#define SIGBIT(s)     (1ULL << ((s)-1))
#define RFLAGS_TF     0x100ULL
#define RFLAGS_DF     0x400ULL
#define KICK_NS	      200000 /* retry delivery this soon when the vCPU was inside Nautilus */

static struct mv_vm *sig_vm; /* one VM per process */

/* Host side of the program's handlers: sigreturn for signal__host. */
void signal__host_restorer(void);
__asm__(".text\n"
	".globl signal__host_restorer\n"
	".hidden signal__host_restorer\n"
	"signal__host_restorer:\n"
	"	mov $15, %eax\n" /* rt_sigreturn */
	"	syscall\n"
	"	ud2\n");

/* Frame layout as the kernel's x86-64 rt_sigframe: the handler's return
 * address, then the ucontext, then the siginfo; the FPU state below. */
struct sigframe {
	uint64_t pretcode;
	ucontext_t uc;
	siginfo_t info;
};

/* The kernel's first real-time signal (glibc keeps 32 and 33 for itself). */
#define SIG_RT_FIRST 32

/* Take pending sig's siginfo. A real-time signal with more instances queued
 * stays pending with the next one's. Host signals are blocked meanwhile: the
 * recorder, on this same thread, appends to the queue. */
static void sig__take(struct mv_vcpu *v, int sig, siginfo_t *info)
{
	uint64_t all = ~0ULL, old;
	int i;

	memcpy(info, v->sig_info[sig], sizeof *info);
	if (sig < SIG_RT_FIRST) {
		__atomic_fetch_and(&v->sig_pending, ~SIGBIT(sig), __ATOMIC_ACQ_REL);
		return;
	}
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&old, 8, 0, 0);
	for (i = 0; i < v->rtq_n && v->rtq_sig[i] != sig; i++)
		;
	if (i < v->rtq_n) {
		memcpy(v->sig_info[sig], v->rtq_info[i], sizeof v->sig_info[sig]);
		memmove(&v->rtq_sig[i], &v->rtq_sig[i + 1], (size_t)(v->rtq_n - i - 1));
		memmove(v->rtq_info[i], v->rtq_info[i + 1], (size_t)(v->rtq_n - i - 1) * sizeof v->rtq_info[0]);
		__atomic_store_n(&v->rtq_n, v->rtq_n - 1, __ATOMIC_RELEASE);
	} else {
		__atomic_fetch_and(&v->sig_pending, ~SIGBIT(sig), __ATOMIC_ACQ_REL);
	}
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);
}

static uint64_t sig__mask(void)
{
	uint64_t cur = 0;
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&cur, 8, 0, 0);
	return cur;
}

static int sig__is_handler(const struct mv_sigaction *a)
{
	return a->handler != (uint64_t)SIG_DFL && a->handler != (uint64_t)SIG_IGN;
}

/* The program's action for sig, read from the host the first time (it may
 * have been set natively before main). Caller holds sig_lock. */
static struct mv_sigaction *sig__action(struct mv_vm *vm, int sig)
{
	if (!(vm->sigact_known & SIGBIT(sig))) {
		struct mv_sigaction a = { 0 };
		mv__raw_syscall(SYS_rt_sigaction, sig, 0, (long)&a, 8, 0, 0);
		sigact__set(vm, sig, &a);
		vm->sigact_known |= SIGBIT(sig);
	}
	return &vm->sigact[sig];
}

static struct mv_vcpu *sig__vcpu_of(struct mv_vm *vm, int tid)
{
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		struct mv_vcpu *v = vm->vcpus[i];
		if (v && __atomic_load_n(&v->busy, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&v->tid, __ATOMIC_RELAXED) == tid && v->state != MV_VCPU_EXITED &&
		    v->state != MV_VCPU_PROBE_FAILED)
			return v;
	}
	return NULL;
}

/* The host handler for every signal the program handles. On a partner: note
 * it for the HRT thread. On any other thread (a fork child, which runs
 * natively; main's thread after main returned): run the program's handler
 * right here, as a native process would. */
static void signal__host(int sig, siginfo_t *info, void *uc)
{
	struct mv_vm *vm = sig_vm;
	struct mv_vcpu *v = sig__vcpu_of(vm, (int)mv__raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0));
	struct mv_sigaction a;

	if (v) {
		if (info->si_code == SI_TIMER && info->si_value.sival_ptr == (void *)v)
			return; /* our own kick (signal__kick): KVM_RUN is interrupted, that is all */
		if (gdb__is_kick(v, sig))
			return; /* gdb's kick (gdb.c), for the same reason */
		if (sig >= SIG_RT_FIRST && (__atomic_load_n(&v->sig_pending, __ATOMIC_ACQUIRE) & SIGBIT(sig))) {
			/* Another instance of a pending real-time signal: queued, as Linux does
			 * (only this thread, in this handler, appends; sig__take removes). */
			if (v->rtq_n < MV_RTQ) {
				v->rtq_sig[v->rtq_n] = (uint8_t)sig;
				memcpy(v->rtq_info[v->rtq_n], info, sizeof v->rtq_info[0]);
				__atomic_store_n(&v->rtq_n, v->rtq_n + 1, __ATOMIC_RELEASE);
			}
			return;
		}
		memcpy(v->sig_info[sig], info, sizeof v->sig_info[sig]);
		__atomic_fetch_or(&v->sig_pending, SIGBIT(sig), __ATOMIC_RELEASE);
		return;
	}
	a = sigact__read(vm, sig);
	if (!sig__is_handler(&a))
		return;
	if (a.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a.handler)(sig, info, uc);
	else
		((void (*)(int))a.handler)(sig);
}

void signal__init(struct mv_vm *vm)
{
	sig_vm = vm;
	pthread_mutex_init(&vm->sig_lock, NULL);
}

static int64_t sig__install_recorder(int sig, const struct mv_sigaction *n)
{
	/* No SA_RESTART: a forwarded call must come back with EINTR so the
	 * handler runs in the HRT now; the restart is redone there
	 * (signal__after_call). No SA_ONSTACK: the recorder runs on the
	 * partner's stack. */
	struct mv_sigaction host = {
		.handler = (uint64_t)signal__host,
		.flags = SA_SIGINFO | K_SA_RESTORER | (n->flags & (SA_NODEFER | SA_NOCLDSTOP | SA_NOCLDWAIT)),
		.restorer = (uint64_t)signal__host_restorer,
		.mask = n->mask,
	};
	return mv__raw_syscall(SYS_rt_sigaction, sig, (long)&host, 0, 8, 0, 0);
}

/* main starts in the HRT: handlers installed natively before it (by
 * constructors, by glibc) get the recorder too, so they run in the HRT. */
void signal__adopt(struct mv_vm *vm)
{
	pthread_mutex_lock(&vm->sig_lock);
	for (int sig = 1; sig <= MV_NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == MV_PROF_SIG)
			continue;
		const struct mv_sigaction *a = sig__action(vm, sig);
		if (sig__is_handler(a) && a->handler != (uint64_t)signal__host)
			sig__install_recorder(sig, a);
	}
	pthread_mutex_unlock(&vm->sig_lock);
}

/* main returned to the ROS: the program's handlers run natively again, with
 * their own flags (SA_RESTART). */
void signal__release(struct mv_vm *vm)
{
	pthread_mutex_lock(&vm->sig_lock);
	for (int sig = 1; sig <= MV_NSIG; sig++)
		if ((vm->sigact_known & SIGBIT(sig)) && sig__is_handler(&vm->sigact[sig]))
			mv__raw_syscall(SYS_rt_sigaction, sig, (long)&vm->sigact[sig], 0, 8, 0, 0);
	pthread_mutex_unlock(&vm->sig_lock);
}

/* A thread starts on a (possibly reused) vCPU: nothing pending, and the
 * previous thread's kick timer goes. */
void signal__thread_start(struct mv_vcpu *v)
{
	__atomic_store_n(&v->sig_pending, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&v->rtq_n, 0, __ATOMIC_RELEASE);
	if (v->kick_timer_ok)
		mv__raw_syscall(SYS_timer_delete, v->kick_timer, 0, 0, 0, 0, 0);
	v->kick_timer_ok = 0;
	v->kick_armed = 0;
}

/* rt_sigaction(sig, act, oact, sigsetsize) from the HRT. */
int64_t signal__sigaction(struct mv_vcpu *v, const uint64_t *a)
{
	struct mv_vm *vm = v->vm;
	int sig = (int)a[0];
	struct mv_sigaction n, old;
	int64_t r = 0;

	if (sig < 1 || sig > MV_NSIG || sig == SIGKILL || sig == SIGSTOP || a[3] != 8)
		return mv__raw_syscall(SYS_rt_sigaction, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0, 0);
	if (a[1] && mv__copy_in(&n, a[1], sizeof n) < 0)
		return -EFAULT;
	pthread_mutex_lock(&vm->sig_lock);
	old = *sig__action(vm, sig);
	if (a[1]) {
		if (sig__is_handler(&n))
			r = sig__install_recorder(sig, &n);
		else
			r = mv__raw_syscall(SYS_rt_sigaction, sig, (long)&n, 0, 8, 0, 0);
		if (r == 0)
			sigact__set(vm, sig, &n);
	}
	pthread_mutex_unlock(&vm->sig_lock);
	if (r == 0 && a[2] && mv__copy_out(a[2], &old, sizeof old) < 0)
		r = -EFAULT;
	return r;
}

/* The lowest pending signal the thread's mask lets through, or 0. */
static int sig__next(struct mv_vcpu *v, int any)
{
	uint64_t p = __atomic_load_n(&v->sig_pending, __ATOMIC_ACQUIRE);
	if (!p)
		return 0;
	if (!any)
		p &= ~sig__mask();
	return p ? __builtin_ctzll(p) + 1 : 0;
}

static void sig__to_gregs(greg_t *g, const struct mv_regs *r)
{
	g[REG_R8] = (greg_t)r->r8;
	g[REG_R9] = (greg_t)r->r9;
	g[REG_R10] = (greg_t)r->r10;
	g[REG_R11] = (greg_t)r->r11;
	g[REG_R12] = (greg_t)r->r12;
	g[REG_R13] = (greg_t)r->r13;
	g[REG_R14] = (greg_t)r->r14;
	g[REG_R15] = (greg_t)r->r15;
	g[REG_RDI] = (greg_t)r->rdi;
	g[REG_RSI] = (greg_t)r->rsi;
	g[REG_RBP] = (greg_t)r->rbp;
	g[REG_RBX] = (greg_t)r->rbx;
	g[REG_RDX] = (greg_t)r->rdx;
	g[REG_RAX] = (greg_t)r->rax;
	g[REG_RCX] = (greg_t)r->rcx;
	g[REG_RSP] = (greg_t)r->rsp;
	g[REG_RIP] = (greg_t)r->rip;
	g[REG_EFL] = (greg_t)r->rflags;
	g[REG_CSGSFS] = MV_SEL_KCODE | (greg_t)MV_SEL_KDATA << 48;
	g[REG_ERR] = (greg_t)(r->vector < 32 ? r->error_code : 0);
	g[REG_TRAPNO] = (greg_t)(r->vector < 32 ? r->vector : 0);
	g[REG_CR2] = (greg_t)(r->vector == 14 ? r->cr2 : 0);
}

static void sig__from_gregs(struct mv_regs *r, const greg_t *g)
{
	r->r8 = (uint64_t)g[REG_R8];
	r->r9 = (uint64_t)g[REG_R9];
	r->r10 = (uint64_t)g[REG_R10];
	r->r11 = (uint64_t)g[REG_R11];
	r->r12 = (uint64_t)g[REG_R12];
	r->r13 = (uint64_t)g[REG_R13];
	r->r14 = (uint64_t)g[REG_R14];
	r->r15 = (uint64_t)g[REG_R15];
	r->rdi = (uint64_t)g[REG_RDI];
	r->rsi = (uint64_t)g[REG_RSI];
	r->rbp = (uint64_t)g[REG_RBP];
	r->rbx = (uint64_t)g[REG_RBX];
	r->rdx = (uint64_t)g[REG_RDX];
	r->rax = (uint64_t)g[REG_RAX];
	r->rcx = (uint64_t)g[REG_RCX];
	r->rsp = (uint64_t)g[REG_RSP];
	r->rip = (uint64_t)g[REG_RIP];
	/* Only the arithmetic flags, DF, TF and AC come from the frame (as in
	 * Linux's FIX_EFLAGS); IF and IOPL stay the HRT's. */
	r->rflags = (r->rflags & ~0x50dd5ULL) | ((uint64_t)g[REG_EFL] & 0x50dd5ULL);
}

/* Write sig's frame for the interrupted context *r and turn *r into the
 * handler's entry state. -1: no usable stack for the frame. */
static int sig__setup_frame(struct mv_vcpu *v, int sig, const siginfo_t *info, struct mv_regs *r)
{
	struct mv_vm *vm = v->vm;
	struct mv_sigaction a;
	struct kvm_xsave xs;
	struct sigframe f;
	stack_t ss;
	uint64_t sp = r->rsp, fp, block, old = sig__mask();
	int on_alt;

	pthread_mutex_lock(&vm->sig_lock);
	a = *sig__action(vm, sig);
	if (a.flags & SA_RESETHAND && a.handler != (uint64_t)SIG_IGN) {
		struct mv_sigaction dfl = { (uint64_t)SIG_DFL, 0, 0, 0 };
		mv__raw_syscall(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
		sigact__set(vm, sig, &dfl);
	}
	pthread_mutex_unlock(&vm->sig_lock);
	if (!sig__is_handler(&a))
		return 1; /* changed since it was recorded: nothing to run */

	memset(&ss, 0, sizeof ss);
	mv__raw_syscall(SYS_sigaltstack, 0, (long)&ss, 0, 0, 0, 0);
	on_alt = !(ss.ss_flags & SS_DISABLE) && sp > (uint64_t)ss.ss_sp && sp <= (uint64_t)ss.ss_sp + ss.ss_size;
	if ((a.flags & SA_ONSTACK) && !(ss.ss_flags & SS_DISABLE) && !on_alt)
		sp = (uint64_t)ss.ss_sp + ss.ss_size;
	else
		sp -= 128; /* the interrupted code's red zone */

	if (ioctl(v->fd, KVM_GET_XSAVE, &xs) < 0)
		return -1;
	fp = (sp - sizeof xs) & ~63ULL;
	sp = ((fp - sizeof f) & ~15ULL) - 8; /* as after a call: the handler sees rsp % 16 == 8 */

	memset(&f, 0, sizeof f);
	f.pretcode = (a.flags & K_SA_RESTORER) ? a.restorer : (uint64_t)signal__host_restorer;
	f.uc.uc_stack = ss;
	f.uc.uc_stack.ss_flags = (ss.ss_flags & SS_DISABLE) ? SS_DISABLE : on_alt ? SS_ONSTACK : 0;
	sig__to_gregs(f.uc.uc_mcontext.gregs, r);
	f.uc.uc_mcontext.gregs[REG_OLDMASK] = (greg_t)old;
	f.uc.uc_mcontext.fpregs = (fpregset_t)fp;
	memcpy(&f.uc.uc_sigmask, &old, sizeof old);
	f.info = *info;
	/* The HRT thread's stack may end below the host's [stack] mapping
	 * (the kernel no longer grows a stack for process_vm_writev): grow it
	 * as the HRT's own access would. */
	if (mv__copy_out(fp, &xs, sizeof xs) < 0 || mv__copy_out(sp, &f, sizeof f) < 0) {
		mem__reach(v, sp);
		if (mv__copy_out(fp, &xs, sizeof xs) < 0 || mv__copy_out(sp, &f, sizeof f) < 0)
			return -1;
	}

	block = a.mask | ((a.flags & SA_NODEFER) ? 0 : SIGBIT(sig));
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&block, 0, 8, 0, 0);
	r->rip = a.handler;
	r->rsp = sp;
	r->rdi = (uint64_t)sig;
	r->rsi = sp + offsetof(struct sigframe, info);
	r->rdx = sp + offsetof(struct sigframe, uc);
	r->rax = 0;
	r->rflags &= ~(RFLAGS_TF | RFLAGS_DF);
	__atomic_fetch_add(&vm->nr_signals, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Deliver the next deliverable pending signal on top of context *r. 1 if
 * *r is now a handler's entry, 0 if nothing was deliverable. */
static int sig__deliver(struct mv_vcpu *v, struct mv_regs *r, int any)
{
	int sig;
	siginfo_t info;

	while ((sig = sig__next(v, any))) {
		sig__take(v, sig, &info);
		int rc = sig__setup_frame(v, sig, &info, r);
		if (rc == 0)
			return 1;
		if (rc < 0) /* Linux: a frame that cannot be written is a SIGSEGV */
			report__die(v, "signal frame cannot be written (bad stack)", r, SIGSEGV);
	}
	return 0;
}

/* A periodic host timer that re-sends sig to this partner, carrying the vCPU
 * as its value, so KVM_RUN is interrupted again soon. Periodic, because a
 * tick that lands while the partner is outside KVM_RUN is lost; disarmed
 * once a signal is delivered. */
static void signal__kick(struct mv_vcpu *v, int sig)
{
	struct sigevent ev;
	struct itimerspec when = { { 0, KICK_NS }, { 0, KICK_NS } };

	if (v->kick_armed && v->kick_sig == sig)
		return;
	if (!v->kick_timer_ok || v->kick_sig != sig) {
		if (v->kick_timer_ok)
			mv__raw_syscall(SYS_timer_delete, v->kick_timer, 0, 0, 0, 0, 0);
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_THREAD_ID;
		ev.sigev_signo = sig;
		ev.sigev_value.sival_ptr = v;
		ev._sigev_un._tid = v->tid;
		v->kick_timer_ok = mv__raw_syscall(SYS_timer_create, CLOCK_MONOTONIC, (long)&ev, (long)&v->kick_timer,
						   0, 0, 0) == 0;
		v->kick_sig = sig;
	}
	if (v->kick_timer_ok)
		v->kick_armed = mv__raw_syscall(SYS_timer_settime, v->kick_timer, 0, (long)&when, 0, 0, 0) == 0;
	if (v->vm->opt.trace)
		mv__log("mv: [vcpu %d] signal %d arrived inside Nautilus; delivery retried in %d us\n", v->id, sig,
			KICK_NS / 1000);
}

static void signal__unkick(struct mv_vcpu *v)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };

	if (v->kick_armed)
		mv__raw_syscall(SYS_timer_settime, v->kick_timer, 0, (long)&off, 0, 0, 0);
	v->kick_armed = 0;
}

/* KVM_RUN returned EINTR: the HRT thread was running. Program code gets
 * the handler now; inside Nautilus (a few instructions from a hypercall or
 * from program code) we look again shortly. */
void signal__after_run(struct mv_vcpu *v)
{
	struct kvm_regs kr;
	struct mv_regs r;
	int sig = sig__next(v, 0);

	if (!sig || v->state != MV_VCPU_RUNNING) {
		signal__unkick(v);
		return;
	}
	if (ioctl(v->fd, KVM_GET_REGS, &kr) < 0)
		return;
	if (kr.rip >= MV_USER_TOP) {
		signal__kick(v, sig);
		return;
	}
	cpu__regs_from_kvm(&r, &kr);
	r.vector = ~0ULL;
	signal__unkick(v);
	if (!sig__deliver(v, &r, 0))
		return;
	kr.rax = r.rax;
	kr.rsp = r.rsp;
	kr.rdi = r.rdi;
	kr.rsi = r.rsi;
	kr.rdx = r.rdx;
	kr.rip = r.rip;
	kr.rflags = r.rflags;
	if (ioctl(v->fd, KVM_SET_REGS, &kr) < 0)
		report__die(v, "cannot enter a signal handler (KVM_SET_REGS failed)", &r, SIGSEGV);
}

/* Calls that run with a temporary signal mask: what the kernel accepted
 * under it is delivered although the mask is back when the call returns
 * (the handler's frame keeps the restored mask for its sigreturn). */
static int sig__temp_mask(uint64_t nr)
{
	return nr == SYS_rt_sigsuspend || nr == SYS_ppoll || nr == SYS_pselect6 || nr == SYS_epoll_pwait ||
	       nr == SYS_epoll_pwait2;
}

/* Calls that return EINTR after a handler even with SA_RESTART (signal(7)). */
static int sig__never_restarted(uint64_t nr, const uint64_t *a)
{
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
	case SYS_msgrcv:
	case SYS_msgsnd:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_clock_nanosleep:
	case SYS_nanosleep:
	case SYS_io_getevents:
	case SYS_rt_sigtimedwait:
	case SYS_rt_sigsuspend:
	case SYS_pause: return 1;
	case SYS_futex: /* with a timeout it is a restart_block call: EINTR */ return a[3] != 0;
	default: return 0;
	}
}

/* After a SYSCALL or PAGE_FAULT hypercall: a pending signal enters its
 * handler on the way back (MV_CALL_RESUME), as Linux delivers on the return
 * to user mode. A forwarded call interrupted by it is restarted after the
 * handler when its action has SA_RESTART, else returns EINTR. */
void signal__after_call(struct mv_vcpu *v, uint32_t op)
{
	struct mv_call_page *cp = v->cp;
	struct mv_regs r = cp->regs;
	int syscall = !(cp->flags & MV_CALL_RESUME) && op == MV_OP_SYSCALL;
	int any = syscall && cp->ret == -EINTR && sig__temp_mask(cp->arg[0]);
	int sig = sig__next(v, any);

	if (!sig || v->state != MV_VCPU_RUNNING)
		return;
	if (r.rip >= MV_USER_TOP) {
		/* A page fault taken inside Nautilus (arch_prctl writing to
		 * the program): no program context to interrupt yet. */
		signal__kick(v, sig);
		return;
	}
	if (syscall) {
		/* The SYSCALL context: rax = the result, rcx/r11 as the
		 * instruction leaves them. */
		uint64_t nr = cp->arg[0], nr0 = r.rax;
		/* int $0x80 (nautilus/src/trap.c): rcx and r11 intact, rax the i386 number. */
		int int80 = r.vector == 0x80;
		r.rax = (uint64_t)cp->ret;
		if (!int80) {
			r.rcx = r.rip;
			r.r11 = r.rflags;
		}
		r.vector = ~0ULL;
		if (cp->ret == -EINTR && !sig__never_restarted(nr, &cp->arg[1])) {
			pthread_mutex_lock(&v->vm->sig_lock);
			int restart = (sig__action(v->vm, sig)->flags & SA_RESTART) != 0;
			pthread_mutex_unlock(&v->vm->sig_lock);
			if (restart) {
				r.rip -= 2; /* back onto the 2-byte `syscall` (or `int $0x80`) */
				r.rax = int80 ? nr0 : nr;
			}
		}
	}
	signal__unkick(v);
	if (sig__deliver(v, &r, any)) {
		cp->regs = r;
		cp->flags |= MV_CALL_RESUME;
	}
}

/* rt_sigreturn from the HRT: the restorer ran `syscall` with rsp at the
 * frame's ucontext (the handler's `ret` popped pretcode). */
int64_t signal__sigreturn(struct mv_vcpu *v)
{
	struct mv_call_page *cp = v->cp;
	uint64_t ucp = cp->regs.rsp, mask;
	ucontext_t uc;
	struct kvm_xsave xs;
	struct mv_regs r = cp->regs;

	if (mv__copy_in(&uc, ucp, sizeof uc) < 0)
		report__die(v, "rt_sigreturn with no readable signal frame", &cp->regs, SIGSEGV);
	memcpy(&mask, &uc.uc_sigmask, sizeof mask);
	mv__raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, 8, 0, 0);
	if (uc.uc_mcontext.fpregs && mv__copy_in(&xs, (uint64_t)uc.uc_mcontext.fpregs, sizeof xs) == 0)
		ioctl(v->fd, KVM_SET_XSAVE, &xs);
	sig__from_gregs(&r, uc.uc_mcontext.gregs);
	r.vector = ~0ULL;
	cp->regs = r;
	cp->flags |= MV_CALL_RESUME;
	return (int64_t)r.rax;
}

/* A fault in program code: the program's handler if it has one and the
 * signal is not blocked; 0 when delivered. Otherwise (-1) the caller
 * reports and dies with the default action, as Linux forces it. */
int signal__fault(struct mv_vcpu *v, int sig, int code, uint64_t addr)
{
	struct mv_call_page *cp = v->cp;
	struct mv_regs r = cp->regs;
	struct mv_sigaction a;
	siginfo_t info;

	if (r.rip >= MV_USER_TOP || (sig__mask() & SIGBIT(sig)))
		return -1;
	pthread_mutex_lock(&v->vm->sig_lock);
	a = *sig__action(v->vm, sig);
	pthread_mutex_unlock(&v->vm->sig_lock);
	if (!sig__is_handler(&a))
		return -1;
	gdb__signal(v, sig); /* gdb sees the fault before the program's handler does */
	memset(&info, 0, sizeof info);
	info.si_signo = sig;
	info.si_code = code;
	info.si_addr = (void *)addr;
	if (sig__setup_frame(v, sig, &info, &r) != 0)
		return -1;
	__atomic_store_n(&v->fault_repeats, 0,
			 __ATOMIC_RELAXED); /* a handler ran: a repeat is the program's, not a mapping loop */
	cp->regs = r;
	cp->flags |= MV_CALL_RESUME;
	return 0;
}
