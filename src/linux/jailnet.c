/* Jail networking over rtnetlink with libmnl (see jailnet.h for the model). */
#include "linux/jailnet.h"
#include "core/parse.h"
#include "core/sha256.h"
#include "core/zfs.h"

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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NL_RECV_SIZE 32768
#define NL_REQ_SIZE 4096
#define MAX_NICS 10
#define MAX_ADDRS 64

/* ---- netlink plumbing ------------------------------------------------------------- */

struct nl {
	struct mnl_socket *s;
	unsigned int seq, portid;
	char *buf;
	char ext[256]; /* the kernel's extended-ack message for the last error */
};

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

static int nl_open(struct nl *n, const char *where)
{
	memset(n, 0, sizeof(*n));
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s) {
		ioc_err("cannot open a netlink socket%s: %s", where, strerror(errno));
		return -1;
	}
	return nl_init(n, s, where);
}

static void nl_close(struct nl *n)
{
	if (n->s)
		mnl_socket_close(n->s);
	free(n->buf);
	memset(n, 0, sizeof(*n));
}

/* A netlink socket inside the network namespace of the process pidfd refers to.  The
 * socket keeps that namespace for its whole life; this thread returns to its own. */
static int nl_open_in(struct nl *n, int pidfd, bool quiet)
{
	memset(n, 0, sizeof(*n));
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		if (!quiet)
			ioc_err("cannot open this process's network namespace: %s", strerror(errno));
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
			mnl_attr_for_each(a, nlh, off) {
				if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
				    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
					snprintf(t->n->ext, sizeof(t->n->ext), "%s", mnl_attr_get_str(a));
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

/* "why" text for an error from nl_talk: the kernel's own message when it gave one. */
static const char *nl_why(const struct nl *n, int neg)
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

struct link {
	int index, master;
	unsigned int flags;
	char name[IFNAMSIZ], kind[32], alias[128];
	uint8_t mac[6];
	bool has_mac;
};

static void parse_link(const struct nlmsghdr *nlh, struct link *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	memset(l, 0, sizeof(*l));
	l->index = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifm)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_IFALIAS:
			if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
				snprintf(l->alias, sizeof(l->alias), "%.*s",
					 (int)strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a)),
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
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND &&
				    mnl_attr_validate(b, MNL_TYPE_STRING) == 0)
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)strnlen(mnl_attr_get_str(b), mnl_attr_get_payload_len(b)),
						 mnl_attr_get_str(b));
			}
			break;
		}
		default:
			break;
		}
	}
}

static int cb_link(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		parse_link(nlh, data);
	return MNL_CB_OK;
}

/* 1 found (l filled), 0 no such interface, -1 error. */
static int link_get(struct nl *n, const char *name, struct link *l)
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

static int link_del(struct nl *n, int index)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_DELLINK, 0, index, false);
	return nl_talk(n, nlh, NULL, NULL);
}

static int link_set_alias(struct nl *n, int index, const char *alias)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, false);
	mnl_attr_put_str(nlh, IFLA_IFALIAS, alias);
	return nl_talk(n, nlh, NULL, NULL);
}

static int link_up(struct nl *n, int index)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, 0, index, true);
	return nl_talk(n, nlh, NULL, NULL);
}

/* No automatic IPv6 (link-local) address on this interface. */
static int link_no_ll6(struct nl *n, int index)
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

static int bridge_create(struct nl *n, const char *name)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, true);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, li);
	return nl_talk(n, nlh, NULL, NULL);
}

/* A veth pair: host end in this namespace (MAC, bridge port, up), peer created directly
 * in the namespace of pid as peer_name (MAC; brought up from inside). */
static int veth_create(struct nl *n, const char *host, const uint8_t host_mac[6], int master,
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

/* An IPvlan (L2) interface over master, created down in the namespace of pid. */
static int ipvlan_create(struct nl *n, const char *name, int master, pid_t pid)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, false);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)master);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ipvlan");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, IPVLAN_MODE_L2);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_talk(n, nlh, NULL, NULL);
}

/* A macvlan (bridge mode) over master with this MAC, created down in the namespace of
 * pid: the shared-IP interface on kernels without IPvlan. */
static int macvlan_create(struct nl *n, const char *name, int master, const uint8_t mac[6], pid_t pid)
{
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, false);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)master);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return nl_talk(n, nlh, NULL, NULL);
}

/* ---- addresses and routes ------------------------------------------------------------ */

static int addr_add(struct nl *n, int index, int family, const uint8_t *addr, int prefix)
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

static int route_default(struct nl *n, int family, const uint8_t *gw, int oif)
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

/* ---- the plan ------------------------------------------------------------------------- */

struct nic {
	char name[IFNAMSIZ];     /* inside the jail */
	char host[IFNAMSIZ];     /* veth: host end; ipvlan: the host interface (master) */
	char bridge[IFNAMSIZ];   /* veth only */
	uint8_t mac_jail[6], mac_host[6];
	int host_index;          /* created host end (veth), for rollback */
	int jail_index;          /* inside the jail */
	bool created;
};

struct plan {
	bool ipvlan;
	struct nic nics[MAX_NICS];
	size_t nnics;
	struct ipaddr_entry addrs[2 * MAX_ADDRS];
	size_t naddrs;
	const char *router4, *router6;
};

static void format_mac(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Locally administered unicast MACs (02:...) for the jail and host ends of nic N,
 * derived from the UUID, so they are the same whenever they are generated. */
static int mac_generate(const char *uuid, int idx, uint8_t a[6], uint8_t b[6])
{
	char in[80], hex[SHA256_HEX_LEN + 1];
	snprintf(in, sizeof(in), "iocell-mac:%s:vnet%d", uuid, idx);
	if (sha256_buf(in, strlen(in), hex) < 0)
		return -1;
	uint8_t h[10];
	for (int i = 0; i < 10; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		h[i] = (uint8_t)v;
	}
	a[0] = b[0] = 0x02;
	memcpy(a + 1, h, 5);
	memcpy(b + 1, h + 5, 5);
	if (memcmp(a, b, 6) == 0)
		b[5] ^= 1;
	return 0;
}

/* vnetN_mac belongs to nic "vnetN"; other nics take the lowest index no vnetN nic uses. */
static void mac_indexes(const struct iface_entry *e, size_t n, int idx[])
{
	bool used[MAX_NICS] = {false};
	for (size_t i = 0; i < n; i++) {
		idx[i] = -1;
		if (strncmp(e[i].nic, "vnet", 4) == 0 && e[i].nic[4] >= '0' && e[i].nic[4] <= '9' &&
		    e[i].nic[5] == '\0' && !used[e[i].nic[4] - '0']) {
			idx[i] = e[i].nic[4] - '0';
			used[idx[i]] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= 0)
			continue;
		for (int k = 0; k < MAX_NICS; k++)
			if (!used[k]) {
				idx[i] = k;
				used[k] = true;
				break;
			}
	}
}

/* MACs of nic i: the stored property, else generated and stored (once). */
static int nic_macs(struct jail *j, int idx, struct nic *c)
{
	enum prop_id id = (enum prop_id)(P_VNET0_MAC + idx);
	const char *prop = prop_name(id);
	const char *v = jail_prop(j, id);
	if (v && !streq(v, "none")) {
		const char *comma = strchr(v, ',');
		char first[32];
		if (comma && (size_t)(comma - v) < sizeof(first)) {
			snprintf(first, sizeof(first), "%.*s", (int)(comma - v), v);
			if (parse_mac(first, c->mac_jail) && parse_mac(comma + 1, c->mac_host))
				return 0;
		}
		ioc_err("%s of jail %s is not MACA,MACB: %s", prop, j->uuid, v);
		return -1;
	}
	if (mac_generate(j->uuid, idx, c->mac_jail, c->mac_host) < 0)
		return -1;
	char a[18], b[18], val[40], zprop[40];
	format_mac(c->mac_jail, a);
	format_mac(c->mac_host, b);
	snprintf(val, sizeof(val), "%s,%s", a, b);
	snprintf(zprop, sizeof(zprop), "%s%s", IOC_PROP_PREFIX, prop);
	if (zfs_set(j->ds, zprop, val) < 0) {
		/* The MACs are derived from the UUID: the next start finds the same ones. */
		ioc_warn("could not store %s: %s", prop, ioc_errmsg());
		ioc_err_clear();
	} else {
		kv_set(&j->props, prop, val);
		jail_conf_save(j);
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

static bool family_on(struct jail *j, int family)
{
	return !streq(jail_prop(j, family == 4 ? P_IP4 : P_IP6), "disable");
}

/* The addresses of one family to configure (none when that family is disabled). */
static int plan_addrs(struct jail *j, struct plan *p, int family)
{
	if (!family_on(j, family))
		return 0;
	enum prop_id prop = family == 4 ? P_IP4_ADDR : P_IP6_ADDR;
	size_t cnt = 0;
	char why[256];
	if (!parse_ip_list(jail_prop(j, prop), family, p->addrs + p->naddrs, MAX_ADDRS, &cnt, why,
			   sizeof(why))) {
		ioc_err("%s of jail %s: %s", prop_name(prop), j->uuid, why);
		return -1;
	}
	p->naddrs += cnt;
	return 0;
}

static struct nic *plan_nic(struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->nnics; i++)
		if (streq(p->nics[i].name, name))
			return &p->nics[i];
	return NULL;
}

static int plan_make(struct jail *j, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	if (plan_addrs(j, p, 4) < 0 || plan_addrs(j, p, 6) < 0)
		return -1;
	const char *r4 = jail_prop(j, P_DEFAULTROUTER), *r6 = jail_prop(j, P_DEFAULTROUTER6);
	p->router4 = family_on(j, 4) && !streq(r4, "none") ? r4 : NULL;
	p->router6 = family_on(j, 6) && !streq(r6, "none") ? r6 : NULL;
	if (!family_on(j, 4) && !family_on(j, 6))
		return 0; /* loopback only */
	if (streq(jail_prop(j, P_VNET), "on")) {
		struct iface_entry e[MAX_NICS];
		size_t n = 0;
		char why[256];
		const char *v = jail_prop(j, P_INTERFACES);
		if (!parse_interfaces(v, e, MAX_NICS, &n, why, sizeof(why))) {
			ioc_err("interfaces of jail %s: %s", j->uuid, why);
			return -1;
		}
		int idx[MAX_NICS];
		mac_indexes(e, n, idx);
		for (size_t i = 0; i < n; i++) {
			struct nic *c = &p->nics[p->nnics++];
			_Static_assert(sizeof(c->name) == sizeof(e[i].nic), "nic name size");
			_Static_assert(sizeof(c->bridge) == sizeof(e[i].bridge), "bridge name size");
			memcpy(c->name, e[i].nic, sizeof(c->name));
			memcpy(c->bridge, e[i].bridge, sizeof(c->bridge));
			if (nic_macs(j, idx[i], c) < 0)
				return -1;
		}
		for (size_t i = 0; i < p->naddrs; i++)
			if (!plan_nic(p, p->addrs[i].iface)) {
				ioc_err("ip%d_addr of jail %s names interface '%s', which is not among "
					"its VNET interfaces (%s)", p->addrs[i].family, j->uuid,
					p->addrs[i].iface, v);
				ioc_hint("add it to 'interfaces' or fix the address");
				return -1;
			}
		return 0;
	}
	/* Shared IP: one IPvlan per host interface named by an address. */
	p->ipvlan = true;
	for (size_t i = 0; i < p->naddrs; i++) {
		if (plan_nic(p, p->addrs[i].iface))
			continue;
		if (p->nnics >= MAX_NICS) {
			ioc_err("jail %s names more than %d host interfaces", j->uuid, MAX_NICS);
			return -1;
		}
		struct nic *c = &p->nics[p->nnics++];
		_Static_assert(sizeof(c->name) == sizeof(p->addrs[i].iface), "iface name size");
		memcpy(c->name, p->addrs[i].iface, sizeof(c->name));
		memcpy(c->host, p->addrs[i].iface, sizeof(c->host));
	}
	return 0;
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

static char *addrs_value(const struct plan *p, int family)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < p->naddrs; i++) {
		const struct ipaddr_entry *a = &p->addrs[i];
		if (a->family != family)
			continue;
		sb_printf(&b, "%s%s|%s/%d", b.len ? "," : "", a->iface, a->addr,
			  a->prefix >= 0 ? a->prefix : (family == 4 ? 32 : 128));
	}
	if (!b.len)
		sb_add(&b, "none");
	return sb_steal(&b);
}

/* Bridges: present and of kind bridge, or created (createbridge=on).  Returns indexes. */
static int bridges_ready(struct nl *n, struct jail *j, struct plan *p, int idx[])
{
	bool create = streq(jail_prop(j, P_CREATEBRIDGE), "on");
	for (size_t i = 0; i < p->nnics; i++) {
		const char *br = p->nics[i].bridge;
		struct link l;
		int r = link_get(n, br, &l);
		if (r < 0)
			return -1;
		if (r == 0 && !create) {
			ioc_err("bridge %s for %s of jail %s does not exist (createbridge=off)", br,
				p->nics[i].name, jail_prop(j, P_TAG));
			ioc_hint("create it with 'ip link add %s type bridge && ip link set %s up', "
				 "or set createbridge=on", br, br);
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
					ioc_err("bridge %s vanished right after it was created", br);
				return -1;
			}
		}
		if (!streq(l.kind, "bridge")) {
			ioc_err("%s (interfaces of jail %s) is not a bridge (it is %s)", br,
				jail_prop(j, P_TAG), l.kind[0] ? l.kind : "a plain interface");
			ioc_hint("name a bridge in 'interfaces', e.g. vnet0:bridge0");
			return -1;
		}
		idx[i] = l.index;
	}
	return 0;
}

static int configure_inside(struct nl *in, struct plan *p, const char *uuid)
{
	for (size_t i = 0; i < p->nnics; i++) {
		struct nic *c = &p->nics[i];
		struct link l;
		int r = link_get(in, c->name, &l);
		if (r <= 0) {
			if (r == 0)
				ioc_err("interface %s is missing in jail %s", c->name, uuid);
			return -1;
		}
		c->jail_index = l.index;
		int e = p->ipvlan ? link_no_ll6(in, l.index) : 0;
		if (e == 0)
			e = link_up(in, l.index);
		if (e < 0) {
			ioc_err("cannot bring up %s in jail %s: %s", c->name, uuid, nl_why(in, e));
			return -1;
		}
	}
	for (size_t i = 0; i < p->naddrs; i++) {
		const struct ipaddr_entry *a = &p->addrs[i];
		uint8_t bin[16];
		bool ok = a->family == 4 ? parse_ipv4(a->addr, bin) : parse_ipv6(a->addr, bin);
		struct nic *c = plan_nic(p, a->iface);
		if (!ok || !c) {
			ioc_err("bad address %s|%s", a->iface, a->addr);
			return -1;
		}
		int prefix = a->prefix >= 0 ? a->prefix : (a->family == 4 ? 32 : 128);
		int e = addr_add(in, c->jail_index, a->family, bin, prefix);
		if (e < 0) {
			ioc_err("cannot add address %s/%d to %s in jail %s: %s", a->addr, prefix, c->name,
				uuid, e == -EEXIST ? "it is listed twice" :
				e == -EADDRINUSE ? "address already in use (another jail holds it on "
						   "this host interface)" : nl_why(in, e));
			return -1;
		}
	}
	const char *routers[2] = {p->router4, p->router6};
	for (int f = 0; f < 2; f++) {
		if (!routers[f])
			continue;
		int family = f == 0 ? 4 : 6;
		uint8_t gw[16];
		if (!(family == 4 ? parse_ipv4(routers[f], gw) : parse_ipv6(routers[f], gw))) {
			ioc_err("defaultrouter%s is not an address: %s", f ? "6" : "", routers[f]);
			return -1;
		}
		if (p->nnics == 0) {
			ioc_err("defaultrouter%s %s of jail %s: the jail has no interface", f ? "6" : "",
				routers[f], uuid);
			ioc_hint("give it an interface and an address, or set defaultrouter%s=none",
				 f ? "6" : "");
			return -1;
		}
		/* A link-local IPv6 router needs the interface: the first one. */
		int oif = (family == 6 && gw[0] == 0xfe && (gw[1] & 0xc0) == 0x80) ? p->nics[0].jail_index : 0;
		int e = route_default(in, family, gw, oif);
		if (e < 0) {
			ioc_err("cannot add the default route via %s in jail %s: %s", routers[f], uuid,
				e == -ENETUNREACH ? "it is not on a network of the jail's addresses"
						  : nl_why(in, e));
			if (e == -ENETUNREACH)
				ioc_hint("give the jail an address in the router's network, e.g. "
					 "ip%d_addr=%s|ADDR/PREFIX", family, p->nics[0].name);
			return -1;
		}
	}
	return 0;
}

static bool same_addr(int family, const char *a, const char *b)
{
	uint8_t x[16], y[16];
	if (family == 4)
		return parse_ipv4(a, x) && parse_ipv4(b, y) && memcmp(x, y, 4) == 0;
	return parse_ipv6(a, x) && parse_ipv6(b, y) && memcmp(x, y, 16) == 0;
}

struct hostaddrs {
	const struct plan *p;
	char hit[INET6_ADDRSTRLEN + 20];
};

static int cb_host_addr(const struct nlmsghdr *nlh, void *data)
{
	struct hostaddrs *h = data;
	if (nlh->nlmsg_type != RTM_NEWADDR || h->hit[0])
		return MNL_CB_OK;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(a);
		if (t != IFA_LOCAL && t != IFA_ADDRESS)
			continue;
		char txt[INET6_ADDRSTRLEN];
		if (!inet_ntop(ifa->ifa_family, mnl_attr_get_payload(a), txt, sizeof(txt)))
			continue;
		for (size_t i = 0; i < h->p->naddrs; i++) {
			const struct ipaddr_entry *e = &h->p->addrs[i];
			if ((e->family == 4) == (ifa->ifa_family == AF_INET) &&
			    same_addr(e->family, e->addr, txt))
				snprintf(h->hit, sizeof(h->hit), "%s", e->addr);
		}
	}
	return MNL_CB_OK;
}

/* Shared IP: an address is in use when the host holds it, or another running jail holds
 * it over the same host interface (IPvlan refuses that by itself; macvlan would not). */
static int shared_addrs_free(struct nl *host, const char *uuid, const struct plan *p)
{
	struct hostaddrs h = {.p = p};
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	int e = nl_request(host, nlh, true, cb_host_addr, &h);
	if (e < 0) {
		ioc_err("cannot list the host's addresses: %s", nl_why(host, e));
		return -1;
	}
	if (h.hit[0]) {
		ioc_err("address %s is already in use: the host holds it", h.hit);
		ioc_hint("a shared-IP jail's address must not be configured on the host");
		return -1;
	}
	struct strv ids;
	if (rs_list(&ids) < 0)
		return -1;
	int rc = 0;
	for (size_t k = 0; k < ids.n && rc == 0; k++) {
		if (streq(ids.v[k], uuid))
			continue;
		struct runstate o;
		if (rs_read(ids.v[k], &o) != 1) {
			ioc_err_clear();
			rs_free(&o);
			continue;
		}
		const char *oif = rs_get(&o, "ifaces");
		for (int f = 4; f <= 6 && rc == 0 && oif && rs_alive(&o); f += 2) {
			struct ipaddr_entry oa[MAX_ADDRS];
			size_t on = 0;
			char why[128];
			const char *v = rs_get(&o, f == 4 ? "addr4" : "addr6");
			if (!v || !parse_ip_list(v, f, oa, MAX_ADDRS, &on, why, sizeof(why)))
				continue;
			for (size_t x = 0; x < on && rc == 0; x++) {
				char *rec = xasprintf("%s:@%s", oa[x].iface, oa[x].iface);
				struct strv parts = {0};
				split(&parts, oif, ",", true);
				bool shared = sv_contains(&parts, rec);
				sv_free(&parts);
				free(rec);
				if (!shared)
					continue;
				for (size_t i = 0; i < p->naddrs; i++)
					if (p->addrs[i].family == f && streq(p->addrs[i].iface, oa[x].iface) &&
					    same_addr(f, p->addrs[i].addr, oa[x].addr)) {
						ioc_err("address %s is already in use: jail %s (%s) holds it on %s",
							p->addrs[i].addr, rs_get(&o, "tag") ? rs_get(&o, "tag") : "?",
							o.uuid, oa[x].iface);
						rc = -1;
						break;
					}
			}
		}
		rs_free(&o);
	}
	sv_free(&ids);
	return rc;
}

static int pidfd_open_pid(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int net_setup(struct jail *j, pid_t pid, int jid, struct runstate *st)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	struct nl host = {0}, in = {0};
	int rc = -1, pidfd = -1;
	if (plan_make(j, p) < 0)
		goto out;
	if (p->nnics == 0 && p->naddrs == 0 && !p->router4 && !p->router6) {
		rs_set(st, "addr4", "none");
		rs_set(st, "addr6", "none");
		rc = 0;
		goto out;
	}
	if (nl_open(&host, "") < 0)
		goto out;
	int bridx[MAX_NICS];
	if (!p->ipvlan) {
		if (bridges_ready(&host, j, p, bridx) < 0)
			goto out;
		for (size_t i = 0; i < p->nnics; i++)
			if (host_name(&host, p, i, jid) < 0)
				goto out;
	} else {
		for (size_t i = 0; i < p->nnics; i++) {
			struct link l;
			int r = link_get(&host, p->nics[i].host, &l);
			if (r < 0)
				goto out;
			if (r == 0) {
				ioc_err("host interface %s (named in ip4_addr/ip6_addr of jail %s) does not "
					"exist", p->nics[i].host, jail_prop(j, P_TAG));
				ioc_hint("with vnet=off the addresses name a host interface: IFACE|ADDR");
				goto out;
			}
			bridx[i] = l.index;
		}
	}
	if (p->ipvlan && shared_addrs_free(&host, j->uuid, p) < 0)
		goto out;
	/* Record the names before creating anything: stop can always clean up. */
	char *ifv = ifaces_value(p);
	rs_set(st, "ifaces", ifv);
	free(ifv);
	if (rs_write(st) < 0)
		goto out;
	char alias[80];
	snprintf(alias, sizeof(alias), "iocell:%s", j->uuid);
	for (size_t i = 0; i < p->nnics; i++) {
		struct nic *c = &p->nics[i];
		int e;
		if (!p->ipvlan) {
			e = veth_create(&host, c->host, c->mac_host, bridx[i], c->name, c->mac_jail, pid);
			if (e < 0) {
				ioc_err("cannot create the veth pair %s (host) / %s (jail %s) on bridge %s: %s",
					c->host, c->name, jail_prop(j, P_TAG), c->bridge, nl_why(&host, e));
				goto out;
			}
			c->created = true;
			struct link l;
			if (link_get(&host, c->host, &l) <= 0) {
				if (!ioc_err_pending())
					ioc_err("the veth end %s vanished after it was created", c->host);
				goto out;
			}
			c->host_index = l.index;
			e = link_set_alias(&host, l.index, alias);
			if (e < 0) {
				ioc_err("cannot label interface %s: %s", c->host, nl_why(&host, e));
				goto out;
			}
		} else {
			e = ipvlan_create(&host, c->name, bridx[i], pid);
			const char *kind = "IPvlan";
			if (e == -EOPNOTSUPP) {
				/* A kernel without IPvlan: a macvlan with a MAC of the jail's own. */
				uint8_t unused[6];
				kind = "macvlan";
				e = mac_generate(j->uuid, MAX_NICS + (int)i, c->mac_jail, unused) < 0
					    ? -EINVAL
					    : macvlan_create(&host, c->name, bridx[i], c->mac_jail, pid);
			}
			if (e < 0) {
				ioc_err("cannot create %s interface %s over host interface %s for jail %s: %s",
					kind, c->name, c->host, jail_prop(j, P_TAG), nl_why(&host, e));
				goto out;
			}
			c->created = true;
		}
	}
	pidfd = pidfd_open_pid(pid);
	if (pidfd < 0) {
		ioc_err("cannot open the jail's init (PID %d): %s", (int)pid, strerror(errno));
		goto out;
	}
	if (nl_open_in(&in, pidfd, false) < 0)
		goto out;
	if (configure_inside(&in, p, j->uuid) < 0)
		goto out;
	char *a4 = addrs_value(p, 4), *a6 = addrs_value(p, 6);
	rs_set(st, "addr4", a4);
	rs_set(st, "addr6", a6);
	free(a4);
	free(a6);
	rc = 0;
out:
	if (rc < 0) {
		/* Undo: deleting either end of a veth removes the pair. */
		for (size_t i = 0; i < p->nnics; i++) {
			struct nic *c = &p->nics[i];
			if (!c->created)
				continue;
			int e = 0;
			if (c->host_index > 0)
				e = link_del(&host, c->host_index);
			else if (in.s && c->jail_index > 0)
				e = link_del(&in, c->jail_index);
			else if (!p->ipvlan) {
				struct link l;
				struct ioc_errsave keep;
				ioc_err_save(&keep);
				if (link_get(&host, c->host, &l) == 1)
					e = link_del(&host, l.index);
				ioc_err_restore(&keep);
			}
			if (e < 0 && e != -ENODEV)
				ioc_warn("could not remove interface %s: %s", c->host, strerror(-e));
		}
		/* IPvlans not reached from inside go with the jail's namespace. */
	}
	if (in.s)
		nl_close(&in);
	if (host.s)
		nl_close(&host);
	if (pidfd >= 0)
		close(pidfd);
	free(p);
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
	struct strv parts = {0};
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
	sv_free(&parts);
	return n;
}

int net_hold(const struct runstate *rs)
{
	const char *v = rs_get(rs, "ifaces");
	if (!v || !*v || !streq(rs_get(rs, "netns"), "own") || !rs_alive(rs))
		return -1;
	int pidfd = pidfd_open_pid((pid_t)rs_num(rs, "pid", 0));
	if (pidfd < 0)
		return -1;
	struct nl in;
	int fd = -1;
	if (rs_alive(rs) && nl_open_in(&in, pidfd, true) == 0) {
		fd = fcntl(mnl_socket_get_fd(in.s), F_DUPFD_CLOEXEC, 0);
		nl_close(&in);
	}
	close(pidfd);
	return fd;
}

/* Wait until none of the jail's veth host ends is left (by name and our alias): true
 * when they are gone within ms milliseconds. */
static bool veths_gone(const struct ifrec *recs, size_t n, const char *alias, long ms)
{
	struct nl host = {0};
	if (nl_open(&host, "") < 0) {
		ioc_err_clear();
		return false;
	}
	bool gone = false;
	for (long waited = 0; !gone && waited <= ms; waited++) {
		gone = true;
		for (size_t i = 0; i < n && gone; i++) {
			struct link l;
			if (recs[i].ipvlan)
				continue;
			int r = link_get(&host, recs[i].host, &l);
			gone = r == 0 || (r == 1 && !streq(l.alias, alias));
		}
		if (!gone) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	ioc_err_clear();
	nl_close(&host);
	return gone;
}

int net_teardown(const struct runstate *rs, int hold)
{
	struct ifrec recs[MAX_NICS];
	size_t n = parse_ifaces(rs_get(rs, "ifaces"), recs, MAX_NICS);
	int rc = 0;
	struct nl in = {0}, host = {0};
	char alias[80];
	snprintf(alias, sizeof(alias), "iocell:%s", rs->uuid);
	bool any_ipvlan = false;
	for (size_t i = 0; i < n; i++)
		any_ipvlan |= recs[i].ipvlan;
	/* Veth pairs: the kernel removes both ends when it destroys the jail's namespace
	 * (with its init gone, once the hold is dropped), several times faster than one
	 * deletion request each.  Wait for that; whatever is left (the namespace held
	 * elsewhere) is deleted below.  IPvlan interfaces cannot be seen from the host:
	 * those are deleted through the hold. */
	if (hold >= 0 && !any_ipvlan && n > 0) {
		close(hold);
		hold = -1;
		if (veths_gone(recs, n, alias, 1000))
			return 0;
	}
	if (hold >= 0) {
		struct mnl_socket *s = mnl_socket_fdopen(hold);
		if (!s || nl_init(&in, s, " in the jail") < 0) {
			if (!s)
				close(hold);
			ioc_err_clear();
			in.s = NULL;
		}
	}
	/* Inside the jail (its namespace kept alive by the held socket). */
	for (size_t i = 0; i < n && in.s; i++) {
		struct link l;
		if (link_get(&in, recs[i].jail, &l) == 1) {
			int e = link_del(&in, l.index);
			if (e < 0 && e != -ENODEV) {
				ioc_err("cannot remove interface %s of jail %s: %s", recs[i].jail, rs->uuid,
					nl_why(&in, e));
				rc = -1;
			}
		}
		ioc_err_clear();
	}
	/* Host ends still present (crashed jail, no hold): only ours, by their alias. */
	bool any_veth = false;
	for (size_t i = 0; i < n; i++)
		any_veth |= !recs[i].ipvlan;
	if (any_veth && nl_open(&host, "") < 0)
		rc = -1;
	for (size_t i = 0; i < n && host.s; i++) {
		if (recs[i].ipvlan)
			continue;
		struct link l;
		int r = link_get(&host, recs[i].host, &l);
		if (r < 0) {
			rc = -1;
			continue;
		}
		if (r == 0 || !streq(l.alias, alias))
			continue;
		int e = link_del(&host, l.index);
		if (e < 0 && e != -ENODEV) {
			ioc_err("cannot remove interface %s of jail %s: %s", recs[i].host, rs->uuid,
				nl_why(&host, e));
			rc = -1;
		}
	}
	if (in.s)
		nl_close(&in);
	if (host.s)
		nl_close(&host);
	return rc;
}

/* ---- runtime info ------------------------------------------------------------------------ */

struct dump {
	struct link links[64];
	size_t nlinks;
	struct sbuf addrs[64];
};

static int cb_dump_link(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	if (nlh->nlmsg_type == RTM_NEWLINK && d->nlinks < 64)
		parse_link(nlh, &d->links[d->nlinks++]);
	return MNL_CB_OK;
}

static int cb_dump_addr(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const void *addr = NULL;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		int t = mnl_attr_get_type(a);
		if ((t == IFA_ADDRESS && !addr) || t == IFA_LOCAL)
			addr = mnl_attr_get_payload(a);
	}
	if (!addr)
		return MNL_CB_OK;
	for (size_t i = 0; i < d->nlinks; i++) {
		if (d->links[i].index != (int)ifa->ifa_index)
			continue;
		char txt[INET6_ADDRSTRLEN];
		if (inet_ntop(ifa->ifa_family, addr, txt, sizeof(txt)))
			sb_printf(&d->addrs[i], " %s/%u", txt, ifa->ifa_prefixlen);
	}
	return MNL_CB_OK;
}

void net_print_info(const struct runstate *rs)
{
	if (!streq(rs_get(rs, "netns"), "own")) {
		printf("INTERFACES: (host network)\n");
		return;
	}
	struct ifrec recs[MAX_NICS];
	size_t n = parse_ifaces(rs_get(rs, "ifaces"), recs, MAX_NICS);
	int pidfd = pidfd_open_pid((pid_t)rs_num(rs, "pid", 0));
	struct nl in = {0};
	if (pidfd < 0 || nl_open_in(&in, pidfd, true) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		ioc_err_clear();
		printf("INTERFACES: %s\n", rs_get(rs, "ifaces") ? rs_get(rs, "ifaces") : "lo");
		return;
	}
	close(pidfd);
	struct dump *d = xcalloc(1, sizeof(*d));
	for (size_t i = 0; i < 64; i++)
		sb_init(&d->addrs[i]);
	alignas(struct nlmsghdr) char req[NL_REQ_SIZE];
	struct nlmsghdr *nlh = msg_link(req, RTM_GETLINK, 0, 0, false);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int e = nl_request(&in, nlh, true, cb_dump_link, d);
	if (e == 0) {
		nlh = mnl_nlmsg_put_header(req);
		nlh->nlmsg_type = RTM_GETADDR;
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = AF_UNSPEC;
		e = nl_request(&in, nlh, true, cb_dump_addr, d);
	}
	printf("INTERFACES:\n");
	for (size_t i = 0; i < d->nlinks; i++) {
		const struct link *l = &d->links[i];
		char mac[18] = "";
		if (l->has_mac && !(l->flags & IFF_LOOPBACK))
			format_mac(l->mac, mac);
		printf("  %-10s %-4s%s%s%s", l->name, (l->flags & IFF_UP) ? "up" : "down",
		       mac[0] ? " " : "", mac, d->addrs[i].len ? d->addrs[i].s : "");
		for (size_t k = 0; k < n; k++) {
			if (!streq(recs[k].jail, l->name))
				continue;
			if (recs[k].ipvlan)
				printf("  (%s over host %s)", l->kind[0] ? l->kind : "ipvlan", recs[k].host);
			else
				printf("  (host end %s)", recs[k].host);
		}
		printf("\n");
	}
	if (e < 0)
		printf("  (incomplete: %s)\n", strerror(-e));
	for (size_t i = 0; i < 64; i++)
		sb_free(&d->addrs[i]);
	free(d);
	nl_close(&in);
}
