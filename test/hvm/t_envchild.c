/* mvrun's preload removes LD_PRELOAD before main, so the program's children
 * start natively. This program, like bash, has its own unsetenv (built with
 * -rdynamic, as bash is, so that it interposes glibc's): the removal must not
 * depend on it. The child is this program again ("child"). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#ifndef MV_PLAIN
#include <mv/hrt.h>
#else
/* What bash's unsetenv does before its main has read the environment: nothing to environ. */
int unsetenv(const char *name)
{
	(void)name;
	return 0;
}
#endif

static const char *where(void)
{
#ifdef MV_PLAIN
	return mv_in_hrt && mv_in_hrt() ? "in the HRT" : "native";
#else
	return mv_in_hrt() ? "in the HRT" : "native";
#endif
}

int main(int argc, char **argv, char **envp)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		printf("child: LD_PRELOAD %s, %s\n", getenv("LD_PRELOAD") ? "set" : "unset", where());
		return 0;
	}
	int in_envp = 0;
	for (char **e = envp; *e; e++)
		in_envp += strncmp(*e, "LD_PRELOAD=", 11) == 0;
	printf("main: %s\n", where());
	CHECK(getenv("LD_PRELOAD") == NULL);
	CHECK(in_envp == 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	DONE("t_envchild");
}
