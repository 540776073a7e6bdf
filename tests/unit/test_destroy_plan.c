/* Unit tests of the destroy plan (src/core/destroy.c) built from zfs tables: dependent
 * clones found transitively, the order of destruction, foreign dependants, automatic
 * clone snapshots, mounts and snapshots attributed to their jails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/destroy.h"
#include "core/util.h"

#define J "tank/iocell/jails"
#define UA "aaaaaaaa-0000-4000-8000-000000000001"
#define UB "bbbbbbbb-0000-4000-8000-000000000002"
#define UC "0ccccccc-0000-4000-8000-000000000003" /* listed before B */
#define UD "dddddddd-0000-4000-8000-000000000004"

/* Rows name, origin, mounted, tag as `zfs list -o name,origin,mounted,iocell:tag` prints. */
static void table(struct ztable *t, const char *text) { ztable_parse(t, text); }

static void plan_for(struct destroy_plan *p, const char *uuid, const char *tag, const char *rows)
{
	destroy_plan_init(p);
	char *ds = xasprintf(J "/%s", uuid);
	destroy_plan_add(p, uuid, ds, tag);
	free(ds);
	struct ztable t;
	table(&t, rows);
	destroy_plan_datasets(p, J, &t);
	ztable_free(&t);
}

static void test_single_jail(void **state)
{
	(void)state;
	struct destroy_plan p;
	plan_for(&p, UA, "a",
		 "tank\t-\tyes\t-\n" J "\t-\tyes\t-\n" J "/" UA "\t-\tyes\ta\n" J "/" UA
		 "/root\ttank/iocell/releases/r/root@release\tyes\ta\n" J "/" UB "\t-\tno\tb\n");
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].fss.n, 2);
	assert_string_equal(p.v[0].fss.v[0], J "/" UA);
	assert_string_equal(p.v[0].fss.v[1], J "/" UA "/root");
	assert_int_equal(p.mounted.n, 2);
	assert_int_equal(p.foreign.n, 0);
	assert_int_equal(p.autosnaps.n, 0); /* a release's snapshot is no clone snapshot */
	struct ztable s;
	table(&s, J "/" UA "@s1\n" J "/" UA "/root@s1\n" J "/" UB "@s1\n" J "/" UA "x@s\n");
	destroy_plan_snapshots(&p, &s);
	ztable_free(&s);
	assert_int_equal(p.v[0].snaps.n, 2);
	assert_string_equal(p.v[0].snaps.v[1], J "/" UA "/root@s1");
	struct destroy_jail *n = destroy_plan_next(&p);
	assert_ptr_equal(n, &p.v[0]);
	n->done = true;
	assert_null(destroy_plan_next(&p));
	destroy_plan_free(&p);
}

static void test_clones_transitive_and_ordered(void **state)
{
	(void)state;
	struct destroy_plan p;
	/* B is a clone of A, C a clone of B (listed first, so found on a second pass), D has
	 * its dataset from B and its root from A. */
	plan_for(&p, UA, "a",
		 J "/" UC "\t" J "/" UB "@x\tno\tc\n" J "/" UC "/root\t" J "/" UB
		   "/root@x\tno\tc\n" J "/" UA "\t-\tyes\ta\n" J "/" UA "/root\t-\tyes\ta\n" J
		   "/" UB "\t" J "/" UA "@s\tyes\tb\n" J "/" UB "/root\t" J "/" UA
		   "/root@s\tyes\tb\n" J "/" UD "\t" J "/" UB "@y\tno\td\n" J "/" UD "/root\t" J
		   "/" UA "/root@z\tno\td\n");
	assert_int_equal(p.n, 4);
	assert_string_equal(p.v[0].uuid, UA);
	assert_string_equal(p.v[1].uuid, UB);
	assert_string_equal(p.v[1].tag, "b");
	assert_string_equal(p.v[1].ds, J "/" UB);
	/* who goes before whom */
	assert_true(sv_contains(&p.v[0].after, UB));
	assert_true(sv_contains(&p.v[0].after, UD));
	assert_true(sv_contains(&p.v[1].after, UC));
	assert_true(sv_contains(&p.v[1].after, UD));
	assert_int_equal(p.v[0].after.n, 2);
	assert_int_equal(p.mounted.n, 4);
	char *deps = destroy_plan_dependants(&p);
	assert_non_null(strstr(deps, "jail " UB " (b)"));
	assert_non_null(strstr(deps, "jail " UC " (c)"));
	assert_non_null(strstr(deps, "jail " UD " (d)"));
	free(deps);
	/* the order: every clone before its origin */
	const char *order[4];
	for (int i = 0; i < 4; i++) {
		struct destroy_jail *n = destroy_plan_next(&p);
		assert_non_null(n);
		n->done = true;
		order[i] = n->uuid;
	}
	assert_null(destroy_plan_next(&p));
	int pos[4];
	const char *u[] = {UA, UB, UC, UD};
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 4; i++)
			if (streq(order[i], u[k]))
				pos[k] = i;
	assert_true(pos[2] < pos[1]); /* C before B */
	assert_true(pos[3] < pos[1]); /* D before B */
	assert_true(pos[1] < pos[0]); /* B before A */
	assert_true(pos[3] < pos[0]); /* D before A */
	destroy_plan_free(&p);
}

static void test_foreign_dependant(void **state)
{
	(void)state;
	struct destroy_plan p;
	plan_for(&p, UA, "a",
		 J "/" UA "\t-\tno\ta\n" J "/" UA "/root\t-\tno\ta\n"
		   "tank/iocell/releases/r/root\t" J "/" UA "/root@s\tyes\t-\n"
		   "tank/other\t" J "/" UA "/root@s\tno\t-\n" J "/not-a-uuid\t" J "/" UA
		   "@s\tno\t-\n");
	assert_int_equal(p.n, 1);
	assert_int_equal(p.foreign.n, 3);
	assert_string_equal(p.foreign.v[0],
			    "tank/iocell/releases/r/root (a clone of " J "/" UA "/root@s)");
	assert_string_equal(p.foreign.v[2], J "/not-a-uuid (a clone of " J "/" UA "@s)");
	assert_int_equal(p.mounted.n, 0); /* the foreign dataset's mount is not the plan's */
	char *deps = destroy_plan_dependants(&p);
	assert_string_equal(deps, "tank/iocell/releases/r/root (a clone of " J "/" UA "/root@s), "
				  "tank/other (a clone of " J "/" UA "/root@s), " J
				  "/not-a-uuid (a clone of " J "/" UA "@s)");
	free(deps);
	destroy_plan_free(&p);
}

static void test_clone_snapshot_of_the_source(void **state)
{
	(void)state;
	struct destroy_plan p;
	/* B was made by `clone A`: its datasets come from A's ioc-clone- snapshot, which goes
	 * with it (once, by its top-level name); a user snapshot of A stays. */
	plan_for(&p, UB, "b",
		 J "/" UA "\t-\tno\ta\n" J "/" UA "/root\t-\tno\ta\n" J "/" UB "\t" J "/" UA
		   "@ioc-clone-2024-01-01_00:00:00-bbbbbbbb\tno\tb\n" J "/" UB "/root\t" J "/" UA
		   "/root@ioc-clone-2024-01-01_00:00:00-bbbbbbbb\tno\tb\n" J "/" UC "\t" J "/" UA
		   "@mine\tno\tc\n");
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].after.n, 0);
	assert_int_equal(p.autosnaps.n, 1);
	assert_string_equal(p.autosnaps.v[0], J "/" UA "@ioc-clone-2024-01-01_00:00:00-bbbbbbbb");
	destroy_plan_free(&p);
}

static void test_circle_has_no_next(void **state)
{
	(void)state;
	struct destroy_plan p;
	destroy_plan_init(&p);
	destroy_plan_add(&p, UA, J "/" UA, "a");
	destroy_plan_add(&p, UB, J "/" UB, "b");
	sv_add(&p.v[0].after, UB);
	sv_add(&p.v[1].after, UA);
	assert_null(destroy_plan_next(&p));
	/* an unknown UUID in after does not hold a jail back */
	sv_free(&p.v[1].after);
	sv_init(&p.v[1].after);
	sv_add(&p.v[1].after, UD);
	assert_ptr_equal(destroy_plan_next(&p), &p.v[1]);
	destroy_plan_free(&p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.lock, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_jail),
		cmocka_unit_test(test_clones_transitive_and_ordered),
		cmocka_unit_test(test_foreign_dependant),
		cmocka_unit_test(test_clone_snapshot_of_the_source),
		cmocka_unit_test(test_circle_has_no_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
