/* TLS (%fs) and errno. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

static __thread int tls_counter = 5;
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
	DONE("t_tls");
}
