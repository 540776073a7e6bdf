/* Unit tests of the pure parsers and validators (src/core/parse.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/parse.h"
#include "core/util.h"

static void test_sizes(void **state)
{
	(void)state;
	uint64_t v;
	assert_true(parse_size("4G", &v));
	assert_int_equal(v, 4ULL << 30);
	assert_true(parse_size("512M", &v));
	assert_int_equal(v, 512ULL << 20);
	assert_true(parse_size("1.5K", &v));
	assert_int_equal(v, 1536);
	assert_true(parse_size("100", &v));
	assert_int_equal(v, 100);
	assert_true(parse_size("2GiB", &v));
	assert_int_equal(v, 2ULL << 30);
	assert_false(parse_size("10Q", &v));
	assert_false(parse_size("lots", &v));
	assert_false(parse_size("", &v));
	assert_false(parse_size("-1G", &v));
	assert_false(parse_size("1.5", &v));
	assert_false(parse_size("4GG", &v));
	/* what fmt_size writes reads back, exabytes too (found by fuzz_values) */
	char buf[32];
	fmt_size(2220002200020020200ULL, buf, sizeof(buf));
	assert_string_equal(buf, "1.93E");
	assert_true(parse_size(buf, &v));
	assert_true(v > 2210000000000000000ULL && v < 2230000000000000000ULL);
	assert_true(parse_size("15E", &v));
	assert_int_equal(v, 15ULL << 60);
	assert_false(parse_size("16E", &v));
}

static void test_ints(void **state)
{
	(void)state;
	long long v;
	assert_true(parse_int("99", 0, 99, &v));
	assert_int_equal(v, 99);
	assert_false(parse_int("500", 0, 99, &v));
	assert_false(parse_int("9x", 0, 99, &v));
	assert_false(parse_int("", 0, 99, &v));
	assert_true(parse_int("-1", -1, 3, &v));
	assert_int_equal(v, -1);
	assert_false(parse_int("99999999999999999999999", 0, 1LL << 62, &v));
}

static void test_tags(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_true(valid_tag("www", &why));
	assert_true(valid_tag("web-01.prod_x", &why));
	assert_true(valid_tag("2026-11-22@14:45:00", &why));
	assert_true(valid_tag("2026-11-22@14:45:00_2", &why));
	assert_false(valid_tag("has space", &why));
	assert_non_null(why);
	assert_false(valid_tag("", &why));
	assert_false(valid_tag("ALL", &why));
	assert_false(valid_tag("default", &why));
	assert_false(valid_tag("-x", &why));
	assert_false(valid_tag("a@b", &why));
	assert_false(valid_tag("26e8e027-f00c-11e4-8f7f-3c970e80eb61", &why));
	assert_string_equal(why, "a tag cannot look like a UUID");
}

static void test_name_snap(void **state)
{
	(void)state;
	char *n, *s;
	assert_true(split_name_snap("www@snap1", &n, &s));
	assert_string_equal(n, "www");
	assert_string_equal(s, "snap1");
	free(n);
	free(s);
	assert_false(split_name_snap("www", &n, &s));
	assert_string_equal(n, "www");
	assert_null(s);
	free(n);
	assert_false(split_name_snap("2026-11-22@14:45:00", &n, &s));
	assert_string_equal(n, "2026-11-22@14:45:00");
	free(n);
	assert_true(split_name_snap("2026-11-22@14:45:00@x", &n, &s));
	assert_string_equal(n, "2026-11-22@14:45:00");
	assert_string_equal(s, "x");
	free(n);
	free(s);
}

static void test_uuid_hostname(void **state)
{
	(void)state;
	assert_true(valid_uuid("26e8e027-f00c-11e4-8f7f-3c970e80eb61"));
	assert_false(valid_uuid("26e8e027-f00c-11e4-8f7f-3c970e80eb6"));
	assert_false(valid_uuid("26e8e027xf00c-11e4-8f7f-3c970e80eb61"));
	assert_true(valid_hostname("www.example.org"));
	assert_true(valid_hostname("a"));
	assert_false(valid_hostname("-a"));
	assert_false(valid_hostname("a..b"));
	assert_false(valid_hostname("a_b"));
	assert_false(valid_hostname("a."));
	assert_true(valid_ifname("vnet0"));
	assert_false(valid_ifname("a-very-long-interface-name"));
	assert_false(valid_ifname("a/b"));
}

static void test_ip_lists(void **state)
{
	(void)state;
	struct ipaddr_entry e[8];
	size_t n;
	char err[256];
	assert_true(parse_ip_list("vnet0|192.0.2.10/24,vnet0|192.0.2.11/24", 4, e, 8, &n, err,
				  sizeof(err)));
	assert_int_equal(n, 2);
	assert_string_equal(e[1].addr, "192.0.2.11");
	assert_int_equal(e[1].prefix, 24);
	assert_true(parse_ip_list("none", 4, e, 8, &n, err, sizeof(err)));
	assert_int_equal(n, 0);
	assert_false(parse_ip_list("garbage", 4, e, 8, &n, err, sizeof(err)));
	assert_false(parse_ip_list("vnet0|300.1.1.1/24", 4, e, 8, &n, err, sizeof(err)));
	assert_false(parse_ip_list("vnet0|192.0.2.1/33", 4, e, 8, &n, err, sizeof(err)));
	assert_true(parse_ip_list("eth0|2001:db8::5/64", 6, e, 8, &n, err, sizeof(err)));
	assert_false(parse_ip_list("eth0|2001:db8::5/64", 4, e, 8, &n, err, sizeof(err)));
	assert_false(parse_ip_list("eth0|2001:db8::5/129", 6, e, 8, &n, err, sizeof(err)));
	assert_true(parse_ip_list("eth0|192.0.2.1", 4, e, 8, &n, err, sizeof(err)));
	assert_int_equal(e[0].prefix, -1);
}

static void test_interfaces_mac_cpus(void **state)
{
	(void)state;
	struct iface_entry e[10];
	size_t n;
	char err[256];
	assert_true(parse_interfaces("vnet0:bridge0,vnet1:br1", e, 10, &n, err, sizeof(err)));
	assert_int_equal(n, 2);
	assert_string_equal(e[1].bridge, "br1");
	assert_false(parse_interfaces("vnet0", e, 10, &n, err, sizeof(err)));
	assert_false(parse_interfaces("vnet0:b,vnet0:c", e, 10, &n, err, sizeof(err)));
	uint8_t mac[6];
	assert_true(parse_mac("02:ab:cd:00:11:22", mac));
	assert_int_equal(mac[1], 0xab);
	assert_false(parse_mac("02:ab:cd:00:11", mac));
	assert_false(parse_mac("02:ab:cd:00:11:2g", mac));
	uint64_t mask[16];
	int hi;
	assert_true(parse_cpulist("0-1,3", mask, &hi));
	assert_int_equal(hi, 3);
	assert_int_equal(mask[0], 0xb);
	assert_false(parse_cpulist("1-0", mask, &hi));
	assert_false(parse_cpulist("a", mask, &hi));
	assert_false(parse_cpulist("", mask, &hi));
}

static void test_limits(void **state)
{
	(void)state;
	struct limit_val v;
	char err[256];
	assert_true(parse_limit("4G:deny", LU_BYTES, LA_DENY | LA_LOG, &v, err, sizeof(err)));
	assert_int_equal(v.amount, 4ULL << 30);
	assert_int_equal(v.action, LA_DENY);
	assert_true(parse_limit("20:log", LU_PERCENT, LA_DENY | LA_LOG, &v, err, sizeof(err)));
	assert_int_equal(v.action, LA_LOG);
	assert_false(parse_limit("lots:deny", LU_BYTES, LA_DENY, &v, err, sizeof(err)));
	assert_false(parse_limit("abc:deny", LU_PERCENT, LA_DENY, &v, err, sizeof(err)));
	assert_false(parse_limit("10Q:deny", LU_BYTES, LA_DENY, &v, err, sizeof(err)));
	assert_false(parse_limit("64:log", LU_COUNT, LA_DENY, &v, err, sizeof(err)));
	assert_non_null(strstr(err, "not supported"));
	assert_false(parse_limit("64", LU_COUNT, LA_DENY, &v, err, sizeof(err)));
	assert_false(parse_limit("0:deny", LU_PERCENT, LA_DENY, &v, err, sizeof(err)));
	assert_true(
		parse_limit("1h:sigterm", LU_SECONDS, LA_DENY | LA_SIGNAL, &v, err, sizeof(err)));
	assert_int_equal(v.amount, 3600);
	assert_int_equal(v.action, LA_SIGNAL);
	assert_false(
		parse_limit("60:sigbogus", LU_SECONDS, LA_DENY | LA_SIGNAL, &v, err, sizeof(err)));
	/* no wrap-around: 22200022000200200h came out as far fewer seconds (found by
	 * fuzz_values) */
	uint64_t s;
	assert_false(parse_seconds("22200022000200200h", &s));
	assert_false(parse_seconds("213503982334602d", &s));
	assert_true(parse_seconds("213503982334601d", &s));
	assert_int_equal(s, 213503982334601ULL * 86400);
	assert_true(parse_seconds("18446744073709551615", &s));
	assert_false(
		parse_limit("22200022000200200h:deny", LU_SECONDS, LA_DENY, &v, err, sizeof(err)));
}

static void test_forwards(void **state)
{
	(void)state;
	struct nat_forward f[NAT_MAX_FORWARDS];
	size_t n;
	char err[256];
	assert_true(
		parse_forwards("tcp(80:8080),udp(53:53),tcp(443)", f, 64, &n, err, sizeof(err)));
	assert_int_equal(n, 3);
	assert_int_equal(f[0].proto, 6);
	assert_int_equal(f[0].jail_port, 80);
	assert_int_equal(f[0].host_port, 8080);
	assert_int_equal(f[1].proto, 17);
	assert_int_equal(f[1].jail_port, 53);
	assert_int_equal(f[1].host_port, 53);
	assert_int_equal(f[2].jail_port, 443);
	assert_int_equal(f[2].host_port, 443);
	assert_string_equal(forward_proto_name(f[1].proto), "udp");
	assert_true(parse_forwards("none", f, 64, &n, err, sizeof(err)));
	assert_int_equal(n, 0);
	/* the same host port on both protocols is fine, twice on one is not */
	assert_true(parse_forwards("tcp(53),udp(53)", f, 64, &n, err, sizeof(err)));
	assert_int_equal(n, 2);
	assert_false(parse_forwards("tcp(80:8080),tcp(81:8080)", f, 64, &n, err, sizeof(err)));
	assert_non_null(strstr(err, "tcp/8080 is forwarded twice"));
	const char *bad[] = {"sctp(80)", "tcp(0)",         "tcp(65536)",     "tcp(80:)", "tcp(:80)",
			     "tcp(80",   "tcp(80)udp(53)", "tcp(80),",       ",tcp(80)", "tcp()",
			     "tcp(8x)",  "TCP(80)",        "tcp(80:90:100)", "tcp(-1)",  "(80)",
			     "tcp",      "tcp(1234567)"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_false(parse_forwards(bad[i], f, 64, &n, err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
	assert_false(parse_forwards("tcp(1),tcp(2),tcp(3)", f, 2, &n, err, sizeof(err)));
	assert_non_null(strstr(err, "at most 2"));
	/* validation only */
	assert_true(parse_forwards("tcp(22:2222)", NULL, 64, &n, err, sizeof(err)));
}

static void test_nat_prefix(void **state)
{
	(void)state;
	struct nat_prefix p;
	char err[256];
	uint8_t a[16];
	assert_true(parse_nat_prefix("172.29.0.0/16,fd69:6f63:656c::/64", &p, err, sizeof(err)));
	assert_true(p.has4 && p.has6);
	assert_int_equal(p.len4, 16);
	assert_int_equal(p.len6, 64);
	assert_true(parse_nat_prefix("2001:db8:1::/64,198.51.100.0/24", &p, err, sizeof(err)));
	assert_true(p.has4 && p.has6 && p.len4 == 24);
	assert_true(parse_nat_prefix("198.51.100.0/24", &p, err, sizeof(err)));
	assert_true(p.has4 && !p.has6);
	assert_true(parse_nat_prefix("2001:db8::/64", &p, err, sizeof(err)));
	assert_true(!p.has4 && p.has6);
	const char *bad[] = {"198.51.100.1/24",
			     "198.51.100.0/31",
			     "10.0.0.0/7",
			     "2001:db8::/48",
			     "2001:db8::1/64",
			     "198.51.100.0",
			     "198.51.100.0/24,192.0.2.0/24",
			     "x/24",
			     "",
			     "a,b,c",
			     "2001:db8::/64,2001:db8:1::/64"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_false(parse_nat_prefix(bad[i], &p, err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
	assert_true(parse_nat_prefix("198.51.100.0/24,2001:db8:7::/120", &p, err, sizeof(err)));
	assert_true(nat_prefix_host(&p, 4, 1, a));
	assert_memory_equal(a, ((uint8_t[]){198, 51, 100, 1}), 4);
	assert_true(nat_prefix_host(&p, 4, 254, a));
	assert_true(nat_prefix_contains(&p, 4, a));
	assert_false(nat_prefix_host(&p, 4, 255, a)); /* broadcast */
	assert_false(nat_prefix_host(&p, 4, 0, a));   /* network */
	assert_true(nat_prefix_host(&p, 6, 255, a));
	assert_int_equal(a[15], 255);
	assert_int_equal(a[5], 7);
	assert_false(nat_prefix_host(&p, 6, 256, a));
	uint8_t out4[4] = {198, 51, 101, 2};
	assert_false(nat_prefix_contains(&p, 4, out4));
	assert_true(parse_nat_prefix("10.1.0.0/16", &p, err, sizeof(err)));
	assert_true(nat_prefix_host(&p, 4, 258, a));
	assert_memory_equal(a, ((uint8_t[]){10, 1, 1, 2}), 4);
	assert_false(nat_prefix_host(&p, 6, 2, a)); /* no IPv6 prefix */
}

static void test_nat_addr_and_names(void **state)
{
	(void)state;
	bool h4, h6;
	uint8_t a4[4], a6[16];
	assert_true(parse_nat_addr("none", &h4, a4, &h6, a6));
	assert_false(h4 || h6);
	assert_true(parse_nat_addr("198.51.100.2,2001:db8::2", &h4, a4, &h6, a6));
	assert_true(h4 && h6 && a4[3] == 2 && a6[15] == 2);
	assert_true(parse_nat_addr("2001:db8::2", &h4, a4, &h6, a6));
	assert_true(!h4 && h6);
	assert_false(parse_nat_addr("198.51.100.2,198.51.100.3", &h4, a4, &h6, a6));
	assert_false(parse_nat_addr("x", &h4, a4, &h6, a6));
	char names[8][130], err[256];
	size_t n;
	assert_true(parse_name_list("db,cache", names, 8, &n, err, sizeof(err)));
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "cache");
	assert_true(parse_name_list("none", names, 8, &n, err, sizeof(err)));
	assert_int_equal(n, 0);
	assert_false(parse_name_list("db,db", names, 8, &n, err, sizeof(err)));
	assert_non_null(strstr(err, "twice"));
	assert_false(parse_name_list("db,,x", names, 8, &n, err, sizeof(err)));
	assert_false(parse_name_list("a b", names, 8, &n, err, sizeof(err)));
	assert_false(parse_name_list("ALL", names, 8, &n, err, sizeof(err)));
	assert_false(parse_name_list("a,b,c", names, 2, &n, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_name_snap),
		cmocka_unit_test(test_uuid_hostname),
		cmocka_unit_test(test_ip_lists),
		cmocka_unit_test(test_interfaces_mac_cpus),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_forwards),
		cmocka_unit_test(test_nat_prefix),
		cmocka_unit_test(test_nat_addr_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
