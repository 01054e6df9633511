/* mv_hrt.S - linked into every mv-cc executable: the Nautilus ELF in section
 * .mv_hrt, and a pointer to the program's main (see runtime.c). */
	.section .mv_hrt, "a", @progbits
	.balign 4096
	.globl __mv_hrt_start
	.globl __mv_hrt_end
__mv_hrt_start:
	.incbin NAUTILUS_ELF
__mv_hrt_end:

#ifndef MV_BLOB_ONLY /* libmv-preload.so (mvrun) takes main from __libc_start_main */
	.section .data.rel.ro, "aw", @progbits
	.balign 8
	.globl __mv_main_ptr
__mv_main_ptr:
	.quad __real_main
#endif

	.section .note.GNU-stack, "", @progbits
