/* check.h - tiny self-checking harness for the HRT C tests: each CHECK
 * prints "ok ..." or "FAIL ...", DONE prints PASS/FAIL <name> and returns
 * the exit status. Output must not depend on HRT vs native (MV_DISABLE=1). */
#ifndef CHECK_H
#define CHECK_H
#include <dirent.h>
#include <stdio.h>
#include <stdint.h>
#ifdef MV_PLAIN
/* Built with plain gcc (t_*-plain) for mvrun: <mv/hrt.h> comes from the
 * preloaded libmv, so the program links without it. */
int mv_in_hrt(void) __attribute__((weak));
int mv_vcpu_id(void) __attribute__((weak));
int mv_read_cr3(uint64_t *cr3) __attribute__((weak));
int mv_irq_disable(void) __attribute__((weak));
int mv_irq_enable(void) __attribute__((weak));
const char *mv_version(void) __attribute__((weak));
long mv_override_count(const char *name) __attribute__((weak));
int mv_exitless(void) __attribute__((weak));
#endif
static int check_failures;
/* Entries in a directory such as /proc/self/task or /proc/self/fd (leak checks). */
static inline int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}
#define CHECK(c) do { if (c) printf("ok %s\n", #c); \
	else { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); check_failures++; } } while (0)
#define DONE(name) do { printf("%s %s\n", check_failures ? "FAIL" : "PASS", name); \
	fflush(stdout); return check_failures ? 1 : 0; } while (0)
#endif
