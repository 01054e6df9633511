/* stdin is the process's: lines piped in are read through. */
#include <string.h>
#include "check.h"

int main(void)
{
	char line[128];
	int n = 0, total = 0;
	while (fgets(line, sizeof line, stdin)) {
		n++;
		total += (int)strlen(line);
		printf("got: %s", line);
	}
	CHECK(n == 3 && total == 14); /* "one\ntwo\nthree\n" */
	DONE("t_stdin");
}
