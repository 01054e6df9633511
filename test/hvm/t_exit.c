/* Exit statuses: ./t_exit ret N | exit N | _exit N. atexit handlers must run
 * for return and exit (and not for _exit). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

static void bye(void)
{
	printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int n = atoi(argv[2]);
	atexit(bye);
	printf("t_exit %s %d\n", argv[1], n); /* left in the stdio buffer on purpose */
	if (strcmp(argv[1], "exit") == 0)
		exit(n);
	if (strcmp(argv[1], "_exit") == 0) {
		fflush(stdout);
		_exit(n);
	}
	return n;
}
