/* env.c - MV_* settings read from their strings. Pure parsing (no pinning,
 * no system calls), so hvm/unit/t_env.c runs it on the host; the callers
 * (runtime.c, poll.c) act on the result. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mv.h"

/* Set, non-empty and not "0". */
int env__flag(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

/* A CPU list as Linux writes one ("0-2,5": numbers and ascending ranges, comma
 * separated, each CPU below CPU_SETSIZE). Calls each(cpu, arg) for every CPU
 * in the order listed, after checking the whole string: -1 when it is not
 * such a list (then each was not called), else how many calls. */
static int cpu_walk_(const char *s, void (*each)(int, void *), void *arg)
{
	for (int pass = 0, n = 0;; pass++, n = 0) {
		const char *p = s;
		while (1) {
			char *end;
			if (*p < '0' || *p > '9')
				return -1;		     /* no sign, no space, nothing empty */
			long a = strtol(p, &end, 10), b = a; /* overflow: LONG_MAX, refused below */
			if (*end == '-') {
				p = end + 1;
				if (*p < '0' || *p > '9')
					return -1;
				b = strtol(p, &end, 10);
			}
			if (a > b || b >= CPU_SETSIZE)
				return -1;
			for (long c = a; c <= b; c++, n++)
				if (pass)
					each((int)c, arg);
			if (!*end)
				break;
			if (*end != ',')
				return -1;
			p = end + 1;
		}
		if (pass)
			return n;
	}
}

/* strtol sets errno on overflow; errno is the program's, and libmv leaves it alone. */
static int cpu_walk(const char *s, void (*each)(int, void *), void *arg)
{
	int saved = errno, n = cpu_walk_(s, each, arg);
	errno = saved;
	return n;
}

struct cpu_list {
	int *cpus, n, max;
};

static void list_add(int c, void *arg)
{
	struct cpu_list *l = arg;
	if (l->n < l->max)
		l->cpus[l->n++] = c;
}

static void set_add(int c, void *arg)
{
	CPU_SET(c, (cpu_set_t *)arg);
}

/* MV_HRT_CPUS="1" | "1-3" | "3,1" -> cpus[], in the order listed (vCPU n runs
 * on the n-th), at most max of them; returns how many: 0 when unset or empty,
 * -1 when s is not a CPU list (the caller says so and pins nothing). */
int env__cpu_list(const char *s, int *cpus, int max)
{
	struct cpu_list l = { cpus, 0, max };
	if (!s || !*s)
		return 0;
	return cpu_walk(s, list_add, &l) < 0 ? -1 : l.n;
}

/* "0-2,5" -> set (poll.c: MV_ROS_CPUS, and MV_HRT_CPUS as the CPUs to keep
 * the server off); returns how many CPUs it holds, 0 when unset or empty, -1
 * (and an empty set) when s is not a CPU list. */
int env__cpu_set(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	if (!s || !*s)
		return 0;
	if (cpu_walk(s, set_add, set) < 0) {
		CPU_ZERO(set);
		return -1;
	}
	return CPU_COUNT(set);
}

/* An unsigned decimal setting from 0 to max: def when unset or empty, -1 when
 * it is anything else (the caller names it and uses def). */
int64_t env__uint(const char *s, int64_t def, int64_t max)
{
	char *end;
	int saved = errno; /* as in cpu_walk */
	if (!s || !*s)
		return def;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int bad = *end || errno || v > (unsigned long long)max;
	errno = saved;
	return bad ? -1 : (int64_t)v;
}
