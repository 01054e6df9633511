/* vma.c - the VMA table, memory.c's mirror of the process's mappings: a
 * sorted array of disjoint [start, end) ranges with their W/X rights, the
 * buffer it grows in, and the parsing of one /proc/self/maps line.
 *
 * Pure: no KVM, no locks (the caller holds mem_lock), no malloc, no errno.
 * That is why it is a file of its own: hvm/unit/t_vma.c runs it on the host
 * under ASan and UBSan, with mv__raw_syscall's mmap/mremap stubbed.
 *
 * Invariant (checked after every change by the unit test):
 *   vmas[0].start < vmas[0].end <= vmas[1].start < ... <= vmas[nvmas-1].end,
 *   every prot != 0, nvmas <= vmas_cap. Neighbours with the same prot are
 *   not merged: a lookup needs only disjointness and order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "mv.h"

uint32_t mem__prot_from_linux(uint64_t prot)
{
	uint32_t p = 0;
	if (prot & PROT_READ)
		p |= MV_PROT_R;
	if (prot & PROT_WRITE)
		p |= MV_PROT_W | MV_PROT_R;
	if (prot & PROT_EXEC)
		p |= MV_PROT_X | MV_PROT_R; /* x86: no execute-only pages without pkeys */
	return p;
}

const struct mv_vma *mem__vma_find(struct mv_vm *vm, uint64_t addr)
{
	int lo = 0, hi = vm->nvmas - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct mv_vma *v = &vm->vmas[mid];
		if (addr < v->start)
			hi = mid - 1;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

/* Grow a buffer of raw pages to at least need bytes (doubling), keeping its
 * contents. Raw calls: no malloc (the HRT may be inside it on this thread)
 * and no errno (it is the program's). */
int mem__grow(void **buf, size_t *size, size_t need)
{
	size_t n = *size ? *size : 1 << 16;
	long r;

	if (need <= *size)
		return 0;
	while (n < need)
		n *= 2;
	if (*buf)
		r = mv__raw_syscall(SYS_mremap, (long)*buf, (long)*size, (long)n, MREMAP_MAYMOVE, 0, 0);
	else
		r = mv__raw_syscall(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0 && r > -4096)
		return (int)r;
	*buf = (void *)r;
	*size = n;
	return 0;
}

/* Room for n entries in the VMA table. */
int mem__vma_room(struct mv_vm *vm, int n)
{
	size_t size = (size_t)vm->vmas_cap * sizeof *vm->vmas;
	void *buf = vm->vmas;
	int rc = mem__grow(&buf, &size, (size_t)n * sizeof *vm->vmas);

	vm->vmas = buf;
	vm->vmas_cap = (int)(size / sizeof *vm->vmas);
	return rc;
}

/* Make [start, end) have prot (0: no access) in the table. */
int mem__vma_set(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot, uint32_t flags)
{
	struct mv_vma *t;
	int n = vm->nvmas, i = 0, j;

	/* At most two entries more: a split at start, and the new one. */
	if (mem__vma_room(vm, n + 2) < 0)
		return -ENOMEM;
	t = vm->vmas;

	/* Find the first entry ending after start. */
	while (i < n && t[i].end <= start)
		i++;
	/* Split an entry straddling start. */
	if (i < n && t[i].start < start && t[i].end > start) {
		memmove(&t[i + 1], &t[i], (size_t)(n - i) * sizeof *t);
		n++;
		t[i].end = start;
		t[i + 1].start = start;
		i++;
	}
	/* Remove entries fully inside, trim one straddling end. */
	j = i;
	while (j < n && t[j].end <= end)
		j++;
	if (j < n && t[j].start < end)
		t[j].start = end;
	memmove(&t[i], &t[j], (size_t)(n - j) * sizeof *t);
	n -= j - i;
	if (prot) {
		memmove(&t[i + 1], &t[i], (size_t)(n - i) * sizeof *t);
		t[i] = (struct mv_vma){ .start = start, .end = end, .prot = prot, .flags = flags };
		n++;
	}
	vm->nvmas = n;
	return 0;
}

/* One line of /proc/self/maps, p up to its newline nl: 1 and *out for a
 * user-half mapping with some access, else 0 (no access, [vsyscall], not a
 * mapping line). */
int mem__maps_line(const char *p, const char *nl, struct mv_vma *out)
{
	char *q;
	uint64_t s = strtoull(p, &q, 16), e;
	uint32_t prot = 0, flags = 0;

	if (*q != '-')
		return 0;
	e = strtoull(q + 1, &q, 16);
	if (q[0] != ' ' || e > MV_USER_TOP)
		return 0; /* [vsyscall] and anything above the user half */
	if (q[1] == 'r')
		prot |= MV_PROT_R;
	if (q[2] == 'w')
		prot |= MV_PROT_W | MV_PROT_R;
	if (q[3] == 'x')
		prot |= MV_PROT_X | MV_PROT_R;
	if (memmem(q, (size_t)(nl - q), "[stack]", 7))
		flags |= MV_VMA_STACK;
	*out = (struct mv_vma){ s, e, prot, flags };
	return prot != 0;
}
