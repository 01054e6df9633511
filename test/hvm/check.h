/* check.h - tiny self-checking harness for the HRT C tests: each CHECK
 * prints "ok ..." or "FAIL ...", DONE prints PASS/FAIL <name> and returns
 * the exit status. Output must not depend on HRT vs native (MV_DISABLE=1). */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
static int check_failures;
#define CHECK(c) do { if (c) printf("ok %s\n", #c); \
	else { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); check_failures++; } } while (0)
#define DONE(name) do { printf("%s %s\n", check_failures ? "FAIL" : "PASS", name); \
	fflush(stdout); return check_failures ? 1 : 0; } while (0)
#endif
