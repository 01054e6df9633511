/* bench/overrides: ns per call of clock_gettime, malloc/free, getpid and
 * pthread_create+join of an empty thread, in
 * one program built three ways (Makefile): plain gcc (native Linux), mv-cc
 * (the HRT without overrides) and mv-cc --mv-override=all (the HRT with
 * them). It also times the system-call forms (syscall(2)), which in the HRT
 * are the forwarded path. Prints one "RESULT {json}" line. Medians of
 * BATCHES batches, each sized to take ~20 ms. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef MV
#include <mv/hrt.h>
#endif

#define BATCHES 9

static double now_ns(void)
{
	struct timespec t;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t); /* the same ROS clock in every build */
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Keeps a value alive without a store: under TCG a store to a global on
 * every iteration made HRT loops 20x slower (4.5 us vs 0.18 us per
 * malloc/free pair), which measured the emulator, not the call. */
#define KEEP(x) __asm__ volatile("" ::"r"(x) : "memory")

/* Runs BODY n times per batch; n is picked so a batch takes ~20 ms. */
#define MEASURE(out, BODY)                                                     \
	do {                                                                   \
		double v[BATCHES], t0 = now_ns();                              \
		long n = 16;                                                   \
		for (long i = 0; i < n; i++) { BODY; }                         \
		double one = (now_ns() - t0) / n;                              \
		n = (long)(20e6 / (one > 1 ? one : 1));                        \
		if (n < 20) n = 20;                                            \
		for (int b = 0; b < BATCHES; b++) {                            \
			t0 = now_ns();                                         \
			for (long i = 0; i < n; i++) { BODY; }                 \
			v[b] = (now_ns() - t0) / n;                            \
		}                                                              \
		qsort(v, BATCHES, sizeof *v, cmp_d);                           \
		out = v[BATCHES / 2];                                          \
	} while (0)

static void *empty(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	const char *setting = argc > 1 ? argv[1] : "?";
	struct timespec ts;
	double cg, cg_sys, mf, mix, gp, gp_sys, th;
	pthread_t t;
	void *blocks[32];

	MEASURE(cg, clock_gettime(CLOCK_MONOTONIC, &ts));
	MEASURE(cg_sys, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
	MEASURE(mf, void *p = malloc(64); KEEP(p); free(p));
	/* 32 blocks of 16 B .. 4 KiB, then freed: per malloc+free pair. */
	MEASURE(mix, for (int k = 0; k < 32; k++) blocks[k] = malloc(16u << (k % 9)); KEEP(blocks[7]);
		for (int k = 0; k < 32; k++) free(blocks[k]));
	mix /= 32;
	MEASURE(gp, pid_t p = getpid(); KEEP(p));
	MEASURE(gp_sys, long p = syscall(SYS_getpid); KEEP(p));
	/* With the pthread_create override an HRT-native thread; without, an
	 * ordinary HRT thread (a forwarded clone: partner + vCPU boot). */
	MEASURE(th, if (pthread_create(&t, NULL, empty, NULL) == 0) pthread_join(t, NULL));
	printf("RESULT {\"setting\":\"%s\",\"clock_gettime\":%.1f,\"clock_gettime_syscall\":%.1f,"
	       "\"malloc_free\":%.1f,\"malloc_free_mix\":%.1f,\"getpid\":%.1f,\"getpid_syscall\":%.1f,"
	       "\"thread_create_join\":%.1f",
	       setting, cg, cg_sys, mf, mix, gp, gp_sys, th);
#ifdef MV
	printf(",\"in_hrt\":%d,\"served\":{\"clock_gettime\":%ld,\"malloc\":%ld,\"free\":%ld,\"getpid\":%ld,"
	       "\"pthread_create\":%ld}", mv_in_hrt(), mv_override_count("clock_gettime"), mv_override_count("malloc"),
	       mv_override_count("free"), mv_override_count("getpid"), mv_override_count("pthread_create"));
#endif
	printf("}\n");
	return 0;
}
