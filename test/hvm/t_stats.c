/* MV_STATS: a known mix of forwarded calls, so the summary's counts can be
 * checked exactly: 100 getppid from main, 50 from a thread (another vCPU),
 * 3 writes. The summary comes when main returns (./t_stats ret) or at the
 * forwarded exit_group (./t_stats exit). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

static void *worker(void *arg)
{
	for (int i = 0; i < 50; i++)
		syscall(SYS_getppid);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t;

	for (int i = 0; i < 100; i++)
		syscall(SYS_getppid);
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < 3; i++)
		CHECK(write(1, "w\n", 2) == 2);
	if (argc > 1 && strcmp(argv[1], "exit") == 0) {
		printf("PASS t_stats\n");
		fflush(stdout);
		exit(0);
	}
	DONE("t_stats");
}
