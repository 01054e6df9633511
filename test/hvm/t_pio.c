/* Port I/O after ioperm and after iopl, as a driver-like program does it:
 * a byte of the CMOS RAM (index port 0x70, data port 0x71; 0x40 is a spare
 * byte, not the clock) written and read back, and the POST port 0x80
 * written. In the HRT, in/out at CPL 0 never fault in the guest: the
 * partner, which holds the permission, performs them. "noperm": inb
 * without permission, which natively raises SIGSEGV and in the HRT ends
 * the program with the report. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/io.h>
#include "check.h"

static unsigned cmos_rw(unsigned char v)
{
	outb(0x40, 0x70);
	outb(v, 0x71);
	outb(0x40, 0x70);
	return inb(0x71);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "noperm") == 0) {
		fflush(stdout);
		return inb(0x71);
	}
	CHECK(ioperm(0x70, 2, 1) == 0);
	CHECK(ioperm(0x80, 1, 1) == 0);
	outb(0x15, 0x80);
	unsigned a = cmos_rw(0x5a);
	CHECK(ioperm(0x70, 2, 0) == 0 && ioperm(0x80, 1, 0) == 0);
	CHECK(iopl(3) == 0);
	unsigned b = cmos_rw(0xa5);
	cmos_rw(0); /* leave the byte as the firmware had it */
	CHECK(iopl(0) == 0);
	printf("pio: after ioperm %#x, after iopl %#x\n", a, b);
	CHECK(a == 0x5a && b == 0xa5);
	DONE("t_pio");
}
