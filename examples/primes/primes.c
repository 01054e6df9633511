/* primes: prints the primes below N (default 100), one line, and their count. */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int is_prime(unsigned long n)
{
	if (n < 2)
		return 0;
	unsigned long limit = (unsigned long)sqrt((double)n);
	for (unsigned long d = 2; d <= limit; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
#if HAVE_STRTOUL
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
#else
	unsigned long n = argc > 1 ? (unsigned long)atol(argv[1]) : 100;
#endif
	unsigned long count = 0;
	for (unsigned long i = 2; i < n; i++)
		if (is_prime(i)) {
			printf("%s%lu", count ? " " : "", i);
			count++;
		}
	printf("\n%lu primes below %lu\n", count, n);
	return 0;
}
