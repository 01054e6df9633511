/* getpid, clock_gettime and code that waits on time. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
	CHECK(getpid() > 0 && getpid() == (pid_t)syscall(SYS_getpid));
	CHECK(getppid() >= 0);
	struct timespec r;
	CHECK(clock_gettime(CLOCK_REALTIME, &r) == 0 && r.tv_sec > 1600000000);
	time_t t = time(NULL);
	CHECK(t >= r.tv_sec - 1 && t - r.tv_sec < 5); /* time() reads the coarse clock: it may trail by a tick */
	struct timeval tv;
	CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec - r.tv_sec < 5);
	double t0 = mono();
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	CHECK(nanosleep(&ts, NULL) == 0);
	double dt = mono() - t0;
	CHECK(dt >= 0.049 && dt < 5.0);
	/* busy-wait on the clock: time must move forward while we spin */
	t0 = mono();
	long spins = 0;
	while (mono() - t0 < 0.02)
		spins++;
	CHECK(spins > 0);
	double a = mono(), b = mono();
	CHECK(b >= a);
	DONE("t_time");
}
