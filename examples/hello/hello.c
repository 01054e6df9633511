/* hello: the smallest package mv-image builds. It prints its arguments and environment, reads a
 * file the manifest puts into the image, and exits with the status named by HELLO_STATUS. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv)
{
	printf("hello from %s\n", argv[0]);
	for (int i = 1; i < argc; i++)
		printf("arg[%d]=%s\n", i, argv[i]);
	for (char **e = environ; *e; e++)
		printf("env %s\n", *e);

	FILE *f = fopen("/etc/hello.txt", "r");
	if (!f) {
		perror("hello: /etc/hello.txt");
		return 2;
	}
	char line[256];
	while (fgets(line, sizeof line, f))
		printf("file: %s", line);
	fclose(f);

	const char *status = getenv("HELLO_STATUS");
	return status ? atoi(status) : 0;
}
