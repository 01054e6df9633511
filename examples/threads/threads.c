/* threads: a parallel sum with 4 POSIX threads that checks its own result. It uses a mutex, a
 * condition variable, a barrier, thread-local storage and join, so it exercises execution groups
 * (one vCPU and one partner host thread per thread) when its main runs in the HRT. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 4
#define N 4000000UL

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t start;
static unsigned long total;
static int finished;
static _Thread_local unsigned long mine;

static void *worker(void *arg)
{
	unsigned long id = (unsigned long)arg;
	pthread_barrier_wait(&start);
	for (unsigned long i = id; i < N; i += NTHREADS)
		mine += i;
	pthread_mutex_lock(&lock);
	total += mine;
	if (++finished == NTHREADS)
		pthread_cond_signal(&all_done);
	pthread_mutex_unlock(&lock);
	return (void *)mine;
}

int main(void)
{
	pthread_t t[NTHREADS];
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (unsigned long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	pthread_mutex_lock(&lock);
	while (finished < NTHREADS)
		pthread_cond_wait(&all_done, &lock);
	pthread_mutex_unlock(&lock);

	unsigned long joined = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *part;
		pthread_join(t[i], &part);
		joined += (unsigned long)part;
	}
	unsigned long expect = N * (N - 1) / 2;
	printf("threads: %d threads summed 0..%lu = %lu (expected %lu), joined parts %lu, main's TLS %lu\n",
	       NTHREADS, N - 1, total, expect, joined, mine);
	int ok = total == expect && joined == expect && mine == 0;
	printf("threads: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
