/* An MPI job for the nodes of `mv-image cluster run`, built with Debian's MPICH through mpicc
 * with MPICH_CC=mv-cc, so every rank's main runs in ring 0 of the HRT. Each rank says at which
 * privilege level its main runs; a token goes once round the ring of ranks; an MPI_Allreduce is
 * checked against its closed form; ranks 0 and 1 time a ping-pong at a few message sizes.
 * Rank 0 prints one machine-readable line per result ("MPI-..."), and the job's status is 0
 * only when every check passed on every rank. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The privilege level this code runs at: the low two bits of %cs (0 in the HRT, 3 on Linux). */
static int cpl(void)
{
	unsigned short cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Round trips of `bytes` between ranks 0 and 1, each timed alone; rank 0 prints the median
 * one-way latency (half a round trip) and the bandwidth that gives. */
static void pingpong(int rank, int bytes, int reps, char *buf, double *rtt)
{
	const int warm = 2;
	for (int i = -warm; i < reps; i++) {
		double t0 = MPI_Wtime();
		if (rank == 0) {
			MPI_Send(buf, bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
			MPI_Recv(buf, bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else if (rank == 1) {
			MPI_Recv(buf, bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(buf, bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
		}
		if (i >= 0)
			rtt[i] = MPI_Wtime() - t0;
	}
	if (rank != 0)
		return;
	qsort(rtt, reps, sizeof *rtt, cmp_double);
	double one_way = rtt[reps / 2] / 2;
	printf("MPI-PINGPONG cpl=%d bytes=%d reps=%d latency_us=%.1f bandwidth_MBps=%.4f\n", cpl(), bytes, reps,
	       one_way * 1e6, bytes / one_way / 1e6);
}

int main(int argc, char **argv)
{
	int rank, size, len, ok = 1;
	char host[MPI_MAX_PROCESSOR_NAME];

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(host, &len);
	int level = cpl();
	printf("MPI-RANK %d of %d on %s: main at cpl=%d\n", rank, size, host, level);
	fflush(stdout);

	/* Ring: rank 0 starts the token at 1, each other rank r adds r and passes it on, and rank 0
	 * gets back 1 + (0 + 1 + ... + size-1). */
	long token = 1;
	if (size > 1) {
		if (rank == 0) {
			MPI_Send(&token, 1, MPI_LONG, 1, 1, MPI_COMM_WORLD);
			MPI_Recv(&token, 1, MPI_LONG, size - 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(&token, 1, MPI_LONG, rank - 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			token += rank;
			MPI_Send(&token, 1, MPI_LONG, (rank + 1) % size, 1, MPI_COMM_WORLD);
		}
	}
	if (rank == 0) {
		long want = 1 + (long)size * (size - 1) / 2;
		ok &= token == want;
		printf("MPI-RING ranks=%d token=%ld expected=%ld %s\n", size, token, want, token == want ? "ok" : "FAILED");
	}

	/* Allreduce: the sum of (rank+1)^2 over the ranks is n(n+1)(2n+1)/6, on every rank. */
	long mine = (long)(rank + 1) * (rank + 1), sum = 0, n = size;
	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	long closed = n * (n + 1) * (2 * n + 1) / 6;
	ok &= sum == closed;
	int all_ok = 0;
	MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
	if (rank == 0)
		printf("MPI-ALLREDUCE ranks=%d sum=%ld closed_form=%ld %s\n", size, sum, closed, all_ok ? "ok" : "FAILED");

	/* Where each rank's main ran, gathered on rank 0. */
	int *levels = malloc(sizeof(int) * size), at0 = 0;
	MPI_Gather(&level, 1, MPI_INT, levels, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (rank == 0) {
		for (int r = 0; r < size; r++)
			at0 += levels[r] == 0;
		printf("MPI-HRT ranks=%d cpl0=%d\n", size, at0);
	}

	/* Ping-pong between ranks 0 and 1; fewer round trips for the big messages (TCG is slow). */
	if (size > 1) {
		static const int sizes[] = {8, 1024, 65536, 1 << 20}, reps[] = {40, 40, 20, 8};
		char *buf = calloc(1, 1 << 20);
		double rtt[40];
		for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++)
			pingpong(rank, sizes[i], reps[i], buf, rtt);
		free(buf);
	}
	free(levels);
	if (rank == 0) {
		printf("MPI-DONE %s\n", all_ok ? "ok" : "FAILED");
		fflush(stdout);
	}
	/* Every rank enters MPI_Finalize together: MPICH's UCX finalize flushes and closes the
	 * endpoint to every rank, and with UCX 1.13's TCP transport a rank that got there long
	 * before the others (rank 2, idle during the ping-pong) was seen to spin there for good. */
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Finalize();
	return all_ok ? 0 : 1;
}
