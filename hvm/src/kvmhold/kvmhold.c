/* mv-kvmhold - keeps one idle KVM VM (one vCPU, no in-kernel irqchip) open
 * for as long as it runs; init starts it once /dev/kvm exists.
 *
 * Why: KVM flips kernel static keys when the first VM is created and the
 * last one destroyed (the preempt notifiers, which sit inside __schedule,
 * and kvm_has_noapic_vcpu for vCPUs like ours). Each flip is live kernel
 * text patching: int3 plus three rounds of IPIs to every CPU, which is noise
 * on the HRT's CPUs each time a split program starts or exits. Under QEMU
 * TCG with -smp 2 it is worse: a CPU now and then keeps running the stale
 * int3 in __schedule while the other spins on its runqueue lock, and the
 * whole guest freezes. With a VM always held, the keys stay set and program
 * starts patch nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	int kvm = open(dev, O_RDWR | O_CLOEXEC), vm, vcpu;

	if (kvm < 0) {
		fprintf(stderr, "mv-kvmhold: cannot open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0 || (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
		fprintf(stderr, "mv-kvmhold: cannot create a VM on %s: %s\n", dev, strerror(errno));
		return 1;
	}
	for (;;)
		pause();
}
