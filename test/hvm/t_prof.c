/* t_prof: MV_PROFILE's samples land where the time goes. Three phases, each
 * about SECS seconds: main computes in spin_here -> spin_inner, then makes
 * forwarded getppid calls from call_heavy (a syscall instruction of its own,
 * so call_heavy is the frame that made the call), while a second thread
 * computes in thread_spin. The functions keep their frame pointers so the
 * profiler's walk reaches main. hrt.test.ts reads the folded profile. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

#define FP __attribute__((noinline, optimize("no-omit-frame-pointer")))

static volatile uint64_t sink;
static double secs = 1.5;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

FP static uint64_t spin_inner(uint64_t x)
{
	for (int i = 0; i < 200000; i++)
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return x;
}

FP static void spin_here(void)
{
	double end = now() + secs;
	uint64_t x = 88172645463325252ULL;
	while (now() < end)
		x = spin_inner(x);
	sink = x;
}

FP static long call_heavy(void)
{
	double end = now() + secs;
	long n = 0, r;
	while (now() < end)
		for (int i = 0; i < 50; i++, n++)
			__asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
	return n;
}

FP static void *thread_spin(void *arg)
{
	(void)arg;
	double end = now() + secs;
	uint64_t x = 1;
	while (now() < end)
		for (int i = 0; i < 200000; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink ^= x;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (argc > 1)
		secs = atof(argv[1]);
	spin_here();
	long calls = call_heavy();
	if (pthread_create(&t, NULL, thread_spin, NULL) || pthread_join(t, NULL)) {
		printf("FAIL pthread\n");
		return 1;
	}
	printf("calls %ld\nPASS\n", calls);
	return 0;
}
