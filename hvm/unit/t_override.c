/* t_override.c - the override list (src/override/overrides.list), as its
 * users see it: mv-cc's families, the Makefile's OVERRIDES, override.h's
 * counters (generated from the list) and the wrappers in ov.c must agree. Each name mv-cc
 * knows resolves (it and each symbol it wraps select its family, the
 * family's wrapper object defines every __wrap_ symbol, its counter is found
 * by mv_override_count), and unknown names are refused. mv-cc runs from a
 * copy in a temporary folder with MV_CC=echo, so it prints the link line
 * instead of linking and needs no built libmv. */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <mv/hrt.h>
#include "mv.h"
#include "override/override.h"
#include "unit.h"

/* override.c's only call into the rest of libmv (at setup, not reached here). */
long mv__raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6;
	unit_fail(__FILE__, __LINE__, "unexpected system call %ld", nr);
}

static const char *const counters[] = { MV_OV_NAMES };
#define NCOUNTERS ((int)(sizeof counters / sizeof *counters))

/* --- running mv-cc ------------------------------------------------------- */

static char out[16384];

/* sh -c cmd (stdout and stderr into out); the exit status. */
static int run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	size_t n;
	int st;

	CHECK(f);
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = 0;
	st = pclose(f);
	CHECK(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* A copy of mv-cc beside an empty build/libmv.a: the driver's own logic, no libmv needed. */
static const char *mvcc(void)
{
	static char dir[64], cmd[512];
	char tmpl[] = "/tmp/mv-unit-XXXXXX";

	if (dir[0])
		return dir;
	CHECK(mkdtemp(tmpl));
	snprintf(dir, sizeof dir, "%s", tmpl);
	snprintf(cmd, sizeof cmd,
		 "cd %s && mkdir toolchain build include && cp '%s/toolchain/mv-cc' toolchain/ && : > build/libmv.a && "
		 "cp '%s/build/overrides.list' build/ && : > a.c",
		 dir, MV_UNIT_HVM, MV_UNIT_HVM);
	CHECK_EQ(run(cmd), 0);
	return dir;
}

static void mvcc_cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", mvcc());
	CHECK_EQ(run(cmd), 0);
}

/* MV_CC=echo mv-cc ARGS -o a a.c, in the copy's folder: the status; the link line in out. */
static int link_with(const char *env, const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cd %s && %s MV_CC=echo sh toolchain/mv-cc %s -o a a.c 2>&1", mvcc(), env, args);
	return run(cmd);
}

/* The families mv-cc knows, from --mv-list-overrides: name and symbols. */
struct family {
	char name[32];
	char syms[8][32];
	int nsyms;
};
static struct family fams[32];
static int nfams;

static void families(void)
{
	char cmd[256], *line, *save;

	snprintf(cmd, sizeof cmd, "cd %s && sh toolchain/mv-cc --mv-list-overrides", mvcc());
	CHECK_EQ(run(cmd), 0);
	nfams = 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct family *f = &fams[nfams++];
		char *w = strstr(line, " (wraps ");
		CHECK(nfams < 32);
		CHECK(sscanf(line, "%31s", f->name) == 1);
		f->nsyms = 0;
		if (!w) { /* it wraps its own name only */
			memcpy(f->syms[f->nsyms++], f->name, sizeof f->name);
			continue;
		}
		for (char *s = strtok(w + 8, " )"); s; s = strtok(NULL, " )")) {
			CHECK(f->nsyms < 8);
			snprintf(f->syms[f->nsyms++], sizeof f->syms[0], "%s", s);
		}
	}
	CHECK(nfams > 0);
}

/* " WORD " in s, words being separated by blanks. */
static int has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(s, word); p; p = strstr(p + 1, word))
		if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

/* --- the lists agree ------------------------------------------------------- */

static void counter_names(void)
{
	CHECK_EQ(NCOUNTERS, MV_OV_N); /* override.c's ov_names[MV_OV_N] would hold NULLs otherwise */
	for (int i = 0; i < NCOUNTERS; i++) {
		CHECK(counters[i][0]);
		for (int j = 0; j < i; j++)
			if (!strcmp(counters[i], counters[j]))
				unit_fail(__FILE__, __LINE__, "counter name \"%s\" twice", counters[i]);
	}
}

static void count_by_name(void)
{
	mv_override_reset();
	for (int i = 0; i < MV_OV_N; i++) {
		mv__ov_counts[i % MV_MAX_VCPUS][i] = (uint64_t)i + 1;
		mv__ov_counts[MV_MAX_VCPUS - 1][i] += 1; /* summed over every vCPU */
	}
	for (int i = 0; i < MV_OV_N; i++)
		CHECK_EQ(mv_override_count(counters[i]), i + 2);
	mv_override_reset();
	CHECK_EQ(mv_override_count("malloc"), 0);
}

static void count_unknown_name(void)
{
	static const char *const bad[] = { "", "bogus", "MALLOC", "malloc ", "mallo", "all", "clock_gettime2" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (mv_override_count(bad[i]) != -1)
			unit_fail(__FILE__, __LINE__, "mv_override_count(\"%s\") is %ld, want -1", bad[i],
				  mv_override_count(bad[i]));
}

static void mvcc_matches_makefile_and_counters(void)
{
	char list[512] = "";
	size_t n = 0;

	families();
	for (int i = 0; i < nfams; i++) {
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? " " : "", fams[i].name);
		if (mv_override_count(fams[i].name) < 0)
			unit_fail(__FILE__, __LINE__, "mv-cc's %s has no counter in override.h", fams[i].name);
	}
	CHECK_STR(list, MV_UNIT_OVERRIDES); /* the Makefile builds one ov_NAME.o per name, in mv-cc's order */
	mvcc_cleanup();
}

/* --- names resolve --------------------------------------------------------- */

/* The link line selects family f: each of its --wraps and its object. */
static void check_selects(const struct family *f, const char *how)
{
	char want[96];

	for (int i = 0; i < f->nsyms; i++) {
		snprintf(want, sizeof want, "-Wl,--wrap=%s", f->syms[i]);
		if (!has_word(out, want))
			unit_fail(__FILE__, __LINE__, "%s: no %s in: %s", how, want, out);
	}
	snprintf(want, sizeof want, "/override/ov_%s.o", f->name);
	if (!strstr(out, want))
		unit_fail(__FILE__, __LINE__, "%s: no %s in: %s", how, want, out);
}

static int objects(void)
{
	int n = 0;
	for (const char *p = strstr(out, "/override/ov_"); p; p = strstr(p + 1, "/override/ov_"))
		n++;
	return n;
}

/* Each name, and each symbol a family wraps, selects its whole family and no
 * other. One mv-cc run per batch (every family's name; every family's k-th
 * symbol): a name resolving to the wrong family leaves its own family out. */
static void each_name_resolves(void)
{
	char args[2048];

	families();
	for (int k = -1; k < 8; k++) {
		size_t n = 0;
		int want = 0;
		for (int i = 0; i < nfams; i++)
			if (k < fams[i].nsyms) {
				n += (size_t)snprintf(args + n, sizeof args - n, " --mv-override=%s",
						      k < 0 ? fams[i].name : fams[i].syms[k]);
				want++;
			}
		if (!want)
			continue;
		CHECK_EQ(link_with("", args), 0);
		for (int i = 0; i < nfams; i++)
			if (k < fams[i].nsyms)
				check_selects(&fams[i], args);
		if (objects() != want)
			unit_fail(__FILE__, __LINE__, "%s: %d wrapper objects, want %d: %s", args, objects(), want,
				  out);
	}
	snprintf(args, sizeof args, "MV_OVERRIDES=%s,%s", fams[0].syms[0], fams[nfams - 1].name);
	CHECK_EQ(link_with(args, ""), 0);
	check_selects(&fams[0], args);
	check_selects(&fams[nfams - 1], args);
	CHECK_EQ(objects(), 2);
	CHECK_EQ(link_with("", "--mv-override=malloc --mv-override=free"), 0); /* one family, once */
	CHECK_EQ(objects(), 1);
	mvcc_cleanup();
}

static void all_selects_every_family(void)
{
	families();
	CHECK_EQ(link_with("", "--mv-override=all"), 0);
	CHECK_EQ(objects(), nfams);
	for (int i = 0; i < nfams; i++)
		for (int k = 0; k < fams[i].nsyms; k++) {
			char want[64];
			snprintf(want, sizeof want, "-Wl,--wrap=%s", fams[i].syms[k]);
			CHECK(has_word(out, want));
		}
	mvcc_cleanup();
}

/* Every symbol a family wraps has its __wrap_ in the family's object (else a
 * program linked with it fails with "undefined reference to __wrap_..."). */
static void wrapper_objects_define_every_symbol(void)
{
	char cmd[512], want[64];

	families();
	for (int i = 0; i < nfams; i++) {
		snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s/build/override/ov_%s.o' 2>&1", MV_UNIT_HVM,
			 fams[i].name);
		if (run(cmd) != 0)
			unit_fail(__FILE__, __LINE__, "%s (make -C hvm builds it): %s", cmd, out);
		for (int k = 0; k < fams[i].nsyms; k++) {
			snprintf(want, sizeof want, "__wrap_%s", fams[i].syms[k]);
			if (!has_word(out, want))
				unit_fail(__FILE__, __LINE__, "ov_%s.o defines no %s", fams[i].name, want);
		}
	}
	mvcc_cleanup();
}

/* --- unknown names are refused ------------------------------------------------- */

static void unknown_refused(void)
{
	CHECK_EQ(link_with("", "--mv-override=bogus"), 2);
	CHECK(strstr(out, "mv-cc: unknown override 'bogus' (known: clock_gettime, "));
	CHECK_EQ(link_with("", "--mv-override=getpid --mv-override=Getpid"), 2);
	CHECK(strstr(out, "unknown override 'Getpid'"));
	CHECK_EQ(link_with("MV_OVERRIDES=getpid,bogus2", ""), 2);
	CHECK(strstr(out, "unknown override 'bogus2'"));
	CHECK_EQ(link_with("", "--mv-override="), 2);
	CHECK_EQ(link_with("", "--mv-override=user"), 2); /* a counter, not an override */
	CHECK_EQ(link_with("", "--mv-user-override=1bad"), 2);
	CHECK(strstr(out, "bad user override name '1bad'"));
	mvcc_cleanup();
}

UNIT_MAIN("override", CASE(counter_names), CASE(count_by_name), CASE(count_unknown_name),
	  CASE(mvcc_matches_makefile_and_counters), CASE(each_name_resolves), CASE(all_selects_every_family),
	  CASE(wrapper_objects_define_every_symbol), CASE(unknown_refused))
