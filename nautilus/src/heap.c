/* heap.c - the Nautilus kernel heap: a bump allocator over the region the
 * boot-info block hands us. Only boot-time structures (per-vCPU data and
 * stacks) live here, and they live as long as the VM, so nothing is freed. */
#include <nk/nk.h>

static uint64_t heap_next, heap_end;

void heap__init(uint64_t start, uint64_t size)
{
	if (heap_end)
		return; /* a later vCPU's boot: the heap is shared and already live */
	heap_next = start;
	heap_end = start + size;
}

void *kmalloc(size_t size, size_t align)
{
	uint64_t old = __atomic_load_n(&heap_next, __ATOMIC_RELAXED), p;

	/* Thread vCPUs boot while others run: claim the range with a CAS. */
	do {
		p = (old + align - 1) & ~(uint64_t)(align - 1);
		if (p + size > heap_end)
			hc__panic("kmalloc: kernel heap exhausted", 0);
	} while (!__atomic_compare_exchange_n(&heap_next, &old, p + size, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	memset((void *)p, 0, size);
	return (void *)p;
}
