/* report.c - the one-screen report for an HRT fault, triple fault or VMM
 * error, then death by the matching signal (status 128+sig from a shell).
 * Runs on the partner while the HRT thread is stopped, possibly inside
 * malloc or stdio: only snprintf into a stack buffer and raw write(2). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "mv.h"

void mv__log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 1)
		n = (int)sizeof line - 1;
	mv__raw_syscall(SYS_write, 2, (long)line, n, 0, 0, 0);
}

struct sym_query {
	uint64_t addr;
	const char *file;
	uint64_t bias;
};

static int sym__find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct sym_query *q = data;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && q->addr >= lo && q->addr < lo + ph->p_memsz) {
			q->file = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe";
			q->bias = info->dlpi_addr;
			return 1;
		}
	}
	return 0;
}

/* Look addr up in the object's ELF .symtab (works for static binaries,
 * where dladdr knows nothing, and for non-exported functions). */
static int sym__from_symtab(const char *file, uint64_t off, char *out, size_t n)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), found = 0;
	struct stat st;
	unsigned char *m;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return 0;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum && !found; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		const Elf64_Sym *sy = (const Elf64_Sym *)(m + sh[i].sh_offset);
		const char *str = (const char *)(m + sh[sh[i].sh_link].sh_offset);
		size_t cnt = sh[i].sh_size / sizeof *sy;
		for (size_t k = 0; k < cnt; k++) {
			if (ELF64_ST_TYPE(sy[k].st_info) == STT_FUNC && off >= sy[k].st_value &&
			    off < sy[k].st_value + (sy[k].st_size ? sy[k].st_size : 1)) {
				snprintf(out, n, "<%s+%#lx> in %s", str + sy[k].st_name,
					 (unsigned long)(off - sy[k].st_value), file);
				found = 1;
				break;
			}
		}
	}
	munmap(m, (size_t)st.st_size);
	close(fd);
	return found;
}

static void sym__describe(uint64_t addr, char *out, size_t n)
{
	Dl_info di;
	struct sym_query q = { .addr = addr };

	if (dladdr((void *)addr, &di) && di.dli_sname) {
		snprintf(out, n, "<%s+%#lx> in %s", di.dli_sname, (unsigned long)(addr - (uint64_t)di.dli_saddr),
			 di.dli_fname);
		return;
	}
	if (dl_iterate_phdr(sym__find_object, &q) && sym__from_symtab(q.file, addr - q.bias, out, n))
		return;
	snprintf(out, n, "%s", q.file ? q.file : "(no symbol)");
}

static const char *const vec_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound range",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved",
	"#MF x87 error",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD exception",
	"#VE virtualization",
	"#CP control protection",
};

static const char *sig__name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGBUS: return "SIGBUS";
	case SIGTRAP: return "SIGTRAP";
	default: return "a signal";
	}
}

#define APPEND(...)                                                                  \
	do {                                                                         \
		if (n < (int)sizeof buf)                                             \
			n += snprintf(buf + n, sizeof buf - (size_t)n, __VA_ARGS__); \
	} while (0)

/* The mapping at addr, copied under mem_lock: 1 found, 0 none, -1 the lock stayed taken (a
 * report may come from a thread that holds it, e.g. when the table cannot grow). */
static int report__vma(struct mv_vm *vm, uint64_t addr, struct mv_vma *out)
{
	const struct timespec ms = { 0, 1000000 };
	const struct mv_vma *m;
	int tries = 0;

	while (pthread_mutex_trylock(&vm->mem_lock) != 0)
		if (++tries > 100)
			return -1;
		else
			nanosleep(&ms, NULL);
	if ((m = mem__vma_find(vm, addr)))
		*out = *m;
	pthread_mutex_unlock(&vm->mem_lock);
	return m != NULL;
}

void report__die(struct mv_vcpu *v, const char *what, const struct mv_regs *r, int sig)
{
	char buf[4096], sym[512];
	int n = 0;
	sigset_t set;

	gdb__signal(v, sig); /* gdb sees the fault where it happened, before the process ends */
	APPEND("mv: HRT %s\n", what);
	if (r) {
		if (r->vector < 32)
			APPEND("mv:   vector %lu (%s), error code %#lx\n", (unsigned long)r->vector,
			       vec_names[r->vector] ? vec_names[r->vector] : "?", (unsigned long)r->error_code);
		else if (r->vector < 256) /* int $n: the HRT has no device interrupts */
			APPEND("mv:   vector %lu (int $%#lx, a software interrupt)\n", (unsigned long)r->vector,
			       (unsigned long)r->vector);
		sym__describe(r->rip, sym, sizeof sym);
		APPEND("mv:   rip 0x%016lx %s\n", (unsigned long)r->rip, sym);
		if (r->vector == 14) {
			struct mv_vma m;
			int found = report__vma(v->vm, r->cr2, &m);
			if (found < 0)
				APPEND("mv:   address 0x%016lx (the mapping table is busy)\n", (unsigned long)r->cr2);
			else
				APPEND("mv:   address 0x%016lx (%s%s)\n", (unsigned long)r->cr2,
				       found ? "mapped, but not for a " : "no mapping in the process",
				       found ? ((r->error_code & 2)    ? "write"
						: (r->error_code & 16) ? "fetch"
								       : "read")
					     : "");
			if (found > 0)
				APPEND("mv:   mapping 0x%lx-0x%lx %c%c%c\n", (unsigned long)m.start,
				       (unsigned long)m.end, m.prot & MV_PROT_R ? 'r' : '-',
				       m.prot & MV_PROT_W ? 'w' : '-', m.prot & MV_PROT_X ? 'x' : '-');
		}
		APPEND("mv:   rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", (unsigned long)r->rax,
		       (unsigned long)r->rbx, (unsigned long)r->rcx, (unsigned long)r->rdx);
		APPEND("mv:   rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", (unsigned long)r->rsi,
		       (unsigned long)r->rdi, (unsigned long)r->rbp, (unsigned long)r->rsp);
		APPEND("mv:   r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", (unsigned long)r->r8,
		       (unsigned long)r->r9, (unsigned long)r->r10, (unsigned long)r->r11);
		APPEND("mv:   r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", (unsigned long)r->r12,
		       (unsigned long)r->r13, (unsigned long)r->r14, (unsigned long)r->r15);
		APPEND("mv:   rflags %08lx cs %04lx ss %04lx cr2 %016lx cr3 %08lx fs.base %016lx\n",
		       (unsigned long)r->rflags, (unsigned long)r->cs, (unsigned long)r->ss, (unsigned long)r->cr2,
		       (unsigned long)r->cr3, (unsigned long)r->fs_base);
	}
	APPEND("mv:   vcpu %d (%s), %lu forwarded calls, %lu HRT page faults\n", v->id, vcpu__state_name(v->state),
	       (unsigned long)__atomic_load_n(&v->vm->nr_syscalls, __ATOMIC_RELAXED),
	       (unsigned long)__atomic_load_n(&v->vm->nr_faults, __ATOMIC_RELAXED));
	APPEND("mv: ending the program as %s would\n", sig__name(sig));
	if (n > (int)sizeof buf)
		n = (int)sizeof buf;
	mv__raw_syscall(SYS_write, 2, (long)buf, n, 0, 0, 0);
	stats__summary(v->vm);
	profile__finish(v->vm);
	gdb__exit(0, sig);

	/* Die exactly as the signal would have killed a native process (core
	 * flag aside): default action, unblocked, raised on this thread. */
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	mv__raw_syscall(SYS_exit_group, 128 + sig, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}
