/* Many small mappings, as JITs, collectors and allocators make them: 20000
 * one-page mappings with alternating protections (so none merge), each
 * touched from the HRT, then a fault that makes libmv re-read a
 * /proc/self/maps of well over 1 MiB, then the stack still works. Linux
 * allows 65530 mappings by default; the HRT's mirror of them must not stop
 * at a fixed count. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

static sigjmp_buf jb;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

/* Deep enough to need stack pages the fault path has not seen yet. */
static unsigned deep(unsigned n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	return n ? deep(n - 1) + (unsigned char)pad[0] : 0;
}

/* Read from addr; 1 if that raised SIGSEGV. */
static int faults(const char *addr)
{
	struct sigaction sa = { .sa_handler = on_segv };
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(jb, 1) == 0) {
		(void)*(volatile const char *)addr;
		return 0;
	}
	return 1;
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;
	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	char **m = calloc((size_t)n, sizeof *m);
	int bad = 0;

	CHECK(m != NULL);
	for (int i = 0; i < n; i++) {
		m[i] = mmap(NULL, 4096, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m[i] == MAP_FAILED) {
			printf("mmap %d failed\n", i);
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (i % 2 == 0)
			m[i][0] = (char)(i | 1);
		bad += m[i][0] != (i % 2 ? 0 : (char)(i | 1));
	}
	int lines = count_maps();
	printf("maps: %s %d mappings\n", lines > n ? "more than" : "fewer than", n);
	CHECK(lines > n);

	/* A mapping the mirror does not hold yet (PROT_NONE): the fault re-reads
	 * all of /proc/self/maps, then SIGSEGV, as natively. */
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(faults(none));

	for (int i = 0; i < n; i++)
		bad += m[i][0] != (i % 2 ? 0 : (char)(i | 1));
	printf("maps: %d touched, %d bad\n", n, bad);
	CHECK(bad == 0);
	CHECK(deep(64) > 0);
	for (int i = 0; i < n; i++)
		munmap(m[i], 4096);
	DONE("t_maps");
}
