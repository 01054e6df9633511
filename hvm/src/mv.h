/* mv.h - libmv internal interfaces. One struct per piece of VM state, one
 * file per concern (kvmtool style): vm.c, vcpu.c, hypercall.c, syscall.c,
 * memory.c, report.c, runtime.c, x86_64/ (cpu state, page tables).
 *
 * Threading rules. The threads of a split process: main's thread and one
 * partner per HRT thread (each drives its own vCPU with KVM_RUN and does its
 * forwarded work), the native-thread runners (native.c), the poll server
 * (poll.c), the profiler's sampler (profile.c) and the gdb stub's thread
 * (gdb.c); and, on any of them, the asynchronous signal handler
 * (signal__host), which may take no lock. Every shared field below says which
 * of these it follows:
 *  - "set once": written before a second thread exists (vm__create,
 *    mem__init, runtime.c before main), read-only after;
 *  - "mem_lock", "vcpu_lock", "sig_lock": read and written with that mutex
 *    held (lock order: vcpu_lock, then mem_lock; sig_lock is never held with
 *    either);
 *  - "owner": only the partner (or runner) driving that vCPU touches it;
 *  - "atomic": every access is an __atomic_* operation, with the ordering the
 *    use names; counters are relaxed and read as they stand. */
#ifndef MV_INTERNAL_H
#define MV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <linux/kvm.h>
#include <mv/abi.h>

#define MV_VERSION		"0.1.0"
#define MV_PAGE			4096ULL
#define MV_PAGE_UP(x)		(((x) + MV_PAGE - 1) & ~(MV_PAGE - 1))
#define MV_PAGE_DOWN(x)		((x) & ~(MV_PAGE - 1))
#define MV_MAX_CHUNKS		512
#define MV_THREAD_PARTNER_STACK (256 * 1024) /* a thread vCPU's partner stack (thread.c) */

/* Process mapping permissions as the guest page tables mirror them. */
#define MV_PROT_R    1u
#define MV_PROT_W    2u
#define MV_PROT_X    4u
#define MV_VMA_STACK 0x100u /* grows down ([stack]) */

struct mv_vma {
	uint64_t start, end;
	uint32_t prot; /* MV_PROT_*; never 0 in the table (no access == absent) */
	uint32_t flags;
};

/* The kernel's struct sigaction (rt_sigaction(2)), not glibc's. */
struct mv_sigaction {
	uint64_t handler, flags, restorer, mask;
};
#define MV_NSIG 64
#define MV_RTQ	128 /* queued real-time signal instances per thread, beyond one of each */

struct mv_chunk {
	uint64_t va;  /* MV_CHUNK_SIZE-aligned process VA */
	uint64_t gpa; /* where the memslot puts it */
};

struct mv_options {
	int trace;	      /* MV_TRACE: log each forwarded call */
	int announce;	      /* MV_ANNOUNCE: "MV-HRT vcpus=.. cpl=.." when main starts */
	int verbose;	      /* MV_VERBOSE: Nautilus banner, VM setup details */
	int stats;	      /* MV_STATS: per-run cost summary at exit (stats.c) */
	char stats_path[256]; /* ... appended to this file; "" = stderr */
	uint64_t t0;	      /* MV_STATS: when __wrap_main started (stats__now) */
};

/* Why KVM_RUN returned, for MV_STATS. */
enum mv_exit_kind {
	MV_EXIT_SYSCALL,
	MV_EXIT_PAGE_FAULT,
	MV_EXIT_CONSOLE,
	MV_EXIT_OTHER_HC,
	MV_EXIT_SIGNAL,
	MV_EXIT_OTHER,
	MV_EXIT_KINDS
};

/* The steps from __wrap_main to main in the HRT, timed for MV_STATS (stats__mark). */
enum mv_start_step {
	MV_START_VM,	   /* /dev/kvm opened, KVM_CREATE_VM */
	MV_START_CPUID,	   /* KVM_GET_SUPPORTED_CPUID */
	MV_START_NAUTILUS, /* HRT memory, memslot 0, Nautilus loaded */
	MV_START_MAPS,	   /* page tables, the VMA mirror from /proc/self/maps */
	MV_START_VCPU,	   /* KVM_CREATE_VCPU and its registers, CPUID, MSRs */
	MV_START_SERVICES, /* the service page: TSC rate, clock anchors, arena */
	MV_START_BOOT,	   /* first KVM_RUN until Nautilus reports READY */
	MV_START_N
};

struct mv_vm {
	/* Set once (vm__create, mem__init): */
	int kvm_fd, vm_fd;
	int run_size;
	struct mv_options opt;
	uint8_t *hrt;	    /* host view of HRT-private memory (GPA 0) */
	uint64_t entry;	    /* Nautilus entry GVA */
	uint64_t gpa_limit; /* 1 << guest MAXPHYADDR */
	struct kvm_cpuid2 *cpuid;
	int has_avx;
	uint64_t stack_rlimit;
	/* mem_lock: the page tables, the chunks and their memslots, the VMA
	 * mirror and the brk it follows (memory.c, x86_64/pagetable.c). */
	uint64_t pml4_gpa;
	uint64_t pt_next;  /* next free page-table page (GPA) */
	uint64_t gpa_next; /* next free chunk GPA */
	struct mv_chunk chunks[MV_MAX_CHUNKS];
	int nchunks, last_chunk;
	struct mv_vma *vmas; /* sorted, disjoint */
	int nvmas;
	int vmas_cap; /* entries vmas has room for; grows (memory.c) */
	uint64_t brk_cur;
	pthread_mutex_t mem_lock;
	/* Atomic counters (relaxed), for reports and MV_STATS. */
	uint64_t nr_syscalls, nr_faults, nr_resyncs;
	/* Execution groups (thread.c): every vCPU ever created, by id. A
	 * vCPU whose thread exited is reused (KVM cannot destroy one).
	 * vcpu_lock: adding a vCPU, and taking a free one (thread__get_vcpu).
	 * nvcpus is also stored with release after vcpus[nvcpus] is filled,
	 * so a reader without the lock (the signal handler, the poll server,
	 * the sampler, stats) loads it with acquire and may read every entry
	 * below it; entries are never removed. */
	struct mv_vcpu *vcpus[MV_MAX_VCPUS];
	int nvcpus;
	pthread_mutex_t vcpu_lock;
	int announced; /* atomic (exchange): "MV-HRT" printed once */
	/* signal.c: the program's actions (the host has libmv's recorder
	 * where the program has a handler). sig_lock for everything, and
	 * sigact[] is also read by the async handler, which cannot lock:
	 * writers (sigact.c, sigact__set) bump sigact_seq around each
	 * entry with host signals blocked, and the handler reads an entry
	 * again until it saw the same even sequence before and after. */
	struct mv_sigaction sigact[MV_NSIG + 1];
	uint64_t sigact_known; /* bit sig-1: sigact[sig] read from the host */
	uint32_t sigact_seq;
	pthread_mutex_t sig_lock;
	uint64_t nr_signals;	       /* atomic counter: handlers entered in the HRT */
	int poll;		       /* poll.c: the exitless-call server runs (set once, before main) */
	uint64_t main_fn;	       /* the program's main, for gdb's first stop (set once) */
	uint64_t stats_t0;	       /* MV_STATS: when __wrap_main started (set once) */
	uint64_t start_ns[MV_START_N]; /* MV_STATS: when each start step ended (set once) */
};

/* The vCPU as an explicit state machine: vcpu__set_state (vcpu.c) is the only writer, and
 * its table is the list of transitions. */
enum mv_vcpu_state {
	MV_VCPU_CREATED,      /* fd + registers set, never run */
	MV_VCPU_BOOTING,      /* in Nautilus boot + SIMD probe, before READY */
	MV_VCPU_RUNNING,      /* main (or later a thread) runs in the HRT */
	MV_VCPU_IN_CALL,      /* stopped in a hypercall; the partner is working */
	MV_VCPU_EXITED,	      /* main returned: exit_status is valid */
	MV_VCPU_PROBE_FAILED, /* the boot never reached READY: KVM unusable */
};

/* Unless a field says otherwise, a vCPU's fields are its owner's: the partner
 * (or native runner) that took it with thread__get_vcpu, from then until it
 * clears busy. Others read only what is marked. */
struct mv_vcpu {
	/* Set once, when the vCPU is created: */
	struct mv_vm *vm;
	int id, fd;
	struct kvm_run *run;
	struct mv_call_page *cp; /* host view of this vCPU's call page */
	void *partner_stack;	 /* thread vCPUs: the partner's host stack, reused */
	/* Owner; others (report, gdb, signal handler) read state as it stands. */
	enum mv_vcpu_state state;
	int exit_status;
	char probe_error[160];
	uint64_t last_fault;	/* fault-loop detection (owner) */
	uint64_t fault_repeats; /* atomic: mem__apply resets every vCPU's */
	/* A thread (and its partner) owns this vCPU. Atomic: set to 1 only under
	 * vcpu_lock (thread__get_vcpu, or runtime.c for vCPU 0 before any other
	 * thread); cleared by its owner with a release store and no lock (the
	 * exiting partner must not touch its stack afterwards: thread__exit);
	 * read with acquire. */
	int busy;
	int tid; /* the partner's TID (owner writes before it runs; others read when busy) */
	/* Pending signals: the async handler on the owner's own thread sets a
	 * bit with its siginfo (fetch_or, release); the owner clears bits
	 * (fetch_and) and takes siginfo with host signals blocked. Atomic. */
	uint64_t sig_pending;		    /* bit sig-1: noted by the host handler, not yet delivered */
	uint8_t sig_info[MV_NSIG + 1][128]; /* each pending signal's siginfo_t */
	/* signal.c: more instances of real-time signals already pending, in arrival order
	 * (Linux queues those; standard signals pending twice are delivered once). */
	int rtq_n; /* atomic; entries appended by the handler, taken with signals blocked */
	uint8_t rtq_sig[MV_RTQ];
	uint8_t rtq_info[MV_RTQ][128];
	int kick_timer, kick_timer_ok, kick_sig, kick_armed; /* signal.c: retry delivery (owner) */
	/* native.c: a pooled vCPU for HRT-native threads, driven by a runner
	 * host thread that outlives the threads it runs. */
	int native;		/* in the native pool (never handed to a cloned partner) */
	int runner;		/* its runner exists (it waits for a thread when idle) */
	uint32_t native_go;	/* futex, atomic: 1 = a thread was handed over (the fields below with it) */
	uint64_t native_ctid;	/* CLONE_CHILD_CLEARTID word of the thread it runs */
	uint64_t native_fs;	/* the next thread's FS base (TLS) */
	uint64_t native_mask;	/* ... and its starting signal mask (the creator's) */
	uint64_t native_rip;	/* ... where it starts (the clone return) */
	uint64_t native_sp;	/* ... and on what stack */
	uint64_t rseq[3];	/* the running thread's rseq registration (addr, len, sig) */
	int hrt_errno;		/* vcpu.c: the thread's errno, kept while its partner works */
	uint8_t *io_ok;		/* pio.c: ports ioperm allowed (a bit each), NULL = none */
	int io_all;		/* pio.c: iopl(3) */
	struct mv_stats *stats; /* MV_STATS counters: owner writes (relaxed atomics), stats.c reads */
	/* gdb.c (under its lock): parked for gdb, kicked by it, the debug configuration applied. */
	int gdb_parked, gdb_kick, gdb_step;
	uint64_t gdb_gen;
	int prof_want; /* profile.c, atomic: a sample is wanted (set by the sampler, taken by the partner) */
};

/* vm.c */
int vm__create(struct mv_vm **out, const struct mv_options *opt, char *err, size_t errlen);
void vm__destroy(struct mv_vm *vm);
uint64_t vm__gva_to_host(struct mv_vm *vm, uint64_t gva, uint64_t len, void **host);
/* The VMM's view of the service page (overrides, native threads). */
static inline struct mv_svc_page *vm__svc(struct mv_vm *vm)
{
	return (struct mv_svc_page *)(vm->hrt + MV_SVC_GPA);
}

/* vcpu.c: a vCPU's life, its state machine and its boot-info block */
int vcpu__create(struct mv_vm *vm, int id, struct mv_vcpu **out, char *err, size_t errlen);
void vcpu__destroy(struct mv_vcpu *v);
int vcpu__run(struct mv_vcpu *v);
void vcpu__set_state(struct mv_vcpu *v, enum mv_vcpu_state to);
const char *vcpu__state_name(enum mv_vcpu_state s);
void vcpu__boot_template(struct mv_vm *vm);
void vcpu__boot_main(struct mv_vcpu *v, uint64_t fn, int argc, char **argv, char **envp, uint64_t stack_top,
		     uint64_t fs);
uint64_t vcpu__boot_thread(struct mv_vcpu *v, uint64_t rip, uint64_t sp, uint64_t fs);
int vcpu__resume_thread(struct mv_vcpu *v, uint64_t rip, uint64_t sp, uint64_t fs);

/* runtime.c */
int mv__run_main(int (*main_fn)(int, char **, char **), int argc, char **argv, char **envp);

/* env.c: MV_* settings from their strings (pure; hvm/unit/t_env.c) */
int env__flag(const char *name);
int env__cpu_list(const char *s, int *cpus, int max);
int env__cpu_set(const char *s, cpu_set_t *set);
int64_t env__uint(const char *s, int64_t def, int64_t max);

/* thread.c */
int64_t thread__clone(struct mv_vcpu *parent, const uint64_t *a);
int64_t thread__fork(struct mv_vcpu *v, uint64_t nr, const uint64_t *a);
struct mv_vcpu *thread__get_vcpu(struct mv_vm *vm, int native);
int64_t thread__boot(struct mv_vcpu *parent, struct mv_vcpu *v, uint64_t flags, const uint64_t *a, uint64_t fs);
__attribute__((noreturn)) void thread__exit(struct mv_vcpu *v, int status);
int64_t thread__end(struct mv_vcpu *v, int status);
void mv__pin_vcpu(int id);

/* native.c: HRT-native threads on pooled vCPUs */
int native__wanted(struct mv_vcpu *parent);
int64_t native__spawn(struct mv_vcpu *parent, uint64_t flags, const uint64_t *a, uint64_t fs);
int64_t native__exit(struct mv_vcpu *v);
void native__rseq(struct mv_vcpu *v, const uint64_t *a, int64_t ret);

/* override.c: the service page (overrides) */
void override__setup(struct mv_vm *vm, struct mv_vcpu *v);
void override__thread(struct mv_vcpu *v);

/* pio.c: port I/O after ioperm/iopl */
void pio__granted(struct mv_vcpu *v, uint64_t nr, const uint64_t *a);
void pio__inherit(struct mv_vcpu *child, const struct mv_vcpu *parent);
void pio__exit(struct mv_vcpu *v);

/* hypercall.c */
void hypercall__dispatch(struct mv_vcpu *v);

/* syscall.c */
int64_t syscall__forward(struct mv_vcpu *v, uint64_t nr, const uint64_t *a);
const char *syscall__name(uint64_t nr);

/* memory.c */
int mem__init(struct mv_vm *vm);
int mem__handle_fault(struct mv_vcpu *v, uint64_t addr, uint64_t err);
void mem__apply(struct mv_vcpu *v, uint64_t start, uint64_t end, uint32_t prot);
int mem__chunk_gpa(struct mv_vm *vm, uint64_t va, uint64_t *gpa);
void mem__shootdown(struct mv_vcpu *v);
void mem__reach(struct mv_vcpu *v, uint64_t addr);

/* vma.c: the VMA table (pure; hvm/unit/t_vma.c) */
uint32_t mem__prot_from_linux(uint64_t prot);
const struct mv_vma *mem__vma_find(struct mv_vm *vm, uint64_t addr);
int mem__vma_set(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot, uint32_t flags);
int mem__vma_room(struct mv_vm *vm, int n);
int mem__grow(void **buf, size_t *size, size_t need);
int mem__maps_line(const char *p, const char *nl, struct mv_vma *out);

/* x86_64/cpu.c */
int cpu__setup(struct mv_vcpu *v, uint64_t rip, uint64_t rdi, uint64_t fs_base, char *err, size_t errlen);
int cpu__reset(struct mv_vcpu *v, uint64_t rip, uint64_t rdi, uint64_t fs_base);
int cpu__get_regs(struct mv_vcpu *v, struct mv_regs *r);
void cpu__regs_from_kvm(struct mv_regs *r, const struct kvm_regs *kr);
int cpu__new_thread(struct mv_vcpu *v, uint64_t fs_base);
int cpu__supported_cpuid(struct mv_vm *vm);
void cpu__free_cpuid(struct mv_vm *vm);

/* x86_64/pagetable.c */
void pt__init(struct mv_vm *vm);
int pt__map_range(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot);
int pt__protect_range(struct mv_vm *vm, uint64_t start, uint64_t end, uint32_t prot);

/* report.c */
__attribute__((noreturn)) void report__die(struct mv_vcpu *v, const char *what, const struct mv_regs *r, int sig);
void mv__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sigact.c: vm->sigact[] for the async handler (sequence word) */
void sigact__set(struct mv_vm *vm, int sig, const struct mv_sigaction *a);
struct mv_sigaction sigact__read(struct mv_vm *vm, int sig);

/* signal.c */
void signal__init(struct mv_vm *vm);
void signal__adopt(struct mv_vm *vm);
void signal__release(struct mv_vm *vm);
void signal__thread_start(struct mv_vcpu *v);
int64_t signal__sigaction(struct mv_vcpu *v, const uint64_t *a);
int64_t signal__sigreturn(struct mv_vcpu *v);
void signal__after_run(struct mv_vcpu *v);
void signal__after_call(struct mv_vcpu *v, uint32_t op);
int signal__fault(struct mv_vcpu *v, int sig, int code, uint64_t addr);

/* profile.c: the sampling profiler (MV_PROFILE). MV_PROF_SIG asks a partner for a sample;
 * its handler is libmv's own, never adopted as the program's (signal__adopt). */
#define MV_PROF_SIG (SIGRTMAX - 2)
void profile__start(struct mv_vm *vm);
void profile__finish(struct mv_vm *vm);

/* gdb.c: the GDB stub (MV_GDB) */
int gdb__start(struct mv_vm *vm, uint64_t main_addr);
int gdb__active(void);
void gdb__before_run(struct mv_vcpu *v);
int gdb__trap(struct mv_vcpu *v);
void gdb__signal(struct mv_vcpu *v, int sig);
void gdb__exit(int status, int sig);
int gdb__is_kick(struct mv_vcpu *v, int sig);

/* poll.c: exitless calls */
void poll__start(struct mv_vm *vm);
void poll__stop(struct mv_vm *vm);
void poll__wake(struct mv_vm *vm, uint64_t nr);
int poll__changes_fds(uint64_t nr, const uint64_t *a);
void poll__fds_changed(void);
uint64_t poll__served(uint64_t nr, uint64_t *ns);
uint64_t poll__declined(uint64_t *sleeps, uint64_t *missed, uint64_t *backoffs);

/* stats.c: MV_STATS */
struct mv_stats;
const char *stats__option(void);
uint64_t stats__now(void);
void stats__vcpu_init(struct mv_vcpu *v);
void stats__vcpu_free(struct mv_vcpu *v);
void stats__syscall(struct mv_vcpu *v, uint64_t nr, uint64_t ns);
void stats__fault(struct mv_vcpu *v, uint64_t ns);
void stats__run(struct mv_vcpu *v, uint64_t ns, enum mv_exit_kind why);
void stats__native(void);
void stats__summary(struct mv_vm *vm);
void stats__mark(struct mv_vm *vm, enum mv_start_step step);

/* util */
long mv__raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
/* Copy n bytes from/to program memory: -EFAULT, never a partner's SIGSEGV, where the
 * program's pointer is bad (what Linux's own copies give the program). */
int mv__copy_in(void *dst, uint64_t src, size_t n);
int mv__copy_out(uint64_t dst, const void *src, size_t n);

#endif
