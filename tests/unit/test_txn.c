/* Unit tests of owner stamps, marks and staging names (src/core/txn.c, issue 15), and of
 * the pending claims of the name index (src/core/jails.c).  No zfs call is made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/jails.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "core/txn.h"
#include "core/util.h"

#define U1 "11111111-2222-4333-8444-555555555555"
#define U2 "11112222-2222-4333-8444-666666666666"

static void test_stamp(void **state)
{
	(void)state;
	const char *s = txn_stamp();
	char boot[9];
	pid_t pid;
	unsigned long long start;
	assert_true(txn_stamp_parse(s, boot, &pid, &start));
	assert_int_equal(pid, getpid());
	assert_int_equal(start, proc_starttime(getpid()));
	assert_true(txn_owner_alive(s));
	assert_int_equal(txn_stamp_pid(s), getpid());
	/* malformed */
	assert_false(txn_stamp_parse("", boot, &pid, &start));
	assert_false(txn_stamp_parse("0123456-1-2", boot, &pid, &start));
	assert_false(txn_stamp_parse("0123456g-1-2", boot, &pid, &start));
	assert_false(txn_stamp_parse("01234567-0-2", boot, &pid, &start));
	assert_false(txn_stamp_parse("01234567-12-", boot, &pid, &start));
	assert_false(txn_stamp_parse("01234567-12-3x", boot, &pid, &start));
	assert_false(txn_owner_alive("garbage"));
}

static void test_owner_dead(void **state)
{
	(void)state;
	char boot[9];
	pid_t pid;
	unsigned long long start;
	assert_true(txn_stamp_parse(txn_stamp(), boot, &pid, &start));
	/* the same process with another start time: a reused PID */
	char *other = xasprintf("%s-%d-%llu", boot, (int)pid, start + 1);
	assert_false(txn_owner_alive(other));
	free(other);
	/* another boot */
	char *reboot = xasprintf("%s-%d-%llu", streq(boot, "00000000") ? "11111111" : "00000000",
				 (int)pid, start);
	assert_false(txn_owner_alive(reboot));
	free(reboot);
	/* a child that exited (a zombie until reaped, then gone) */
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	assert_true(c > 0);
	unsigned long long cs = 0;
	while (proc_info(c, NULL, &cs) == 0 && cs == 0)
		;
	char *child = xasprintf("%s-%d-%llu", boot, (int)c, proc_starttime(c));
	for (int i = 0; i < 1000; i++) {
		char st = '?';
		unsigned long long x;
		if (proc_info(c, &st, &x) < 0 || st == 'Z')
			break;
		usleep(1000);
	}
	assert_false(txn_owner_alive(child)); /* a zombie is dead */
	waitpid(c, NULL, 0);
	assert_false(txn_owner_alive(child));
	free(child);
}

static void test_mark_parse(void **state)
{
	(void)state;
	const char *const args[] = {"ioc-prev-2024-01-01_00:00:00", "bin,usr", "debootstrap x y",
				    NULL};
	char *v = txn_mark_value(TXN_FETCH_UPDATE, args);
	struct txn_mark m;
	assert_int_equal(txn_mark_parse(v, &m), 0);
	assert_int_equal(m.op, TXN_FETCH_UPDATE);
	assert_string_equal(m.stamp, txn_stamp());
	assert_int_equal(m.args.n, 5);
	assert_string_equal(m.args.v[0], "ioc-prev-2024-01-01_00:00:00");
	assert_string_equal(m.args.v[1], "bin,usr");
	assert_string_equal(m.rest, "ioc-prev-2024-01-01_00:00:00 bin,usr debootstrap x y");
	txn_mark_free(&m);
	free(v);
	v = txn_mark_value(TXN_CREATE, NULL);
	assert_int_equal(txn_mark_parse(v, &m), 0);
	assert_int_equal(m.op, TXN_CREATE);
	assert_true(txn_op_hides(m.op));
	assert_int_equal(m.args.n, 0);
	assert_string_equal(m.rest, "");
	txn_mark_free(&m);
	free(v);
	/* not marks */
	const char *bad[] = {"-",
			     "none",
			     "",
			     "create",
			     "create ",
			     "create x",
			     "bogus 01234567-1-2",
			     "create 01234567-1-2x",
			     NULL};
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(txn_mark_parse(bad[i], &m), -1);
		txn_mark_free(&m);
	}
	assert_int_equal(txn_mark_parse(NULL, &m), -1);
	txn_mark_free(&m);
	assert_false(txn_op_hides(TXN_ROLLBACK));
	assert_true(txn_op_hides(TXN_DESTROY));
	assert_string_equal(txn_op_name(TXN_FETCH_COMMIT), "fetch-commit");
}

static void test_stage_name(void **state)
{
	(void)state;
	char *n = txn_stage_name("tank/iocell/jails", U1);
	const char *leaf = strrchr(n, '/') + 1;
	char stamp[64], uuid[37];
	assert_true(txn_stage_parse(leaf, stamp, uuid));
	assert_string_equal(stamp, txn_stamp());
	assert_string_equal(uuid, U1);
	free(n);
	assert_false(txn_stage_parse(U1, stamp, uuid));
	assert_false(txn_stage_parse(".stage-" U1, stamp, uuid));
	assert_false(txn_stage_parse(".stage-x-" U1, stamp, uuid));
	assert_false(txn_stage_parse(".stage-01234567-1-2-not-a-uuid", stamp, uuid));
	assert_true(txn_stage_parse(".stage-01234567-1-2-" U1, stamp, uuid));
	assert_string_equal(stamp, "01234567-1-2");
}

/* ---- pending claims of the name index -------------------------------------------------- */

static char rdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(rdir, sizeof(rdir), "/tmp/iocell-txn-XXXXXX");
	if (!mkdtemp(rdir))
		return -1;
	setenv("IOCELL_RUNDIR", rdir, 1);
	char *p = xasprintf("%s/pool", rdir);
	int rc = write_file_atomic(p, "tank\t/tmp/iocell-unit-mnt\n", 26, 0600);
	free(p);
	return rc < 0 || !pool_get() ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf -- '%s'", rdir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void test_claims(void **state)
{
	(void)state;
	struct jail_brief b[] = {{U1, "www", false, ""}};
	index_store(b, 1);
	/* a claim of ours (alive) holds its tag, the jail's old tag stays too */
	index_claim(U1, "web");
	char *o = index_tag_owner("web", NULL);
	assert_string_equal(o, U1);
	free(o);
	o = index_tag_owner("www", NULL);
	assert_string_equal(o, U1);
	free(o);
	/* committed: one entry, no stamp */
	index_put(U1, "web");
	struct jail_brief *r;
	size_t n;
	bool fresh;
	assert_int_equal(index_get(&r, &n, &fresh), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].tag, "web");
	assert_string_equal(r[0].stamp, "");
	jail_brief_free(r, n);
	assert_null(index_tag_owner("www", NULL));
	/* a new jail's claim, then dropped (undone) */
	index_claim(U2, "db");
	assert_int_equal(index_get(&r, &n, &fresh), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[1].stamp, txn_stamp());
	jail_brief_free(r, n);
	index_drop(U2);
	assert_null(index_tag_owner("db", NULL));
	assert_false(ioc_err_pending());
}

/* A forked child (rcboot's workers) has a stamp and an in-flight lock of its own; its
 * release removes its own file, never the parent's, whose lock stays held. */
static void test_fork_own_stamp_and_inflight(void **state)
{
	(void)state;
	char *mine = xstrdup(txn_stamp());
	assert_true(txn_inflight_fd() >= 0);
	char *mylock = xasprintf("%s/inflight/%s.lock", rdir, mine);
	assert_int_equal(access(mylock, F_OK), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		/* 1: own stamp, 2: own lock file, 4: its file gone after release while the
		 * parent's is still there and still locked */
		int r = 0;
		char *st = xstrdup(txn_stamp());
		r |= !streq(st, mine) && txn_stamp_pid(st) == getpid() ? 1 : 0;
		char *lk = xasprintf("%s/inflight/%s.lock", rdir, st);
		r |= txn_inflight_fd() >= 0 && access(lk, F_OK) == 0 ? 2 : 0;
		txn_inflight_release();
		r |= access(lk, F_OK) < 0 && access(mylock, F_OK) == 0 &&
				     !txn_inflight_wait(mine, 0)
			     ? 4
			     : 0;
		(void)!write(p[1], &r, sizeof(r));
		_exit(0);
	}
	close(p[1]);
	int r = 0, st;
	assert_int_equal(read(p[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	assert_int_equal(waitpid(c, &st, 0), c);
	assert_int_equal(r, 7);
	assert_string_equal(txn_stamp(), mine);
	assert_int_equal(access(mylock, F_OK), 0);
	free(mylock);
	free(mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_owner_dead),
		cmocka_unit_test(test_mark_parse),
		cmocka_unit_test(test_stage_name),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_fork_own_stamp_and_inflight),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
