/*
 * rtnetlink over libmnl, the requests the jails' networking makes (linux/jailnet.c): links
 * (veth, bridge, IPvlan, macvlan), addresses, default routes, dumps.  Requests return 0 or
 * -errno, the kernel's own message for the last error kept for nl_why; no `ip` process.
 */
#ifndef IOC_RTNL_H
#define IOC_RTNL_H

#include "core/util.h"

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mnl_socket;

/* A netlink socket (NETLINK_ROUTE) with its receive buffer. */
struct nl {
	struct mnl_socket *s; /* NULL: not open */
	unsigned int seq, portid;
	char *buf;
	char ext[256]; /* the kernel's extended-ack message for the last error */
};

/* Open one in this network namespace; where names it in messages (" in the jail"). */
int nl_open(struct nl *n, const char *where);
/* One inside the network namespace of the process pidfd refers to: the socket keeps that
 * namespace for its whole life; this thread returns to its own.  quiet: no message. */
int nl_open_in(struct nl *n, int pidfd, bool quiet);
void nl_close(struct nl *n);
/* A duplicate of the socket's fd (a hold on its namespace), -1 on failure. */
int nl_dup(const struct nl *n);
/* Open n over a held fd (taken; closed on failure), quietly. */
int nl_adopt(struct nl *n, int fd);
/* "why" text for a failed request (-errno): the kernel's own message when it gave one. */
const char *nl_why(const struct nl *n, int neg);

struct link {
	int index, master;
	unsigned int flags;
	char name[IFNAMSIZ], kind[32], alias[128];
	uint8_t mac[6];
	bool has_mac;
};

/* 1 found (l filled), 0 no such interface, -1 error (recorded). */
int link_get(struct nl *n, const char *name, struct link *l);
int link_del(struct nl *n, int index);
int link_set_alias(struct nl *n, int index, const char *alias);
int link_up(struct nl *n, int index);
/* Rename the link (it must be down). */
int link_rename(struct nl *n, int index, const char *name);
/* Take a link out of use without unregistering it (which waits for the kernel): down, off
 * its bridge (no master), every address removed, renamed name.  0 or -errno. */
int link_detach(struct nl *n, int index, const char *name);
/* No automatic IPv6 (link-local) address on this interface. */
int link_no_ll6(struct nl *n, int index);
/* Every link, up to max. */
int link_dump(struct nl *n, struct link *out, size_t max, size_t *cnt);

int bridge_create(struct nl *n, const char *name);
/* Hairpin mode on a bridge port: frames may leave by the port they came in on (a jail
 * reaching its own forwarded port through the host, where br_netfilter bridges the
 * DNAT'ed packet). */
int bridge_port_hairpin(struct nl *n, int index);
/* A veth pair: host end in this namespace (MAC, bridge port, up), peer created directly
 * in the namespace of pid as peer (MAC; brought up from inside). */
int veth_create(struct nl *n, const char *host, const uint8_t host_mac[6], int master,
		const char *peer, const uint8_t peer_mac[6], pid_t pid);
/* An IPvlan (L2) interface over master, created down in the namespace of pid. */
int ipvlan_create(struct nl *n, const char *name, int master, pid_t pid);
/* A macvlan (bridge mode) over master with this MAC, created down in the namespace of
 * pid: the shared-IP interface on kernels without IPvlan. */
int macvlan_create(struct nl *n, const char *name, int master, const uint8_t mac[6], pid_t pid);

/* family 4 or 6; IPv4 with its broadcast address, IPv6 without duplicate detection. */
int addr_add(struct nl *n, int index, int family, const uint8_t *addr, int prefix);
int route_default(struct nl *n, int family, const uint8_t *gw, int oif);
/* Every address: local (IFA_LOCAL) and/or address (IFA_ADDRESS, the peer on a
 * point-to-point link) as text, either may be NULL. */
typedef void (*addr_fn)(void *data, int index, int family, const char *local, const char *address,
			unsigned prefix);
int addr_dump(struct nl *n, addr_fn fn, void *data);
/* The interface index of the main table's default route of family (4 or 6): 1 found, 0
 * none, -1 error (recorded).  A multipath route: its first hop. */
int route_default_oif(struct nl *n, int family, int *oif);
/* The link with this index: 1 found (l filled), 0 none, -1 error (recorded). */
int link_get_index(struct nl *n, int index, struct link *l);

#endif
