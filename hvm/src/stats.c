/* stats.c - what the HRT cost, per program run (MV_STATS): the forwarded
 * system calls by name (count and the partner's time performing them), the
 * HRT page faults (count and time), the VM exits by reason, the time in the
 * HRT (inside KVM_RUN), the signal handlers entered, the calls overrides
 * served, the exitless calls, and the steps of the start. Off by default;
 * when on, one summary is written when the process ends (at exit_group, when
 * main returns, before a fatal report):
 *   MV_STATS=1          a table on stderr;
 *   MV_STATS=/abs/path  one JSON object (one line) appended to that file, for
 *                       a harness that keeps the program's own stderr apart.
 * Under MV_DISABLE=1 (or the native fallback) the same summary comes at exit,
 * with "hrt": false and zero counts, so the two runs compare field by field.
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
	uint64_t why[MV_EXIT_KINDS];
};

static const char *const exit_names[MV_EXIT_KINDS] = {
	[MV_EXIT_SYSCALL] = "syscall",		[MV_EXIT_PAGE_FAULT] = "page_fault", [MV_EXIT_CONSOLE] = "console",
	[MV_EXIT_OTHER_HC] = "other_hypercall", [MV_EXIT_SIGNAL] = "signal",	     [MV_EXIT_OTHER] = "other",
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

/* Undo stats__vcpu_init (vcpu__destroy). */
void stats__vcpu_free(struct mv_vcpu *v)
{
	if (v->stats)
		munmap(v->stats, sizeof(struct mv_stats));
	v->stats = NULL;
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

void stats__run(struct mv_vcpu *v, uint64_t ns, enum mv_exit_kind why)
{
	if (!v->stats)
		return;
	add(&v->stats->exits, 1);
	add(&v->stats->guest_ns, ns);
	add(&v->stats->why[why], 1);
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct out {
	char buf[4096];
	int n, fd;
};

/* Buffered raw writes: the summary may run while the HRT thread is inside
 * stdio or malloc, so neither is used. */
static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
	char line[512];
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

/* Everything the summary shows, gathered once. */
struct summary {
	int hrt, nvcpus;
	uint64_t wall_ns, calls, call_ns, signals, overridden;
	struct mv_stats sum;
	uint64_t ov[MV_OV_N];
	uint64_t xl_n[MV_STATS_NR], xl_ns[MV_STATS_NR], exitless, declined, sleeps, missed, backoffs;
	uint64_t eligible, skipped; /* calls that could be posted; made by exit as the cheaper way */
	int has_start;
	uint64_t start_ns[MV_START_N + 1]; /* [0] total, then each step */
};

static const char *const ov_names[MV_OV_N] = { MV_OV_NAMES };
static const char *const start_names[MV_START_N + 1] = { "total", "vm",	  "cpuid",    "nautilus",
							 "maps",  "vcpu", "services", "boot" };

static const char *call_name(int k)
{
	return k == MV_STATS_NR - 1 ? "other" : syscall__name((uint64_t)k);
}

static void gather(struct mv_vm *vm, struct summary *S)
{
	memset(S, 0, sizeof *S);
	S->hrt = 1;
	pthread_mutex_lock(&vm->vcpu_lock);
	S->nvcpus = vm->nvcpus;
	for (int i = 0; i < S->nvcpus; i++) {
		struct mv_stats *s = vm->vcpus[i] ? vm->vcpus[i]->stats : NULL;
		if (!s)
			continue;
		for (int k = 0; k < MV_STATS_NR; k++) {
			S->sum.sys_n[k] += LD(s->sys_n[k]);
			S->sum.sys_ns[k] += LD(s->sys_ns[k]);
		}
		S->sum.fault_n += LD(s->fault_n);
		S->sum.fault_ns += LD(s->fault_ns);
		S->sum.exits += LD(s->exits);
		S->sum.guest_ns += LD(s->guest_ns);
		for (int k = 0; k < MV_EXIT_KINDS; k++)
			S->sum.why[k] += LD(s->why[k]);
		/* Written by the vCPU in the guest (nautilus/src/poll.c); read as they stand. */
		volatile struct mv_poll *p = (volatile struct mv_poll *)((char *)vm->vcpus[i]->cp + MV_CP_POLL_OFF);
		S->eligible += p->eligible;
		S->skipped += p->skipped;
	}
	pthread_mutex_unlock(&vm->vcpu_lock);
	for (int k = 0; k < MV_STATS_NR; k++) {
		S->calls += S->sum.sys_n[k];
		S->call_ns += S->sum.sys_ns[k];
		S->xl_n[k] = poll__served((uint64_t)k, &S->xl_ns[k]);
		S->exitless += S->xl_n[k];
	}
	for (int c = 0; c < MV_MAX_VCPUS; c++)
		for (int i = 0; i < MV_OV_N; i++)
			S->ov[i] += LD(mv__ov_counts[c][i]);
	for (int i = 0; i < MV_OV_N; i++)
		S->overridden += S->ov[i];
	S->declined = poll__declined(&S->sleeps, &S->missed, &S->backoffs);
	S->signals = LD(vm->nr_signals);
	S->wall_ns = stats__now() - vm->stats_t0;
	if ((S->has_start = vm->start_ns[MV_START_BOOT] != 0)) {
		uint64_t prev = vm->stats_t0;
		S->start_ns[0] = vm->start_ns[MV_START_BOOT] - vm->stats_t0;
		for (int i = 0; i < MV_START_N; i++) {
			S->start_ns[i + 1] = vm->start_ns[i] - prev;
			prev = vm->start_ns[i];
		}
	}
}

/* Call numbers by time spent, largest first. */
static int next_call(const uint64_t *n, const uint64_t *ns, uint8_t *done)
{
	int best = -1;
	for (int k = 0; k < MV_STATS_NR; k++)
		if (n[k] && !done[k] && (best < 0 || ns[k] > ns[best]))
			best = k;
	if (best >= 0)
		done[best] = 1;
	return best;
}

#define U(x)   ((unsigned long long)(x))
#define MS(ns) ((double)(ns) / 1e6)

static void render_table(struct out *o, const struct summary *S)
{
	uint8_t done[MV_STATS_NR] = { 0 };
	emit(o,
	     "mv-stats: %s, %.1f ms wall, %d vCPU(s), %llu exits (syscall %llu, page fault %llu, console %llu, "
	     "other hypercalls %llu, signal %llu, other %llu)\n",
	     S->hrt ? "main in the HRT" : "main native (no HRT)", MS(S->wall_ns), S->nvcpus, U(S->sum.exits),
	     U(S->sum.why[MV_EXIT_SYSCALL]), U(S->sum.why[MV_EXIT_PAGE_FAULT]), U(S->sum.why[MV_EXIT_CONSOLE]),
	     U(S->sum.why[MV_EXIT_OTHER_HC]), U(S->sum.why[MV_EXIT_SIGNAL]), U(S->sum.why[MV_EXIT_OTHER]));
	emit(o,
	     "mv-stats: in the HRT %.1f ms; forwarded calls %llu, %.1f ms; page faults %llu, %.1f ms; signals handled "
	     "%llu\n",
	     MS(S->sum.guest_ns), U(S->calls), MS(S->call_ns), U(S->sum.fault_n), MS(S->sum.fault_ns), U(S->signals));
	emit(o,
	     "mv-stats: exitless calls %llu (handed back %llu, by exit while on %llu, server sleeps %llu, back-offs "
	     "%llu, "
	     "by exit as the cheaper way %llu of %llu); overridden calls %llu\n",
	     U(S->exitless), U(S->declined), U(S->missed), U(S->sleeps), U(S->backoffs), U(S->skipped), U(S->eligible),
	     U(S->overridden));
	if (S->has_start) {
		emit(o, "mv-stats: start %.2f ms:", MS(S->start_ns[0]));
		for (int i = 1; i <= MV_START_N; i++)
			emit(o, " %s %.2f", start_names[i], MS(S->start_ns[i]));
		emit(o, "\n");
	}
	if (S->calls)
		emit(o, "mv-stats:   %-20s %10s %12s %10s\n", "forwarded call", "count", "total ms", "mean us");
	for (int k; (k = next_call(S->sum.sys_n, S->sum.sys_ns, done)) >= 0;)
		emit(o, "mv-stats:   %-20s %10llu %12.2f %10.1f\n", call_name(k), U(S->sum.sys_n[k]),
		     MS(S->sum.sys_ns[k]), (double)S->sum.sys_ns[k] / 1e3 / (double)S->sum.sys_n[k]);
	memset(done, 0, sizeof done);
	if (S->exitless)
		emit(o, "mv-stats:   %-20s %10s %12s %10s\n", "exitless call", "count", "total ms", "mean us");
	for (int k; (k = next_call(S->xl_n, S->xl_ns, done)) >= 0;)
		emit(o, "mv-stats:   %-20s %10llu %12.2f %10.1f\n", call_name(k), U(S->xl_n[k]), MS(S->xl_ns[k]),
		     (double)S->xl_ns[k] / 1e3 / (double)S->xl_n[k]);
	for (int i = 0; i < MV_OV_N; i++)
		if (S->ov[i])
			emit(o, "mv-stats:   override %-11s %10llu\n", ov_names[i], U(S->ov[i]));
}

static void render_calls_json(struct out *o, const uint64_t *n, const uint64_t *ns)
{
	uint8_t done[MV_STATS_NR] = { 0 };
	const char *sep = "";
	emit(o, "{");
	for (int k; (k = next_call(n, ns, done)) >= 0; sep = ",")
		emit(o, "%s\"%s\":{\"n\":%llu,\"us\":%llu}", sep, call_name(k), U(n[k]), U(ns[k] / 1000));
	emit(o, "}");
}

static void render_json(struct out *o, const struct summary *S)
{
	emit(o, "{\"hrt\":%s,\"wall_us\":%llu,\"vcpus\":%d,\"guest_us\":%llu,\"exits\":{\"total\":%llu",
	     S->hrt ? "true" : "false", U(S->wall_ns / 1000), S->nvcpus, U(S->sum.guest_ns / 1000), U(S->sum.exits));
	for (int k = 0; k < MV_EXIT_KINDS; k++)
		emit(o, ",\"%s\":%llu", exit_names[k], U(S->sum.why[k]));
	emit(o, "},\"syscalls\":{\"n\":%llu,\"us\":%llu,\"by_name\":", U(S->calls), U(S->call_ns / 1000));
	render_calls_json(o, S->sum.sys_n, S->sum.sys_ns);
	emit(o,
	     "},\"faults\":{\"n\":%llu,\"us\":%llu},\"signals\":%llu,\"exitless\":{\"n\":%llu,\"declined\":%llu,"
	     "\"missed\":%llu,\"sleeps\":%llu,\"backoffs\":%llu,\"eligible\":%llu,\"skipped\":%llu,\"by_name\":",
	     U(S->sum.fault_n), U(S->sum.fault_ns / 1000), U(S->signals), U(S->exitless), U(S->declined), U(S->missed),
	     U(S->sleeps), U(S->backoffs), U(S->eligible), U(S->skipped));
	render_calls_json(o, S->xl_n, S->xl_ns);
	emit(o, "},\"overridden\":{\"n\":%llu", U(S->overridden));
	for (int i = 0; i < MV_OV_N; i++)
		if (S->ov[i])
			emit(o, ",\"%s\":%llu", ov_names[i], U(S->ov[i]));
	emit(o, "}");
	if (S->has_start) {
		emit(o, ",\"start_us\":{");
		for (int i = 0; i <= MV_START_N; i++)
			emit(o, "%s\"%s\":%llu", i ? "," : "", start_names[i], U(S->start_ns[i] / 1000));
		emit(o, "}");
	}
	emit(o, "}\n");
}

static void write_summary(const char *path, const struct summary *S)
{
	struct out o = { .fd = 2 };
	if (path[0]) {
		/* Raw calls: glibc's would write errno, which is the program's. */
		o.fd = (int)mv__raw_syscall(SYS_openat, AT_FDCWD, (long)path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
					    0644, 0, 0);
		if (o.fd < 0) {
			mv__log("mv: MV_STATS=%s: cannot open it; the summary goes to stderr\n", path);
			o.fd = 2;
		}
	}
	if (o.fd == 2)
		render_table(&o, S);
	else
		render_json(&o, S);
	mv__raw_syscall(SYS_write, o.fd, (long)o.buf, o.n, 0, 0, 0);
	if (o.fd != 2)
		mv__raw_syscall(SYS_close, o.fd, 0, 0, 0, 0, 0);
}

static int summarized;

/* Once per process: at exit_group, when main returns, before a fatal report. */
void stats__summary(struct mv_vm *vm)
{
	struct summary S;
	if (!vm || !vm->opt.stats || __atomic_exchange_n(&summarized, 1, __ATOMIC_ACQ_REL))
		return;
	gather(vm, &S);
	write_summary(vm->opt.stats_path, &S);
}

/* main ran natively (MV_DISABLE=1, or no usable KVM): the same summary at exit, all zero. */
static uint64_t native_t0;
static void stats__native_summary(void)
{
	const char *path = stats__option();
	struct summary S;
	if (!path || __atomic_exchange_n(&summarized, 1, __ATOMIC_ACQ_REL))
		return;
	memset(&S, 0, sizeof S);
	S.wall_ns = stats__now() - native_t0;
	write_summary(path, &S);
}

void stats__native(void)
{
	if (!stats__option())
		return;
	native_t0 = stats__now();
	atexit(stats__native_summary);
}
