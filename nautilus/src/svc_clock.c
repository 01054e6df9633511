/* svc_clock.c - the HRT clock behind the clock overrides: the TSC (the guest
 * TSC is the host's, offset 0) turned into each ROS clock with an anchor the
 * VMM takes at start (mv/abi.h, struct mv_svc_page).
 *
 * Re-anchoring: about once a second (per clock, on a read) one forwarded
 * clock_gettime measures the ROS clock again. The rate becomes the one over
 * the whole run since the first anchor (once that is surely better), and an
 * offset larger than the measurement's own uncertainty (half the forwarded
 * round trip) is worked off over the next second by a correction that then
 * stops: the clock stays
 * continuous and monotonic (no step, except REALTIME for a jump over 100 ms,
 * as settimeofday steps Linux's), and follows NTP slews and a TSC rate that
 * differs from KVM's tsc_khz. Readers use a seqlock; one vCPU re-anchors. */
#include <nk/nk.h>

#define SVC		 ((volatile struct mv_svc_page *)(MV_KERNEL_VBASE + MV_SVC_GPA))
#define NR_CLOCK_GETTIME 228
#define STEP_NS		 100000000LL /* REALTIME: a larger offset is a jump; step */

struct k_timespec {
	int64_t sec, nsec;
};
struct k_timeval {
	int64_t sec, usec;
};
#define NS 1000000000ull

static const int clock_ids[MV_SVC_CLOCKS] = { 0, 1, 4, 7 }; /* REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME */

/* The re-anchoring side: not executed before the seq update above it. */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* Readers: no lfence (it cost ~40% of a read under TCG). A TSC read that
 * runs early meets new parameters at most as d < 0, clamped to the anchor
 * (never backwards); one that runs late is off by cycles times a rate
 * change of ppm: far below a nanosecond. */
static inline uint64_t rdtsc_plain(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* The clock at TSC t with the parameters as they are (caller holds seq). */
static uint64_t clock__at(int c, uint64_t t)
{
	volatile struct mv_svc_page *p = SVC;
	int64_t d = (int64_t)(t - p->base_tsc[c]);
	int64_t dc;

	if (d < 0)
		d = 0;
	dc = d < (int64_t)p->period ? d : (int64_t)p->period;
	return p->base_ns[c] + (uint64_t)(((unsigned __int128)(uint64_t)d * p->cmult[c]) >> 32) +
	       (uint64_t)(int64_t)(((__int128)dc * p->corr[c]) >> 32);
}

/* floor(n * 2^32 / d) for n < d * 2^32, without 128-bit division (no libgcc here). */
static uint64_t ratio32(uint64_t n, uint64_t d)
{
	uint64_t q = n / d, r = n % d;

	for (int i = 0; i < 32; i++) {
		r <<= 1;
		q <<= 1;
		if (r >= d) {
			r -= d;
			q |= 1;
		}
	}
	return q;
}

static void clock__reanchor(int c)
{
	volatile struct mv_svc_page *p = SVC;
	struct mv_call_page *cp = percpu__this()->call;
	struct k_timespec ts; /* on the caller's stack: process memory the partner can write */
	uint64_t t1, t2, tm, R, t, cur, m;
	int64_t off, corr, half;

	if (__atomic_exchange_n(&p->lock, 1, __ATOMIC_ACQUIRE))
		return; /* another vCPU is at it */
	t1 = rdtsc_ordered();
	p->next_tsc[c] = t1 + p->period; /* success or not: one try per period */
	svc__regs_in_kernel(cp);
	cp->arg[2] = (uint64_t)&ts;
	int64_t rc = hc__call(MV_OP_SYSCALL, NR_CLOCK_GETTIME, (uint64_t)clock_ids[c]);
	t2 = rdtsc_ordered();
	if (rc != 0 || t2 - t1 > p->period / 100) {
		/* Failed, or too slow a round trip to trust: try again in a period. */
		__atomic_store_n(&p->lock, 0, __ATOMIC_RELEASE);
		return;
	}
	tm = t1 + (t2 - t1) / 2;
	R = (uint64_t)ts.sec * 1000000000ULL + (uint64_t)ts.nsec;
	m = p->cmult[c];
	/* R is known to +-half the round trip (a forwarded call: ~1 us on
	 * hardware, ~100 us under TCG). Below that, an offset is noise. */
	half = (int64_t)((((unsigned __int128)(t2 - t1) * m) >> 32) / 2);
	/* The rate over the whole run is off by at most half / el. Take it when
	 * that bound is under 10 ppm, or when the current rate is off by more
	 * than twice the bound (then it is surely the better one). REALTIME may
	 * have jumped since the first anchor: then keep the rate. */
	if (R > p->first_ns[c] && tm > p->first_tsc[c] &&
	    (R - p->first_ns[c]) / (tm - p->first_tsc[c]) < (1ULL << 31)) {
		uint64_t el = R - p->first_ns[c], ml = ratio32(el, tm - p->first_tsc[c]);
		uint64_t diff = ml > m ? ml - m : m - ml;
		if (el / 100000 > (uint64_t)half ||
		    (unsigned __int128)diff * el > (unsigned __int128)2 * m * (uint64_t)half)
			m = ml;
	}

	__atomic_add_fetch(&p->seq, 1, __ATOMIC_ACQ_REL); /* odd: readers wait */
	t = rdtsc_ordered();
	cur = clock__at(c, t);
	/* ROS time now, extrapolated from the sample with the rate. */
	off = (int64_t)(R + (((unsigned __int128)(t - tm) * m) >> 32)) - (int64_t)cur;
	corr = 0;
	if (c == 0 && (off > STEP_NS || off < -STEP_NS)) {
		cur += (uint64_t)off; /* a REALTIME jump: step, as Linux does */
		p->first_tsc[c] = t;
		p->first_ns[c] = cur;
	} else if (off > half || off < -half) {
		if (off > 1000000000LL)
			off = 1000000000LL;
		if (off < -1000000000LL)
			off = -1000000000LL;
		corr = off * 4294967296LL / (int64_t)p->period; /* |off| <= 1e9: fits 63 bits */
		if (corr < -(int64_t)(m / 2))
			corr = -(int64_t)(m / 2); /* never slower than half speed: monotonic */
	}
	p->base_tsc[c] = t;
	p->base_ns[c] = cur;
	p->cmult[c] = m;
	p->corr[c] = corr;
	__atomic_add_fetch(&p->seq, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&p->lock, 0, __ATOMIC_RELEASE);
}

/* A consistent read of clock c; *tp = the TSC it was taken at. */
static uint64_t clock__read(int c, uint64_t *tp)
{
	volatile struct mv_svc_page *p = SVC;
	uint32_t s;
	uint64_t ns;

	for (;;) {
		s = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		*tp = rdtsc_plain();
		ns = clock__at(c, *tp);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(s & 1) && __atomic_load_n(&p->seq, __ATOMIC_RELAXED) == s)
			return ns;
		__asm__ volatile("pause");
	}
}

/* Clock c (MV_SVC_CLOCKS order) in ns. Static: inlined into the services
 * below (a call under TCG is a translation-block lookup). */
static uint64_t svc__ns(int c)
{
	volatile struct mv_svc_page *p = SVC;
	uint64_t t, ns = clock__read(c, &t);

	if (p->period && t > p->next_tsc[c]) {
		clock__reanchor(c);
		ns = clock__read(c, &t);
	}
	return ns;
}

/* Linux clock ids -> anchors. The _COARSE clocks lag by up to a tick (more
 * under TCG): they stay the vDSO's, which reads them without an exit. */
static int svc__anchor(int clk)
{
	switch (clk) {
	case 0: return 0;   /* REALTIME */
	case 1: return 1;   /* MONOTONIC */
	case 4: return 2;   /* MONOTONIC_RAW */
	case 7: return 3;   /* BOOTTIME */
	default: return -1; /* CPU-time and other clocks: forwarded */
	}
}

int svc_clock_gettime(int clk, struct k_timespec *ts)
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

int svc_gettimeofday(struct k_timeval *tv)
{
	uint64_t ns;

	if (!tv)
		return -1;
	ns = svc__ns(0);
	tv->sec = (int64_t)(ns / NS);
	tv->usec = (int64_t)(ns % NS / 1000);
	return 0;
}

int64_t svc_time(void)
{
	return (int64_t)(svc__ns(0) / NS);
}

/* Sleeps up to spin_max_ns spin on the TSC clock (no exit); longer ones,
 * and invalid requests (for the EINVAL), are forwarded. */
int svc_nanosleep(const struct k_timespec *req)
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
