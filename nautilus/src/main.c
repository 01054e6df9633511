/* main.c - Nautilus boot: check the boot-info block, set up this vCPU, run
 * the SIMD probe, report READY and call the program's main. */
#include <nk/nk.h>

#ifndef NK_VERSION
#define NK_VERSION "dev"
#endif
_Static_assert(__builtin_offsetof(struct nk_percpu, vcpu_id) == MV_GS_VCPU_ID, "GS layout is ABI");
_Static_assert(__builtin_offsetof(struct nk_percpu, user_rsp) == NK_PCPU_USER_RSP, "entry.S offsets");
_Static_assert(__builtin_offsetof(struct nk_percpu, kstack_top) == NK_PCPU_KSTACK, "entry.S offsets");
_Static_assert(__builtin_offsetof(struct mv_regs, rdi) == 40 && __builtin_offsetof(struct mv_regs, rsp) == 56 &&
		       __builtin_offsetof(struct mv_regs, r15) == 120 &&
		       __builtin_offsetof(struct mv_regs, rip) == 128 &&
		       __builtin_offsetof(struct mv_regs, rflags) == 136,
	       "nk_resume offsets");

const char nk_version[] = "Nautilus-HRT " NK_VERSION " (" MV_ABI_NAME ")";

/* Per-vCPU data by id: a vCPU keeps its data for every thread it runs (KVM
 * cannot destroy a vCPU short of the VM), and may boot more than once (a
 * pooled native vCPU whose first thread failed to start). */
static struct nk_percpu *percpus[MV_MAX_VCPUS];

static void percpu__init(const struct mv_boot_info *bi)
{
	uint32_t id = bi->vcpu_id & (MV_MAX_VCPUS - 1);
	struct nk_percpu *pc = percpus[id];

	if (!pc) {
		pc = kmalloc(sizeof *pc, 64);
		pc->kstack_top = (uint64_t)kmalloc(NK_STACK_SIZE, 16) + NK_STACK_SIZE;
		percpus[id] = pc;
	}
	pc->self = pc;
	pc->vcpu_id = id;
	pc->native = (bi->flags & MV_BOOT_NATIVE) != 0;
	pc->call = (struct mv_call_page *)(bi->call_pages + 4096ULL * id);
	wrmsr(MSR_GS_BASE, (uint64_t)pc);
}

__attribute__((noreturn)) void nk_main_returned(int status)
{
	for (;;) /* the VMM never resumes an EXIT */
		hc__call(MV_OP_EXIT, (uint64_t)(int64_t)status, 0);
}

__attribute__((noreturn)) void nk_main(const struct mv_boot_info *bi)
{
	uint16_t cs;

	/* Probe first: a KVM that cannot run SSE/AVX fails right here, before
	 * READY, and libmv runs main natively instead. */
	nk_probe_simd(bi->flags & MV_BOOT_PROBE_AVX);
	if (bi->magic != MV_BOOT_MAGIC || bi->abi_version != MV_ABI_VERSION) {
		/* No call page we can trust yet: stop; the VMM sees a hlt exit. */
		for (;;)
			__asm__ volatile("hlt");
	}
	heap__init(bi->heap_start, bi->heap_size);
	percpu__init(bi);
	cpu__init(bi);
	syscall__init();
	svc__init();
	if (bi->flags & MV_BOOT_VERBOSE)
		kprintf("%s: vcpu %u of %u, heap %lx+%lx, vmm %s\n", nk_version, bi->vcpu_id, bi->nr_vcpus,
			bi->heap_start, bi->heap_size, bi->vmm_version);
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	hc__call(MV_OP_READY, cs & 3, 0);
	/* FS base last: nothing in Nautilus uses FS, glibc's TLS (errno, the
	 * stack-protector canary at %fs:0x28) needs it from main's first line. */
	wrmsr(MSR_FS_BASE, bi->fs_base);
	if (!bi->main_fn) /* a thread vCPU: the child's return from clone(2) */
		nk_enter_thread(bi->thread_rip, bi->stack_top, bi->thread_rflags);
	nk_enter_main(bi->main_fn, bi->argc, bi->argv, bi->envp, bi->stack_top);
}
