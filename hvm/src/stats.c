/* stats.c - what the HRT cost, per program run (MV_STATS): the forwarded
 * system calls by name (count and the partner's time performing them), the
 * HRT page faults (count and time), the VM exits, the signal handlers entered
 * and the calls overrides served without an exit. Off by default; when on,
 * one summary is written when the process ends:
 *
 *   MV-STATS wall_us=.. vcpus=.. exits=.. guest_us=.. syscalls=.. syscall_us=.. faults=.. fault_us=.. signals=.. overridden=.. exitless=.. declined=.. poll_sleeps=.. poll_missed=.. poll_backoffs=..
 *   MV-STATS-START total_us=.. vm_us=.. cpuid_us=.. nautilus_us=.. maps_us=.. vcpu_us=.. services_us=.. boot_us=..
 *   MV-STATS-CALL name=read n=1631 us=51234
 *   MV-STATS-EXITLESS name=read n=1200 us=3400     (performed by the poll server, poll.c)
 *   MV-STATS-OVERRIDE name=clock_gettime n=4000
 *
 * to stderr (MV_STATS=1) or appended to a file (MV_STATS=/abs/path), for a
 * harness that keeps the program's own stderr apart.
 *
 * Threading: each vCPU's counters are written only by the host thread that
 * drives it (its partner, or its runner for a native thread; hand-overs
 * between them are ordered by futexes), so updates are plain relaxed
 * load+store, with no shared cache line. The summary reads every vCPU's
 * counters with relaxed loads while other threads may still be counting:
 * a figure can miss the last few calls of a thread that is still running. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "mv.h"
#include "override/override.h"

#define MV_STATS_NR 512 /* system call numbers counted one by one */

struct mv_stats {
	uint64_t sys_n[MV_STATS_NR], sys_ns[MV_STATS_NR];
	uint64_t fault_n, fault_ns;
	uint64_t exits, guest_ns;
};

uint64_t stats__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The option value: NULL (off), "" (stderr) or an absolute path. */
const char *stats__option(void)
{
	const char *s = getenv("MV_STATS");
	if (!s || !*s || strcmp(s, "0") == 0)
		return NULL;
	return s[0] == '/' ? s : "";
}

void stats__vcpu_init(struct mv_vcpu *v)
{
	if (!v->vm->opt.stats || v->stats)
		return;
	/* mmap, not malloc: the partner may be inside the program's malloc. */
	void *p = mmap(NULL, sizeof(struct mv_stats), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		v->stats = p;
}

/* Only vCPU 0's partner starts the VM: no other thread writes these. */
void stats__mark(struct mv_vm *vm, enum mv_start_step step)
{
	if (vm->opt.stats && !vm->start_ns[step])
		vm->start_ns[step] = stats__now();
}

static inline void add(uint64_t *c, uint64_t d)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

void stats__syscall(struct mv_vcpu *v, uint64_t nr, uint64_t ns)
{
	if (!v->stats)
		return;
	nr = nr < MV_STATS_NR ? nr : MV_STATS_NR - 1;
	add(&v->stats->sys_n[nr], 1);
	add(&v->stats->sys_ns[nr], ns);
}

void stats__fault(struct mv_vcpu *v, uint64_t ns)
{
	if (!v->stats)
		return;
	add(&v->stats->fault_n, 1);
	add(&v->stats->fault_ns, ns);
}

void stats__run(struct mv_vcpu *v, uint64_t ns)
{
	if (!v->stats)
		return;
	add(&v->stats->exits, 1);
	add(&v->stats->guest_ns, ns);
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct out {
	char buf[3072];
	int n, fd;
};

/* Buffered raw writes: the summary may run while the HRT thread is inside
 * stdio or malloc, so neither is used. */
static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	if (o->n + n > (int)sizeof o->buf) {
		mv__raw_syscall(SYS_write, o->fd, (long)o->buf, o->n, 0, 0, 0);
		o->n = 0;
	}
	memcpy(o->buf + o->n, line, (size_t)n);
	o->n += n;
}

/* Once per process: at exit_group, when main returns, before a fatal report. */
void stats__summary(struct mv_vm *vm)
{
	static int done;
	struct mv_stats sum;
	struct out o = { .fd = 2 };
	uint64_t calls = 0, call_ns = 0, overridden = 0;
	int nv;

	if (!vm || !vm->opt.stats || __atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	memset(&sum, 0, sizeof sum);
	pthread_mutex_lock(&vm->vcpu_lock);
	nv = vm->nvcpus;
	for (int i = 0; i < nv; i++) {
		struct mv_stats *s = vm->vcpus[i] ? vm->vcpus[i]->stats : NULL;
		if (!s)
			continue;
		for (int k = 0; k < MV_STATS_NR; k++) {
			sum.sys_n[k] += LD(s->sys_n[k]);
			sum.sys_ns[k] += LD(s->sys_ns[k]);
		}
		sum.fault_n += LD(s->fault_n);
		sum.fault_ns += LD(s->fault_ns);
		sum.exits += LD(s->exits);
		sum.guest_ns += LD(s->guest_ns);
	}
	pthread_mutex_unlock(&vm->vcpu_lock);
	for (int k = 0; k < MV_STATS_NR; k++) {
		calls += sum.sys_n[k];
		call_ns += sum.sys_ns[k];
	}
	uint64_t ov[MV_OV_N] = { 0 };
	static const char *const ov_names[MV_OV_N] = { MV_OV_NAMES };
	for (int c = 0; c < MV_MAX_VCPUS; c++)
		for (int i = 0; i < MV_OV_N; i++)
			ov[i] += LD(mv__ov_counts[c][i]);
	for (int i = 0; i < MV_OV_N; i++)
		overridden += ov[i];

	if (vm->opt.stats_path[0]) {
		/* Raw calls: glibc's would write errno, which is the program's. */
		o.fd = (int)mv__raw_syscall(SYS_openat, AT_FDCWD, (long)vm->opt.stats_path,
					    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644, 0, 0);
		if (o.fd < 0) {
			mv__log("mv: MV_STATS=%s: cannot open it; the summary goes to stderr\n", vm->opt.stats_path);
			o.fd = 2;
		}
	}
	uint64_t exitless = 0, ens, sleeps, missed, backoffs, declined = poll__declined(&sleeps, &missed, &backoffs);
	for (int k = 0; k < MV_STATS_NR; k++)
		exitless += poll__served((uint64_t)k, &ens);
	emit(&o, "MV-STATS wall_us=%llu vcpus=%d exits=%llu guest_us=%llu syscalls=%llu syscall_us=%llu faults=%llu fault_us=%llu signals=%llu overridden=%llu exitless=%llu declined=%llu poll_sleeps=%llu poll_missed=%llu poll_backoffs=%llu\n",
	     (unsigned long long)((stats__now() - vm->stats_t0) / 1000), nv, (unsigned long long)sum.exits,
	     (unsigned long long)(sum.guest_ns / 1000), (unsigned long long)calls,
	     (unsigned long long)(call_ns / 1000), (unsigned long long)sum.fault_n,
	     (unsigned long long)(sum.fault_ns / 1000), (unsigned long long)LD(vm->nr_signals),
	     (unsigned long long)overridden, (unsigned long long)exitless, (unsigned long long)declined,
	     (unsigned long long)sleeps, (unsigned long long)missed, (unsigned long long)backoffs);
	if (vm->start_ns[MV_START_BOOT]) {
		static const char *const names[MV_START_N] = { "vm", "cpuid", "nautilus", "maps", "vcpu", "services", "boot" };
		uint64_t prev = vm->stats_t0;
		char line[256];
		int k = snprintf(line, sizeof line, "MV-STATS-START total_us=%llu",
				 (unsigned long long)((vm->start_ns[MV_START_BOOT] - vm->stats_t0) / 1000));
		for (int i = 0; i < MV_START_N && k < (int)sizeof line; i++) {
			k += snprintf(line + k, sizeof line - (size_t)k, " %s_us=%llu", names[i],
				      (unsigned long long)((vm->start_ns[i] - prev) / 1000));
			prev = vm->start_ns[i];
		}
		emit(&o, "%s\n", line);
	}
	/* By time spent, largest first (a selection: at most a few dozen names). */
	for (;;) {
		int best = -1;
		for (int k = 0; k < MV_STATS_NR; k++)
			if (sum.sys_n[k] && (best < 0 || sum.sys_ns[k] > sum.sys_ns[best]))
				best = k;
		if (best < 0)
			break;
		emit(&o, "MV-STATS-CALL name=%s n=%llu us=%llu\n", best == MV_STATS_NR - 1 ? "other" : syscall__name((uint64_t)best),
		     (unsigned long long)sum.sys_n[best], (unsigned long long)(sum.sys_ns[best] / 1000));
		sum.sys_n[best] = 0;
	}
	for (int k = 0; k < MV_STATS_NR; k++) {
		uint64_t n = poll__served((uint64_t)k, &ens);
		if (n)
			emit(&o, "MV-STATS-EXITLESS name=%s n=%llu us=%llu\n", syscall__name((uint64_t)k), (unsigned long long)n,
			     (unsigned long long)(ens / 1000));
	}
	for (int i = 0; i < MV_OV_N; i++)
		if (ov[i])
			emit(&o, "MV-STATS-OVERRIDE name=%s n=%llu\n", ov_names[i], (unsigned long long)ov[i]);
	mv__raw_syscall(SYS_write, o.fd, (long)o.buf, o.n, 0, 0, 0);
	if (o.fd != 2)
		mv__raw_syscall(SYS_close, o.fd, 0, 0, 0, 0, 0);
}
