/* What a JIT does to memory (Racket CS's Chez Scheme writes all its code into
 * writable+executable pages): code generated into RWX mappings, run by
 * several threads at once, replaced in place, unmapped and remapped at the
 * same address with new code, moved by mremap, and the W^X style (write RW,
 * mprotect to RX, call). Every thread must always run the code that is in the
 * mapping now, never a stale copy, and never fault on a live mapping.
 *   ./t_jit [THREADS]   all checks, PASS/FAIL (default 4 threads) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

#define PG 4096
#define SLOTS 64         /* functions per code page set */
#define CODE (4 * PG)    /* one code area: SLOTS functions spread over 4 pages */
#define ROUNDS 200

typedef int (*fn_t)(int);

/* fn(x) = x + k:  lea eax, [rdi + k]; ret */
static void emit_add(unsigned char *p, int32_t k)
{
	static const unsigned char lea[] = { 0x8d, 0x87 };
	memcpy(p, lea, sizeof lea);
	memcpy(p + 2, &k, 4);
	p[6] = 0xc3;
}

static unsigned char *code;            /* the current code area */
static _Atomic int generation;         /* bumped after each rewrite, under the lock */
static pthread_rwlock_t lock; /* writer-preferring: the callers never let go otherwise */
static _Atomic int stop;
static _Atomic long calls, wrong;

static int slot_offset(int i) { return (i % 4) * PG + (i / 4) * 64; }

/* k for slot i of generation g: every rewrite changes every function */
static int32_t k_of(int g, int i) { return g * 1000 + i; }

static void *caller(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!atomic_load(&stop)) {
		pthread_rwlock_rdlock(&lock);
		int g = atomic_load(&generation), i = (int)(rand_r(&seed) % SLOTS);
		int got = ((fn_t)(void *)(code + slot_offset(i)))(5);
		if (got != 5 + k_of(g, i))
			atomic_fetch_add(&wrong, 1);
		atomic_fetch_add(&calls, 1);
		pthread_rwlock_unlock(&lock);
	}
	return NULL;
}

static void fill(unsigned char *area, int g)
{
	for (int i = 0; i < SLOTS; i++)
		emit_add(area + slot_offset(i), k_of(g, i));
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 4;
	pthread_t t[16];
	int g = 0, remaps = 0, moves = 0, wx = 0;

	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&lock, &ra);
	if (nthreads < 1 || nthreads > 16)
		nthreads = 4;
	/* Address space of our own for the moves: 3 places for the code area. */
	unsigned char *base = mmap(NULL, 3 * 64 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int place = 0;
	CHECK(base != MAP_FAILED);
	code = mmap(base, CODE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(code == base);
	fill(code, g);
	CHECK(((fn_t)(void *)code)(1) == 1 + k_of(0, 0));
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, caller, (void *)(uintptr_t)(i + 1));

	for (int r = 1; r <= ROUNDS; r++) {
		pthread_rwlock_wrlock(&lock);
		switch (r % 4) {
		case 0: /* rewrite in place, RWX all along */
			fill(code, r);
			break;
		case 1: { /* unmap, remap the same address, new code */
			void *at = code;
			munmap(code, CODE);
			code = mmap(at, CODE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (code == MAP_FAILED)
				abort();
			remaps += code[0] == 0; /* fresh zero pages, not the old code */
			fill(code, r);
			break;
		}
		case 2: { /* W^X: writable without exec, then executable without write */
			mprotect(code, CODE, PROT_READ | PROT_WRITE);
			fill(code, r);
			mprotect(code, CODE, PROT_READ | PROT_EXEC);
			wx++;
			break;
		}
		case 3: { /* move the code elsewhere (a compacting collector) */
			mprotect(code, CODE, PROT_READ | PROT_WRITE | PROT_EXEC);
			place = (place + 1) % 3;
			unsigned char *n = mremap(code, CODE, CODE, MREMAP_MAYMOVE | MREMAP_FIXED, base + place * 64 * PG);
			if (n == MAP_FAILED)
				abort();
			code = n;
			fill(code, r);
			moves++;
			break;
		}
		}
		atomic_store(&generation, r);
		pthread_rwlock_unlock(&lock);
		usleep(200);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	g = atomic_load(&generation);
	CHECK(g == ROUNDS);
	CHECK(remaps == ROUNDS / 4);
	CHECK(moves == ROUNDS / 4 && wx == ROUNDS / 4);
	printf("jit: %d threads, %d rewrites of %d functions, wrong results %ld\n", nthreads, ROUNDS, SLOTS,
	       atomic_load(&wrong));
	CHECK(atomic_load(&wrong) == 0);
	CHECK(atomic_load(&calls) > 0);
	DONE("t_jit");
}
