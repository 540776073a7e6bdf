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
