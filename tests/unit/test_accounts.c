/* Unit tests of a jail's accounts from its /etc/passwd and /etc/group text
 * (src/core/accounts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/accounts.h"
#include "core/util.h"

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "bad:x:nan:0::/:/bin/sh\n"
			     "www:x:33:33:www-data:/var/www:/usr/sbin/nologin\r\n"
			     "short:x:1:1\n"
			     "www:x:99:99::/other:/bin/sh\n"
			     "big:x:4294967295:0::/:/bin/sh\n"
			     "last:x:7:8:::/bin/sh";
static const char GROUP[] = "root:x:0:\n"
			    "adm:x:4:www,ann\n"
			    "wwwx:x:5:wwwx\n"
			    "web:x:6:ann,www\r\n"
			    "bad:x:-1:www\n"
			    "short:x:7\n";

static bool user(const char *name, struct jailuser *u)
{
	char *p = xstrdup(PASSWD), *g = xstrdup(GROUP);
	bool found = accounts_passwd(p, name, u);
	if (found)
		accounts_groups(g, name, u);
	free(p);
	free(g);
	return found;
}

static void test_passwd(void **state)
{
	(void)state;
	struct jailuser u;
	assert_true(user("www", &u)); /* the first valid entry */
	assert_int_equal(u.uid, 33);
	assert_int_equal(u.gid, 33);
	assert_string_equal(u.home, "/var/www");
	assert_string_equal(u.shell, "/usr/sbin/nologin"); /* CR LF line */
	assert_string_equal(u.name, "www");
	/* its primary group, then those listing it (not wwwx, not a gid of -1) */
	assert_int_equal(u.ngroups, 3);
	assert_int_equal(u.groups[0], 33);
	assert_int_equal(u.groups[1], 4);
	assert_int_equal(u.groups[2], 6);
	assert_true(user("last", &u)); /* no final newline, empty home */
	assert_int_equal(u.uid, 7);
	assert_string_equal(u.home, "");
	assert_false(user("bad", &u));   /* uid not a number */
	assert_false(user("short", &u)); /* too few fields */
	assert_false(user("big", &u));   /* (uid_t)-1 is no uid */
	assert_false(user("nobody", &u));
	assert_false(user("", &u));
}

static void test_groups_bounded(void **state)
{
	(void)state;
	struct sbuf g;
	sb_init(&g);
	for (int i = 0; i < 100; i++)
		sb_printf(&g, "g%d:x:%d:www\n", i, 1000 + i);
	char *p = xstrdup(PASSWD);
	struct jailuser u;
	assert_true(accounts_passwd(p, "www", &u));
	accounts_groups(g.s, "www", &u);
	assert_int_equal(u.ngroups, ACCOUNT_GROUPS_MAX);
	assert_int_equal(u.groups[ACCOUNT_GROUPS_MAX - 1], 1000 + ACCOUNT_GROUPS_MAX - 2);
	free(p);
	sb_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd),
		cmocka_unit_test(test_groups_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
