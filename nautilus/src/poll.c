/* poll.c - exitless system calls (mv/abi.h "Exitless calls"; the VMM side is
 * hvm/src/poll.c). A call the VMM's server may perform is posted in this
 * vCPU's poll slot, and the vCPU spins for the reply instead of exiting. If
 * the server does not claim it within the spin budget, or hands it back, the
 * call takes the ordinary exit path: nothing is lost, only time.
 *
 * Does posting pay? Not everywhere: where the server's CPU answers slowly (an
 * emulator that runs it and this vCPU in turns, or a busy ROS CPU), a posted
 * call costs more than an exit. So unless MV_POLL=1 forces posting
 * (svc->poll_adapt == 0), each vCPU keeps a moving average of what an eligible
 * call costs it each way, post to reply and exit to return, and posts only
 * while that is the cheaper way. One eligible call in PROBE takes the other
 * way, so both averages stay current and a change (the server's CPU freed, or
 * taken) is seen within a few dozen calls. Only this vCPU writes its averages
 * and counters (the VMM reads them for MV_STATS). */
#include <nk/nk.h>

#define SVC   ((volatile struct mv_svc_page *)(MV_KERNEL_VBASE + MV_SVC_GPA))
#define PROBE 32

/* A moving average (weight 1/8) of call costs. One sample counts at most twice the average, so a
 * call that blocked, or met a signal, does not flip the choice on its own. */
static void learn(volatile uint64_t *avg, uint64_t x)
{
	uint64_t a = *avg;
	if (!a) {
		*avg = x ? x : 1;
		return;
	}
	if (x > 2 * a)
		x = 2 * a;
	*avg = a - a / 8 + x / 8;
}

static volatile struct mv_poll *slot(void)
{
	return (volatile struct mv_poll *)((char *)percpu__this()->call + MV_CP_POLL_OFF);
}

/* POLL_DONE with *ret set when the server performed the call. Otherwise the call is made the
 * ordinary way, and the result says what its exit should teach (poll__learn). */
int poll__try(uint64_t nr, const uint64_t a[6], int64_t *ret, uint64_t *t_post)
{
	volatile struct mv_svc_page *svc = SVC;
	volatile struct mv_poll *p;
	uint64_t t0, budget;

	if (nr >= 512 || svc->magic != MV_SVC_MAGIC || !__atomic_load_n(&svc->poll_on, __ATOMIC_ACQUIRE) ||
	    !((svc->poll_nr[nr >> 6] >> (nr & 63)) & 1))
		return POLL_NONE;
	p = slot();
	p->eligible++;
	if (svc->poll_adapt) {
		int cheaper = p->xl_cycles <= p->exit_cycles || !p->exit_cycles; /* a way not tried yet is tried */
		int probe = p->eligible % PROBE == 0;
		if (cheaper == probe) {
			if (!probe)
				p->skipped++;
			return POLL_EXIT;
		}
	}
	p->nr = nr;
	for (int i = 0; i < 6; i++)
		p->arg[i] = a[i];
	__atomic_store_n(&p->state, MV_POLL_POSTED, __ATOMIC_RELEASE);
	budget = svc->poll_cycles;
	t0 = nk_rdtsc();
	for (;;) {
		uint32_t s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
		if (s == MV_POLL_DONE) {
			*ret = p->ret;
			p->count++;
			learn(&p->xl_cycles, nk_rdtsc() - t0);
			__atomic_store_n(&p->state, MV_POLL_IDLE, __ATOMIC_RELEASE);
			return POLL_DONE;
		}
		if (s == MV_POLL_DECLINED) {
			/* This call could block (a pipe, a terminal): its exit says nothing about speed. */
			__atomic_store_n(&p->state, MV_POLL_IDLE, __ATOMIC_RELEASE);
			return POLL_NONE;
		}
		/* Not claimed in time: take it back, unless the server claims it right now
		 * (then it is performed, and we wait for DONE). */
		if (s == MV_POLL_POSTED && nk_rdtsc() - t0 > budget) {
			uint32_t want = MV_POLL_POSTED;
			if (__atomic_compare_exchange_n(&p->state, &want, MV_POLL_IDLE, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				*t_post = t0; /* the spin was paid for nothing: posting costs it and the exit */
				return POLL_LATE;
			}
		}
		__asm__ volatile("pause" ::: "memory");
	}
}

/* An eligible call came back from its exit, made at t_exit (rdtsc). */
void poll__learn(int how, uint64_t t_post, uint64_t t_exit)
{
	volatile struct mv_poll *p = slot();
	uint64_t now = nk_rdtsc();

	learn(&p->exit_cycles, now - t_exit);
	if (how == POLL_LATE)
		learn(&p->xl_cycles, now - t_post);
}
