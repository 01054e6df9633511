/* int $0x80, the i386 system call gate, from a 64-bit program: Linux runs
 * the i386 call of that number with 32-bit arguments (so the buffer lives
 * below 4 GiB here), and the HRT must do the same. With "int81", an
 * interrupt no one handles: natively SIGSEGV, in the HRT the report, which
 * must name the vector. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static volatile int ticks;
static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

static int pipefd[2];
static void *late_writer(void *arg)
{
	while (ticks < 3) /* the read below is interrupted (and restarted) first */
		usleep(1000);
	write(pipefd[1], "x", 1);
	return arg;
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

	/* A blocking read through the gate, interrupted by SA_RESTART handlers: restarted as the
	 * i386 read each time, until the data comes. */
	struct sigaction sa = { .sa_handler = on_tick, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	CHECK(pipe(pipefd) == 0);
	pthread_t t;
	pthread_create(&t, NULL, late_writer, NULL);
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long r = int80(3, pipefd[0], (long)low, 1); /* read */
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, NULL);
	pthread_join(t, NULL);
	printf("int80: restarted read returned %ld '%c'\n", r, r == 1 ? low[0] : '?');
	CHECK(r == 1 && low[0] == 'x' && ticks >= 3);
	DONE("t_int80");
}
