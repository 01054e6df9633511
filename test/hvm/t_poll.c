/* Exitless calls (hvm/src/poll.c), run with MV_POLL=1 and a long spin budget so that the
 * server takes most calls even when it shares a CPU with the vCPU; the same program with
 * MV_POLL=0 (and natively) must print the same lines. Each case checks results, not speed:
 *  - 8 threads at once: getppid, pread of a file, writes to a non-blocking pipe, fstat, lseek;
 *  - calls racing a signal: a 1 ms timer's handler runs while main makes calls, and a
 *    failing call's errno is its own (the vCPU's KVM_RUN, interrupted, must not touch it);
 *  - a read that would block (a pipe without O_NONBLOCK) is handed back to the exit path and
 *    a signal interrupts it (EINTR), as natively;
 *  - idle longer than the server's idle time: it sleeps, and the next calls wake it.
 *   ./t_poll   all checks, PASS/FAIL */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#define THREADS 8
#define ROUNDS 200

static int file_fd, pipe_w[2];
static pid_t parent;

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	char buf[512], want[512];
	memset(want, 'a' + (int)(id % 16), sizeof want);
	for (int i = 0; i < ROUNDS; i++) {
		struct stat st;
		bad += syscall(SYS_getppid) != parent;
		bad += pread(file_fd, buf, sizeof buf, id * 512) != (ssize_t)sizeof buf || memcmp(buf, want, sizeof buf) != 0;
		bad += fstat(file_fd, &st) != 0 || st.st_size != THREADS * 512;
		bad += write(pipe_w[1], &id, 1) != 1;
	}
	return (void *)bad;
}

static volatile sig_atomic_t ticks;
static void on_tick(int sig) { (void)sig; ticks++; }
static void on_usr1(int sig) { (void)sig; }

int main(void)
{
	pthread_t t[THREADS];
	long bad = 0;
	char path[] = "/tmp/t_poll.XXXXXX";

	parent = getppid();
	file_fd = mkstemp(path);
	unlink(path);
	for (int i = 0; i < THREADS; i++) {
		char block[512];
		memset(block, 'a' + i % 16, sizeof block);
		CHECK(write(file_fd, block, sizeof block) == (ssize_t)sizeof block);
	}
	CHECK(pipe2(pipe_w, O_NONBLOCK) == 0);
	fcntl(pipe_w[1], F_SETPIPE_SZ, 1 << 20);

	/* 8 threads at once */
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	char sink[4096];
	long got = 0;
	for (ssize_t n; (n = read(pipe_w[0], sink, sizeof sink)) > 0;)
		got += n;
	printf("threads: %d x %d rounds, bad results %ld, pipe bytes %ld\n", THREADS, ROUNDS, bad, got);
	CHECK(bad == 0 && got == THREADS * ROUNDS);
	CHECK(read(pipe_w[0], sink, 1) == -1 && errno == EAGAIN); /* empty non-blocking pipe */

	/* calls racing a 1 ms timer */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long wrong = 0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		char c;
		wrong += syscall(SYS_getppid) != parent;
		wrong += pread(file_fd, &c, 1, 3 * 512) != 1 || c != 'd';
		errno = 0;
		wrong += lseek(-1, 0, SEEK_SET) != -1 || errno != EBADF;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while (ticks < 20 && b.tv_sec - a.tv_sec < 30);
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	printf("signals: %s timer ticks while making calls, wrong results %ld\n", ticks >= 20 ? "20+" : "too few", wrong);
	CHECK(ticks >= 20 && wrong == 0);

	/* a read that would block: the exit path, and a signal interrupts it */
	int p[2];
	CHECK(pipe(p) == 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1; /* no SA_RESTART: the read fails with EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	timer_t tm;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0);
	timer_settime(tm, 0, &(struct itimerspec){ .it_value = { 0, 50 * 1000 * 1000 } }, NULL);
	char c;
	errno = 0;
	ssize_t r = read(p[0], &c, 1);
	printf("blocking read: returned %zd, errno %s\n", r, errno == EINTR ? "EINTR" : strerror(errno));
	CHECK(r == -1 && errno == EINTR);

	/* idle past the server's idle time, then calls again */
	usleep(150 * 1000);
	CHECK(syscall(SYS_getppid) == parent);
	CHECK(pread(file_fd, &c, 1, 0) == 1 && c == 'a');
	DONE("t_poll");
}
