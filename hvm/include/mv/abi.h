/*
 * mv/abi.h - the ONE contract between the hybrid VMM (hvm/, libmv) and the
 * Nautilus HRT kernel (nautilus/). Both sides include this file; neither
 * copies it. Changing a struct layout, an op code or the port means bumping
 * MV_ABI_VERSION: Nautilus refuses a boot-info block of another version.
 *
 * Guest physical layout (compact: many CPUs have only 39-46 physical bits)
 * ------------------------------------------------------------------------
 *
 *   GPA 0x0000_0000 +--------------------------------+  memslot 0: HRT-private
 *                   | probe / scratch page           |  (anonymous host memory,
 *        0x0000_1000| boot-info block (mv_boot_info) |   never visible in the
 *        0x0000_2000| call pages, 1 per vCPU (4 KiB) |   user half)
 *                   |   ... MV_MAX_VCPUS pages       |
 *        0x0009_0000| HRT services page (overrides)  |
 *        0x0010_0000| Nautilus ELF image (PT_LOADs)  |
 *        0x0080_0000| Nautilus heap: per-vCPU stacks |
 *                   |   (IST, syscall), kmalloc      |
 *        0x0200_0000| page-table pool (VMM-owned)    |
 *        0x0400_0000+--------------------------------+  MV_HRT_MEM_SIZE
 *                   | (unused)                       |
 *  MV_USER_GPA_BASE +--------------------------------+  memslots 1..n: one per
 *   (1 GiB)         | process memory, one 1 GiB      |  1 GiB-aligned chunk of
 *                   | chunk after another, in the    |  process VA, in first-
 *                   | order the HRT first touches    |  touch order. A slot may
 *                   | them                           |  span holes; the guest
 *                   +--------------------------------+  page tables decide.
 *
 * Guest virtual layout
 * --------------------
 *
 *   0x0000_0000_0000_0000 +---------------------------+
 *                         | user half: GVA == process |  4 KiB PTEs that mirror
 *                         | VA, same permissions      |  the process mappings
 *                         | (W, NX) as in the process |  (added lazily on #PF,
 *   0x0000_7fff_ffff_ffff +---------------------------+  kept coherent after
 *                         | (non-canonical hole)      |  forwarded mmap & co)
 *   0xffff_ffff_8000_0000 +---------------------------+  MV_KERNEL_VBASE
 *                         | HRT-private memory,       |  2 MiB pages,
 *                         | GVA = VBASE + GPA         |  GVA - VBASE == GPA
 *                         +---------------------------+
 */
#ifndef MV_ABI_H
#define MV_ABI_H

#ifdef __ASSEMBLER__
#define MV_U64(x) x
#else
#include <stdint.h>
#define MV_U64(x) x##ULL
#endif

/* Version 2: thread vCPUs (boot info in the call page, thread_rip/thread_rflags), 128 vCPUs,
 * the full-register SYSCALL frame. Version 3: MV_CALL_RESUME (signal delivery, sigreturn).
 * Version 4: exitless calls (the poll slot in each call page, text shrunk to 2 KiB).
 * Version 5: MV_CALL_CPUNODE and the call page's cpunode (the vDSO's getcpu).
 * Version 6: Nautilus answers clone3 and, on MV_BOOT_NATIVE vCPUs, the robust-list calls
 * (the call page's robust_head). */
#define MV_ABI_VERSION 6
#define MV_ABI_NAME    "mv abi 6"		  /* keep in step with MV_ABI_VERSION: shown by both sides */
#define MV_BOOT_MAGIC  MV_U64(0x544f4f42544d564d) /* "MVMTBOOT" */

/* Hypercall: fill the vCPU's call page, then `outb %al, $MV_HC_PORT`. */
#define MV_HC_PORT 0x4d

/* Hypercall op codes (call page `op`). */
#define MV_OP_NOP	   0u /* round trip only (benchmarks) */
#define MV_OP_SYSCALL	   1u /* arg[0]=nr, arg[1..6]=args; ret = result or -errno */
#define MV_OP_PAGE_FAULT   2u /* arg[0]=cr2, arg[1]=error code; regs filled; ret 0 = retry */
#define MV_OP_EXIT	   3u /* main returned; arg[0]=status. Never resumes. */
#define MV_OP_CONSOLE	   4u /* arg[0]=GVA of text, arg[1]=length */
#define MV_OP_PANIC	   5u /* exception or kernel panic; regs filled; arg[0]=GVA msg */
#define MV_OP_READY	   6u /* boot + SIMD probe done; arg[0]=CPL main will run at */
#define MV_OP_THREAD_START 7u /* reserved (threads start through a boot-info block, see below) */
#define MV_OP_THREAD_EXIT  8u /* reserved (a thread ends with a forwarded exit(2)) */
#define MV_OP_COUNT	   9u

/* Call page `flags`, set by the VMM before it resumes the vCPU. */
#define MV_CALL_FLUSH_TLB 0x1u /* VMM changed live PTEs: reload CR3 before resuming */
/* Do not return to the caller of the hypercall: resume the program at the
 * context in the call page's `regs` (all GPRs, rip, rsp, rflags; CPL 0). The
 * VMM uses it to enter a signal handler and for rt_sigreturn. */
#define MV_CALL_RESUME	  0x2u
/* The partner runs on another CPU now: `cpunode` holds (node << 12) | cpu,
 * which Nautilus puts where Linux does for the vDSO's getcpu (GDT entry 15's
 * limit, read by lsl) and in TSC_AUX (rdtscp, rdpid). */
#define MV_CALL_CPUNODE	  0x4u

/* Boot-info `flags`. */
#define MV_BOOT_PROBE_AVX 0x1u /* host CPU has AVX: the boot probe must run it */
#define MV_BOOT_VERBOSE	  0x2u /* print the Nautilus banner on the console */
/* A pooled vCPU of HRT-native threads (hvm/src/native.c): its runner never exits with the
 * thread, so Linux would never walk a robust list registered on it. Nautilus keeps the
 * thread's head in the call page's robust_head instead (set_robust_list, and
 * get_robust_list of the caller itself), with no exit. */
#define MV_BOOT_NATIVE	  0x4u

/* Guest physical layout (see the map above). */
#define MV_BOOTINFO_GPA	   MV_U64(0x1000)
#define MV_CALLPAGE_GPA	   MV_U64(0x2000)
#define MV_MAX_VCPUS	   128 /* a power of two (Nautilus masks ids with it) */
/* A thread vCPU's boot-info block lives at this offset in its call page. */
#define MV_CP_BOOTINFO_OFF 0xe00
/* The exitless-call slot (struct mv_poll) lives at this offset in each call page. */
#define MV_CP_POLL_OFF	   0xc00
#define MV_KERNEL_GPA	   MV_U64(0x100000)
#define MV_HEAP_GPA	   MV_U64(0x800000)
#define MV_HEAP_SIZE	   MV_U64(0x1800000)
#define MV_PTPOOL_GPA	   MV_U64(0x2000000)
#define MV_PTPOOL_SIZE	   MV_U64(0x2000000)
#define MV_HRT_MEM_SIZE	   MV_U64(0x4000000)
#define MV_USER_GPA_BASE   MV_U64(0x40000000)
#define MV_CHUNK_SHIFT	   30
#define MV_CHUNK_SIZE	   (MV_U64(1) << MV_CHUNK_SHIFT)

/* Guest virtual layout. */
#define MV_KERNEL_VBASE MV_U64(0xffffffff80000000)
#define MV_USER_TOP	MV_U64(0x0000800000000000)

/* Segment selectors Nautilus loads (the VMM enters with the same ones). */
#define MV_SEL_KCODE 0x08
#define MV_SEL_KDATA 0x10
#define MV_SEL_TSS   0x18

/* In the HRT, GS base points to Nautilus's per-vCPU data; the u32 at this
 * offset is the vCPU id (read by mv_vcpu_id() in <mv/hrt.h>). */
#define MV_GS_VCPU_ID 32

/* Byte offsets into mv_call_page, for assembly. Checked by _Static_assert below. */
#define MV_CP_OP    0
#define MV_CP_FLAGS 4
#define MV_CP_ARG   8
#define MV_CP_RET   64

#ifndef __ASSEMBLER__

/* Register snapshot: an exception frame, or the state at a page fault. */
struct mv_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, cs, ss;
	uint64_t vector, error_code, cr2, cr3, fs_base, gs_base;
};

/*
 * Per-vCPU call page, at MV_CALLPAGE_GPA + id * 4096. Nautilus writes op and
 * args and does one `out`; the vCPU's host thread (the partner) reads them
 * through its own pointer into the HRT memory, writes ret (and flags) and
 * re-enters. No KVM_GET/SET_REGS on the hot path.
 */
struct mv_call_page {
	uint32_t op;
	uint32_t flags;
	uint64_t arg[7];
	int64_t ret;
	uint64_t seq; /* incremented by Nautilus per hypercall (debugging aid) */
	struct mv_regs regs;
	char text[2048];  /* PANIC message / scratch */
	uint32_t cpunode; /* see MV_CALL_CPUNODE; also read at boot */
	uint32_t pad;
	/* MV_BOOT_NATIVE: the running thread's robust-list head (set_robust_list), 0 for
	 * none. A new thread starts with none, as after clone(2): the VMM clears it when it
	 * boots a vCPU for a thread, and the runner when it walks the list at a thread's exit. */
	uint64_t robust_head;
};

/*
 * Exitless calls (hvm/src/poll.c). A vCPU makes a system call the VMM's server thread may
 * perform on its behalf by filling this slot and setting state POSTED, then spinning instead
 * of executing `out`. The server, polling every running vCPU's slot from a ROS CPU, claims a
 * call (POSTED -> TAKEN), performs it and publishes DONE with ret, or hands it back
 * (DECLINED: it could block, or its result would depend on the calling thread). A vCPU whose
 * call is not claimed within the spin budget takes it back (POSTED -> IDLE) and makes it the
 * ordinary way, with one `out`; so does a DECLINED one. Only the vCPU writes IDLE/POSTED, only
 * the server writes TAKEN/DONE/DECLINED (except the vCPU's own cancel, a compare-and-swap).
 */
#define MV_POLL_IDLE	 0u
#define MV_POLL_POSTED	 1u
#define MV_POLL_TAKEN	 2u
#define MV_POLL_DONE	 3u
#define MV_POLL_DECLINED 4u

struct mv_poll {
	uint32_t state;
	uint32_t pad;
	uint64_t nr;
	uint64_t arg[6];
	int64_t ret;
	uint64_t count; /* calls this vCPU completed exitless (statistics) */
	/* Written by the vCPU alone (nautilus/src/poll.c "Does posting pay?"): the mean cost of a
	 * call each way (TSC cycles, moving averages), the calls it could post, and those it made by
	 * exit because the exit was the cheaper way. */
	uint64_t xl_cycles, exit_cycles;
	uint64_t eligible, skipped;
};

/* VMM -> Nautilus, at MV_BOOTINFO_GPA. Pointers are guest virtual. */
struct mv_boot_info {
	uint64_t magic;
	uint32_t abi_version;
	uint32_t flags;
	uint32_t vcpu_id;
	uint32_t nr_vcpus;
	uint64_t hrt_mem_size;
	uint64_t kernel_vbase;
	uint64_t call_pages; /* GVA of vCPU 0's call page; vCPU n at +n*4096 */
	uint64_t heap_start; /* GVA */
	uint64_t heap_size;
	/* What Nautilus runs: main_fn(argc, argv, envp) on stack_top, FS = fs_base. */
	uint64_t main_fn;
	uint64_t argc;
	uint64_t argv;
	uint64_t envp;
	uint64_t stack_top; /* 16-byte aligned; the call pushes the return address */
	uint64_t fs_base;
	char vmm_version[64];
	/* Thread vCPUs (main_fn == 0): start at thread_rip with %rax = 0 on
	 * stack_top, FS = fs_base: the return point of the forwarded clone(2)
	 * in the child. Appended fields: the vCPU 0 layout is unchanged. */
	uint64_t thread_rip;
	uint64_t thread_rflags;
};

/*
 * HRT services (overrides, hvm/README.md "Overrides"): one page at
 * MV_SVC_GPA, in the gap between the call pages and the kernel. The VMM
 * fills the data (clock anchor, identity, arena) before vCPU 0 boots;
 * Nautilus fills fn[] at boot. Program code in the HRT finds it at the fixed
 * GVA MV_KERNEL_VBASE + MV_SVC_GPA and calls fn[] directly at CPL 0.
 * Versioned by its own magic, not MV_ABI_VERSION: a VMM or a Nautilus that
 * does not know this page leaves magic (or fn[]) zero, and every override
 * then takes the original (forwarded) path.
 */
#define MV_SVC_GPA    MV_U64(0x90000)
#define MV_SVC_MAGIC  MV_U64(0x3143565356544d4d) /* "MMTVSVC1" */
#define MV_SVC_CLOCKS 4				 /* anchors: REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME */

/* fn[] slots (Nautilus entry points, SysV ABI, callable at CPL 0 only). */
enum mv_svc_fn {
	MV_SVC_CLOCK_GETTIME, /* int (int clk, struct timespec *) ; -1 = not served */
	MV_SVC_GETTIMEOFDAY,  /* int (struct timeval *) */
	MV_SVC_TIME,	      /* int64 (void) */
	MV_SVC_NANOSLEEP,     /* int (const struct timespec *) ; -1 = too long, forward */
	MV_SVC_SCHED_YIELD,   /* int (void) */
	MV_SVC_MALLOC,	      /* void *(size_t) */
	MV_SVC_FREE,	      /* void (void *) */
	MV_SVC_MEMALIGN,      /* void *(size_t align, size_t size) */
	MV_SVC_USABLE_SIZE,   /* size_t (void *) */
	MV_SVC_PRINTK,	      /* void (const char *, size_t) : console */
	MV_SVC_NFN = 16
};

struct mv_svc_page {
	uint64_t magic;
	uint64_t fn[MV_SVC_NFN];
	/* Clock c: with d = tsc - base_tsc[c], ns = base_ns[c] + (d * cmult[c]) >> 32
	 * + (min(d, period) * corr[c]) >> 32. The VMM sets the first anchor;
	 * Nautilus re-anchors about once a period (svc_clock.c) under seq. */
	uint64_t tsc_khz;
	uint64_t mult;	 /* nominal ns per cycle << 32, from tsc_khz; 0 = no TSC clock */
	uint64_t period; /* re-anchor period in cycles (~1 s); 0 = never */
	uint32_t seq, lock;
	uint64_t base_tsc[MV_SVC_CLOCKS], base_ns[MV_SVC_CLOCKS], cmult[MV_SVC_CLOCKS];
	int64_t corr[MV_SVC_CLOCKS];
	uint64_t first_tsc[MV_SVC_CLOCKS], first_ns[MV_SVC_CLOCKS], next_tsc[MV_SVC_CLOCKS];
	uint64_t spin_max_ns; /* nanosleep: shorter sleeps spin on the TSC */
	/* Identity, captured when the VM starts. */
	int32_t pid, uid, euid, gid, egid, pad;
	/* The malloc arena: process memory reserved by the VMM (user half). */
	uint64_t arena_start, arena_size;
	/* TID of each vCPU's partner: the HRT thread's gettid(). */
	int32_t tid[MV_MAX_VCPUS];
	/* HRT-native threads (hvm/src/native.c). native_clone[v] is set by
	 * program code on vCPU v around pthread_create: the VMM then runs the
	 * new thread on a pooled vCPU instead of cloning a partner for it.
	 * native[v] is set by the VMM for pooled vCPUs. */
	uint8_t native_clone[MV_MAX_VCPUS];
	uint8_t native[MV_MAX_VCPUS];
	/* Exitless calls (hvm/src/poll.c): the server is awake and polling (poll_on), how long a
	 * vCPU spins for it to claim a call (poll_cycles, TSC cycles), and which system call
	 * numbers may be posted (a bit per number; the server still checks each call).
	 * poll_adapt: each vCPU posts only while posting is the cheaper way (MV_POLL unset);
	 * 0 when MV_POLL=1 forces every eligible call to be posted. */
	uint32_t poll_on, poll_adapt;
	uint64_t poll_cycles;
	uint64_t poll_nr[8];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(__builtin_offsetof(struct mv_call_page, op) == MV_CP_OP, "call page layout");
_Static_assert(__builtin_offsetof(struct mv_call_page, flags) == MV_CP_FLAGS, "call page layout");
_Static_assert(__builtin_offsetof(struct mv_call_page, arg) == MV_CP_ARG, "call page layout");
_Static_assert(__builtin_offsetof(struct mv_call_page, ret) == MV_CP_RET, "call page layout");
_Static_assert(sizeof(struct mv_call_page) <= 4096, "call page fits a page");
_Static_assert(sizeof(struct mv_boot_info) <= 4096, "boot info fits a page");
_Static_assert(sizeof(struct mv_call_page) <= MV_CP_POLL_OFF &&
		       MV_CP_POLL_OFF + sizeof(struct mv_poll) <= MV_CP_BOOTINFO_OFF &&
		       MV_CP_BOOTINFO_OFF + sizeof(struct mv_boot_info) <= 4096,
	       "poll slot and thread boot info fit the call page");
_Static_assert(MV_CALLPAGE_GPA + MV_MAX_VCPUS * 4096 <= MV_KERNEL_GPA, "call pages below the kernel");
_Static_assert(MV_CALLPAGE_GPA + MV_MAX_VCPUS * 4096 <= MV_SVC_GPA && MV_SVC_GPA + 4096 <= MV_KERNEL_GPA &&
		       sizeof(struct mv_svc_page) <= 4096,
	       "service page in the gap below the kernel");
#endif

#endif /* !__ASSEMBLER__ */
#endif /* MV_ABI_H */
