/* t_signal: what works of signals today. Handlers installed with sigaction
 * run (in the ROS, on the partner's thread: see hvm/README.md) for raise,
 * kill, pthread_kill and an interval timer firing while the HRT computes;
 * SIG_IGN ignores; modes: "term" (default action of SIGTERM -> 143) and
 * "exit" (a handler that calls _exit(7)). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t got_usr1, got_usr2, got_alrm, thread_got;

static void on_usr1(int s) { (void)s; got_usr1++; }
static void on_usr2(int s) { (void)s; got_usr2++; }
static void on_alrm(int s) { (void)s; got_alrm++; }
static void on_exit7(int s) { (void)s; _exit(7); }

static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5000 && !got_usr2; i++)
		usleep(1000);
	thread_got = got_usr2;
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc > 1 && !strcmp(argv[1], "term")) {
		printf("t_signal term\n");
		fflush(stdout);
		raise(SIGTERM);
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "exit")) {
		signal(SIGUSR1, on_exit7);
		printf("t_signal exit\n");
		fflush(stdout);
		raise(SIGUSR1);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0 && got_usr1 == 1);
	CHECK(kill(getpid(), SIGUSR1) == 0 && got_usr1 == 2);

	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, sleeper, NULL);
	usleep(10000);
	CHECK(pthread_kill(t, SIGUSR2) == 0);
	pthread_join(t, NULL);
	CHECK(thread_got == 1);

	/* SIGALRM from an interval timer while main spins in the HRT */
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	volatile unsigned long spin = 0;
	while (got_alrm < 3)
		spin++;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(got_alrm >= 3);

	signal(SIGUSR1, SIG_IGN);
	CHECK(raise(SIGUSR1) == 0 && got_usr1 == 2);
	DONE("t_signal");
}
