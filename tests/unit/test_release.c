/* Unit tests of the SHA-256 helpers (src/core/sha256.c) used by fetch, packages, images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/release.h"
#include "core/sha256.h"
#include "core/util.h"

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_vectors(void **state)
{
	(void)state;
	char hex[SHA256_HEX_LEN + 1];
	assert_int_equal(sha256_buf("", 0, hex), 0);
	assert_string_equal(hex, EMPTY);
	assert_int_equal(sha256_buf("abc", 3, hex), 0);
	assert_string_equal(hex, ABC);
	/* streaming in pieces gives the same digest */
	struct sha256 h;
	assert_int_equal(sha256_init(&h), 0);
	assert_int_equal(sha256_update(&h, "a", 1), 0);
	assert_int_equal(sha256_update(&h, "", 0), 0);
	assert_int_equal(sha256_update(&h, "bc", 2), 0);
	assert_int_equal(sha256_final_hex(&h, hex), 0);
	assert_string_equal(hex, ABC);
	sha256_free(&h); /* harmless after final */
	/* a context that is never finished can be freed */
	assert_int_equal(sha256_init(&h), 0);
	sha256_free(&h);
}

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/iocell-sha-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	char hex[SHA256_HEX_LEN + 1];
	assert_int_equal(sha256_file(path, hex), 0);
	assert_string_equal(hex, ABC);
	unlink(path);
	assert_int_equal(sha256_file(path, hex), -1);
	assert_true(ioc_err_pending());
	assert_non_null(strstr(ioc_errmsg(), path));
	ioc_err_clear();
}

static void test_hex(void **state)
{
	(void)state;
	assert_true(sha256_valid_hex(ABC));
	assert_true(sha256_valid_hex(
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	assert_false(sha256_valid_hex(ABC "0"));
	assert_false(sha256_valid_hex("xyz"));
	assert_false(sha256_valid_hex(NULL));
	assert_true(sha256_equal(
		ABC, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	assert_false(sha256_equal(ABC, EMPTY));
	assert_false(sha256_equal("", ""));
}

static void test_lookup(void **state)
{
	(void)state;
	char hex[SHA256_HEX_LEN + 1];
	const char *sums = EMPTY "  empty.tar\n" ABC " *rootfs.tar.xz\r\n";
	assert_true(sha256_lookup(sums, "rootfs.tar.xz", false, hex));
	assert_string_equal(hex, ABC);
	assert_true(sha256_lookup(sums, "empty.tar", false, hex));
	assert_string_equal(hex, EMPTY);
	assert_false(sha256_lookup(sums, "other.tar", false, hex));
	/* several digests: any_single does not guess */
	assert_false(sha256_lookup(sums, "other.tar", true, hex));
	/* "./NAME" as written by sha256sum ./NAME */
	assert_true(sha256_lookup(ABC "  ./rootfs.tar.xz\n", "rootfs.tar.xz", false, hex));
	/* a bare digest, or one file under another name, in a NAME.sha256 file */
	assert_true(sha256_lookup(ABC "\n", "x", true, hex));
	assert_string_equal(hex, ABC);
	assert_true(sha256_lookup(ABC "  renamed.tar.xz\n", "x", true, hex));
	assert_false(sha256_lookup(ABC "  renamed.tar.xz\n", "x", false, hex));
	/* upper case is normalised; garbage is not a digest */
	assert_true(sha256_lookup(
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  f\n", "f", false,
		hex));
	assert_string_equal(hex, ABC);
	assert_false(sha256_lookup("not a checksum file\n", "f", true, hex));
	assert_false(sha256_lookup(ABC "00  f\n", "f", true, hex));
	assert_false(sha256_lookup("", "f", true, hex));
}

static void test_basejail_dirs(void **state)
{
	(void)state;
	size_t n = 0;
	bool usr = false;
	for (; basejail_dirs[n]; n++)
		usr = usr || strcmp(basejail_dirs[n], "usr") == 0;
	assert_true(usr);
	assert_true(n >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),       cmocka_unit_test(test_file),
		cmocka_unit_test(test_hex),           cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_basejail_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
