/* preload.c - libmv-preload.so, what mvrun preloads into an UNMODIFIED
 * dynamically linked program: it interposes __libc_start_main and hands
 * glibc a substitute main that runs the program's main in the HRT, exactly
 * as __wrap_main does for mv-cc programs. The Nautilus image is linked into
 * this library (mv_hrt_blob.o), not into the program. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "mv.h"

typedef int (*main_fn_t)(int, char **, char **);
typedef int (*start_fn_t)(main_fn_t, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

static main_fn_t preload_main;

/* Drop LD_PRELOAD=... from an environment array, in place. Plain loops: the
 * program may define unsetenv, strncmp... itself (bash exports its own
 * unsetenv, which would not touch environ before bash's main). */
static void preload__drop(char **env)
{
	static const char key[] = "LD_PRELOAD=";
	char **w = env;

	for (char **r = env; r && *r; r++) {
		size_t i = 0;
		while (key[i] && (*r)[i] == key[i])
			i++;
		if (key[i])
			*w++ = *r;
	}
	if (w)
		*w = NULL;
}

static int preload__main(int argc, char **argv, char **envp)
{
	/* The program's children start natively, as an mv-cc program's do. */
	preload__drop(envp);
	if (__environ != envp) /* a constructor's setenv moved it */
		preload__drop(__environ);
	return mv__run_main(preload_main, argc, argv, envp);
}

__attribute__((visibility("default"))) int __libc_start_main(main_fn_t main_fn, int argc, char **argv,
							     void (*init)(void), void (*fini)(void),
							     void (*rtld_fini)(void), void *stack_end)
{
	start_fn_t real = (start_fn_t)dlsym(RTLD_NEXT, "__libc_start_main");

	if (!real) {
		fprintf(stderr, "mvrun: cannot find glibc's __libc_start_main: %s\n", dlerror());
		exit(127);
	}
	preload_main = main_fn;
	return real(preload__main, argc, argv, init, fini, rtld_fini, stack_end);
}
