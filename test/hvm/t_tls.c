/* TLS (%fs) and errno. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

#include <asm/prctl.h>
#include <sys/syscall.h>

static __thread int tls_counter = 5;

static long raw_arch_prctl(long code, unsigned long addr)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(SYS_arch_prctl), "D"(code), "S"(addr) : "rcx", "r11", "memory");
	return ret;
}
static __thread char tls_buf[64];

int main(void)
{
	tls_counter += 10;
	strcpy(tls_buf, "thread local");
	CHECK(tls_counter == 15 && strcmp(tls_buf, "thread local") == 0);
	errno = 0;
	CHECK(open("/nonexistent/file", O_RDONLY) == -1 && errno == ENOENT);
	CHECK(close(-1) == -1 && errno == EBADF);
	CHECK(strcmp(strerror(ENOENT), "No such file or directory") == 0);
	errno = 0;
	CHECK(write(1, "", 0) == 0 && errno == 0);
	unsigned long fs = 0;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs)); /* TCB self pointer */
	CHECK(fs != 0 && (unsigned long)&tls_counter < fs + 4096 && (unsigned long)&tls_counter > fs - 65536);
	/* arch_prctl(ARCH_SET_FS) moves TLS (in the HRT: the guest FS base). No
	 * libc calls while FS points at our own block. */
	unsigned long old = 0, now = 0, blk[8] = { 0 };
	blk[0] = (unsigned long)blk; /* a TCB starts with its own address */
	blk[1] = 0x5eed;
	long r1 = raw_arch_prctl(ARCH_GET_FS, (unsigned long)&old);
	long r2 = raw_arch_prctl(ARCH_SET_FS, (unsigned long)blk);
	unsigned long seen;
	__asm__ volatile("mov %%fs:8, %0" : "=r"(seen));
	long r3 = raw_arch_prctl(ARCH_GET_FS, (unsigned long)&now);
	long r4 = raw_arch_prctl(ARCH_SET_FS, old);
	CHECK(r1 == 0 && r2 == 0 && r3 == 0 && r4 == 0);
	CHECK(seen == 0x5eed && now == (unsigned long)blk && old == fs);
	CHECK(tls_counter == 15); /* TLS back in place */
	DONE("t_tls");
}
