/* Exceptions other than page faults, and a triple fault: each gives the
 * one-screen report and the status the matching signal would.
 *   ./t_fault ud2     #UD  -> SIGILL  (132)
 *   ./t_fault div0    #DE  -> SIGFPE  (136)
 *   ./t_fault gp      #GP (non-canonical address) -> SIGSEGV (139)
 *   ./t_fault triple  IDT limit 0, then int3: triple fault -> SIGSEGV (139), no hang */
#include <string.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	printf("t_fault %s\n", m);
	fflush(stdout);
	if (strcmp(m, "ud2") == 0)
		__asm__ volatile("ud2");
	if (strcmp(m, "div0") == 0) {
		int q, zero = 0;
		__asm__ volatile("cltd; idivl %2" : "=a"(q) : "a"(7), "r"(zero) : "rdx");
		printf("%d\n", q);
	}
	if (strcmp(m, "gp") == 0)
		printf("%d\n", *(volatile int *)0x8000000000000000ULL);
	if (strcmp(m, "triple") == 0) {
		struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt = { 0, 0 };
		__asm__ volatile("lidt %0; int3" ::"m"(idt));
	}
	printf("FAIL: survived %s\n", m);
	return 1;
}
