/* main runs at CPL 0 in the HRT and <mv/hrt.h> agrees; with --native the
 * same binary must see CPL 3 and the privileged helpers must fail cleanly. */
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <mv/hrt.h>
#include "check.h"

int main(int argc, char **argv)
{
	int native = argc > 1 && strcmp(argv[1], "--native") == 0;
	unsigned short cs;
	uint64_t cr3 = 0;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (!native) {
		CHECK((cs & 3) == 0);
		CHECK(mv_in_hrt() == 1);
		CHECK(mv_vcpu_id() == 0);
		CHECK(mv_read_cr3(&cr3) == 0 && cr3 != 0);
		CHECK(mv_irq_disable() == 0 && mv_irq_enable() == 0);
	} else {
		CHECK((cs & 3) == 3);
		CHECK(mv_in_hrt() == 0);
		CHECK(mv_vcpu_id() == -1);
		CHECK(mv_read_cr3(&cr3) == -EPERM);
		CHECK(mv_irq_disable() == -EPERM && mv_irq_enable() == -EPERM);
	}
	CHECK(strncmp(mv_version(), "libmv ", 6) == 0);
	DONE("t_cpl");
}
