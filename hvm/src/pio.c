/* pio.c - port I/O from the HRT. Program code runs at CPL 0, so an in/out
 * never faults in the guest; KVM hands it to us as an I/O exit. Linux lets
 * a thread do port I/O after ioperm(2) or iopl(3), which the partner ran on
 * the program's behalf (so it holds the permission itself): the partner
 * performs the access on the host. Without the permission Linux raises
 * SIGSEGV (#GP); here the program ends with the report, as SIGSEGV would
 * end it (see hvm/README.md). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "mv.h"

#define PIO_PORTS 65536

/* A forwarded ioperm/iopl succeeded on v's partner: note what it allows. */
void pio__granted(struct mv_vcpu *v, uint64_t nr, const uint64_t *a)
{
	if (nr == SYS_iopl) {
		v->io_all = a[0] == 3;
		return;
	}
	if (!v->io_ok) {
		void *p = mmap(NULL, PIO_PORTS / 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return; /* then port I/O fails as without the permission */
		v->io_ok = p;
	}
	for (uint64_t port = a[0]; port < a[0] + a[1] && port < PIO_PORTS; port++) {
		if (a[2])
			v->io_ok[port / 8] |= (uint8_t)(1u << (port % 8));
		else
			v->io_ok[port / 8] &= (uint8_t) ~(1u << (port % 8));
	}
}

/* A new thread's partner was cloned from its creator's: Linux copies the
 * permission, so do we. */
void pio__inherit(struct mv_vcpu *child, const struct mv_vcpu *parent)
{
	child->io_all = parent->io_all;
	if (child->io_ok)
		memset(child->io_ok, 0, PIO_PORTS / 8);
	if (parent->io_ok) {
		pio__granted(child, SYS_ioperm, (const uint64_t[]){ 0, 0, 1 });
		if (child->io_ok)
			memcpy(child->io_ok, parent->io_ok, PIO_PORTS / 8);
	}
}

static int pio__allowed(const struct mv_vcpu *v, unsigned port, unsigned size)
{
	if (v->io_all)
		return 1;
	for (unsigned p = port; p < port + size; p++)
		if (p >= PIO_PORTS || !v->io_ok || !(v->io_ok[p / 8] & (1u << (p % 8))))
			return 0;
	return 1;
}

/* KVM_EXIT_IO on a port that is not the hypercall port. */
void pio__exit(struct mv_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned port = run->io.port, size = run->io.size;
	char what[128];

	if (!pio__allowed(v, port, size)) {
		struct mv_regs r;
		snprintf(what, sizeof what, "port I/O (%s port %#x) without ioperm/iopl permission",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out to" : "in from", port);
		report__die(v, what, cpu__get_regs(v, &r) == 0 ? &r : NULL, SIGSEGV);
	}
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (size == 1)
				__asm__ volatile("outb %b0, %w1" ::"a"(*data), "Nd"((uint16_t)port));
			else if (size == 2)
				__asm__ volatile("outw %w0, %w1" ::"a"(*(uint16_t *)data), "Nd"((uint16_t)port));
			else
				__asm__ volatile("outl %0, %w1" ::"a"(*(uint32_t *)data), "Nd"((uint16_t)port));
		} else {
			if (size == 1)
				__asm__ volatile("inb %w1, %b0" : "=a"(*data) : "Nd"((uint16_t)port));
			else if (size == 2)
				__asm__ volatile("inw %w1, %w0" : "=a"(*(uint16_t *)data) : "Nd"((uint16_t)port));
			else
				__asm__ volatile("inl %w1, %0" : "=a"(*(uint32_t *)data) : "Nd"((uint16_t)port));
		}
	}
}
