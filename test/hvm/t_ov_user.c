/* A user override (mv-cc --mv-user-override=getppid): getppid() goes to
 * mv_hrt_getppid in the HRT, which asks the ROS once (a forwarded call) and
 * keeps the answer in HRT memory; natively it is glibc's getppid. Uses the
 * <mv/hrt.h> API: mv_printk, mv_hrt_alloc, mv_in_hrt. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

/* Counter checks differ by mode on purpose: kept out of the "ok" lines. */
#define CHECK_COUNT(c) do { if (c) printf("counts ok\n"); \
	else { printf("FAIL counts %s:%d: %s\n", __FILE__, __LINE__, #c); check_failures++; } } while (0)

MV_DECLARE_USER_OVERRIDE(getppid);
pid_t __real_getppid(void);

static pid_t *cached;

pid_t mv_hrt_getppid(void)
{
	if (!cached) {
		cached = mv_hrt_alloc(sizeof *cached);
		if (!cached)
			return __real_getppid();
		*cached = __real_getppid();
		mv_printk("mv_hrt_getppid: cached %s\n", mv_in_hrt() ? "in the HRT" : "in the ROS?");
	}
	return *cached;
}

int main(void)
{
	pid_t want = (pid_t)syscall(SYS_getppid);
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= getppid() == want;
	CHECK(same);
	long n = (long)MV_USER_OVERRIDE_COUNT(getppid);
	CHECK_COUNT(mv_in_hrt() ? n == 100 : n == 0);
	printf("mode: %s, getppid served by mv_hrt_getppid: %ld\n", mv_in_hrt() ? "hrt" : "native", n);
	DONE("t_ov_user");
}
