/* Small mappings made, written and unmapped over and over at the same
 * addresses, as CPython's test_mmap (test_move) does with mmap.mmap(-1, 10):
 * each new mapping must be writable in the HRT at once, whatever was mapped
 * there before (another anonymous shared page, a private one, a file page,
 * a read-only one). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

static const char data[] = "0123456789";

/* One mmap.move round: map, fill, move, compare, unmap. */
static int cycle(int flags, int fd, int dest, int src, int count)
{
	char expect[10];
	char *m = mmap(NULL, 10, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (m == MAP_FAILED)
		return 0;
	memcpy(m, data, 10);
	memcpy(expect, data, 10);
	memmove(m + dest, m + src, (size_t)count);
	memmove(expect + dest, expect + src, (size_t)count);
	int ok = memcmp(m, expect, 10) == 0;
	munmap(m, 10);
	return ok;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	char path[] = "/tmp/t_remap.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
	unlink(path);

	int bad = 0, n = 0;
	for (int r = 0; r < rounds; r++) {
		/* Every (dest, src, count) as test_move does, anonymous shared. */
		for (int d = 0; d < 10; d++)
			for (int s = 0; s < 10; s++)
				for (int c = 0; c < 10 - (d > s ? d : s); c++, n++)
					bad += !cycle(MAP_SHARED | MAP_ANONYMOUS, -1, d, s, c);
		/* The same address in turn private, file-backed, read-only, shared. */
		for (int i = 0; i < 50; i++, n += 3) {
			bad += !cycle(MAP_PRIVATE | MAP_ANONYMOUS, -1, 1, 0, 5);
			bad += !cycle(MAP_SHARED, fd, 0, 1, 5);
			char *ro = mmap(NULL, 10, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			bad += ro == MAP_FAILED || ro[0] != 0;
			munmap(ro, 10);
			bad += !cycle(MAP_SHARED | MAP_ANONYMOUS, -1, 0, 5, 5);
		}
	}
	printf("remap: %d mappings, %d bad\n", n, bad);
	CHECK(bad == 0);
	close(fd);
	DONE("t_remap");
}
