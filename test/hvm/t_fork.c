/* t_fork: fork() and vfork() from the HRT. The child continues natively in
 * the ROS (CPL 3): it can compute, write, return from main or _exit, exec;
 * the parent (still in the HRT) gets its status. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mv/hrt.h>
#include "check.h"

static int global = 1;

int main(int argc, char **argv)
{
	int st = -1, fd[2];
	pid_t pid;
	char buf[64] = "";

	(void)argc;
	(void)argv;
	/* fork: the child has its own copy of memory and runs natively */
	CHECK(pipe(fd) == 0);
	pid = fork();
	if (pid == 0) {
		global = 42;
		char msg[64];
		int n = snprintf(msg, sizeof msg, "child: in_hrt=%d global=%d", mv_in_hrt(), global);
		write(fd[1], msg, (size_t)n);
		_exit(mv_in_hrt() ? 1 : 5);
	}
	close(fd[1]);
	CHECK(pid > 0 && read(fd[0], buf, sizeof buf - 1) > 0);
	close(fd[0]);
	CHECK(strcmp(buf, "child: in_hrt=0 global=42") == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5);
	CHECK(global == 1);

	/* a forked child returning from main exits through glibc with main's value */
	pid = fork();
	if (pid == 0)
		return mv_in_hrt() ? 1 : 9;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 9);

	/* vfork + _exit, vfork + exec */
	pid = vfork();
	if (pid == 0)
		_exit(mv_in_hrt() ? 1 : 4);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 4);
	pid = vfork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 6", (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 6);
	CHECK(mv_in_hrt() == (getenv("MV_DISABLE") == NULL));
	DONE("t_fork");
}
