/* malloc from 1 KiB to 256 MiB, touching every page (brk and mmap paths). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

int main(void)
{
	int ok = 1;
	for (size_t sz = 1024; sz <= (256u << 20); sz *= 4) {
		unsigned char *p = malloc(sz);
		if (!p) {
			printf("FAIL malloc(%zu)\n", sz);
			ok = 0;
			continue;
		}
		for (size_t i = 0; i < sz; i += 4096)
			p[i] = (unsigned char)(i >> 12);
		p[sz - 1] = 0x5a;
		uint64_t sum = 0, want = 0;
		for (size_t i = 0; i < sz; i += 4096) {
			sum += p[i];
			want += (unsigned char)(i >> 12);
		}
		if (sum != want || p[sz - 1] != 0x5a) {
			printf("FAIL malloc(%zu) contents\n", sz);
			ok = 0;
		}
		free(p);
	}
	CHECK(ok);
	/* Many small allocations (brk growth) survive a realloc storm. */
	char *v[1000];
	for (int i = 0; i < 1000; i++) {
		v[i] = malloc(100 + i);
		memset(v[i], i & 0xff, 100 + i);
	}
	for (int i = 0; i < 1000; i++)
		v[i] = realloc(v[i], 5000);
	int good = 1;
	for (int i = 0; i < 1000; i++) {
		good &= (unsigned char)v[i][99] == (i & 0xff);
		free(v[i]);
	}
	CHECK(good);
	DONE("t_malloc");
}
