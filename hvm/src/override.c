/* override.c - the ROS side of the overrides (hvm/README.md "Overrides"):
 * fills the service page before vCPU 0 boots (clock anchor, identity, the
 * malloc arena), keeps the call counters, and the <mv/hrt.h> API for
 * statistics and user overrides. The wrappers themselves are in
 * src/override/ov.c (build/override/ov_NAME.o, linked by mv-cc --mv-override=...). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <nk/arena.h>
#include <mv/hrt.h>
#include "mv.h"
#include "override/override.h"

#define MV_API	       __attribute__((visibility("default")))
#define MV_ARENA_MAX   (64ULL << 30) /* VA only: MAP_NORESERVE, faulted lazily */
#define MV_ARENA_MIN   (256ULL << 20)
#define MV_SPIN_MAX_NS 1000000ULL /* nanosleep: up to 1 ms spins in the HRT */
#define MV_REANCHOR_MS 1000ULL	  /* Nautilus checks the clock against the ROS's this often */

MV_API uint64_t mv__ov_counts[MV_MAX_VCPUS][MV_OV_N];
MV_API uint64_t mv__ov_arena_base, mv__ov_arena_size;
/* Defined by the wrapper objects that need the arena (malloc, user overrides). */
extern const int mv__ov_want_arena __attribute__((weak));

static const char *const ov_names[MV_OV_N] = { MV_OV_NAMES };

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* (tsc, ns) of clock c, from the tightest of a few rdtsc brackets. */
static void override__anchor(clockid_t c, uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = ~0ULL;

	for (int i = 0; i < 16; i++) {
		struct timespec ts;
		uint64_t t1 = rdtsc();
		clock_gettime(c, &ts);
		uint64_t t2 = rdtsc();
		if (t2 - t1 < best) {
			best = t2 - t1;
			*tsc = t1 + (t2 - t1) / 2;
			*ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		}
	}
}

/* The host's TSC rate as KVM knows it; else measured over 20 ms. */
static uint64_t override__tsc_khz(struct mv_vm *vm, struct mv_vcpu *v)
{
	int khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
	uint64_t t0, n0, t1, n1;

	if (khz <= 0)
		khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0)
		return (uint64_t)khz;
	override__anchor(CLOCK_MONOTONIC_RAW, &t0, &n0);
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	override__anchor(CLOCK_MONOTONIC_RAW, &t1, &n1);
	return n1 > n0 ? (t1 - t0) * 1000000ULL / (n1 - n0) : 0;
}

static void override__arena(struct mv_svc_page *s)
{
	if (!&mv__ov_want_arena || mv__ov_arena_base)
		return;
	for (uint64_t size = MV_ARENA_MAX; size >= MV_ARENA_MIN; size /= 2) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		mv_arena_init((uint64_t)p, size);
		mv__ov_arena_base = (uint64_t)p;
		mv__ov_arena_size = size;
		break;
	}
	s->arena_start = mv__ov_arena_base;
	s->arena_size = mv__ov_arena_size;
}

/* Before vCPU 0 boots: Nautilus's svc__init reads this page. */
void override__setup(struct mv_vm *vm, struct mv_vcpu *v)
{
	struct mv_svc_page *s = vm__svc(vm);
	static const clockid_t clocks[MV_SVC_CLOCKS] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
							 CLOCK_BOOTTIME };
	struct kvm_device_attr tsc = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET };

	memset(s, 0, sizeof *s);
	/* The clock needs guest TSC == host TSC (cpu__sync_tsc). */
	if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &tsc) == 0 && (s->tsc_khz = override__tsc_khz(vm, v))) {
		s->mult = (1000000ULL << 32) / s->tsc_khz;
		/* Tests only: a nominal rate off by N ppm, which re-anchoring must absorb. */
		const char *skew = getenv("MV_TEST_CLOCK_SKEW_PPM");
		if (skew && *skew)
			s->mult = (uint64_t)((int64_t)s->mult + (int64_t)s->mult / 1000000 * strtol(skew, NULL, 10));
		s->period = s->tsc_khz * MV_REANCHOR_MS;
		for (int c = 0; c < MV_SVC_CLOCKS; c++) {
			override__anchor(clocks[c], &s->base_tsc[c], &s->base_ns[c]);
			s->cmult[c] = s->mult;
			s->first_tsc[c] = s->base_tsc[c];
			s->first_ns[c] = s->base_ns[c];
			s->next_tsc[c] = s->base_tsc[c] + s->period;
		}
		s->spin_max_ns = MV_SPIN_MAX_NS;
	}
	s->pid = (int32_t)mv__raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	s->uid = (int32_t)mv__raw_syscall(SYS_getuid, 0, 0, 0, 0, 0, 0);
	s->euid = (int32_t)mv__raw_syscall(SYS_geteuid, 0, 0, 0, 0, 0, 0);
	s->gid = (int32_t)mv__raw_syscall(SYS_getgid, 0, 0, 0, 0, 0, 0);
	s->egid = (int32_t)mv__raw_syscall(SYS_getegid, 0, 0, 0, 0, 0, 0);
	s->tid[v->id] = v->tid;
	override__arena(s);
	s->magic = MV_SVC_MAGIC;
}

/* A thread's partner, before its vCPU boots: the HRT thread's gettid() is
 * its partner's TID (v->tid, set by thread__partner_main). */
void override__thread(struct mv_vcpu *v)
{
	struct mv_svc_page *s = vm__svc(v->vm);
	s->tid[v->id & (MV_MAX_VCPUS - 1)] = v->tid;
	s->native[v->id & (MV_MAX_VCPUS - 1)] = (uint8_t)v->native;
}

/* --- <mv/hrt.h>: statistics ---------------------------------------------- */

MV_API long mv_override_count(const char *name)
{
	for (int i = 0; i < MV_OV_N; i++) {
		if (strcmp(name, ov_names[i]) != 0)
			continue;
		uint64_t n = 0;
		for (int c = 0; c < MV_MAX_VCPUS; c++)
			n += __atomic_load_n(&mv__ov_counts[c][i], __ATOMIC_RELAXED);
		return (long)n;
	}
	return -1;
}

MV_API void mv_override_reset(void)
{
	memset(mv__ov_counts, 0, sizeof mv__ov_counts);
}

/* --- <mv/hrt.h>: HRT threads (native.c) ------------------------------------ */

MV_API int mv_hrt_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	return mv__ov_native_create(pthread_create, t, attr, fn, arg);
}

MV_API int mv_hrt_thread_native(void)
{
	if (!mv__ov_in_hrt() || MV_OV_SVC->magic != MV_SVC_MAGIC)
		return 0;
	return MV_OV_SVC->native[mv__ov_vcpu()];
}

/* --- <mv/hrt.h>: the API for user overrides -------------------------------- */

MV_API int mv_printk(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	void (*k)(const char *, size_t) =
		mv__ov_in_hrt() ? (void (*)(const char *, size_t))mv__ov_fn(MV_SVC_PRINTK) : 0;
	if (k)
		k(buf, (size_t)n); /* Nautilus's console hypercall: no system call */
	else
		mv__raw_syscall(SYS_write, 2, (long)buf, n, 0, 0, 0);
	return n;
}

MV_API void *mv_hrt_alloc(size_t n)
{
	void *(*f)(size_t) = mv__ov_in_hrt() ? (void *(*)(size_t))mv__ov_fn(MV_SVC_MALLOC) : 0;
	return f ? f(n) : NULL;
}

MV_API void mv_hrt_free(void *p)
{
	if (!p || !mv__ov_arena_owns(p))
		return;
	void (*f)(void *) = mv__ov_in_hrt() ? (void (*)(void *))mv__ov_fn(MV_SVC_FREE) : 0;
	if (f)
		f(p);
	else
		mv_arena_free(mv__ov_arena_base, p);
}

MV_API uint64_t mv_hrt_time_ns(void)
{
	int (*f)(int, struct timespec *) = 0;
	struct timespec ts;

	if (mv__ov_in_hrt())
		f = (int (*)(int, struct timespec *))mv__ov_fn(MV_SVC_CLOCK_GETTIME);
	if (!f || f(CLOCK_MONOTONIC, &ts) != 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
