/* vcpu.c - a vCPU's life: creation, the boot-info block it starts from, its
 * state machine (vcpu__set_state, the only writer of v->state), and the run
 * loop: KVM_RUN, then dispatch on the exit reason. Every exit that is not a
 * hypercall ends in a report, never in a hang; before READY it means the SIMD
 * probe failed (KVM unusable). A thread's life around it (clone, partner,
 * exit, reuse) is thread.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mv.h"

const char *vcpu__state_name(enum mv_vcpu_state s)
{
	static const char *const names[] = {
		[MV_VCPU_CREATED] = "created", [MV_VCPU_BOOTING] = "booting", [MV_VCPU_RUNNING] = "running",
		[MV_VCPU_IN_CALL] = "in-call", [MV_VCPU_EXITED] = "exited",   [MV_VCPU_PROBE_FAILED] = "probe-failed",
	};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/*
 * The state machine. From each state, the states a vCPU may go to:
 *   CREATED      -> BOOTING (vcpu__run starts it), CREATED (booted again for a thread)
 *   BOOTING      -> RUNNING (Nautilus said READY), PROBE_FAILED (it never did: KVM unusable)
 *   RUNNING      -> IN_CALL (a hypercall: the partner works)
 *   IN_CALL      -> RUNNING (back to the HRT), EXITED (main returned, or the thread's exit)
 *   EXITED       -> RUNNING (the vCPU is resumed for the next thread: thread__boot)
 *   PROBE_FAILED -> (none: the program runs natively, or the thread is refused)
 * Anything else is a VMM bug, reported as one.
 */
#define S(x) (1u << MV_VCPU_##x)
static const unsigned next_ok[] = {
	[MV_VCPU_CREATED] = S(BOOTING) | S(CREATED),
	[MV_VCPU_BOOTING] = S(RUNNING) | S(PROBE_FAILED),
	[MV_VCPU_RUNNING] = S(IN_CALL),
	[MV_VCPU_IN_CALL] = S(RUNNING) | S(EXITED),
	[MV_VCPU_EXITED] = S(RUNNING),
	[MV_VCPU_PROBE_FAILED] = 0,
};
#undef S

void vcpu__set_state(struct mv_vcpu *v, enum mv_vcpu_state to)
{
	enum mv_vcpu_state from = v->state;

	if (!(next_ok[from] & (1u << to))) {
		char what[96];
		snprintf(what, sizeof what, "vCPU state %s -> %s (VMM bug)", vcpu__state_name(from),
			 vcpu__state_name(to));
		report__die(v, what, NULL, SIGSEGV);
	}
	__atomic_store_n(&v->state, to, __ATOMIC_RELEASE); /* report and gdb read it from other threads */
}

/* The boot-info block every vCPU starts from (mv/abi.h): the VM's part, written once at
 * MV_BOOTINFO_GPA; main's vCPU adds what main needs; a thread's vCPU gets a copy in its own
 * call page with the thread's entry. Only this file writes these blocks. */
void vcpu__boot_template(struct mv_vm *vm)
{
	struct mv_boot_info *bi = (struct mv_boot_info *)(vm->hrt + MV_BOOTINFO_GPA);

	bi->magic = MV_BOOT_MAGIC;
	bi->abi_version = MV_ABI_VERSION;
	bi->flags = (vm->has_avx ? MV_BOOT_PROBE_AVX : 0) | (vm->opt.verbose ? MV_BOOT_VERBOSE : 0);
	bi->vcpu_id = 0;
	bi->nr_vcpus = 1;
	bi->hrt_mem_size = MV_HRT_MEM_SIZE;
	bi->kernel_vbase = MV_KERNEL_VBASE;
	bi->call_pages = MV_KERNEL_VBASE + MV_CALLPAGE_GPA;
	bi->heap_start = MV_KERNEL_VBASE + MV_HEAP_GPA;
	bi->heap_size = MV_HEAP_SIZE;
	snprintf(bi->vmm_version, sizeof bi->vmm_version, "libmv %s", MV_VERSION);
}

/* vCPU 0 runs fn(argc, argv, envp) on stack_top with FS = fs (runtime.c). */
void vcpu__boot_main(struct mv_vcpu *v, uint64_t fn, int argc, char **argv, char **envp, uint64_t stack_top,
		     uint64_t fs)
{
	struct mv_boot_info *bi = (struct mv_boot_info *)(v->vm->hrt + MV_BOOTINFO_GPA);

	bi->main_fn = fn;
	bi->argc = (uint64_t)argc;
	bi->argv = (uint64_t)argv;
	bi->envp = (uint64_t)envp;
	bi->stack_top = stack_top;
	bi->fs_base = fs;
}

/* A thread's vCPU starts at rip (the instruction after the creator's `syscall`) on stack sp
 * with FS = fs: its block, in its own call page (unused until READY, and no other vCPU's boot
 * can overwrite it). Returns the block's GVA, what Nautilus's entry gets in %rdi. */
uint64_t vcpu__boot_thread(struct mv_vcpu *v, uint64_t rip, uint64_t sp, uint64_t fs)
{
	struct mv_vm *vm = v->vm;
	uint64_t gpa = MV_CALLPAGE_GPA + 4096ULL * (uint64_t)v->id + MV_CP_BOOTINFO_OFF;
	struct mv_boot_info *bi = (struct mv_boot_info *)(vm->hrt + gpa);

	memcpy(bi, vm->hrt + MV_BOOTINFO_GPA, sizeof *bi);
	bi->vcpu_id = (uint32_t)v->id;
	bi->flags &= ~MV_BOOT_VERBOSE;
	if (v->native)
		bi->flags |= MV_BOOT_NATIVE;
	v->cp->robust_head = 0; /* a new thread has none, as after clone(2) */
	bi->main_fn = 0;
	bi->stack_top = sp;
	bi->fs_base = fs;
	bi->thread_rip = rip;
	bi->thread_rflags = 2; /* as main starts: IF clear, no traps */
	return MV_KERNEL_VBASE + gpa;
}

/* A booted vCPU, parked in a hypercall, takes a new thread without booting again: when it next
 * runs, Nautilus resumes (MV_CALL_RESUME) at rip on stack sp with %rax = 0 (the child's return
 * from clone(2)), FS = fs and a fresh thread's x87/SSE state. For an ordinary thread's reused vCPU
 * (thread.c) and a pooled native one (native.c). Raw ioctls only (cpu__new_thread): a native
 * runner's FS may not be a valid TCB here. 0, or -errno from KVM. */
int vcpu__resume_thread(struct mv_vcpu *v, uint64_t rip, uint64_t sp, uint64_t fs)
{
	int rc = cpu__new_thread(v, fs);

	if (rc < 0)
		return rc;
	memset(&v->cp->regs, 0, sizeof v->cp->regs);
	v->cp->regs.rip = rip;
	v->cp->regs.rsp = sp;
	v->cp->regs.rflags = 2; /* as a thread vCPU boots: IF clear, no traps */
	__atomic_or_fetch(&v->cp->flags, MV_CALL_RESUME | MV_CALL_FLUSH_TLB, __ATOMIC_RELEASE);
	return 0;
}

/* Undo vcpu__create (its id stays taken in KVM until the VM goes). */
void vcpu__destroy(struct mv_vcpu *v)
{
	if (!v)
		return;
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	stats__vcpu_free(v);
	munmap(v, sizeof *v);
}

int vcpu__create(struct mv_vm *vm, int id, struct mv_vcpu **out, char *err, size_t n)
{
	struct mv_vcpu *v;
	int rc;

	v = mmap(NULL, sizeof *v, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return -ENOMEM;
	memset(v, 0, sizeof *v);
	v->vm = vm;
	v->id = id;
	v->cp = (struct mv_call_page *)(vm->hrt + MV_CALLPAGE_GPA + 4096ULL * (uint64_t)id);
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		rc = -errno;
		snprintf(err, n, "KVM_CREATE_VCPU failed: %s", strerror(errno));
		goto fail;
	}
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		rc = -errno;
		snprintf(err, n, "cannot map the vCPU run structure: %s", strerror(errno));
		goto fail;
	}
	stats__vcpu_init(v);
	if ((rc = cpu__setup(v, vm->entry, MV_KERNEL_VBASE + MV_BOOTINFO_GPA, 0, err, n)) < 0)
		goto fail;
	v->state = MV_VCPU_CREATED; /* its first state, not a transition */
	*out = v;
	return 0;
fail:
	vcpu__destroy(v);
	return rc;
}

/* Before READY, a failure is the probe's verdict; after it, a fatal report. */
static int vcpu__fail(struct mv_vcpu *v, const char *what)
{
	struct mv_regs r;

	if (v->state == MV_VCPU_BOOTING) {
		snprintf(v->probe_error, sizeof v->probe_error, "%s during the HRT boot/SIMD probe", what);
		vcpu__set_state(v, MV_VCPU_PROBE_FAILED);
		return -1;
	}
	if (cpu__get_regs(v, &r) < 0)
		memset(&r, 0, sizeof r);
	report__die(v, what, &r, SIGSEGV);
}

static int vcpu__exit(struct mv_vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.port == MV_HC_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
			hypercall__dispatch(v);
			return 0;
		}
		if (v->state != MV_VCPU_BOOTING) {
			pio__exit(v); /* the program's own in/out (pio.c) */
			return 0;
		}
		snprintf(what, sizeof what, "unexpected port I/O %#x", run->io.port);
		return vcpu__fail(v, what);
	case KVM_EXIT_HLT: return vcpu__fail(v, "the HRT halted (bad boot-info block?)");
	case KVM_EXIT_SHUTDOWN: return vcpu__fail(v, "triple fault (KVM_EXIT_SHUTDOWN; registers are after the reset)");
	case KVM_EXIT_MMIO:
		/* A guest access that no memslot page backs: a hole in a chunk
		 * slot, or a write to a read-only one. SIGSEGV semantics. */
		snprintf(what, sizeof what, "%s of guest-physical %#llx with no process memory behind it",
			 run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr);
		return vcpu__fail(v, what);
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof what, "KVM internal error (suberror %u: %s)", run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				 ? "instruction emulation failed: this KVM cannot run SSE/AVX code"
				 : "see dmesg");
		return vcpu__fail(v, what);
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof what, "VM entry failed (hardware reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return vcpu__fail(v, what);
	default:
		snprintf(what, sizeof what, "unexpected KVM exit reason %u", run->exit_reason);
		return vcpu__fail(v, what);
	}
}

/* For MV_STATS: why KVM_RUN returned. */
static enum mv_exit_kind vcpu__exit_kind(struct mv_vcpu *v, long r)
{
	if (r < 0)
		return r == -EINTR || r == -EAGAIN ? MV_EXIT_SIGNAL : MV_EXIT_OTHER;
	if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != MV_HC_PORT)
		return MV_EXIT_OTHER;
	switch (v->cp->op) {
	case MV_OP_SYSCALL: return MV_EXIT_SYSCALL;
	case MV_OP_PAGE_FAULT: return MV_EXIT_PAGE_FAULT;
	case MV_OP_CONSOLE: return MV_EXIT_CONSOLE;
	default: return MV_EXIT_OTHER_HC;
	}
}

/* The vDSO's getcpu in the HRT reads what Linux set up for the CPU it runs
 * on; the HRT thread's CPU is the partner's. Tell Nautilus when it moved
 * (one raw getcpu per exit: small beside the exit itself). */
static void vcpu__track_cpu(struct mv_vcpu *v)
{
	unsigned cpu = 0, node = 0;

	if (mv__raw_syscall(SYS_getcpu, (long)&cpu, (long)&node, 0, 0, 0, 0) < 0)
		return;
	uint32_t cn = node << 12 | (cpu & 0xfff);
	if (cn != v->cp->cpunode || v->state == MV_VCPU_CREATED) {
		v->cp->cpunode = cn;
		__atomic_fetch_or(&v->cp->flags, MV_CALL_CPUNODE, __ATOMIC_SEQ_CST);
	}
}

/* Run until main returns (status >= 0) or the probe fails (-1). Fatal
 * conditions do not return: report__die ends the process. */
int vcpu__run(struct mv_vcpu *v)
{
	if (v->state == MV_VCPU_CREATED)
		vcpu__set_state(v, MV_VCPU_BOOTING);
	for (;;) {
		gdb__before_run(v);
		vcpu__track_cpu(v);
		uint64_t t0 = v->stats ? stats__now() : 0;
		/* The partner's errno is the program's own (same thread, same TLS). What the
		 * partner does between two KVM_RUNs (glibc's ioctl, mmap, sched_setaffinity...
		 * for signals, threads, faults) must not change it: the HRT's value is kept in
		 * v->hrt_errno, which the thread's start set (runtime.c, thread.c, native.c). */
		errno = v->hrt_errno;
		/* Raw: glibc's ioctl() would store EINTR in errno. */
		long r = mv__raw_syscall(SYS_ioctl, v->fd, KVM_RUN, 0, 0, 0, 0);
		v->hrt_errno = errno;
		if (v->stats)
			stats__run(v, stats__now() - t0, vcpu__exit_kind(v, r));
		if (r < 0) {
			char what[96];
			if (r == -EINTR || r == -EAGAIN) {
				/* A host signal; its handler noted it: the HRT
				 * thread gets its handler now (signal.c). */
				signal__after_run(v);
				continue;
			}
			snprintf(what, sizeof what, "KVM_RUN failed: %s%s", strerror((int)-r),
				 r == -EFAULT ? " (guest touched process memory that is gone)" : "");
			if (vcpu__fail(v, what) < 0)
				return -1;
			continue;
		}
		if (vcpu__exit(v) < 0)
			return -1;
		if (v->state == MV_VCPU_EXITED) {
			errno = v->hrt_errno;
			return v->exit_status;
		}
	}
}
