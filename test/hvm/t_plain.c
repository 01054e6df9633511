/* t_plain: an ordinary program, built with plain gcc (no mv-cc, no libmv):
 * mvrun must run its main in the HRT. Prints the CPL it runs at, runs two
 * threads, and exits with the status given as argv[1]. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int cpl(void)
{
	unsigned short cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

static void *worker(void *arg)
{
	return (void *)(long)(cpl() + (long)arg);
}

int main(int argc, char **argv)
{
	pthread_t t[2];
	void *r0, *r1;

	pthread_create(&t[0], NULL, worker, (void *)10L);
	pthread_create(&t[1], NULL, worker, (void *)20L);
	pthread_join(t[0], &r0);
	pthread_join(t[1], &r1);
	printf("t_plain: main cpl=%d, thread results %ld %ld, argv[0]=%s\n", cpl(), (long)r0, (long)r1, argv[0]);
	return argc > 1 ? atoi(argv[1]) : 0;
}
