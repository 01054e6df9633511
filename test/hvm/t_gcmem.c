/* What a moving garbage collector does to memory (Racket CS's collector maps,
 * unmaps, returns and re-protects segments all the time), while mutator
 * threads keep reading their objects:
 *  - copying between two semispaces: live data copied into segments freshly
 *    mapped (MAP_FIXED) at the addresses the last-but-one collection
 *    unmapped, which must read as zero pages, never old data;
 *  - returning memory: madvise(MADV_DONTNEED) on touched pages reads back zero;
 *  - a big sparse arena reserved with PROT_NONE, committed by mprotect piece
 *    by piece, released with munmap;
 *  - a write barrier by protection: a segment made read-only, a mutator's
 *    write faults into a SIGSEGV handler that records the page and makes it
 *    writable again, and the write then goes through.
 *   ./t_gcmem [THREADS]   all checks, PASS/FAIL (default 3 mutators) */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

#define PG 4096
#define SEG (256 * 1024)
#define NSEG 8
#define ROUNDS 40

struct heap {
	uint64_t *seg[NSEG]; /* each filled with seg_value(gen, i, word) */
	int gen;
};

static struct heap heap;
static pthread_rwlock_t lock;
static _Atomic int stop;
static _Atomic long reads, bad;

static uint64_t value(int gen, int s, size_t w) { return ((uint64_t)gen << 40) ^ ((uint64_t)s << 32) ^ w; }

static void *mutator(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!atomic_load(&stop)) {
		pthread_rwlock_rdlock(&lock);
		int s = (int)(rand_r(&seed) % NSEG);
		size_t w = rand_r(&seed) % (SEG / 8);
		if (heap.seg[s][w] != value(heap.gen, s, w))
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&reads, 1);
		pthread_rwlock_unlock(&lock);
	}
	return NULL;
}

static char *space; /* the semispaces: 2 x NSEG segments, reserved up front */

static uint64_t *new_segment(void *at)
{
	void *p = mmap(at, SEG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* One collection: every segment copied into to-space (the new generation's
 * values), and from-space unmapped. */
static int collect(int round)
{
	int fresh = 1;
	for (int s = 0; s < NSEG; s++) {
		uint64_t *n = new_segment(space + (size_t)((round % 2) * NSEG + s) * SEG);
		if (!n)
			return 0;
		fresh &= n[0] == 0 && n[SEG / 8 - 1] == 0;
		for (size_t w = 0; w < SEG / 8; w++)
			n[w] = heap.seg[s][w] ^ value(heap.gen, s, w) ^ value(heap.gen + 1, s, w);
		munmap(heap.seg[s], SEG);
		heap.seg[s] = n;
	}
	heap.gen++;
	return fresh;
}

static volatile char *barrier_seg;
static _Atomic int barrier_hits;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *a = si->si_addr;
	if (a >= barrier_seg && a < barrier_seg + SEG) {
		atomic_fetch_add(&barrier_hits, 1);
		mprotect((void *)((uintptr_t)a & ~(uintptr_t)(PG - 1)), PG, PROT_READ | PROT_WRITE);
		return; /* the write is retried and goes through */
	}
	_exit(99);
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 3, fresh = 1;
	pthread_t t[16];
	pthread_rwlockattr_t ra;

	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&lock, &ra);
	if (nthreads < 1 || nthreads > 16)
		nthreads = 3;
	space = mmap(NULL, 2 * NSEG * SEG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(space != MAP_FAILED);
	for (int s = 0; s < NSEG; s++) {
		heap.seg[s] = new_segment(space + (size_t)s * SEG);
		for (size_t w = 0; w < SEG / 8; w++)
			heap.seg[s][w] = value(0, s, w);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, mutator, (void *)(uintptr_t)(i + 1));
	for (int r = 1; r <= ROUNDS; r++) {
		pthread_rwlock_wrlock(&lock);
		fresh &= collect(r);
		pthread_rwlock_unlock(&lock);
		usleep(500);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("gcmem: %d mutators, %d collections of %d segments, bad reads %ld\n", nthreads, ROUNDS, NSEG, atomic_load(&bad));
	CHECK(atomic_load(&bad) == 0 && atomic_load(&reads) > 0);
	CHECK(fresh); /* remapped addresses came back as zero pages, never old data */

	/* Memory returned with MADV_DONTNEED reads back as zero; neighbours keep theirs. */
	char *d = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(d, 0x5a, 64 * PG);
	CHECK(madvise(d + 16 * PG, 32 * PG, MADV_DONTNEED) == 0);
	CHECK(d[16 * PG] == 0 && d[48 * PG - 1] == 0 && d[16 * PG - 1] == 0x5a && d[48 * PG] == 0x5a);
	memset(d + 16 * PG, 0x33, PG);
	CHECK(d[16 * PG + 5] == 0x33);
	munmap(d, 64 * PG);

	/* A 1 GiB reservation, committed 1 MiB at a time by mprotect, touched, decommitted. */
	size_t big = 1ull << 30, step = 1 << 20;
	char *arena = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int committed = 0;
	CHECK(arena != MAP_FAILED);
	for (size_t off = 0; off < big; off += 64 * step) {
		if (mprotect(arena + off, step, PROT_READ | PROT_WRITE) != 0)
			break;
		arena[off] = 1;
		arena[off + step - 1] = 2;
		committed += arena[off] + arena[off + step - 1] == 3;
		mprotect(arena + off, step, PROT_NONE);
		madvise(arena + off, step, MADV_DONTNEED);
	}
	CHECK(committed == (int)(big / (64 * step)));
	CHECK(munmap(arena, big) == 0);

	/* A write barrier by protection: 8 writes into a read-only segment, each
	 * into a new page, fault once each and then go through. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	barrier_seg = (volatile char *)new_segment(NULL);
	barrier_seg[0] = 1;
	mprotect((void *)barrier_seg, SEG, PROT_READ);
	for (int i = 0; i < 8; i++)
		barrier_seg[i * 8 * PG + 17] = (char)(i + 1);
	int sum = 0;
	for (int i = 0; i < 8; i++)
		sum += barrier_seg[i * 8 * PG + 17];
	printf("barrier: %d faults for 8 writes into 8 pages, sum %d\n", atomic_load(&barrier_hits), sum);
	CHECK(atomic_load(&barrier_hits) == 8 && sum == 36);
	DONE("t_gcmem");
}
