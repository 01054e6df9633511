/* echo: an interactive program for the console. It says what its terminal is, then echoes each
 * line typed at it until end of input (Ctrl-D). Ctrl-C ends it with SIGINT and Ctrl-\ with
 * SIGQUIT, as on a Linux console. The line "spin" makes it compute forever without a system
 * call, so Ctrl-C also stops a program that is busy in the HRT. */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void describe_terminal(void)
{
	struct termios t;
	const char *tty = ttyname(STDIN_FILENO);
	int ok = tcgetattr(STDIN_FILENO, &t) == 0;
	printf("echo: stdin=%s foreground=%s isig=%s intr=%s\n", tty ? tty : "not-a-tty",
	       tcgetpgrp(STDIN_FILENO) == getpgrp() ? "yes" : "no",
	       ok && (t.c_lflag & ISIG) ? "on" : "off",
	       ok && t.c_cc[VINTR] == 3 ? "^C" : "other");
}

static void spin(void)
{
	volatile unsigned long n = 0;
	for (;;)
		n++;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	describe_terminal();
	printf("echo: ready\n");
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		printf("echo: read \"%s\"\n", line);
		if (strcmp(line, "spin") == 0) {
			printf("echo: spinning\n");
			spin();
		}
	}
	printf("echo: end of input\n");
	return 0;
}
