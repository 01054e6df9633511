/* mmap/munmap/mprotect/mremap coherence between the process and the HRT.
 *   ./t_mmap            all checks, PASS/FAIL
 *   ./t_mmap ro-write   writes to a PROT_READ page: must die like SIGSEGV (139)
 *   ./t_mmap text-write writes to the program's own text: SIGSEGV (139)
 *   ./t_mmap unmapped   reads a page after munmap: SIGSEGV (139) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

#define PG 4096

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "ro-write") == 0) {
		volatile char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		mprotect((void *)p, PG, PROT_READ);
		printf("read back %d, now writing to a PROT_READ page\n", p[0]);
		fflush(stdout);
		p[0] = 2;
		printf("FAIL: the write went through\n");
		return 1;
	}
	if (strcmp(mode, "text-write") == 0) {
		volatile unsigned char *t = (volatile unsigned char *)(void *)&main;
		printf("writing to the program text\n");
		fflush(stdout);
		t[0] = 0xcc;
		printf("FAIL: the write went through\n");
		return 1;
	}
	if (strcmp(mode, "unmapped") == 0) {
		volatile char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		munmap((void *)p, PG);
		printf("reading a page after munmap\n");
		fflush(stdout);
		printf("%d\n", p[0]);
		printf("FAIL: the read went through\n");
		return 1;
	}

	/* anonymous mapping, touched, unmapped, then the same range remapped */
	char *a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	memset(a, 0x11, 16 * PG);
	CHECK(a[16 * PG - 1] == 0x11);
	CHECK(munmap(a, 16 * PG) == 0);
	char *b = mmap(a, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(b == a && b[0] == 0 && b[16 * PG - 1] == 0); /* fresh zero pages, no stale TLB */
	/* mprotect down and up again */
	b[0] = 7;
	CHECK(mprotect(b, PG, PROT_READ) == 0 && b[0] == 7);
	CHECK(mprotect(b, PG, PROT_READ | PROT_WRITE) == 0);
	b[0] = 8;
	CHECK(b[0] == 8);
	/* mremap grow (may move) keeps the contents */
	strcpy(b + PG, "survives mremap");
	char *c = mremap(b, 16 * PG, 64 * PG, MREMAP_MAYMOVE);
	CHECK(c != MAP_FAILED && strcmp(c + PG, "survives mremap") == 0);
	memset(c + 16 * PG, 0x22, 48 * PG);
	CHECK(c[64 * PG - 1] == 0x22);
	CHECK(munmap(c, 64 * PG) == 0);
	/* MAP_SHARED file mapping: written through the map, read with read(2) */
	int fd = open("/tmp/mv-t-mmap", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, PG) == 0);
	char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	strcpy(m, "shared mapping");
	CHECK(msync(m, PG, MS_SYNC) == 0);
	char buf[32] = { 0 };
	CHECK(pread(fd, buf, 14, 0) == 14 && strcmp(buf, "shared mapping") == 0);
	CHECK(pwrite(fd, "SHARED", 6, 0) == 6 && memcmp(m, "SHARED mapping", 14) == 0);
	munmap(m, PG);
	close(fd);
	unlink("/tmp/mv-t-mmap");
	/* PROT_NONE guard then opened up */
	char *g = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(g != MAP_FAILED && mprotect(g + PG, 2 * PG, PROT_READ | PROT_WRITE) == 0);
	g[PG] = 5;
	g[3 * PG - 1] = 6;
	CHECK(g[PG] == 5 && g[3 * PG - 1] == 6);
	munmap(g, 4 * PG);
	/* JIT-style code: written through an RW mapping, run after mprotect RX,
	 * and in a mapping that is RWX from the start (Racket CS does this). */
	static const unsigned char ret42[] = { 0xb8, 42, 0, 0, 0, 0xc3 }; /* mov $42,%eax; ret */
	unsigned char *x = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(x, ret42, sizeof ret42);
	CHECK(mprotect(x, PG, PROT_READ | PROT_EXEC) == 0 && ((int (*)(void))(void *)x)() == 42);
	munmap(x, PG);
	x = mmap(NULL, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(x, ret42, sizeof ret42);
	CHECK(((int (*)(void))(void *)x)() == 42);
	x[1] = 43; /* self-modifying: write then run again */
	CHECK(((int (*)(void))(void *)x)() == 43);
	munmap(x, PG);
	/* The last GiB of the user half (where the stack often lands): its
	 * memslot must stop short of the top page, or a 4-level-paging kernel's
	 * KVM refuses it. The highest page a process can map: */
	char *top = mmap((void *)(0x7ffffffff000UL - 2 * PG), PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int top_ok = top == MAP_FAILED && errno == EEXIST; /* the stack has it (one line either way) */
	if (top != MAP_FAILED) {
		top[PG - 1] = 42;
		top_ok = top[PG - 1] == 42;
		munmap(top, PG);
	}
	CHECK(top_ok);
	DONE("t_mmap");
}
