/* memory.c - the merged address space.
 *
 * Invariants:
 *  - GVA == process VA for every user-half address the HRT can touch.
 *  - Each MV_CHUNK_SIZE-aligned chunk of process VA that the HRT has touched
 *    is one memslot at a compact GPA (MV_USER_GPA_BASE + n * chunk), so
 *    GPA = chunk.gpa + (va - chunk.va). A slot spans holes; KVM and Linux do
 *    demand paging, CoW and file mappings behind it.
 *  - The VMA table mirrors the process mappings (prot != none only). It is
 *    read from /proc/self/maps at start, updated after each forwarded
 *    mmap/munmap/mremap/mprotect/brk, and re-read only when a fault misses it
 *    (a mapping made outside the HRT).
 *  - A guest PTE exists only where the VMA table allows the access, with the
 *    same W/X rights; after any change to a live PTE the vCPU flushes its TLB
 *    before it resumes (MV_CALL_FLUSH_TLB).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mv.h"

/* Lazily map at most this much around a fault (one VMA, clipped). */
#define MV_FAULT_WINDOW (64ULL << 20)

/* --- chunks and memslots ------------------------------------------------ */

int mem__chunk_gpa(struct mv_vm *vm, uint64_t va, uint64_t *gpa)
{
	uint64_t cva = va & ~(MV_CHUNK_SIZE - 1);
	struct mv_chunk *c = &vm->chunks[vm->last_chunk];

	if (vm->nchunks && c->va == cva)
		goto found;
	for (int i = 0; i < vm->nchunks; i++) {
		if (vm->chunks[i].va == cva) {
			vm->last_chunk = i;
			c = &vm->chunks[i];
			goto found;
		}
	}
	if (vm->nchunks == MV_MAX_CHUNKS || vm->gpa_next + MV_CHUNK_SIZE > vm->gpa_limit)
		return -ENOSPC;
	struct kvm_userspace_memory_region r = {
		.slot = (uint32_t)vm->nchunks + 1,
		.guest_phys_addr = vm->gpa_next,
		.memory_size = MV_CHUNK_SIZE,
		.userspace_addr = cva,
	};
	/* The last page of the user half is never a user page, and KVM refuses
	 * a slot that reaches it (access_ok against TASK_SIZE_MAX) unless the
	 * kernel has 5-level paging: the top chunk stops one page short. */
	if (cva + MV_CHUNK_SIZE > MV_USER_TOP - MV_PAGE)
		r.memory_size = MV_USER_TOP - MV_PAGE - cva;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	c = &vm->chunks[vm->nchunks];
	c->va = cva;
	c->gpa = vm->gpa_next;
	vm->last_chunk = vm->nchunks++;
	vm->gpa_next += MV_CHUNK_SIZE;
found:
	*gpa = c->gpa + (va - cva);
	return 0;
}

/* --- the VMA table (the table itself: vma.c) ----------------------------- */

/* The table cannot grow: end the program with the report rather than run
 * with a mirror that silently lacks mappings. */
__attribute__((noreturn)) static void mem__full(struct mv_vcpu *v)
{
	char what[160];

	snprintf(what, sizeof what, "cannot mirror the process's %d mappings: no memory to grow the table",
		 v->vm->nvmas + 1);
	report__die(v, what, NULL, SIGSEGV);
}

/* Read /proc/self/maps with raw syscalls into a buffer of raw pages that
 * grows to hold it all: no stdio, no malloc, because the HRT may be stopped
 * inside malloc on this same thread. One buffer for the process: mem_lock
 * (mem__resync), or mem__init before a second thread exists. */
static char *maps_buf;
static size_t maps_size;

static int mem__read_maps(void)
{
	int fd = (int)mv__raw_syscall(SYS_open, (long)"/proc/self/maps", O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
	size_t len = 0;
	long r = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		if (len + 4096 >= maps_size && (r = mem__grow((void **)&maps_buf, &maps_size, len + 4097)) < 0)
			break;
		r = mv__raw_syscall(SYS_read, fd, (long)(maps_buf + len), (long)(maps_size - 1 - len), 0, 0, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	mv__raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	if (r < 0)
		return (int)r; /* a partial list would drop mappings */
	maps_buf[len] = 0;
	return 0;
}

static int mem__resync(struct mv_vcpu *v, struct mv_vm *vm)
{
	static struct mv_vma *old;
	static size_t old_size;
	int nold = vm->nvmas;
	char *p, *nl;

	__atomic_fetch_add(&vm->nr_resyncs, 1, __ATOMIC_RELAXED);
	if (mem__read_maps() < 0 || mem__grow((void **)&old, &old_size, (size_t)nold * sizeof *old) < 0) {
		if (v)
			mem__full(v);
		return -ENOMEM;
	}
	memcpy(old, vm->vmas, (size_t)nold * sizeof *old);
	vm->nvmas = 0;
	for (p = maps_buf; *p; p = nl + 1) {
		struct mv_vma m;
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		if (!mem__maps_line(p, nl, &m))
			continue;
		if (mem__vma_room(vm, vm->nvmas + 1) < 0) {
			if (v)
				mem__full(v);
			return -ENOMEM;
		}
		vm->vmas[vm->nvmas++] = m;
	}
	/* The HRT-private memory is never part of the user half. */
	if (mem__vma_set(vm, (uint64_t)vm->hrt, (uint64_t)vm->hrt + MV_HRT_MEM_SIZE, 0, 0) < 0) {
		if (v)
			mem__full(v);
		return -ENOMEM;
	}
	if (!v)
		return 0;
	/* Fix live PTEs where the process changed behind our back. */
	for (int i = 0; i < nold; i++) {
		uint64_t a = old[i].start;
		while (a < old[i].end) {
			const struct mv_vma *n = mem__vma_find(vm, a);
			uint64_t b;
			uint32_t prot;
			if (n) {
				b = n->end < old[i].end ? n->end : old[i].end;
				prot = n->prot;
			} else {
				/* up to the next table entry or the end of the old one */
				b = old[i].end;
				for (int k = 0; k < vm->nvmas; k++)
					if (vm->vmas[k].start > a) {
						if (vm->vmas[k].start < b)
							b = vm->vmas[k].start;
						break;
					}
				prot = 0;
			}
			if (prot != old[i].prot && pt__protect_range(vm, a, b, prot))
				mem__shootdown(v);
			a = b;
		}
	}
	return 0;
}

int mem__init(struct mv_vm *vm)
{
	struct rlimit rl;

	if (mem__vma_room(vm, 1024) < 0)
		return -ENOMEM;
	vm->gpa_next = MV_USER_GPA_BASE;
	vm->brk_cur = (uint64_t)mv__raw_syscall(SYS_brk, 0, 0, 0, 0, 0, 0);
	vm->stack_rlimit =
		getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : (8ULL << 20);
	if (mem__resync(NULL, vm) < 0)
		return -ENOMEM;
	return vm->nvmas ? 0 : -EIO;
}

/* After a forwarded call changed [start, end) to prot: table + live PTEs. */
void mem__apply(struct mv_vcpu *v, uint64_t start, uint64_t end, uint32_t prot)
{
	struct mv_vm *vm = v->vm;

	start = MV_PAGE_DOWN(start);
	end = MV_PAGE_UP(end);
	if (end > MV_USER_TOP)
		end = MV_USER_TOP;
	if (start >= end)
		return;
	if (mem__vma_set(vm, start, end, prot, 0) < 0)
		mem__full(v);
	if (pt__protect_range(vm, start, end, prot))
		mem__shootdown(v);
	/* The mappings changed: the next fault at an address that faulted before
	 * is a new one, not a loop (mmap, write, munmap at one address over and
	 * over faults at the same rip and address each time). */
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (vm->vcpus[i])
			__atomic_store_n(&vm->vcpus[i]->fault_repeats, 0, __ATOMIC_RELAXED);
}

/*
 * TLB shootdown after live user-half PTEs were downgraded or removed (caller
 * holds mem_lock). All vCPUs share one set of page tables, so only their
 * TLBs can be stale:
 *  - a vCPU stopped in a hypercall (or about to make one) finds
 *    MV_CALL_FLUSH_TLB on its call page and reloads CR3 before it returns to
 *    program code. Set atomically: its partner may be setting the same word.
 *    Nautilus clears the bit before it flushes, so a racing set is never lost
 *    without a flush after our PTE change;
 *  - a vCPU running program code right now needs no kick: the forwarded
 *    munmap/mprotect/mremap already went through the host's MMU notifier,
 *    which zapped KVM's stage-2 (NPT/EPT) entries for the range and flushed
 *    the TLBs of every vCPU of the VM (kvm_flush_remote_tlbs, an IPI that
 *    waits for the vCPUs in guest mode) before the system call returned.
 *    What such a vCPU can still hold is a guest-linear translation reloaded
 *    from our not-yet-updated PTE; it leads to the GPA that is a fixed
 *    function of the same VA (GPA = chunk base + offset), where stage 2
 *    enforces the process's current mapping: an access to memory that is
 *    gone or now read-only fails in KVM (EFAULT: reported, process killed as
 *    by SIGSEGV), and a stale translation can never reach another page.
 */
void mem__shootdown(struct mv_vcpu *v)
{
	struct mv_vm *vm = v->vm;
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE);

	v->cp->flags |= MV_CALL_FLUSH_TLB;
	for (int i = 0; i < n; i++)
		if (vm->vcpus[i] && vm->vcpus[i] != v)
			__atomic_fetch_or(&vm->vcpus[i]->cp->flags, MV_CALL_FLUSH_TLB, __ATOMIC_SEQ_CST);
}

static int mem__permits(const struct mv_vma *m, uint64_t err)
{
	if (!m)
		return 0;
	if ((err & 2) && !(m->prot & MV_PROT_W))
		return 0;
	if ((err & 16) && !(m->prot & MV_PROT_X))
		return 0;
	return 1;
}

/* Below the main stack and within RLIMIT_STACK: Linux would grow the stack
 * on this access. Touch it from the partner so Linux does exactly that. */
static int mem__grow_stack(struct mv_vcpu *v, uint64_t addr)
{
	struct mv_vm *vm = v->vm;

	for (int i = 0; i < vm->nvmas; i++) {
		struct mv_vma *m = &vm->vmas[i];
		if (!(m->flags & MV_VMA_STACK) || addr >= m->start)
			continue;
		if (m->end - MV_PAGE_DOWN(addr) > vm->stack_rlimit)
			return 0;
		for (uint64_t a = m->start - MV_PAGE; a >= MV_PAGE_DOWN(addr); a -= MV_PAGE)
			(void)*(volatile char *)a;
		mem__resync(v, vm);
		return 1;
	}
	return 0;
}

/* Make addr part of the process's mappings if an access there would (the
 * stack growing down), e.g. before the partner writes a signal frame. */
void mem__reach(struct mv_vcpu *v, uint64_t addr)
{
	pthread_mutex_lock(&v->vm->mem_lock);
	if (!mem__vma_find(v->vm, addr)) {
		mem__resync(v, v->vm);
		if (!mem__vma_find(v->vm, addr))
			mem__grow_stack(v, addr);
	}
	pthread_mutex_unlock(&v->vm->mem_lock);
}

/* A user-half #PF from the HRT: map the process's page (and the rest of its
 * mapping, within a window) and let the guest retry, or report failure. */
int mem__handle_fault(struct mv_vcpu *v, uint64_t addr, uint64_t err)
{
	struct mv_vm *vm = v->vm;
	const struct mv_vma *m = mem__vma_find(vm, addr);
	uint64_t lo, hi;
	int rc;

	__atomic_fetch_add(&vm->nr_faults, 1, __ATOMIC_RELAXED);
	if (!mem__permits(m, err)) {
		mem__resync(v, vm);
		m = mem__vma_find(vm, addr);
		if (!m && mem__grow_stack(v, addr))
			m = mem__vma_find(vm, addr);
		if (!mem__permits(m, err))
			return -EFAULT;
	}
	lo = addr & ~(MV_FAULT_WINDOW - 1);
	hi = lo + MV_FAULT_WINDOW;
	if (lo < m->start)
		lo = m->start;
	if (hi > m->end)
		hi = m->end;
	if ((rc = pt__map_range(vm, lo, hi, m->prot)) < 0)
		return rc == -EFAULT ? -ENOMEM : rc; /* -EFAULT means "no mapping" to the caller */
	/* A fault on a present PTE (err bit 0) means we upgraded a live entry. */
	if (err & 1)
		v->cp->flags |= MV_CALL_FLUSH_TLB;
	return 0;
}
