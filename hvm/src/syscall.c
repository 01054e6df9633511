/* syscall.c - system-call forwarding. The partner (the vCPU's own host
 * thread) performs the call in the process, so file descriptors, cwd,
 * credentials and limits are the process's own. The table says which calls
 * need VMM work afterwards, and which cannot be forwarded yet. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "mv.h"

enum sys_post {
	POST_NONE,
	POST_MMAP,     /* map [ret, ret+len) with prot */
	POST_MUNMAP,   /* unmap [a0, a0+a1) */
	POST_MPROTECT, /* re-protect [a0, a0+a1) */
	POST_MREMAP,   /* move [a0, a0+a1) to [ret, ret+a2) */
	POST_BRK,      /* grow/shrink the heap to ret */
	CLONE,	       /* a new thread: a new vCPU + partner (thread.c) */
	EXIT,	       /* ends this thread: its vCPU and partner (thread.c) */
	FORK,	       /* the child continues natively in the ROS (thread.c) */
	SIGACTION,     /* the program's action kept by libmv (signal.c) */
	SIGRETURN,     /* back from a handler that ran in the HRT (signal.c) */
	REFUSE,	       /* not forwardable yet: -ENOSYS (see hvm/README.md) */
	NO_PKEYS,      /* the HRT has no protection keys (hvm/README.md) */
};

struct sys_entry {
	uint8_t post;
};

static const struct sys_entry sys_table[512] = {
	[SYS_mmap] = { POST_MMAP },
	[SYS_munmap] = { POST_MUNMAP },
	[SYS_mprotect] = { POST_MPROTECT },
	[SYS_pkey_mprotect] = { NO_PKEYS },
	[SYS_pkey_alloc] = { NO_PKEYS },
	[SYS_mremap] = { POST_MREMAP },
	[SYS_brk] = { POST_BRK },
	/* A forwarded fork would run the child on a host thread with no vCPU
	 * (KVM fds belong to the parent's mm). clone(2) for a thread gets its
	 * own vCPU; clone3 is refused so glibc (>= 2.34 tries clone3 first)
	 * falls back to clone(2): one path to get right. */
	[SYS_fork] = { FORK },
	[SYS_vfork] = { FORK },
	[SYS_clone] = { CLONE },
	[SYS_clone3] = { REFUSE },
	[SYS_exit] = { EXIT },
	[SYS_rt_sigaction] = { SIGACTION },
	[SYS_rt_sigreturn] = { SIGRETURN },
	[SYS_shmat] = { REFUSE },
};

#include "sysnames.h" /* generated from <asm/unistd_64.h>: sys_names[] */

const char *syscall__name(uint64_t nr)
{
	if (nr < sizeof sys_names / sizeof sys_names[0] && sys_names[nr])
		return sys_names[nr];
	return "?";
}

long mv__raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	/* Raw, not syscall(3): glibc's wrapper would write errno, and errno
	 * lives in the TLS the HRT thread is using right now. */
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* process_vm_readv/writev on this process: Linux checks the remote range and fails with
 * EFAULT instead of faulting (the stack of a signal frame, a robust list, a frame chain). */
static int copy_vm(long nr, void *local, uint64_t remote, size_t n)
{
	struct iovec l = { local, n }, r = { (void *)remote, n };
	long pid = mv__raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0); /* not a wrapped getpid */
	return mv__raw_syscall(nr, pid, (long)&l, 1, (long)&r, 1, 0) == (long)n ? 0 : -EFAULT;
}

int mv__copy_in(void *dst, uint64_t src, size_t n)
{
	return copy_vm(SYS_process_vm_readv, dst, src, n);
}

int mv__copy_out(uint64_t dst, const void *src, size_t n)
{
	return copy_vm(SYS_process_vm_writev, (void *)src, dst, n);
}

static void syscall__post(struct mv_vcpu *v, int post, const uint64_t *a, int64_t ret, uint32_t old_prot)
{
	struct mv_vm *vm = v->vm;

	if (ret < 0 && ret > -4096)
		return;
	switch (post) {
	case POST_MMAP: mem__apply(v, (uint64_t)ret, (uint64_t)ret + a[1], mem__prot_from_linux(a[2])); break;
	case POST_MUNMAP: mem__apply(v, a[0], a[0] + a[1], 0); break;
	case POST_MPROTECT: mem__apply(v, a[0], a[0] + a[1], mem__prot_from_linux(a[2])); break;
	case POST_MREMAP:
		mem__apply(v, a[0], a[0] + a[1], 0);
		mem__apply(v, (uint64_t)ret, (uint64_t)ret + a[2], old_prot ? old_prot : MV_PROT_R | MV_PROT_W);
		break;
	case POST_BRK: {
		uint64_t old = MV_PAGE_UP(vm->brk_cur), new = MV_PAGE_UP((uint64_t)ret);
		if (new > old)
			mem__apply(v, old, new, MV_PROT_R | MV_PROT_W);
		else if (new < old)
			mem__apply(v, new, old, 0);
		vm->brk_cur = (uint64_t)ret;
		break;
	}
	}
}

static void syscall__trace(struct mv_vcpu *v, uint64_t nr, const uint64_t *a, int64_t ret)
{
	char line[256];
	int n = snprintf(line, sizeof line, "mv: [vcpu %d] %s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx) = %ld\n", v->id,
			 syscall__name(nr), (unsigned long)a[0], (unsigned long)a[1], (unsigned long)a[2],
			 (unsigned long)a[3], (unsigned long)a[4], (unsigned long)a[5], (long)ret);
	mv__raw_syscall(SYS_write, 2, (long)line, n, 0, 0, 0);
}

int64_t syscall__forward(struct mv_vcpu *v, uint64_t nr, const uint64_t *a)
{
	const struct sys_entry *e = nr < 512 ? &sys_table[nr] : &(const struct sys_entry){ REFUSE };
	static const struct sys_entry mprotect_entry = { POST_MPROTECT };
	uint32_t old_prot = 0;
	int64_t ret;

	__atomic_fetch_add(&v->vm->nr_syscalls, 1, __ATOMIC_RELAXED);
	if (e->post == REFUSE) {
		ret = -ENOSYS;
	} else if (e->post == NO_PKEYS && nr == SYS_pkey_alloc) {
		/* What Linux returns on a CPU without PKU: its argument checks, then ENOSPC. */
		ret = a[0] || (a[1] & ~3ULL) ? -EINVAL : -ENOSPC;
	} else if (e->post == NO_PKEYS && (int)a[3] != -1) {
		ret = -EINVAL; /* pkey_mprotect with a key: none was ever allocated */
	} else if (e->post == CLONE) {
		ret = thread__clone(v, a);
	} else if (e->post == FORK) {
		ret = thread__fork(v, nr, a);
	} else if (e->post == SIGACTION) {
		ret = signal__sigaction(v, a);
	} else if (e->post == SIGRETURN) {
		ret = signal__sigreturn(v);
	} else if (e->post == EXIT) {
		if (v->vm->opt.trace)
			syscall__trace(v, nr, a, 0);
		ret = thread__end(v, (int)a[0]); /* returns only on a native runner, into its next thread */
	} else {
		if (e->post == NO_PKEYS) /* pkey_mprotect(..., -1) is mprotect */
			e = &mprotect_entry;
		if (e->post == POST_MREMAP) {
			pthread_mutex_lock(&v->vm->mem_lock);
			const struct mv_vma *m = mem__vma_find(v->vm, a[0]);
			old_prot = m ? m->prot : 0;
			pthread_mutex_unlock(&v->vm->mem_lock);
		}
		if (v->vm->opt.trace && (nr == SYS_exit || nr == SYS_exit_group))
			syscall__trace(v, nr, a, 0);
		if (nr == SYS_exit_group) {
			stats__summary(v->vm);
			profile__finish(v->vm);
			gdb__exit((int)a[0], 0);
		}
		poll__wake(v->vm, nr);
		ret = mv__raw_syscall((long)nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
		if (v->vm->poll && poll__changes_fds(nr, a))
			poll__fds_changed();
		if (nr == SYS_rseq && v->native)
			native__rseq(v, a, ret);
		/* Linux checked and wrote both pointers (the runner's list: none); the thread's
		 * head is the one Nautilus keeps (MV_BOOT_NATIVE). */
		if (nr == SYS_get_robust_list && v->native && ret == 0 &&
		    (a[0] == 0 || (int)a[0] == __atomic_load_n(&v->tid, __ATOMIC_RELAXED)))
			*(uint64_t *)a[1] = v->cp->robust_head;
		if ((nr == SYS_ioperm || nr == SYS_iopl) && ret == 0)
			pio__granted(v, nr, a);
		if (e->post != POST_NONE) {
			pthread_mutex_lock(&v->vm->mem_lock);
			syscall__post(v, e->post, a, ret, old_prot);
			pthread_mutex_unlock(&v->vm->mem_lock);
		}
	}
	if (v->vm->opt.trace)
		syscall__trace(v, nr, a, ret);
	return ret;
}
