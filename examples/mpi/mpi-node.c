/* What init starts on every node (a manifest's entry is an ELF program, not a script). It
 * hands the node over to mpi-node.sh, which starts the ssh server and, on node 0, mpiexec.
 * Built with plain gcc, not mv-cc: this is the node's Linux work; the ranks (mpi-bench) are
 * the ones whose main runs in the HRT. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	execl("/bin/sh", "sh", "/app/mpi-node.sh", (char *)0);
	perror("mpi-node: /bin/sh");
	return 127;
}
