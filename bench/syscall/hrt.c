/* hrt.c - bench/syscall, the HRT side (built with mv-cc).
 *   --getppid  median forwarded getppid round trip, "FWD_US <us>"
 *   --read     median 4 KiB pread round trip of a cached file, "READ_US <us>"
 *   --nop      median NOP hypercall round trip from main, "NOP_US <us>"
 *   --thread   median pthread_create+join of an empty thread, "THREAD_US <us>"
 *   --hthread  the same with mv_hrt_thread_create (HRT-native thread), "THREAD_US <us>"
 *   --noop     prints "MAIN_US <CLOCK_MONOTONIC us>" at main's first line */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mv/hrt.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv)
{
	double t = now_us();
	if (argc > 1 && strcmp(argv[1], "--noop") == 0) {
		printf("MAIN_US %.3f\n", t);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--thread") == 0 || strcmp(argv[1], "--hthread") == 0)) {
		printf("THREAD_US %.3f\n", thread_us(argv[1][2] == 'h' ? mv_hrt_thread_create : pthread_create, 15));
		return 0;
	}
	enum { BATCHES = 15, PER = 40 };
	double v[BATCHES];
	if (argc > 1 && strcmp(argv[1], "--nop") == 0) {
		/* A NOP hypercall straight from main (CPL 0): the exit round trip
		 * without Nautilus's SYSCALL path or a host system call. */
		for (int b = -1; b < BATCHES; b++) {
			double t0 = now_us();
			for (int i = 0; i < PER; i++)
				__asm__ volatile("mov %%gs:24, %%rdx\n\t" /* this vCPU's call page */
						 "movl $0, (%%rdx)\n\t"    /* op = MV_OP_NOP */
						 "outb %%al, $0x4d" ::: "rdx", "rax", "memory");
			if (b >= 0)
				v[b] = (now_us() - t0) / PER;
		}
		printf("NOP_US %.3f\n", median(v, BATCHES));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--read") == 0) {
		static char buf[4096];
		int fd = open("/proc/self/exe", O_RDONLY);
		for (int b = -1; b < BATCHES; b++) {
			double t0 = now_us();
			for (int i = 0; i < PER; i++)
				if (pread(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
					return 1;
			if (b >= 0)
				v[b] = (now_us() - t0) / PER;
		}
		printf("READ_US %.3f\n", median(v, BATCHES));
		return 0;
	}
	for (int b = -1; b < BATCHES; b++) {
		double t0 = now_us();
		for (int i = 0; i < PER; i++)
			syscall(SYS_getppid);
		if (b >= 0)
			v[b] = (now_us() - t0) / PER;
	}
	printf("FWD_US %.3f\n", median(v, BATCHES));
	return 0;
}
