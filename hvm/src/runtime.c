/* runtime.c - __wrap_main (the start of a split program) and <mv/hrt.h>.
 *
 * mv-cc links with --wrap=main, so glibc's start code calls __wrap_main
 * after the loader and constructors ran. It creates the VM and vCPU 0, and
 * this host thread becomes vCPU 0's partner: it sits in KVM_RUN while main
 * runs in the HRT, and performs the forwarded calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <asm/prctl.h>
#include <mv/hrt.h>
#include "mv.h"

#define MV_API __attribute__((visibility("default")))

/* main's address, from mv_hrt.o: `.quad __real_main`, which --wrap=main
 * resolves to the program's main. Going through this pointer (instead of
 * calling __real_main here) makes libmv.so work too, where --wrap does not
 * reach. */
extern int (*const __mv_main_ptr)(int, char **, char **) __attribute__((weak));

/* The partner keeps this much of the thread's stack above the HRT's: it runs
 * its handlers (and KVM_RUN) there while main's frames live below. */
#define MV_PARTNER_STACK (256 * 1024)

/* Pin this thread, vCPU id's partner, to the id-th CPU of MV_HRT_CPUS (env.c):
 * the partner is the same thread, so it stays next to its vCPU. Unset: no pinning. */
void mv__pin_vcpu(int id)
{
	static int warned; /* atomic (exchange) */
	int cpus[CPU_SETSIZE], n = env__cpu_list(getenv("MV_HRT_CPUS"), cpus, CPU_SETSIZE);
	cpu_set_t set;

	if (n < 0 && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		mv__log("mv: MV_HRT_CPUS=%s: not a CPU list like 0-2,5; no pinning\n", getenv("MV_HRT_CPUS"));
	if (n <= 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpus[id % n], &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		mv__log("mv: MV_HRT_CPUS=%s: cannot pin vCPU %d to CPU %d (ignored)\n", getenv("MV_HRT_CPUS"), id,
			cpus[id % n]);
}

/* main runs under this trampoline, so its return address is in the user
 * half: a fork()ed child, which continues natively in the ROS, then exits
 * through glibc as after any main; in the HRT it returns to Nautilus. */
static int (*runtime_main)(int, char **, char **);
static int runtime__main_trampoline(int argc, char **argv, char **envp)
{
	int r = runtime_main(argc, argv, envp);
	if (!mv_in_hrt())
		exit(r);
	return r;
}

static int runtime__hrt_main(int (*main_fn)(int, char **, char **), int argc, char **argv, char **envp, int errno0,
			     char *err, size_t n)
{
	uint64_t t0 = stats__now();
	struct mv_options opt = {
		.trace = env__flag("MV_TRACE"),
		.announce = env__flag("MV_ANNOUNCE"),
		.verbose = env__flag("MV_VERBOSE"),
	};
	const char *stats = stats__option();
	struct mv_vm *vm = NULL;
	struct mv_vcpu *v = NULL;
	uint64_t fs = 0;
	int rc;

	if (stats) {
		opt.stats = 1;
		opt.t0 = t0;
		snprintf(opt.stats_path, sizeof opt.stats_path, "%s", stats);
	}
	mv__pin_vcpu(0);
	if ((rc = vm__create(&vm, &opt, err, n)) < 0 || (rc = vcpu__create(vm, 0, &v, err, n)) < 0)
		goto fail;
	stats__mark(vm, MV_START_VCPU);
	__atomic_store_n(&v->busy, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&v->tid, (int)mv__raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0), __ATOMIC_RELAXED);
	vm->vcpus[0] = v;
	vm->nvcpus = 1;
	mv__raw_syscall(SYS_arch_prctl, ARCH_GET_FS, (long)&fs, 0, 0, 0, 0);
	runtime_main = main_fn;
	vcpu__boot_main(v, (uint64_t)runtime__main_trampoline, argc, argv, envp,
			((uint64_t)__builtin_frame_address(0) - MV_PARTNER_STACK) & ~15ULL, fs);
	override__setup(vm, v);
	stats__mark(vm, MV_START_SERVICES);
	vm->main_fn = (uint64_t)main_fn;
	v->hrt_errno = errno0;
	rc = vcpu__run(v);
	if (rc >= 0) {
		gdb__exit(rc, 0);
		profile__finish(vm);
		poll__stop(vm);
		stats__summary(vm);
		signal__release(vm);
		return rc; /* main returned: glibc's exit() runs atexit handlers here */
	}
	snprintf(err, n, "%s", v->probe_error);
	rc = -1;
fail:
	vm__destroy(vm);
	return rc < 0 ? -1 : rc;
}

MV_API int __wrap_main(int argc, char **argv, char **envp)
{
	if (!__mv_main_ptr) {
		fprintf(stderr, "mv: this program was not linked by mv-cc (no __mv_main_ptr)\n");
		return 127;
	}
	return mv__run_main(__mv_main_ptr, argc, argv, envp);
}

/* main_fn in the HRT (or natively, see MV_DISABLE / the fallback). */
int mv__run_main(int (*main_fn)(int, char **, char **), int argc, char **argv, char **envp)
{
	char err[256] = "unknown error";
	int errno0 = errno, rc; /* main gets errno as glibc's start left it, not libmv's setup */

	if (env__flag("MV_DISABLE")) {
		stats__native();
		return main_fn(argc, argv, envp);
	}
	rc = runtime__hrt_main(main_fn, argc, argv, envp, errno0, err, sizeof err);
	if (rc >= 0)
		return rc;
	errno = errno0;
	stats__native();
	if (env__flag("MV_REQUIRE_HRT")) {
		fprintf(stderr, "mv: MV_REQUIRE_HRT is set but the HRT cannot run: %s\n", err);
		return 126;
	}
	fprintf(stderr, "mv: no usable KVM (%s); running main natively\n", err);
	return main_fn(argc, argv, envp);
}

/* --- <mv/hrt.h> --------------------------------------------------------- */

static int cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

MV_API int mv_in_hrt(void)
{
	/* CPL 0 in user code is only possible inside the HRT. */
	return cpl() == 0;
}

MV_API int mv_vcpu_id(void)
{
	uint32_t id;
	if (!mv_in_hrt())
		return -1;
	__asm__ volatile("movl %%gs:%c1, %0" : "=r"(id) : "i"(MV_GS_VCPU_ID));
	return (int)id;
}

MV_API int mv_read_cr3(uint64_t *cr3)
{
	if (!mv_in_hrt())
		return -EPERM;
	__asm__ volatile("mov %%cr3, %0" : "=r"(*cr3));
	return 0;
}

MV_API int mv_irq_disable(void)
{
	if (!mv_in_hrt())
		return -EPERM;
	__asm__ volatile("cli" ::: "memory");
	return 0;
}

MV_API int mv_irq_enable(void)
{
	if (!mv_in_hrt())
		return -EPERM;
	__asm__ volatile("sti" ::: "memory");
	return 0;
}

MV_API const char *mv_version(void)
{
	return "libmv " MV_VERSION " (" MV_ABI_NAME ")";
}
