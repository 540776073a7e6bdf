/* Unit tests of what a release fetch takes apart (src/core/sources.c, download.c,
 * unpack.c): URLs and file names, the host's Debian mirror, debootstrap's error line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/download.h"
#include "core/fetch.h"
#include "core/util.h"

static void joined(const char *a, const char *b, const char *want)
{
	char *s = join_url(a, b);
	assert_string_equal(s, want);
	free(s);
}

static void test_urls(void **state)
{
	(void)state;
	joined("http://h/dir", "f.tar.xz", "http://h/dir/f.tar.xz");
	joined("http://h/dir///", "//f.tar.xz", "http://h/dir/f.tar.xz");
	joined("http://h", "a/b", "http://h/a/b");
	assert_string_equal(url_basename("https://h/p/rootfs.tar.xz"), "rootfs.tar.xz");
	assert_string_equal(url_basename("file:///srv/rel/base.txz"), "base.txz");
	/* the name ends where the query starts (what follows stays in the label) */
	assert_true(startswith(url_basename("http://h/x/f.tgz?sig=1#top"), "f.tgz?"));
	/* no file name in the path: the whole URL names it */
	assert_string_equal(url_basename("http://h/dir/"), "http://h/dir/");
	assert_string_equal(url_basename("http://h/dir/?q"), "http://h/dir/?q");
	assert_true(safe_filename("rootfs.tar.xz"));
	assert_true(safe_filename("..x"));
	assert_false(safe_filename(""));
	assert_false(safe_filename("."));
	assert_false(safe_filename(".."));
	assert_false(safe_filename("a/b"));
}

static void mirror(char *got, const char *want)
{
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_debian_mirror(void **state)
{
	(void)state;
	mirror(debian_mirror_in_list(
		       "# deb http://commented.debian.org/debian bookworm main\n"
		       "deb-src http://src.debian.org/debian bookworm main\n"
		       "deb http://security.debian.org/debian-security bookworm-security main\n"
		       "deb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian/ bookworm main\n"
		       "deb http://later.debian.org/debian bookworm main\n"),
	       "http://ftp.de.debian.org/debian/");
	mirror(debian_mirror_in_list(
		       "deb [ trusted=yes ] https://m.debian.net/debian bookworm main\n"),
	       "https://m.debian.net/debian");
	mirror(debian_mirror_in_list("deb http://archive.ubuntu.com/ubuntu jammy main\n"), NULL);
	mirror(debian_mirror_in_list("deb ftp://ftp.debian.org/debian bookworm main\n"), NULL);
	mirror(debian_mirror_in_list(""), NULL);
	mirror(debian_mirror_in_deb822(
		       "Types: deb\n"
		       "URIs: http://deb.debian.org/debian-ports http://ftp.fr.debian.org/debian\n"
		       "Suites: bookworm\n"),
	       "http://ftp.fr.debian.org/debian");
	mirror(debian_mirror_in_deb822("uris: https://deb.debian.org/debian\n"),
	       "https://deb.debian.org/debian");
	mirror(debian_mirror_in_deb822("URIs: http://security.debian.org/debian-security\n"), NULL);
	/* a one-line list is no deb822 file */
	mirror(debian_mirror_in_deb822("deb http://deb.debian.org/debian bookworm main\n"), NULL);
}

static void test_debootstrap_reason(void **state)
{
	(void)state;
	char *r = debootstrap_reason("I: Retrieving InRelease\nE: Failed getting release file\n"
				     "W: see the log\n",
				     "/nonexistent");
	assert_string_equal(r, "Failed getting release file");
	free(r);
	/* the last E: line wins */
	r = debootstrap_reason("E: first\nE: second\n", "/nonexistent");
	assert_string_equal(r, "second");
	free(r);
	/* no E: line and no log in the target: the last line of the output */
	r = debootstrap_reason("I: one\nsomething went wrong\n", "/nonexistent");
	assert_string_equal(r, "something went wrong");
	free(r);
	assert_null(debootstrap_reason("", "/nonexistent"));
	assert_null(debootstrap_reason(NULL, "/nonexistent"));
	/* bounded */
	char *lng = xmalloc(2001);
	memset(lng, 'x', 2000);
	lng[0] = 'E';
	lng[1] = ':';
	lng[2] = ' ';
	lng[2000] = '\0';
	r = debootstrap_reason(lng, "/nonexistent");
	assert_int_equal(strlen(r), 600);
	free(r);
	free(lng);
	assert_false(ioc_err_pending());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_debian_mirror),
		cmocka_unit_test(test_debootstrap_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
