/* Deep recursion: main's stack grows far below where it started (the VMM
 * grows the [stack] mapping the way Linux would). */
#include <string.h>
#include "check.h"

__attribute__((noinline)) static unsigned long deep(int n)
{
	volatile unsigned char frame[1024];
	memset((char *)frame, n & 0xff, sizeof frame);
	if (n == 0)
		return frame[0];
	return deep(n - 1) + frame[n % 1024];
}

int main(void)
{
	unsigned long s = deep(4000); /* ~4 MiB of stack */
	unsigned long want = 0;
	for (int n = 1; n <= 4000; n++)
		want += (unsigned char)(n & 0xff);
	CHECK(s == want);
	DONE("t_stack");
}
