/* noise: the fixed-work-quantum "selfish detour" loop (Beckman et al.), in three settings.
 *
 *   noise all SECONDS THRESHOLD_NS    runs natively (MV_DISABLE=1 in the manifest), forks and
 *                                     re-executes itself once per setting, in turn:
 *     ros       natively, pinned to CPU 0 (the ROS CPU: ticks, init, kthreads, IRQs)
 *     isolated  natively, pinned to CPU 1 (isolcpus/nohz_full/rcu_nocbs from hrt.cpus)
 *     hrt       in the HRT (libmv + Nautilus), its vCPU thread pinned to CPU 1
 *   noise run SETTING SECONDS THRESHOLD_NS   one setting: prints one "NOISE {json}" line.
 *
 * The loop does a fixed tiny quantum of work and reads the TSC each time. An iteration that took
 * longer than the threshold was interrupted: that gap is a detour. rdtsc works at CPL 3 and at
 * CPL 0 alike, and libmv gives the HRT the host's TSC (offset 0), so all settings share one clock.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

/* From libmv when linked by mv-cc; weak so a plain cc build runs too (then: never in the HRT). */
extern int mv_in_hrt(void) __attribute__((weak));

#define MAX_DETOURS 200000 /* kept in memory; at most PRINT_MAX of them are printed */
#define PRINT_MAX 1500     /* the serial console under TCG is slow: print the largest ones */

struct detour { uint64_t at, len; }; /* TSC cycles since the start, and the gap */
static struct detour detours[MAX_DETOURS];

static double now_s(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* TSC ticks per second, against CLOCK_MONOTONIC over a 200 ms busy wait. */
static double tsc_hz(void) {
	double t0 = now_s(), t1;
	uint64_t c0 = __rdtsc();
	while ((t1 = now_s()) - t0 < 0.2) {}
	return (__rdtsc() - c0) / (t1 - t0);
}

static int by_len(const void *a, const void *b) {
	uint64_t x = ((const struct detour *)a)->len, y = ((const struct detour *)b)->len;
	return x < y ? 1 : x > y ? -1 : 0;
}
static int by_time(const void *a, const void *b) {
	uint64_t x = ((const struct detour *)a)->at, y = ((const struct detour *)b)->at;
	return x < y ? -1 : x > y;
}

static int run(const char *setting, double seconds, double threshold_ns) {
	double hz = tsc_hz();
	uint64_t thr = (uint64_t)(threshold_ns * hz / 1e9), end_cycles = (uint64_t)(seconds * hz);
	uint64_t n = 0, kept = 0, count = 0, lost = 0, min = UINT64_MAX, max = 0, sum = 0;
	volatile uint64_t work = 0;
	uint64_t start = __rdtsc(), prev = start, now;
	do {
		work += n; /* the fixed quantum: the same tiny amount of work every iteration */
		now = __rdtsc();
		uint64_t d = now - prev;
		if (d < min) min = d;
		if (d > thr) {
			count++, sum += d;
			if (d > max) max = d;
			if (kept < MAX_DETOURS) detours[kept++] = (struct detour){ prev - start, d };
			else lost++;
		}
		prev = now, n++;
	} while (now - start < end_cycles);
	int in_hrt = mv_in_hrt ? mv_in_hrt() : 0;
	/* The largest PRINT_MAX detours, back in time order. */
	qsort(detours, kept, sizeof *detours, by_len);
	uint64_t shown = kept < PRINT_MAX ? kept : PRINT_MAX;
	qsort(detours, shown, sizeof *detours, by_time);
	const double ns = 1e9 / hz;
	printf("NOISE {\"setting\":\"%s\",\"inHrt\":%d,\"cpu\":%d,\"tscHz\":%.0f,\"seconds\":%.3f,\"iterations\":%llu,"
	       "\"minIterNs\":%.1f,\"thresholdNs\":%.0f,\"count\":%llu,\"maxNs\":%.0f,\"totalNs\":%.0f,\"notKept\":%llu,\"detours\":[",
	       setting, in_hrt, sched_getcpu(), hz, seconds, (unsigned long long)n, min * ns, threshold_ns,
	       (unsigned long long)count, max * ns, sum * ns, (unsigned long long)lost);
	for (uint64_t i = 0; i < shown; i++)
		printf("%s[%.0f,%.0f]", i ? "," : "", detours[i].at * ns / 1e3, detours[i].len * ns); /* [µs since start, ns] */
	printf("]}\n");
	fflush(stdout);
	return 0;
}

/* Fork, pin, set the environment and re-execute this program for one setting. */
static int spawn(const char *self, const char *setting, int cpu, int hrt, char *secs, char *thr) {
	pid_t pid = fork();
	if (pid < 0) { perror("fork"); return 1; }
	if (pid == 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		/* Affinity survives exec: the HRT's vCPU runs on the main thread, so it stays on `cpu`. */
		if (sched_setaffinity(0, sizeof set, &set)) { perror("sched_setaffinity"); _exit(1); }
		if (hrt) { unsetenv("MV_DISABLE"); setenv("MV_REQUIRE_HRT", "1", 1); }
		else setenv("MV_DISABLE", "1", 1);
		execl(self, self, "run", setting, secs, thr, (char *)0);
		perror("execl");
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("NOISE-FAILED %s status %d\n", setting, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	fflush(stdout);
	return !WIFEXITED(st) || WEXITSTATUS(st);
}

int main(int argc, char **argv) {
	if (argc == 5 && !strcmp(argv[1], "run")) return run(argv[2], atof(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "all")) {
		int bad = 0, cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
		int iso = cpus > 1 ? 1 : 0; /* one CPU only: every setting shares CPU 0 */
		bad |= spawn(argv[0], "ros", 0, 0, argv[2], argv[3]);
		bad |= spawn(argv[0], "isolated", iso, 0, argv[2], argv[3]);
		bad |= spawn(argv[0], "hrt", iso, 1, argv[2], argv[3]);
		return bad;
	}
	fprintf(stderr, "usage: noise all|run SETTING SECONDS THRESHOLD_NS\n");
	return 2;
}
