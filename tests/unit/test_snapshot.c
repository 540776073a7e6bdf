/* Unit tests of the snapshot plans (src/core/snapshot.c) and of the zfs table parser they
 * read (ztable_parse): dependants, snapremove, txg ordering, rollback's newer snapshots,
 * promote, snaplist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "core/util.h"

#define J "tank/iocell/jails"
#define UA "aaaaaaaa-0000-4000-8000-000000000001"
#define UB "bbbbbbbb-0000-4000-8000-000000000002"
#define DS J "/" UA

static void test_ztable_parse(void **state)
{
	(void)state;
	struct ztable t;
	ztable_parse(&t, "a\tb\tc\n\nd\t\tf\ng");
	assert_int_equal(t.nrows, 3); /* empty lines skipped, no final newline needed */
	assert_int_equal(t.rows[0].n, 3);
	assert_string_equal(t.rows[0].v[2], "c");
	assert_int_equal(t.rows[1].n, 3); /* empty fields kept */
	assert_string_equal(t.rows[1].v[1], "");
	assert_int_equal(t.rows[2].n, 1);
	assert_string_equal(t.rows[2].v[0], "g");
	assert_null(t.rows[2].v[1]); /* argv-style NULL end */
	const char *cells[] = {"x", "y"};
	ztable_add(&t, cells, 2);
	assert_int_equal(t.nrows, 4);
	assert_string_equal(t.rows[3].v[1], "y");
	ztable_free(&t);
	assert_int_equal(t.nrows, 0);
	ztable_parse(&t, NULL);
	assert_int_equal(t.nrows, 0);
	ztable_free(&t);
	ztable_parse(&t, "\n\n");
	assert_int_equal(t.nrows, 0);
	ztable_free(&t);
	/* a value with spaces and '=' stays one field */
	ztable_parse(&t, DS "\tiocell:notes\ta b=c\tlocal\n");
	assert_int_equal(t.rows[0].n, 4);
	assert_string_equal(t.rows[0].v[2], "a b=c");
	ztable_free(&t);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(snapname_ok("s1"));
	assert_true(snapname_ok("ioc-2024-01-01_10:00:00"));
	assert_false(snapname_ok("ALL"));
	assert_true(ioc_err_pending());
	assert_non_null(strstr(ioc_errmsg(), "invalid snapshot name 'ALL'"));
	ioc_err_clear();
	assert_false(snapname_ok(NULL));
	assert_false(snapname_ok("a/b"));
	assert_false(snapname_ok("-x"));
	ioc_err_clear();
	assert_string_equal(snap_part(DS "@s1"), "s1");
	assert_string_equal(snap_part("s1"), "s1");
	assert_true(snap_of(DS "@s1", DS));
	assert_false(snap_of(DS "/root@s1", DS));
	assert_false(snap_of(DS "x@s1", DS));
}

static void test_dependants(void **state)
{
	(void)state;
	struct ztable t;
	ztable_parse(&t, J "/" UB "\t" DS "@s1\tb\n" J "/" UB "/root\t" DS "/root@s1\tb\n"
			   "tank/other\t" DS "/root@s2\t-\n" DS "\t-\ta\n" J "/" UA "x\t" DS
			   "@s3\t-\n");
	struct strv snaps, out;
	sv_init(&snaps);
	sv_init(&out);
	sv_add(&snaps, DS "@s1");
	sv_add(&snaps, DS "/root@s1");
	sv_add(&snaps, DS "/root@s2");
	/* B counted twice (two datasets) but described once; the foreign one by name */
	assert_int_equal(snap_dependants(&t, J, &snaps, &out), 3);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "jail " UB " (b)");
	assert_string_equal(out.v[1], "tank/other");
	sv_free(&out);
	sv_init(&out);
	sv_free(&snaps);
	sv_init(&snaps);
	sv_add(&snaps, DS "@none");
	assert_int_equal(snap_dependants(&t, J, &snaps, &out), 0);
	assert_int_equal(out.n, 0);
	sv_free(&snaps);
	sv_free(&out);
	ztable_free(&t);
}

static void test_snapremove_plan(void **state)
{
	(void)state;
	struct ztable t;
	/* s1 on the jail and its root; rec only on the root (the recording baseline) */
	ztable_parse(&t, DS "@s1\n" DS "/root@s1\n" DS "/root@rec\n" DS "@s2\n" DS "/root@s2\n");
	struct snapremove_plan pl;
	snapremove_plan_build(&t, DS, "s1", &pl);
	assert_int_equal(pl.victims.n, 2);
	assert_int_equal(pl.ontop.n, 1);
	assert_string_equal(pl.ontop.v[0], "s1");
	assert_int_equal(pl.single.n, 0);
	snapremove_plan_free(&pl);
	snapremove_plan_build(&t, DS, "rec", &pl);
	assert_int_equal(pl.victims.n, 1);
	assert_int_equal(pl.ontop.n, 0);
	assert_int_equal(pl.single.n, 1);
	assert_string_equal(pl.single.v[0], DS "/root@rec");
	snapremove_plan_free(&pl);
	/* ALL: every one; two names on top, the child-only one alone, oldest first */
	snapremove_plan_build(&t, DS, NULL, &pl);
	assert_int_equal(pl.victims.n, 5);
	assert_int_equal(pl.ontop.n, 2);
	assert_string_equal(pl.ontop.v[0], "s1");
	assert_string_equal(pl.ontop.v[1], "s2");
	assert_int_equal(pl.single.n, 1);
	snapremove_plan_free(&pl);
	snapremove_plan_build(&t, DS, "nope", &pl);
	assert_int_equal(pl.victims.n, 0);
	snapremove_plan_free(&pl);
	ztable_free(&t);
	/* rows that are no snapshot of the jail never become victims (found by fuzz_ztable:
	 * "\x02" was one, and snapremove_execute reports each as NAME + strlen(DS)) */
	ztable_parse(&t, "\x02\n" DS "x@s1\n" J "/" UB "@s1\n" DS "\n" DS "/root@s1\n");
	snapremove_plan_build(&t, DS, NULL, &pl);
	assert_int_equal(pl.victims.n, 1);
	assert_string_equal(pl.victims.v[0], DS "/root@s1");
	snapremove_plan_free(&pl);
	ztable_free(&t);
}

static void test_txg_rows(void **state)
{
	(void)state;
	struct ztable g, t;
	/* `zfs get -Hp createtxg` rows; order by txg, ties keep their order; 1000+ numeric */
	ztable_parse(&g, DS "\tcreatetxg\t1200\t-\n" DS "@b\tcreatetxg\t999\t-\n" DS
			    "/root\tcreatetxg\t5\t-\n" DS "@a\tcreatetxg\t1200\t-\n"
			    "short\n");
	txg_rows(&g, &t);
	assert_int_equal(t.nrows, 4);
	assert_string_equal(t.rows[0].v[0], DS "/root");
	assert_string_equal(t.rows[0].v[1], "5");
	assert_string_equal(t.rows[1].v[0], DS "@b");
	assert_string_equal(t.rows[2].v[0], DS);
	assert_string_equal(t.rows[3].v[0], DS "@a");
	assert_string_equal(t.rows[3].v[1], "1200");
	ztable_free(&g);
	ztable_free(&t);
}

/* The txg rows of a jail with snapshots s1 (both datasets), s2 (both), s3 (the root only),
 * s4 (the jail dataset only), oldest first. */
static const char *const JAIL_TXGS = DS "\t10\n" DS "/root\t11\n" DS "@s1\t20\n" DS
					"/root@s1\t20\n" DS "@s2\t30\n" DS "/root@s2\t30\n" DS
					"/root@s3\t40\n" DS "@s4\t50\n";

static void test_rollback_plan(void **state)
{
	(void)state;
	struct ztable t;
	ztable_parse(&t, JAIL_TXGS);
	struct rollback_plan pl;
	assert_true(rollback_plan_build(&t, DS, "s1", &pl));
	/* children first */
	assert_int_equal(pl.targets.n, 2);
	assert_string_equal(pl.targets.v[0], DS "/root@s1");
	assert_string_equal(pl.targets.v[1], DS "@s1");
	assert_int_equal(pl.missing.n, 0);
	assert_int_equal(pl.newer.n, 4);
	assert_true(sv_contains(&pl.newer, DS "/root@s2"));
	assert_true(sv_contains(&pl.newer, DS "/root@s3"));
	assert_true(sv_contains(&pl.newer, DS "@s2"));
	assert_true(sv_contains(&pl.newer, DS "@s4"));
	/* by name, oldest first, with the datasets from the UUID on */
	assert_int_equal(pl.ngroups, 3);
	assert_string_equal(pl.groups[0].snap, "s2");
	assert_int_equal(pl.groups[0].on.n, 2);
	assert_string_equal(pl.groups[0].on.v[0], UA);
	assert_string_equal(pl.groups[0].on.v[1], UA "/root");
	assert_string_equal(pl.groups[1].snap, "s3");
	assert_string_equal(pl.groups[1].on.v[0], UA "/root");
	assert_string_equal(pl.groups[2].snap, "s4");
	assert_string_equal(pl.groups[2].on.v[0], UA);
	rollback_plan_free(&pl);
	/* to the latest of the jail dataset: the root has none, nothing newer on top */
	assert_true(rollback_plan_build(&t, DS, "s4", &pl));
	assert_int_equal(pl.targets.n, 1);
	assert_int_equal(pl.missing.n, 1);
	assert_string_equal(pl.missing.v[0], DS "/root");
	assert_int_equal(pl.newer.n, 0);
	assert_int_equal(pl.ngroups, 0);
	rollback_plan_free(&pl);
	/* a snapshot only a child has is no rollback target of the jail */
	assert_false(rollback_plan_build(&t, DS, "s3", &pl));
	rollback_plan_free(&pl);
	assert_false(rollback_plan_build(&t, DS, "nope", &pl));
	rollback_plan_free(&pl);
	ztable_free(&t);
	/* rows of datasets outside the jail play no part (found by fuzz_ztable: a newer
	 * snapshot "x@n" was grouped from an offset past the end of its name) */
	ztable_parse(&t, "x\t1\nx@s1\t2\nx@n\t3\n" DS "\t10\n" DS "@s1\t20\n" DS "x\t11\n" DS
			 "x@s1\t21\n");
	assert_true(rollback_plan_build(&t, DS, "s1", &pl));
	assert_int_equal(pl.targets.n, 1);
	assert_string_equal(pl.targets.v[0], DS "@s1");
	assert_int_equal(pl.missing.n, 0);
	assert_int_equal(pl.newer.n, 0);
	assert_int_equal(pl.ngroups, 0);
	rollback_plan_free(&pl);
	ztable_free(&t);
}

static void test_promote_plan(void **state)
{
	(void)state;
	struct ztable t;
	ztable_parse(&t, DS "\t" J "/" UB "@ioc-clone-x\n" DS "/root\t" J "/" UB
			    "/root@ioc-clone-x\n" DS "/data\t-\n" DS
			    "/root/usr\ttank/iocell/base/r/usr@release\n");
	struct promote_plan pl;
	promote_plan_build(&t, J, &pl);
	assert_int_equal(pl.todo.n, 2);
	assert_string_equal(pl.todo.v[0], DS);
	assert_string_equal(pl.todo.v[1], DS "/root");
	assert_int_equal(pl.kept.n, 1);
	assert_string_equal(pl.kept.v[0],
			    DS "/root/usr (a clone of tank/iocell/base/r/usr@release)");
	promote_plan_free(&pl);
	ztable_free(&t);
}

static void test_snaplist_rows(void **state)
{
	(void)state;
	struct ztable in, out;
	ztable_parse(&in, DS "@s1\tMon Jan  1 10:00 2024\t1.2M\t0\n" DS
			     "/root@s1\tMon Jan  1 10:00 2024\t80M\t12K\n" DS
			     "@s2\tTue Jan  2 10:00 2024\t1.2M\t0\n");
	snaplist_rows(&in, DS, &out);
	assert_int_equal(out.nrows, 2);
	assert_string_equal(out.rows[0].v[0], "s1");
	assert_string_equal(out.rows[0].v[1], "Mon Jan  1 10:00 2024");
	assert_string_equal(out.rows[1].v[0], "s2");
	assert_string_equal(out.rows[1].v[3], "0");
	ztable_free(&in);
	ztable_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ztable_parse), cmocka_unit_test(test_names),
		cmocka_unit_test(test_dependants),   cmocka_unit_test(test_snapremove_plan),
		cmocka_unit_test(test_txg_rows),     cmocka_unit_test(test_rollback_plan),
		cmocka_unit_test(test_promote_plan), cmocka_unit_test(test_snaplist_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
