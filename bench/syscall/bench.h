/* bench.h - clock, median and thread helpers shared by driver.c and hrt.c. */
#ifndef BENCH_H
#define BENCH_H
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static inline double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void *bench_empty(void *arg)
{
	return arg;
}

/* Median create+join of an empty thread made by `create` (pthread_create, or
 * mv_hrt_thread_create in hrt.c), in batches of 8: two clock reads per batch,
 * forwarded calls in the HRT. The first batch (a vCPU's creation) is a warm-up.
 * -1 if a create or join fails. */
typedef int (*bench_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static inline double thread_us(bench_create_fn create, int runs)
{
	enum { PER = 8 };
	double v[64];
	if (runs > 64)
		runs = 64;
	for (int i = -1; i < runs; i++) {
		double t0 = now_us();
		for (int k = 0; k < PER; k++) {
			pthread_t t;
			if (create(&t, NULL, bench_empty, NULL) != 0 || pthread_join(t, NULL) != 0)
				return -1;
		}
		if (i >= 0)
			v[i] = (now_us() - t0) / PER;
	}
	return median(v, runs);
}
#endif
