/* t_signal: signal handlers run in the HRT with Linux semantics (see
 * hvm/src/signal.c). Checked: handlers for raise, kill, sigqueue,
 * pthread_kill, setitimer and timer_create, each at the CPL of the code it
 * interrupted (0 in the HRT); siginfo; the mask inside a handler and after
 * it; SA_RESTART vs EINTR for a blocked read; sigaltstack; FPU registers
 * kept across an asynchronous handler; siglongjmp out of a handler; faults
 * (SIGSEGV MAPERR/ACCERR, SIGFPE, SIGILL) reaching the handler with the
 * right si_code/si_addr, a handler that fixes the cause and returns, and
 * one that edits the ucontext; sigsuspend; SIG_IGN.
 * Modes: term (SIGTERM's default action: 143), exit (a handler calls
 * _exit(7)), resethand (SA_RESETHAND: the second SIGUSR1 kills: 138),
 * abort (134), stopcont (waits for SIGUSR2 while the shell stops and
 * continues it), kick N (N one-shot timers, each awaited in a loop of
 * arch_prctl calls, which Nautilus answers itself: a signal may arrive while
 * the vCPU is inside Nautilus, where delivery has to be retried). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <asm/prctl.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"


static volatile sig_atomic_t got_usr1, got_usr2, got_alrm, got_rt, thread_got, fixed;
static volatile int handler_hrt = -1, thread_handler_vcpu = -2, usr2_blocked_inside, usr1_blocked_inside;
static volatile int si_code_seen, si_pid_seen, si_value_seen;
static volatile void *si_addr_seen;
static volatile uintptr_t alt_sp_seen;
static sigjmp_buf jb;
static int pipefd[2];
static char *volatile ro_page; /* the handler reads it: stored before the faulting write */
static volatile int *volatile bad_ptr = (volatile int *)16; /* hidden from -Warray-bounds */

static int blocked(int sig)
{
	sigset_t s;
	sigprocmask(SIG_BLOCK, NULL, &s);
	return sigismember(&s, sig);
}

static void on_usr1(int s, siginfo_t *si, void *uc)
{
	(void)s; (void)uc;
	got_usr1++;
	handler_hrt = mv_in_hrt();
	si_code_seen = si->si_code;
	si_pid_seen = si->si_pid;
	si_value_seen = si->si_code == SI_QUEUE ? si->si_value.sival_int : 0;
	usr1_blocked_inside = blocked(SIGUSR1);
	usr2_blocked_inside = blocked(SIGUSR2);
}
static void on_usr2(int s) { (void)s; got_usr2++; thread_handler_vcpu = mv_vcpu_id(); }
static void on_rt(int s, siginfo_t *si, void *uc) { (void)s; (void)uc; got_rt++; si_value_seen = si->si_value.sival_int; }
static void on_exit7(int s) { (void)s; _exit(7); }
static void on_alrm_write(int s) { (void)s; got_alrm++; (void)!write(pipefd[1], "x", 1); }
static void on_alrm_jump(int s) { (void)s; siglongjmp(jb, 1); }
static void on_alt(int s) { int here; (void)s; alt_sp_seen = (uintptr_t)&here; }

/* Installed by a constructor, before main and so natively: it must still
 * run in the HRT once main is there. */
static volatile int early_hrt = -1;
static void on_early(int s) { (void)s; early_hrt = mv_in_hrt(); }
__attribute__((constructor)) static void install_early(void) { signal(SIGWINCH, on_early); }

/* Clobbers every XMM register the compiler likes to use. */
static void on_alrm_float(int s)
{
	volatile double a = 1.5;
	(void)s;
	for (int i = 0; i < 50; i++)
		a = a * 1.0001 + 0.5 / (a + i);
	got_alrm++;
}

static void on_fault_jump(int s, siginfo_t *si, void *uc)
{
	(void)uc;
	si_code_seen = si->si_code;
	si_addr_seen = si->si_addr;
	handler_hrt = mv_in_hrt() * 100 + s;
	siglongjmp(jb, 1);
}

static void on_segv_fix(int s, siginfo_t *si, void *uc)
{
	(void)s; (void)uc;
	si_code_seen = si->si_code;
	si_addr_seen = si->si_addr;
	fixed = mprotect(ro_page, 4096, PROT_READ | PROT_WRITE) == 0;
}

static void on_ill_skip(int s, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)s;
	si_code_seen = si->si_code;
	si_addr_seen = si->si_addr;
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* past the ud2 */
	uc->uc_mcontext.gregs[REG_RAX] = 42;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

static void handle_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags, int also_block)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	if (also_block)
		sigaddset(&sa.sa_mask, also_block);
	sigaction(sig, &sa, NULL);
}

static void *spinner(void *arg)
{
	(void)arg;
	/* No system calls while waiting: the signal interrupts KVM_RUN. */
	for (unsigned long i = 0; i < 4000000000UL && !got_usr2; i++)
		__asm__ volatile("pause");
	thread_got = got_usr2;
	return NULL;
}

static void arm(long usec)
{
	struct itimerval it = { { 0, 0 }, { 0, usec } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static int modes(int argc, char **argv)
{
	const char *m = argv[1];

	if (!strcmp(m, "term")) {
		printf("t_signal term\n");
		fflush(stdout);
		raise(SIGTERM);
		return 1;
	}
	if (!strcmp(m, "exit")) {
		signal(SIGUSR1, on_exit7);
		printf("t_signal exit\n");
		fflush(stdout);
		raise(SIGUSR1);
		return 1;
	}
	if (!strcmp(m, "resethand")) {
		handle_info(SIGUSR1, on_usr1, SA_RESETHAND, 0);
		raise(SIGUSR1);
		printf("t_signal resethand: first SIGUSR1 handled %d time(s)\n", (int)got_usr1);
		fflush(stdout);
		raise(SIGUSR1);
		return 1;
	}
	if (!strcmp(m, "abort")) {
		printf("t_signal abort\n");
		fflush(stdout);
		abort();
	}
	if (!strcmp(m, "kick")) {
		int n = argc > 2 ? atoi(argv[2]) : 100, done = 0;
		unsigned long fs;
		handle(SIGALRM, on_alrm_float, 0);
		for (int i = 0; i < n; i++) {
			int before = got_alrm;
			arm(300 + (i * 37) % 500);
			while (got_alrm == before)
				syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
			done++;
		}
		printf("t_signal kick: %d of %d timer handlers ran\n", done, n);
		return done == n ? 0 : 1;
	}
	if (!strcmp(m, "stopcont")) {
		handle(SIGUSR2, on_usr2, 0);
		printf("t_signal stopcont: ready\n");
		fflush(stdout);
		for (int i = 0; i < 60000 && !got_usr2; i++)
			usleep(1000);
		printf("t_signal stopcont: got SIGUSR2 %d\n", (int)got_usr2);
		return got_usr2 ? 0 : 1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	int in_hrt = mv_in_hrt();

	if (argc > 1)
		return modes(argc, argv);

	/* A handler installed natively before main. */
	CHECK(raise(SIGWINCH) == 0 && early_hrt == in_hrt);

	/* raise / kill / sigqueue: SA_SIGINFO, the mask inside the handler. */
	handle_info(SIGUSR1, on_usr1, 0, SIGUSR2);
	CHECK(raise(SIGUSR1) == 0 && got_usr1 == 1);
	CHECK(handler_hrt == in_hrt);
	CHECK(si_code_seen == SI_TKILL);
	CHECK(kill(getpid(), SIGUSR1) == 0 && got_usr1 == 2);
	CHECK(si_code_seen == SI_USER && si_pid_seen == getpid());
	CHECK(usr1_blocked_inside && usr2_blocked_inside);
	CHECK(!blocked(SIGUSR1) && !blocked(SIGUSR2));
	CHECK(sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 77 }) == 0 && got_usr1 == 3);
	CHECK(si_code_seen == SI_QUEUE && si_value_seen == 77);

	/* pthread_kill to a thread spinning in the HRT: its handler runs on its vCPU. */
	handle(SIGUSR2, on_usr2, 0);
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	usleep(20000);
	CHECK(pthread_kill(t, SIGUSR2) == 0);
	pthread_join(t, NULL);
	CHECK(thread_got == 1);
	CHECK(!in_hrt || thread_handler_vcpu > 0);

	/* A POSIX timer with a value, while main waits in sigsuspend. */
	sigset_t rtset, empty;
	sigemptyset(&rtset);
	sigemptyset(&empty);
	sigaddset(&rtset, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &rtset, NULL);
	handle_info(SIGRTMIN, on_rt, 0, 0);
	timer_t tm;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN, .sigev_value.sival_int = 1234 };
	struct itimerspec its = { { 0, 0 }, { 0, 20000000 } };
	CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tm) == 0 && timer_settime(tm, 0, &its, NULL) == 0);
	CHECK(sigsuspend(&empty) == -1 && errno == EINTR);
	CHECK(got_rt == 1 && si_value_seen == 1234);
	CHECK(blocked(SIGRTMIN));
	timer_delete(tm);

	/* SIGALRM while main spins with doubles in registers: the handler
	 * clobbers XMM state, which must come back intact. */
	handle(SIGALRM, on_alrm_float, 0);
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	double acc = 0.0, step = 0.25;
	unsigned long n = 0;
	while (got_alrm < 5) {
		acc += step;
		n++;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(acc == 0.25 * (double)n);

	/* A read blocked in a forwarded call: SA_RESTART restarts it after
	 * the handler (which makes data available); without it, EINTR. */
	char c = 0;
	CHECK(pipe(pipefd) == 0);
	got_alrm = 0;
	handle(SIGALRM, on_alrm_write, SA_RESTART);
	arm(20000);
	CHECK(read(pipefd[0], &c, 1) == 1 && c == 'x' && got_alrm == 1);
	handle(SIGALRM, on_alrm_write, 0);
	arm(20000);
	errno = 0;
	CHECK(read(pipefd[0], &c, 1) == -1 && errno == EINTR && got_alrm == 2);
	CHECK(read(pipefd[0], &c, 1) == 1); /* the byte the handler wrote */

	/* siglongjmp out of a handler that interrupted a spin loop. */
	handle(SIGALRM, on_alrm_jump, 0);
	volatile int jumped = 0;
	if (sigsetjmp(jb, 1) == 0) {
		arm(10000);
		for (;;)
			__asm__ volatile("pause");
	} else {
		jumped = 1;
	}
	CHECK(jumped && !blocked(SIGALRM));

	/* sigaltstack + SA_ONSTACK. */
	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0 };
	CHECK(sigaltstack(&ss, NULL) == 0);
	handle(SIGUSR2, on_alt, SA_ONSTACK);
	raise(SIGUSR2);
	CHECK(alt_sp_seen > (uintptr_t)ss.ss_sp && alt_sp_seen < (uintptr_t)ss.ss_sp + 65536);

	/* Faults. NULL write: SEGV_MAPERR with the address; siglongjmp out. */
	handle_info(SIGSEGV, on_fault_jump, 0, 0);
	if (sigsetjmp(jb, 1) == 0)
		*bad_ptr = 1;
	CHECK(si_code_seen == SEGV_MAPERR && si_addr_seen == (void *)16);
	CHECK(handler_hrt == in_hrt * 100 + SIGSEGV);
	CHECK(!blocked(SIGSEGV));

	/* Write to a PROT_READ page: SEGV_ACCERR; the handler makes it
	 * writable and returns, and the write is retried. */
	ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	handle_info(SIGSEGV, on_segv_fix, 0, 0);
	ro_page[100] = 5;
	CHECK(fixed && ro_page[100] == 5);
	CHECK(si_code_seen == SEGV_ACCERR && si_addr_seen == ro_page + 100);

	/* Integer division by zero: SIGFPE FPE_INTDIV. */
	handle_info(SIGFPE, on_fault_jump, 0, 0);
	volatile int zero = 0, q = 1;
	if (sigsetjmp(jb, 1) == 0)
		q = 10 / zero;
	CHECK(q == 1 && si_code_seen == FPE_INTDIV && handler_hrt == in_hrt * 100 + SIGFPE);

	/* ud2: SIGILL ILL_ILLOPN at the instruction; the handler edits the
	 * ucontext (skip it, set rax) and returns there. */
	handle_info(SIGILL, on_ill_skip, 0, 0);
	long rax = 0;
	void *where;
	__asm__ volatile("lea 1f(%%rip), %1\n1: ud2\n" : "+a"(rax), "=r"(where));
	CHECK(rax == 42 && si_code_seen == ILL_ILLOPN && si_addr_seen == where);

	/* int3: SIGTRAP; the handler returns after the breakpoint. */
	got_usr2 = 0;
	handle(SIGTRAP, on_usr2, 0);
	__asm__ volatile("int3");
	CHECK(got_usr2 == 1);

	/* SIG_IGN. */
	signal(SIGUSR1, SIG_IGN);
	CHECK(raise(SIGUSR1) == 0 && got_usr1 == 3);
	DONE("t_signal");
}
