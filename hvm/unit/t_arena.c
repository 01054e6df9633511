/* t_arena.c - the HRT malloc arena (nautilus/src/svc_arena.c): its size
 * classes, reuse through the free lists, alignment, a full arena. The file
 * is included, not linked, so the static bin_of/bin_size are in reach. The
 * arena lives in one malloc'd buffer of its exact size: ASan reports any
 * block carved past its end. */
#define _GNU_SOURCE
#include "../../nautilus/src/svc_arena.c"
#include "unit.h"

struct arena_buf {
	void *mem;
	uint64_t base, size;
};

static struct arena_buf arena_new(uint64_t size)
{
	struct arena_buf a = { aligned_alloc(4096, size), 0, size };
	CHECK(a.mem);
	memset(a.mem, 0, size); /* mv_arena_init expects fresh anonymous memory: lock, lists, counters 0 */
	a.base = (uint64_t)a.mem;
	mv_arena_init(a.base, size);
	return a;
}

static struct mv_arena_hdr *hdr(void *p)
{
	return (struct mv_arena_hdr *)((uint64_t)p - 16);
}

/* --- size classes ------------------------------------------------------- */

static void classes_small(void)
{
	CHECK_EQ(bin_of(0), 0);
	CHECK_EQ(bin_of(1), 0);
	CHECK_EQ(bin_of(16), 0);
	CHECK_EQ(bin_of(17), 1);
	CHECK_EQ(bin_of(128), 7);
	CHECK_EQ(bin_of(129), 8); /* the first of 4 per power of two: 160 */
	CHECK_EQ(bin_size(8), 160);
	CHECK_EQ(bin_size(11), 256);
	CHECK_EQ(bin_of(256), 11);
	CHECK_EQ(bin_of(257), 12);
	CHECK_EQ(bin_size(12), 320);
}

/* n fits its class, and would not fit the one below: the tightest class. */
static void check_class(uint64_t n)
{
	unsigned i = bin_of(n);
	if (i >= MV_ARENA_BINS || bin_size(i) < n || (n && i && bin_size(i - 1) >= n))
		unit_fail(__FILE__, __LINE__, "%" PRIu64 " bytes: class %u of %" PRIu64 " (below: %" PRIu64 ")", n, i,
			  i < MV_ARENA_BINS ? bin_size(i) : 0, i ? bin_size(i - 1) : 0);
}

static void classes_tight_up_to_1mib(void)
{
	for (uint64_t n = 0; n <= (1 << 20); n++)
		check_class(n);
}

static void classes_tight_to_the_limit(void)
{
	for (int b = 7; b <= 46; b++) /* every power of two up to the largest request, and its neighbours */
		for (int64_t d = -17; d <= 17; d++)
			check_class((uint64_t)((int64_t)(1ULL << b) + d));
	CHECK(bin_of(1ULL << 46) < MV_ARENA_BINS);
}

static void classes_round_trip_and_align(void)
{
	for (unsigned i = 0; i < MV_ARENA_BINS; i++) {
		CHECK_EQ(bin_of(bin_size(i)), i);
		CHECK_EQ(bin_size(i) % 16, 0); /* so every payload stays 16-byte aligned */
		if (i)
			CHECK(bin_size(i) > bin_size(i - 1));
	}
}

/* --- malloc and free ------------------------------------------------------ */

static void malloc_header_and_alignment(void)
{
	struct arena_buf a = arena_new(1 << 20);
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 128, 129, 1000, 4096, 65537 };

	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		void *p = mv_arena_malloc(a.base, sizes[k]);
		CHECK(p);
		CHECK_EQ((uint64_t)p % 16, 0);
		CHECK_EQ(hdr(p)->bin, bin_of(sizes[k]));
		CHECK_EQ(mv_arena_usable(p), bin_size(bin_of(sizes[k])));
		CHECK((uint64_t)p >= a.base + 4096 + 16); /* the first page is the arena's state */
		CHECK((uint64_t)p + mv_arena_usable(p) <= a.base + a.size);
		memset(p, 0x5a, mv_arena_usable(p));
	}
	CHECK_EQ(((struct mv_arena *)a.mem)->nr_malloc, sizeof sizes / sizeof *sizes);
	free(a.mem);
}

static void free_then_reuse(void)
{
	struct arena_buf a = arena_new(1 << 20);
	void *p = mv_arena_malloc(a.base, 100), *q = mv_arena_malloc(a.base, 100);
	void *big = mv_arena_malloc(a.base, 1000);

	CHECK(p && q && big && p != q);
	mv_arena_free(a.base, p);
	mv_arena_free(a.base, q);
	CHECK(mv_arena_malloc(a.base, 200) != q); /* another class: not from this list */
	CHECK(mv_arena_malloc(a.base, 97) == q);  /* same class, last freed first */
	CHECK(mv_arena_malloc(a.base, 112) == p);
	CHECK_EQ(((struct mv_arena *)a.mem)->nr_free, 2);
	free(a.mem);
}

/* Random sizes, each block filled with its own byte: no two overlap. */
static void blocks_disjoint(void)
{
	enum { N = 3000 };
	struct arena_buf a = arena_new(64 << 20);
	static unsigned char *blk[N];
	static size_t len[N];
	uint64_t seed = 7;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			if (blk[i] && (seed >> 40) % 3 == 0) {
				mv_arena_free(a.base, blk[i]);
				blk[i] = NULL;
			}
			if (!blk[i]) {
				len[i] = (size_t)(seed >> 50) % (seed >> 63 ? 5000 : 200);
				CHECK(blk[i] = mv_arena_malloc(a.base, len[i]));
				CHECK(mv_arena_usable(blk[i]) >= len[i]);
				memset(blk[i], i & 0xff, mv_arena_usable(blk[i]));
			}
		}
		for (int i = 0; i < N; i++)
			for (size_t k = 0; k < mv_arena_usable(blk[i]); k++)
				if (blk[i][k] != (i & 0xff))
					unit_fail(__FILE__, __LINE__, "round %d: block %d byte %zu overwritten", round,
						  i, k);
	}
	free(a.mem);
}

static void full_arena_returns_null(void)
{
	struct arena_buf a = arena_new(64 << 10);
	int n = 0;
	void *p;

	while ((p = mv_arena_malloc(a.base, 1000)) != NULL) {
		memset(p, 1, 1000);
		n++;
	}
	CHECK_EQ(n, ((64 << 10) - 4096) / (1024 + 16)); /* 60 KiB after the state page, 1040 bytes a block */
	CHECK(mv_arena_malloc(a.base, 16) != NULL);	/* a smaller block still fits the rest */
	free(a.mem);
}

static void huge_requests_refused(void)
{
	struct arena_buf a = arena_new(64 << 10);
	CHECK(mv_arena_malloc(a.base, (1ULL << 46) + 1) == NULL);
	CHECK(mv_arena_malloc(a.base, SIZE_MAX) == NULL);
	CHECK(mv_arena_malloc(a.base, 1ULL << 46) == NULL); /* a class exists, the room does not */
	CHECK(mv_arena_memalign(a.base, 1ULL << 31, 16) == NULL);
	CHECK(mv_arena_memalign(a.base, 64, SIZE_MAX - 32) == NULL);
	CHECK_EQ(((struct mv_arena *)a.mem)->next, a.base + 4096); /* nothing carved */
	free(a.mem);
}

/* --- memalign ----------------------------------------------------------------- */

static void memalign_aligned_alias(void)
{
	struct arena_buf a = arena_new(1 << 20);
	void *p;

	CHECK_EQ(hdr(mv_arena_memalign(a.base, 16, 50))->bin, bin_of(50)); /* <= 16: a plain block */
	for (size_t align = 32; align <= 8192; align *= 2) {
		p = mv_arena_memalign(a.base, align, 100);
		CHECK(p);
		CHECK_EQ((uint64_t)p % align, 0);
		CHECK(mv_arena_usable(p) >= 100);
		memset(p, 3, mv_arena_usable(p));
		if (hdr(p)->bin == MV_ARENA_ALIGNED) {
			void *real = (char *)p - hdr(p)->off;
			CHECK_EQ(hdr(real)->bin, bin_of(100 + align));
			CHECK_EQ((uint64_t)p + mv_arena_usable(p), (uint64_t)real + mv_arena_usable(real));
			mv_arena_free(a.base, p); /* frees the real block */
			CHECK(mv_arena_malloc(a.base, 100 + align) == real);
		}
	}
	free(a.mem);
}

static void free_foreign_header_ignored(void)
{
	struct arena_buf a = arena_new(1 << 20);
	struct mv_arena *s = a.mem;
	unsigned char fake[64] __attribute__((aligned(16)));
	uint64_t bins[MV_ARENA_BINS];

	memset(fake, 0, sizeof fake);
	((struct mv_arena_hdr *)fake)->bin = MV_ARENA_BINS; /* not a class */
	memcpy(bins, s->bins, sizeof bins);
	mv_arena_free(a.base, fake + 16);
	CHECK(memcmp(bins, s->bins, sizeof bins) == 0);
	CHECK_EQ(s->nr_free, 0);
	free(a.mem);
}

UNIT_MAIN("arena", CASE(classes_small), CASE(classes_tight_up_to_1mib), CASE(classes_tight_to_the_limit),
	  CASE(classes_round_trip_and_align), CASE(malloc_header_and_alignment), CASE(free_then_reuse),
	  CASE(blocks_disjoint), CASE(full_arena_returns_null), CASE(huge_requests_refused),
	  CASE(memalign_aligned_alias), CASE(free_foreign_header_ignored))
