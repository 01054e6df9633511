/* errno is the program's: what libmv does on the program's behalf (the
 * partner is the program's own thread, with its TLS) must never change it.
 * Each step sets errno, lets libmv work (signals handled in the HRT, a new
 * thread, page faults, a fork, a restarted sleep), and reads it back. The
 * handlers themselves leave errno alone, so natively nothing changes it.
 * Run with MV_HRT_CPUS naming a CPU that does not exist, so that pinning a
 * new thread's partner fails (and must not leave EINVAL in its errno). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static volatile int ticks;
static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

static volatile int thread_errno0 = -1;
static void *thread_fn(void *arg)
{
	thread_errno0 = errno; /* a new thread starts with errno 0 */
	errno = 77;            /* this thread's errno, not main's */
	return arg;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	/* A timer signal handled in the HRT while main spins. */
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 1234;
	while (ticks < 20)
		;
	int e = errno;
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, NULL);
	printf("errno after 20 timer signals: %d\n", e);
	CHECK(e == 1234);

	/* A signal sent to itself, handled when the call returns. */
	errno = 1235;
	raise(SIGUSR1);
	e = errno;
	CHECK(e == 1235);

	/* A sleep interrupted by the timer and restarted (SA_RESTART). */
	it = (struct itimerval){ { 0, 3000 }, { 0, 3000 } };
	ticks = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 1236;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		errno = 1236;
	e = errno;
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(e == 1236);

	/* A new thread (a new vCPU and partner), joined. */
	pthread_t t;
	errno = 1237;
	int rc = pthread_create(&t, NULL, thread_fn, NULL);
	e = errno;
	CHECK(rc == 0 && e == 1237);
	errno = 1238;
	pthread_join(t, NULL);
	e = errno;
	CHECK(e == 1238);
	printf("errno when a new thread starts: %d\n", thread_errno0);
	CHECK(thread_errno0 == 0);

	/* Page faults on fresh memory, and a mapping made while errno is set. */
	errno = 1239;
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < (1 << 20); i += 4096)
		p[i] = 1;
	e = errno;
	CHECK(p != MAP_FAILED && e == 1239);

	/* A fork: the parent's errno after fork and wait. */
	errno = 1240;
	pid_t pid = fork();
	if (pid == 0)
		_exit(errno == 1240 ? 0 : 1);
	e = errno;
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(pid > 0 && e == 1240);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	DONE("t_errno");
}
