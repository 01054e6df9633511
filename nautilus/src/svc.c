/* svc.c - HRT-native services behind the overrides (hvm/README.md
 * "Overrides"). Program code at CPL 0 calls these through fn[] of the
 * service page (mv/abi.h) instead of making a system call: yield, the
 * malloc arena and console output here, the clock and short sleeps in
 * svc_clock.c. A return of -1 means "not served here": the caller takes the
 * original, forwarded path. */
#include <nk/nk.h>
#include <nk/arena.h>

#define SVC ((volatile struct mv_svc_page *)(MV_KERNEL_VBASE + MV_SVC_GPA))

static int svc_sched_yield(void)
{
	/* One thread per vCPU: nothing to switch to here; the host schedules
	 * the vCPU threads. */
	__asm__ volatile("pause");
	return 0;
}

static void *svc_malloc(size_t n)
{
	return mv_arena_malloc(SVC->arena_start, n);
}
static void svc_free(void *p)
{
	mv_arena_free(SVC->arena_start, p);
}
static void *svc_memalign(size_t align, size_t n)
{
	return mv_arena_memalign(SVC->arena_start, align, n);
}
static size_t svc_usable_size(void *p)
{
	return mv_arena_usable(p);
}

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
	if (p->mult) {	/* the VMM could make the guest TSC the host's */
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
