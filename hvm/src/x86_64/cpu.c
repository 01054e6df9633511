/* x86_64/cpu.c - vCPU architectural state: CPUID, control registers, XCR0,
 * TSC, segments, entry registers. Small helpers, one or two ioctls each. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "../mv.h"

#define CR0_PE	       (1ULL << 0)
#define CR0_MP	       (1ULL << 1)
#define CR0_ET	       (1ULL << 4)
#define CR0_NE	       (1ULL << 5)
#define CR0_WP	       (1ULL << 16)
#define CR0_AM	       (1ULL << 18)
#define CR0_PG	       (1ULL << 31)
#define CR4_PAE	       (1ULL << 5)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_OSXSAVE    (1ULL << 18)
#define EFER_SCE       (1ULL << 0)
#define EFER_LME       (1ULL << 8)
#define EFER_LMA       (1ULL << 10)
#define EFER_NXE       (1ULL << 11)

static struct kvm_cpuid_entry2 *cpu__leaf(struct mv_vm *vm, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == fn && vm->cpuid->entries[i].index == idx)
			return &vm->cpuid->entries[i];
	return NULL;
}

#define CPUID_MAX  256
#define CPUID_SIZE (sizeof(struct kvm_cpuid2) + CPUID_MAX * sizeof(struct kvm_cpuid_entry2))

void cpu__free_cpuid(struct mv_vm *vm)
{
	if (vm->cpuid && vm->cpuid != MAP_FAILED)
		munmap(vm->cpuid, CPUID_SIZE);
	vm->cpuid = NULL;
}

int cpu__supported_cpuid(struct mv_vm *vm)
{
	const int max = CPUID_MAX;
	size_t sz = CPUID_SIZE;
	struct kvm_cpuid_entry2 *e;
	unsigned a, b, c, d;

	vm->cpuid = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->cpuid == MAP_FAILED)
		return -ENOMEM;
	vm->cpuid->nent = max;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return -errno;
	/* glibc chose its AVX routines from the HOST cpuid: the probe must run
	 * AVX if the host has it, whatever KVM claims to support. */
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	vm->has_avx = (c >> 28) & 1;
	/* No protection keys in the HRT (hvm/README.md): hide PKU and OSPKE,
	 * as a CPU without them would report; pkey_alloc fails to match. */
	if ((e = cpu__leaf(vm, 7, 0)))
		e->ecx &= ~((1u << 3) | (1u << 4));
	/* Compact guest-physical addresses must stay below MAXPHYADDR. */
	e = cpu__leaf(vm, 0x80000008, 0);
	unsigned bits = e ? (e->eax & 0xff) : 36;
	if (bits < 32 || bits > 52)
		bits = 36;
	vm->gpa_limit = 1ULL << bits;
	return 0;
}

static int cpu__set_cpuid(struct mv_vcpu *v)
{
	return ioctl(v->fd, KVM_SET_CPUID2, v->vm->cpuid) < 0 ? -errno : 0;
}

/* XCR0 = host XCR0, masked by what KVM supports (CPUID 0xD.0): glibc's
 * AVX code needs the YMM state enabled; KVM refuses bits it cannot back. */
static int cpu__set_xcr0(struct mv_vcpu *v)
{
	struct kvm_cpuid_entry2 *e = cpu__leaf(v->vm, 0xd, 0);
	uint32_t lo, hi;
	struct kvm_xcrs x;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	memset(&x, 0, sizeof x);
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = ((uint64_t)hi << 32 | lo) & (e ? ((uint64_t)e->edx << 32 | e->eax) : 3);
	return ioctl(v->fd, KVM_SET_XCRS, &x) < 0 ? -errno : 0;
}

static int cpu__set_sregs(struct mv_vcpu *v, uint64_t fs_base)
{
	struct kvm_sregs s;
	struct kvm_segment code = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = MV_SEL_KCODE,
		.present = 1,
		.type = 11,
		.dpl = 0,
		.db = 0,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	struct kvm_segment data = code;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	data.selector = MV_SEL_KDATA;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s.cs = code;
	s.ds = s.es = s.ss = s.gs = data;
	s.fs = data;
	s.fs.base = fs_base;
	/* Nautilus loads its own GDT/TSS/IDT; until then no descriptor is read. */
	s.tr = (struct kvm_segment){ .base = 0, .limit = 0x67, .selector = MV_SEL_TSS, .type = 11, .present = 1 };
	s.gdt.base = 0;
	s.gdt.limit = 0;
	s.idt.base = 0;
	s.idt.limit = 0;
	/* WP: a CPL-0 write to a read-only PTE must fault, or the HRT could
	 * write through PROT_READ mappings the process cannot write. */
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	s.cr3 = v->vm->pml4_gpa;
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	return ioctl(v->fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

/* Guest TSC == host TSC, so the vDSO's clock_gettime (TSC + vvar page, both
 * shared) gives host time in the HRT. Best effort: older KVMs lack it. */
static void cpu__sync_tsc(struct mv_vcpu *v)
{
	uint64_t off = 0;
	struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uint64_t)&off };
	if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &a) == 0)
		ioctl(v->fd, KVM_SET_DEVICE_ATTR, &a);
}

static int cpu__set_entry(struct mv_vcpu *v, uint64_t rip, uint64_t rdi)
{
	struct kvm_regs r;

	memset(&r, 0, sizeof r);
	r.rip = rip;
	r.rdi = rdi;
	r.rflags = 2;
	return ioctl(v->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

int cpu__setup(struct mv_vcpu *v, uint64_t rip, uint64_t rdi, uint64_t fs_base, char *err, size_t n)
{
	int rc;

	if ((rc = cpu__set_cpuid(v)) < 0) {
		snprintf(err, n, "KVM_SET_CPUID2 failed: %s", strerror(-rc));
		return rc;
	}
	if ((rc = cpu__set_sregs(v, fs_base)) < 0) {
		snprintf(err, n, "KVM_SET_SREGS failed: %s", strerror(-rc));
		return rc;
	}
	if ((rc = cpu__set_xcr0(v)) < 0) {
		snprintf(err, n, "KVM_SET_XCRS failed (no XSAVE in this KVM?): %s", strerror(-rc));
		return rc;
	}
	cpu__sync_tsc(v);
	if ((rc = cpu__set_entry(v, rip, rdi)) < 0) {
		snprintf(err, n, "KVM_SET_REGS failed: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* Reboot a vCPU whose thread exited, for the next thread: segments, control
 * registers and entry registers only (KVM refuses a changed CPUID after the
 * first KVM_RUN; ours never changes). */
int cpu__reset(struct mv_vcpu *v, uint64_t rip, uint64_t rdi, uint64_t fs_base)
{
	int rc;

	if ((rc = cpu__set_sregs(v, fs_base)) < 0)
		return rc;
	return cpu__set_entry(v, rip, rdi);
}

/* A pooled vCPU takes a new thread (native.c): the thread's FS base and the
 * x87/SSE state a fresh Linux thread would see (control words at their
 * reset values, registers clear), not the previous thread's leftovers.
 * Raw ioctls: the caller's FS may not be a valid TCB yet, so no errno. */
int cpu__new_thread(struct mv_vcpu *v, uint64_t fs_base)
{
	struct kvm_sregs s;
	struct kvm_fpu f = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	long rc;

	if ((rc = mv__raw_syscall(SYS_ioctl, v->fd, KVM_GET_SREGS, (long)&s, 0, 0, 0)) < 0)
		return (int)rc;
	s.fs.base = fs_base;
	if ((rc = mv__raw_syscall(SYS_ioctl, v->fd, KVM_SET_SREGS, (long)&s, 0, 0, 0)) < 0)
		return (int)rc;
	return (int)mv__raw_syscall(SYS_ioctl, v->fd, KVM_SET_FPU, (long)&f, 0, 0, 0);
}

/* The general registers, rip and rflags from KVM's; every other field of *o is zeroed. */
void cpu__regs_from_kvm(struct mv_regs *o, const struct kvm_regs *r)
{
	*o = (struct mv_regs){
		.rax = r->rax,
		.rbx = r->rbx,
		.rcx = r->rcx,
		.rdx = r->rdx,
		.rsi = r->rsi,
		.rdi = r->rdi,
		.rbp = r->rbp,
		.rsp = r->rsp,
		.r8 = r->r8,
		.r9 = r->r9,
		.r10 = r->r10,
		.r11 = r->r11,
		.r12 = r->r12,
		.r13 = r->r13,
		.r14 = r->r14,
		.r15 = r->r15,
		.rip = r->rip,
		.rflags = r->rflags,
	};
}

int cpu__get_regs(struct mv_vcpu *v, struct mv_regs *o)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	cpu__regs_from_kvm(o, &r);
	o->cs = s.cs.selector;
	o->ss = s.ss.selector;
	o->vector = ~0ULL;
	o->cr2 = s.cr2;
	o->cr3 = s.cr3;
	o->fs_base = s.fs.base;
	o->gs_base = s.gs.base;
	return 0;
}
