/* Fuzz target: single values of core/parse.c (sizes, integers, seconds, limits for each
 * unit, IPv4/IPv6 addresses, MACs).  First byte: the parser (see cases[]). */
#include "fuzz.h"

#include "core/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <signal.h>

static void size_case(const char *s)
{
	uint64_t v;
	if (!parse_size(s, &v))
		return;
	/* fmt_size's output (1.50G, 512M, 12K) reads back as about the same size */
	char buf[32];
	fmt_size(v, buf, sizeof(buf));
	uint64_t back;
	FUZZ_CHECK(parse_size(buf, &back));
	double d = (double)back - (double)v;
	FUZZ_CHECK(d <= (double)v / 100 + 1 && -d <= (double)v / 100 + 1);
}

static void int_case(const char *s)
{
	long long v;
	if (parse_int(s, -5, 1000, &v))
		FUZZ_CHECK(v >= -5 && v <= 1000);
	if (parse_int(s, LLONG_MIN, LLONG_MAX, &v)) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", v);
		/* the same number: digits after an optional sign and leading zeros */
		const char *p = s + (*s == '+' || *s == '-');
		while (*p == '0' && p[1])
			p++;
		FUZZ_CHECK(strcmp(buf + (buf[0] == '-'), p) == 0);
	}
}

static void seconds_case(const char *s)
{
	uint64_t v;
	if (!parse_seconds(s, &v))
		return;
	/* the amount in s times its unit, without wrapping */
	unsigned long long n = strtoull(s, NULL, 10);
	if (n == 0) {
		FUZZ_CHECK(v == 0);
		return;
	}
	uint64_t unit = v / n;
	FUZZ_CHECK(v % n == 0 && (unit == 1 || unit == 60 || unit == 3600 || unit == 86400));
}

static void limit(const char *s, enum limit_unit unit)
{
	struct limit_val v;
	char err[256];
	const int all = LA_DENY | LA_LOG | LA_SIGNAL;
	if (parse_limit(s, unit, all, &v, err, sizeof(err))) {
		FUZZ_CHECK(v.action == LA_DENY || v.action == LA_LOG || v.action == LA_SIGNAL);
		FUZZ_CHECK((v.action == LA_SIGNAL) == (v.signo > 0 && v.signo < NSIG));
		FUZZ_CHECK(unit != LU_PERCENT || v.amount > 0);
		/* deny alone allowed: nothing else gets through */
		struct limit_val d;
		FUZZ_CHECK(parse_limit(s, unit, LA_DENY, &d, err, sizeof(err)) ==
			   (v.action == LA_DENY));
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
}

static void limit_bytes(const char *s) { limit(s, LU_BYTES); }
static void limit_count(const char *s) { limit(s, LU_COUNT); }
static void limit_percent(const char *s) { limit(s, LU_PERCENT); }
static void limit_seconds(const char *s) { limit(s, LU_SECONDS); }

static void ipv4_case(const char *s)
{
	uint8_t a[4];
	if (!parse_ipv4(s, a))
		return;
	char buf[INET_ADDRSTRLEN];
	FUZZ_CHECK(inet_ntop(AF_INET, a, buf, sizeof(buf)) && strcmp(buf, s) == 0);
}

static void ipv6_case(const char *s)
{
	uint8_t a[16], b[16];
	if (!parse_ipv6(s, a))
		return;
	char buf[INET6_ADDRSTRLEN];
	FUZZ_CHECK(inet_ntop(AF_INET6, a, buf, sizeof(buf)) && parse_ipv6(buf, b));
	FUZZ_CHECK(memcmp(a, b, 16) == 0);
}

static void mac_case(const char *s)
{
	uint8_t m[6];
	if (!parse_mac(s, m))
		return;
	char buf[18];
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	for (size_t i = 0; i < 17; i++)
		FUZZ_CHECK(buf[i] == tolower((unsigned char)s[i]));
	FUZZ_CHECK(s[17] == '\0');
}

static const struct fuzz_case cases[] = {
	{'s', "size", size_case},
	{'i', "int", int_case},
	{'t', "seconds", seconds_case},
	{'B', "limit of bytes", limit_bytes},
	{'C', "limit of a count", limit_count},
	{'P', "limit of a CPU percentage", limit_percent},
	{'T', "limit of seconds", limit_seconds},
	{'4', "IPv4 address", ipv4_case},
	{'6', "IPv6 address", ipv6_case},
	{'m', "MAC address", mac_case},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dispatch(cases, FUZZ_N(cases), data, size);
	return 0;
}
