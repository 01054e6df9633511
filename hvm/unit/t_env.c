/* t_env.c - MV_* settings from their strings (src/env.c): flags, the ordered
 * CPU list of MV_HRT_CPUS (pinning) and the CPU set of MV_ROS_CPUS /
 * MV_HRT_CPUS (the exitless-call server), good values and bad ones. */
#define _GNU_SOURCE
#include <sched.h>
#include "mv.h"
#include "unit.h"

static int flag(const char *value)
{
	if (value)
		setenv("MV_UNIT_FLAG", value, 1);
	else
		unsetenv("MV_UNIT_FLAG");
	return env__flag("MV_UNIT_FLAG");
}

static void flags(void)
{
	CHECK_EQ(flag(NULL), 0);
	CHECK_EQ(flag(""), 0);
	CHECK_EQ(flag("0"), 0);
	CHECK_EQ(flag("1"), 1);
	CHECK_EQ(flag("yes"), 1);
	CHECK_EQ(flag("00"), 1); /* only "0" itself is off */
}

/* The list env__cpu_list makes of s, as text: "1,2,3". */
static const char *list(const char *s, int max)
{
	static char buf[8192];
	int cpus[CPU_SETSIZE], n = env__cpu_list(s, cpus, max);
	size_t len = 0;

	buf[0] = 0;
	if (n < 0 || n > max)
		unit_fail(__FILE__, __LINE__, "\"%s\": %d CPUs, at most %d", s, n, max);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d", i ? "," : "", cpus[i]);
	return buf;
}

static void cpu_list_good(void)
{
	CHECK_STR(list("1", CPU_SETSIZE), "1");
	CHECK_STR(list("1-3", CPU_SETSIZE), "1,2,3");
	CHECK_STR(list("1,3", CPU_SETSIZE), "1,3");
	CHECK_STR(list("3,1", CPU_SETSIZE), "3,1"); /* order kept: vCPU 0 on CPU 3 */
	CHECK_STR(list("0-2,5,7-8", CPU_SETSIZE), "0,1,2,5,7,8");
	CHECK_STR(list("2,2", CPU_SETSIZE), "2,2"); /* two vCPUs on one CPU */
	CHECK_STR(list("1,", CPU_SETSIZE), "1");
	CHECK_STR(list("1023", CPU_SETSIZE), "1023");
	CHECK_STR(list("0-9", 4), "0,1,2,3"); /* at most max */
}

static void cpu_list_bad(void)
{
	CHECK_STR(list(NULL, CPU_SETSIZE), "");
	CHECK_STR(list("", CPU_SETSIZE), "");
	CHECK_STR(list("x", CPU_SETSIZE), "");
	CHECK_STR(list(",1", CPU_SETSIZE), "");
	CHECK_STR(list("-1", CPU_SETSIZE), "");	  /* no negative CPUs */
	CHECK_STR(list("1-", CPU_SETSIZE), "");	  /* "1-0" */
	CHECK_STR(list("5-3", CPU_SETSIZE), "");  /* backwards */
	CHECK_STR(list("1024", CPU_SETSIZE), ""); /* past CPU_SETSIZE */
	CHECK_STR(list("1x", CPU_SETSIZE), "1");  /* stops at what is not a list */
	CHECK_STR(list("1 2", CPU_SETSIZE), "1");
}

/* A range's bounds are any long: only CPUs 0 to CPU_SETSIZE - 1 may cost time. */
static void cpu_list_huge_ranges(void)
{
	CHECK_STR(list("2000-99999999999", CPU_SETSIZE), "");
	CHECK_STR(list("1022-9223372036854775807", CPU_SETSIZE), "1022,1023");
	CHECK_STR(list("-99999999999-1", CPU_SETSIZE), "0,1");
	CHECK_STR(list("-9223372036854775808-0,5", CPU_SETSIZE), "0,5");
}

/* The set env__cpu_set makes of s, as text, checking its count. */
static const char *set(const char *s)
{
	static char buf[8192];
	cpu_set_t cs;
	int n = env__cpu_set(s, &cs), k = 0;
	size_t len = 0;

	buf[0] = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cs)) {
			len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d", k ? "," : "", c);
			k++;
		}
	if (n != k)
		unit_fail(__FILE__, __LINE__, "\"%s\": returns %d, the set has %d", s, n, k);
	return buf;
}

static void cpu_set_good(void)
{
	CHECK_STR(set("0"), "0");
	CHECK_STR(set("0-2,5"), "0,1,2,5");
	CHECK_STR(set("5,0-2"), "0,1,2,5");
	CHECK_STR(set("1,1,0-1"), "0,1"); /* counted once */
	CHECK_STR(set("1020-2000"), "1020,1021,1022,1023");
}

static void cpu_set_bad(void)
{
	CHECK_STR(set(NULL), "");
	CHECK_STR(set(""), "");
	CHECK_STR(set("x"), "");
	CHECK_STR(set("-3"), "");
	CHECK_STR(set("-3-1"), "0,1");
	CHECK_STR(set("4-2"), "");
	CHECK_STR(set("1;2"), "1");
}

static void cpu_set_huge_ranges(void)
{
	CHECK_STR(set("2000-99999999999"), "");
	CHECK_STR(set("-99999999999-1"), "0,1");
	CHECK_STR(set("-9223372036854775808-0,5"), "0,5");
}

UNIT_MAIN("env", CASE(flags), CASE(cpu_list_good), CASE(cpu_list_bad), CASE(cpu_list_huge_ranges), CASE(cpu_set_good),
	  CASE(cpu_set_bad), CASE(cpu_set_huge_ranges))
