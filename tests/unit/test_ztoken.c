/* Unit tests of the OpenZFS txg history reading behind the pool change token
 * (src/core/ztoken.c, issue 16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "core/ztoken.h"

#define HEAD                                                                               \
	"18 0 0x01 7 2128 5128918468 69428398742598\n"                                     \
	"txg      birth            state ndirty       nread        nwritten     reads    " \
	"writes   otime        qtime        wtime        stime\n"

static void test_open_txg_when_all_else_committed(void **state)
{
	(void)state;
	uint64_t open = 0;
	const char *t = HEAD
		"1000     69428380290437   C     0            0            4096  "
		"       0        2        5004064931   2583         11950        451738\n"
		"1001     69433384355368   C     0            0            0            0 "
		"       0        5004076432   1950         9130         138099\n"
		"1002     69438388431800   O     0            0            0            0 "
		"       0        0            0            0            0\n";
	assert_true(ztoken_txgs_open(t, &open));
	assert_int_equal(open, 1002);
	/* a single open row */
	assert_true(ztoken_txgs_open(HEAD "7 1 O 0 0 0 0 0 0 0 0 0\n", &open));
	assert_int_equal(open, 7);
}

static void test_no_token_while_a_txg_syncs(void **state)
{
	(void)state;
	uint64_t open = 99;
	/* 1001 quiesced or syncing: its changes may not be visible yet */
	const char *states = "QWSB?";
	for (const char *s = states; *s; s++) {
		char t[512];
		snprintf(t, sizeof(t),
			 HEAD "1000 1 C 0 0 0 0 0 0 0 0 0\n1001 2 %c 0 0 0 0 0 0 0 0 0\n"
			      "1002 3 O 0 0 0 0 0 0 0 0 0\n",
			 *s);
		assert_false(ztoken_txgs_open(t, &open));
	}
	/* the newest row not open (a torn read) */
	assert_false(ztoken_txgs_open(HEAD "1000 1 C 0 0 0 0 0 0 0 0 0\n", &open));
	/* no rows (zfs_txg_history=0), nothing, garbage */
	assert_false(ztoken_txgs_open(HEAD, &open));
	assert_false(ztoken_txgs_open("", &open));
	assert_false(ztoken_txgs_open("x y O\n-1 2 O\n", &open));
	assert_int_equal(open, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_txg_when_all_else_committed),
		cmocka_unit_test(test_no_token_while_a_txg_syncs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
