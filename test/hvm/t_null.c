/* A NULL dereference: the one-screen report, then status 139 (SIGSEGV). */
#include <stdio.h>

__attribute__((noinline)) static int deref(volatile int *p)
{
	return *p;
}

int main(void)
{
	printf("about to dereference NULL\n");
	fflush(stdout);
	int v = deref((volatile int *)0);
	printf("FAIL: read %d from NULL\n", v);
	return 1;
}
