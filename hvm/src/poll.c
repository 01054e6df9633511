/* poll.c - exitless system calls: the VMM side (mv/abi.h "Exitless calls";
 * Nautilus's side is nautilus/src/poll.c).
 *
 * The machine is partitioned: the HRT's CPUs compute, the ROS's CPUs serve.
 * One server thread per process, on a ROS CPU, polls the poll slots of the
 * running vCPUs. A vCPU posts a call there and spins instead of exiting; the
 * server claims it, performs it in the process (it is one of the process's
 * threads: same fd table, cwd, credentials, limits) and publishes the result.
 *
 * Which calls: only those whose result does not depend on which thread makes
 * them, that never block (a blocked server would hold every vCPU, and a signal
 * for the caller could not interrupt it), and that do not change the address
 * space (mmap & co. update the guest page tables on the exit path). The
 * table below says, per call, what the server checks; a call that fails its
 * check is handed back (DECLINED) and takes the exit path. Reads and writes
 * qualify when their fd cannot block: a regular file, a block device or a
 * directory, or an fd with O_NONBLOCK (cached per fd; every call that can
 * change what an fd number is, or its O_NONBLOCK, bumps a generation that
 * invalidates the cache, on either path).
 *
 * Threading: the slots are handed over by their state word (abi.h); the
 * server is the only thread that reads or writes its own state below (fd
 * cache, counters, idle clock); fd_gen and the sleep word are atomics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <mv/hrt.h>
#include "mv.h"

/* What the server checks before it performs a posted call. */
enum poll_rule {
	R_NO,	  /* never exitless: the exit path */
	R_YES,	  /* always: cannot block, same result from any thread */
	R_FD,	  /* arg0 is an fd that must not block (regular, block device, dir, or O_NONBLOCK) */
	R_SOCK,	  /* socket I/O: the fd is O_NONBLOCK, or MSG_DONTWAIT is in the flags (arg 3) */
	R_FDTAB,  /* changes what an fd number refers to: performed, then the fd cache is dropped */
	R_OPEN,	  /* opens a path: not a FIFO or a device (their open may block) */
	R_FCNTL,  /* fcntl: the commands that never block */
	R_IOCTL,  /* ioctl: a few queries (and FIONBIO, which drops the fd cache) */
	R_POLL0,  /* poll/epoll_wait with a zero timeout */
	R_CLOCK,  /* clock_gettime/getres: not a per-thread CPU clock */
	R_RUSAGE, /* getrusage: not RUSAGE_THREAD */
};

/* The table: [nr] = rule. Everything else is R_NO (threads, signals, memory, waits, exec). */
static const uint8_t rules[512] = {
	[SYS_getpid] = R_YES,
	[SYS_getppid] = R_YES,
	[SYS_getuid] = R_YES,
	[SYS_geteuid] = R_YES,
	[SYS_getgid] = R_YES,
	[SYS_getegid] = R_YES,
	[SYS_getpgrp] = R_YES,
	[SYS_getsid] = R_YES,
	[SYS_uname] = R_YES,
	[SYS_sysinfo] = R_YES,
	[SYS_umask] = R_YES,
	[SYS_times] = R_YES,
	[SYS_getrlimit] = R_YES,
	[SYS_prlimit64] = R_YES,
	[SYS_getrandom] = R_YES,
	[SYS_lseek] = R_YES,
	[SYS_fstat] = R_YES,
	[SYS_newfstatat] = R_YES,
	[SYS_statx] = R_YES,
	[SYS_stat] = R_YES,
	[SYS_lstat] = R_YES,
	[SYS_fstatfs] = R_YES,
	[SYS_statfs] = R_YES,
	[SYS_access] = R_YES,
	[SYS_faccessat] = R_YES,
	[SYS_faccessat2] = R_YES,
	[SYS_readlink] = R_YES,
	[SYS_readlinkat] = R_YES,
	[SYS_getcwd] = R_YES,
	[SYS_getdents64] = R_YES,
	[SYS_mkdir] = R_YES,
	[SYS_mkdirat] = R_YES,
	[SYS_rmdir] = R_YES,
	[SYS_unlink] = R_YES,
	[SYS_unlinkat] = R_YES,
	[SYS_rename] = R_YES,
	[SYS_renameat] = R_YES,
	[SYS_renameat2] = R_YES,
	[SYS_symlink] = R_YES,
	[SYS_symlinkat] = R_YES,
	[SYS_link] = R_YES,
	[SYS_linkat] = R_YES,
	[SYS_chmod] = R_YES,
	[SYS_fchmod] = R_YES,
	[SYS_fchmodat] = R_YES,
	[SYS_chown] = R_YES,
	[SYS_fchown] = R_YES,
	[SYS_fchownat] = R_YES,
	[SYS_lchown] = R_YES,
	[SYS_utimensat] = R_YES,
	[SYS_truncate] = R_YES,
	[SYS_ftruncate] = R_YES,
	[SYS_fgetxattr] = R_YES,
	[SYS_getxattr] = R_YES,
	[SYS_lgetxattr] = R_YES,
	[SYS_pipe2] = R_YES,
	[SYS_pipe] = R_YES,
	[SYS_socketpair] = R_YES,
	[SYS_socket] = R_YES,
	[SYS_bind] = R_YES,
	[SYS_listen] = R_YES,
	[SYS_getsockname] = R_YES,
	[SYS_getpeername] = R_YES,
	[SYS_setsockopt] = R_YES,
	[SYS_getsockopt] = R_YES,
	[SYS_shutdown] = R_YES,
	[SYS_epoll_create1] = R_YES,
	[SYS_epoll_ctl] = R_YES,
	[SYS_eventfd2] = R_YES,
	[SYS_read] = R_FD,
	[SYS_write] = R_FD,
	[SYS_pread64] = R_FD,
	[SYS_pwrite64] = R_FD,
	[SYS_readv] = R_FD,
	[SYS_writev] = R_FD,
	[SYS_preadv] = R_FD,
	[SYS_pwritev] = R_FD,
	[SYS_accept] = R_FD,
	[SYS_accept4] = R_FD,
	[SYS_connect] = R_FD,
	[SYS_sendto] = R_SOCK,
	[SYS_recvfrom] = R_SOCK,
	[SYS_sendmsg] = R_SOCK,
	[SYS_recvmsg] = R_SOCK,
	[SYS_close] = R_FDTAB,
	[SYS_dup] = R_FDTAB,
	[SYS_dup2] = R_FDTAB,
	[SYS_dup3] = R_FDTAB,
	[SYS_close_range] = R_FDTAB,
	[SYS_open] = R_OPEN,
	[SYS_openat] = R_OPEN,
	[SYS_creat] = R_OPEN,
	[SYS_fcntl] = R_FCNTL,
	[SYS_ioctl] = R_IOCTL,
	[SYS_poll] = R_POLL0,
	[SYS_epoll_wait] = R_POLL0,
	[SYS_clock_gettime] = R_CLOCK,
	[SYS_clock_getres] = R_CLOCK,
	[SYS_getrusage] = R_RUSAGE,
};

/* Calls that change what an fd number refers to, or its O_NONBLOCK, on the exit path too. */
int poll__changes_fds(uint64_t nr, const uint64_t *a)
{
	switch (nr) {
	case SYS_close:
	case SYS_close_range:
	case SYS_dup2:
	case SYS_dup3:
	case SYS_execve:
	case SYS_execveat: return 1;
	case SYS_fcntl: return a[1] == F_SETFL;
	case SYS_ioctl: return a[1] == FIONBIO;
	default: return 0;
	}
}

#define POLL_FDS 1024

static struct poll_server {
	struct mv_vm *vm;
	uint32_t fd_gen; /* bumped (atomically) whenever an fd may have changed */
	uint32_t wake;	 /* futex: the server sleeps on it when idle */
	uint32_t stop;
	uint64_t idle_ns;
	struct {
		uint32_t gen;
		uint8_t ok;
	} fdc[POLL_FDS];	  /* server only */
	uint64_t n[512], ns[512]; /* exitless calls served, by number (server only; read at exit) */
	uint64_t declined, sleeps;
	uint64_t missed; /* calls that could have been exitless but came by exit (partners add) */
	uint64_t backoffs;
} srv;

void poll__fds_changed(void)
{
	__atomic_add_fetch(&srv.fd_gen, 1, __ATOMIC_ACQ_REL);
}

/* An fd the server may read or write without blocking. A bad fd qualifies: the call fails
 * with EBADF on either path. */
static int fd_ok(long fd)
{
	struct stat st;
	uint32_t g = __atomic_load_n(&srv.fd_gen, __ATOMIC_ACQUIRE);
	int ok;

	if (fd < 0 || fd >= POLL_FDS)
		return 0;
	if (srv.fdc[fd].gen == g && g)
		return srv.fdc[fd].ok;
	if (mv__raw_syscall(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) < 0)
		ok = 1;
	else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode))
		ok = 1;
	else {
		long fl = mv__raw_syscall(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
		ok = fl >= 0 && (fl & O_NONBLOCK);
	}
	srv.fdc[fd].gen = g;
	srv.fdc[fd].ok = (uint8_t)ok;
	return ok;
}

/* openat(dirfd, path, flags): not a FIFO or a device, whose open may wait. A path that does not
 * exist yet (O_CREAT) makes a regular file. */
static int open_ok(long dirfd, uint64_t path, long flags)
{
	struct stat st;
	if (mv__raw_syscall(SYS_newfstatat, dirfd, (long)path, (long)&st, 0, 0, 0) < 0)
		return 1; /* it fails the same way, or O_CREAT makes a file */
	return (flags & O_NONBLOCK) || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

/* May the server perform this call? (It never touches program memory to decide.) */
static int allowed(uint64_t nr, const uint64_t *a)
{
	switch (rules[nr]) {
	case R_YES:
	case R_FDTAB: return 1;
	case R_FD: return fd_ok((long)a[0]);
	case R_SOCK: return (a[3] & MSG_DONTWAIT) || fd_ok((long)a[0]);
	case R_OPEN:
		if (nr == SYS_openat)
			return open_ok((long)a[0], a[1], (long)a[2]);
		return open_ok(AT_FDCWD, a[0], nr == SYS_creat ? O_CREAT : (long)a[1]);
	case R_FCNTL:
		switch (a[1]) {
		case F_GETFD:
		case F_SETFD:
		case F_GETFL:
		case F_SETFL:
		case F_DUPFD:
		case F_DUPFD_CLOEXEC:
		case F_GETLK:
		case F_SETLK:
		case F_OFD_GETLK:
		case F_OFD_SETLK:
		case F_GETPIPE_SZ: return 1;
		}
		return 0;
	case R_IOCTL:
		return a[1] == TCGETS || a[1] == TIOCGWINSZ || a[1] == FIONREAD || a[1] == TIOCGPGRP || a[1] == FIONBIO;
	case R_POLL0: return (long)a[nr == SYS_poll ? 2 : 3] == 0;
	case R_CLOCK:
		/* CLOCK_THREAD_CPUTIME_ID, and CPU clocks of a thread (negative ids, bit 2 set) */
		return (long)a[0] != CLOCK_THREAD_CPUTIME_ID && !((long)a[0] < 0 && (a[0] & 4));
	case R_RUSAGE: return (long)a[0] != 1; /* RUSAGE_THREAD */
	default: return 0;
	}
}

static void serve(struct mv_vcpu *v, volatile struct mv_poll *p)
{
	uint64_t nr = p->nr, a[6], t0 = v->vm->opt.stats ? stats__now() : 0;
	int64_t ret;

	for (int i = 0; i < 6; i++)
		a[i] = p->arg[i];
	if (nr >= 512 || !allowed(nr, a)) {
		__atomic_store_n(&srv.declined, srv.declined + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&p->state, MV_POLL_DECLINED, __ATOMIC_RELEASE);
		return;
	}
	ret = mv__raw_syscall((long)nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
	if (poll__changes_fds(nr, a) || rules[nr] == R_FDTAB)
		poll__fds_changed();
	p->ret = ret;
	__atomic_store_n(&p->state, MV_POLL_DONE, __ATOMIC_RELEASE);
	/* Single writer (this thread); the summary reads them from another. */
	__atomic_store_n(&srv.n[nr], srv.n[nr] + 1, __ATOMIC_RELAXED);
	if (t0)
		__atomic_store_n(&srv.ns[nr], srv.ns[nr] + stats__now() - t0, __ATOMIC_RELAXED);
	if (v->vm->opt.trace)
		mv__log("mv: [vcpu %d] %s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx) = %ld (exitless)\n", v->id,
			syscall__name(nr), (unsigned long)a[0], (unsigned long)a[1], (unsigned long)a[2],
			(unsigned long)a[3], (unsigned long)a[4], (unsigned long)a[5], (long)ret);
}

/* The window after which the server judges whether posting pays (see server_main). */
#define POLL_WINDOW_NS	    (10 * 1000 * 1000ULL)
#define POLL_BACKOFF_MAX_NS (1000 * 1000 * 1000ULL)

static void server_sleep(uint64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ULL), (long)(timeout_ns % 1000000000ULL) };
	while (!__atomic_load_n(&srv.wake, __ATOMIC_ACQUIRE) && !__atomic_load_n(&srv.stop, __ATOMIC_ACQUIRE))
		if (mv__raw_syscall(SYS_futex, (long)&srv.wake, FUTEX_WAIT_PRIVATE, 0, timeout_ns ? (long)&ts : 0, 0,
				    0) == -ETIMEDOUT)
			break;
}

/*
 * Poll; sleep when idle; back off when posting does not pay. A vCPU that posts and is not
 * answered within its budget has spun for nothing: on a machine where this thread does not get
 * a CPU of its own in time (oversubscribed, or an emulator running all CPUs on one thread),
 * every call would pay the spin and then the exit. So every window the server compares the
 * calls it served with those the partners saw come by exit although they could have been
 * posted; when misses win, posting stops for a while (doubling, up to 1 s), then it tries again.
 */
static void *server_main(void *arg)
{
	struct mv_vm *vm = arg;
	volatile struct mv_svc_page *svc = vm__svc(vm);
	uint64_t last = stats__now(), window = last, served_at = 0, missed_at = 0, served = 0, backoff = 0;

	for (unsigned spins = 0; !__atomic_load_n(&srv.stop, __ATOMIC_ACQUIRE); spins++) {
		int n = __atomic_load_n(&vm->nvcpus, __ATOMIC_ACQUIRE), found = 0;
		for (int i = 0; i < n; i++) {
			struct mv_vcpu *v = vm->vcpus[i];
			volatile struct mv_poll *p = (volatile struct mv_poll *)((char *)v->cp + MV_CP_POLL_OFF);
			uint32_t want = MV_POLL_POSTED;
			if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == MV_POLL_POSTED &&
			    __atomic_compare_exchange_n(&p->state, &want, MV_POLL_TAKEN, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				serve(v, p);
				served++;
				found = 1;
			}
		}
		if (found)
			last = stats__now();
		else
			__asm__ volatile("pause" ::: "memory");
		if (spins & 1023)
			continue;
		uint64_t now = stats__now();
		if (now - window >= POLL_WINDOW_NS) {
			uint64_t missed = __atomic_load_n(&srv.missed, __ATOMIC_RELAXED);
			uint64_t s = served - served_at, m = missed - missed_at;
			window = now;
			served_at = served;
			missed_at = missed;
			if (m > 8 && m > s) {
				backoff = backoff ? (backoff * 2 > POLL_BACKOFF_MAX_NS ? POLL_BACKOFF_MAX_NS
										       : backoff * 2)
						  : POLL_WINDOW_NS;
				__atomic_store_n(&srv.backoffs, srv.backoffs + 1, __ATOMIC_RELAXED);
				__atomic_store_n(&svc->poll_on, 0, __ATOMIC_RELEASE);
				server_sleep(backoff); /* the wake word stays set: nobody wakes a back-off */
				__atomic_store_n(&svc->poll_on, 1, __ATOMIC_RELEASE);
				window = last = stats__now();
				served_at = served;
				missed_at = __atomic_load_n(&srv.missed, __ATOMIC_RELAXED);
				continue;
			}
			if (s > m)
				backoff = 0;
		}
		if (now - last < srv.idle_ns)
			continue;
		/* Idle: posting stops, so a vCPU takes the exit path, whose partner wakes us. A call
		 * posted just before poll_on dropped is not lost: its vCPU's spin budget ends and
		 * it takes the call back. */
		__atomic_store_n(&srv.sleeps, srv.sleeps + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&srv.wake, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&svc->poll_on, 0, __ATOMIC_RELEASE);
		server_sleep(0);
		__atomic_store_n(&svc->poll_on, 1, __ATOMIC_RELEASE);
		window = last = stats__now();
	}
	__atomic_store_n(&svc->poll_on, 0, __ATOMIC_RELEASE);
	return NULL;
}

/* The exit path met a call that could have been exitless: count the miss, and wake the server
 * if it sleeps. */
void poll__wake(struct mv_vm *vm, uint64_t nr)
{
	if (!vm->poll || nr >= 512 || !rules[nr])
		return;
	if (__atomic_load_n(&vm__svc(vm)->poll_on, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&srv.missed, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&srv.wake, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&srv.wake, 1, __ATOMIC_RELEASE);
	mv__raw_syscall(SYS_futex, (long)&srv.wake, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* Where the server runs: MV_ROS_CPUS, else the CPUs this process may use minus the vCPUs'
 * (MV_HRT_CPUS). None left: no server (a poll on the vCPU's own CPU only steals its time). */
static int ros_cpus(cpu_set_t *ros)
{
	const char *s = getenv("MV_ROS_CPUS");
	cpu_set_t hrt;
	int n = env__cpu_set(s, ros);
	if (n > 0)
		return n;
	if (n < 0)
		mv__log("mv: MV_ROS_CPUS=%s: not a CPU list like 0-2,5; ignored\n", s);
	if (sched_getaffinity(0, sizeof *ros, ros) < 0)
		return 0;
	env__cpu_set(getenv("MV_HRT_CPUS"), &hrt);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &hrt))
			CPU_CLR(c, ros);
	return CPU_COUNT(ros);
}

/* After vCPU 0 reported READY (the HRT runs): decide, fill the service page, start the server.
 * MV_POLL=0: off; MV_POLL=1: every eligible call posted, even without a ROS CPU of its own
 * (tests, and the bench's exitless rows); unset: on when there is one, and each vCPU posts only
 * while posting is the cheaper way (nautilus/src/poll.c, "Does posting pay?"). MV_POLL_NS: how long a vCPU spins for the server (default 50 us); MV_POLL_IDLE_MS:
 * how long the server polls with nothing to do before it sleeps (default 20 ms). */
void poll__start(struct mv_vm *vm)
{
	struct mv_svc_page *svc = vm__svc(vm);
	const char *on = getenv("MV_POLL"), *ns = getenv("MV_POLL_NS"), *idle = getenv("MV_POLL_IDLE_MS");
	cpu_set_t ros;
	int nros = ros_cpus(&ros);
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;

	int forced = on && strcmp(on, "1") == 0;

	if ((on && strcmp(on, "0") == 0) || (!forced && nros == 0))
		return;
	if (svc->magic != MV_SVC_MAGIC || !svc->tsc_khz)
		return; /* the spin budget is counted in TSC cycles */
	int64_t budget_ns = env__uint(ns, 50000, 1000000000), idle_ms = env__uint(idle, 20, 3600000);
	if (budget_ns < 0)
		mv__log("mv: MV_POLL_NS=%s: not a number of nanoseconds from 0 to 1e9; using 50000\n", ns);
	if (idle_ms < 0)
		mv__log("mv: MV_POLL_IDLE_MS=%s: not a number of milliseconds from 0 to 3600000; using 20\n", idle);
	budget_ns = budget_ns < 0 ? 50000 : budget_ns;
	idle_ms = idle_ms < 0 ? 20 : idle_ms;
	svc->poll_cycles = (uint64_t)budget_ns * svc->tsc_khz / 1000000;
	svc->poll_adapt = !forced;
	for (int nr = 0; nr < 512; nr++)
		if (rules[nr])
			svc->poll_nr[nr >> 6] |= 1ULL << (nr & 63);
	srv.vm = vm;
	srv.fd_gen = 1;
	srv.wake = 1; /* awake: the exit path has nobody to wake */
	srv.idle_ns = (uint64_t)idle_ms * 1000000ULL;
	/* The server gets no signals (they are the partners'), and runs on the ROS CPUs. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (nros)
		pthread_attr_setaffinity_np(&attr, sizeof ros, &ros);
	if (pthread_create(&t, &attr, server_main, vm) == 0) {
		pthread_detach(t);
		vm->poll = 1;
		svc->poll_on = 1;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

__attribute__((visibility("default"))) int mv_exitless(void)
{
	return srv.vm && srv.vm->poll && !__atomic_load_n(&srv.stop, __ATOMIC_ACQUIRE);
}

/* main returned: the HRT is done; the server stops polling. */
void poll__stop(struct mv_vm *vm)
{
	if (!vm->poll)
		return;
	vm__svc(vm)->poll_on = 0;
	__atomic_store_n(&srv.stop, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&srv.wake, 1, __ATOMIC_RELEASE);
	mv__raw_syscall(SYS_futex, (long)&srv.wake, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* For the MV_STATS summary: exitless calls by number; the ones handed back; the server's sleeps;
 * the calls that came by exit while posting was on; the back-offs. */
uint64_t poll__served(uint64_t nr, uint64_t *ns)
{
	if (nr >= 512)
		return 0;
	*ns = __atomic_load_n(&srv.ns[nr], __ATOMIC_RELAXED);
	return __atomic_load_n(&srv.n[nr], __ATOMIC_RELAXED);
}

uint64_t poll__declined(uint64_t *sleeps, uint64_t *missed, uint64_t *backoffs)
{
	*sleeps = __atomic_load_n(&srv.sleeps, __ATOMIC_RELAXED);
	*missed = __atomic_load_n(&srv.missed, __ATOMIC_RELAXED);
	*backoffs = __atomic_load_n(&srv.backoffs, __ATOMIC_RELAXED);
	return __atomic_load_n(&srv.declined, __ATOMIC_RELAXED);
}
