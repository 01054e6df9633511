/* t_native: HRT-native threads (mv_hrt_thread_create; hvm/src/native.c).
 * In the HRT each thread runs at CPL 0 on a pooled vCPU with no host thread
 * cloned for it; natively (MV_DISABLE=1) they are ordinary threads, and every
 * result must be the same. Checks TLS, errno, system calls from the thread,
 * futexes shared with ordinary threads, join values, detach, pthread_exit,
 * TSD destructors, a native thread creating one, pthread_kill to a native
 * thread, a robust mutex whose native owner ends holding it (EOWNERDEAD, with
 * a waiter), the thread's own robust-list head, and that create+join loops
 * reuse the pool (tasks and fds flat).
 * usage: t_native [bench N]   (bench: create+join cost, native vs ordinary) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

static __thread long tls_val = 7;
static int hrt; /* main runs in the HRT: native threads are expected to be native */

/* Where a thread runs, as the checks want it: in the HRT at CPL 0 and
 * native exactly when main is in the HRT. */
static int placed_right(void)
{
	return mv_in_hrt() == hrt && mv_hrt_thread_native() == hrt;
}

static pthread_barrier_t all_live;
struct work { long id; int placed, tid; long ret_tls; int err_ok; pid_t pid; };

static void *basic(void *arg)
{
	struct work *w = arg;
	w->placed = placed_right();
	tls_val = w->id * 10; /* per thread: main's stays 7 */
	errno = 0;
	w->err_ok = close(-1) == -1 && errno == EBADF; /* a forwarded call's errno, in our TLS */
	w->tid = (int)syscall(SYS_gettid);
	w->pid = getpid();
	w->ret_tls = tls_val;
	pthread_barrier_wait(&all_live); /* all four live at once: distinct TIDs */
	return (void *)(w->id + 1000);
}

/* Forwarded I/O from a native thread: write into a pipe main reads, and
 * read a file. */
static void *io(void *arg)
{
	int *fds = arg;
	char buf[64];
	int fd = open("/proc/self/comm", O_RDONLY), n = fd >= 0 ? (int)read(fd, buf, sizeof buf) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0 && write(fds[1], "native says hi", 14) == 14)
		return (void *)1;
	return NULL;
}

/* Futexes both ways with an ordinary thread: a ping-pong over a mutex and
 * two condition variables. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ping_cv = PTHREAD_COND_INITIALIZER, pong_cv = PTHREAD_COND_INITIALIZER;
static int ball; /* 0: native's turn, 1: ordinary's turn */
#define ROUNDS 300

static void *player(void *arg)
{
	int me = (int)(long)arg, ok = 1;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&mu);
		while (ball != me)
			pthread_cond_wait(me ? &pong_cv : &ping_cv, &mu);
		ball = !me;
		pthread_cond_signal(me ? &ping_cv : &pong_cv);
		pthread_mutex_unlock(&mu);
	}
	if (me == 0)
		ok = placed_right();
	return (void *)(long)ok;
}

static sem_t done_sem;
static void *detached(void *arg)
{
	(void)arg;
	sem_post(&done_sem);
	return NULL;
}

static pthread_key_t key;
static int dtor_ran;
static void dtor(void *p)
{
	__atomic_add_fetch(&dtor_ran, (int)(long)p, __ATOMIC_RELAXED);
}

static void *exits(void *arg)
{
	pthread_setspecific(key, (void *)5L);
	pthread_exit((void *)((long)arg * 3));
}

static void *grandchild(void *arg)
{
	return (void *)((long)arg + placed_right());
}

static void *spawner(void *arg)
{
	pthread_t t;
	void *r = NULL;
	if (mv_hrt_thread_create(&t, NULL, grandchild, arg) || pthread_join(t, &r))
		return NULL;
	return (void *)((long)r + placed_right());
}

/* pthread_kill to a native thread: its handler runs on that thread. */
static volatile sig_atomic_t got_sig, sig_placed;
static volatile int spinning, stop_spin;
static void on_usr1(int sig)
{
	(void)sig;
	sig_placed = placed_right();
	got_sig = 1;
}

static void *spin(void *arg)
{
	(void)arg;
	__atomic_store_n(&spinning, 1, __ATOMIC_RELEASE);
	while (!got_sig && !__atomic_load_n(&stop_spin, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	return (void *)(long)got_sig;
}

/* Ends holding a robust mutex, after main has started waiting for it. */
static pthread_mutex_t robust_mu;
static sem_t held_sem;
static void *dies_holding(void *arg)
{
	(void)arg;
	int ok = pthread_mutex_lock(&robust_mu) == 0;
	sem_post(&held_sem);
	usleep(200000);
	return (void *)(long)ok;
}

/* The thread's robust-list head: glibc's, then one of ours, read back; a bad
 * length and a bad pointer fail as Linux fails them. */
static void *robust_head(void *arg)
{
	(void)arg;
	struct robust_list_head mine = { .list = { &mine.list } }, *h = NULL, *h2 = NULL;
	size_t len = 0;
	int ok = syscall(SYS_get_robust_list, 0, &h, &len) == 0 && h && len == sizeof *h;
	ok &= syscall(SYS_set_robust_list, &mine, sizeof mine - 1) == -1 && errno == EINVAL;
	ok &= syscall(SYS_set_robust_list, &mine, sizeof mine) == 0;
	ok &= syscall(SYS_get_robust_list, 0, &h2, &len) == 0 && h2 == &mine;
	ok &= syscall(SYS_get_robust_list, 0, (void *)8, &len) == -1 && errno == EFAULT;
	ok &= syscall(SYS_set_robust_list, h, sizeof *h) == 0; /* glibc's again, for its exit */
	return (void *)(long)ok;
}

static void *nothing(void *arg)
{
	return arg;
}

/* Tasks in /proc/self/task, once at most `want`: a joined thread leaves the
 * list a little after pthread_join returns (the kernel clears the TID word
 * before it releases the task), so give it up to a second. */
static int settled_tasks(int want)
{
	int n = count_dir("/proc/self/task");
	for (int i = 0; i < 100 && n > want; i++) {
		usleep(10000);
		n = count_dir("/proc/self/task");
	}
	return n;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* create+join cost in µs: native (mv_hrt_thread_create) and ordinary. */
static int bench(int n)
{
	pthread_t t;
	double a = now_us();
	for (int i = 0; i < n; i++)
		if (mv_hrt_thread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
			return 1;
	double b = now_us();
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
			return 1;
	double c = now_us();
	printf("RESULT create_join native_us=%.1f ordinary_us=%.1f in_hrt=%d n=%d\n", (b - a) / n, (c - b) / n, mv_in_hrt(), n);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t[8];
	void *r;
	int ok;

	if (argc > 2 && !strcmp(argv[1], "bench"))
		return bench(atoi(argv[2]));
	hrt = mv_in_hrt();
	CHECK(mv_hrt_thread_native() == 0); /* main is never a native thread */

	/* Four at once: each placed right, its own TLS, TID and errno. */
	struct work w[4];
	ok = 1;
	pthread_barrier_init(&all_live, NULL, 5);
	for (long i = 0; i < 4; i++) {
		w[i] = (struct work){ .id = i + 1 };
		ok &= mv_hrt_thread_create(&t[i], NULL, basic, &w[i]) == 0;
	}
	pthread_barrier_wait(&all_live);
	for (int i = 0; i < 4; i++)
		ok &= pthread_join(t[i], &r) == 0 && (long)r == w[i].id + 1000;
	CHECK(ok);
	int placed = 1, tls = 1, err = 1, pids = 1, tids = 1;
	for (int i = 0; i < 4; i++) {
		placed &= w[i].placed;
		tls &= w[i].ret_tls == w[i].id * 10;
		err &= w[i].err_ok;
		pids &= w[i].pid == getpid();
		tids &= w[i].tid > 0 && w[i].tid != (int)syscall(SYS_gettid);
		for (int j = 0; j < i; j++)
			tids &= w[i].tid != w[j].tid; /* live at once: distinct */
	}
	CHECK(placed);
	CHECK(tls && tls_val == 7);
	CHECK(err);
	CHECK(pids);
	CHECK(tids);

	/* System calls from a native thread. */
	int fds[2];
	char buf[32] = { 0 };
	CHECK(pipe(fds) == 0);
	CHECK(mv_hrt_thread_create(&t[0], NULL, io, fds) == 0 && pthread_join(t[0], &r) == 0 && r == (void *)1);
	CHECK(read(fds[0], buf, sizeof buf) == 14 && !strcmp(buf, "native says hi"));
	close(fds[0]);
	close(fds[1]);

	/* Futex waits and wakes across a native and an ordinary thread. */
	CHECK(mv_hrt_thread_create(&t[0], NULL, player, (void *)0L) == 0);
	CHECK(pthread_create(&t[1], NULL, player, (void *)1L) == 0);
	void *r0, *r1;
	CHECK(pthread_join(t[0], &r0) == 0 && pthread_join(t[1], &r1) == 0);
	CHECK(r0 == (void *)1L && r1 == (void *)1L);
	printf("ping-pong: %d rounds between a native and an ordinary thread\n", ROUNDS);

	/* Detached; pthread_exit with TSD destructors; a native thread's own. */
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	sem_init(&done_sem, 0, 0);
	CHECK(mv_hrt_thread_create(&t[0], &at, detached, NULL) == 0);
	CHECK(sem_wait(&done_sem) == 0);
	pthread_key_create(&key, dtor);
	CHECK(mv_hrt_thread_create(&t[0], NULL, exits, (void *)7L) == 0 && pthread_join(t[0], &r) == 0 && (long)r == 21);
	CHECK(dtor_ran == 5);
	CHECK(mv_hrt_thread_create(&t[0], NULL, spawner, (void *)40L) == 0 && pthread_join(t[0], &r) == 0);
	CHECK((long)r == 42); /* both placed right */

	/* A signal sent to a native thread runs its handler there. */
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	CHECK(mv_hrt_thread_create(&t[0], NULL, spin, NULL) == 0);
	while (!__atomic_load_n(&spinning, __ATOMIC_ACQUIRE))
		usleep(100);
	CHECK(pthread_kill(t[0], SIGUSR1) == 0);
	for (int i = 0; i < 5000 && !got_sig; i++)
		usleep(1000);
	__atomic_store_n(&stop_spin, 1, __ATOMIC_RELEASE);
	CHECK(pthread_join(t[0], &r) == 0 && r == (void *)1L);
	CHECK(got_sig && sig_placed);

	/* Robust mutexes: the runner walks a native thread's list at its exit. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust_mu, &ma);
	sem_init(&held_sem, 0, 0);
	CHECK(mv_hrt_thread_create(&t[0], NULL, dies_holding, NULL) == 0);
	CHECK(sem_wait(&held_sem) == 0);
	CHECK(pthread_mutex_lock(&robust_mu) == EOWNERDEAD); /* waits until the owner ends */
	CHECK(pthread_mutex_consistent(&robust_mu) == 0 && pthread_mutex_unlock(&robust_mu) == 0);
	CHECK(pthread_join(t[0], &r) == 0 && r == (void *)1L);
	CHECK(mv_hrt_thread_create(&t[0], NULL, robust_head, NULL) == 0 && pthread_join(t[0], &r) == 0 && r == (void *)1L);

	/* Create+join in a loop: the pool is reused, nothing leaks. */
	usleep(200000); /* the ordinary player thread's task is gone by now */
	int fds0 = count_dir("/proc/self/fd"), tasks0 = count_dir("/proc/self/task");
	ok = 1;
	for (long i = 0; i < 200; i++) {
		ok &= mv_hrt_thread_create(&t[0], NULL, nothing, (void *)i) == 0;
		ok &= mv_hrt_thread_create(&t[1], NULL, nothing, (void *)(i + 1)) == 0;
		ok &= pthread_join(t[0], &r) == 0 && (long)r == i;
		ok &= pthread_join(t[1], &r) == 0 && (long)r == i + 1;
	}
	CHECK(ok);
	int fds1 = count_dir("/proc/self/fd"), tasks1 = settled_tasks(tasks0);
	printf("400 create+join: fds and tasks stay flat: %s\n", fds0 == fds1 && tasks0 == tasks1 ? "yes" : "no");
	fprintf(stderr, "loop: fds %d -> %d, tasks %d -> %d\n", fds0, fds1, tasks0, tasks1);
	CHECK(fds1 == fds0 && tasks1 == tasks0);
	/* Every native thread counted, in the HRT only. */
	long created = mv_override_count("pthread_create");
	fprintf(stderr, "native threads created: %ld\n", created);
	const long expect = 4 /* basic */ + 1 /* io */ + 1 /* player */ + 1 /* detached */ + 1 /* exits */ +
			    2 /* spawner */ + 1 /* spin */ + 2 /* robust */ + 400 /* loop */;
	CHECK(hrt ? created == expect : created == 0);
	DONE("t_native");
}
