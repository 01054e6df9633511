/* getcpu as the vDSO answers it must agree with the system call: the vDSO
 * reads the CPU and node where Linux set them up for each CPU (the limit of
 * GDT entry 15, selector 0x7b, with lsl; or TSC_AUX with rdpid/rdtscp), and
 * in the HRT those must be the partner's, as the forwarded call reports. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	unsigned a, b, c, d;
	int rdtscp = __get_cpuid(0x80000001, &a, &b, &c, &d) && ((d >> 27) & 1);
	__cpuid_count(7, 0, a, b, c, d);
	int rdpid = (c >> 22) & 1;

	for (int i = 0; i < 50; i++) {
		unsigned cpu = 999, node = 999, vcpu = 999, vnode = 999, seg = 0x7b, p = 0;
		unsigned char ok = 0;
		CHECK(syscall(SYS_getcpu, &cpu, &node, NULL) == 0);
		CHECK(getcpu(&vcpu, &vnode) == 0); /* glibc: the vDSO's __vdso_getcpu */
		__asm__ volatile("lsl %[seg], %[p]\n\tsetz %[ok]" : [p] "=r"(p), [ok] "=q"(ok) : [seg] "r"(seg) : "cc");
		unsigned cn = node << 12 | cpu;
		if (i == 0)
			printf("getcpu: syscall cpu %u node %u, vdso cpu %u node %u, lsl %s %#x\n", cpu, node, vcpu, vnode,
			       ok ? "ok" : "failed", p);
		CHECK(vcpu == cpu && vnode == node);
		CHECK(ok && p == cn);
		if (rdtscp) {
			unsigned aux;
			__asm__ volatile("rdtscp" : "=a"(a), "=d"(d), "=c"(aux));
			CHECK(aux == cn);
		}
		if (rdpid) {
			uint64_t id;
			__asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8" : "=a"(id)); /* rdpid %rax */
			CHECK(id == cn);
		}
		if (check_failures)
			break;
	}
	printf("getcpu: rdtscp %d rdpid %d\n", rdtscp, rdpid);
	DONE("t_getcpu");
}
