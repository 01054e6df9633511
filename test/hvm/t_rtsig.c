/* Real-time signals queue: three sigqueue(SIGRTMIN+1) with values 1, 2, 3
 * sent while the signal is blocked are three deliveries when it is
 * unblocked, in order, each with its value (a standard signal sent three
 * times is delivered once). */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

static volatile int got[16], ngot, nusr1;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (ngot < 16)
		got[ngot++] = si->si_value.sival_int;
}

static void on_usr1(int sig)
{
	(void)sig;
	nusr1++;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO };
	sigaction(SIGRTMIN + 1, &sa, NULL);
	struct sigaction su = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &su, NULL);

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (int i = 1; i <= 3; i++) {
		CHECK(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = i }) == 0);
		CHECK(kill(getpid(), SIGUSR1) == 0);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Deliveries may take a moment (the partner takes them one by one). */
	for (int i = 0; i < 100 && ngot < 3; i++)
		usleep(1000);
	printf("rtsig: %d delivered:", ngot);
	for (int i = 0; i < ngot; i++)
		printf(" %d", got[i]);
	printf("; SIGUSR1 %d\n", nusr1);
	CHECK(ngot == 3 && got[0] == 1 && got[1] == 2 && got[2] == 3);
	CHECK(nusr1 == 1);
	DONE("t_rtsig");
}
