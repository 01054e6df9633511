/* override.h - shared by libmv (override.c) and the wrappers (ov.c, linked
 * into the program as build/override/ov_NAME.o): override ids, the per-vCPU call
 * counters, the arena range. See hvm/README.md "Overrides". */
#ifndef MV_OVERRIDE_H
#define MV_OVERRIDE_H
#include <pthread.h>
#include <stdint.h>
#include <mv/abi.h>

/* One counter per overridden symbol family member (src/override/overrides.list, third field),
 * then user overrides: the enum and the names are generated from the list (build/ov_list.h). */
#include "ov_list.h"
enum mv_ov { MV_OV_COUNTERS MV_OV_N };

/* Calls served in the HRT, per vCPU (no shared cache line on the hot path). */
extern uint64_t mv__ov_counts[MV_MAX_VCPUS][MV_OV_N];
/* The malloc arena in process memory ([base, base + size)), 0 when none. */
extern uint64_t mv__ov_arena_base, mv__ov_arena_size;

#define MV_OV_SVC ((volatile struct mv_svc_page *)(MV_KERNEL_VBASE + MV_SVC_GPA))

static inline int mv__ov_in_hrt(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 0;
}

/* The caller's vCPU, as an index. Only in the HRT (GS is Nautilus's
 * per-vCPU block there). */
static inline uint32_t mv__ov_vcpu(void)
{
	uint32_t id;
	__asm__ volatile("movl %%gs:%c1, %0" : "=r"(id) : "i"(MV_GS_VCPU_ID));
	return id & (MV_MAX_VCPUS - 1);
}

/* Only in the HRT. */
static inline void mv__ov_count(int ov)
{
	mv__ov_counts[mv__ov_vcpu()][ov]++;
}

/* fn[i] of the service page, or 0. Only in the HRT: the page is not mapped
 * in the process. */
static inline void *mv__ov_fn(int i)
{
	return (void *)MV_OV_SVC->fn[i];
}

/* Make the next thread clone(2) from this vCPU an HRT-native thread
 * (hvm/src/native.c): returns the flag to clear after pthread_create, or
 * NULL outside the HRT (an ordinary thread then) and when an outer call
 * already asked (mv_hrt_thread_create reaching the pthread_create override:
 * the outer one clears and counts). */
static inline volatile uint8_t *mv__ov_native_ask(void)
{
	if (!mv__ov_in_hrt() || MV_OV_SVC->magic != MV_SVC_MAGIC)
		return 0;
	volatile uint8_t *f = &MV_OV_SVC->native_clone[mv__ov_vcpu()];
	if (*f)
		return 0;
	*f = 1;
	return f;
}

/* pthread_create through `create` (glibc's, or __real_pthread_create under
 * --wrap), as an HRT-native thread in the HRT: the ask is cleared after the
 * call, and a native thread that started is counted. */
typedef int (*mv__ov_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static inline int mv__ov_native_create(mv__ov_create_fn create, pthread_t *t, const pthread_attr_t *attr,
				       void *(*fn)(void *), void *arg)
{
	volatile uint8_t *native = mv__ov_native_ask();
	int r = create(t, attr, fn, arg);
	if (native) {
		*native = 0;
		if (r == 0)
			mv__ov_count(MV_OV_PTHREAD_CREATE);
	}
	return r;
}

static inline int mv__ov_arena_owns(const void *p)
{
	return (uint64_t)p - mv__ov_arena_base < mv__ov_arena_size;
}
#endif
