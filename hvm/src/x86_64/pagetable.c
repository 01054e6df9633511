/* x86_64/pagetable.c - the guest's 4-level page tables, owned by the VMM and
 * stored in the HRT-private page-table pool (mv/abi.h).
 *
 * Upper half: PML4[511] -> PDPT[510] -> one PD of 2 MiB pages over the
 * HRT-private memory (GVA = MV_KERNEL_VBASE + GPA).
 * User half: 4 KiB PTEs, GVA == process VA -> GPA inside the VA's chunk
 * memslot, with the process mapping's W and X permissions. The U/S bit stays
 * clear: everything runs at CPL 0, and SMEP/SMAP stay off. */
#include <string.h>
#include "../mv.h"

#define PTE_P	 (1ULL << 0)
#define PTE_W	 (1ULL << 1)
#define PTE_A	 (1ULL << 5)
#define PTE_D	 (1ULL << 6)
#define PTE_PS	 (1ULL << 7)
#define PTE_NX	 (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

static uint64_t *pt__host(struct mv_vm *vm, uint64_t gpa)
{
	return (uint64_t *)(vm->hrt + gpa);
}

static uint64_t pt__alloc(struct mv_vm *vm)
{
	uint64_t g = vm->pt_next;

	if (g + MV_PAGE > MV_PTPOOL_GPA + MV_PTPOOL_SIZE)
		return 0;
	vm->pt_next += MV_PAGE;
	memset(pt__host(vm, g), 0, MV_PAGE);
	return g;
}

/* Leaf flags for a process mapping. A and D are preset so the guest CPU
 * never has to write them back into tables the VMM is editing. */
static uint64_t pt__flags(uint32_t prot)
{
	uint64_t f = PTE_P | PTE_A;
	if (prot & MV_PROT_W)
		f |= PTE_W | PTE_D;
	if (!(prot & MV_PROT_X))
		f |= PTE_NX;
	return f;
}

void pt__init(struct mv_vm *vm)
{
	uint64_t pml4, pdpt, pd;
	uint64_t *t;

	vm->pt_next = MV_PTPOOL_GPA;
	pml4 = pt__alloc(vm);
	pdpt = pt__alloc(vm);
	pd = pt__alloc(vm);
	pt__host(vm, pml4)[511] = pdpt | PTE_P | PTE_W;
	pt__host(vm, pdpt)[510] = pd | PTE_P | PTE_W;
	t = pt__host(vm, pd);
	for (uint64_t i = 0; i < MV_HRT_MEM_SIZE >> 21; i++)
		t[i] = (i << 21) | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D;
	vm->pml4_gpa = pml4;
}

/* The page table (last level) covering va, created on demand. Intermediate
 * entries are permissive (W, no NX): the leaf alone decides. */
static uint64_t *pt__table(struct mv_vm *vm, uint64_t va, int create)
{
	uint64_t *t = pt__host(vm, vm->pml4_gpa);

	for (int shift = 39; shift > 12; shift -= 9) {
		uint64_t *e = &t[(va >> shift) & 511];
		if (!(*e & PTE_P)) {
			uint64_t g;
			if (!create || !(g = pt__alloc(vm)))
				return NULL;
			*e = g | PTE_P | PTE_W;
		}
		t = pt__host(vm, *e & PTE_ADDR);
	}
	return t;
}

int pt__map_range(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot)
{
	uint64_t flags = pt__flags(prot);

	for (uint64_t va = start; va < end;) {
		uint64_t stop = (va | 0x1fffff) + 1, gpa;
		uint64_t *t = pt__table(vm, va, 1);
		int rc;

		if (!t)
			return -12; /* ENOMEM: page-table pool exhausted */
		if ((rc = mem__chunk_gpa(vm, va, &gpa)) < 0)
			return rc;
		if (stop > end)
			stop = end;
		/* Chunks are >= 2 MiB and aligned, so one lookup covers this table. */
		for (; va < stop; va += MV_PAGE, gpa += MV_PAGE)
			t[(va >> 12) & 511] = gpa | flags;
	}
	return 0;
}

static int pt__protect_level(struct mv_vm *vm, uint64_t *t, int shift, uint64_t base, uint64_t start, uint64_t end,
			     uint32_t prot)
{
	uint64_t span = 1ULL << shift;
	int changed = 0;

	for (uint64_t i = 0; i < 512; i++) {
		uint64_t lo = base + i * span, hi = lo + span;
		uint64_t *e = &t[i];
		if (hi <= start || lo >= end || !(*e & PTE_P) || lo >= MV_USER_TOP)
			continue;
		if (shift == 12) {
			uint64_t n = prot ? (*e & PTE_ADDR) | pt__flags(prot) : 0;
			if (n != *e) {
				*e = n;
				changed++;
			}
		} else {
			changed += pt__protect_level(vm, pt__host(vm, *e & PTE_ADDR), shift - 9, lo, start, end, prot);
		}
	}
	return changed;
}

/* Change (prot != 0) or drop (prot == 0) the PTEs that are present in
 * [start, end); absent ones stay absent and fault in lazily. Returns how many
 * live entries changed: if any, the guest must flush its TLB. */
int pt__protect_range(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot)
{
	return pt__protect_level(vm, pt__host(vm, vm->pml4_gpa), 39, 0, start, end, prot);
}
