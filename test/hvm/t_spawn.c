/* t_spawn: child processes from the HRT. posix_spawn, system() and popen()
 * (glibc: clone(CLONE_VM|CLONE_VFORK) on a fresh stack) start an ordinary
 * Linux process; fork() and vfork() are refused with ENOSYS (hvm/README.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;

int main(void)
{
	pid_t pid;
	int st = -1;
	char *argv[] = { "sh", "-c", "exit 42", NULL };

	CHECK(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 42);

	st = system("test \"$(echo hi)\" = hi && exit 3");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);

	FILE *p = popen("echo from-child; echo second", "r");
	char line[64] = "";
	CHECK(p != NULL && fgets(line, sizeof line, p) && strcmp(line, "from-child\n") == 0);
	CHECK(fgets(line, sizeof line, p) && strcmp(line, "second\n") == 0);
	CHECK(pclose(p) == 0);

	p = popen("cat > /tmp/t_spawn.txt", "w");
	CHECK(p != NULL && fputs("written\n", p) >= 0 && pclose(p) == 0);
	FILE *f = fopen("/tmp/t_spawn.txt", "r");
	CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "written\n") == 0);
	if (f)
		fclose(f);

	/* Many in a row: no leak of fds or children. */
	int ok = 1;
	for (int i = 0; i < 20; i++)
		ok &= system("true") == 0;
	CHECK(ok);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	DONE("t_spawn");
}
