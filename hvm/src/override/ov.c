/* ov.c - the override wrappers, linked into the program by mv-cc
 * --mv-override=NAME (with -Wl,--wrap for each symbol). Built once per
 * override (-DOV_<name>) into build/override/ov_<name>.o, so a program pulls only the
 * wrappers it asked for and every __real_X it references has its --wrap.
 * In the HRT a wrapper calls Nautilus (the service page's fn[]) and counts
 * the call; in the ROS, under MV_DISABLE=1, or when Nautilus does not serve
 * the request, it calls the original. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <nk/arena.h>
#include "override.h"

#define OV_API		__attribute__((visibility("default")))
#define SVC_FN(i, type) ((type)mv__ov_fn(i))

#ifdef OV_clock_gettime
int __real_clock_gettime(clockid_t c, struct timespec *ts);
OV_API int __wrap_clock_gettime(clockid_t c, struct timespec *ts)
{
	int (*f)(int, struct timespec *);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_CLOCK_GETTIME, int (*)(int, struct timespec *))) && f(c, ts) == 0) {
		mv__ov_count(MV_OV_CLOCK_GETTIME);
		return 0;
	}
	return __real_clock_gettime(c, ts);
}
#endif

#ifdef OV_gettimeofday
int __real_gettimeofday(struct timeval *tv, void *tz);
OV_API int __wrap_gettimeofday(struct timeval *tv, void *tz)
{
	int (*f)(struct timeval *);
	if (!tz && mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_GETTIMEOFDAY, int (*)(struct timeval *))) && f(tv) == 0) {
		mv__ov_count(MV_OV_GETTIMEOFDAY);
		return 0;
	}
	return __real_gettimeofday(tv, tz);
}
#endif

#ifdef OV_time
time_t __real_time(time_t *t);
OV_API time_t __wrap_time(time_t *t)
{
	int64_t (*f)(void);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_TIME, int64_t(*)(void)))) {
		time_t v = (time_t)f();
		mv__ov_count(MV_OV_TIME);
		if (t)
			*t = v;
		return v;
	}
	return __real_time(t);
}
#endif

/* A value captured in the service page when the VM starts (getpid, getuid & co): served from
 * there in the HRT, the original elsewhere. */
#define OV_FIELD(type, fn, field, counter)                                 \
	type __real_##fn(void);                                            \
	OV_API type __wrap_##fn(void)                                      \
	{                                                                  \
		if (mv__ov_in_hrt() && MV_OV_SVC->magic == MV_SVC_MAGIC) { \
			mv__ov_count(counter);                             \
			return (type)MV_OV_SVC->field;                     \
		}                                                          \
		return __real_##fn();                                      \
	}

#ifdef OV_getpid
OV_FIELD(pid_t, getpid, pid, MV_OV_GETPID)
#endif

#ifdef OV_gettid
pid_t __real_gettid(void);
OV_API pid_t __wrap_gettid(void)
{
	if (mv__ov_in_hrt() && MV_OV_SVC->magic == MV_SVC_MAGIC) {
		pid_t tid = MV_OV_SVC->tid[mv__ov_vcpu()];
		if (tid > 0) {
			mv__ov_count(MV_OV_GETTID);
			return tid;
		}
	}
	return __real_gettid();
}
#endif

#ifdef OV_getuid
/* One counter for the four (a set*id call in the HRT is not seen: see hvm/README.md). */
OV_FIELD(uid_t, getuid, uid, MV_OV_GETUID)
OV_FIELD(uid_t, geteuid, euid, MV_OV_GETUID)
OV_FIELD(gid_t, getgid, gid, MV_OV_GETUID)
OV_FIELD(gid_t, getegid, egid, MV_OV_GETUID)
#endif

#ifdef OV_sched_yield
int __real_sched_yield(void);
OV_API int __wrap_sched_yield(void)
{
	int (*f)(void);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_SCHED_YIELD, int (*)(void)))) {
		mv__ov_count(MV_OV_SCHED_YIELD);
		return f();
	}
	return __real_sched_yield();
}
#endif

#ifdef OV_pthread_create
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
OV_API int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	return mv__ov_native_create(__real_pthread_create, t, attr, fn, arg);
}
#endif

#ifdef OV_nanosleep
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
OV_API int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	int (*f)(const struct timespec *);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_NANOSLEEP, int (*)(const struct timespec *))) && f(req) == 0) {
		mv__ov_count(MV_OV_NANOSLEEP);
		return 0;
	}
	return __real_nanosleep(req, rem);
}
#endif

#ifdef OV_malloc
/* The whole family is wrapped together: an arena pointer must never reach
 * glibc's free/realloc, in the HRT or in the ROS (after main, in atexit
 * handlers, with MV_DISABLE=1 nothing is in the arena). New blocks come from
 * the arena only in the HRT; a glibc block (allocated before main, or in
 * the ROS) stays glibc's. A full arena falls back to glibc. */
void *__real_malloc(size_t n);
void __real_free(void *p);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **pp, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void *__real_memalign(size_t align, size_t n);
size_t __real_malloc_usable_size(void *p);

OV_API const int mv__ov_want_arena = 1;

static void *ov_alloc(size_t n)
{
	void *(*f)(size_t);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_MALLOC, void *(*)(size_t))))
		return f(n);
	return NULL;
}

static void *ov_memalign(size_t align, size_t n)
{
	void *(*f)(size_t, size_t);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_MEMALIGN, void *(*)(size_t, size_t))))
		return f(align, n);
	return NULL;
}

static void ov_release(void *p)
{
	void (*f)(void *);
	if (mv__ov_in_hrt() && (f = SVC_FN(MV_SVC_FREE, void (*)(void *)))) {
		f(p);
		mv__ov_count(MV_OV_FREE);
	} else {
		mv_arena_free(mv__ov_arena_base, p); /* libmv's copy of the same code */
	}
}

OV_API void *__wrap_malloc(size_t n)
{
	void *p = ov_alloc(n);
	if (p) {
		mv__ov_count(MV_OV_MALLOC);
		return p;
	}
	return __real_malloc(n);
}

OV_API void __wrap_free(void *p)
{
	if (mv__ov_arena_owns(p))
		ov_release(p);
	else
		__real_free(p);
}

OV_API void *__wrap_calloc(size_t n, size_t m)
{
	size_t t;
	void *p;
	if (!__builtin_mul_overflow(n, m, &t) && (p = ov_alloc(t))) {
		mv__ov_count(MV_OV_CALLOC);
		return memset(p, 0, t);
	}
	return __real_calloc(n, m);
}

OV_API void *__wrap_realloc(void *p, size_t n)
{
	if (!mv__ov_arena_owns(p)) {
		void *q;
		if (!p && (q = ov_alloc(n))) {
			mv__ov_count(MV_OV_REALLOC);
			return q;
		}
		return __real_realloc(p, n);
	}
	size_t have = mv_arena_usable(p);
	if (n && n <= have)
		return p; /* the block's class already holds it */
	if (!n) {
		ov_release(p);
		return NULL;
	}
	void *q = ov_alloc(n);
	if (q)
		mv__ov_count(MV_OV_REALLOC);
	else if (!(q = __real_malloc(n)))
		return NULL; /* errno ENOMEM; p is untouched */
	memcpy(q, p, have);
	ov_release(p);
	return q;
}

OV_API int __wrap_posix_memalign(void **pp, size_t align, size_t n)
{
	void *p;
	if (align && !(align & (align - 1)) && !(align % sizeof(void *)) && (p = ov_memalign(align, n))) {
		mv__ov_count(MV_OV_POSIX_MEMALIGN);
		*pp = p;
		return 0;
	}
	return __real_posix_memalign(pp, align, n);
}

OV_API void *__wrap_aligned_alloc(size_t align, size_t n)
{
	void *p;
	if (align && !(align & (align - 1)) && (p = ov_memalign(align, n))) {
		mv__ov_count(MV_OV_ALIGNED_ALLOC);
		return p;
	}
	return __real_aligned_alloc(align, n);
}

OV_API void *__wrap_memalign(size_t align, size_t n)
{
	void *p;
	if (align && !(align & (align - 1)) && (p = ov_memalign(align, n))) {
		mv__ov_count(MV_OV_ALIGNED_ALLOC);
		return p;
	}
	return __real_memalign(align, n);
}

OV_API size_t __wrap_malloc_usable_size(void *p)
{
	return mv__ov_arena_owns(p) ? mv_arena_usable(p) : __real_malloc_usable_size(p);
}
#endif
