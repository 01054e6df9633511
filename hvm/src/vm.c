/* vm.c - one VM per process: /dev/kvm, the HRT-private memory (memslot 0),
 * Nautilus loaded from the executable's .mv_hrt section, the boot-info block.
 * Setup errors return -errno with a message the user can act on. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mv.h"

/* Defined by mv_hrt.o, which mv-cc links into every executable. Weak so a
 * program linked without it fails cleanly instead of at load time. */
extern const unsigned char __mv_hrt_start[] __attribute__((weak));
extern const unsigned char __mv_hrt_end[] __attribute__((weak));

static int vm__fail(char *err, size_t n, int rc, const char *msg)
{
	snprintf(err, n, "%s", msg);
	return rc;
}

static int vm__load_nautilus(struct mv_vm *vm, char *err, size_t n)
{
	const unsigned char *img = __mv_hrt_start;
	size_t size = (size_t)(__mv_hrt_end - __mv_hrt_start);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;

	if (!img || size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_machine != EM_X86_64)
		return vm__fail(err, n, -ENOEXEC, "no Nautilus image in section .mv_hrt (link with mv-cc)");
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff + (size_t)i * eh->e_phentsize);
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t gpa = ph->p_vaddr - MV_KERNEL_VBASE;
		if (ph->p_vaddr < MV_KERNEL_VBASE || gpa < MV_KERNEL_GPA || gpa + ph->p_memsz > MV_HEAP_GPA ||
		    ph->p_offset + ph->p_filesz > size)
			return vm__fail(err, n, -ENOEXEC, "Nautilus image does not fit the guest layout (mv/abi.h)");
		memcpy(vm->hrt + gpa, img + ph->p_offset, ph->p_filesz);
		/* The rest of p_memsz (bss) is already zero: fresh anonymous memory. */
	}
	vm->entry = eh->e_entry;
	return 0;
}

int vm__create(struct mv_vm **out, const struct mv_options *opt, char *err, size_t n)
{
	struct mv_vm *vm;
	int rc;

	/* mmap, not malloc: the partner must never share glibc's heap state
	 * with the HRT thread it serves (same thread, same arena). */
	vm = mmap(NULL, sizeof *vm, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm == MAP_FAILED)
		return vm__fail(err, n, -ENOMEM, "out of memory");
	memset(vm, 0, sizeof *vm);
	vm->kvm_fd = vm->vm_fd = -1;
	vm->opt = *opt;
	vm->stats_t0 = opt->t0;
	pthread_mutex_init(&vm->vcpu_lock, NULL);
	pthread_mutex_init(&vm->mem_lock, NULL);
	signal__init(vm);
	*out = vm;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vm__fail(err, n, -errno,
				errno == ENOENT ? "/dev/kvm is missing (load kvm_intel or kvm_amd)"
						: "cannot open /dev/kvm (check its permissions)");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return vm__fail(err, n, -EINVAL, "unsupported KVM API version");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm__fail(err, n, -errno, "KVM_CREATE_VM failed");
	stats__mark(vm, MV_START_VM);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return vm__fail(err, n, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
	if ((rc = cpu__supported_cpuid(vm)) < 0)
		return vm__fail(err, n, rc, "KVM_GET_SUPPORTED_CPUID failed");
	stats__mark(vm, MV_START_CPUID);

	vm->hrt =
		mmap(NULL, MV_HRT_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->hrt == MAP_FAILED)
		return vm__fail(err, n, -ENOMEM, "cannot map the HRT-private memory");
	/* 4 KiB pages: the HRT touches about 100 KiB of these 64 MiB (boot info, call pages, the
	 * kernel, per-vCPU stacks, page tables); with transparent huge pages each first touch
	 * zeroes 2 MiB (under QEMU TCG, 7 ms for the page-table pool alone) and keeps it. */
	madvise(vm->hrt, MV_HRT_MEM_SIZE, MADV_NOHUGEPAGE);
	struct kvm_userspace_memory_region r = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MV_HRT_MEM_SIZE,
		.userspace_addr = (uint64_t)vm->hrt,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return vm__fail(err, n, -errno, "KVM_SET_USER_MEMORY_REGION (HRT memory) failed");
	if ((rc = vm__load_nautilus(vm, err, n)) < 0)
		return rc;
	stats__mark(vm, MV_START_NAUTILUS);
	pt__init(vm);
	if ((rc = mem__init(vm)) < 0)
		return vm__fail(err, n, rc, "cannot read /proc/self/maps");
	stats__mark(vm, MV_START_MAPS);
	vcpu__boot_template(vm);
	return 0;
}

/* Close what vm__create and the vCPUs opened: the native fallback (the probe failed) goes on
 * without any of it. Only before a second thread exists (runtime.c's fallback path). */
void vm__destroy(struct mv_vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i] && vm->vcpus[i]->partner_stack)
			munmap(vm->vcpus[i]->partner_stack, MV_THREAD_PARTNER_STACK);
		vcpu__destroy(vm->vcpus[i]);
		vm->vcpus[i] = NULL;
	}
	vm->nvcpus = 0;
	cpu__free_cpuid(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->hrt && vm->hrt != MAP_FAILED)
		munmap(vm->hrt, MV_HRT_MEM_SIZE);
	if (vm->vmas)
		munmap(vm->vmas, (size_t)vm->vmas_cap * sizeof *vm->vmas);
	munmap(vm, sizeof *vm);
}

/* Host pointer for an HRT-private GVA range, or 0 if it is outside. */
uint64_t vm__gva_to_host(struct mv_vm *vm, uint64_t gva, uint64_t len, void **host)
{
	if (gva < MV_KERNEL_VBASE || len > MV_HRT_MEM_SIZE || gva - MV_KERNEL_VBASE > MV_HRT_MEM_SIZE - len)
		return 0;
	*host = vm->hrt + (gva - MV_KERNEL_VBASE);
	return 1;
}
