/* <mv/hrt.h> - what a program can ask of the Multiverse runtime.
 * Every function is safe to call anywhere: the privileged helpers fail with
 * -EPERM (no crash) when the caller runs natively in the ROS. */
#ifndef MV_HRT_H
#define MV_HRT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the caller runs in the HRT (at CPL 0 in Nautilus), else 0. */
int mv_in_hrt(void);

/* The vCPU the caller runs on, or -1 in the ROS. */
int mv_vcpu_id(void);

/* Privileged helpers: 0 on success, -EPERM outside the HRT. */
int mv_read_cr3(uint64_t *cr3);
int mv_irq_disable(void);
int mv_irq_enable(void);

/* libmv and the embedded Nautilus version strings. */
const char *mv_version(void);

/* 1 when the exitless-call server runs (one more host thread in the process; hvm/README.md
 * "Exitless calls"), else 0. */
int mv_exitless(void);

/* Overrides (mv-cc --mv-override=NAME; hvm/README.md "Overrides").
 * How many calls to NAME were served HRT-natively (all threads; readable
 * anywhere, e.g. after main's calls); -1 for a name with no counter. Names:
 * clock_gettime gettimeofday time getpid gettid getuid sched_yield nanosleep
 * malloc free calloc realloc posix_memalign aligned_alloc, and "user" (the
 * sum of all user overrides). */
long mv_override_count(const char *name);
void mv_override_reset(void);

/* The API for user overrides (mv-cc --mv-user-override=NAME makes calls to
 * NAME go to your mv_hrt_NAME in the HRT, to the original elsewhere).
 * mv_hrt_NAME runs at CPL 0 on the caller's stack, IRQs off. It may call
 * ordinary code (no system call costs an exit more than elsewhere) and: */
/* printf-style console output; in the HRT through Nautilus (one hypercall,
 * no forwarded write); in the ROS to stderr. Returns the length. */
int mv_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* HRT memory: the malloc arena (no exit per call); NULL in the ROS or when
 * the arena is not set up. mv_hrt_free works anywhere. */
void *mv_hrt_alloc(size_t n);
void mv_hrt_free(void *p);
/* CLOCK_MONOTONIC in ns from the TSC in the HRT (no exit); the vDSO elsewhere. */
uint64_t mv_hrt_time_ns(void);
/* HRT threads: pthread_create, but in the HRT the thread is HRT-native: it
 * runs on a pooled vCPU that stays booted in Nautilus, with no host thread
 * cloned for it (each pooled vCPU has one runner thread, reused, that
 * forwards the system calls of the thread it runs). Join, detach, TLS,
 * futexes and signals work as for any thread. In the ROS, an ordinary
 * thread. mv-cc --mv-override=pthread_create makes every pthread_create
 * do this. Returns what pthread_create returns. */
int mv_hrt_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
/* 1 when the caller is an HRT-native thread, else 0. */
int mv_hrt_thread_native(void);
/* Calls that took mv_hrt_NAME: MV_USER_OVERRIDE_COUNT(NAME). */
#define MV_USER_OVERRIDE_COUNT(name)   (__mv_ov_calls_##name + 0)
#define MV_DECLARE_USER_OVERRIDE(name) extern uint64_t __mv_ov_calls_##name

#ifdef __cplusplus
}
#endif
#endif
