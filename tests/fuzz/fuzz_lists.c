/* Fuzz target: list values of core/parse.c (ip4_addr / ip6_addr lists, interfaces,
 * CPU lists) and the list column of `list`.  First byte: the parser (see cases[]); a
 * new list parser (e.g. nat_forwards) is one more row there. */
#include "fuzz.h"

#include "core/jails.h"
#include "core/parse.h"

static void ip_list(const char *s, int family)
{
	struct ipaddr_entry e[8];
	size_t n = 99;
	char err[256] = "";
	if (!parse_ip_list(s, family, e, 8, &n, err, sizeof(err))) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(n <= 8);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(e[i].family == family && valid_ifname(e[i].iface));
		FUZZ_CHECK(e[i].prefix >= -1 && e[i].prefix <= (family == 4 ? 32 : 128));
		uint8_t bin[16];
		FUZZ_CHECK(family == 4 ? parse_ipv4(e[i].addr, bin) : parse_ipv6(e[i].addr, bin));
	}
	/* without room for the entries: the same verdict on the text, nothing written */
	size_t m;
	FUZZ_CHECK(parse_ip_list(s, family, NULL, 8, &m, err, sizeof(err)) && m == n);
}

static void ip4_list(const char *s) { ip_list(s, 4); }
static void ip6_list(const char *s) { ip_list(s, 6); }

static void interfaces(const char *s)
{
	struct iface_entry e[4];
	size_t n = 99;
	char err[256] = "";
	if (!parse_interfaces(s, e, 4, &n, err, sizeof(err))) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(n <= 4);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(valid_ifname(e[i].nic) && valid_ifname(e[i].bridge));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(e[i].nic, e[j].nic) != 0);
	}
}

static void cpulist(const char *s)
{
	uint64_t mask[16];
	int hi = -7;
	if (!parse_cpulist(s, mask, &hi))
		return;
	FUZZ_CHECK(hi >= 0 && hi < 1024);
	FUZZ_CHECK(mask[hi / 64] & (1ULL << (hi % 64)));
	for (int c = hi + 1; c < 1024; c++)
		FUZZ_CHECK(!(mask[c / 64] & (1ULL << (c % 64))));
}

static void ip_col(const char *s)
{
	char *c = ip_column(s);
	FUZZ_CHECK(c && !strchr(c, '/'));
	free(c);
}

static const struct fuzz_case cases[] = {
	{'4', "ip4_addr list", ip4_list},   {'6', "ip6_addr list", ip6_list},
	{'i', "interfaces", interfaces},    {'c', "cpuset CPU list", cpulist},
	{'l', "list's IP4 column", ip_col},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dispatch(cases, FUZZ_N(cases), data, size);
	return 0;
}
