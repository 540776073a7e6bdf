/* Unit tests of the rcboot / rcshutdown order (src/core/bootplan.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/bootplan.h"

static const char *U[] = {
	"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
	"00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
	"00000000-0000-4000-8000-000000000005", "00000000-0000-4000-8000-000000000006",
};

/* The tags next() hands out now, comma-separated, without finishing them. */
static void take_all(struct bootplan *p, char *out, size_t n)
{
	out[0] = '\0';
	long i;
	while ((i = bootplan_next(p)) >= 0) {
		if (out[0])
			strncat(out, ",", n - strlen(out) - 1);
		strncat(out, p->v[i].tag, n - strlen(out) - 1);
	}
}

static size_t idx(const struct bootplan *p, const char *tag)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].tag, tag) == 0)
			return i;
	fail();
	return 0;
}

static void test_priority_levels_in_parallel(void **state)
{
	(void)state;
	struct bootplan p;
	char got[256];
	bootplan_init(&p, false);
	bootplan_add(&p, U[0], "b", 10, "none", true);
	bootplan_add(&p, U[1], "a", 10, "none", true);
	bootplan_add(&p, U[2], "c", 20, "none", true);
	bootplan_add(&p, U[3], "off", 5, "none", false); /* boot=off: not part of it */
	bootplan_resolve(&p);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "a,b"); /* the same priority together, by tag */
	bootplan_done(&p, idx(&p, "a"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, ""); /* c waits for the whole level */
	bootplan_done(&p, idx(&p, "b"), false, "exec_start failed");
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "c"); /* a failure does not stop the others */
	bootplan_done(&p, idx(&p, "c"), true, NULL);
	assert_true(bootplan_finished(&p));
	assert_int_equal(p.v[idx(&p, "off")].st, BN_OUT);
	assert_string_equal(p.v[idx(&p, "b")].why, "exec_start failed");
	bootplan_free(&p);
}

static void test_depends_pull_forward_and_skip(void **state)
{
	(void)state;
	struct bootplan p;
	char got[256];
	bootplan_init(&p, false);
	bootplan_add(&p, U[0], "app", 10, "db", true);
	bootplan_add(&p, U[1], "db", 50, "none", true);
	bootplan_add(&p, U[2], "web", 10, "app", true);
	bootplan_add(&p, U[3], "other", 10, "none", true);
	bootplan_add(&p, U[4], "cache", 99, "none", false); /* boot=off, needed: pulled in */
	bootplan_add(&p, U[5], "late", 60, "cache", true);
	bootplan_resolve(&p);
	assert_int_equal(p.v[idx(&p, "db")].eff, 10);
	assert_int_equal(p.v[idx(&p, "cache")].eff, 60);
	assert_int_equal(p.v[idx(&p, "cache")].st, BN_WAITING);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "db,other");
	bootplan_done(&p, idx(&p, "other"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, ""); /* app waits for db to be up */
	bootplan_done(&p, idx(&p, "db"), false, "no");
	/* app and (through it) web are skipped, each with its reason */
	assert_int_equal(p.v[idx(&p, "app")].st, BN_SKIPPED);
	assert_int_equal(p.v[idx(&p, "web")].st, BN_SKIPPED);
	assert_non_null(strstr(p.v[idx(&p, "app")].why, "depends on db, which failed"));
	assert_non_null(strstr(p.v[idx(&p, "web")].why, "depends on app, which was skipped"));
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "cache");
	bootplan_done(&p, idx(&p, "cache"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "late");
	bootplan_done(&p, idx(&p, "late"), true, NULL);
	assert_true(bootplan_finished(&p));
	bootplan_free(&p);
}

static void test_cycles_and_unknown_names(void **state)
{
	(void)state;
	struct bootplan p;
	char got[256];
	bootplan_init(&p, false);
	bootplan_add(&p, U[0], "x", 10, "y", true);
	bootplan_add(&p, U[1], "y", 10, "x", true);
	bootplan_add(&p, U[2], "z", 10, "x", true);
	bootplan_add(&p, U[3], "lost", 10, "nosuch", true);
	bootplan_add(&p, U[4], "fine", 10, U[5], true); /* by UUID */
	bootplan_add(&p, U[5], "base", 20, "none", true);
	bootplan_resolve(&p);
	assert_int_equal(p.v[idx(&p, "x")].st, BN_FAILED);
	assert_int_equal(p.v[idx(&p, "y")].st, BN_FAILED);
	assert_non_null(strstr(p.v[idx(&p, "x")].why, "dependency cycle: "));
	assert_non_null(strstr(p.v[idx(&p, "x")].why, "x -> y -> x"));
	assert_int_equal(p.v[idx(&p, "z")].st, BN_SKIPPED);
	assert_int_equal(p.v[idx(&p, "lost")].st, BN_FAILED);
	assert_non_null(strstr(p.v[idx(&p, "lost")].why, "'nosuch', which is not a jail"));
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "base");
	bootplan_done(&p, idx(&p, "base"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "fine");
	bootplan_done(&p, idx(&p, "fine"), true, NULL);
	assert_true(bootplan_finished(&p));
	bootplan_free(&p);
}

static void test_shutdown_reverse(void **state)
{
	(void)state;
	struct bootplan p;
	char got[256];
	bootplan_init(&p, true);
	bootplan_add(&p, U[0], "app", 10, "db", true);
	bootplan_add(&p, U[1], "db", 50, "none", true);
	bootplan_add(&p, U[2], "web", 30, "none", true);
	bootplan_add(&p, U[3], "gone", 90, "none", false); /* not running */
	bootplan_add(&p, U[4], "cx", 40, "cy", true);      /* a cycle: stopped anyway */
	bootplan_add(&p, U[5], "cy", 40, "cx", true);
	bootplan_resolve(&p);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "cy,cx"); /* the highest priority first, reverse tag order */
	bootplan_done(&p, idx(&p, "cx"), false, "stuck"); /* a failure skips nothing */
	bootplan_done(&p, idx(&p, "cy"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "web");
	bootplan_done(&p, idx(&p, "web"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "app"); /* db (pulled to 10) after what depends on it */
	bootplan_done(&p, idx(&p, "app"), true, NULL);
	take_all(&p, got, sizeof(got));
	assert_string_equal(got, "db");
	bootplan_done(&p, idx(&p, "db"), true, NULL);
	assert_true(bootplan_finished(&p));
	bootplan_free(&p);
}

static void test_depends_valid(void **state)
{
	(void)state;
	struct strv uuids = {0}, tags = {0}, deps = {0};
	sv_init(&uuids);
	sv_init(&tags);
	sv_init(&deps);
	const char *t[] = {"web", "app", "db"}, *d[] = {"app", "db", "none"};
	for (int i = 0; i < 3; i++) {
		sv_add(&uuids, U[i]);
		sv_add(&tags, t[i]);
		sv_add(&deps, d[i]);
	}
	char err[512];
	assert_true(depends_valid(U[2], "none", &uuids, &tags, &deps, err, sizeof(err)));
	assert_true(depends_valid(U[0], "db", &uuids, &tags, &deps, err, sizeof(err)));
	assert_false(depends_valid(U[2], "web", &uuids, &tags, &deps, err, sizeof(err)));
	assert_non_null(strstr(err, "db -> web -> app -> db"));
	assert_false(depends_valid(U[2], "db", &uuids, &tags, &deps, err, sizeof(err)));
	assert_non_null(strstr(err, "cycle: db -> db"));
	assert_false(depends_valid(U[0], "nosuch", &uuids, &tags, &deps, err, sizeof(err)));
	assert_non_null(strstr(err, "'nosuch', which is not a jail"));
	assert_true(depends_valid(U[2], U[3], &uuids, &tags, &deps, err, sizeof(err)) == false);
	sv_free(&uuids);
	sv_free(&tags);
	sv_free(&deps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_levels_in_parallel),
		cmocka_unit_test(test_depends_pull_forward_and_skip),
		cmocka_unit_test(test_cycles_and_unknown_names),
		cmocka_unit_test(test_shutdown_reverse),
		cmocka_unit_test(test_depends_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
