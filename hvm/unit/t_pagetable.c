/* t_pagetable.c - the guest page tables (src/x86_64/pagetable.c) in an
 * in-memory HRT image: the upper half's 2 MiB pages, the user half's 4 KiB
 * PTEs (mapping, rights, unmapping, table boundaries), the pool running out.
 * mem__chunk_gpa (memory.c, a KVM memslot per 1 GiB) is replaced by a table
 * that hands out chunk GPAs in the order chunks are first touched. */
#define _GNU_SOURCE
#include "mv.h"
#include "unit.h"

#define PTE_P	 (1ULL << 0)
#define PTE_W	 (1ULL << 1)
#define PTE_U	 (1ULL << 2)
#define PTE_A	 (1ULL << 5)
#define PTE_D	 (1ULL << 6)
#define PTE_PS	 (1ULL << 7)
#define PTE_NX	 (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL
#define R	 MV_PROT_R
#define RW	 (MV_PROT_R | MV_PROT_W)
#define RX	 (MV_PROT_R | MV_PROT_X)
#define RWX	 (MV_PROT_R | MV_PROT_W | MV_PROT_X)
#define MiB(n)	 ((uint64_t)(n) << 20)
#define GiB(n)	 ((uint64_t)(n) << 30)

/* --- the stub: chunk GPAs without KVM --------------------------------------- */

static uint64_t refuse_chunk = ~0ULL; /* mem__chunk_gpa fails for this chunk */

int mem__chunk_gpa(struct mv_vm *vm, uint64_t va, uint64_t *gpa)
{
	uint64_t cva = va & ~(MV_CHUNK_SIZE - 1);
	int i;

	if (cva == refuse_chunk)
		return -ENOSPC;
	for (i = 0; i < vm->nchunks && vm->chunks[i].va != cva; i++)
		;
	if (i == vm->nchunks) {
		if (i == MV_MAX_CHUNKS)
			return -ENOSPC;
		vm->chunks[i] = (struct mv_chunk){ cva, MV_USER_GPA_BASE + (uint64_t)i * MV_CHUNK_SIZE };
		vm->nchunks++;
	}
	*gpa = vm->chunks[i].gpa + (va - cva);
	return 0;
}

/* --- helpers ---------------------------------------------------------------- */

/* The HRT-private memory up to the end of the page-table pool, exactly: ASan
 * reports a table written outside the pool. */
static struct mv_vm *vm_new(void)
{
	struct mv_vm *vm = calloc(1, sizeof *vm);
	CHECK(vm);
	vm->hrt = aligned_alloc(MV_PAGE, MV_PTPOOL_GPA + MV_PTPOOL_SIZE);
	CHECK(vm->hrt);
	pt__init(vm);
	return vm;
}

static void vm_free(struct mv_vm *vm)
{
	free(vm->hrt);
	free(vm);
}

static uint64_t *table_at(struct mv_vm *vm, uint64_t entry)
{
	uint64_t gpa = entry & PTE_ADDR;
	if (gpa < MV_PTPOOL_GPA || gpa >= MV_PTPOOL_GPA + MV_PTPOOL_SIZE)
		unit_fail(__FILE__, __LINE__, "a table entry points outside the pool: 0x%" PRIx64, entry);
	return (uint64_t *)(vm->hrt + gpa);
}

/* The entry that maps va (a 4 KiB PTE, or a 2 MiB PDE with PS), or 0. *level:
 * the shift of the level it was found at. Checks every non-leaf entry on the way. */
static uint64_t walk(struct mv_vm *vm, uint64_t va, int *level)
{
	uint64_t *t = (uint64_t *)(vm->hrt + vm->pml4_gpa);

	for (int shift = 39; shift >= 12; shift -= 9) {
		uint64_t e = t[(va >> shift) & 511];
		*level = shift;
		if (!(e & PTE_P) || shift == 12 || (e & PTE_PS))
			return e;
		if (e & (PTE_NX | PTE_U) || !(e & PTE_W))
			unit_fail(__FILE__, __LINE__,
				  "non-leaf entry for 0x%" PRIx64 " at level %d is not permissive: 0x%" PRIx64, va,
				  shift, e);
		t = table_at(vm, e);
	}
	return 0;
}

static uint64_t pte(struct mv_vm *vm, uint64_t va)
{
	int level;
	uint64_t e = walk(vm, va, &level);
	if ((e & PTE_P) && level != 12)
		unit_fail(__FILE__, __LINE__, "0x%" PRIx64 " is mapped by a level-%d entry 0x%" PRIx64 ", not a PTE",
			  va, level, e);
	return e;
}

static uint64_t gpa_of(struct mv_vm *vm, uint64_t va)
{
	uint64_t gpa;
	CHECK_EQ(mem__chunk_gpa(vm, va, &gpa), 0);
	return gpa;
}

/* The PTE a mapping with prot must have at va. */
static uint64_t want(struct mv_vm *vm, uint64_t va, uint32_t prot)
{
	uint64_t e = gpa_of(vm, va) | PTE_P | PTE_A;
	if (prot & MV_PROT_W)
		e |= PTE_W | PTE_D;
	if (!(prot & MV_PROT_X))
		e |= PTE_NX;
	return e;
}

/* Every page of [start, end) has the PTE for prot, and the pages just outside have none. */
static void check_mapped(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot, int line)
{
	for (uint64_t va = start; va < end; va += MV_PAGE)
		if (pte(vm, va) != want(vm, va, prot))
			unit_fail(__FILE__, line, "PTE of 0x%" PRIx64 " is 0x%" PRIx64 ", want 0x%" PRIx64, va,
				  pte(vm, va), want(vm, va, prot));
	if (start >= MV_PAGE && pte(vm, start - MV_PAGE))
		unit_fail(__FILE__, line, "the page before 0x%" PRIx64 " is mapped", start);
	if (end < MV_USER_TOP && pte(vm, end))
		unit_fail(__FILE__, line, "the page at the end 0x%" PRIx64 " is mapped", end);
}

#define MAP(vm, s, e, prot)                                 \
	do {                                                \
		CHECK_EQ(pt__map_range(vm, s, e, prot), 0); \
		check_mapped(vm, s, e, prot, __LINE__);     \
	} while (0)

/* --- the upper half ------------------------------------------------------- */

static void upper_half_2mib_pages(void)
{
	struct mv_vm *vm = vm_new();
	uint64_t *pml4 = (uint64_t *)(vm->hrt + vm->pml4_gpa);
	int level;

	CHECK_EQ(vm->pml4_gpa, MV_PTPOOL_GPA);
	for (int i = 0; i < 511; i++)
		CHECK_EQ(pml4[i], 0); /* the user half starts empty */
	for (uint64_t gpa = 0; gpa < MV_HRT_MEM_SIZE; gpa += MiB(2)) {
		uint64_t e = walk(vm, MV_KERNEL_VBASE + gpa + 0x1234, &level);
		CHECK_EQ(level, 21);
		CHECK_EQ(e, gpa | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D); /* supervisor, executable */
	}
	CHECK_EQ(walk(vm, MV_KERNEL_VBASE + MV_HRT_MEM_SIZE, &level), 0); /* nothing past the HRT memory */
	CHECK_EQ(vm->pt_next, MV_PTPOOL_GPA + 3 * MV_PAGE);		  /* PML4, PDPT, PD */
	vm_free(vm);
}

/* --- mapping -------------------------------------------------------------- */

static void map_rights(void)
{
	struct mv_vm *vm = vm_new();
	MAP(vm, MiB(4), MiB(4) + 3 * MV_PAGE, R);
	MAP(vm, MiB(8), MiB(8) + MV_PAGE, RW);
	MAP(vm, MiB(12), MiB(12) + MV_PAGE, RX);
	MAP(vm, MiB(16), MiB(16) + MV_PAGE, RWX);
	CHECK(!(pte(vm, MiB(4)) & (PTE_W | PTE_D | PTE_U)));
	CHECK(pte(vm, MiB(4)) & PTE_NX);
	CHECK(!(pte(vm, MiB(12)) & PTE_NX));
	CHECK(!(pte(vm, MiB(16)) & (PTE_NX | PTE_U)));
	vm_free(vm);
}

static void map_one_page_and_2mib_edges(void)
{
	struct mv_vm *vm = vm_new();
	MAP(vm, MiB(2) - MV_PAGE, MiB(2), RW);		   /* the last page of a table */
	MAP(vm, MiB(6), MiB(6) + MV_PAGE, R);		   /* the first page of another */
	MAP(vm, MiB(10) - MV_PAGE, MiB(10) + MV_PAGE, RX); /* one page each side of a boundary */
	MAP(vm, MiB(20), MiB(22), RW);			   /* exactly one whole table */
	vm_free(vm);
}

static void map_across_boundaries(void)
{
	struct mv_vm *vm = vm_new();
	uint64_t top = MV_USER_TOP - MV_PAGE; /* the last user page is never mapped (memory.c) */

	MAP(vm, MiB(3), MiB(9) + 5 * MV_PAGE, RW);		     /* several page tables */
	MAP(vm, GiB(5) - MiB(1), GiB(5) + MiB(1), R);		     /* a page directory (1 GiB) */
	MAP(vm, GiB(512) - 2 * MV_PAGE, GiB(512) + 2 * MV_PAGE, RX); /* a PML4 entry (512 GiB) */
	MAP(vm, top - MiB(3), top, RW);				     /* the top of the user half */
	CHECK_EQ(pte(vm, top), 0);
	vm_free(vm);
}

/* The chunk GPA is looked up once per 2 MiB: a range whose two 1 GiB chunks
 * got GPAs out of order must still land in each one's own. */
static void map_chunk_per_table(void)
{
	struct mv_vm *vm = vm_new();
	uint64_t g;

	(void)gpa_of(vm, GiB(3)); /* chunk 3 first: GPA base + 0 */
	MAP(vm, GiB(3) - MiB(2) - MV_PAGE, GiB(3) + MiB(2) + MV_PAGE, RW);
	g = gpa_of(vm, GiB(3));
	CHECK_EQ(pte(vm, GiB(3)) & PTE_ADDR, g);
	CHECK_EQ(pte(vm, GiB(3) - MV_PAGE) & PTE_ADDR, gpa_of(vm, GiB(2)) + MV_CHUNK_SIZE - MV_PAGE);
	CHECK(gpa_of(vm, GiB(2)) > g); /* the chunk below got the later GPA */
	vm_free(vm);
}

static void map_again_changes_rights(void)
{
	struct mv_vm *vm = vm_new();
	MAP(vm, MiB(4), MiB(5), R);
	MAP(vm, MiB(4), MiB(5), RWX); /* a fault on a present PTE upgrades it */
	vm_free(vm);
}

static void map_empty_range(void)
{
	struct mv_vm *vm = vm_new();
	uint64_t next = vm->pt_next;
	CHECK_EQ(pt__map_range(vm, MiB(4), MiB(4), RW), 0);
	CHECK_EQ(pte(vm, MiB(4)), 0);
	CHECK_EQ(vm->pt_next, next); /* no table made for nothing */
	vm_free(vm);
}

static void map_chunk_failure(void)
{
	struct mv_vm *vm = vm_new();
	refuse_chunk = GiB(7);
	CHECK_EQ(pt__map_range(vm, GiB(7) - MV_PAGE, GiB(7) + MV_PAGE, RW), -ENOSPC);
	CHECK_EQ(pte(vm, GiB(7)), 0);
	refuse_chunk = ~0ULL;
	vm_free(vm);
}

static void pool_runs_out(void)
{
	struct mv_vm *vm = vm_new();
	int rc = 0, n = 0;

	/* One page in each 2 MiB: a page table each, until the pool is empty. */
	for (uint64_t va = 0; rc == 0 && n < 100000; va += MiB(2), n++)
		rc = pt__map_range(vm, va, va + MV_PAGE, R);
	CHECK_EQ(rc, -ENOMEM);
	CHECK(n > 8000); /* the 32 MiB pool holds 8192 tables */
	CHECK(vm->pt_next <= MV_PTPOOL_GPA + MV_PTPOOL_SIZE);
	CHECK_EQ(pte(vm, 0) & PTE_ADDR, gpa_of(vm, 0)); /* the earlier ones are intact */
	vm_free(vm);
}

/* --- protecting and unmapping --------------------------------------------- */

static void protect_present_only(void)
{
	struct mv_vm *vm = vm_new();
	MAP(vm, MiB(4), MiB(4) + 4 * MV_PAGE, RW);
	MAP(vm, MiB(4) + 8 * MV_PAGE, MiB(4) + 10 * MV_PAGE, RW);
	/* 16 pages, 6 of them present: those change, the rest stay absent */
	CHECK_EQ(pt__protect_range(vm, MiB(4), MiB(4) + 16 * MV_PAGE, R), 6);
	check_mapped(vm, MiB(4), MiB(4) + 4 * MV_PAGE, R, __LINE__);
	check_mapped(vm, MiB(4) + 8 * MV_PAGE, MiB(4) + 10 * MV_PAGE, R, __LINE__);
	CHECK_EQ(pt__protect_range(vm, MiB(4), MiB(4) + 16 * MV_PAGE, R), 0); /* no change: no flush */
	CHECK_EQ(pt__protect_range(vm, MiB(64), MiB(66), R), 0);	      /* no tables there */
	vm_free(vm);
}

static void protect_partial(void)
{
	struct mv_vm *vm = vm_new();
	MAP(vm, MiB(2) - 4 * MV_PAGE, MiB(2) + 4 * MV_PAGE, RW);
	CHECK_EQ(pt__protect_range(vm, MiB(2) - MV_PAGE, MiB(2) + MV_PAGE, RX), 2); /* across a table boundary */
	for (uint64_t va = MiB(2) - 4 * MV_PAGE; va < MiB(2) + 4 * MV_PAGE; va += MV_PAGE)
		CHECK_EQ(pte(vm, va), want(vm, va, va >= MiB(2) - MV_PAGE && va < MiB(2) + MV_PAGE ? RX : RW));
	vm_free(vm);
}

static void unmap_drops_ptes(void)
{
	struct mv_vm *vm = vm_new();
	MAP(vm, GiB(1) - MiB(1), GiB(1) + MiB(1), RW);
	CHECK_EQ(pt__protect_range(vm, GiB(1) - MV_PAGE, GiB(1) + MV_PAGE, 0), 2);
	CHECK_EQ(pte(vm, GiB(1) - MV_PAGE), 0);
	CHECK_EQ(pte(vm, GiB(1)), 0);
	CHECK_EQ(pte(vm, GiB(1) - 2 * MV_PAGE), want(vm, GiB(1) - 2 * MV_PAGE, RW));
	CHECK_EQ(pte(vm, GiB(1) + MV_PAGE), want(vm, GiB(1) + MV_PAGE, RW));
	CHECK_EQ(pt__protect_range(vm, 0, MV_USER_TOP, 0), 512 - 2); /* everything else */
	vm_free(vm);
}

/* A range over the whole address space changes user PTEs only: the upper
 * half's 2 MiB pages are neither walked into nor dropped. */
static void protect_leaves_upper_half(void)
{
	struct mv_vm *vm = vm_new();
	int level;

	MAP(vm, MiB(4), MiB(4) + MV_PAGE, RW);
	CHECK_EQ(pt__protect_range(vm, 0, ~0ULL, 0), 1);
	CHECK_EQ(pte(vm, MiB(4)), 0);
	CHECK_EQ(walk(vm, MV_KERNEL_VBASE, &level), PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D);
	CHECK_EQ(level, 21);
	vm_free(vm);
}

UNIT_MAIN("pagetable", CASE(upper_half_2mib_pages), CASE(map_rights), CASE(map_one_page_and_2mib_edges),
	  CASE(map_across_boundaries), CASE(map_chunk_per_table), CASE(map_again_changes_rights), CASE(map_empty_range),
	  CASE(map_chunk_failure), CASE(pool_runs_out), CASE(protect_present_only), CASE(protect_partial),
	  CASE(unmap_drops_ptes), CASE(protect_leaves_upper_half))
