/* The C program of bench/compat.ts: gcc compiles it (both ways; the binaries must be the same)
 * and tcc runs it (-run: compiled into memory and run in the process, so in the HRT). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv) {
  int n = 5000, *v = malloc(n * sizeof *v);
  unsigned x = 12345;
  for (int i = 0; i < n; i++) v[i] = (int)((x = x * 1103515245u + 12345u) >> 8) % 100000;
  qsort(v, n, sizeof *v, cmp);
  long sum = 0;
  for (int i = 0; i < n; i++) sum += (long)v[i] * (i % 7);
  double s = 0;
  for (int i = 1; i <= 10000; i++) s += sqrt((double)i) / i;
  char buf[64];
  snprintf(buf, sizeof buf, "%s-%d", argc > 1 ? argv[1] : "none", (int)strlen(argv[0]) > 0);
  printf("min %d max %d sum %ld s %.9f %s\n", v[0], v[n - 1], sum, s, buf);
  free(v);
  return 3;
}
