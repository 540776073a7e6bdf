/* NAT jails: iocell's bridge, forwarding, the nftables chains (see jailnat.h). */
#include "linux/jailnat.h"
#include "linux/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- uplink, bridge, sysctls ------------------------------------------------------------ */

int nat_uplink(struct nl *host, const struct jailconf *c, char out[IFNAMSIZ])
{
	struct link l;
	if (c->nat_iface[0]) {
		int r = link_get(host, c->nat_iface, &l);
		if (r < 0)
			return -1;
		if (r == 0) {
			ioc_err("nat_interface %s of jail %s does not exist", c->nat_iface, c->tag);
			ioc_hint(
				"set nat_interface to the host's uplink, or auto (the interface of "
				"the default route)");
			return -1;
		}
		snprintf(out, IFNAMSIZ, "%s", c->nat_iface);
		return 0;
	}
	int oif = 0, r = 0;
	for (int f = 4; f <= 6 && r == 0; f += 2)
		if ((r = route_default_oif(host, f, &oif)) < 0)
			return -1;
	if (r == 0) {
		ioc_err("jail %s: nat_interface=auto, but the host has no default route", c->tag);
		ioc_hint("set nat_interface=IFACE (the host's uplink)");
		return -1;
	}
	if ((r = link_get_index(host, oif, &l)) <= 0) {
		if (r == 0)
			ioc_err("the interface of the host's default route (%d) vanished", oif);
		return -1;
	}
	if (streq(l.name, NAT_BRIDGE)) {
		ioc_err("the host's default route goes through %s, iocell's NAT bridge",
			NAT_BRIDGE);
		ioc_hint("set nat_interface to the host's uplink");
		return -1;
	}
	snprintf(out, IFNAMSIZ, "%s", l.name);
	return 0;
}

static int sysctl_read(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = read(fd, buf, n - 1);
	close(fd);
	if (k < 0)
		return -1;
	buf[k] = '\0';
	chomp(buf);
	return 0;
}

static int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int saved = errno;
	if (fd >= 0) {
		ssize_t k = write(fd, val, strlen(val));
		saved = errno;
		close(fd);
		if (k == (ssize_t)strlen(val))
			return 0;
	}
	ioc_err("cannot set %s to %s: %s", path, val, strerror(saved));
	return -1;
}

static void gw_text(const struct jailconf *c, int family, char *out, size_t n)
{
	uint8_t a[16];
	out[0] = '\0';
	if (jc_nat_host(c, family, 1, a))
		inet_ntop(family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)n);
}

int nat_bridge(struct nl *host, const struct jailconf *c, int *index)
{
	struct link l;
	int r = link_get(host, NAT_BRIDGE, &l);
	if (r < 0)
		return -1;
	if (r == 0) {
		int e = bridge_create(host, NAT_BRIDGE);
		if (e < 0 && e != -EEXIST) {
			ioc_err("cannot create the NAT bridge %s: %s", NAT_BRIDGE, nl_why(host, e));
			return -1;
		}
		if ((r = link_get(host, NAT_BRIDGE, &l)) <= 0) {
			if (r == 0)
				ioc_err("the bridge %s vanished right after it was created",
					NAT_BRIDGE);
			return -1;
		}
	}
	if (!streq(l.kind, "bridge")) {
		ioc_err("%s exists and is not a bridge (it is %s): iocell's NAT needs that name",
			NAT_BRIDGE, l.kind[0] ? l.kind : "a plain interface");
		return -1;
	}
	int e = (l.flags & IFF_UP) ? 0 : link_up(host, l.index);
	if (e < 0) {
		ioc_err("cannot bring up %s: %s", NAT_BRIDGE, nl_why(host, e));
		return -1;
	}
	/* IPv4 loopback forwards leave by this bridge with a 127/8 source until the
	 * masquerade of chain "loopback" (the guard chain keeps jails off the host's lo). */
	if (c->nat4 &&
	    sysctl_write("/proc/sys/net/ipv4/conf/" NAT_BRIDGE "/route_localnet", "1") < 0)
		return -1;
	for (int f = 4; f <= 6; f += 2) {
		if (f == 4 ? !c->nat4 : !c->nat6)
			continue;
		uint8_t gw[16];
		jc_nat_host(c, f, 1, gw);
		int len = f == 4 ? c->nat_prefix.len4 : c->nat_prefix.len6;
		e = addr_add(host, l.index, f, gw, len);
		if (e < 0 && e != -EEXIST) {
			char t[64];
			gw_text(c, f, t, sizeof(t));
			ioc_err("cannot add the NAT gateway address %s/%d to %s: %s", t, len,
				NAT_BRIDGE, nl_why(host, e));
			return -1;
		}
	}
	*index = l.index;
	return 0;
}

int nat_forwarding(const struct jailconf *c, const char *uplink)
{
	char v[32];
	if (c->nat4 &&
	    (sysctl_read("/proc/sys/net/ipv4/ip_forward", v, sizeof(v)) < 0 || !streq(v, "1")) &&
	    sysctl_write("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		return -1;
	if (!c->nat6)
		return 0;
	static const char fw6[] = "/proc/sys/net/ipv6/conf/all/forwarding";
	if (sysctl_read(fw6, v, sizeof(v)) == 0 && streq(v, "1"))
		return 0;
	/* Forwarding makes interfaces with accept_ra=1 ignore router advertisements: the
	 * uplink keeps accepting them as it did (2: even when forwarding). */
	_cleanup_free_ char *ra = xasprintf("/proc/sys/net/ipv6/conf/%s/accept_ra", uplink);
	if (sysctl_read(ra, v, sizeof(v)) == 0 && streq(v, "1") && sysctl_write(ra, "2") < 0)
		return -1;
	return sysctl_write(fw6, "1");
}

/* ---- running jails --------------------------------------------------------------------- */

static int check_against(const struct jailconf *c, const struct runstate *o)
{
	if (!streq(rs_get(o, prop_name(P_NAT)), "on") || !rs_alive(o))
		return 0;
	const char *tag = rs_get(o, prop_name(P_TAG));
	tag = tag ? tag : "?";
	struct nat_forward f[NAT_MAX_FORWARDS];
	size_t n = 0;
	char why[256];
	const char *fw = rs_get(o, prop_name(P_NAT_FORWARDS));
	if (fw && parse_forwards(fw, f, NAT_MAX_FORWARDS, &n, why, sizeof(why)))
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < c->nforwards; k++)
				if (f[i].proto == c->forwards[k].proto &&
				    f[i].host_port == c->forwards[k].host_port) {
					ioc_err("host port %s/%u is already forwarded to jail %s "
						"(%s)",
						forward_proto_name(f[i].proto), f[i].host_port, tag,
						o->uuid);
					ioc_hint("change nat_forwards of %s or of %s", c->tag, tag);
					return -1;
				}
	bool h4, h6;
	uint8_t a4[4], a6[16];
	const char *na = rs_get(o, prop_name(P_NAT_ADDR));
	if (na && parse_nat_addr(na, &h4, a4, &h6, a6) &&
	    ((h4 && c->nat_has4 && memcmp(a4, c->nat_addr4, 4) == 0) ||
	     (h6 && c->nat_has6 && memcmp(a6, c->nat_addr6, 16) == 0))) {
		ioc_err("NAT address %s of jail %s is in use by the running jail %s (%s)", na,
			c->tag, tag, o->uuid);
		return -1;
	}
	return 0;
}

int nat_check_running(const struct jailconf *c)
{
	_cleanup_strv_ struct strv ids = {0};
	if (rs_list(&ids) < 0)
		return -1;
	for (size_t i = 0; i < ids.n; i++) {
		if (streq(ids.v[i], c->uuid))
			continue;
		struct runstate o;
		int r = rs_read(ids.v[i], &o);
		int rc = r == 1 ? check_against(c, &o) : 0;
		if (r != 1)
			ioc_err_clear();
		rs_free(&o);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---- the nftables table ------------------------------------------------------------------ */

static const char *const suffixes[] = {"pre", "out", "post"};

#define MATCH(b, left, op, right) \
	sb_printf(b, "{\"match\":{\"op\":\"%s\",\"left\":%s,\"right\":%s}},", op, left, right)

static void add_chain(struct sbuf *b, const char *name, const char *type, const char *hook,
		      int prio)
{
	sb_printf(b,
		  "{\"add\":{\"chain\":{\"family\":\"inet\",\"table\":\"" NFT_TABLE
		  "\",\"name\":\"%s\",\"type\":\"%s\",\"hook\":\"%s\",\"prio\":%d,"
		  "\"policy\":\"accept\"}}},"
		  "{\"flush\":{\"chain\":{\"family\":\"inet\",\"table\":\"" NFT_TABLE
		  "\",\"name\":\"%s\"}}},",
		  name, type, hook, prio, name);
}

/* A rule: the expressions (each ending with ',') in exprs, then the verdict. */
static void add_rule(struct sbuf *b, const char *chain, const char *comment, const char *exprs,
		     const char *verdict)
{
	sb_printf(b,
		  "{\"add\":{\"rule\":{\"family\":\"inet\",\"table\":\"" NFT_TABLE
		  "\",\"chain\":\"%s\",\"comment\":\"%s\",\"expr\":[%s%s]}}},",
		  chain, comment, exprs, verdict);
}

static const char *fam_proto(int f) { return f == 4 ? "ip" : "ip6"; }

static void addr_match(struct sbuf *e, int f, const char *field, const char *op, const char *addr)
{
	char left[96], right[80];
	snprintf(left, sizeof(left), "{\"payload\":{\"protocol\":\"%s\",\"field\":\"%s\"}}",
		 fam_proto(f), field);
	snprintf(right, sizeof(right), "\"%s\"", addr);
	MATCH(e, left, op, right);
}

static void ifname_match(struct sbuf *e, const char *key, const char *name)
{
	char left[64], right[32];
	snprintf(left, sizeof(left), "{\"meta\":{\"key\":\"%s\"}}", key);
	snprintf(right, sizeof(right), "\"%s\"", name);
	MATCH(e, left, "==", right);
}

/* The table's fixed part (see jailnat.h). */
static void fixed_part(struct sbuf *b)
{
	sb_printf(b, "{\"add\":{\"table\":{\"family\":\"inet\",\"name\":\"" NFT_TABLE "\"}}},");
	add_chain(b, "guard", "filter", "prerouting", -300);
	static const char lo8[] = "{\"prefix\":{\"addr\":\"127.0.0.0\",\"len\":8}}";
	static const char saddr[] = "{\"payload\":{\"protocol\":\"ip\",\"field\":\"saddr\"}}";
	static const char daddr[] = "{\"payload\":{\"protocol\":\"ip\",\"field\":\"daddr\"}}";
	const char *fields[] = {saddr, daddr};
	for (int i = 0; i < 2; i++) {
		struct sbuf e;
		sb_init(&e);
		ifname_match(&e, "iifname", NAT_BRIDGE);
		MATCH(&e, fields[i], "==", lo8);
		add_rule(b, "guard", "iocell", e.s, "{\"drop\":null}");
		sb_free(&e);
	}
	add_chain(b, "loopback", "nat", "postrouting", 100);
	struct sbuf e;
	sb_init(&e);
	ifname_match(&e, "oifname", NAT_BRIDGE);
	MATCH(&e, saddr, "==", lo8);
	add_rule(b, "loopback", "iocell", e.s, "{\"masquerade\":null}");
	sb_free(&e);
}

static void forward_rules(struct sbuf *b, const struct jailconf *c, const char *chain,
			  const char *comment, bool output)
{
	static const char fib[] = "{\"fib\":{\"result\":\"type\",\"flags\":[\"daddr\"]}}";
	static const char nfproto[] = "{\"meta\":{\"key\":\"nfproto\"}}";
	for (size_t i = 0; i < c->nforwards; i++) {
		const struct nat_forward *fw = &c->forwards[i];
		for (int f = 4; f <= 6; f += 2) {
			if (f == 4 ? !c->nat_has4 : !c->nat_has6)
				continue;
			char addr[INET6_ADDRSTRLEN], port[16], dport[96], verdict[160];
			inet_ntop(f == 4 ? AF_INET : AF_INET6,
				  f == 4 ? (const void *)c->nat_addr4 : (const void *)c->nat_addr6,
				  addr, sizeof(addr));
			struct sbuf e;
			sb_init(&e);
			MATCH(&e, nfproto, "==", f == 4 ? "\"ipv4\"" : "\"ipv6\"");
			MATCH(&e, fib, "==", "\"local\"");
			if (output && f == 6)
				addr_match(&e, 6, "daddr", "!=", "::1");
			snprintf(dport, sizeof(dport),
				 "{\"payload\":{\"protocol\":\"%s\",\"field\":\"dport\"}}",
				 forward_proto_name(fw->proto));
			snprintf(port, sizeof(port), "%u", fw->host_port);
			MATCH(&e, dport, "==", port);
			snprintf(verdict, sizeof(verdict),
				 "{\"dnat\":{\"family\":\"%s\",\"addr\":\"%s\",\"port\":%u}}",
				 fam_proto(f), addr, fw->jail_port);
			add_rule(b, chain, comment, e.s, verdict);
			sb_free(&e);
		}
	}
}

int nat_rules_add(const struct jailconf *c, const char *uplink)
{
	struct sbuf b;
	sb_init(&b);
	sb_add(&b, "{\"nftables\":[");
	fixed_part(&b);
	char comment[64], chain[3][64];
	snprintf(comment, sizeof(comment), "iocell:%s", c->uuid);
	for (int i = 0; i < 3; i++)
		snprintf(chain[i], sizeof(chain[i]), "j-%s-%s", c->uuid, suffixes[i]);
	add_chain(&b, chain[0], "nat", "prerouting", -100);
	add_chain(&b, chain[1], "nat", "output", -100);
	add_chain(&b, chain[2], "nat", "postrouting", 100);
	forward_rules(&b, c, chain[0], comment, false);
	forward_rules(&b, c, chain[1], comment, true);
	for (int f = 4; f <= 6; f += 2) {
		if (f == 4 ? !c->nat_has4 : !c->nat_has6)
			continue;
		char addr[INET6_ADDRSTRLEN];
		inet_ntop(f == 4 ? AF_INET : AF_INET6,
			  f == 4 ? (const void *)c->nat_addr4 : (const void *)c->nat_addr6, addr,
			  sizeof(addr));
		struct sbuf e;
		sb_init(&e);
		ifname_match(&e, "oifname", uplink);
		addr_match(&e, f, "saddr", "==", addr);
		add_rule(&b, chain[2], comment, e.s, "{\"masquerade\":null}");
		sb_free(&e);
		sb_init(&e);
		ifname_match(&e, "oifname", NAT_BRIDGE);
		addr_match(&e, f, "saddr", "==", addr);
		MATCH(&e, "{\"ct\":{\"key\":\"status\"}}", "in", "\"dnat\"");
		add_rule(&b, chain[2], comment, e.s, "{\"masquerade\":null}");
		sb_free(&e);
	}
	b.s[b.len - 1] = ']'; /* the last ',' */
	sb_add(&b, "}");
	_cleanup_free_ char *what = xasprintf("add the NAT rules of jail %s", c->tag);
	int rc = nft_batch(b.s, what);
	sb_free(&b);
	return rc;
}

/* Delete the chains of the UUIDs in ids that the listing shows: one transaction. */
static int remove_chains(const char *listing, const struct strv *ids)
{
	struct sbuf b;
	sb_init(&b);
	sb_add(&b, "{\"nftables\":[");
	bool any = false;
	for (size_t k = 0; k < ids->n; k++)
		for (int i = 0; i < 3; i++) {
			char name[80];
			snprintf(name, sizeof(name), "\"j-%s-%s\"", ids->v[k], suffixes[i]);
			if (!strstr(listing, name))
				continue;
			any = true;
			for (int op = 0; op < 2; op++)
				sb_printf(&b,
					  "{\"%s\":{\"chain\":{\"family\":\"inet\",\"table\":"
					  "\"" NFT_TABLE "\",\"name\":%s}}},",
					  op ? "delete" : "flush", name);
		}
	int rc = 0;
	if (any) {
		b.s[b.len - 1] = ']';
		sb_add(&b, "}");
		rc = nft_batch(b.s, ids->n == 1 ? "remove the NAT rules of a jail"
						: "remove stale NAT rules");
	}
	sb_free(&b);
	return rc;
}

int nat_rules_remove(const char *uuid)
{
	bool absent;
	_cleanup_free_ char *listing = nft_list_table(&absent);
	if (!listing)
		return absent ? 0 : -1;
	_cleanup_strv_ struct strv one = {0};
	sv_add(&one, uuid);
	return remove_chains(listing, &one);
}

int nat_stale(struct strv *uuids, bool remove)
{
	sv_init(uuids);
	bool absent;
	_cleanup_free_ char *listing = nft_list_table(&absent);
	if (!listing)
		return absent ? 0 : -1;
	for (const char *p = listing; (p = strstr(p, "\"j-")) != NULL; p += 3) {
		char uuid[37];
		snprintf(uuid, sizeof(uuid), "%.36s", p + 3);
		if (!valid_uuid(uuid) || sv_contains(uuids, uuid))
			continue;
		struct runstate rs;
		int r = rs_read(uuid, &rs);
		bool alive = r == 1 && rs_alive(&rs);
		rs_free(&rs);
		ioc_err_clear();
		if (!alive)
			sv_add(uuids, uuid);
	}
	return remove && uuids->n ? remove_chains(listing, uuids) : 0;
}

/* ---- what net_setup calls ------------------------------------------------------------------ */

static void addrs_text(const struct jailconf *c, char *out, size_t n)
{
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	if (c->nat_has4)
		inet_ntop(AF_INET, c->nat_addr4, a4, sizeof(a4));
	if (c->nat_has6)
		inet_ntop(AF_INET6, c->nat_addr6, a6, sizeof(a6));
	snprintf(out, n, "%s%s%s", a4, a4[0] && a6[0] ? "," : "", a6);
}

int nat_prepare(struct nl *host, const struct jailconf *c, struct runstate *st,
		char uplink[IFNAMSIZ], int *bridge)
{
	if ((c->nat4 && !c->nat_has4) || (c->nat6 && !c->nat_has6)) {
		ioc_err("jail %s has no NAT address allocated", c->tag);
		return -1;
	}
	if (nat_uplink(host, c, uplink) < 0 || nat_check_running(c) < 0 ||
	    nat_bridge(host, c, bridge) < 0)
		return -1;
	_cleanup_strv_ struct strv stale = {0};
	if (nat_stale(&stale, true) < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
	char a[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 2];
	addrs_text(c, a, sizeof(a));
	rs_set(st, prop_name(P_NAT_ADDR), a);
	rs_set(st, RS_NAT_UPLINK, uplink);
	return 0;
}

int nat_inside(struct nl *in, const struct jailconf *c, int index)
{
	for (int f = 4; f <= 6; f += 2) {
		if (f == 4 ? !c->nat_has4 : !c->nat_has6)
			continue;
		int len = f == 4 ? c->nat_prefix.len4 : c->nat_prefix.len6;
		int e = addr_add(in, index, f, f == 4 ? c->nat_addr4 : c->nat_addr6, len);
		char t[64];
		if (e < 0) {
			inet_ntop(f == 4 ? AF_INET : AF_INET6,
				  f == 4 ? (const void *)c->nat_addr4 : (const void *)c->nat_addr6,
				  t, sizeof(t));
			ioc_err("cannot add the NAT address %s/%d to %s in jail %s: %s", t, len,
				NAT_NIC, c->tag, nl_why(in, e));
			return -1;
		}
		uint8_t gw[16];
		jc_nat_host(c, f, 1, gw);
		e = route_default(in, f, gw, index);
		if (e < 0) {
			gw_text(c, f, t, sizeof(t));
			ioc_err("cannot add the default route via %s in jail %s: %s", t, c->tag,
				nl_why(in, e));
			return -1;
		}
	}
	return 0;
}

int nat_activate(const struct jailconf *c, const char *uplink)
{
	if (nat_forwarding(c, uplink) < 0)
		return -1;
	return nat_rules_add(c, uplink);
}
