/* t_sigact.c - the program's signal actions as the async handler reads them
 * (src/sigact.c), under ThreadSanitizer: a writer changes entries while other
 * threads, and a signal handler on the writer's own thread, read them. Every
 * copy read must be whole (all four fields from one write), TSan must see no
 * data race, and a handler that lands on the writer must not wait forever.
 * Built with -fsanitize=thread instead of ASan (they do not mix). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include "mv.h"
#include "unit.h"

#define WRITES 200000
#define SIG    7 /* the entry under test (any number from 1 to MV_NSIG) */

long mv__raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	return syscall(nr, a1, a2, a3, a4, a5, a6);
}

static struct mv_vm *vm;
static int done, torn, reads;

static struct mv_sigaction entry(uint64_t k)
{
	return (struct mv_sigaction){ k, k, k, k };
}

static void check(void)
{
	struct mv_sigaction a = sigact__read(vm, SIG);
	if (a.handler != a.flags || a.flags != a.restorer || a.restorer != a.mask)
		__atomic_add_fetch(&torn, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
}

static void *reader(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		check();
	return NULL;
}

static void writes(void)
{
	for (uint64_t k = 1; k <= WRITES; k++) {
		struct mv_sigaction a = entry(k);
		sigact__set(vm, SIG, &a);
	}
}

static void setup(void)
{
	vm = calloc(1, sizeof *vm);
	CHECK(vm);
	struct mv_sigaction a = entry(0);
	sigact__set(vm, SIG, &a);
}

/* Two readers on other threads while one thread writes. */
static void readers_see_whole_entries(void)
{
	pthread_t r[2];

	setup();
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&r[i], NULL, reader, NULL) == 0);
	writes();
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	CHECK_EQ(torn, 0);
	CHECK(reads > 0);
	struct mv_sigaction last = sigact__read(vm, SIG);
	CHECK_EQ(last.mask, WRITES);
}

static void on_sig(int sig)
{
	(void)sig;
	check();
}

static pthread_t writer;

static void *kicker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		pthread_kill(writer, SIGUSR1);
	return NULL;
}

/* The handler lands on the writer's own thread, between and during its writes: had a write
 * let it in with the sequence odd, it would spin forever (the case's timeout). */
static void handler_on_the_writer(void)
{
	struct sigaction act = { .sa_handler = on_sig };
	pthread_t k;

	setup();
	sigemptyset(&act.sa_mask);
	CHECK(sigaction(SIGUSR1, &act, NULL) == 0);
	writer = pthread_self();
	CHECK(pthread_create(&k, NULL, kicker, NULL) == 0);
	writes();
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	pthread_join(k, NULL);
	CHECK_EQ(torn, 0);
	CHECK(reads > 0);
}

UNIT_MAIN("sigact", CASE(readers_see_whole_entries), CASE(handler_on_the_writer))
