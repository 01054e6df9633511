/* The malloc override: malloc/free/calloc/realloc/posix_memalign/
 * aligned_alloc from the HRT arena give what glibc gives (sizes, contents,
 * zeroing, alignment, errno), with threads too; a glibc block from before
 * main is freed by glibc; arena blocks freed and realloc'ed after main (in
 * an atexit handler, in the ROS) are handled. Served in the HRT (counted);
 * natively nothing is counted. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mv/hrt.h>
#include "check.h"

/* Counter checks differ by mode on purpose: kept out of the "ok" lines. */
#define CHECK_COUNT(c) do { if (c) printf("counts ok\n"); \
	else { printf("FAIL counts %s:%d: %s\n", __FILE__, __LINE__, #c); check_failures++; } } while (0)

static char *before_main;
static char *for_atexit[3];

__attribute__((constructor)) static void early(void)
{
	before_main = malloc(1000); /* in the ROS: glibc's */
	strcpy(before_main, "from the constructor");
}

static void at_exit(void)
{
	/* Runs in the ROS after main returned: arena blocks must not reach
	 * glibc's free/realloc. */
	for_atexit[1] = realloc(for_atexit[1], 100000);
	int ok = for_atexit[1] && for_atexit[1][0] == 'b' && for_atexit[1][499] == 'b';
	free(for_atexit[0]);
	free(for_atexit[1]);
	free(for_atexit[2]);
	printf("atexit: frees and realloc after main: %s\n", ok ? "ok" : "FAIL");
}

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg, bad = 0;
	char *v[64] = { 0 };
	for (int it = 0; it < 2000; it++) {
		int k = (int)((it * 7 + id) % 64);
		if (v[k]) {
			bad += (unsigned char)v[k][0] != (unsigned char)(k + id);
			free(v[k]);
		}
		size_t n = 16 + (size_t)((it * 131 + id * 17) % 3000);
		v[k] = malloc(n);
		memset(v[k], (int)(k + id), n);
	}
	for (int k = 0; k < 64; k++)
		free(v[k]);
	return (void *)bad;
}

int main(void)
{
	CHECK(strcmp(before_main, "from the constructor") == 0);
	free(before_main);
	/* Sizes from 0 to 256 MiB: usable size, contents. */
	int ok = 1;
	for (size_t sz = 0; sz <= (256u << 20); sz = sz ? sz * 4 : 1) {
		unsigned char *p = malloc(sz);
		if (!p) { ok = 0; continue; }
		ok &= malloc_usable_size(p) >= sz && ((uintptr_t)p & 15) == 0;
		for (size_t i = 0; i < sz; i += 4096)
			p[i] = (unsigned char)(i >> 12);
		if (sz)
			p[sz - 1] = 0x5a;
		for (size_t i = 0; i + 1 < sz; i += 4096)
			ok &= p[i] == (unsigned char)(i >> 12);
		ok &= !sz || p[sz - 1] == 0x5a;
		free(p);
	}
	CHECK(ok);
	/* calloc zeroes a reused block. */
	char *a = malloc(3000);
	memset(a, 0xff, 3000);
	free(a);
	char *z = calloc(1, 3000);
	int zero = 1;
	for (int i = 0; i < 3000; i++)
		zero &= z[i] == 0;
	CHECK(zero);
	free(z);
	volatile size_t huge = SIZE_MAX / 2; /* volatile: gcc rejects a constant overflow */
	errno = 0;
	CHECK(calloc(huge, 4) == NULL && errno == ENOMEM);
	/* realloc keeps contents while growing and shrinking; NULL and 0. */
	char *r = realloc(NULL, 10);
	memcpy(r, "0123456789", 10);
	for (size_t n = 20; n < 2000000; n *= 3)
		r = realloc(r, n);
	r = realloc(r, 5);
	CHECK(r && memcmp(r, "01234", 5) == 0);
	free(r);
	/* Alignment. */
	int aligned = 1;
	for (size_t al = 16; al <= (1u << 20); al *= 4) {
		void *p = NULL;
		aligned &= posix_memalign(&p, al, 100) == 0 && ((uintptr_t)p % al) == 0;
		memset(p, 1, 100);
		free(p);
		p = aligned_alloc(al, 3 * al);
		aligned &= p && ((uintptr_t)p % al) == 0;
		memset(p, 2, 3 * al);
		free(p);
	}
	CHECK(aligned);
	void *bad = NULL;
	CHECK(posix_memalign(&bad, 24, 100) == EINVAL);
	free(NULL);
	/* Many small blocks, then a realloc storm (t_malloc's pattern). */
	char *v[1000];
	for (int i = 0; i < 1000; i++) {
		v[i] = malloc(100 + i);
		memset(v[i], i & 0xff, 100 + i);
	}
	for (int i = 0; i < 1000; i++)
		v[i] = realloc(v[i], 5000);
	int good = 1;
	for (int i = 0; i < 1000; i++) {
		good &= (unsigned char)v[i][99] == (i & 0xff);
		free(v[i]);
	}
	CHECK(good);
	/* Threads allocate and free at once. */
	pthread_t th[4];
	uintptr_t errs = 0;
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *e;
		pthread_join(th[i], &e);
		errs += (uintptr_t)e;
	}
	CHECK(errs == 0);
	/* strdup allocates inside glibc (not wrapped in a dynamic program):
	 * free() must still give it back to the right allocator. */
	char *d = strdup("dup");
	CHECK(strcmp(d, "dup") == 0);
	free(d);
	for (int i = 0; i < 3; i++) {
		for_atexit[i] = malloc(500);
		memset(for_atexit[i], 'a' + i, 500);
	}
	atexit(at_exit);
	long m = mv_override_count("malloc"), f = mv_override_count("free");
	if (mv_in_hrt())
		CHECK_COUNT(m > 1000 && f > 1000 && mv_override_count("calloc") >= 1 && mv_override_count("realloc") >= 1 &&
		      mv_override_count("posix_memalign") >= 1 && mv_override_count("aligned_alloc") >= 1);
	else
		CHECK_COUNT(m == 0 && f == 0);
	printf("mode: %s, served in the HRT: malloc %ld, free %ld\n", mv_in_hrt() ? "hrt" : "native", m, f);
	DONE("t_ov_malloc");
}
