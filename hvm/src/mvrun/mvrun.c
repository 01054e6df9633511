/* mvrun - run an unmodified, dynamically linked program with its main in
 * the HRT: `mvrun ./prog args...`. It checks that the program has an ELF
 * interpreter (a static binary cannot take LD_PRELOAD), puts
 * libmv-preload.so in LD_PRELOAD and execs the program, so the exit status
 * is the program's own. The library is found through MV_PRELOAD_LIB, else
 * next to mvrun, else in ../lib/mv/ (the `make install` layout). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int mvrun__is_dynamic(const char *path, char *why, size_t n)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY | O_CLOEXEC), dyn = 0;

	if (fd < 0) {
		snprintf(why, n, "%s", strerror(errno));
		return -1;
	}
	if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		snprintf(why, n, "not an x86-64 ELF executable");
		close(fd);
		return -1;
	}
	for (int i = 0; i < eh.e_phnum; i++)
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) ==
			    (ssize_t)sizeof ph &&
		    ph.p_type == PT_INTERP)
			dyn = 1;
	close(fd);
	return dyn;
}

static int mvrun__find_lib(char *out, size_t n)
{
	const char *env = getenv("MV_PRELOAD_LIB");
	char self[PATH_MAX];
	ssize_t len;

	if (env && *env) {
		snprintf(out, n, "%s", env);
		return access(out, R_OK);
	}
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len < 0)
		return -1;
	self[len] = 0;
	char *dir = dirname(self);
	snprintf(out, n, "%s/libmv-preload.so", dir);
	if (access(out, R_OK) == 0)
		return 0;
	snprintf(out, n, "%s/../lib/mv/libmv-preload.so", dir);
	return access(out, R_OK);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], lib[PATH_MAX], why[128];
	const char *prog;
	int dyn;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr,
			"usage: mvrun PROGRAM [ARGS...]  (run a dynamically linked program's main in the HRT)\n");
		return argc < 2 ? 2 : 0;
	}
	prog = argv[1];
	/* Resolve like execvp would, to look at the file we will run. */
	if (strchr(prog, '/')) {
		snprintf(path, sizeof path, "%s", prog);
	} else {
		const char *p = getenv("PATH");
		path[0] = 0;
		for (char *dirs = strdup(p ? p : "/usr/bin:/bin"), *d = strtok(dirs, ":"); d; d = strtok(NULL, ":")) {
			snprintf(path, sizeof path, "%s/%s", d, prog);
			if (access(path, X_OK) == 0)
				break;
			path[0] = 0;
		}
		if (!path[0]) {
			fprintf(stderr, "mvrun: %s: command not found\n", prog);
			return 127;
		}
	}
	dyn = mvrun__is_dynamic(path, why, sizeof why);
	if (dyn < 0) {
		fprintf(stderr, "mvrun: %s: %s\n", prog, why);
		return errno == ENOENT ? 127 : 126;
	}
	if (!dyn) {
		fprintf(stderr,
			"mvrun: %s is statically linked: mvrun needs a dynamically linked program (rebuild it with "
			"mv-cc instead)\n",
			prog);
		return 126;
	}
	if (mvrun__find_lib(lib, sizeof lib) < 0) {
		fprintf(stderr, "mvrun: cannot find libmv-preload.so (set MV_PRELOAD_LIB)\n");
		return 127;
	}
	setenv("LD_PRELOAD", lib, 1);
	execv(path, argv + 1);
	fprintf(stderr, "mvrun: %s: %s\n", prog, strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
