/* Memory protection keys as a program (V8, in Node.js) probes them: what
 * CPUID says, what pkey_alloc says and whether rdpkru works must agree. The
 * HRT hides PKU and pkey_alloc fails as on a CPU without it (hvm/README.md);
 * a native run on a CPU with PKU takes the other branch. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"
#ifndef MV_PLAIN
#include <mv/hrt.h>
#endif

static int in_hrt(void)
{
#ifdef MV_PLAIN
	return mv_in_hrt && mv_in_hrt();
#else
	return mv_in_hrt();
#endif
}

int main(void)
{
	unsigned a, b, c, d;
	__cpuid_count(7, 0, a, b, c, d);
	int pku = (c >> 3) & 1, ospke = (c >> 4) & 1;
	int hrt = in_hrt();
	printf("cpuid: pku %d ospke %d\n", pku, ospke);

	errno = 0;
	int k = pkey_alloc(0, 0);
	int err = errno;
	if (k >= 0) {
		/* Keys work: the OS must have turned them on, and rdpkru runs. */
		CHECK(pku && ospke);
		CHECK(!hrt);
		if (ospke)
			CHECK(pkey_get(k) == 0);
		CHECK(pkey_free(k) == 0);
	} else {
		/* No keys: as on a CPU without PKU (Linux: ENOSPC), and CPUID agrees. */
		printf("pkey_alloc: %s\n", strerror(err));
		CHECK(err == ENOSPC);
		CHECK(!ospke);
		CHECK(hrt ? !pku : 1);
		errno = 0;
		CHECK(pkey_alloc(1, 0) == -1 && errno == EINVAL);
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED);
		errno = 0;
		CHECK(pkey_mprotect(p, 4096, PROT_READ, 1) == -1 && errno == EINVAL);
		/* Key -1 is plain mprotect, and the HRT must see it (the page stays readable). */
		CHECK(pkey_mprotect(p, 4096, PROT_READ, -1) == 0);
		CHECK(p[0] == 0);
		munmap(p, 4096);
	}
	DONE("t_pkey");
}
