/* int $0x80, the i386 system call gate, from a 64-bit program: Linux runs
 * the i386 call of that number with 32-bit arguments (so the buffer lives
 * below 4 GiB here), and the HRT must do the same. With "int81", an
 * interrupt no one handles: natively SIGSEGV, in the HRT the report, which
 * must name the vector. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "int81") == 0) {
		fflush(stdout);
		__asm__ volatile("int $0x81");
		return 0;
	}
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(low != MAP_FAILED);
	static const char msg[] = "int80: written through the i386 gate\n";
	memcpy(low, msg, sizeof msg - 1);
	fflush(stdout);
	long n = int80(4, 1, (long)low, (long)(sizeof msg - 1)); /* write */
	CHECK(n == (long)(sizeof msg - 1));
	long pid = int80(20, 0, 0, 0); /* getpid */
	CHECK(pid == getpid());
	CHECK(int80(64, 0, 0, 0) == getppid()); /* getppid */
	CHECK(int80(6, 12345, 0, 0) == -9);     /* close: -EBADF */
	DONE("t_int80");
}
