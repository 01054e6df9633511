/* t_stress: 16 threads, each doing malloc/free, mmap/munmap/mprotect and
 * file I/O for a fixed number of iterations, checking its own results; then
 * dlopen/dlsym of a shared library after main started (dynamic build only).
 * usage: t_stress [ITERATIONS]   (default 20) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

#define NT 16
static int iters = 20;
static int errors[NT];

static void *worker(void *arg)
{
	long id = (long)arg;
	char path[64], buf[256];

	snprintf(path, sizeof path, "/tmp/t_stress.%ld", id);
	for (int i = 0; i < iters; i++) {
		size_t n = 1000 + (size_t)(id * 97 + i * 31) % 100000;
		unsigned char *p = malloc(n);
		memset(p, (int)(id + i), n);
		for (size_t k = 0; k < n; k += 4096)
			errors[id] += p[k] != (unsigned char)(id + i);
		free(p);

		size_t len = 64 * 1024;
		unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		errors[id] += m == MAP_FAILED;
		if (m != MAP_FAILED) {
			m[0] = m[len - 1] = (unsigned char)id;
			errors[id] += mprotect(m, len, PROT_READ) != 0;
			errors[id] += m[0] != (unsigned char)id || m[len - 1] != (unsigned char)id;
			errors[id] += munmap(m, len) != 0;
		}

		int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
		int w = snprintf(buf, sizeof buf, "thread %ld iteration %d", id, i);
		errors[id] += fd < 0 || write(fd, buf, (size_t)w) != w;
		char back[256] = "";
		errors[id] += pread(fd, back, sizeof back - 1, 0) != w || strcmp(back, buf) != 0;
		close(fd);
	}
	unlink(path);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NT];
	int total = 0;

	if (argc > 1)
		iters = atoi(argv[1]);
	for (long i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (long i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NT; i++)
		total += errors[i];
	printf("stress: %d threads x %d iterations, %d errors\n", NT, iters, total);
	CHECK(total == 0);

	void *h = dlopen("libm.so.6", RTLD_NOW);
	if (h) {
		double (*cosine)(double) = (double (*)(double))dlsym(h, "cos");
		CHECK(cosine && cosine(0.0) == 1.0);
		CHECK(dlclose(h) == 0);
	} else {
		printf("dlopen unavailable: %s\n", dlerror()); /* a static build */
	}
	DONE("t_stress");
}
