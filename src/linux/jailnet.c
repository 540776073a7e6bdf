/* Jail networking: the plan from the configuration, set-up, teardown, the live view (see
 * jailnet.h for the model; the netlink requests are in rtnl.c). */
#include "linux/jailnet.h"
#include "core/lock.h"
#include "linux/jailnat.h"
#include "linux/rtnl.h"
#include "platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 64 /* shown by the live view */

/* ---- the plan ------------------------------------------------------------------------- */

struct nic {
	char name[IFNAMSIZ];   /* inside the jail */
	char made[IFNAMSIZ];   /* ipvlan: the name it was created under (renamed inside) */
	char host[IFNAMSIZ];   /* veth: host end; ipvlan: the host interface (master) */
	char bridge[IFNAMSIZ]; /* veth only */
	uint8_t mac_jail[6], mac_host[6];
	int master;     /* index of the bridge (veth) or host interface (ipvlan) */
	int host_index; /* created host end (veth), for rollback */
	int jail_index; /* inside the jail */
	bool created;
};

struct plan {
	const struct jailconf *c;
	bool ipvlan;
	int nat;               /* index of the NAT nic (nat=on), else -1 */
	char uplink[IFNAMSIZ]; /* NAT: the uplink */
	bool nat_rules;        /* NAT: rules added (rollback) */
	struct nic nics[JC_MAX_NICS];
	size_t nnics;
};

static struct nic *plan_nic(struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->nnics; i++)
		if (streq(p->nics[i].name, name))
			return &p->nics[i];
	return NULL;
}

/* VNET: the configured interfaces.  Shared IP: one IPvlan per host interface an address
 * names. */
static int plan_make(const struct jailconf *c, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->nat = -1;
	if (c->vnet) {
		for (size_t i = 0; i < c->nnics + (c->nat ? 1 : 0); i++) {
			const struct jc_nic *cn = i < c->nnics ? &c->nics[i] : &c->nat_nic;
			if (p->nnics >= JC_MAX_NICS) {
				ioc_err("jail %s has more than %d interfaces with nat0", c->tag,
					JC_MAX_NICS);
				return -1;
			}
			struct nic *n = &p->nics[p->nnics++];
			memcpy(n->name, cn->name, sizeof(n->name));
			memcpy(n->bridge, cn->bridge, sizeof(n->bridge));
			memcpy(n->mac_jail, cn->mac_jail, 6);
			memcpy(n->mac_host, cn->mac_host, 6);
			if (i == c->nnics)
				p->nat = (int)i;
		}
		return 0;
	}
	p->ipvlan = true;
	for (size_t i = 0; i < c->naddrs; i++) {
		if (plan_nic(p, c->addrs[i].iface))
			continue;
		if (p->nnics >= JC_MAX_NICS) {
			ioc_err("jail %s names more than %d host interfaces", c->uuid, JC_MAX_NICS);
			return -1;
		}
		struct nic *n = &p->nics[p->nnics++];
		memcpy(n->name, c->addrs[i].iface, sizeof(n->name));
		memcpy(n->host, c->addrs[i].iface, sizeof(n->host));
	}
	return 0;
}

static bool name_taken(const struct plan *p, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (streq(p->nics[i].host, name))
			return true;
	return false;
}

/* A free host-end name within 15 characters: NIC.JID, else iocJID.I, iocJID.I-K. */
static int host_name(struct nl *n, struct plan *p, size_t i, int jid)
{
	char cand[32];
	struct link l;
	for (int attempt = 0; attempt < 12; attempt++) {
		if (attempt == 0)
			snprintf(cand, sizeof(cand), "%s.%d", p->nics[i].name, jid);
		else if (attempt == 1)
			snprintf(cand, sizeof(cand), "ioc%d.%zu", jid, i);
		else
			snprintf(cand, sizeof(cand), "ioc%d.%zu-%d", jid, i, attempt - 1);
		if (strlen(cand) >= IFNAMSIZ || name_taken(p, i, cand))
			continue;
		int r = link_get(n, cand, &l);
		if (r < 0)
			return -1;
		if (r == 0) {
			snprintf(p->nics[i].host, sizeof(p->nics[i].host), "%s", cand);
			return 0;
		}
	}
	ioc_err("no free host interface name for %s of JID %d", p->nics[i].name, jid);
	return -1;
}

static char *ifaces_value(const struct plan *p)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < p->nnics; i++)
		sb_printf(&b, "%s%s:%s%s", i ? "," : "", p->nics[i].name, p->ipvlan ? "@" : "",
			  p->nics[i].host);
	return sb_steal(&b);
}

static char *addrs_value(const struct jailconf *c, int family)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct jc_addr *a = &c->addrs[i];
		if (a->family == family)
			sb_printf(&b, "%s%s|%s/%d", b.len ? "," : "", a->iface, a->text, a->prefix);
	}
	if (!b.len)
		sb_add(&b, "none");
	return sb_steal(&b);
}

/* Bridges: present and of kind bridge, or created (createbridge=on). */
static int bridges_ready(struct nl *n, struct plan *p)
{
	const struct jailconf *c = p->c;
	for (size_t i = 0; i < p->nnics; i++) {
		if ((int)i == p->nat)
			continue; /* iocell's own bridge: nat_prepare */
		const char *br = p->nics[i].bridge;
		struct link l;
		int r = link_get(n, br, &l);
		if (r < 0)
			return -1;
		if (r == 0 && !c->createbridge) {
			ioc_err("bridge %s for %s of jail %s does not exist (createbridge=off)", br,
				p->nics[i].name, c->tag);
			ioc_hint(
				"create it with 'ip link add %s type bridge && ip link set %s up', "
				"or set createbridge=on",
				br, br);
			return -1;
		}
		if (r == 0) {
			int e = bridge_create(n, br);
			if (e < 0 && e != -EEXIST) {
				ioc_err("cannot create bridge %s: %s", br, nl_why(n, e));
				return -1;
			}
			r = link_get(n, br, &l);
			if (r <= 0) {
				if (r == 0)
					ioc_err("bridge %s vanished right after it was created",
						br);
				return -1;
			}
			/* labelled: `doctor` tells the bridges iocell made (NET_BRIDGE_ALIAS) */
			if (e == 0)
				(void)link_set_alias(n, l.index, NET_BRIDGE_ALIAS);
		}
		if (!streq(l.kind, "bridge")) {
			ioc_err("%s (interfaces of jail %s) is not a bridge (it is %s)", br, c->tag,
				l.kind[0] ? l.kind : "a plain interface");
			ioc_hint("name a bridge in 'interfaces', e.g. vnet0:bridge0");
			return -1;
		}
		p->nics[i].master = l.index;
	}
	return 0;
}

/* Shared IP: the host interfaces the addresses name. */
static int host_ifaces_ready(struct nl *n, struct plan *p)
{
	for (size_t i = 0; i < p->nnics; i++) {
		struct link l;
		int r = link_get(n, p->nics[i].host, &l);
		if (r < 0)
			return -1;
		if (r == 0) {
			ioc_err("host interface %s (named in ip4_addr/ip6_addr of jail %s) does not "
				"exist",
				p->nics[i].host, p->c->tag);
			ioc_hint("with vnet=off the addresses name a host interface: IFACE|ADDR");
			return -1;
		}
		p->nics[i].master = l.index;
	}
	return 0;
}

/* Interfaces up, addresses, default routes: inside the jail. */
static int configure_inside(struct nl *in, struct plan *p)
{
	const struct jailconf *c = p->c;
	for (size_t i = 0; i < p->nnics; i++) {
		struct nic *n = &p->nics[i];
		struct link l;
		const char *look = n->made[0] ? n->made : n->name;
		int r = link_get(in, look, &l);
		if (r <= 0) {
			if (r == 0)
				ioc_err("interface %s is missing in jail %s", look, c->uuid);
			return -1;
		}
		n->jail_index = l.index;
		int e = n->made[0] ? link_rename(in, l.index, n->name) : 0;
		if (e < 0) {
			ioc_err("cannot rename interface %s to %s in jail %s: %s", n->made, n->name,
				c->uuid, nl_why(in, e));
			return -1;
		}
		if (p->ipvlan)
			e = link_no_ll6(in, l.index);
		if (e == 0)
			e = link_up(in, l.index);
		if (e < 0) {
			ioc_err("cannot bring up %s in jail %s: %s", n->name, c->uuid,
				nl_why(in, e));
			return -1;
		}
	}
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct jc_addr *a = &c->addrs[i];
		struct nic *n = plan_nic(p, a->iface);
		if (!n) {
			ioc_err("bad address %s|%s", a->iface, a->text);
			return -1;
		}
		int e = addr_add(in, n->jail_index, a->family, a->bin, a->prefix);
		if (e < 0) {
			ioc_err("cannot add address %s/%d to %s in jail %s: %s", a->text, a->prefix,
				n->name, c->uuid,
				e == -EEXIST ? "it is listed twice"
				: e == -EADDRINUSE
					? "address already in use (another jail holds it on "
					  "this host interface)"
					: nl_why(in, e));
			return -1;
		}
	}
	if (p->nat >= 0 && nat_inside(in, c, p->nics[p->nat].jail_index) < 0)
		return -1;
	for (int f = 0; f < 2; f++) {
		const struct jc_router *rt = &c->router[f];
		if (!rt->text[0])
			continue;
		int family = f == 0 ? 4 : 6;
		if (p->nnics == 0) {
			ioc_err("defaultrouter%s %s of jail %s: the jail has no interface",
				f ? "6" : "", rt->text, c->uuid);
			ioc_hint("give it an interface and an address, or set defaultrouter%s=none",
				 f ? "6" : "");
			return -1;
		}
		/* A link-local IPv6 router needs the interface: the first one. */
		int oif = (family == 6 && rt->bin[0] == 0xfe && (rt->bin[1] & 0xc0) == 0x80)
				  ? p->nics[0].jail_index
				  : 0;
		int e = route_default(in, family, rt->bin, oif);
		if (e < 0) {
			ioc_err("cannot add the default route via %s in jail %s: %s", rt->text,
				c->uuid,
				e == -ENETUNREACH ? "it is not on a network of the jail's addresses"
						  : nl_why(in, e));
			if (e == -ENETUNREACH)
				ioc_hint("give the jail an address in the router's network, e.g. "
					 "ip%d_addr=%s|ADDR/PREFIX",
					 family, p->nics[0].name);
			return -1;
		}
	}
	return 0;
}

/* Is the text address txt the address a? */
static bool same_addr(const struct jc_addr *a, int family, const char *txt)
{
	uint8_t x[16];
	if (a->family != family)
		return false;
	return family == 4 ? parse_ipv4(txt, x) && memcmp(x, a->bin, 4) == 0
			   : parse_ipv6(txt, x) && memcmp(x, a->bin, 16) == 0;
}

struct hostaddrs {
	const struct jailconf *c;
	char hit[64];
};

static void host_addr(void *data, int index, int family, const char *local, const char *address,
		      unsigned prefix)
{
	(void)index;
	(void)prefix;
	struct hostaddrs *h = data;
	const char *seen[] = {local, address};
	for (int k = 0; k < 2 && !h->hit[0]; k++)
		for (size_t i = 0; seen[k] && i < h->c->naddrs; i++)
			if (same_addr(&h->c->addrs[i], family, seen[k]))
				snprintf(h->hit, sizeof(h->hit), "%s", h->c->addrs[i].text);
}

/* Does the running jail o hold one of c's addresses over the same host interface?
 * (IPvlan refuses that by itself; macvlan would not.)  -1 with the error when it does. */
static int held_by(const struct jailconf *c, const struct runstate *o)
{
	const char *oif = rs_get(o, RS_IFACES);
	if (!oif || !rs_alive(o))
		return 0;
	_cleanup_strv_ struct strv parts = {0};
	split(&parts, oif, ",", true);
	for (int f = 4; f <= 6; f += 2) {
		struct ipaddr_entry oa[JC_MAX_ADDRS];
		size_t on = 0;
		char why[128];
		const char *v = rs_get(o, f == 4 ? RS_ADDR4 : RS_ADDR6);
		if (!v || !parse_ip_list(v, f, oa, JC_MAX_ADDRS, &on, why, sizeof(why)))
			continue;
		for (size_t x = 0; x < on; x++) {
			_cleanup_free_ char *rec = xasprintf("%s:@%s", oa[x].iface, oa[x].iface);
			if (!sv_contains(&parts, rec))
				continue;
			for (size_t i = 0; i < c->naddrs; i++)
				if (streq(c->addrs[i].iface, oa[x].iface) &&
				    same_addr(&c->addrs[i], f, oa[x].addr)) {
					const char *tag = rs_get(o, prop_name(P_TAG));
					ioc_err("address %s is already in use: jail %s (%s) holds it on %s",
						c->addrs[i].text, tag ? tag : "?", o->uuid,
						oa[x].iface);
					return -1;
				}
		}
	}
	return 0;
}

/* Shared IP: an address is in use when the host holds it, or another running jail holds
 * it over the same host interface. */
static int shared_addrs_free(struct nl *host, const struct jailconf *c)
{
	struct hostaddrs h = {.c = c};
	int e = addr_dump(host, host_addr, &h);
	if (e < 0) {
		ioc_err("cannot list the host's addresses: %s", nl_why(host, e));
		return -1;
	}
	if (h.hit[0]) {
		ioc_err("address %s is already in use: the host holds it", h.hit);
		ioc_hint("a shared-IP jail's address must not be configured on the host");
		return -1;
	}
	_cleanup_strv_ struct strv ids = {0};
	if (rs_list(&ids) < 0)
		return -1;
	int rc = 0;
	for (size_t k = 0; k < ids.n && rc == 0; k++) {
		if (streq(ids.v[k], c->uuid))
			continue;
		struct runstate o;
		if (rs_read(ids.v[k], &o) == 1)
			rc = held_by(c, &o);
		else
			ioc_err_clear();
		rs_free(&o);
	}
	return rc;
}

static int pidfd_open_pid(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* Create the plan's interfaces: veth pairs (host end labelled with alias) or IPvlans. */
static int create_links(struct nl *host, struct plan *p, pid_t pid, const char *alias)
{
	const struct jailconf *c = p->c;
	for (size_t i = 0; i < p->nnics; i++) {
		struct nic *n = &p->nics[i];
		int e;
		if (p->ipvlan) {
			/* Made under a name of its own and renamed inside the jail: a kernel
			 * that checks the name in the host's namespace while it creates the
			 * link down in the jail's (Debian's 6.1) refuses the jail's name when
			 * a host interface has it, e.g. eth0 over the host's eth0. */
			snprintf(n->made, sizeof(n->made), "ioc%uv%u", (unsigned)pid % 10000000u,
				 (unsigned)i % 100u);
			e = ipvlan_create(host, n->made, n->master, pid);
			const char *kind = "IPvlan";
			if (e == -EOPNOTSUPP) {
				/* A kernel without IPvlan: a macvlan with a MAC of the jail's own. */
				uint8_t unused[6];
				kind = "macvlan";
				e = jc_mac_derive(c->uuid, JC_MAX_NICS + (int)i, n->mac_jail,
						  unused) < 0
					    ? -EINVAL
					    : macvlan_create(host, n->made, n->master, n->mac_jail,
							     pid);
			}
			if (e < 0) {
				ioc_err("cannot create %s interface %s over host interface %s for jail %s: %s",
					kind, n->name, n->host, c->tag, nl_why(host, e));
				return -1;
			}
			n->created = true;
			continue;
		}
		e = veth_create(host, n->host, n->mac_host, n->master, n->name, n->mac_jail, pid);
		if (e < 0) {
			ioc_err("cannot create the veth pair %s (host) / %s (jail %s) on bridge %s: %s",
				n->host, n->name, c->tag, n->bridge, nl_why(host, e));
			return -1;
		}
		n->created = true;
		struct link l;
		if (link_get(host, n->host, &l) <= 0) {
			if (!ioc_err_pending())
				ioc_err("the veth end %s vanished after it was created", n->host);
			return -1;
		}
		n->host_index = l.index;
		e = link_set_alias(host, l.index, alias);
		if (e < 0) {
			ioc_err("cannot label interface %s: %s", n->host, nl_why(host, e));
			return -1;
		}
		if ((int)i == p->nat && (e = bridge_port_hairpin(host, l.index)) < 0) {
			ioc_err("cannot set hairpin mode on %s: %s", n->host, nl_why(host, e));
			return -1;
		}
	}
	return 0;
}

/* Undo create_links: deleting either end of a veth removes the pair; IPvlans not reached
 * from inside go with the jail's namespace. */
static void remove_links(struct nl *host, struct nl *in, struct plan *p)
{
	for (size_t i = 0; i < p->nnics; i++) {
		struct nic *n = &p->nics[i];
		if (!n->created)
			continue;
		int e = 0;
		if (n->host_index > 0) {
			e = link_del(host, n->host_index);
		} else if (in->s && n->jail_index > 0) {
			e = link_del(in, n->jail_index);
		} else if (!p->ipvlan) {
			struct link l;
			struct ioc_errsave keep;
			ioc_err_save(&keep);
			if (link_get(host, n->host, &l) == 1)
				e = link_del(host, l.index);
			ioc_err_restore(&keep);
		}
		if (e < 0 && e != -ENODEV)
			ioc_warn("could not remove interface %s: %s", n->host, strerror(-e));
	}
}

static int setup(struct nl *host, struct nl *in, struct plan *p, pid_t pid, int jid,
		 struct runstate *st)
{
	const struct jailconf *c = p->c;
	if (nl_open(host, "") < 0)
		return -1;
	if (p->nat >= 0 && nat_prepare(host, c, st, p->uplink, &p->nics[p->nat].master) < 0)
		return -1;
	if (!p->ipvlan) {
		if (bridges_ready(host, p) < 0)
			return -1;
		for (size_t i = 0; i < p->nnics; i++)
			if (host_name(host, p, i, jid) < 0)
				return -1;
	} else if (host_ifaces_ready(host, p) < 0 || shared_addrs_free(host, c) < 0) {
		return -1;
	}
	/* Record the names before creating anything: stop can always clean up. */
	_cleanup_free_ char *ifv = ifaces_value(p);
	rs_set(st, RS_IFACES, ifv);
	if (rs_write(st) < 0)
		return -1;
	char alias[80];
	snprintf(alias, sizeof(alias), "iocell:%s", c->uuid);
	if (create_links(host, p, pid, alias) < 0)
		return -1;
	_cleanup_close_ int pidfd = pidfd_open_pid(pid);
	if (pidfd < 0) {
		ioc_err("cannot open the jail's init (PID %d): %s", (int)pid, strerror(errno));
		return -1;
	}
	if (nl_open_in(in, pidfd, false) < 0 || configure_inside(in, p) < 0)
		return -1;
	for (int f = 4; f <= 6; f += 2) {
		/* the NAT address too: `list` shows it */
		_cleanup_free_ char *v = addrs_value(c, f);
		const char *na = rs_get(st, prop_name(P_NAT_ADDR));
		_cleanup_strv_ struct strv nas = {0};
		split(&nas, p->nat >= 0 && na ? na : "", ",", true);
		for (size_t k = 0; k < nas.n; k++) {
			if ((strchr(nas.v[k], ':') != NULL) != (f == 6))
				continue;
			char *more = xasprintf("%s%s" NAT_NIC "|%s/%d", streq(v, "none") ? "" : v,
					       streq(v, "none") ? "" : ",", nas.v[k],
					       f == 4 ? c->nat_prefix.len4 : c->nat_prefix.len6);
			free(v);
			v = more;
		}
		rs_set(st, f == 4 ? RS_ADDR4 : RS_ADDR6, v);
	}
	if (p->nat >= 0) {
		p->nat_rules = true; /* a failure may leave part of them: removed */
		if (nat_activate(c, p->uplink) < 0)
			return -1;
	}
	return 0;
}

int net_precheck(const struct jailconf *c)
{
	_cleanup_free_ struct plan *p = xcalloc(1, sizeof(*p));
	if (plan_make(c, p) < 0)
		return -1;
	if (!p->ipvlan || p->nnics == 0)
		return 0;
	struct nl host = {0};
	int rc = nl_open(&host, "") < 0 || host_ifaces_ready(&host, p) < 0 ||
				 shared_addrs_free(&host, c) < 0
			 ? -1
			 : 0;
	nl_close(&host);
	return rc;
}

int net_setup(const struct jailconf *c, pid_t pid, int jid, struct runstate *st)
{
	_cleanup_free_ struct plan *p = xcalloc(1, sizeof(*p));
	if (plan_make(c, p) < 0)
		return -1;
	if (p->nnics == 0 && c->naddrs == 0 && !c->router[0].text[0] && !c->router[1].text[0]) {
		rs_set(st, RS_ADDR4, "none");
		rs_set(st, RS_ADDR6, "none");
		return 0;
	}
	struct nl host = {0}, in = {0};
	int rc = setup(&host, &in, p, pid, jid, st);
	if (rc < 0) {
		remove_links(&host, &in, p);
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		if (p->nat_rules && nat_rules_remove(c->uuid) < 0)
			ioc_warn("%s", ioc_errmsg());
		ioc_err_restore(&keep);
	}
	if (in.s)
		nl_close(&in);
	if (host.s)
		nl_close(&host);
	return rc;
}

/* ---- teardown --------------------------------------------------------------------------- */

struct ifrec {
	char jail[IFNAMSIZ], host[IFNAMSIZ];
	bool ipvlan;
};

static size_t parse_ifaces(const char *v, struct ifrec *out, size_t max)
{
	size_t n = 0;
	if (!v || !*v)
		return 0;
	_cleanup_strv_ struct strv parts = {0};
	split(&parts, v, ",", true);
	for (size_t i = 0; i < parts.n && n < max; i++) {
		char *colon = strchr(parts.v[i], ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *h = colon + 1;
		struct ifrec *r = &out[n];
		r->ipvlan = *h == '@';
		if (r->ipvlan)
			h++;
		if (!valid_ifname(parts.v[i]) || !valid_ifname(h))
			continue;
		snprintf(r->jail, sizeof(r->jail), "%s", parts.v[i]);
		snprintf(r->host, sizeof(r->host), "%s", h);
		n++;
	}
	return n;
}

/* A netlink socket in the network namespace of the running jail of rs (quiet). */
static int open_in_jail(const struct runstate *rs, struct nl *in)
{
	_cleanup_close_ int pidfd = pidfd_open_pid((pid_t)rs_num(rs, RS_PID, 0));
	if (pidfd < 0 || !rs_alive(rs))
		return -1;
	return nl_open_in(in, pidfd, true);
}

int net_hold(const struct runstate *rs)
{
	const char *v = rs_get(rs, RS_IFACES);
	if (!v || !*v || !streq(rs_get(rs, RS_NETNS), "own") || !rs_alive(rs))
		return -1;
	struct nl in;
	if (open_in_jail(rs, &in) < 0)
		return -1;
	int fd = nl_dup(&in);
	nl_close(&in);
	return fd;
}

static int remove_link(struct nl *n, const struct link *l, const char *uuid)
{
	int e = link_del(n, l->index);
	if (e < 0 && e != -ENODEV) {
		ioc_err("cannot remove interface %s of jail %s: %s", l->name, uuid, nl_why(n, e));
		return -1;
	}
	return 0;
}

/* Each veth host end of the jail (ours: its name and our alias) detached: down, off its
 * bridge, no addresses, renamed NET_GONE_PREFIX and its index in hex (unique while it
 * exists, and without the '.' of the names host_name gives: a following start never
 * meets it).  One that cannot be detached is deleted, waiting for the kernel. */
static int detach_host_ends(const struct ifrec *recs, size_t n, const char *alias, const char *uuid)
{
	struct nl host = {0};
	if (nl_open(&host, "") < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct link l;
		int r = recs[i].ipvlan ? 0 : link_get(&host, recs[i].host, &l);
		if (r < 0)
			rc = -1;
		if (r != 1 || !streq(l.alias, alias))
			continue;
		char gone[IFNAMSIZ];
		snprintf(gone, sizeof(gone), NET_GONE_PREFIX "%x", (unsigned)l.index);
		int e = link_detach(&host, l.index, gone);
		if (e < 0 && e != -ENODEV && remove_link(&host, &l, uuid) < 0)
			rc = -1;
	}
	nl_close(&host);
	return rc;
}

/* A NAT jail's rules (under the NAT lock). */
static int nat_teardown(const struct runstate *rs)
{
	if (!streq(rs_get(rs, prop_name(P_NAT)), "on"))
		return 0;
	_cleanup_unlock_ int lk = lock_nat();
	if (lk < 0)
		return -1;
	return nat_rules_remove(rs->uuid);
}

static int net_teardown_links(const struct runstate *rs, int hold);

/* Interfaces, then NAT rules (the first error is the one reported). */
int net_teardown(const struct runstate *rs, int hold)
{
	int lrc = net_teardown_links(rs, hold);
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	int nrc = nat_teardown(rs);
	if (nrc < 0 && lrc < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
	if (lrc < 0) {
		ioc_err_restore(&keep);
	} else {
		free(keep.msg);
		free(keep.hint);
	}
	return nrc < 0 || lrc < 0 ? -1 : 0;
}

static int net_teardown_links(const struct runstate *rs, int hold)
{
	struct ifrec recs[JC_MAX_NICS];
	size_t n = parse_ifaces(rs_get(rs, RS_IFACES), recs, JC_MAX_NICS);
	int rc = 0;
	char alias[80];
	snprintf(alias, sizeof(alias), "iocell:%s", rs->uuid);
	bool any_ipvlan = false, any_veth = false;
	for (size_t i = 0; i < n; i++) {
		any_ipvlan |= recs[i].ipvlan;
		any_veth |= !recs[i].ipvlan;
	}
	/* Veth pairs: the kernel removes both ends when it destroys the jail's namespace
	 * (its init gone, once the hold is dropped), but asynchronously, 15-30 ms later
	 * (SPEC §6).  Stop does not wait: each host end is detached now and left to it.
	 * IPvlan interfaces cannot be seen from the host: those are deleted through the
	 * hold.  Without a hold (the init died before, the namespace gone or held
	 * elsewhere), host ends still there are deleted below. */
	if (hold >= 0 && !any_ipvlan && n > 0) {
		rc = detach_host_ends(recs, n, alias, rs->uuid);
		close(hold);
		return rc;
	}
	/* Inside the jail (its namespace kept alive by the held socket). */
	struct nl in = {0}, host = {0};
	if (hold >= 0 && nl_adopt(&in, hold) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct link l;
			if (link_get(&in, recs[i].jail, &l) == 1 &&
			    remove_link(&in, &l, rs->uuid) < 0)
				rc = -1;
			ioc_err_clear();
		}
		nl_close(&in);
	}
	/* Host ends still present (crashed jail, no hold): only ours, by their alias. */
	if (any_veth && nl_open(&host, "") < 0)
		rc = -1;
	for (size_t i = 0; i < n && host.s; i++) {
		if (recs[i].ipvlan)
			continue;
		struct link l;
		int r = link_get(&host, recs[i].host, &l);
		if (r < 0 ||
		    (r == 1 && streq(l.alias, alias) && remove_link(&host, &l, rs->uuid) < 0))
			rc = -1;
	}
	if (host.s)
		nl_close(&host);
	return rc;
}

/* ---- the live view --------------------------------------------------------------------- */

struct dump {
	struct link links[MAX_LINKS];
	size_t nlinks;
	struct sbuf addrs[MAX_LINKS];
};

static void dump_addr(void *data, int index, int family, const char *local, const char *address,
		      unsigned prefix)
{
	(void)family;
	struct dump *d = data;
	for (size_t i = 0; i < d->nlinks; i++)
		if (d->links[i].index == index)
			sb_printf(&d->addrs[i], " %s/%u", local ? local : address, prefix);
}

void net_info(const struct runstate *rs, struct plat_info *info)
{
	if (!streq(rs_get(rs, RS_NETNS), "own")) {
		info->net = PLAT_NET_HOST;
		return;
	}
	struct ifrec recs[JC_MAX_NICS];
	size_t n = parse_ifaces(rs_get(rs, RS_IFACES), recs, JC_MAX_NICS);
	struct nl in = {0};
	if (open_in_jail(rs, &in) < 0) {
		ioc_err_clear();
		info->net = PLAT_NET_RECORDED;
		info->net_recorded = xstrdup(rs_get(rs, RS_IFACES) ? rs_get(rs, RS_IFACES) : "lo");
		return;
	}
	info->net = PLAT_NET_LIVE;
	_cleanup_free_ struct dump *d = xcalloc(1, sizeof(*d));
	for (size_t i = 0; i < MAX_LINKS; i++)
		sb_init(&d->addrs[i]);
	int e = link_dump(&in, d->links, MAX_LINKS, &d->nlinks);
	if (e == 0)
		e = addr_dump(&in, dump_addr, d);
	info->ifs = xcalloc(d->nlinks ? d->nlinks : 1, sizeof(*info->ifs));
	for (size_t i = 0; i < d->nlinks; i++) {
		const struct link *l = &d->links[i];
		struct plat_netif *f = &info->ifs[info->nifs++];
		snprintf(f->name, sizeof(f->name), "%s", l->name);
		f->up = l->flags & IFF_UP;
		if (l->has_mac && !(l->flags & IFF_LOOPBACK))
			jc_mac_format(l->mac, f->mac);
		f->addrs = xstrdup(d->addrs[i].len ? d->addrs[i].s : "");
		struct sbuf note;
		sb_init(&note);
		for (size_t k = 0; k < n; k++) {
			if (!streq(recs[k].jail, l->name))
				continue;
			if (recs[k].ipvlan)
				sb_printf(&note, "  (%s over host %s)",
					  l->kind[0] ? l->kind : "ipvlan", recs[k].host);
			else
				sb_printf(&note, "  (host end %s)", recs[k].host);
		}
		f->note = note.len ? sb_steal(&note) : xstrdup("");
		sb_free(&note);
	}
	if (e < 0)
		info->net_incomplete = xstrdup(strerror(-e));
	for (size_t i = 0; i < MAX_LINKS; i++)
		sb_free(&d->addrs[i]);
	nl_close(&in);
}
