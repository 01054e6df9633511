/* svc.c - HRT-native services behind the overrides (hvm/README.md
 * "Overrides"). Program code at CPL 0 calls these through fn[] of the
 * service page (mv/abi.h) instead of making a system call: the clock
 * (svc_clock.c), short sleeps, yield, the malloc arena, and console output. A return of -1
 * means "not served here": the caller takes the original, forwarded path. */
#include <nk/nk.h>
#include <nk/arena.h>

#define SVC ((volatile struct mv_svc_page *)(MV_KERNEL_VBASE + MV_SVC_GPA))
#define NS 1000000000ull

struct k_timespec { int64_t sec, nsec; };
struct k_timeval { int64_t sec, usec; };

/* Linux clock ids -> anchors. The _COARSE clocks lag by up to a tick (more
 * under TCG): they stay the vDSO's, which reads them without an exit. */
static int svc__anchor(int clk)
{
	switch (clk) {
	case 0: return 0;         /* REALTIME */
	case 1: return 1;         /* MONOTONIC */
	case 4: return 2;         /* MONOTONIC_RAW */
	case 7: return 3;         /* BOOTTIME */
	default: return -1;       /* CPU-time and other clocks: forwarded */
	}
}

static int svc_clock_gettime(int clk, struct k_timespec *ts)
{
	int c = svc__anchor(clk);
	uint64_t ns;

	if (c < 0 || !ts)
		return -1;
	ns = svc__ns(c);
	ts->sec = (int64_t)(ns / NS);
	ts->nsec = (int64_t)(ns % NS);
	return 0;
}

static int svc_gettimeofday(struct k_timeval *tv)
{
	uint64_t ns;

	if (!tv)
		return -1;
	ns = svc__ns(0);
	tv->sec = (int64_t)(ns / NS);
	tv->usec = (int64_t)(ns % NS / 1000);
	return 0;
}

static int64_t svc_time(void)
{
	return (int64_t)(svc__ns(0) / NS);
}

/* Sleeps up to spin_max_ns spin on the TSC clock (no exit); longer ones,
 * and invalid requests (for the EINVAL), are forwarded. */
static int svc_nanosleep(const struct k_timespec *req)
{
	uint64_t want, until;

	if (!req || req->sec < 0 || req->nsec < 0 || req->nsec >= (int64_t)NS ||
	    (uint64_t)req->sec > SVC->spin_max_ns / NS)
		return -1;
	want = (uint64_t)req->sec * NS + (uint64_t)req->nsec;
	if (want > SVC->spin_max_ns)
		return -1;
	until = svc__ns(1) + want;
	while (svc__ns(1) < until)
		__asm__ volatile("pause");
	return 0;
}

static int svc_sched_yield(void)
{
	/* One thread per vCPU: nothing to switch to here; the host schedules
	 * the vCPU threads. */
	__asm__ volatile("pause");
	return 0;
}

static void *svc_malloc(size_t n) { return mv_arena_malloc(SVC->arena_start, n); }
static void svc_free(void *p) { mv_arena_free(SVC->arena_start, p); }
static void *svc_memalign(size_t align, size_t n) { return mv_arena_memalign(SVC->arena_start, align, n); }
static size_t svc_usable_size(void *p) { return mv_arena_usable(p); }

/* Console output of program text: copied into the call page first, since
 * the VMM reads console text only from HRT-private memory. */
static void svc_printk(const char *s, size_t n)
{
	struct mv_call_page *cp = percpu__this()->call;

	while (n) {
		size_t k = n < sizeof cp->text ? n : sizeof cp->text;
		memcpy(cp->text, s, k);
		svc__regs_in_kernel(cp);
		hc__call(MV_OP_CONSOLE, (uint64_t)cp->text, k);
		s += k;
		n -= k;
	}
}

void svc__init(void)
{
	volatile struct mv_svc_page *p = SVC;

	if (p->magic != MV_SVC_MAGIC)
		return; /* a VMM without services: every override forwards */
	if (p->mult) { /* the VMM could make the guest TSC the host's */
		p->fn[MV_SVC_CLOCK_GETTIME] = (uint64_t)svc_clock_gettime;
		p->fn[MV_SVC_GETTIMEOFDAY] = (uint64_t)svc_gettimeofday;
		p->fn[MV_SVC_TIME] = (uint64_t)svc_time;
		p->fn[MV_SVC_NANOSLEEP] = (uint64_t)svc_nanosleep;
	}
	p->fn[MV_SVC_SCHED_YIELD] = (uint64_t)svc_sched_yield;
	p->fn[MV_SVC_PRINTK] = (uint64_t)svc_printk;
	if (p->arena_start) {
		p->fn[MV_SVC_MALLOC] = (uint64_t)svc_malloc;
		p->fn[MV_SVC_FREE] = (uint64_t)svc_free;
		p->fn[MV_SVC_MEMALIGN] = (uint64_t)svc_memalign;
		p->fn[MV_SVC_USABLE_SIZE] = (uint64_t)svc_usable_size;
	}
}
