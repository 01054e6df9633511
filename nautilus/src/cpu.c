/* cpu.c - descriptor tables: a per-vCPU GDT + TSS, and one shared IDT whose
 * 256 gates all run on IST stacks.
 *
 * Why IST on every vector: the app runs at CPL 0, so an exception does not
 * switch stacks by privilege change. Without IST the CPU would push its frame
 * right below the app's %rsp, over the 128-byte red zone the SysV ABI lets
 * leaf functions keep live data in. */
#include <nk/nk.h>

#define IST_NORMAL 1 /* every vector */
#define IST_FATAL  2 /* #DF, NMI, #MC: may arrive while IST 1 is in use */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

struct dt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

static void idt__build(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t h = nk_vectors[v];
		idt[v].off0 = (uint16_t)h;
		idt[v].sel = MV_SEL_KCODE;
		idt[v].ist = (v == 2 || v == 8 || v == 18) ? IST_FATAL : IST_NORMAL;
		idt[v].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate: IF cleared */
		idt[v].off1 = (uint16_t)(h >> 16);
		idt[v].off2 = (uint32_t)(h >> 32);
		idt[v].zero = 0;
	}
}

static void gdt__build(struct nk_percpu *pc)
{
	uint64_t tss = (uint64_t)pc->tss;
	uint8_t *t = (uint8_t *)pc->tss;

	pc->gdt[0] = 0;
	pc->gdt[1] = 0x00af9a000000ffffULL; /* 64-bit code, DPL 0 */
	pc->gdt[2] = 0x00cf92000000ffffULL; /* data, DPL 0 */
	pc->gdt[3] = 103 | ((tss & 0xffffff) << 16) | (0x89ULL << 40) | (((tss >> 24) & 0xff) << 56);
	pc->gdt[4] = tss >> 32;

	/* TSS: IST1 at +36, IST2 at +44 (unaligned 64-bit fields); I/O map base past the limit. */
	/* A vCPU id is reused for thread after thread: allocate its stacks
	 * once, or the never-freed heap would run out. */
	if (!pc->ist1) {
		pc->ist1 = (uint64_t)kmalloc(NK_STACK_SIZE, 16) + NK_STACK_SIZE;
		pc->ist2 = (uint64_t)kmalloc(NK_STACK_SIZE, 16) + NK_STACK_SIZE;
	}
	memset(t, 0, 104);
	memcpy(t + 36, &pc->ist1, 8);
	memcpy(t + 44, &pc->ist2, 8);
	uint16_t iomap = 104;
	memcpy(t + 102, &iomap, 2);
}

/* Where Linux keeps (node << 12) | cpu for the vDSO's getcpu: the limit of
 * GDT entry 15 (selector 0x7b, read with lsl) and TSC_AUX (rdtscp, rdpid).
 * The HRT thread's CPU is its partner's (the VMM tells us when it moves). */
void cpu__set_cpunode(uint32_t cn)
{
	struct nk_percpu *pc = percpu__this();
	unsigned a, b, c, d;

	/* Read-only data, DPL 3, present, 32-bit, byte-granular limit: as Linux's setup_getcpu. */
	pc->gdt[15] = (cn & 0xffff) | (5ULL << 40) | (1ULL << 44) | (3ULL << 45) | (1ULL << 47) |
		      ((uint64_t)((cn >> 16) & 0xf) << 48) | (1ULL << 54);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
	int rdtscp = (d >> 27) & 1;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	if (rdtscp || ((c >> 22) & 1))	/* RDPID */
		wrmsr(0xc0000103u, cn); /* MSR_TSC_AUX */
}

void cpu__init(const struct mv_boot_info *bi)
{
	struct nk_percpu *pc = percpu__this();
	struct dt_ptr gp = { sizeof pc->gdt - 1, (uint64_t)pc->gdt };
	struct dt_ptr ip = { sizeof idt - 1, (uint64_t)idt };

	(void)bi;
	if (pc->vcpu_id == 0)
		idt__build();
	gdt__build(pc);
	__asm__ volatile("lgdt %0" ::"m"(gp));
	/* Reload CS with a far return; FS and GS are left alone: their bases
	 * (app TLS, our per-vCPU data) are set by MSR, and loading a selector
	 * would reset them. */
	__asm__ volatile("pushq %0\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %1, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%ss\n\t" ::"i"(MV_SEL_KCODE),
			 "i"(MV_SEL_KDATA)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"(MV_SEL_TSS));
	__asm__ volatile("lidt %0" ::"m"(ip));
	cpu__set_cpunode(pc->call->cpunode);
}
