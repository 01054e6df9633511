/* entry.S - Nautilus entry points that cannot be C: boot, SYSCALL at CPL 0,
 * the common exception path, the jump into the program's main, SIMD probe. */
#include <mv/abi.h>
#include <nk/nk.h>

	.text
/* The VMM enters here in 64-bit mode, paging on, with %rdi = boot-info GVA. */
	.globl _start
_start:
	/* One boot stack per vCPU id: thread vCPUs boot while others run. */
	movl 16(%rdi), %eax	/* mv_boot_info.vcpu_id */
	and $(MV_MAX_VCPUS - 1), %eax
	inc %eax
	shl $14, %rax		/* (id + 1) * 16 KiB */
	lea nk_boot_stacks(%rip), %rsp
	add %rax, %rsp
	xor %ebp, %ebp
	call nk_main
1:	hlt
	jmp 1b

/*
 * SYSCALL from app code running at CPL 0. The CPU saved rip in %rcx and
 * rflags in %r11 and masked flags with SFMASK, but did NOT switch stacks
 * (no privilege change), so %rsp is the app's and the 128 bytes below it may
 * hold live red-zone data. Nothing may be pushed before the switch to the
 * per-vCPU kernel stack.
 */
	.globl nk_syscall_entry
nk_syscall_entry:
	mov %rsp, %gs:NK_PCPU_USER_RSP
	mov %gs:NK_PCPU_KSTACK, %rsp
	push %rcx		/* return rip */
	push %r11		/* app rflags */
	push %r15		/* callee-saved too: fork() hands the whole */
	push %r14		/* register state to a native child */
	push %r13
	push %r12
	push %rbp
	push %rbx
	push %r9
	push %r8
	push %r10
	push %rdx
	push %rsi
	push %rdi
	push %rax
	mov %rsp, %rdi		/* struct nk_syscall_frame * */
	sub $8, %rsp		/* 15 pushes from a 16-aligned top: realign for the call */
	cld
	call syscall__dispatch	/* result in %rax */
	add $16, %rsp		/* alignment pad + the saved %rax */
	pop %rdi
	pop %rsi
	pop %rdx
	pop %r10
	pop %r8
	pop %r9
	pop %rbx
	pop %rbp
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	/* `sysret` always lands in CPL 3, so return by hand: restore the app's
	 * flags while still on our stack (pushing r11 on the app stack would
	 * clobber its red zone), then switch back and jump. */
	popfq
	pop %rcx
	mov %gs:NK_PCPU_USER_RSP, %rsp
	jmp *%rcx

/*
 * Every vector arrives here on an IST stack (the app's red zone makes the
 * interrupted %rsp unusable), with [vector, error code] pushed by its stub
 * above the CPU frame. 15 GPRs + 2 + 5 CPU words = 22 quadwords from a
 * 16-aligned IST top, so %rsp is 16-aligned at the call.
 */
	.globl nk_trap_common
nk_trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	cld
	call trap__dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp		/* vector + error code */
	iretq

/* nk_enter_main(fn, argc, argv, envp, stack_top): call fn(argc, argv, envp)
 * on the program's own stack. stack_top is 16-aligned, so after the call
 * pushes the return address the callee sees the SysV entry alignment. */
	.globl nk_enter_main
nk_enter_main:
	mov %rdi, %rax
	mov %r8, %rsp
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	xor %ebp, %ebp
	call *%rax
	mov %eax, %edi
	call nk_main_returned
	ud2

/* nk_enter_thread(rip, rsp, rflags): the child's side of a forwarded
 * clone(2): %rax = 0, the new stack, every other GPR zero (Linux gives the
 * child the parent's registers; glibc's clone() child uses only %rsp). */
	.globl nk_enter_thread
nk_enter_thread:
	mov %rsi, %rsp
	push %rdx
	popfq
	mov %rdi, %rcx
	xor %eax, %eax
	xor %ebx, %ebx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %ebp, %ebp
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d
	jmp *%rcx

/* nk_resume(regs): continue the program at a context the VMM wrote (struct
 * mv_regs, mv/abi.h): a signal handler's entry or the context a sigreturn
 * restores. An iretq frame on the current (abandoned) kernel stack switches
 * rsp, rflags and rip at once; CS/SS stay the kernel's, as for main. */
	.globl nk_resume
nk_resume:
	pushq $MV_SEL_KDATA	/* ss */
	pushq 56(%rdi)		/* rsp */
	pushq 136(%rdi)		/* rflags */
	pushq $MV_SEL_KCODE	/* cs */
	pushq 128(%rdi)		/* rip */
	mov 0(%rdi), %rax
	mov 8(%rdi), %rbx
	mov 16(%rdi), %rcx
	mov 24(%rdi), %rdx
	mov 32(%rdi), %rsi
	mov 48(%rdi), %rbp
	mov 64(%rdi), %r8
	mov 72(%rdi), %r9
	mov 80(%rdi), %r10
	mov 88(%rdi), %r11
	mov 96(%rdi), %r12
	mov 104(%rdi), %r13
	mov 112(%rdi), %r14
	mov 120(%rdi), %r15
	mov 40(%rdi), %rdi
	iretq

/* nk_probe_simd(avx): the usability probe. Executes SSE (and AVX when the
 * host has it) before anything else; a KVM that cannot run these fails
 * KVM_RUN here, before READY, and libmv falls back to native execution. */
	.globl nk_probe_simd
nk_probe_simd:
	xorps %xmm0, %xmm0
	movaps %xmm0, %xmm1
	addps %xmm1, %xmm0
	pxor %xmm2, %xmm2
	test %edi, %edi
	jz 1f
	vxorps %ymm0, %ymm0, %ymm0
	vaddps %ymm0, %ymm0, %ymm1
	vzeroupper
1:	ret

	.bss
	.balign 16
nk_boot_stacks:
	.space 16384 * MV_MAX_VCPUS

	.section .note.GNU-stack,"",@progbits
