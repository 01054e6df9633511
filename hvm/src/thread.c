/* thread.c - execution groups: one vCPU and one partner host thread per
 * program thread.
 *
 * A forwarded clone(2) for a thread (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND,
 * with a new stack: what glibc's pthread_create issues) is performed by the
 * creator's partner as a real clone(2) with the program's own flags, ptid,
 * ctid and TLS. The new host thread is the child's partner: its TID is the
 * child's TID (returned to the creator, stored by CLONE_PARENT_SETTID), its
 * FS base is the child's TLS, and when it exits the kernel clears and
 * futex-wakes the ctid word (CLONE_CHILD_CLEARTID) exactly as for a native
 * thread, which is what pthread_join waits for. The partner then boots a vCPU
 * (a fresh one, or one whose thread exited: KVM cannot destroy a vCPU short
 * of the VM) that starts at the clone return point with %rax = 0.
 *
 * A forwarded exit(2) ends the thread: the partner frees its vCPU and makes
 * the real exit(2). exit_group(2) is forwarded as is: the kernel ends every
 * partner, and so the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <signal.h>
#include <asm/prctl.h>
#include "mv.h"

#define MV_STR_(x)     #x
#define MV_STR(x)      MV_STR_(x)
#define MV_THREAD_NEED (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)

long thread__raw_clone(unsigned long flags, void *stack_top, void *ptid, void *ctid, unsigned long tls,
		       struct mv_vcpu *v);
__attribute__((noreturn, used)) void thread__partner_main(struct mv_vcpu *v);

/* clone(2) whose child calls thread__partner_main(v) on stack_top. The child
 * cannot return from here (its stack is empty), hence assembly. */
__asm__(".text\n"
	".globl thread__raw_clone\n"
	".hidden thread__raw_clone\n"
	".type thread__raw_clone,@function\n"
	"thread__raw_clone:\n"
	"	sub $16, %rsi\n"
	"	mov %r9, (%rsi)\n" /* v, popped by the child */
	"	mov %rcx, %r10\n"
	"	mov $" MV_STR(SYS_clone) ", %eax\n"
					 "	syscall\n"
					 "	test %rax, %rax\n"
					 "	jnz 1f\n"
					 "	xor %ebp, %ebp\n"
					 "	pop %rdi\n"
					 "	and $-16, %rsp\n"
					 "	call thread__partner_main\n"
					 "	ud2\n"
					 "1:	ret\n"
					 ".size thread__raw_clone, .-thread__raw_clone\n");

/* clone(CLONE_VM|CLONE_VFORK) on a new stack, as posix_spawn (and so
 * system() and popen()) issues it: the child runs natively in the ROS, at
 * CPL 3, from the clone return point on the stack it was given, until it
 * execs or exits; meanwhile the kernel holds this partner, and so the HRT
 * thread, as vfork(2) holds a parent. The child's registers are the
 * partner's apart from %rax = 0 and %rsp: enough for glibc's clone() child,
 * which uses only its stack. Its FS base is the partner's, which is the HRT
 * thread's TLS (the same thread's, or set by CLONE_SETTLS). */
long thread__raw_vfork(unsigned long flags, void *stack_top, void *ptid, void *ctid, unsigned long tls, uint64_t rip);
__asm__(".text\n"
	".globl thread__raw_vfork\n"
	".hidden thread__raw_vfork\n"
	".type thread__raw_vfork,@function\n"
	"thread__raw_vfork:\n"
	"	push %r12\n"
	"	mov %r9, %r12\n" /* kept by the kernel in the child */
	"	mov %rcx, %r10\n"
	"	mov $" MV_STR(SYS_clone) ", %eax\n"
					 "	syscall\n"
					 "	test %rax, %rax\n"
					 "	jnz 1f\n"
					 "	jmp *%r12\n" /* child: %rax = 0, %rsp = stack_top */
					 "1:	pop %r12\n"
					 "	ret\n"
					 ".size thread__raw_vfork, .-thread__raw_vfork\n");

/* fork(2), vfork(2), clone(2) without CLONE_VM or with CLONE_VM|CLONE_VFORK
 * and no stack: the child continues NATIVELY in the ROS at CPL 3 with the
 * HRT thread's registers at its SYSCALL (r), %rax = 0, and %rcx/%r11 as
 * SYSCALL leaves them. r lives in the call page: in the child's copy of the
 * memory (fork) or in the shared memory while the kernel holds this parent
 * (vfork). */
long thread__raw_fork(unsigned long flags, void *stack_top, void *ptid, void *ctid, unsigned long tls,
		      const struct mv_regs *r);
__asm__(".text\n"
	".globl thread__raw_fork\n"
	".hidden thread__raw_fork\n"
	".type thread__raw_fork,@function\n"
	"thread__raw_fork:\n"
	"	mov %rcx, %r10\n"
	"	mov $" MV_STR(SYS_clone) ", %eax\n"
					 "	syscall\n"
					 "	test %rax, %rax\n"
					 "	jz 1f\n"
					 "	ret\n"
					 "1:	mov 8(%r9), %rbx\n"
					 "	mov 24(%r9), %rdx\n"
					 "	mov 32(%r9), %rsi\n"
					 "	mov 40(%r9), %rdi\n"
					 "	mov 48(%r9), %rbp\n"
					 "	mov 56(%r9), %rsp\n"
					 "	mov 64(%r9), %r8\n"
					 "	mov 80(%r9), %r10\n"
					 "	mov 96(%r9), %r12\n"
					 "	mov 104(%r9), %r13\n"
					 "	mov 112(%r9), %r14\n"
					 "	mov 120(%r9), %r15\n"
					 "	mov 128(%r9), %rcx\n"
					 "	mov 136(%r9), %r11\n"
					 "	mov 72(%r9), %r9\n"
					 "	xor %eax, %eax\n"
					 "	jmp *%rcx\n"
					 ".size thread__raw_fork, .-thread__raw_fork\n");

_Static_assert(__builtin_offsetof(struct mv_regs, rsp) == 56 && __builtin_offsetof(struct mv_regs, r9) == 72 &&
		       __builtin_offsetof(struct mv_regs, rip) == 128 &&
		       __builtin_offsetof(struct mv_regs, rflags) == 136,
	       "thread__raw_fork offsets");

int64_t thread__fork(struct mv_vcpu *v, uint64_t nr, const uint64_t *a)
{
	uint64_t flags = nr == SYS_fork ? SIGCHLD : nr == SYS_vfork ? CLONE_VM | CLONE_VFORK | SIGCHLD : a[0];
	uint64_t sp = nr == SYS_clone ? a[1] : 0, ptid = nr == SYS_clone ? a[2] : 0, ctid = nr == SYS_clone ? a[3] : 0;
	uint64_t tls = nr == SYS_clone ? a[4] : 0;
	struct mv_regs now;

	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK))
		return -ENOSYS; /* would be a thread without a vCPU */
	/* The child's FS base is the HRT thread's (it may differ from the
	 * partner's after arch_prctl(ARCH_SET_FS) in the HRT). */
	if (!(flags & CLONE_SETTLS) && cpu__get_regs(v, &now) == 0) {
		flags |= CLONE_SETTLS;
		tls = now.fs_base;
	}
	if (sp)
		v->cp->regs.rsp = sp;
	return thread__raw_fork(flags, (void *)v->cp->regs.rsp, (void *)ptid, (void *)ctid, tls, &v->cp->regs);
}

void thread__partner_main(struct mv_vcpu *v)
{
	v->hrt_errno = errno; /* the new thread's (0): before our calls can change it */
	__atomic_store_n(&v->tid, (int)mv__raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0), __ATOMIC_RELAXED);
	if (v->state == MV_VCPU_EXITED) /* resumed in its last thread's exit hypercall (thread__boot) */
		vcpu__set_state(v, MV_VCPU_RUNNING);
	signal__thread_start(v);
	mv__pin_vcpu(v->id);
	override__thread(v);
	vcpu__run(v); /* returns only if the boot failed: a thread never returns to the VMM */
	mv__log("mv: vCPU %d for a new thread did not start: %s\n", v->id,
		v->probe_error[0] ? v->probe_error : "exit from a thread vCPU");
	mv__raw_syscall(SYS_exit_group, 127, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

/* A free vCPU (its thread exited) or a new one; NULL when all are taken.
 * native: from the native pool (native.c), whose vCPUs keep their runner. */
struct mv_vcpu *thread__get_vcpu(struct mv_vm *vm, int native)
{
	struct mv_vcpu *v = NULL;
	char err[160];

	pthread_mutex_lock(&vm->vcpu_lock);
	for (int i = 0; i < vm->nvcpus && !v; i++)
		if (!__atomic_load_n(&vm->vcpus[i]->busy, __ATOMIC_ACQUIRE) && vm->vcpus[i]->partner_stack &&
		    vm->vcpus[i]->native == native)
			v = vm->vcpus[i];
	if (!v && vm->nvcpus < MV_MAX_VCPUS) {
		if (vcpu__create(vm, vm->nvcpus, &v, err, sizeof err) < 0) {
			if (vm->opt.trace)
				mv__log("mv: clone: %s\n", err);
			v = NULL; /* the id stays unused: KVM may hold it */
		} else {
			v->partner_stack = mmap(NULL, MV_THREAD_PARTNER_STACK, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
			if (v->partner_stack == MAP_FAILED) {
				v->partner_stack = NULL;
				v = NULL;
			} else {
				v->native = native;
				vm->vcpus[vm->nvcpus] = v;
				__atomic_store_n(&vm->nvcpus, vm->nvcpus + 1, __ATOMIC_RELEASE);
			}
		}
	}
	if (v)
		__atomic_store_n(&v->busy, 1, __ATOMIC_RELAXED); /* others see it through nvcpus or the lock */
	pthread_mutex_unlock(&vm->vcpu_lock);
	return v;
}

int64_t thread__clone(struct mv_vcpu *parent, const uint64_t *a)
{
	struct mv_vm *vm = parent->vm;
	uint64_t flags = a[0], sp = a[1], fs = a[4];
	struct mv_vcpu *v;

	if ((flags & (CLONE_VM | CLONE_VFORK | CLONE_THREAD)) == (CLONE_VM | CLONE_VFORK) && sp)
		return thread__raw_vfork(flags, (void *)sp, (void *)a[2], (void *)a[3], a[4], parent->cp->regs.rip);
	if (!(flags & CLONE_VM) || ((flags & CLONE_VFORK) && !sp))
		return thread__fork(parent, SYS_clone, a);
	/* Otherwise only threads. */
	if ((flags & MV_THREAD_NEED) != MV_THREAD_NEED || !sp || (flags & CLONE_VFORK))
		return -ENOSYS;
	if (!(flags & CLONE_SETTLS))
		mv__raw_syscall(SYS_arch_prctl, ARCH_GET_FS, (long)&fs, 0, 0, 0, 0);
	if (native__wanted(parent))
		return native__spawn(parent, flags, a, fs);
	if (!(v = thread__get_vcpu(vm, 0)))
		return -EAGAIN;
	int64_t ret = thread__boot(parent, v, flags, a, fs);
	if (ret < 0)
		__atomic_store_n(&v->busy, 0, __ATOMIC_RELEASE);
	return ret;
}

/* Start vCPU v (taken, busy) for a new thread, at the creator's clone return
 * point on stack a[1] with FS = fs, under a new partner host thread cloned
 * with the program's flags: returns the partner's TID or -errno (v is then
 * still taken: the caller frees it). A new vCPU boots Nautilus. One whose
 * thread exited is parked in that thread's exit hypercall, Nautilus booted,
 * and is resumed there instead (vcpu__resume_thread), as a pooled vCPU takes
 * a native thread: no READY exit and no first-run costs, about 0.4 ms of a
 * thread's start under nested TCG. Its new partner marks it RUNNING
 * (thread__partner_main): until then it stays EXITED, so a failed clone
 * leaves it as it was. */
int64_t thread__boot(struct mv_vcpu *parent, struct mv_vcpu *v, uint64_t flags, const uint64_t *a, uint64_t fs)
{
	struct mv_vm *vm = parent->vm;

	__atomic_store_n(&v->fault_repeats, 0, __ATOMIC_RELAXED);
	v->last_fault = 0;
	v->probe_error[0] = 0;
	pio__inherit(v, parent);
	if (v->state == MV_VCPU_EXITED) { /* only an ordinary thread's vCPU exits (native.c) */
		if (vcpu__resume_thread(v, parent->cp->regs.rip, a[1], fs) < 0)
			return -EAGAIN;
		v->cp->cpunode = ~0u; /* vcpu__track_cpu tells Nautilus where the new partner runs */
	} else {
		/* It starts at the instruction after the creator's `syscall`, on the new stack. */
		uint64_t bi = vcpu__boot_thread(v, parent->cp->regs.rip, a[1], fs);
		vcpu__set_state(v, MV_VCPU_CREATED);
		v->cp->flags = MV_CALL_FLUSH_TLB;
		if (cpu__reset(v, vm->entry, bi, fs) < 0)
			return -EAGAIN;
	}
	return thread__raw_clone(flags, (char *)v->partner_stack + MV_THREAD_PARTNER_STACK, (void *)a[2], (void *)a[3],
				 fs, v);
}

/* The thread's exit(2). An ordinary thread's partner frees the vCPU and exits; a native
 * thread's runner stays, and returns into the next thread it is handed (native.c). */
int64_t thread__end(struct mv_vcpu *v, int status)
{
	if (!v->native)
		thread__exit(v, status);
	return native__exit(v);
}

void thread__exit(struct mv_vcpu *v, int status)
{
	vcpu__set_state(v, MV_VCPU_EXITED);
	/* Free the vCPU and exit with no stack access in between: the next
	 * thread's partner may start on this partner's stack right away. The
	 * kernel then does CLONE_CHILD_CLEARTID (clear + futex wake) for us. */
	__asm__ volatile("movl $0, %0\n\t"
			 "syscall"
			 : "=m"(v->busy)
			 : "a"((long)SYS_exit), "D"((long)status)
			 : "rcx", "r11", "memory");
	__builtin_unreachable();
}
