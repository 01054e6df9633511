/* nk.h - Nautilus-internal declarations: per-vCPU data, CPU helpers, subsystems. */
#ifndef NK_NK_H
#define NK_NK_H

#include <mv/abi.h>
#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#endif

/* Offsets used by entry.S; checked against the struct in percpu.c. */
#define NK_PCPU_SELF	 0
#define NK_PCPU_USER_RSP 8
#define NK_PCPU_KSTACK	 16

#ifndef __ASSEMBLER__

#define NK_STACK_SIZE (16 * 1024)

/* Per-vCPU data. GS base points here: glibc on x86-64 never uses GS. */
struct nk_percpu {
	struct nk_percpu *self;
	uint64_t user_rsp;   /* app %rsp saved by the SYSCALL entry */
	uint64_t kstack_top; /* stack the SYSCALL entry switches to */
	struct mv_call_page *call;
	uint32_t vcpu_id;
	uint32_t pad;
	uint64_t tss[13];    /* 104-byte TSS (ist[] inside) */
	uint64_t gdt[16];    /* null, kcode, kdata, tss (16 bytes), ..., 15: Linux's CPUNODE */
	uint64_t ist1, ist2; /* IST stack tops, allocated once per vCPU id */
	uint32_t native;     /* booted with MV_BOOT_NATIVE (syscall.c) */
};

static inline struct nk_percpu *percpu__this(void)
{
	struct nk_percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

static inline uint64_t nk_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_dr6(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}
static inline void write_dr6(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr6" ::"r"(v));
}

/* Reloading CR3 drops every non-global TLB entry: what the VMM asks for after
 * it downgraded or removed live user-half PTEs (munmap, mprotect). */
static inline void tlb__flush_all(void)
{
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

#define MSR_EFER      0xc0000080u
#define MSR_STAR      0xc0000081u
#define MSR_LSTAR     0xc0000082u
#define MSR_SFMASK    0xc0000084u
#define MSR_FS_BASE   0xc0000100u
#define MSR_GS_BASE   0xc0000101u
#define MSR_KERNEL_GS 0xc0000102u

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);

/* heap.c: a bump allocator over the boot-info heap; nothing is ever freed. */
void heap__init(uint64_t start, uint64_t size);
void *kmalloc(size_t size, size_t align);

/* hypercall.c */
int64_t hc__call(uint32_t op, uint64_t a0, uint64_t a1);
__attribute__((noreturn)) void hc__panic(const char *msg, const struct mv_regs *regs);

/* console.c */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cpu.c */
void cpu__init(const struct mv_boot_info *bi);
void cpu__set_cpunode(uint32_t cpunode);

/* syscall.c */
void syscall__init(void);

/* poll.c: exitless system calls (hvm/src/poll.c serves them). */
/* poll__try's verdict: performed exitless; or make it by exit, which teaches nothing (NONE),
 * the exit's cost (EXIT), or that cost and the spin's (LATE: posted, not claimed in time). */
enum { POLL_NONE, POLL_DONE, POLL_EXIT, POLL_LATE };
int poll__try(uint64_t nr, const uint64_t a[6], int64_t *ret, uint64_t *t_post);
void poll__learn(int how, uint64_t t_post, uint64_t t_exit);

/* svc.c: the service page's fn[] (overrides), when the VMM set it up. */
void svc__init(void);
/* svc_clock.c: the clock services (fn[] entries; see mv/abi.h for types). */
struct k_timespec;
struct k_timeval;
int svc_clock_gettime(int clk, struct k_timespec *ts);
int svc_gettimeofday(struct k_timeval *tv);
int64_t svc_time(void);
int svc_nanosleep(const struct k_timespec *req);
/* Before a hypercall made by a service (not by a program SYSCALL or fault):
 * the call page's regs must not describe a program context the VMM could
 * resume or deliver a signal into, so they point into Nautilus (upper half). */
static inline void svc__regs_in_kernel(struct mv_call_page *cp)
{
	__builtin_memset(&cp->regs, 0, sizeof cp->regs);
	cp->regs.rip = (uint64_t)&svc__init;
}

/* entry.S */
extern char nk_syscall_entry[];
extern uint64_t nk_vectors[256];
__attribute__((noreturn)) void nk_enter_main(uint64_t fn, uint64_t argc, uint64_t argv, uint64_t envp,
					     uint64_t stack_top);
void nk_probe_simd(uint32_t avx);
__attribute__((noreturn)) void nk_enter_thread(uint64_t rip, uint64_t rsp, uint64_t rflags);
/* Load every GPR, rsp, rflags and rip from r and continue there at CPL 0. */
__attribute__((noreturn)) void nk_resume(const struct mv_regs *r);

extern const char nk_version[];

#endif /* !__ASSEMBLER__ */
#endif
