/* env.c - MV_* settings read from their strings. Pure parsing (no pinning,
 * no system calls), so hvm/unit/t_env.c runs it on the host; the callers
 * (runtime.c, poll.c) act on the result. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "mv.h"

/* Set, non-empty and not "0". */
int env__flag(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

/* MV_HRT_CPUS="1" | "1-3" | "1,3" -> cpus[], in the order listed (vCPU n runs
 * on the n-th), at most max of them; returns how many. A list that starts
 * with something else than a number, or has one after a comma, names none:
 * no pinning. */
int env__cpu_list(const char *s, int *cpus, int max)
{
	int n = 0;

	while (s && *s && n < max) {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s)
			return 0;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		/* Only 0 to CPU_SETSIZE - 1: "2000-99999999999" must not count to b. */
		for (long c = a < 0 ? 0 : a; c <= b && c < CPU_SETSIZE && n < max; c++)
			cpus[n++] = (int)c;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
	return n;
}

/* "0-2,5" -> set; returns how many CPUs it names (poll.c: MV_ROS_CPUS, and
 * MV_HRT_CPUS as the CPUs to keep the server off). */
int env__cpu_set(const char *s, cpu_set_t *set)
{
	int n = 0;
	CPU_ZERO(set);
	while (s && *s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long c = a < 0 ? 0 : a; c <= b && c < CPU_SETSIZE; c++)
			if (!CPU_ISSET(c, set)) {
				CPU_SET(c, set);
				n++;
			}
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
	return n;
}
