/* A program for gdb (MV_GDB): a function to break on with locals, a global to watch, threads
 * parked at a barrier (one vCPU each), and a fault on request.
 *   ./t_gdb          prints "result 10" and exits with status 7
 *   ./t_gdb fault    writes through NULL in fault_here() */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

volatile int watched;
static pthread_barrier_t bar;

__attribute__((noinline)) int add(int a, int b)
{
	int sum = a + b;
	watched = sum;
	return sum * 2;
}

__attribute__((noinline)) void fault_here(volatile int *p)
{
	*p = 1;
}

static void *worker(void *arg)
{
	pthread_barrier_wait(&bar); /* started */
	pthread_barrier_wait(&bar); /* main is done */
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[2];
	pthread_barrier_init(&bar, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	pthread_barrier_wait(&bar);
	if (argc > 1 && strcmp(argv[1], "fault") == 0)
		fault_here(NULL);
	int r = add(2, 3);
	printf("result %d\n", r);
	fflush(stdout);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 7;
}
