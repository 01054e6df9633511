/* unit.h - the case framework of hvm/unit (one header, no library).
 *
 * A test file lists its cases with UNIT_MAIN("vma", CASE(a), CASE(b), ...).
 * Each case runs in a forked child, so a failed check, a crash, a sanitizer
 * report or a hang (UNIT_TIMEOUT seconds) fails that case alone, and the
 * others still run. The parent prints one TAP-like line per case:
 *   ok vma.split_middle
 *   not ok vma.split_middle: t_vma.c:88: table is 1000-2000:r-- (want 1000-3000:r--)
 * and exits 1 if any case failed. `t_vma split` runs only the cases whose
 * name contains "split". test/hvm/unit.test.ts turns each line into an ava test.
 */
#ifndef MV_UNIT_H
#define MV_UNIT_H
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_TIMEOUT 20 /* seconds a case may take */
#define UNIT_STR_(x) #x
#define UNIT_STR(x)  UNIT_STR_(x)

/* LeakSanitizer at every case's exit costs about 0.4 s a case: off unless
 * asked for (ASAN_OPTIONS=detect_leaks=1 build/unit/t_vma). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

struct unit_case {
	const char *name;
	void (*fn)(void);
};

static int unit_fd = -1; /* in the child: where the reason for a failure goes */

/* Fail the running case: the reason goes to the parent and the child ends
 * here, so a check inside a helper needs no return path. */
__attribute__((noreturn, format(printf, 3, 4), unused)) static void unit_fail(const char *file, int line,
									      const char *fmt, ...)
{
	char why[1024];
	int n = snprintf(why, sizeof why, "%s:%d: ", file, line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why + n, sizeof why - (size_t)n, fmt, ap);
	va_end(ap);
	for (char *c = why; *c; c++)
		if (*c == '\n')
			*c = ' '; /* one line per case */
	if (write(unit_fd, why, strlen(why)) < 0)
		_exit(2);
	_exit(1);
}

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond))                                               \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

/* Integers of any width, compared as 64-bit values (shown in hex and decimal). */
#define CHECK_EQ(a, b)                                                                                                \
	do {                                                                                                          \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                                      \
		if (a_ != b_)                                                                                         \
			unit_fail(__FILE__, __LINE__,                                                                 \
				  "%s == %s: 0x%" PRIx64 " (%" PRId64 ") != 0x%" PRIx64 " (%" PRId64 ")", #a, #b, a_, \
				  (int64_t)a_, b_, (int64_t)b_);                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                          \
	do {                                                                                     \
		const char *a_ = (a), *b_ = (b);                                                 \
		if (strcmp(a_, b_) != 0)                                                         \
			unit_fail(__FILE__, __LINE__, "%s is \"%s\" (want \"%s\")", #a, a_, b_); \
	} while (0)

#define CASE(fn)        \
	{               \
#fn, fn \
	}

/* Run one case in a child; 1 if it passed. */
static int unit_run(const char *unit, const struct unit_case *c)
{
	char why[1100] = "";
	size_t len = 0;
	ssize_t r;
	int fds[2], status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		printf("not ok %s.%s: cannot fork: %s\n", unit, c->name, strerror(errno));
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		unit_fd = fds[1];
		alarm(UNIT_TIMEOUT);
		c->fn();
		exit(0); /* exit, not _exit: LeakSanitizer checks at exit */
	}
	close(fds[1]);
	while (len < sizeof why - 1 && (r = read(fds[0], why + len, sizeof why - 1 - len)) > 0)
		len += (size_t)r;
	why[len] = 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !len) {
		printf("ok %s.%s\n", unit, c->name);
		return 1;
	}
	if (!len && WIFSIGNALED(status))
		snprintf(why, sizeof why, "killed by signal %d%s", WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (over " UNIT_STR(UNIT_TIMEOUT) " s: a hang?)" : "");
	else if (!len)
		snprintf(why, sizeof why, "exit status %d (a sanitizer report on stderr?)", WEXITSTATUS(status));
	printf("not ok %s.%s: %s\n", unit, c->name, why);
	return 0;
}

static int unit_main(const char *unit, const struct unit_case *cases, int n, int argc, char **argv)
{
	int run = 0, failed = 0;

	for (int i = 0; i < n; i++)
		run += argc < 2 || strstr(cases[i].name, argv[1]);
	printf("1..%d\n", run);
	for (int i = 0; i < n; i++)
		if (argc < 2 || strstr(cases[i].name, argv[1]))
			failed += !unit_run(unit, &cases[i]);
	printf("# %s: %d passed, %d failed\n", unit, run - failed, failed);
	return failed ? 1 : 0;
}

#define UNIT_MAIN(unit, ...)                                                                                      \
	static const struct unit_case unit_cases_[] = { __VA_ARGS__ };                                            \
	int main(int argc, char **argv)                                                                           \
	{                                                                                                         \
		return unit_main(unit, unit_cases_, (int)(sizeof unit_cases_ / sizeof *unit_cases_), argc, argv); \
	}

#endif
