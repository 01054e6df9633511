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

/* The list env__cpu_list makes of s, as text: "1,2,3" (a refused one fails the case). */
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
	CHECK_STR(list("4-4", CPU_SETSIZE), "4");
	CHECK_STR(list("1023", CPU_SETSIZE), "1023");
	CHECK_STR(list("0-9", 4), "0,1,2,3"); /* at most max */
	CHECK_STR(list("0-1023,0-1023", CPU_SETSIZE), list("0-1023", CPU_SETSIZE));
	CHECK_STR(list(NULL, CPU_SETSIZE), ""); /* unset: no pinning */
	CHECK_STR(list("", CPU_SETSIZE), "");
}

/* What is not a CPU list as Linux writes one is refused whole (-1), never
 * read up to the first bad character: "1x" must not pin to CPU 1. */
static void cpu_list_bad(void)
{
	static const char *bad[] = { "x",
				     ",1",
				     "1,",
				     "1,,2",
				     "-1",
				     "1-",
				     "5-3",
				     "1024",
				     "1x",
				     "1 2",
				     " 1",
				     "1,x",
				     "+1",
				     "1-+3",
				     "2000-99999999999",
				     "1022-9223372036854775807",
				     "99999999999999999999999",
				     "-99999999999-1" };
	int cpus[CPU_SETSIZE];
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		if (env__cpu_list(bad[i], cpus, CPU_SETSIZE) != -1)
			unit_fail(__FILE__, __LINE__, "\"%s\" is taken as a CPU list", bad[i]);
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
	if (n != (n < 0 ? -1 : k) || (n < 0 && k))
		unit_fail(__FILE__, __LINE__, "\"%s\": returns %d, the set has %d", s, n, k);
	return n < 0 ? "bad" : buf;
}

static void cpu_set_good(void)
{
	CHECK_STR(set("0"), "0");
	CHECK_STR(set("0-2,5"), "0,1,2,5");
	CHECK_STR(set("5,0-2"), "0,1,2,5");
	CHECK_STR(set("1,1,0-1"), "0,1"); /* counted once */
	CHECK_STR(set("1020-1023"), "1020,1021,1022,1023");
	CHECK_STR(set(NULL), "");
	CHECK_STR(set(""), "");
}

/* The same strings are refused by both readers: the set is empty, -1. */
static void cpu_set_bad(void)
{
	CHECK_STR(set("x"), "bad");
	CHECK_STR(set("-3"), "bad");
	CHECK_STR(set("-3-1"), "bad");
	CHECK_STR(set("4-2"), "bad");
	CHECK_STR(set("1;2"), "bad");
	CHECK_STR(set("1,x"), "bad");
	CHECK_STR(set("1020-2000"), "bad");
	CHECK_STR(set("2000-99999999999"), "bad");
}

/* Numbers: MV_POLL_NS, MV_POLL_IDLE_MS, MV_GDB's port. */
static void uint_values(void)
{
	CHECK_EQ(env__uint(NULL, 7, 100), 7);
	CHECK_EQ(env__uint("", 7, 100), 7);
	CHECK_EQ(env__uint("0", 7, 100), 0);
	CHECK_EQ(env__uint("100", 7, 100), 100);
	CHECK_EQ(env__uint("101", 7, 100), -1);
	CHECK_EQ(env__uint("12ab", 7, 100), -1);
	CHECK_EQ(env__uint("-1", 7, 100), -1);
	CHECK_EQ(env__uint(" 1", 7, 100), -1);
	CHECK_EQ(env__uint("99999999999999999999999", 7, INT64_MAX), -1);
	errno = 42;
	env__uint("99999999999999999999999", 7, INT64_MAX);
	CHECK_EQ(errno, 42); /* the program's errno is left alone */
	int cpus[4];
	env__cpu_list("99999999999999999999999", cpus, 4);
	CHECK_EQ(errno, 42);
}

UNIT_MAIN("env", CASE(flags), CASE(cpu_list_good), CASE(cpu_list_bad), CASE(cpu_set_good), CASE(cpu_set_bad),
	  CASE(uint_values))
