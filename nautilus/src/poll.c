/* poll.c - exitless system calls (mv/abi.h "Exitless calls"; the VMM side is
 * hvm/src/poll.c). A call the VMM's server may perform is posted in this
 * vCPU's poll slot, and the vCPU spins for the reply instead of exiting. If
 * the server does not claim it within the spin budget, or hands it back, the
 * call takes the ordinary exit path: nothing is lost, only time. */
#include <nk/nk.h>

#define SVC ((volatile struct mv_svc_page *)(MV_KERNEL_VBASE + MV_SVC_GPA))

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* 1 with *ret set when the server performed the call; 0: make it the ordinary way. */
int poll__try(uint64_t nr, const uint64_t a[6], int64_t *ret)
{
	volatile struct mv_svc_page *svc = SVC;
	volatile struct mv_poll *p;
	uint64_t t0, budget;

	if (nr >= 512 || svc->magic != MV_SVC_MAGIC || !__atomic_load_n(&svc->poll_on, __ATOMIC_ACQUIRE) ||
	    !((svc->poll_nr[nr >> 6] >> (nr & 63)) & 1))
		return 0;
	p = (volatile struct mv_poll *)((char *)percpu__this()->call + MV_CP_POLL_OFF);
	p->nr = nr;
	for (int i = 0; i < 6; i++)
		p->arg[i] = a[i];
	__atomic_store_n(&p->state, MV_POLL_POSTED, __ATOMIC_RELEASE);
	budget = svc->poll_cycles;
	t0 = rdtsc();
	for (;;) {
		uint32_t s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
		if (s == MV_POLL_DONE) {
			*ret = p->ret;
			p->count++;
			__atomic_store_n(&p->state, MV_POLL_IDLE, __ATOMIC_RELEASE);
			return 1;
		}
		if (s == MV_POLL_DECLINED) {
			__atomic_store_n(&p->state, MV_POLL_IDLE, __ATOMIC_RELEASE);
			return 0;
		}
		/* Not claimed in time: take it back, unless the server claims it right now
		 * (then it is performed, and we wait for DONE). */
		if (s == MV_POLL_POSTED && rdtsc() - t0 > budget) {
			uint32_t want = MV_POLL_POSTED;
			if (__atomic_compare_exchange_n(&p->state, &want, MV_POLL_IDLE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return 0;
		}
		__asm__ volatile("pause" ::: "memory");
	}
}
