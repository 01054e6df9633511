/* The clock overrides (clock_gettime, gettimeofday, time): the same results
 * as the ROS clock (read with a forwarded system call), monotonic, within
 * 1 ms of the ROS clock over a run of N seconds (argv[1], default 10), and
 * served in the HRT (counted). Natively (MV_DISABLE=1) the same checks pass
 * and nothing is counted. Lines that differ by mode start with "mode:". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

/* Counter checks differ by mode on purpose: kept out of the "ok" lines. */
#define CHECK_COUNT(c) do { if (c) printf("counts ok\n"); \
	else { printf("FAIL counts %s:%d: %s\n", __FILE__, __LINE__, #c); check_failures++; } } while (0)

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t ros_ns(clockid_t c)
{
	struct timespec t;
	syscall(SYS_clock_gettime, c, &t); /* always the ROS kernel's clock */
	return ns_of(t);
}

static int64_t ovr_ns(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t) != 0)
		return -1;
	return ns_of(t);
}

static int64_t absdiff(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 10;
	static const clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
					 CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE };
	int close_all = 1;
	for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		int64_t a = ros_ns(ids[i]), b = ovr_ns(ids[i]), c = ros_ns(ids[i]);
		/* COARSE clocks tick at the kernel's HZ: allow one 10 ms tick. */
		int64_t slack = ids[i] == CLOCK_REALTIME_COARSE || ids[i] == CLOCK_MONOTONIC_COARSE ? 10000000 : 1000000;
		if (b < a - slack || b > c + slack) {
			printf("FAIL clock %d: ros %lld, override %lld, ros %lld\n", (int)ids[i], (long long)a, (long long)b, (long long)c);
			close_all = 0;
		}
	}
	CHECK(close_all);
	struct timespec t;
	CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0); /* not served: forwarded */
	errno = 0;
	CHECK(clock_gettime((clockid_t)12345, &t) == -1 && errno == EINVAL);
	struct timeval tv;
	int64_t r0 = ros_ns(CLOCK_REALTIME);
	CHECK(gettimeofday(&tv, NULL) == 0);
	CHECK(absdiff((int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000, r0) < 2000000);
	/* time() reads the coarse clock (vDSO xtime seconds), which trails
	 * CLOCK_REALTIME by up to one 10 ms tick: just after a second boundary
	 * it may still show the previous second. */
	time_t now = time(NULL), now2;
	int64_t r1 = ros_ns(CLOCK_REALTIME);
	CHECK(now >= (r0 - 10000000) / 1000000000 && now <= r1 / 1000000000);
	CHECK(time(&now2) >= now && now2 >= now);

	/* The long run: monotonic on every read, within 1 ms of the ROS clock
	 * at each comparison (every ~50 ms). */
	int64_t start = ovr_ns(CLOCK_MONOTONIC), last = start, worst = 0, worst_rt = 0, mid = 0, width = 0;
	long reads = 0, backwards = 0, compares = 0;
	while (last - start < (int64_t)secs * 1000000000) {
		int64_t next_cmp = last + 50000000;
		while (last < next_cmp) {
			int64_t n = ovr_ns(CLOCK_MONOTONIC);
			backwards += n < last;
			last = n;
			reads++;
		}
		int64_t a = ros_ns(CLOCK_MONOTONIC), b = ovr_ns(CLOCK_MONOTONIC), c = ros_ns(CLOCK_MONOTONIC);
		int64_t d = b < a ? a - b : b > c ? b - c : 0;
		worst = d > worst ? d : worst;
		/* Outside the bracket is an error for sure; the midpoint offset
		 * estimates it, give or take half the bracket (a forwarded call). */
		if (absdiff(b, a + (c - a) / 2) > mid) {
			mid = absdiff(b, a + (c - a) / 2);
			width = (c - a) / 2;
		}
		a = ros_ns(CLOCK_REALTIME); b = ovr_ns(CLOCK_REALTIME); c = ros_ns(CLOCK_REALTIME);
		d = b < a ? a - b : b > c ? b - c : 0;
		worst_rt = d > worst_rt ? d : worst_rt;
		compares++;
	}
	CHECK(backwards == 0);
	CHECK(worst < 1000000 && worst_rt < 1000000);
	printf("clock: %d s, %ld comparisons with the ROS clock, monotonic: %s, within 1 ms: %s\n", secs, compares,
	       backwards ? "no" : "yes", worst < 1000000 && worst_rt < 1000000 ? "yes" : "no");
	printf("mode: max |override - ROS| %lld us (MONOTONIC), %lld us (REALTIME) outside the ROS reads around it; "
	       "max midpoint offset %lld us (+- %lld us); %ld reads\n",
	       (long long)worst / 1000, (long long)worst_rt / 1000, (long long)mid / 1000, (long long)width / 1000, reads);
	long n = mv_override_count("clock_gettime");
	if (mv_in_hrt())
		CHECK_COUNT(n > reads && mv_override_count("gettimeofday") >= 1 && mv_override_count("time") >= 2);
	else
		CHECK_COUNT(n == 0 && mv_override_count("gettimeofday") == 0 && mv_override_count("time") == 0);
	printf("mode: %s, clock_gettime served in the HRT: %ld\n", mv_in_hrt() ? "hrt" : "native", n);
	DONE("t_ov_clock");
}
