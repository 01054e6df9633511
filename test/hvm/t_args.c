/* argv, envp and the auxiliary vector reach main intact. Run as:
 *   MV_TEST_VAR=hello ./t_args one "two words" */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <elf.h>
#include "check.h"

extern char **environ;

int main(int argc, char **argv, char **envp)
{
	CHECK(argc == 3);
	CHECK(argc == 3 && strcmp(argv[1], "one") == 0 && strcmp(argv[2], "two words") == 0);
	CHECK(argv[argc] == NULL);
	CHECK(envp == environ);
	CHECK(getenv("MV_TEST_VAR") && strcmp(getenv("MV_TEST_VAR"), "hello") == 0);
	int found = 0;
	for (char **e = envp; *e; e++)
		found |= strcmp(*e, "MV_TEST_VAR=hello") == 0;
	CHECK(found);
	CHECK(getauxval(AT_PAGESZ) == 4096);
	CHECK(getauxval(AT_PHDR) != 0);
	CHECK(getauxval(AT_RANDOM) != 0);
	CHECK(getauxval(AT_EXECFN) && strstr((const char *)getauxval(AT_EXECFN), "t_args"));
	/* The auxv sits right after envp's NULL on the initial stack. */
	char **p = envp;
	while (*p)
		p++;
	Elf64_auxv_t *av = (Elf64_auxv_t *)(p + 1);
	int n = 0;
	for (; av->a_type != AT_NULL; av++)
		n += av->a_type == AT_PAGESZ && av->a_un.a_val == 4096;
	CHECK(n == 1);
	DONE("t_args");
}
