/* gdb.c - a GDB stub for the program's own code at CPL 0 (MV_GDB=[HOST:]PORT).
 *
 * The HRT shares the process's address space, so the program's symbols,
 * addresses and memory are the process's own: gdb reads the program's ELF as
 * usual, memory goes through /proc/self/mem (which, like ptrace, may write
 * read-only text: software breakpoints), and registers through the vCPU
 * ioctls. One thread per vCPU (thread id = vCPU id + 1).
 *
 * Breakpoints, steps and watchpoints are the guest's own: an int3 in the
 * program's text, the trap flag in its RFLAGS, its debug registers. The #BP or
 * #DB they raise reaches Nautilus like any exception in program code and comes
 * to the VMM as a PANIC with the program's registers; gdb__trap takes the ones
 * that are gdb's, and the program resumes from those registers (changed or
 * not) with MV_CALL_RESUME. (KVM's own guest debugging, KVM_SET_GUEST_DEBUG,
 * would intercept them before the guest, but QEMU's TCG does not honour it for
 * a nested guest, where the tests run; this way works on both.)
 *
 * All-stop. A vCPU that hits a breakpoint, finishes a step, trips a
 * watchpoint or faults reports the event and parks; the others are kicked
 * out of KVM_RUN (a signal whose handler does nothing) and park at the top of
 * their run loop; a partner blocked in a forwarded call parks when it comes
 * back. The stub thread speaks the remote protocol on the socket, reads and
 * writes registers and memory of the parked vCPUs, and resumes them.
 *
 * Before main: libmv listens, boots vCPU 0 to main's first instruction (an
 * int3 of its own there, taken out when it is hit) and parks it, so gdb finds
 * the program stopped at main, at CPL 0.
 *
 * Threading: gdb.lock guards everything in struct gdb_state and each vCPU's
 * gdb fields; the partner of a vCPU is the only thread that calls its
 * KVM_RUN, and the stub touches a vCPU's registers only while it is parked.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mv.h"

#define GDB_SIG (SIGRTMAX - 1) /* kicks a vCPU out of KVM_RUN; its handler does nothing */
#define TF	0x100u

/* Where a parked vCPU's program registers are (v->gdb_parked). */
enum {
	CTX_LIVE = 1, /* in KVM's registers: kicked out of KVM_RUN in program code */
	CTX_TRAP = 2  /* in the call page: a #BP/#DB/fault of the program, resumed from there */
};
#define MAX_SWBP 64
#define PKT_MAX	 16384

enum stop_kind { STOP_NONE, STOP_BREAK, STOP_STEP, STOP_HWBREAK, STOP_WATCH, STOP_SIGNAL, STOP_INTERRUPT };

static struct gdb_state {
	int on, fd, lfd, memfd, wake[2];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mv_vm *vm;
	int stopped;	/* all-stop: the program is held */
	int want_reply; /* gdb waits for a stop reply (after ?, c, s, or attach) */
	int ev_vcpu, ev_sig, ev_kind;
	uint64_t ev_addr;
	int step_vcpu;	  /* -1, or the vCPU that steps on the next resume */
	uint64_t gen;	  /* bumped when the debug configuration changes */
	uint64_t resume;  /* bumped at each resume */
	uint64_t main_bp; /* the int3 at main (its own byte in main_byte), until it is hit */
	uint8_t main_byte;
	uint64_t swbp[MAX_SWBP];
	uint8_t swbp_byte[MAX_SWBP];
	int nswbp;
	uint64_t dr[4];
	uint32_t dr7;
	int g_thread; /* Hg: the thread g/G/p/P/m read (vCPU id), -1 = the stopped one */
	int noack;
} gdb = { .lock = PTHREAD_MUTEX_INITIALIZER,
	  .cond = PTHREAD_COND_INITIALIZER,
	  .fd = -1,
	  .lfd = -1,
	  .memfd = -1,
	  .step_vcpu = -1,
	  .g_thread = -1 };

int gdb__active(void)
{
	return gdb.on;
}

/* --- the wire ------------------------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static int send_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(gdb.fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void put_packet(const char *data, size_t n)
{
	static char buf[PKT_MAX * 2 + 8];
	unsigned sum = 0;
	size_t k = 0;

	if (gdb.fd < 0)
		return;
	buf[k++] = '$';
	for (size_t i = 0; i < n && k < sizeof buf - 4; i++) {
		buf[k++] = data[i];
		sum += (unsigned char)data[i];
	}
	buf[k++] = '#';
	buf[k++] = hexd[(sum >> 4) & 15];
	buf[k++] = hexd[sum & 15];
	send_all(buf, k);
}

static void put_str(const char *s)
{
	put_packet(s, strlen(s));
}

/* One packet into buf (NUL-terminated), 0x03 as "\x03", or -1 when the client went away.
 * A packet with a bad checksum or an overlong one is refused with '-' and skipped. */
static int get_packet(char *buf, size_t size)
{
	for (;;) {
		unsigned char c;
		if (recv(gdb.fd, &c, 1, 0) != 1)
			return -1;
		if (c == 0x03) {
			buf[0] = 3;
			buf[1] = 0;
			return 1;
		}
		if (c != '$')
			continue; /* acks and noise */
		size_t n = 0;
		unsigned sum = 0;
		int overlong = 0;
		for (;;) {
			if (recv(gdb.fd, &c, 1, 0) != 1)
				return -1;
			if (c == '#')
				break;
			if (n < size - 1)
				buf[n++] = (char)c;
			else
				overlong = 1;
			sum += c;
		}
		unsigned char ck[2];
		if (recv(gdb.fd, ck, 1, 0) != 1 || recv(gdb.fd, ck + 1, 1, 0) != 1)
			return -1;
		buf[n] = 0;
		int want = hexval(ck[0]) << 4 | hexval(ck[1]);
		if (!gdb.noack && (overlong || hexval(ck[0]) < 0 || hexval(ck[1]) < 0 || want != (int)(sum & 0xff))) {
			send_all("-", 1);
			continue;
		}
		if (!gdb.noack)
			send_all("+", 1);
		return (int)n;
	}
}

static char *hex_of(char *out, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		*out++ = hexd[b[i] >> 4];
		*out++ = hexd[b[i] & 15];
	}
	*out = 0;
	return out;
}

static int bytes_of(uint8_t *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int a = hexval(hex[2 * i]), b = a < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (b < 0)
			return -1;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

/* --- memory and registers -------------------------------------------------- */

static long mem_read(uint64_t addr, void *buf, size_t n)
{
	return pread(gdb.memfd, buf, n, (off_t)addr);
}

static long mem_write(uint64_t addr, const void *buf, size_t n)
{
	return pwrite(gdb.memfd, buf, n, (off_t)addr);
}

static struct mv_vcpu *vcpu_by_id(int id)
{
	struct mv_vm *vm = gdb.vm;
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->id == id && __atomic_load_n(&vm->vcpus[i]->busy, __ATOMIC_ACQUIRE))
			return vm->vcpus[i];
	return NULL;
}

/* The program's registers of a stopped vCPU: KVM's when it was stopped in program code, the call
 * page's when it stopped in a trap or is inside a forwarded call (the context Nautilus saved when
 * it entered). *live: 1 = KVM's, 2 = the trap's (both writable), 0 = a call's (read only). */
static int regs_of(struct mv_vcpu *v, struct mv_regs *r, int *live)
{
	struct kvm_regs kr;
	struct kvm_sregs sr;
	if (v->gdb_parked == CTX_LIVE && ioctl(v->fd, KVM_GET_REGS, &kr) == 0 && kr.rip < MV_USER_TOP &&
	    ioctl(v->fd, KVM_GET_SREGS, &sr) == 0) {
		cpu__regs_from_kvm(r, &kr);
		r->cs = sr.cs.selector;
		r->ss = sr.ss.selector;
		r->fs_base = sr.fs.base;
		r->gs_base = sr.gs.base;
		*live = CTX_LIVE;
		return 0;
	}
	*r = v->cp->regs;
	*live = v->gdb_parked == CTX_TRAP ? CTX_TRAP : 0;
	return 0;
}

/* gdb's amd64 'g' layout: 16 GPRs, rip, then eflags, cs, ss, ds, es, fs, gs as 32-bit values;
 * the x87/SSE registers that follow are left out (gdb shows them as unavailable). */
static size_t g_reply(char *out, const struct mv_regs *r)
{
	const uint64_t q[17] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8,
				 r->r9,	 r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip };
	const uint32_t d[7] = { (uint32_t)r->rflags,
				(uint32_t)(r->cs ? r->cs : MV_SEL_KCODE),
				(uint32_t)(r->ss ? r->ss : MV_SEL_KDATA),
				MV_SEL_KDATA,
				MV_SEL_KDATA,
				0,
				0 };
	char *p = hex_of(out, q, sizeof q);
	p = hex_of(p, d, sizeof d);
	return (size_t)(p - out);
}

static uint64_t *reg_slot(struct mv_regs *r, int n)
{
	uint64_t *const q[17] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp, &r->r8,
				  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15, &r->rip };
	return n >= 0 && n < 17 ? q[n] : n == 17 ? &r->rflags : NULL;
}

static int set_regs(struct mv_vcpu *v, const struct mv_regs *r, int live)
{
	struct kvm_regs kr;
	if (live == CTX_TRAP) {
		v->cp->regs = *r; /* the program resumes from these (MV_CALL_RESUME) */
		return 0;
	}
	kr = (struct kvm_regs){ .rax = r->rax,
				.rbx = r->rbx,
				.rcx = r->rcx,
				.rdx = r->rdx,
				.rsi = r->rsi,
				.rdi = r->rdi,
				.rbp = r->rbp,
				.rsp = r->rsp,
				.r8 = r->r8,
				.r9 = r->r9,
				.r10 = r->r10,
				.r11 = r->r11,
				.r12 = r->r12,
				.r13 = r->r13,
				.r14 = r->r14,
				.r15 = r->r15,
				.rip = r->rip,
				.rflags = r->rflags | 2 };
	return ioctl(v->fd, KVM_SET_REGS, &kr);
}

/* --- stopping and resuming ----------------------------------------------------- */

static void wake_stub(void)
{
	char c = 1;
	if (write(gdb.wake[1], &c, 1) < 0) { /* the stub polls this pipe; a full pipe is awake enough */
	}
}

/* Caller holds the lock: interrupt every vCPU that is in KVM_RUN. */
static void kick_all(struct mv_vcpu *except)
{
	struct mv_vm *vm = gdb.vm;
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE);
	pid_t pid = getpid();
	for (int i = 0; i < n; i++) {
		struct mv_vcpu *v = vm->vcpus[i];
		/* Only vCPUs running program code: a partner in a forwarded call is not running it, and
		 * a signal could end its call with EINTR; it parks when the call returns. */
		if (v && v != except && __atomic_load_n(&v->busy, __ATOMIC_ACQUIRE) && !v->gdb_parked &&
		    __atomic_load_n(&v->tid, __ATOMIC_RELAXED) > 0 && v->state == MV_VCPU_RUNNING) {
			__atomic_store_n(&v->gdb_kick, 1, __ATOMIC_RELEASE);
			mv__raw_syscall(SYS_tgkill, pid, __atomic_load_n(&v->tid, __ATOMIC_RELAXED), GDB_SIG, 0, 0, 0);
		}
	}
}

/* gdb's hardware breakpoints and watchpoints into vCPU v's debug registers. */
static void apply_debug(struct mv_vcpu *v)
{
	struct kvm_debugregs d;
	memset(&d, 0, sizeof d);
	memcpy(d.db, gdb.dr, sizeof d.db);
	d.dr6 = 0xffff0ff0;
	d.dr7 = gdb.dr7 | 0x400;
	if (ioctl(v->fd, KVM_SET_DEBUGREGS, &d) < 0)
		mv__log("mv: gdb: KVM_SET_DEBUGREGS on vCPU %d failed: %s\n", v->id, strerror(errno));
	v->gdb_gen = gdb.gen;
}

/* Resuming vCPU v (the lock held): take the debug registers, and set the trap flag when gdb
 * steps it (the #DB after one instruction comes back through gdb__trap). */
static void resume_vcpu(struct mv_vcpu *v, int ctx)
{
	int step = gdb.step_vcpu == v->id;
	if (v->gdb_gen != gdb.gen)
		apply_debug(v);
	v->gdb_step = step;
	if (ctx == CTX_TRAP) {
		v->cp->regs.rflags = (v->cp->regs.rflags & ~TF) | (step ? TF : 0);
	} else if (step) {
		struct kvm_regs kr;
		if (ioctl(v->fd, KVM_GET_REGS, &kr) == 0 && kr.rip < MV_USER_TOP) {
			kr.rflags |= TF;
			ioctl(v->fd, KVM_SET_REGS, &kr);
		}
	}
}

/* Caller holds the lock. Park v until gdb resumes the program. */
static void park(struct mv_vcpu *v, int ctx)
{
	v->gdb_parked = ctx;
	pthread_cond_broadcast(&gdb.cond);
	while (gdb.stopped)
		pthread_cond_wait(&gdb.cond, &gdb.lock);
	v->gdb_parked = 0;
	__atomic_store_n(&v->gdb_kick, 0, __ATOMIC_RELEASE);
	resume_vcpu(v, ctx);
}

/* Caller holds the lock: the program stops because of v (kind, signal, address). */
static void stop_for(struct mv_vcpu *v, int kind, int sig, uint64_t addr)
{
	gdb.stopped = 1;
	gdb.ev_vcpu = v ? v->id : 0;
	gdb.ev_kind = kind;
	gdb.ev_sig = sig;
	gdb.ev_addr = addr;
	kick_all(v);
	wake_stub();
}

/* Partner, before each KVM_RUN: park while the program is held; take a changed configuration. */
void gdb__before_run(struct mv_vcpu *v)
{
	if (!gdb.on)
		return;
	pthread_mutex_lock(&gdb.lock);
	if (gdb.stopped)
		park(v, CTX_LIVE);
	else if (v->gdb_gen != gdb.gen)
		apply_debug(v);
	pthread_mutex_unlock(&gdb.lock);
}

/* Partner: a #BP or #DB in program code (a PANIC with the program's registers in the call page).
 * 1 = gdb's (a breakpoint, a step, a watchpoint): reported, and the program resumes from the call
 * page's registers; 0 = not gdb's (the program's own int3 or trap flag): the usual way. */
int gdb__trap(struct mv_vcpu *v)
{
	struct mv_regs *r = &v->cp->regs;
	int kind = 0;
	uint64_t addr = 0;

	if (!gdb.on || gdb.fd < 0 || (r->vector != 1 && r->vector != 3) || r->rip >= MV_USER_TOP)
		return 0;
	pthread_mutex_lock(&gdb.lock);
	if (r->vector == 3) { /* int3 traps past itself: ours if one of our breakpoints is there */
		uint64_t at = r->rip - 1;
		if (gdb.main_bp && at == gdb.main_bp) {
			mem_write(at, &gdb.main_byte, 1); /* main reached: the initial stop */
			gdb.main_bp = 0;
			kind = STOP_BREAK;
		}
		for (int i = 0; i < gdb.nswbp && !kind; i++)
			if (gdb.swbp[i] == at)
				kind = STOP_BREAK;
		if (kind)
			r->rip = at;
	} else { /* #DB: cr2 carries DR6 */
		for (int i = 0; i < 4; i++)
			if ((r->cr2 & (1u << i)) && (gdb.dr7 & (1u << (2 * i)))) {
				kind = (gdb.dr7 >> (16 + 4 * i)) & 3 ? STOP_WATCH : STOP_HWBREAK;
				addr = gdb.dr[i];
			}
		if (!kind && (r->cr2 & (1u << 14)) && v->gdb_step)
			kind = STOP_STEP;
		if (kind)
			r->rflags &= ~TF;
	}
	if (!kind) {
		pthread_mutex_unlock(&gdb.lock);
		return 0;
	}
	if (gdb.step_vcpu == v->id)
		gdb.step_vcpu = -1;
	v->gdb_step = 0;
	if (!gdb.stopped)
		stop_for(v, kind, SIGTRAP, addr);
	park(v, CTX_TRAP);
	v->cp->flags |= MV_CALL_RESUME;
	pthread_mutex_unlock(&gdb.lock);
	return 1;
}

/* Partner: a fault or signal in program code that gdb should see before it takes effect. */
void gdb__signal(struct mv_vcpu *v, int sig)
{
	if (!gdb.on || gdb.fd < 0)
		return;
	pthread_mutex_lock(&gdb.lock);
	if (!gdb.stopped)
		stop_for(v, STOP_SIGNAL, sig, 0);
	park(v, CTX_TRAP);
	pthread_mutex_unlock(&gdb.lock);
}

/* The program ends: W (exit status) or X (signal) for gdb, then the stub is done. */
void gdb__exit(int status, int sig)
{
	char msg[8];
	if (!gdb.on || gdb.fd < 0)
		return;
	pthread_mutex_lock(&gdb.lock);
	snprintf(msg, sizeof msg, sig ? "X%02x" : "W%02x", (sig ? sig : status) & 0xff);
	put_str(msg);
	shutdown(gdb.fd, SHUT_RDWR);
	gdb.on = 0;
	gdb.stopped = 0;
	pthread_cond_broadcast(&gdb.cond);
	pthread_mutex_unlock(&gdb.lock);
}

/* Caller holds the lock: let the program run (step_vcpu steps, the rest run). */
static void resume(int step_vcpu)
{
	gdb.step_vcpu = step_vcpu;
	gdb.gen++;
	gdb.want_reply = 1;
	gdb.stopped = 0;
	pthread_cond_broadcast(&gdb.cond);
}

/* --- breakpoints --------------------------------------------------------------- */

static int swbp_set(uint64_t addr)
{
	uint8_t old, cc = 0xcc;
	if (gdb.nswbp == MAX_SWBP || mem_read(addr, &old, 1) != 1 || mem_write(addr, &cc, 1) != 1)
		return -1;
	gdb.swbp[gdb.nswbp] = addr;
	gdb.swbp_byte[gdb.nswbp++] = old;
	return 0;
}

static int swbp_clear(uint64_t addr)
{
	for (int i = 0; i < gdb.nswbp; i++)
		if (gdb.swbp[i] == addr) {
			mem_write(addr, &gdb.swbp_byte[i], 1);
			gdb.swbp[i] = gdb.swbp[--gdb.nswbp];
			gdb.swbp_byte[i] = gdb.swbp_byte[gdb.nswbp];
			return 0;
		}
	return -1;
}

/* Z1-Z4 into the guest's debug registers 0-3 (KVM_SET_DEBUGREGS); their #DB comes back through
 * gdb__trap. */
static int hwbp_set(int type, uint64_t addr, int len)
{
	static const int rw_of[5] = { 0, 0, 1, 3, 3 }; /* exec, -, write, read (as read/write), access */
	int lenbits = len == 1 ? 0 : len == 2 ? 1 : len == 8 ? 2 : len == 4 ? 3 : -1;
	if (type == 1)
		lenbits = 0;
	if (lenbits < 0 || (addr & (uint64_t)(len - 1) && type != 1))
		return -1;
	for (int i = 0; i < 4; i++)
		if (!(gdb.dr7 & (1u << (2 * i)))) {
			gdb.dr[i] = addr;
			gdb.dr7 |= 1u << (2 * i);
			gdb.dr7 &= ~(0xfu << (16 + 4 * i));
			gdb.dr7 |= (uint32_t)(rw_of[type] | lenbits << 2) << (16 + 4 * i);
			gdb.gen++;
			return 0;
		}
	return -1;
}

static int hwbp_clear(uint64_t addr)
{
	for (int i = 0; i < 4; i++)
		if ((gdb.dr7 & (1u << (2 * i))) && gdb.dr[i] == addr) {
			gdb.dr7 &= ~(1u << (2 * i));
			gdb.gen++;
			return 0;
		}
	return -1;
}

/* --- packets ------------------------------------------------------------------- */

static void stop_reply(void)
{
	static const char *const what[] = {
		[STOP_BREAK] = "swbreak:;", [STOP_HWBREAK] = "hwbreak:;", [STOP_WATCH] = "watch:"
	};
	char msg[96];
	int n = snprintf(msg, sizeof msg, "T%02xthread:%x;", gdb.ev_sig & 0xff, gdb.ev_vcpu + 1);
	if (gdb.ev_kind == STOP_WATCH)
		n += snprintf(msg + n, sizeof msg - (size_t)n, "watch:%llx;", (unsigned long long)gdb.ev_addr);
	else if (gdb.ev_kind == STOP_BREAK || gdb.ev_kind == STOP_HWBREAK)
		n += snprintf(msg + n, sizeof msg - (size_t)n, "%s", what[gdb.ev_kind]);
	gdb.g_thread = gdb.ev_vcpu;
	put_str(msg);
}

static void thread_list(char *out, size_t size)
{
	struct mv_vm *vm = gdb.vm;
	int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE), k = snprintf(out, size, "m");
	for (int i = 0; i < n && k < (int)size - 16; i++)
		if (vm->vcpus[i] && __atomic_load_n(&vm->vcpus[i]->busy, __ATOMIC_ACQUIRE))
			k += snprintf(out + k, size - (size_t)k, "%s%x", k > 1 ? "," : "", vm->vcpus[i]->id + 1);
}

/* qXfer:auxv:read::OFF,LEN from /proc/self/auxv (gdb finds a PIE's load address from it). */
static void xfer_auxv(const char *args)
{
	static uint8_t auxv[4096];
	static char out[8192];
	unsigned long off, len;
	int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, auxv, sizeof auxv) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0 || sscanf(args, "%lx,%lx", &off, &len) != 2) {
		put_str("E01");
		return;
	}
	size_t k = 0;
	out[k++] = off + len >= (size_t)n ? 'l' : 'm';
	for (size_t i = off; i < (size_t)n && i < off + len && k < sizeof out - 2; i++) {
		uint8_t c = auxv[i];
		if (c == '#' || c == '$' || c == '}' || c == '*') {
			out[k++] = '}';
			c ^= 0x20;
		}
		out[k++] = (char)c;
	}
	put_packet(out, k);
}

/* One packet, with the lock held. Returns 1 when the program was resumed. */
static int handle(char *p)
{
	static char out[PKT_MAX * 2];
	struct mv_vcpu *v;
	struct mv_regs r;
	int live;
	unsigned long long a, l;

	switch (p[0]) {
	case '?':
		if (gdb.stopped)
			stop_reply();
		else
			gdb.want_reply = 1;
		return 0;
	case 'q':
		if (!strncmp(p, "qSupported", 10))
			put_str("PacketSize=4000;QStartNoAckMode+;qXfer:auxv:read+;swbreak+;hwbreak+;vContSupported+");
		else if (!strcmp(p, "qAttached"))
			put_str("1");
		else if (!strcmp(p, "qC"))
			snprintf(out, sizeof out, "QC%x", gdb.ev_vcpu + 1), put_str(out);
		else if (!strcmp(p, "qfThreadInfo"))
			thread_list(out, sizeof out), put_str(out);
		else if (!strcmp(p, "qsThreadInfo"))
			put_str("l");
		else if (!strncmp(p, "qXfer:auxv:read::", 17))
			xfer_auxv(p + 17);
		else
			put_str("");
		return 0;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode")) {
			put_str("OK");
			gdb.noack = 1;
		} else
			put_str("");
		return 0;
	case 'H': {
		long t = strtol(p + 2, NULL, 16);
		if (p[1] == 'g')
			gdb.g_thread = t > 0 ? (int)t - 1 : -1;
		put_str("OK");
		return 0;
	}
	case 'T': put_str(vcpu_by_id((int)strtol(p + 1, NULL, 16) - 1) ? "OK" : "E01"); return 0;
	case 'g':
	case 'p':
	case 'G':
	case 'P':
		v = vcpu_by_id(gdb.g_thread >= 0 ? gdb.g_thread : gdb.ev_vcpu);
		if (!v || regs_of(v, &r, &live) < 0) {
			put_str("E01");
			return 0;
		}
		if (p[0] == 'g') {
			put_packet(out, g_reply(out, &r));
		} else if (p[0] == 'p') {
			int n = (int)strtol(p + 1, NULL, 16);
			uint64_t *slot = reg_slot(&r, n);
			if (slot)
				hex_of(out, slot, n == 17 ? 4 : 8), put_str(out);
			else if (n >= 18 && n <= 23) {
				uint32_t s = n == 18   ? (uint32_t)(r.cs ? r.cs : MV_SEL_KCODE)
					     : n == 19 ? MV_SEL_KDATA
					     : n <= 21 ? MV_SEL_KDATA
						       : 0;
				hex_of(out, &s, 4), put_str(out);
			} else
				put_str("E01");
		} else if (!live) {
			put_str("E01"); /* the thread is inside a forwarded call: its registers are the kernel's to restore */
		} else if (p[0] == 'G') {
			uint64_t q[17];
			uint32_t fl;
			if (strlen(p + 1) < 2 * (sizeof q + 4) || bytes_of((uint8_t *)q, p + 1, sizeof q) ||
			    bytes_of((uint8_t *)&fl, p + 1 + 2 * sizeof q, 4)) {
				put_str("E01");
				return 0;
			}
			for (int i = 0; i < 17; i++)
				*reg_slot(&r, i) = q[i];
			r.rflags = fl;
			put_str(set_regs(v, &r, live) == 0 ? "OK" : "E01");
		} else {
			int n = (int)strtol(p + 1, NULL, 16);
			char *eq = strchr(p, '=');
			uint64_t val = 0;
			uint64_t *slot = reg_slot(&r, n);
			if (!eq || !slot || bytes_of((uint8_t *)&val, eq + 1, n == 17 ? 4 : 8)) {
				put_str("E01");
				return 0;
			}
			*slot = val;
			put_str(set_regs(v, &r, live) == 0 ? "OK" : "E01");
		}
		return 0;
	case 'm':
		if (sscanf(p + 1, "%llx,%llx", &a, &l) != 2 || l > PKT_MAX / 2) {
			put_str("E01");
			return 0;
		}
		{
			uint8_t buf[PKT_MAX / 2];
			long n = mem_read(a, buf, l);
			if (n <= 0)
				put_str("E14");
			else
				hex_of(out, buf, (size_t)n), put_str(out);
		}
		return 0;
	case 'M': {
		char *colon = strchr(p, ':');
		uint8_t buf[PKT_MAX / 2];
		if (!colon || sscanf(p + 1, "%llx,%llx", &a, &l) != 2 || l > sizeof buf ||
		    bytes_of(buf, colon + 1, l)) {
			put_str("E01");
			return 0;
		}
		put_str(mem_write(a, buf, l) == (long)l ? "OK" : "E14");
		return 0;
	}
	case 'Z':
	case 'z': {
		unsigned type;
		int len;
		if (sscanf(p + 1, "%u,%llx,%d", &type, &a, &len) != 3 || type > 4) {
			put_str("");
			return 0;
		}
		int rc = type == 0 ? (p[0] == 'Z' ? swbp_set(a) : swbp_clear(a))
				   : (p[0] == 'Z' ? hwbp_set((int)type, a, len) : hwbp_clear(a));
		put_str(rc == 0 ? "OK" : "E01");
		return 0;
	}
	case 'c':
	case 'C': resume(-1); return 1;
	case 's':
	case 'S': resume(gdb.g_thread >= 0 ? gdb.g_thread : gdb.ev_vcpu); return 1;
	case 'v':
		if (!strcmp(p, "vCont?")) {
			put_str("vCont;c;C;s;S");
		} else if (!strncmp(p, "vCont;", 6)) {
			/* The first step action names the vCPU that steps; every other thread continues. */
			int step = -1;
			for (char *s = p + 5; s && *s; s = strchr(s + 1, ';')) {
				if (s[1] == 's' || s[1] == 'S') {
					char *t = strchr(s, ':');
					step = t ? (int)strtol(t + 1, NULL, 16) - 1 : gdb.ev_vcpu;
					break;
				}
			}
			resume(step);
			return 1;
		} else if (!strncmp(p, "vKill", 5)) {
			put_str("OK");
			mv__raw_syscall(SYS_exit_group, 137, 0, 0, 0, 0, 0);
		} else
			put_str("");
		return 0;
	case 'k': mv__raw_syscall(SYS_exit_group, 137, 0, 0, 0, 0, 0); return 0;
	case 'D':
		put_str("OK");
		mv__log("mv: gdb: detached; the program runs on\n");
		return -1;
	default: put_str(""); return 0;
	}
}

/* Detach (D, or the client went away): breakpoints out, the program runs on without gdb. */
static void detach(void)
{
	while (gdb.nswbp)
		swbp_clear(gdb.swbp[0]);
	gdb.dr7 = 0;
	if (gdb.main_bp)
		mem_write(gdb.main_bp, &gdb.main_byte, 1);
	gdb.main_bp = 0;
	if (gdb.fd >= 0)
		close(gdb.fd);
	gdb.fd = -1;
	resume(-1);
	gdb.want_reply = 0;
	gdb.on = 0;
}

static void *stub_main(void *arg)
{
	static char pkt[PKT_MAX];
	(void)arg;
	for (;;) {
		struct pollfd fds[2] = { { gdb.fd, POLLIN, 0 }, { gdb.wake[0], POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN) {
			char drain[64];
			if (read(gdb.wake[0], drain, sizeof drain) < 0) { /* nothing to do: woken anyway */
			}
		}
		pthread_mutex_lock(&gdb.lock);
		if (!gdb.on) {
			pthread_mutex_unlock(&gdb.lock);
			break;
		}
		if (gdb.stopped && gdb.want_reply) {
			gdb.want_reply = 0;
			stop_reply();
		}
		pthread_mutex_unlock(&gdb.lock);
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		errno = 0;
		int n = get_packet(pkt, sizeof pkt);
		pthread_mutex_lock(&gdb.lock);
		if (n < 0) {
			mv__log("mv: gdb: the debugger went away (%s); the program runs on\n",
				errno ? strerror(errno) : "end of stream");
			detach();
			pthread_mutex_unlock(&gdb.lock);
			break;
		}
		if (pkt[0] == 3) { /* Ctrl-C in gdb */
			if (!gdb.stopped) {
				stop_for(vcpu_by_id(0), STOP_INTERRUPT, SIGINT, 0);
				gdb.want_reply = 1;
			}
		} else if (handle(pkt) < 0) {
			detach();
			pthread_mutex_unlock(&gdb.lock);
			break;
		}
		if (gdb.stopped && gdb.want_reply) { /* a stop that came while we answered */
			gdb.want_reply = 0;
			stop_reply();
		}
		pthread_mutex_unlock(&gdb.lock);
	}
	return NULL;
}

static void gdb_kick_handler(int sig)
{
	(void)sig; /* only KVM_RUN's interruption matters */
}

/* MV_GDB=[HOST:]PORT: listen, wait for gdb, and arrange the first stop at main. 0 = no stub. */
int gdb__start(struct mv_vm *vm, uint64_t main_addr)
{
	const char *spec = getenv("MV_GDB");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char host[64] = "127.0.0.1";
	int one = 1, port;
	const char *colon;
	pthread_t t;

	if (!spec || !*spec)
		return 0;
	colon = strrchr(spec, ':');
	port = (int)env__uint(colon ? colon + 1 : spec, -1, 65535);
	if (colon && (size_t)(colon - spec) < sizeof host) {
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
	}
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		mv__log("mv: MV_GDB=%s: not [IPv4-ADDRESS:]PORT; running without the debugger\n", spec);
		return 0;
	}
	sa.sin_port = htons((uint16_t)port);
	gdb.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(gdb.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (gdb.lfd < 0 || bind(gdb.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(gdb.lfd, 1) < 0) {
		mv__log("mv: MV_GDB=%s: cannot listen (%s); running without the debugger\n", spec, strerror(errno));
		if (gdb.lfd >= 0)
			close(gdb.lfd);
		return 0;
	}
	gdb.memfd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (gdb.memfd < 0 || pipe2(gdb.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		mv__log("mv: MV_GDB: cannot open /proc/self/mem (%s); running without the debugger\n", strerror(errno));
		close(gdb.lfd);
		return 0;
	}
	/* SA_RESTART: should the kick still reach a partner that just entered a forwarded call,
	 * the call is restarted rather than failed with EINTR. */
	struct sigaction act = { .sa_handler = gdb_kick_handler, .sa_flags = SA_RESTART };
	sigaction(GDB_SIG, &act, NULL);
	mv__log("mv: waiting for gdb on %s:%d (target remote %s:%d)\n", host, port, host, port);
	gdb.fd = accept4(gdb.lfd, NULL, NULL, SOCK_CLOEXEC);
	close(gdb.lfd);
	if (gdb.fd < 0) {
		mv__log("mv: MV_GDB: accept failed (%s); running without the debugger\n", strerror(errno));
		return 0;
	}
	setsockopt(gdb.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	gdb.vm = vm;
	uint8_t cc = 0xcc;
	if (mem_read(main_addr, &gdb.main_byte, 1) == 1 && mem_write(main_addr, &cc, 1) == 1)
		gdb.main_bp = main_addr;
	gdb.want_reply = 0; /* until gdb asks ('?'): a stop reply it did not ask for would answer another packet */
	gdb.on = 1;
	gdb.gen = 1;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, stub_main, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 1;
}

/* The kick's signal on a partner: nothing to do (its handler may be libmv's recorder). */
int gdb__is_kick(struct mv_vcpu *v, int sig)
{
	return gdb.on && sig == GDB_SIG && __atomic_exchange_n(&v->gdb_kick, 0, __ATOMIC_ACQ_REL);
}
