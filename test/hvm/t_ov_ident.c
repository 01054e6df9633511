/* getpid, gettid, getuid & co, sched_yield, nanosleep overrides: the same
 * results as the system calls, in main and in a thread, and served in the
 * HRT (counted); natively nothing is counted. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

/* Counter checks differ by mode on purpose: kept out of the "ok" lines. */
#define CHECK_COUNT(c) do { if (c) printf("counts ok\n"); \
	else { printf("FAIL counts %s:%d: %s\n", __FILE__, __LINE__, #c); check_failures++; } } while (0)

static long ros_mono_ns(void)
{
	struct timespec t;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *thread(void *arg)
{
	int *ok = arg;
	*ok = gettid() == (pid_t)syscall(SYS_gettid) && gettid() != getpid() && getpid() == (pid_t)syscall(SYS_getpid);
	return NULL;
}

int main(void)
{
	CHECK(getpid() == (pid_t)syscall(SYS_getpid));
	CHECK(gettid() == (pid_t)syscall(SYS_gettid) && gettid() == getpid());
	CHECK(getuid() == (uid_t)syscall(SYS_getuid) && geteuid() == (uid_t)syscall(SYS_geteuid));
	CHECK(getgid() == (gid_t)syscall(SYS_getgid) && getegid() == (gid_t)syscall(SYS_getegid));
	int ok = 0;
	pthread_t th;
	CHECK(pthread_create(&th, NULL, thread, &ok) == 0 && pthread_join(th, NULL) == 0);
	CHECK(ok);
	CHECK(sched_yield() == 0);
	/* A short sleep (spun in the HRT) and a long one (forwarded) both last
	 * at least what was asked, by the ROS clock. */
	long t0 = ros_mono_ns();
	CHECK(nanosleep(&(struct timespec){ 0, 200 * 1000 }, NULL) == 0);
	long t1 = ros_mono_ns();
	CHECK(t1 - t0 >= 200 * 1000);
	CHECK(nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL) == 0);
	CHECK(ros_mono_ns() - t1 >= 20 * 1000 * 1000);
	errno = 0;
	CHECK(nanosleep(&(struct timespec){ 0, 1000000000 }, NULL) == -1 && errno == EINVAL);
	long pid = mv_override_count("getpid"), tid = mv_override_count("gettid"), uid = mv_override_count("getuid");
	long y = mv_override_count("sched_yield"), sl = mv_override_count("nanosleep");
	if (mv_in_hrt())
		CHECK_COUNT(pid >= 3 && tid >= 4 && uid >= 4 && y >= 1 && sl >= 1);
	else
		CHECK_COUNT(pid == 0 && tid == 0 && uid == 0 && y == 0 && sl == 0);
	printf("mode: %s, served in the HRT: getpid %ld, gettid %ld, getuid & co %ld, sched_yield %ld, nanosleep %ld\n",
	       mv_in_hrt() ? "hrt" : "native", pid, tid, uid, y, sl);
	DONE("t_ov_ident");
}
