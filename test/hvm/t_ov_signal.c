/* Overrides under signals: a 1 ms interval timer fires all through 3 s of
 * overridden clock_gettime / malloc / free / getpid / short nanosleep calls
 * (and the clock's re-anchoring hypercalls): the handler runs every time,
 * the clock stays monotonic, every block keeps its contents. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

static volatile long ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
}

static long long mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	long long start = mono(), last = start, back = 0, bad = 0;
	pid_t pid = getpid();
	while (last - start < 3000000000LL) {
		for (int i = 0; i < 100; i++) {
			char *p = malloc(64 + i);
			memset(p, i, 64 + i);
			bad += p[63] != (char)i || getpid() != pid;
			free(p);
		}
		nanosleep(&(struct timespec){ 0, 10000 }, NULL);
		long long n = mono();
		back += n < last;
		last = n;
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(ticks > 100);
	CHECK(back == 0);
	CHECK(bad == 0);
	printf("mode: %s, %ld timer signals handled\n", mv_in_hrt() ? "hrt" : "native", (long)ticks);
	DONE("t_ov_signal");
}
