/* driver.c - bench/syscall, the native side (plain gcc, no libmv). In one run
 * on one machine it measures:
 *   - native getppid round trip;
 *   - a bare KVM exit round trip: a minimal real-mode guest looping on `out`;
 *   - forwarded getppid and 4 KiB pread from the HRT (spawns ./hrt, built with
 *     mv-cc), by exit (MV_POLL=0) and exitless (MV_POLL=1: the poll server on
 *     the ROS CPU performs them while the vCPU spins);
 *   - thread create+join: a Linux thread here, an ordinary HRT thread (its
 *     own vCPU and partner) and an HRT-native thread (mv_hrt_thread_create);
 *   - process start: spawn -> first line of main, in the HRT vs MV_DISABLE=1
 *     (same binary, native main) vs a plain binary (this one, --noop), and the
 *     HRT's start split into its steps (libmv's MV_STATS, MV-STATS-START).
 * Prints one JSON line ("JSON {...}") and a table. Medians over batches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

extern char **environ;

/* The bare guest: real mode, `out` to a port, jump back. Assembled, not hand-encoded. */
/* The encoding of these two instructions is the same in 16- and 64-bit mode. */
__asm__(".pushsection .rodata\n"
	".globl bare_guest, bare_guest_end\n"
	"bare_guest:\n"
	"1: outb %al, $0x10\n"
	"jmp 1b\n"
	"bare_guest_end:\n"
	".popsection\n");
extern const unsigned char bare_guest[], bare_guest_end[];

/* long_mode: the same loop in a 64-bit guest with paging (one 2 MiB page),
 * the kind of guest the HRT is; otherwise real mode, the cheapest guest. */
static double bare_exit_us(int batches, int per, int long_mode)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -1;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	unsigned char *mem = mmap(NULL, 0x200000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(mem + 0x8000, bare_guest, (size_t)(bare_guest_end - bare_guest));
	struct kvm_userspace_memory_region r = { .slot = 0, .guest_phys_addr = 0, .memory_size = 0x200000,
						 .userspace_addr = (unsigned long)mem };
	ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
				   MAP_SHARED, cpu, 0);
	struct kvm_sregs s;
	ioctl(cpu, KVM_GET_SREGS, &s);
	s.cs.base = 0;
	s.cs.selector = 0;
	if (long_mode) {
		unsigned long *pt = (unsigned long *)mem;
		pt[0x1000 / 8] = 0x2000 | 3;         /* PML4[0] -> PDPT */
		pt[0x2000 / 8] = 0x3000 | 3;         /* PDPT[0] -> PD */
		pt[0x3000 / 8] = 0 | 0x83;           /* PD[0]: 2 MiB page at 0 */
		s.cr3 = 0x1000;
		s.cr4 = 1 << 5;                      /* PAE */
		s.cr0 = 0x80000011;                  /* PG | ET | PE */
		s.efer = 0x500;                      /* LME | LMA */
		struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8, .present = 1,
					  .type = 11, .s = 1, .l = 1, .g = 1 };
		struct kvm_segment ds = cs;
		ds.selector = 16;
		ds.type = 3;
		ds.l = 0;
		ds.db = 1;
		s.cs = cs;
		s.ds = s.es = s.ss = s.fs = s.gs = ds;
	}
	ioctl(cpu, KVM_SET_SREGS, &s);
	struct kvm_regs g = { .rip = 0x8000, .rflags = 2 };
	ioctl(cpu, KVM_SET_REGS, &g);
	double *v = calloc((size_t)batches, sizeof *v);
	for (int b = -1; b < batches; b++) { /* batch -1 warms up */
		double t0 = now_us();
		for (int i = 0; i < per; i++)
			if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
				return -1;
		if (b >= 0)
			v[b] = (now_us() - t0) / per;
	}
	double m = median(v, batches);
	close(cpu);
	close(vm);
	close(kvm);
	return m;
}

static double native_getppid_us(int batches, int per)
{
	double *v = calloc((size_t)batches, sizeof *v);
	for (int b = 0; b < batches; b++) {
		double t0 = now_us();
		for (int i = 0; i < per; i++)
			syscall(SYS_getppid);
		v[b] = (now_us() - t0) / per;
	}
	return median(v, batches);
}

/* Spawn argv with up to two extra env strings, return its stdout (first 4 KiB). */
static int spawn_read2(char *const argv[], const char *env1, const char *env2, char *out, size_t n, double *t_spawn)
{
	int p[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char *envp[256];
	int k = 0;

	if (env1)
		envp[k++] = (char *)env1;
	if (env2)
		envp[k++] = (char *)env2;
	for (char **e = environ; *e && k < 254; e++)
		envp[k++] = *e;
	envp[k] = NULL;
	if (pipe(p) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	*t_spawn = now_us();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0)
		return -1;
	close(p[1]);
	size_t len = 0;
	ssize_t r;
	while (len < n - 1 && (r = read(p[0], out + len, n - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Spawn-to-main latency: the child prints CLOCK_MONOTONIC at main's first line. */
static double start_us(const char *prog, const char *arg, const char *env1, const char *env2, int runs)
{
	double *v = calloc((size_t)runs, sizeof *v);
	char out[4096];
	for (int i = 0; i < runs; i++) {
		double t0;
		char *argv[] = { (char *)prog, (char *)arg, NULL };
		if (spawn_read2(argv, env1, env2, out, sizeof out, &t0) != 0)
			return -1;
		char *m = strstr(out, "MAIN_US ");
		if (!m)
			return -1;
		v[i] = strtod(m + 8, NULL) - t0;
	}
	return median(v, runs);
}

/* `hrt MODE` with MV_REQUIRE_HRT=1 and `poll`: the value it prints after `key`, or -1. */
static double hrt_us(const char *hrt, const char *mode, const char *poll, const char *key)
{
	char out[4096], *argv[] = { (char *)hrt, (char *)mode, NULL };
	double t0;
	int rc = spawn_read2(argv, "MV_REQUIRE_HRT=1", poll, out, sizeof out, &t0);
	char *m = strstr(out, key);
	return rc == 0 && m ? strtod(m + strlen(key), NULL) : -1;
}

/* Medians of the start steps over the MV_STATS summaries appended to `file` (one JSON object
 * per line; its "start_us" object holds the steps). */
#define START_STEPS 8
static const char *const start_names[START_STEPS] = { "total", "vm", "cpuid", "nautilus", "maps", "vcpu", "services", "boot" };
static void start_steps(const char *file, double med[START_STEPS])
{
	double v[START_STEPS][64];
	int n = 0;
	char line[8192];
	FILE *f = fopen(file, "r");
	for (int k = 0; k < START_STEPS; k++)
		med[k] = -1;
	if (!f)
		return;
	while (n < 64 && fgets(line, sizeof line, f)) {
		char *start = strstr(line, "\"start_us\":{");
		if (!start)
			continue;
		for (int k = 0; k < START_STEPS; k++) {
			char key[32], *p;
			snprintf(key, sizeof key, "\"%s\":", start_names[k]);
			p = strstr(start, key);
			v[k][n] = p ? strtod(p + strlen(key), NULL) / 1000.0 : -1;
		}
		n++;
	}
	fclose(f);
	for (int k = 0; k < START_STEPS && n; k++)
		med[k] = median(v[k], n);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--noop") == 0) {
		printf("MAIN_US %.3f\n", now_us());
		return 0;
	}
	const char *hrt = argc > 1 ? argv[1] : "./hrt";
	const int runs = 15;
	const char *stats_file = "/tmp/mv-bench-start.stats";

	double native = native_getppid_us(31, 2000);
	double bare_real = bare_exit_us(15, 100, 0);
	double bare = bare_exit_us(15, 100, 1);
	double fwd = hrt_us(hrt, "--getppid", "MV_POLL=0", "FWD_US ");
	double fwd_xl = hrt_us(hrt, "--getppid", "MV_POLL=1", "FWD_US ");
	double rd = hrt_us(hrt, "--read", "MV_POLL=0", "READ_US ");
	double rd_xl = hrt_us(hrt, "--read", "MV_POLL=1", "READ_US ");
	/* MV_POLL unset: each vCPU posts only while posting is the cheaper way. */
	double fwd_ad = hrt_us(hrt, "--getppid", NULL, "FWD_US ");
	double rd_ad = hrt_us(hrt, "--read", NULL, "READ_US ");
	double nop = hrt_us(hrt, "--nop", "MV_POLL=0", "NOP_US ");
	double th_native = thread_us(pthread_create, 15);
	double th_hrt = hrt_us(hrt, "--thread", NULL, "THREAD_US ");
	double th_hnative = hrt_us(hrt, "--hthread", NULL, "THREAD_US ");
	unlink(stats_file);
	char stats_env[96];
	snprintf(stats_env, sizeof stats_env, "MV_STATS=%s", stats_file);
	double st_hrt = start_us(hrt, "--noop", "MV_REQUIRE_HRT=1", stats_env, runs);
	double st_dis = start_us(hrt, "--noop", "MV_DISABLE=1", NULL, runs);
	double st_plain = start_us(argv[0], "--noop", NULL, NULL, runs);
	double steps[START_STEPS];
	start_steps(stats_file, steps);
	const double r = bare > 0 ? 1 / bare : -1;

	printf("JSON {\"native_getppid_us\":%.3f,\"bare_exit_real_mode_us\":%.3f,\"bare_exit_us\":%.3f,\"forwarded_getppid_us\":%.3f,"
	       "\"forwarded_over_bare\":%.3f,\"exitless_getppid_us\":%.3f,\"exitless_getppid_over_bare\":%.3f,"
	       "\"forwarded_read4k_us\":%.3f,\"forwarded_read4k_over_bare\":%.3f,\"exitless_read4k_us\":%.3f,\"exitless_read4k_over_bare\":%.3f,"
	       "\"default_getppid_us\":%.3f,\"default_getppid_over_bare\":%.3f,\"default_read4k_us\":%.3f,\"default_read4k_over_bare\":%.3f,"
	       "\"hrt_nop_hypercall_us\":%.3f,\"thread_native_us\":%.1f,\"thread_hrt_us\":%.1f,\"thread_hrt_native_us\":%.1f,"
	       "\"thread_hrt_native_over_native\":%.2f,\"start_to_main_hrt_us\":%.1f,\"start_to_main_mv_disabled_us\":%.1f,"
	       "\"start_to_main_plain_us\":%.1f,\"start_hrt_over_plain\":%.2f,\"start_steps_ms\":{",
	       native, bare_real, bare, fwd, fwd * r, fwd_xl, fwd_xl * r, rd, rd * r, rd_xl, rd_xl * r, fwd_ad, fwd_ad * r, rd_ad, rd_ad * r, nop, th_native, th_hrt, th_hnative,
	       th_native > 0 ? th_hnative / th_native : -1, st_hrt, st_dis, st_plain,
	       st_plain > 0 ? st_hrt / st_plain : -1);
	for (int k = 0; k < START_STEPS; k++)
		printf("%s\"%s\":%.2f", k ? "," : "", start_names[k], steps[k]);
	printf("}}\n");
	printf("%-40s %12s\n", "measure (median)", "microseconds");
	printf("%-40s %12.3f\n", "native getppid", native);
	printf("%-40s %12.3f\n", "bare KVM exit, real-mode guest", bare_real);
	printf("%-40s %12.3f\n", "bare KVM exit, 64-bit paged guest", bare);
	printf("%-40s %12.3f  (%.2fx bare exit)\n", "forwarded getppid (HRT), by exit", fwd, fwd * r);
	printf("%-40s %12.3f  (%.2fx bare exit)\n", "forwarded getppid (HRT), exitless", fwd_xl, fwd_xl * r);
	printf("%-40s %12.3f  (%.2fx bare exit)\n", "forwarded 4 KiB pread (HRT), by exit", rd, rd * r);
	printf("%-40s %12.3f  (%.2fx bare exit)\n", "forwarded 4 KiB pread (HRT), exitless", rd_xl, rd_xl * r);
	printf("%-40s %12.3f  (%.2fx bare exit)\n", "forwarded getppid (HRT), default", fwd_ad, fwd_ad * r);
	printf("%-40s %12.3f  (%.2fx bare exit)\n", "forwarded 4 KiB pread (HRT), default", rd_ad, rd_ad * r);
	printf("%-40s %12.3f\n", "NOP hypercall from main (HRT)", nop);
	printf("%-40s %12.1f\n", "thread create+join, Linux", th_native);
	printf("%-40s %12.1f\n", "thread create+join, HRT ordinary", th_hrt);
	printf("%-40s %12.1f  (%.2fx Linux)\n", "thread create+join, HRT-native", th_hnative,
	       th_native > 0 ? th_hnative / th_native : -1);
	printf("%-40s %12.1f\n", "spawn -> main in the HRT", st_hrt);
	printf("%-40s %12.1f\n", "spawn -> main, MV_DISABLE=1", st_dis);
	printf("%-40s %12.1f  (HRT %.2fx plain, +%.1f ms)\n", "spawn -> main, plain binary", st_plain,
	       st_plain > 0 ? st_hrt / st_plain : -1, (st_hrt - st_plain) / 1000);
	printf("HRT start, __wrap_main -> main (ms, median):");
	for (int k = 0; k < START_STEPS; k++)
		printf(" %s %.2f", start_names[k], steps[k]);
	printf("\n");
	return fwd < 0 || bare < 0 || bare_real < 0 ? 1 : 0;
}
