#include "core/parse.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool parse_int(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s)
		return false;
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!*p)
		return false;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno || v < min || v > max)
		return false;
	if (out)
		*out = v;
	return true;
}

bool parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || v < 0)
		return false;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'B':
		end--; /* handled below as plain bytes */
		break;
	case 'K': mult = 1ULL << 10; break;
	case 'M': mult = 1ULL << 20; break;
	case 'G': mult = 1ULL << 30; break;
	case 'T': mult = 1ULL << 40; break;
	case 'P': mult = 1ULL << 50; break;
	case 'E': mult = 1ULL << 60; break;
	default: return false;
	}
	if (*end)
		end++;
	if (*end == 'i' && mult > 1)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return false;
	double b = v * (double)mult;
	if (b > 1.8e19)
		return false;
	if (mult == 1 && v != (double)(uint64_t)v)
		return false;
	if (out)
		*out = (uint64_t)b;
	return true;
}

void fmt_size(uint64_t bytes, char *buf, size_t n)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%llu", (unsigned long long)bytes);
	else if (bytes % (1ULL << (10 * u)) == 0) /* exact: 2G, as zfs shows it */
		snprintf(buf, n, "%llu%c", (unsigned long long)(bytes >> (10 * u)), units[u]);
	else if (v < 10)
		snprintf(buf, n, "%.2f%c", v, units[u]);
	else if (v < 100)
		snprintf(buf, n, "%.1f%c", v, units[u]);
	else
		snprintf(buf, n, "%.0f%c", v, units[u]);
}

bool valid_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

size_t date_tag_len(const char *s)
{
	static const char shape[] = "dddd-dd-dd@dd:dd:dd";
	size_t i;
	for (i = 0; shape[i]; i++) {
		if (!s[i])
			return 0;
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return 0;
	}
	return i;
}

bool split_name_snap(const char *arg, char **name, char **snap)
{
	size_t skip = date_tag_len(arg);
	const char *at = strchr(arg + skip, '@');
	if (!at) {
		*name = xstrdup(arg);
		*snap = NULL;
		return false;
	}
	*name = xstrndup(arg, (size_t)(at - arg));
	*snap = xstrdup(at + 1);
	return true;
}

bool valid_tag(const char *s, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (!s || !*s) {
		*why = "a tag cannot be empty";
		return false;
	}
	if (strlen(s) > 128) {
		*why = "a tag is at most 128 characters";
		return false;
	}
	if (!isalnum((unsigned char)s[0])) {
		*why = "a tag starts with a letter or digit";
		return false;
	}
	/* The default tag, creation time YYYY-MM-DD@HH:MM:SS, may carry a _N suffix. */
	for (const char *p = s + date_tag_len(s); *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
			*why = "a tag is made of letters, digits, '.', '_' and '-'";
			return false;
		}
	}
	if (strcmp(s, "ALL") == 0 || strcmp(s, "default") == 0) {
		*why = "ALL and default are reserved words";
		return false;
	}
	if (valid_uuid(s)) {
		*why = "a tag cannot look like a UUID";
		return false;
	}
	return true;
}

bool valid_hostname(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 253)
		return false;
	const char *p = s;
	while (*p) {
		size_t l = strcspn(p, ".");
		if (l == 0 || l > 63 || p[0] == '-' || p[l - 1] == '-')
			return false;
		for (size_t i = 0; i < l; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return false;
		p += l;
		if (*p == '.') {
			p++;
			if (!*p)
				return false;
		}
	}
	return true;
}

bool valid_component(const char *s)
{
	if (!s || !*s || strlen(s) > 200 || !isalnum((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._:-", *p))
			return false;
	return true;
}

bool valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

/* inet_pton of family af (it accepts only the plain forms: dotted quad decimal for IPv4),
 * n bytes into out when given. */
static bool parse_inet(int af, const char *s, uint8_t *out, size_t n)
{
	uint8_t a[sizeof(struct in6_addr)];
	if (inet_pton(af, s, a) != 1)
		return false;
	if (out)
		memcpy(out, a, n);
	return true;
}

bool parse_ipv4(const char *s, uint8_t out[4]) { return parse_inet(AF_INET, s, out, 4); }
bool parse_ipv6(const char *s, uint8_t out[16]) { return parse_inet(AF_INET6, s, out, 16); }

/* The entries of a comma-separated list ("none": no entry), each through fn, which
 * checks entry e and, when store, keeps it as entry i of out; more than max is an error
 * ("at most MAX WHAT"). */
typedef bool (*entry_fn)(char *e, void *out, size_t i, bool store, char *err, size_t errlen);

static bool parse_entries(const char *s, size_t max, const char *what, entry_fn fn, void *out,
			  size_t *n, char *err, size_t errlen)
{
	*n = 0;
	if (strcmp(s, "none") == 0)
		return true;
	_cleanup_strv_ struct strv parts = {0};
	split(&parts, s, ",", false);
	for (size_t i = 0; i < parts.n; i++) {
		if (!fn(parts.v[i], out, *n, *n < max, err, errlen))
			return false;
		if (*n >= max) {
			snprintf(err, errlen, "at most %zu %s", max, what);
			return false;
		}
		(*n)++;
	}
	return true;
}

struct ip_entries {
	struct ipaddr_entry *v;
	int family;
};

static bool ip_entry(char *e, void *out, size_t i, bool store, char *err, size_t errlen)
{
	const struct ip_entries *l = out;
	char *bar = strchr(e, '|');
	if (!bar) {
		snprintf(err, errlen, "'%s' lacks the interface: write IFACE|ADDR/PREFIX", e);
		return false;
	}
	*bar = '\0';
	if (!valid_ifname(e)) {
		snprintf(err, errlen, "'%s' is not a valid interface name", e);
		return false;
	}
	char *addr = bar + 1, *slash = strchr(addr, '/');
	int prefix = -1, maxp = l->family == 4 ? 32 : 128;
	if (slash) {
		*slash = '\0';
		long long p;
		if (!parse_int(slash + 1, 0, maxp, &p)) {
			snprintf(err, errlen, "prefix '%s' is not a number from 0 to %d", slash + 1,
				 maxp);
			return false;
		}
		prefix = (int)p;
	}
	if (!(l->family == 4 ? parse_ipv4(addr, NULL) : parse_ipv6(addr, NULL))) {
		snprintf(err, errlen, "'%s' is not an IPv%d address", addr, l->family);
		return false;
	}
	if (store && l->v) {
		struct ipaddr_entry *o = &l->v[i];
		snprintf(o->iface, sizeof(o->iface), "%s", e);
		snprintf(o->addr, sizeof(o->addr), "%s", addr);
		o->prefix = prefix;
		o->family = l->family;
	}
	return true;
}

bool parse_ip_list(const char *s, int family, struct ipaddr_entry *out, size_t max, size_t *n,
		   char *err, size_t errlen)
{
	struct ip_entries l = {out, family};
	return parse_entries(s, max, "addresses", ip_entry, &l, n, err, errlen);
}

static bool iface_entry(char *e, void *out, size_t i, bool store, char *err, size_t errlen)
{
	struct iface_entry *v = out;
	char *colon = strchr(e, ':');
	if (!colon) {
		snprintf(err, errlen, "'%s' is not nic:bridge", e);
		return false;
	}
	*colon = '\0';
	if (!valid_ifname(e) || !valid_ifname(colon + 1)) {
		snprintf(err, errlen, "'%s:%s' has an invalid interface name", e, colon + 1);
		return false;
	}
	for (size_t j = 0; j < i && v; j++)
		if (strcmp(v[j].nic, e) == 0) {
			snprintf(err, errlen, "nic '%s' is listed twice", e);
			return false;
		}
	if (store && v) {
		snprintf(v[i].nic, sizeof(v[i].nic), "%s", e);
		snprintf(v[i].bridge, sizeof(v[i].bridge), "%s", colon + 1);
	}
	return true;
}

bool parse_interfaces(const char *s, struct iface_entry *out, size_t max, size_t *n, char *err,
		      size_t errlen)
{
	return parse_entries(s, max, "interfaces", iface_entry, out, n, err, errlen);
}

bool parse_mac(const char *s, uint8_t out[6])
{
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return false;
		if (i < 5 && s[i * 3 + 2] != ':')
			return false;
		if (out)
			out[i] = (uint8_t)v[i];
	}
	return true;
}

bool parse_cpulist(const char *s, uint64_t mask[16], int *maxcpu)
{
	if (!s || !*s)
		return false;
	memset(mask, 0, 16 * sizeof(uint64_t));
	int hi = -1;
	struct strv parts = {0};
	split(&parts, s, ",", false);
	bool ok = true;
	for (size_t i = 0; i < parts.n && ok; i++) {
		char *e = parts.v[i], *dash = strchr(e, '-');
		long long a, b;
		if (dash) {
			*dash = '\0';
			ok = parse_int(e, 0, 1023, &a) && parse_int(dash + 1, 0, 1023, &b) &&
			     a <= b && e[0] != '-' && e[0] != '+' && dash[1] != '+';
		} else {
			ok = parse_int(e, 0, 1023, &a) && e[0] != '+';
			b = a;
		}
		for (long long c = a; ok && c <= b; c++) {
			mask[c / 64] |= 1ULL << (c % 64);
			if (c > hi)
				hi = (int)c;
		}
	}
	sv_free(&parts);
	if (ok && maxcpu)
		*maxcpu = hi;
	return ok;
}

bool parse_seconds(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	uint64_t m = 1;
	if (*end) {
		if (end[1])
			return false;
		switch (*end) {
		case 's': m = 1; break;
		case 'm': m = 60; break;
		case 'h': m = 3600; break;
		case 'd': m = 86400; break;
		default: return false;
		}
	}
	if (v > UINT64_MAX / m)
		return false;
	if (out)
		*out = v * m;
	return true;
}

static int signal_by_name(const char *s)
{
	static const struct {
		const char *n;
		int sig;
	} sigs[] = {
		{"sighup", SIGHUP},   {"sigint", SIGINT},   {"sigquit", SIGQUIT},
		{"sigkill", SIGKILL}, {"sigterm", SIGTERM}, {"sigusr1", SIGUSR1},
		{"sigusr2", SIGUSR2}, {"sigxcpu", SIGXCPU}, {"sigxfsz", SIGXFSZ},
		{"sigstop", SIGSTOP},
	};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(s, sigs[i].n) == 0)
			return sigs[i].sig;
	return 0;
}

static const char *unit_form(enum limit_unit u)
{
	switch (u) {
	case LU_BYTES: return "a size like 512M or 4G";
	case LU_COUNT: return "a whole number";
	case LU_PERCENT: return "a percentage of one CPU (e.g. 20, or 150 for 1.5 CPUs)";
	case LU_SECONDS: return "seconds (e.g. 3600 or 1h)";
	}
	return "";
}

bool parse_limit(const char *s, enum limit_unit unit, int allowed, struct limit_val *out, char *err,
		 size_t errlen)
{
	const char *colon = strrchr(s, ':');
	if (!colon) {
		snprintf(err, errlen, "'%s' is not AMOUNT:ACTION (e.g. %s:deny) or off", s,
			 unit == LU_BYTES ? "4G" : "100");
		return false;
	}
	char *amount = xstrndup(s, (size_t)(colon - s));
	const char *action = colon + 1;
	struct limit_val v = {0};
	bool ok;
	switch (unit) {
	case LU_BYTES: ok = parse_size(amount, &v.amount); break;
	case LU_SECONDS: ok = parse_seconds(amount, &v.amount); break;
	case LU_PERCENT:
	case LU_COUNT: {
		long long n;
		ok = parse_int(amount, 0, (long long)1 << 40, &n) && amount[0] != '-' &&
		     amount[0] != '+';
		v.amount = (uint64_t)n;
		break;
	}
	default: ok = false;
	}
	if (!ok) {
		snprintf(err, errlen, "amount '%s' is not %s", amount, unit_form(unit));
		free(amount);
		return false;
	}
	if (unit == LU_PERCENT && v.amount == 0) {
		snprintf(err, errlen, "a CPU percentage must be above 0");
		free(amount);
		return false;
	}
	free(amount);
	if (strcmp(action, "deny") == 0)
		v.action = LA_DENY;
	else if (strcmp(action, "log") == 0)
		v.action = LA_LOG;
	else if ((v.signo = signal_by_name(action)) != 0)
		v.action = LA_SIGNAL;
	else {
		snprintf(err, errlen, "action '%s' is not deny, log or a signal name (sigterm...)",
			 action);
		return false;
	}
	if (!(v.action & allowed)) {
		const char *mech = v.action == LA_LOG      ? "log"
				   : v.action == LA_SIGNAL ? "signal"
							   : "deny";
		snprintf(err, errlen,
			 "action '%s' is not supported for this limit on Linux (%s actions "
			 "are not available with its mechanism); use %s",
			 action, mech,
			 (allowed & LA_LOG)      ? "deny or log"
			 : (allowed & LA_SIGNAL) ? "deny or a signal"
						 : "deny");
		return false;
	}
	if (out)
		*out = v;
	return true;
}

int fstab_parse_line(const char *line, char *src, size_t srclen, char *dst, size_t dstlen,
		     struct fstab_opts *opts, char *err, size_t errlen)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#' || *p == '\n')
		return 0;
	_cleanup_strv_ struct strv f = {0};
	split(&f, p, " \t\n", true);
	if (f.n < 4) {
		snprintf(err, errlen, "expected 'SRC DEST bind ro|rw', got '%s'", p);
		return -1;
	}
	if (strcmp(f.v[2], "bind") != 0 && strcmp(f.v[2], "nullfs") != 0) {
		snprintf(err, errlen, "type '%s' is not supported (use bind)", f.v[2]);
		return -1;
	}
	_cleanup_strv_ struct strv o = {0};
	split(&o, f.v[3], ",", true);
	struct fstab_opts r = {0};
	for (size_t i = 0; i < o.n; i++) {
		if (strcmp(o.v[i], "ro") == 0) {
			r.ro = true;
		} else if (strcmp(o.v[i], "rw") == 0) {
			r.ro = false;
		} else if (strcmp(o.v[i], "dev") == 0) {
			r.dev = true;
		} else if (strcmp(o.v[i], "nodev") == 0) {
			r.dev = false;
		} else {
			snprintf(err, errlen, "option '%s' of '%s' is not ro, rw, dev or nodev",
				 o.v[i], f.v[3]);
			return -1;
		}
	}
	if (f.v[0][0] != '/' || f.v[1][0] != '/') {
		snprintf(err, errlen, "SRC and DEST must be absolute paths");
		return -1;
	}
	if (strlen(f.v[0]) >= srclen || strlen(f.v[1]) >= dstlen) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	strcpy(src, f.v[0]);
	strcpy(dst, f.v[1]);
	*opts = r;
	return 1;
}

/* ---- NAT and boot ------------------------------------------------------------------ */

const char *forward_proto_name(int proto) { return proto == 17 ? "udp" : "tcp"; }

/* One port 1-65535 from s[0..len). */
static bool port_of(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	long long v;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!parse_int(buf, 1, 65535, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

bool parse_forwards(const char *s, struct nat_forward *out, size_t max, size_t *n, char *err,
		    size_t errlen)
{
	*n = 0;
	if (strcmp(s, "none") == 0)
		return true;
	struct nat_forward seen[NAT_MAX_FORWARDS];
	const char *p = s;
	for (;;) {
		struct nat_forward f;
		const char *open = strchr(p, '(');
		size_t plen = open ? (size_t)(open - p) : 0;
		if (plen == 3 && strncmp(p, "tcp", 3) == 0)
			f.proto = 6;
		else if (plen == 3 && strncmp(p, "udp", 3) == 0)
			f.proto = 17;
		else {
			snprintf(err, errlen, "'%.*s' is not tcp(PORT[:HOSTPORT]) or udp(...)",
				 (int)strcspn(p, ","), p);
			return false;
		}
		const char *in = open + 1, *close = strchr(in, ')');
		if (!close) {
			snprintf(err, errlen, "'%s' lacks the closing parenthesis", p);
			return false;
		}
		const char *colon = memchr(in, ':', (size_t)(close - in));
		size_t jl = colon ? (size_t)(colon - in) : (size_t)(close - in);
		if (!port_of(in, jl, &f.jail_port) ||
		    (colon && !port_of(colon + 1, (size_t)(close - colon - 1), &f.host_port))) {
			snprintf(err, errlen, "'%.*s': ports are numbers from 1 to 65535",
				 (int)(close - p + 1), p);
			return false;
		}
		if (!colon)
			f.host_port = f.jail_port;
		for (size_t i = 0; i < *n; i++)
			if (seen[i].proto == f.proto && seen[i].host_port == f.host_port) {
				snprintf(err, errlen, "host port %s/%u is forwarded twice",
					 forward_proto_name(f.proto), f.host_port);
				return false;
			}
		if (*n >= max || *n >= NAT_MAX_FORWARDS) {
			snprintf(err, errlen, "at most %zu forwards",
				 max < NAT_MAX_FORWARDS ? max : (size_t)NAT_MAX_FORWARDS);
			return false;
		}
		seen[*n] = f;
		if (out)
			out[*n] = f;
		(*n)++;
		p = close + 1;
		if (*p == '\0')
			return true;
		if (*p != ',' || p[1] == '\0') {
			snprintf(err, errlen, "'%s': forwards are separated by commas", p);
			return false;
		}
		p++;
	}
}

/* "ADDR/LEN" of family with len in [lo, hi] and no host bits. */
static bool prefix_of(const char *e, int family, int lo, int hi, uint8_t *net, int *len, char *err,
		      size_t errlen)
{
	const char *slash = strchr(e, '/');
	char addr[64];
	long long l;
	if (!slash || (size_t)(slash - e) >= sizeof(addr)) {
		snprintf(err, errlen, "'%s' is not NETWORK/LENGTH", e);
		return false;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - e), e);
	if (!(family == 4 ? parse_ipv4(addr, net) : parse_ipv6(addr, net))) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 network", e);
		return false;
	}
	if (!parse_int(slash + 1, lo, hi, &l)) {
		snprintf(err, errlen, "the length of an IPv%d NAT prefix is %d to %d ('%s')",
			 family, lo, hi, e);
		return false;
	}
	*len = (int)l;
	int bytes = family == 4 ? 4 : 16;
	for (int b = *len; b < bytes * 8; b++)
		if (net[b / 8] & (0x80 >> (b % 8))) {
			snprintf(err, errlen, "'%s' has host bits set: not a network address", e);
			return false;
		}
	return true;
}

bool parse_nat_prefix(const char *s, struct nat_prefix *out, char *err, size_t errlen)
{
	struct nat_prefix p;
	memset(&p, 0, sizeof(p));
	struct strv parts = {0};
	split(&parts, s, ",", false);
	bool ok = parts.n >= 1 && parts.n <= 2;
	if (!ok)
		snprintf(err, errlen, "one IPv4 and/or one IPv6 prefix, comma-separated");
	for (size_t i = 0; i < parts.n && ok; i++) {
		bool v6 = strchr(parts.v[i], ':') != NULL;
		if ((v6 && p.has6) || (!v6 && p.has4)) {
			snprintf(err, errlen, "two IPv%d prefixes", v6 ? 6 : 4);
			ok = false;
		} else if (v6) {
			ok = p.has6 = prefix_of(parts.v[i], 6, 64, 120, p.net6, &p.len6, err,
						errlen);
		} else {
			ok = p.has4 = prefix_of(parts.v[i], 4, 8, 30, p.net4, &p.len4, err, errlen);
		}
	}
	sv_free(&parts);
	if (ok && out)
		*out = p;
	return ok;
}

bool nat_prefix_contains(const struct nat_prefix *p, int family, const uint8_t *addr)
{
	if (family == 4 ? !p->has4 : !p->has6)
		return false;
	const uint8_t *net = family == 4 ? p->net4 : p->net6;
	int len = family == 4 ? p->len4 : p->len6;
	for (int b = 0; b < len; b++)
		if ((addr[b / 8] ^ net[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

bool nat_prefix_host(const struct nat_prefix *p, int family, uint64_t idx, uint8_t *out)
{
	if (family == 4 ? !p->has4 : !p->has6)
		return false;
	int bytes = family == 4 ? 4 : 16, len = family == 4 ? p->len4 : p->len6;
	int hostbits = bytes * 8 - len;
	/* IPv4: not the network (0) nor the broadcast address; IPv6: not the subnet-router
	 * anycast address (0).  Large IPv6 prefixes: the first 2^32 hosts are plenty. */
	uint64_t limit = hostbits >= 32 ? (1ULL << 32) : (1ULL << hostbits);
	if (idx == 0 || idx >= limit || (family == 4 && idx == limit - 1))
		return false;
	memcpy(out, family == 4 ? p->net4 : p->net6, (size_t)bytes);
	for (int i = 0; i < 4 && i < bytes; i++)
		out[bytes - 1 - i] |= (uint8_t)(idx >> (8 * i));
	return true;
}

bool parse_nat_addr(const char *s, bool *has4, uint8_t a4[4], bool *has6, uint8_t a6[16])
{
	*has4 = *has6 = false;
	if (strcmp(s, "none") == 0)
		return true;
	struct strv parts = {0};
	split(&parts, s, ",", false);
	bool ok = parts.n >= 1 && parts.n <= 2;
	for (size_t i = 0; i < parts.n && ok; i++) {
		if (strchr(parts.v[i], ':'))
			ok = !*has6 && (*has6 = parse_ipv6(parts.v[i], a6));
		else
			ok = !*has4 && (*has4 = parse_ipv4(parts.v[i], a4));
	}
	sv_free(&parts);
	return ok;
}

bool parse_name_list(const char *s, char (*out)[130], size_t max, size_t *n, char *err,
		     size_t errlen)
{
	*n = 0;
	if (strcmp(s, "none") == 0)
		return true;
	struct strv parts = {0};
	split(&parts, s, ",", false);
	bool ok = true;
	for (size_t i = 0; i < parts.n && ok; i++) {
		const char *why = NULL, *e = parts.v[i];
		if (!valid_uuid(e) && !valid_tag(e, &why)) {
			snprintf(err, errlen, "'%s' is not a jail name (%s)", e,
				 why ? why : "a tag or UUID");
			ok = false;
		}
		for (size_t k = 0; k < i && ok; k++)
			if (strcmp(parts.v[k], e) == 0) {
				snprintf(err, errlen, "'%s' is listed twice", e);
				ok = false;
			}
		if (ok && *n >= max) {
			snprintf(err, errlen, "at most %zu names", max);
			ok = false;
		}
		if (ok && out)
			snprintf(out[*n], 130, "%s", e);
		if (ok)
			(*n)++;
	}
	sv_free(&parts);
	return ok;
}
