/* t_threads: execution groups. pthread create/join/detach, mutex, condvar,
 * barrier, per-thread TLS, and create/join storms that must not leak host
 * threads or fds. Each thread in the HRT runs on its own vCPU.
 * usage: t_threads [ROUNDS]   (64 threads per storm round; default 3) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

static __thread long tls_val = 7;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready, in_hrt_all = 1, vcpu_seen[64];

/* HRT-native threads created (mv-cc --mv-override=pthread_create). */
static long native_threads(void)
{
#ifdef MV_PLAIN
	if (!mv_override_count)
		return 0;
#endif
	return mv_override_count("pthread_create");
}

/* libmv's own host thread: the exitless-call server, when it runs. */
static int server_threads(void)
{
#ifdef MV_PLAIN
	if (!mv_exitless)
		return 0;
#endif
	return mv_exitless();
}

static void *ret_arg(void *arg)
{
	long id = (long)arg;
	tls_val = id * 100; /* per thread: main's stays 7 */
	pthread_mutex_lock(&mu);
	if (mv_in_hrt() != mv_in_hrt() || (getenv("MV_DISABLE") == NULL && !mv_in_hrt()))
		in_hrt_all = 0;
	if (mv_in_hrt() && mv_vcpu_id() >= 0 && mv_vcpu_id() < 64)
		vcpu_seen[mv_vcpu_id()] = 1;
	pthread_mutex_unlock(&mu);
	return (void *)(tls_val + 1);
}

static void *add_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!ready)
		pthread_cond_wait(&cv, &mu);
	counter += 1000;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static pthread_barrier_t bar;
static int phase[4];
static void *barrier_worker(void *arg)
{
	long id = (long)arg;
	for (int r = 0; r < 3; r++) {
		__atomic_fetch_add(&phase[r], 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&bar);
		if (__atomic_load_n(&phase[r], __ATOMIC_SEQ_CST) != 4)
			__atomic_store_n(&phase[3], 1000 + (int)id, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static pthread_barrier_t wbar;
static void *wait_all(void *arg)
{
	pthread_barrier_wait(&wbar);
	return arg;
}

static int detached_done;
static void *detached(void *arg)
{
	(void)arg;
	__atomic_store_n(&detached_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Memory coherence: another thread maps, touches and unmaps; we see it. */
static char *shared_map;
static void *mapper(void *arg)
{
	(void)arg;
	shared_map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared_map != MAP_FAILED)
		memset(shared_map, 0x5a, 1 << 20);
	return NULL;
}

static void *exit_later(void *arg)
{
	usleep(50000);
	printf("t_threads main-exit: the thread outlived main's pthread_exit\n");
	fflush(stdout);
	exit((int)(long)arg);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "main-exit")) {
		/* main's vCPU and partner end; the process lives on in the thread */
		pthread_t x;
		pthread_create(&x, NULL, exit_later, (void *)5L);
		pthread_exit(NULL);
	}
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	pthread_t t[64];
	void *r;
	int ok;

	/* create / join with results and per-thread TLS */
	ok = 1;
	for (long i = 0; i < 8; i++)
		ok &= pthread_create(&t[i], NULL, ret_arg, (void *)(i + 1)) == 0;
	CHECK(ok);
	ok = 1;
	for (long i = 0; i < 8; i++)
		ok &= pthread_join(t[i], &r) == 0 && (long)r == (i + 1) * 100 + 1;
	CHECK(ok);
	CHECK(tls_val == 7);
	CHECK(in_hrt_all);
	int nv = 0;
	for (int i = 0; i < 64; i++)
		nv += vcpu_seen[i];
	if (mv_in_hrt())
		fprintf(stderr, "threads ran on %d distinct vCPUs\n", nv);

	/* mutex */
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, add_many, NULL);
	for (long i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(counter == 8000);

	/* condvar */
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, waiter, NULL);
	usleep(20000);
	pthread_mutex_lock(&mu);
	ready = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(counter == 11000);

	/* barrier */
	pthread_barrier_init(&bar, NULL, 4);
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, barrier_worker, (void *)i);
	for (long i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(phase[0] == 4 && phase[1] == 4 && phase[2] == 4 && phase[3] == 0);

	/* detach */
	pthread_t d;
	CHECK(pthread_create(&d, NULL, detached, NULL) == 0 && pthread_detach(d) == 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&detached_done, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	CHECK(detached_done);
	usleep(20000); /* let the detached thread finish exiting */

	/* memory made by another thread is visible here */
	pthread_create(&t[0], NULL, mapper, NULL);
	pthread_join(t[0], NULL);
	CHECK(shared_map != MAP_FAILED && shared_map[12345] == 0x5a && shared_map[(1 << 20) - 1] == 0x5a);
	CHECK(munmap(shared_map, 1 << 20) == 0);

	/* create + join cost of one thread (a reused vCPU after the first) */
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 16; i++) {
		pthread_create(&t[0], NULL, ret_arg, NULL);
		pthread_join(t[0], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "create+join: %.0f us per thread\n",
		((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 16 / 1e3);

	/* storms: 64 threads per round; host threads and fds stay flat. The
	 * warm-up has all 64 live at once: the HRT keeps one vCPU fd per thread
	 * that was ever live at the same time (vCPUs are pooled: KVM cannot
	 * destroy one), so after it the pool is at its largest. */
	ok = 1;
	pthread_barrier_init(&wbar, NULL, 65);
	for (long i = 0; i < 64; i++)
		ok &= pthread_create(&t[i], NULL, wait_all, NULL) == 0;
	pthread_barrier_wait(&wbar);
	for (long i = 0; i < 64; i++)
		ok &= pthread_join(t[i], NULL) == 0;
	CHECK(ok);
	int fds0 = count_dir("/proc/self/fd"), tasks0 = count_dir("/proc/self/task");
	for (int round = 0; round < rounds; round++) {
		for (long i = 0; i < 64; i++)
			ok &= pthread_create(&t[i], NULL, ret_arg, (void *)i) == 0;
		for (long i = 0; i < 64; i++)
			ok &= pthread_join(t[i], &r) == 0 && (long)r == i * 100 + 1;
	}
	CHECK(ok);
	int fds1 = count_dir("/proc/self/fd"), tasks1 = count_dir("/proc/self/task");
	printf("storm: %d rounds x 64 threads after a warm-up round; fds and tasks stay flat: %s\n", rounds,
	       fds0 == fds1 && tasks0 == tasks1 ? "yes" : "no");
	fprintf(stderr, "storm: fds %d -> %d, tasks %d -> %d\n", fds0, fds1, tasks0, tasks1);
	CHECK(fds1 == fds0);
	/* With mv-cc --mv-override=pthread_create the threads are HRT-native:
	 * the pooled vCPUs keep their runner threads, so "flat" is all it is. */
	CHECK(tasks1 == tasks0 && (tasks1 == 1 + server_threads() || native_threads() > 0));
	DONE("t_threads");
}
