/* rtnetlink requests over libmnl for the jails' networking (see rtnl.h). */
#include "linux/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include "core/lazylib.h" /* after the library headers */
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_RECV_SIZE 32768
#define NL_REQ_SIZE 4096

/* ---- netlink plumbing ------------------------------------------------------------- */

static int nl_init(struct nl *n, struct mnl_socket *s, const char *where)
{
	n->s = s;
	int one = 1;
	/* Best effort: a kernel without them still answers with plain errors. */
	(void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_get_portid(s) == 0 && mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		ioc_err("cannot bind a netlink socket%s: %s", where, strerror(errno));
		mnl_socket_close(s);
		n->s = NULL;
		return -1;
	}
	n->portid = mnl_socket_get_portid(s);
	n->seq = 1;
	n->buf = xmalloc(NL_RECV_SIZE);
	n->ext[0] = '\0';
	return 0;
}

int nl_open(struct nl *n, const char *where)
{
	memset(n, 0, sizeof(*n));
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s) {
		ioc_err("cannot open a netlink socket%s: %s", where, strerror(errno));
		return -1;
	}
	return nl_init(n, s, where);
}

void nl_close(struct nl *n)
{
	if (n->s)
		mnl_socket_close(n->s);
	free(n->buf);
	memset(n, 0, sizeof(*n));
}

int nl_open_in(struct nl *n, int pidfd, bool quiet)
{
	memset(n, 0, sizeof(*n));
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		if (!quiet)
			ioc_err("cannot open this process's network namespace: %s",
				strerror(errno));
		return -1;
	}
	if (setns(pidfd, CLONE_NEWNET) < 0) {
		if (!quiet)
			ioc_err("cannot enter the jail's network namespace: %s", strerror(errno));
		close(self);
		return -1;
	}
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		ioc_err("cannot return to the host's network namespace: %s", strerror(errno));
		if (s)
			mnl_socket_close(s);
		close(self);
		return -1;
	}
	close(self);
	if (!s) {
		if (!quiet)
			ioc_err("cannot open a netlink socket in the jail: %s", strerror(saved));
		return -1;
	}
	return nl_init(n, s, " in the jail");
}

struct talk {
	struct nl *n;
	mnl_cb_t cb;
	void *data;
};

static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len) {
			const struct nlattr *a;
			mnl_attr_for_each(a, nlh, off)
			{
				if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
				    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
					snprintf(t->n->ext, sizeof(t->n->ext), "%s",
						 mnl_attr_get_str(a));
			}
		}
	}
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int cb_stop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int cb_data(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	return t->cb(nlh, t->data);
}

/* Send one request and run cb on every answer: an ACK is requested, except for a dump
 * (flag bits depend on the request type: NLM_F_EXCL shares NLM_F_DUMP's bits, so the
 * caller says which it is).  Returns 0, or -errno (the kernel's message in n->ext). */
static int nl_request(struct nl *n, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *data)
{
	n->ext[0] = '\0';
	nlh->nlmsg_flags |= NLM_F_REQUEST;
	if (dump)
		nlh->nlmsg_flags |= NLM_F_DUMP;
	else
		nlh->nlmsg_flags |= NLM_F_ACK;
	unsigned int seq = nlh->nlmsg_seq = ++n->seq;
	if (mnl_socket_sendto(n->s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {0};
	ctl[NLMSG_NOOP] = cb_noop;
	ctl[NLMSG_ERROR] = cb_error;
	ctl[NLMSG_DONE] = cb_stop;
	ctl[NLMSG_OVERRUN] = cb_noop;
	struct talk t = {n, cb, data};
	for (;;) {
		ssize_t k = mnl_socket_recvfrom(n->s, n->buf, NL_RECV_SIZE);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		errno = 0;
		int r = mnl_cb_run2(n->buf, (size_t)k, seq, n->portid, cb ? cb_data : NULL, &t, ctl,
				    NLMSG_MIN_TYPE);
		if (r == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static int nl_talk(struct nl *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return nl_request(n, nlh, false, cb, data);
}

const char *nl_why(const struct nl *n, int neg)
{
	static char why[400];
	if (n->ext[0])
		snprintf(why, sizeof(why), "%s (%s)", strerror(-neg), n->ext);
	else
		snprintf(why, sizeof(why), "%s", strerror(-neg));
	return why;
}

static struct nlmsghdr *msg_link(char *buf, uint16_t type, uint16_t flags, int index, bool up)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	if (up) {
		ifm->ifi_flags = IFF_UP;
		ifm->ifi_change = IFF_UP;
	}
	return nlh;
}

/* ---- links -------------------------------------------------------------------------- */

static void parse_link(const struct nlmsghdr *nlh, struct link *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	memset(l, 0, sizeof(*l));
	l->index = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifm))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_IFALIAS:
			if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
				snprintf(l->alias, sizeof(l->alias), "%.*s",
					 (int)strnlen(mnl_attr_get_str(a),
						      mnl_attr_get_payload_len(a)),
					 mnl_attr_get_str(a));
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6) {
				memcpy(l->mac, mnl_attr_get_payload(a), 6);
				l->has_mac = true;
			}
			break;
		case IFLA_LINKINFO: {
			const struct nlattr *b;
			mnl_attr_for_each_nested(b, a)
			{
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND &&
				    mnl_attr_validate(b, MNL_TYPE_STRING) == 0)
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)strnlen(mnl_attr_get_str(b),
							      mnl_attr_get_payload_len(b)),
						 mnl_attr_get_str(b));
			}
			break;
		}
		default: break;
		}
	}
}

static int cb_link(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		parse_link(nlh, data);
	return MNL_CB_OK;
}

int link_get(struct nl *n, const char *name, struct link *l)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_GETLINK, 0, 0, false);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	memset(l, 0, sizeof(*l));
	int r = nl_talk(n, nlh, cb_link, l);
	if (r == -ENODEV)
		return 0;
	if (r < 0) {
		ioc_err("cannot look up interface %s: %s", name, nl_why(n, r));
		return -1;
	}
	return l->index > 0 ? 1 : 0;
}

int link_del(struct nl *n, int index)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_DELLINK, 0, index, false);
	return nl_talk(n, nlh, NULL, NULL);
}

int link_set_alias(struct nl *n, int index, const char *alias)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, false);
	mnl_attr_put_str(nlh, IFLA_IFALIAS, alias);
	return nl_talk(n, nlh, NULL, NULL);
}

int link_rename(struct nl *n, int index, const char *name)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, false);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(n, nlh, NULL, NULL);
}

/* Every address of interface index (addr_dump), as RTM_DELADDR wants it back. */
struct addrflush {
	int index;
	size_t n;
	struct {
		uint8_t family, prefix;
		uint16_t attr;
		uint8_t bin[16];
	} v[32];
};

static void flush_collect(void *data, int index, int family, const char *local, const char *address,
			  unsigned prefix)
{
	struct addrflush *f = data;
	/* IPv4 is deleted by its local address, IPv6 by its address */
	const char *a = family == 4 ? local : address;
	if (index != f->index || !a || f->n >= sizeof(f->v) / sizeof(f->v[0]))
		return;
	int af = family == 4 ? AF_INET : AF_INET6;
	if (inet_pton(af, a, f->v[f->n].bin) != 1)
		return;
	f->v[f->n].family = (uint8_t)af;
	f->v[f->n].prefix = (uint8_t)prefix;
	f->v[f->n].attr = family == 4 ? IFA_LOCAL : IFA_ADDRESS;
	f->n++;
}

static int addr_flush(struct nl *n, int index)
{
	struct addrflush f = {.index = index};
	int e = addr_dump(n, flush_collect, &f);
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	for (size_t i = 0; e == 0 && i < f.n; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
		nlh->nlmsg_type = RTM_DELADDR;
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = f.v[i].family;
		ifa->ifa_prefixlen = f.v[i].prefix;
		ifa->ifa_index = (unsigned)index;
		mnl_attr_put(nlh, f.v[i].attr, f.v[i].family == AF_INET ? 4 : 16, f.v[i].bin);
		e = nl_talk(n, nlh, NULL, NULL);
		if (e == -EADDRNOTAVAIL)
			e = 0; /* gone meanwhile (e.g. IPv6's, with the link down) */
	}
	return e;
}

int link_detach(struct nl *n, int index, const char *name)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, false);
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_change = IFF_UP; /* down */
	mnl_attr_put_u32(nlh, IFLA_MASTER, 0);
	int e = nl_talk(n, nlh, NULL, NULL);
	if (e == 0)
		e = addr_flush(n, index);
	/* (renamed last: kernels before 6.2 rename only a link that is down) */
	return e == 0 ? link_rename(n, index, name) : e;
}

int link_up(struct nl *n, int index)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, true);
	return nl_talk(n, nlh, NULL, NULL);
}

int link_no_ll6(struct nl *n, int index)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, false);
	struct nlattr *af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, af);
	return nl_talk(n, nlh, NULL, NULL);
}

int bridge_create(struct nl *n, const char *name)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, true);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, li);
	return nl_talk(n, nlh, NULL, NULL);
}

int bridge_port_hairpin(struct nl *n, int index)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_SETLINK, 0, index, false);
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_family = AF_BRIDGE;
	struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(nlh, pi);
	return nl_talk(n, nlh, NULL, NULL);
}

int veth_create(struct nl *n, const char *host, const uint8_t host_mac[6], int master,
		const char *peer, const uint8_t peer_mac[6], pid_t pid)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, true);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, host_mac);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *pa = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC; /* not up yet: the kernel refuses before the pair exists */
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
	mnl_attr_nest_end(nlh, pa);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_talk(n, nlh, NULL, NULL);
}

/* An IPvlan (L2) or, with mac, a macvlan (bridge mode) over master, created down in the
 * namespace of pid. */
static int sublink_create(struct nl *n, const char *name, int master, const uint8_t *mac, pid_t pid)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, false);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)master);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, mac ? "macvlan" : "ipvlan");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (mac)
		mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	else
		mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, IPVLAN_MODE_L2);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_talk(n, nlh, NULL, NULL);
}

int ipvlan_create(struct nl *n, const char *name, int master, pid_t pid)
{
	return sublink_create(n, name, master, NULL, pid);
}

int macvlan_create(struct nl *n, const char *name, int master, const uint8_t mac[6], pid_t pid)
{
	return sublink_create(n, name, master, mac, pid);
}

/* ---- addresses and routes ------------------------------------------------------------ */

int addr_add(struct nl *n, int index, int family, const uint8_t *addr, int prefix)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)(family == 4 ? AF_INET : AF_INET6);
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	if (family == 4) {
		mnl_attr_put(nlh, IFA_LOCAL, 4, addr);
		mnl_attr_put(nlh, IFA_ADDRESS, 4, addr);
		if (prefix <= 30) {
			uint8_t brd[4];
			uint32_t a, mask = prefix ? ~0U << (32 - prefix) : 0;
			memcpy(&a, addr, 4);
			a = htonl(ntohl(a) | ~mask);
			memcpy(brd, &a, 4);
			mnl_attr_put(nlh, IFA_BROADCAST, 4, brd);
		}
	} else {
		/* usable at once: no duplicate address detection */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put(nlh, IFA_ADDRESS, 16, addr);
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return nl_talk(n, nlh, NULL, NULL);
}

int route_default(struct nl *n, int family, const uint8_t *gw, int oif)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)(family == 4 ? AF_INET : AF_INET6);
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == 4 ? 4 : 16, gw);
	if (oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return nl_talk(n, nlh, NULL, NULL);
}

/* ---- dumps and held sockets ------------------------------------------------------------ */

struct linkdump {
	struct link *v;
	size_t max, n;
};

static int cb_dump_link(const struct nlmsghdr *nlh, void *data)
{
	struct linkdump *d = data;
	if (nlh->nlmsg_type == RTM_NEWLINK && d->n < d->max)
		parse_link(nlh, &d->v[d->n++]);
	return MNL_CB_OK;
}

int link_dump(struct nl *n, struct link *out, size_t max, size_t *cnt)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_GETLINK, 0, 0, false);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	struct linkdump d = {out, max, 0};
	int e = nl_request(n, nlh, true, cb_dump_link, &d);
	*cnt = d.n;
	return e;
}

struct addrdump {
	addr_fn fn;
	void *data;
};

static int cb_dump_addr(const struct nlmsghdr *nlh, void *data)
{
	struct addrdump *d = data;
	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	char local[INET6_ADDRSTRLEN] = "", peer[INET6_ADDRSTRLEN] = "";
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		int t = mnl_attr_get_type(a);
		char *to = t == IFA_LOCAL ? local : t == IFA_ADDRESS ? peer : NULL;
		if (to && !*to &&
		    !inet_ntop(ifa->ifa_family, mnl_attr_get_payload(a), to, INET6_ADDRSTRLEN))
			*to = '\0';
	}
	if (*local || *peer)
		d->fn(d->data, (int)ifa->ifa_index, ifa->ifa_family == AF_INET ? 4 : 6,
		      *local ? local : NULL, *peer ? peer : NULL, ifa->ifa_prefixlen);
	return MNL_CB_OK;
}

int addr_dump(struct nl *n, addr_fn fn, void *data)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	struct addrdump d = {fn, data};
	return nl_request(n, nlh, true, cb_dump_addr, &d);
}

struct defroute {
	int oif;
	unsigned prio; /* the lowest metric wins */
	bool found;
};

static int cb_defroute(const struct nlmsghdr *nlh, void *data)
{
	struct defroute *d = data;
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	int oif = 0, table = rtm->rtm_table;
	unsigned prio = 0;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		switch (mnl_attr_get_type(a)) {
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				table = (int)mnl_attr_get_u32(a);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				prio = mnl_attr_get_u32(a);
			break;
		case RTA_MULTIPATH:
			if (!oif && mnl_attr_get_payload_len(a) >= sizeof(struct rtnexthop)) {
				const struct rtnexthop *nh = mnl_attr_get_payload(a);
				oif = nh->rtnh_ifindex;
			}
			break;
		default: break;
		}
	}
	if (table == RT_TABLE_MAIN && oif > 0 && (!d->found || prio < d->prio)) {
		d->oif = oif;
		d->prio = prio;
		d->found = true;
	}
	return MNL_CB_OK;
}

int route_default_oif(struct nl *n, int family, int *oif)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)(family == 4 ? AF_INET : AF_INET6);
	struct defroute d = {0, 0, false};
	int e = nl_request(n, nlh, true, cb_defroute, &d);
	if (e < 0) {
		ioc_err("cannot list the host's IPv%d routes: %s", family, nl_why(n, e));
		return -1;
	}
	*oif = d.oif;
	return d.found ? 1 : 0;
}

int link_get_index(struct nl *n, int index, struct link *l)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_GETLINK, 0, index, false);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(l, 0, sizeof(*l));
	int r = nl_talk(n, nlh, cb_link, l);
	if (r == -ENODEV)
		return 0;
	if (r < 0) {
		ioc_err("cannot look up interface %d: %s", index, nl_why(n, r));
		return -1;
	}
	return l->index > 0 ? 1 : 0;
}

int nl_dup(const struct nl *n) { return fcntl(mnl_socket_get_fd(n->s), F_DUPFD_CLOEXEC, 0); }

int nl_adopt(struct nl *n, int fd)
{
	memset(n, 0, sizeof(*n));
	struct mnl_socket *s = mnl_socket_fdopen(fd);
	if (!s) {
		close(fd);
		return -1;
	}
	if (nl_init(n, s, " in the jail") < 0) {
		ioc_err_clear();
		return -1;
	}
	return 0;
}
