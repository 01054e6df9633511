/* svc_arena.c - the HRT malloc arena (see nk/arena.h). Segregated free
 * lists: 16-byte classes up to 128 bytes, then 4 classes per power of two.
 * Blocks are carved from a bump pointer and go back to their class's list on
 * free; they are never split or merged, so a free and a malloc of the same
 * class are a list pop and push under the lock. */
#include <nk/arena.h>

static struct mv_arena *arena(uint64_t base)
{
	return (struct mv_arena *)base;
}

static void lock(struct mv_arena *a)
{
	while (__atomic_exchange_n(&a->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&a->lock, __ATOMIC_RELAXED))
			__asm__ volatile("pause");
}

static void unlock(struct mv_arena *a)
{
	__atomic_store_n(&a->lock, 0, __ATOMIC_RELEASE);
}

static unsigned bin_of(uint64_t n)
{
	if (n <= 128)
		return n ? (unsigned)((n + 15) / 16 - 1) : 0;
	unsigned b = 63 - (unsigned)__builtin_clzll(n - 1); /* 2^b < n <= 2^(b+1) */
	return 8 + (b - 7) * 4 + (unsigned)(((n - 1) >> (b - 2)) & 3);
}

static uint64_t bin_size(unsigned i)
{
	if (i < 8)
		return (i + 1) * 16ull;
	unsigned b = 7 + (i - 8) / 4, s = (i - 8) % 4;
	return (1ull << b) + ((s + 1ull) << (b - 2));
}

void mv_arena_init(uint64_t base, uint64_t size)
{
	struct mv_arena *a = arena(base);
	a->next = base + 4096;
	a->end = base + size;
	a->magic = MV_ARENA_MAGIC;
}

void *mv_arena_malloc(uint64_t base, size_t n)
{
	struct mv_arena *a = arena(base);
	unsigned i;
	uint64_t p, cap;

	if (n > (1ull << 46))
		return 0;
	i = bin_of(n);
	cap = bin_size(i);
	lock(a);
	p = a->bins[i];
	if (p) {
		a->bins[i] = *(uint64_t *)p;
	} else if (a->next + 16 + cap <= a->end) {
		p = a->next + 16;
		a->next = p + cap;
	}
	if (p)
		a->nr_malloc++;
	unlock(a);
	if (!p)
		return 0; /* full: the caller falls back to glibc */
	struct mv_arena_hdr *h = (struct mv_arena_hdr *)(p - 16);
	h->bin = i;
	h->off = 0;
	h->cap = cap;
	return (void *)p;
}

void *mv_arena_memalign(uint64_t base, size_t align, size_t n)
{
	uint64_t p, q;
	struct mv_arena_hdr *h;

	if (align <= 16)
		return mv_arena_malloc(base, n);
	if (align > (1ull << 30) || n > (1ull << 46))
		return 0;
	p = (uint64_t)mv_arena_malloc(base, n + align);
	if (!p)
		return 0;
	q = (p + align - 1) & ~(uint64_t)(align - 1);
	if (q == p)
		return (void *)p;
	/* An alias header in front of the aligned payload points back. */
	h = (struct mv_arena_hdr *)(q - 16);
	h->bin = MV_ARENA_ALIGNED;
	h->off = (uint32_t)(q - p);
	h->cap = ((struct mv_arena_hdr *)(p - 16))->cap - (q - p);
	return (void *)q;
}

void mv_arena_free(uint64_t base, void *ptr)
{
	struct mv_arena *a = arena(base);
	uint64_t p = (uint64_t)ptr;
	struct mv_arena_hdr *h = (struct mv_arena_hdr *)(p - 16);

	if (h->bin == MV_ARENA_ALIGNED) {
		p -= h->off;
		h = (struct mv_arena_hdr *)(p - 16);
	}
	if (h->bin >= MV_ARENA_BINS)
		return; /* not ours or corrupted: leak rather than spread it */
	lock(a);
	*(uint64_t *)p = a->bins[h->bin];
	a->bins[h->bin] = p;
	a->nr_free++;
	unlock(a);
}

size_t mv_arena_usable(const void *ptr)
{
	return ((const struct mv_arena_hdr *)((uint64_t)ptr - 16))->cap;
}
