/* t_vma.c - the VMA table (src/vma.c): insert, split, trim, remove, lookups,
 * the table growing, /proc/self/maps lines. mv__raw_syscall's mmap and
 * mremap are served from malloc here, with exactly the size asked for, so
 * ASan reports any write past the table's capacity. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include "mv.h"
#include "unit.h"

#define P(n) ((uint64_t)(n)*MV_PAGE)
#define R    MV_PROT_R
#define RW   (MV_PROT_R | MV_PROT_W)
#define RX   (MV_PROT_R | MV_PROT_X)
#define RWX  (MV_PROT_R | MV_PROT_W | MV_PROT_X)

/* --- the stub: raw mmap/mremap from malloc, and a way to make them fail ---- */

static int grows, fail_grow; /* calls so far; fail from this call on (0: never) */

long mv__raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	void *p;

	(void)a4, (void)a5, (void)a6;
	if (fail_grow && ++grows >= fail_grow)
		return -ENOMEM;
	switch (nr) {
	case SYS_mmap: return (p = malloc((size_t)a2)) ? (long)p : -ENOMEM;
	case SYS_mremap:
		if (!(p = malloc((size_t)a3)))
			return -ENOMEM;
		memcpy(p, (void *)a1, (size_t)a2);
		free((void *)a1);
		return (long)p;
	}
	unit_fail(__FILE__, __LINE__, "unexpected system call %ld", nr);
}

/* --- helpers -------------------------------------------------------------- */

static struct mv_vm *vm_new(void)
{
	struct mv_vm *vm = calloc(1, sizeof *vm);
	CHECK(vm);
	return vm;
}

static void vm_free(struct mv_vm *vm)
{
	free(vm->vmas);
	free(vm);
}

/* The table as text: "1000-3000:rw-,5000-6000:r--" (s marks MV_VMA_STACK). */
static const char *dump(struct mv_vm *vm)
{
	static char buf[4096];
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < vm->nvmas && n < sizeof buf - 64; i++) {
		const struct mv_vma *m = &vm->vmas[i];
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%" PRIx64 "-%" PRIx64 ":%c%c%c%s", i ? "," : "",
				      m->start, m->end, m->prot & MV_PROT_R ? 'r' : '-',
				      m->prot & MV_PROT_W ? 'w' : '-', m->prot & MV_PROT_X ? 'x' : '-',
				      m->flags & MV_VMA_STACK ? "s" : "");
	}
	return buf;
}

/* The invariant vma.c states: sorted, disjoint, non-empty entries with access. */
static void check_invariant(struct mv_vm *vm, int line)
{
	if (vm->nvmas < 0 || vm->nvmas > vm->vmas_cap)
		unit_fail(__FILE__, line, "nvmas %d, capacity %d", vm->nvmas, vm->vmas_cap);
	for (int i = 0; i < vm->nvmas; i++) {
		const struct mv_vma *m = &vm->vmas[i];
		if (m->start >= m->end || !m->prot || (i && vm->vmas[i - 1].end > m->start))
			unit_fail(__FILE__, line, "entry %d breaks the invariant: %s", i, dump(vm));
	}
}

#define SET(vm, s, e, prot)                                   \
	do {                                                  \
		CHECK_EQ(mem__vma_set(vm, s, e, prot, 0), 0); \
		check_invariant(vm, __LINE__);                \
	} while (0)
#define TABLE(vm, want) CHECK_STR(dump(vm), want)

/* --- insert, split, trim, remove ------------------------------------------ */

static void insert_into_empty(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(3), RW);
	TABLE(vm, "1000-3000:rw-");
	vm_free(vm);
}

static void insert_keeps_order(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(10), P(12), R);
	SET(vm, P(1), P(2), RX);   /* before */
	SET(vm, P(20), P(21), RW); /* after */
	SET(vm, P(5), P(6), RWX);  /* between */
	TABLE(vm, "1000-2000:r-x,5000-6000:rwx,a000-c000:r--,14000-15000:rw-");
	vm_free(vm);
}

static void split_middle(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(9), RW);
	SET(vm, P(4), P(6), R); /* mprotect inside one mapping: three pieces */
	TABLE(vm, "1000-4000:rw-,4000-6000:r--,6000-9000:rw-");
	vm_free(vm);
}

static void split_at_start_edge(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(9), RW);
	SET(vm, P(1), P(3), R); /* same start: no piece in front */
	TABLE(vm, "1000-3000:r--,3000-9000:rw-");
	vm_free(vm);
}

static void split_at_end_edge(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(9), RW);
	SET(vm, P(7), P(9), RX); /* same end: no piece behind */
	TABLE(vm, "1000-7000:rw-,7000-9000:r-x");
	vm_free(vm);
}

static void split_keeps_flags(void)
{
	struct mv_vm *vm = vm_new();
	CHECK_EQ(mem__vma_set(vm, P(1), P(9), RW, MV_VMA_STACK), 0);
	SET(vm, P(4), P(5), R); /* the new piece gets the caller's flags (0) */
	TABLE(vm, "1000-4000:rw-s,4000-5000:r--,5000-9000:rw-s");
	vm_free(vm);
}

static void trim_straddling_both_ends(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(4), R);
	SET(vm, P(6), P(9), RW);
	SET(vm, P(3), P(7), RX); /* overlaps the end of one and the start of the next */
	TABLE(vm, "1000-3000:r--,3000-7000:r-x,7000-9000:rw-");
	vm_free(vm);
}

static void replace_several(void)
{
	struct mv_vm *vm = vm_new();
	for (int i = 0; i < 8; i++)
		SET(vm, P(2 * i), P(2 * i + 1), R);
	SET(vm, P(1), P(13), RW); /* swallows 6 whole entries, trims none */
	TABLE(vm, "0-1000:r--,1000-d000:rw-,e000-f000:r--");
	vm_free(vm);
}

static void remove_whole(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(2), R);
	SET(vm, P(3), P(4), RW);
	SET(vm, P(5), P(6), RX);
	SET(vm, P(3), P(4), 0);
	TABLE(vm, "1000-2000:r--,5000-6000:r-x");
	vm_free(vm);
}

static void remove_middle(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(9), RW);
	SET(vm, P(4), P(6), 0); /* munmap a hole */
	TABLE(vm, "1000-4000:rw-,6000-9000:rw-");
	vm_free(vm);
}

static void remove_spanning_and_absent(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(3), R);
	SET(vm, P(5), P(7), RW);
	SET(vm, P(9), P(11), RX);
	SET(vm, P(20), P(30), 0); /* nothing there: no change */
	TABLE(vm, "1000-3000:r--,5000-7000:rw-,9000-b000:r-x");
	SET(vm, P(2), P(10), 0);
	TABLE(vm, "1000-2000:r--,a000-b000:r-x");
	SET(vm, 0, MV_USER_TOP, 0);
	TABLE(vm, "");
	vm_free(vm);
}

static void neighbours_not_merged(void)
{
	struct mv_vm *vm = vm_new();
	SET(vm, P(1), P(2), RW);
	SET(vm, P(2), P(3), RW); /* touching, same rights: two entries, still found */
	TABLE(vm, "1000-2000:rw-,2000-3000:rw-");
	CHECK(mem__vma_find(vm, P(2)) == &vm->vmas[1]);
	CHECK(mem__vma_find(vm, P(2) - 1) == &vm->vmas[0]);
	vm_free(vm);
}

/* --- lookups ------------------------------------------------------------- */

static void find_boundaries(void)
{
	struct mv_vm *vm = vm_new();
	CHECK(!mem__vma_find(vm, P(1))); /* empty table */
	SET(vm, P(1), P(3), RW);
	SET(vm, P(5), P(6), R);
	CHECK(!mem__vma_find(vm, P(1) - 1));
	CHECK(mem__vma_find(vm, P(1)) == &vm->vmas[0]);
	CHECK(mem__vma_find(vm, P(3) - 1) == &vm->vmas[0]);
	CHECK(!mem__vma_find(vm, P(3))); /* end is exclusive */
	CHECK(!mem__vma_find(vm, P(5) - 1));
	CHECK(mem__vma_find(vm, P(5)) == &vm->vmas[1]);
	CHECK(!mem__vma_find(vm, P(6)));
	CHECK(!mem__vma_find(vm, ~0ULL));
	vm_free(vm);
}

/* Against a model: one prot per page over 192 pages, random changes (fixed
 * seed), the table compared page by page after every one. */
static void random_against_model(void)
{
	static const uint32_t prots[] = { 0, R, RW, RX, RWX };
	enum { NPAGES = 192 };
	uint32_t model[NPAGES] = { 0 };
	uint64_t seed = 20;
	struct mv_vm *vm = vm_new();

	for (int op = 0; op < 4000; op++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned a = (unsigned)(seed >> 33) % NPAGES, b = (unsigned)(seed >> 45) % NPAGES;
		uint32_t prot = prots[(seed >> 20) % 5];
		if (a > b) {
			unsigned t = a;
			a = b;
			b = t;
		}
		b++;
		SET(vm, P(a), P(b), prot);
		for (unsigned p = a; p < b; p++)
			model[p] = prot;
		for (unsigned p = 0; p < NPAGES; p++) {
			const struct mv_vma *m = mem__vma_find(vm, P(p) + 123);
			uint32_t got = m ? m->prot : 0;
			if (got != model[p])
				unit_fail(__FILE__, __LINE__,
					  "op %d (set pages %x-%x to %u): page %x has %u, want %u; table %s", op, a, b,
					  prot, p, got, model[p], dump(vm));
		}
	}
	vm_free(vm);
}

/* --- growing ---------------------------------------------------------------- */

static void table_grows(void)
{
	struct mv_vm *vm = vm_new();
	enum { N = 20000 }; /* t_maps's count: past the first 64 KiB (2730 entries) and several doublings */

	for (int i = 0; i < N; i++)
		CHECK_EQ(mem__vma_set(vm, P(2 * i), P(2 * i + 1), i & 1 ? R : RW, 0), 0);
	check_invariant(vm, __LINE__);
	CHECK_EQ(vm->nvmas, N);
	CHECK(vm->vmas_cap >= N);
	for (int i = 0; i < N; i++) {
		const struct mv_vma *m = mem__vma_find(vm, P(2 * i));
		CHECK(m && m->start == P(2 * i) && m->prot == (i & 1 ? R : RW));
		CHECK(!mem__vma_find(vm, P(2 * i + 1)));
	}
	vm_free(vm);
}

static void table_grows_inserting_in_front(void)
{
	struct mv_vm *vm = vm_new();
	enum { N = 3000 }; /* past the first 64 KiB: 2730 entries */

	for (int i = N - 1; i >= 0; i--) /* every insert moves the whole table up */
		CHECK_EQ(mem__vma_set(vm, P(2 * i), P(2 * i + 1), RX, 0), 0);
	check_invariant(vm, __LINE__);
	CHECK_EQ(vm->nvmas, N);
	CHECK_EQ(vm->vmas[0].start, 0);
	CHECK_EQ(vm->vmas[N - 1].start, P(2 * (N - 1)));
	vm_free(vm);
}

static void grow_failure_leaves_table(void)
{
	struct mv_vm *vm = vm_new();
	int cap;

	CHECK_EQ(mem__vma_room(vm, 1), 0);
	cap = vm->vmas_cap;
	for (int i = 0; i < cap - 1; i++)
		SET(vm, P(2 * i), P(2 * i + 1), R);
	grows = 0;
	fail_grow = 1;						/* the next mremap fails */
	CHECK_EQ(mem__vma_set(vm, P(1), P(2), RW, 0), -ENOMEM); /* room for two more: cap + 1 */
	CHECK_EQ(vm->nvmas, cap - 1);
	CHECK_EQ(vm->vmas_cap, cap);
	check_invariant(vm, __LINE__);
	fail_grow = 0;
	SET(vm, P(1), P(2), RW); /* now it grows */
	CHECK(vm->vmas_cap > cap);
	vm_free(vm);
}

/* A split in the middle of an entry adds two: with the table one short of
 * full, it must grow first (ASan sees a write past the old capacity). */
static void split_when_nearly_full(void)
{
	struct mv_vm *vm = vm_new();
	int cap;

	CHECK_EQ(mem__vma_room(vm, 1), 0);
	cap = vm->vmas_cap;
	for (int i = 0; i < cap - 1; i++)
		CHECK_EQ(mem__vma_set(vm, P(4 * i), P(4 * i + 3), RW, 0), 0);
	CHECK_EQ(vm->vmas_cap, cap);
	SET(vm, P(4 * 7 + 1), P(4 * 7 + 2), R);
	CHECK_EQ(vm->nvmas, cap + 1);
	CHECK(mem__vma_find(vm, P(4 * 7 + 1))->prot == R);
	CHECK(mem__vma_find(vm, P(4 * (cap - 2)))->prot == RW);
	vm_free(vm);
}

static void grow_doubles(void)
{
	void *buf = NULL;
	size_t size = 0;

	CHECK_EQ(mem__grow(&buf, &size, 1), 0);
	CHECK_EQ(size, 1 << 16); /* the first size */
	memset(buf, 0xa5, size);
	CHECK_EQ(mem__grow(&buf, &size, 1 << 16), 0); /* fits: unchanged */
	CHECK_EQ(size, 1 << 16);
	CHECK_EQ(mem__grow(&buf, &size, (1 << 18) + 1), 0);
	CHECK_EQ(size, 1 << 19);
	CHECK_EQ(((unsigned char *)buf)[(1 << 16) - 1], 0xa5); /* contents kept */
	grows = 0;
	fail_grow = 1;
	CHECK_EQ(mem__grow(&buf, &size, 1 << 20), -ENOMEM);
	CHECK_EQ(size, 1 << 19); /* a failure changes nothing */
	fail_grow = 0;
	free(buf);
}

/* --- rights and /proc/self/maps lines -------------------------------------- */

static void prot_from_linux(void)
{
	CHECK_EQ(mem__prot_from_linux(PROT_NONE), 0);
	CHECK_EQ(mem__prot_from_linux(PROT_READ), R);
	CHECK_EQ(mem__prot_from_linux(PROT_WRITE), RW); /* x86 cannot write without reading */
	CHECK_EQ(mem__prot_from_linux(PROT_EXEC), RX);	/* nor execute */
	CHECK_EQ(mem__prot_from_linux(PROT_READ | PROT_WRITE | PROT_EXEC), RWX);
	CHECK_EQ(mem__prot_from_linux(PROT_GROWSDOWN | PROT_READ), R);
}

static int line(const char *s, struct mv_vma *m)
{
	return mem__maps_line(s, s + strlen(s), m);
}

static void maps_lines(void)
{
	struct mv_vma m;

	CHECK_EQ(line("55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 1234   /usr/bin/cat", &m), 1);
	CHECK_EQ(m.start, 0x55d0c0a00000);
	CHECK_EQ(m.end, 0x55d0c0a21000);
	CHECK_EQ(m.prot, R);
	CHECK_EQ(m.flags, 0);
	CHECK_EQ(line("7f0000001000-7f0000002000 rw-s 00000000 00:05 7 /dev/zero (deleted)", &m), 1);
	CHECK_EQ(m.prot, RW);
	CHECK_EQ(line("7f0000001000-7f0000002000 r-xp 00000000 08:01 99 /lib/libc.so.6", &m), 1);
	CHECK_EQ(m.prot, RX);
	CHECK_EQ(line("7ffc12340000-7ffc12361000 rw-p 00000000 00:00 0                          [stack]", &m), 1);
	CHECK_EQ(m.flags, MV_VMA_STACK);
	CHECK_EQ(line("7f0000003000-7f0000004000 ---p 00000000 00:00 0", &m), 0); /* guard: no access */
	CHECK_EQ(line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]", &m), 0);
	CHECK_EQ(line("7fffffffe000-800000000000 rw-p 00000000 00:00 0", &m), 1); /* ends at the top: kept */
	CHECK_EQ(line("7fffffffe000-800000001000 rw-p 00000000 00:00 0", &m), 0); /* past it: not */
	CHECK_EQ(line("not a mapping", &m), 0);
	CHECK_EQ(line("1000-2000", &m), 0); /* no permissions field */
}

/* The [stack] name only counts on its own line, not the next one's. */
static void maps_line_stops_at_newline(void)
{
	const char *two = "1000-2000 rw-p 00000000 00:00 0\n3000-4000 rw-p 00000000 00:00 0 [stack]\n";
	struct mv_vma m;

	CHECK_EQ(mem__maps_line(two, strchr(two, '\n'), &m), 1);
	CHECK_EQ(m.flags, 0);
}

UNIT_MAIN("vma", CASE(insert_into_empty), CASE(insert_keeps_order), CASE(split_middle), CASE(split_at_start_edge),
	  CASE(split_at_end_edge), CASE(split_keeps_flags), CASE(trim_straddling_both_ends), CASE(replace_several),
	  CASE(remove_whole), CASE(remove_middle), CASE(remove_spanning_and_absent), CASE(neighbours_not_merged),
	  CASE(find_boundaries), CASE(random_against_model), CASE(table_grows), CASE(table_grows_inserting_in_front),
	  CASE(grow_failure_leaves_table), CASE(split_when_nearly_full), CASE(grow_doubles), CASE(prot_from_linux),
	  CASE(maps_lines), CASE(maps_line_stops_at_newline))
