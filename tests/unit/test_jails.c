/* Unit tests of the name index (src/core/jails.c): the cache of every jail's UUID and tag
 * under the runtime dir ($IOCELL_RUNDIR), tag claims and free-tag series, name matching.
 * The pool comes from the runtime dir's cache too, so no zfs call is made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jails.h"
#include "core/pool.h"
#include "core/util.h"

#define U1 "11111111-2222-4333-8444-555555555555"
#define U2 "11112222-2222-4333-8444-666666666666"
#define U3 "9abcdef0-2222-4333-8444-777777777777"

static char rdir[64];

static char *index_file(void) { return xasprintf("%s/index-tank", rdir); }

static void store(const struct jail_brief *b, size_t n) { index_store(b, n); }

/* The index with jails www (U1), db (U2, a template) and www_2 (U3). */
static void store_three(void)
{
	struct jail_brief b[] = {
		{U1, "www", false, ""}, {U2, "db", true, ""}, {U3, "www_2", false, ""}};
	store(b, 3);
}

static int setup(void **state)
{
	(void)state;
	snprintf(rdir, sizeof(rdir), "/tmp/iocell-jails-XXXXXX");
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

static void test_store_and_read(void **state)
{
	(void)state;
	store_three();
	char *f = index_file();
	char *text = read_file(f, NULL);
	assert_non_null(text);
	assert_string_equal(text, U1 "\twww\t0\n" U2 "\tdb\t1\n" U3 "\twww_2\t0\n");
	free(text);
	free(f);
	struct jail_brief *b;
	size_t n;
	bool fresh = true;
	assert_int_equal(index_get(&b, &n, &fresh), 0);
	assert_false(fresh); /* read from the file, no scan */
	assert_int_equal(n, 3);
	assert_string_equal(b[1].uuid, U2);
	assert_string_equal(b[1].tag, "db");
	assert_true(b[1].template);
	assert_false(b[0].template);
	jail_brief_free(b, n);
}

static void test_put_drop_owner(void **state)
{
	(void)state;
	store_three();
	char *o = index_tag_owner("db", NULL);
	assert_string_equal(o, U2);
	free(o);
	assert_null(index_tag_owner("db", U2)); /* its own tag */
	assert_null(index_tag_owner("nope", NULL));
	assert_false(ioc_err_pending());
	/* retag keeps one entry; a new UUID is appended */
	index_put(U2, "pg");
	assert_null(index_tag_owner("db", NULL));
	o = index_tag_owner("pg", NULL);
	assert_string_equal(o, U2);
	free(o);
	index_put("aaaaaaaa-2222-4333-8444-888888888888", "new");
	struct jail_brief *b;
	size_t n;
	bool fresh;
	assert_int_equal(index_get(&b, &n, &fresh), 0);
	assert_int_equal(n, 4);
	assert_string_equal(b[3].tag, "new");
	jail_brief_free(b, n);
	index_drop(U1);
	assert_null(index_tag_owner("www", NULL));
	assert_int_equal(index_get(&b, &n, &fresh), 0);
	assert_int_equal(n, 3);
	jail_brief_free(b, n);
	/* a damaged line is skipped, the rest is read */
	char *f = index_file();
	const char *bad = "garbage\n" U1 "\tok\t0\n"
			  "not-a-uuid\tx\t0\n";
	assert_int_equal(write_file_atomic(f, bad, strlen(bad), 0600), 0);
	free(f);
	assert_int_equal(index_get(&b, &n, &fresh), 0);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].tag, "ok");
	jail_brief_free(b, n);
}

static void test_tag_claim(void **state)
{
	(void)state;
	store_three();
	char *t = tag_claim("mail");
	assert_string_equal(t, "mail");
	free(t);
	assert_null(tag_claim("www"));
	assert_true(ioc_err_pending());
	assert_non_null(strstr(ioc_errmsg(), "tag 'www' is already used by jail " U1));
	assert_non_null(strstr(ioc_errhint(), "choose another tag="));
	ioc_err_clear();
}

static void test_tag_first_free(void **state)
{
	(void)state;
	store_three();
	/* bare first: www is taken, www_2 is taken, so www_3 */
	char *t = tag_first_free("www", 1, true);
	assert_string_equal(t, "www_3");
	free(t);
	t = tag_first_free("db", 1, true);
	assert_string_equal(t, "db_2");
	free(t);
	t = tag_first_free("mail", 1, true);
	assert_string_equal(t, "mail");
	free(t);
	/* a count series: www_1 is free, www_2 taken; from 2 the next free is www_3 */
	t = tag_first_free("www", 1, false);
	assert_string_equal(t, "www_1");
	free(t);
	t = tag_first_free("www", 2, false);
	assert_string_equal(t, "www_3");
	free(t);
	assert_false(ioc_err_pending());
}

static void test_match(void **state)
{
	(void)state;
	struct jail_brief b[] = {
		{U1, "www", false, ""}, {U2, "db", true, ""}, {U3, "1111", false, ""}};
	char uuid[37];
	struct strv cands;
	sv_init(&cands);
	/* an exact tag wins over a UUID prefix it also is */
	assert_int_equal(index_match(b, 3, "1111", uuid, &cands), NAME_TAG);
	assert_string_equal(uuid, U3);
	assert_int_equal(index_match(b, 3, "db", uuid, NULL), NAME_TAG);
	assert_string_equal(uuid, U2);
	/* a unique prefix, any case */
	assert_int_equal(index_match(b, 3, "11111", uuid, NULL), NAME_PREFIX);
	assert_string_equal(uuid, U1);
	assert_int_equal(index_match(b, 3, "9ABC", uuid, NULL), NAME_PREFIX);
	assert_string_equal(uuid, U3);
	/* ambiguous: none, both candidates listed */
	assert_int_equal(index_match(b, 3, "1111-", uuid, &cands), NAME_NONE);
	assert_int_equal(index_match(b, 3, "111", uuid, &cands), NAME_NONE);
	assert_string_equal(uuid, "");
	assert_int_equal(cands.n, 2);
	assert_string_equal(cands.v[0], U1 " (www)");
	assert_string_equal(cands.v[1], U2 " (db)");
	/* not hex: never a prefix */
	assert_int_equal(index_match(b, 3, "mail", uuid, NULL), NAME_NONE);
	assert_int_equal(index_match(b, 3, "", uuid, NULL), NAME_NONE);
	sv_free(&cands);
}

static void test_lookup(void **state)
{
	(void)state;
	store_three();
	char uuid[37];
	assert_int_equal(index_lookup("www_2", uuid), 0);
	assert_string_equal(uuid, U3);
	assert_int_equal(index_lookup("9abc", uuid), 0);
	assert_string_equal(uuid, U3);
	/* a full UUID needs no index */
	assert_int_equal(index_lookup("ffffffff-2222-4333-8444-555555555555", uuid), 0);
	assert_string_equal(uuid, "ffffffff-2222-4333-8444-555555555555");
	assert_int_equal(index_lookup("1111", uuid), -1); /* two jails */
	assert_int_equal(index_lookup("nope", uuid), -1);
	assert_false(ioc_err_pending());
}

static void test_ip_column(void **state)
{
	(void)state;
	char *s = ip_column("vnet0|192.0.2.10/24,vnet1|192.0.2.11/24");
	assert_string_equal(s, "192.0.2.10,192.0.2.11");
	free(s);
	s = ip_column("192.0.2.10/24");
	assert_string_equal(s, "192.0.2.10");
	free(s);
	s = ip_column("none");
	assert_string_equal(s, "-");
	free(s);
	s = ip_column("-");
	assert_string_equal(s, "-");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_and_read), cmocka_unit_test(test_put_drop_owner),
		cmocka_unit_test(test_tag_claim),      cmocka_unit_test(test_tag_first_free),
		cmocka_unit_test(test_match),          cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_ip_column),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
