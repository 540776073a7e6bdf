/* Unit tests of the package managers' text handling (src/ops/pkgmgr.c): pkglist parsing,
 * package names, the apt suite switch of an upgrade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ops/pkgmgr.h"

static void swapped(const char *text, const char *old, const char *new, int n, const char *want)
{
	char *out = NULL;
	assert_int_equal(swap_suite(text, old, new, &out), n);
	assert_string_equal(out, want);
	free(out);
}

static void test_swap_suite(void **state)
{
	(void)state;
	/* the suite and its -updates, -security and /updates forms */
	swapped("deb http://deb.debian.org/debian bookworm main\n"
		"deb http://deb.debian.org/debian bookworm-updates main\n"
		"deb http://security.debian.org/debian-security bookworm-security main\n"
		"deb http://security.debian.org bookworm/updates main\n",
		"bookworm", "trixie", 4,
		"deb http://deb.debian.org/debian trixie main\n"
		"deb http://deb.debian.org/debian trixie-updates main\n"
		"deb http://security.debian.org/debian-security trixie-security main\n"
		"deb http://security.debian.org trixie/updates main\n");
	/* deb822: after "Suites:" and between blanks */
	swapped("Types: deb\nSuites: bookworm bookworm-updates\n", "bookworm", "trixie", 2,
		"Types: deb\nSuites: trixie trixie-updates\n");
	/* not inside a word or a URL, not a longer name */
	swapped("deb http://bookworm.example.org/bookworm-archive bookworms main\n", "bookworm",
		"trixie", 0, "deb http://bookworm.example.org/bookworm-archive bookworms main\n");
	/* at the very start and end of the text */
	swapped("bookworm", "bookworm", "trixie", 1, "trixie");
	swapped("", "bookworm", "trixie", 0, "");
	/* no suite to replace (found by fuzz_sources: it looped for ever, growing) */
	swapped("\n", "", "", 0, "\n");
	swapped("deb x main\n", "", "trixie", 0, "deb x main\n");
}

static void test_valid_pkgname(void **state)
{
	(void)state;
	assert_true(valid_pkgname("hello"));
	assert_true(valid_pkgname("libc6:amd64"));
	assert_true(valid_pkgname("foo=1.2~b1+deb12u1"));
	assert_true(valid_pkgname("py3-foo@edge"));
	assert_true(valid_pkgname("www/nginx"));
	assert_false(valid_pkgname(""));
	assert_false(valid_pkgname("-o"));
	assert_false(valid_pkgname("--allow-unauthenticated"));
	assert_false(valid_pkgname("a b"));
	assert_false(valid_pkgname("x;rm"));
	assert_false(valid_pkgname("$(id)"));
}

static void test_pkglist_parse(void **state)
{
	(void)state;
	struct strv names;
	sv_init(&names);
	pkglist_parse("hello  # a comment\n# a whole line\n\n\tworld\r\nfoo bar\nlast", &names);
	assert_int_equal(names.n, 5);
	assert_string_equal(names.v[0], "hello");
	assert_string_equal(names.v[1], "world");
	assert_string_equal(names.v[2], "foo");
	assert_string_equal(names.v[3], "bar");
	assert_string_equal(names.v[4], "last");
	sv_free(&names);
	sv_init(&names);
	pkglist_parse("", &names);
	pkglist_parse("# nothing\n   \n", &names);
	assert_int_equal(names.n, 0);
	sv_free(&names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_suite),
		cmocka_unit_test(test_valid_pkgname),
		cmocka_unit_test(test_pkglist_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
