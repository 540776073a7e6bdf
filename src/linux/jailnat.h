/*
 * NAT jails (nat=on): jailnet.c gives such a jail one more VNET interface, NAT_NIC, a veth
 * whose host end joins iocell's own bridge NAT_BRIDGE; this module does the rest.
 *
 *   bridge     NAT_BRIDGE, created on demand (up), holding the gateway addresses: host
 *              number 1 of each nat_prefix family; route_localnet=1 on it alone (so that
 *              host connections to 127.0.0.1:HOSTPORT can be forwarded, see below).
 *   addresses  nat_addr, allocated by core (jailconf_nat_alloc) under the NAT lock.  The
 *              jail gets them on NAT_NIC with the prefix's length, and default routes via
 *              the gateways.
 *   nftables   table inet iocell, iocell's alone (linux/nft.h).  Its fixed part, flushed
 *              and refilled with every NAT start: chain "guard" (filter, prerouting,
 *              priority raw) drops packets arriving on NAT_BRIDGE from or to 127.0.0.0/8
 *              (route_localnet must not open the host's loopback services to jails);
 *              chain "loopback" (nat, postrouting) masquerades 127.0.0.0/8 leaving by
 *              NAT_BRIDGE.  Each jail has three base chains of its own, named after its
 *              UUID, every rule commented "iocell:UUID":
 *                j-UUID-pre   nat prerouting (dstnat): forwards, for packets to any local
 *                             address (fib daddr type local): from outside, and from jails
 *                             (hairpin)
 *                j-UUID-out   nat output (dstnat): the same for the host's own connections,
 *                             127.0.0.1 included (IPv6: not ::1, which cannot leave lo)
 *                j-UUID-post  nat postrouting (srcnat): masquerade of the jail's addresses
 *                             out of the uplink; masquerade of DNAT'ed connections of the
 *                             jail leaving by NAT_BRIDGE (hairpin: the reply must come back
 *                             through the host)
 *              Adding (with the fixed part) and removing (flush + delete of the three
 *              chains) are one transaction each; removal finds the chains by name and is
 *              idempotent.
 *   forwarding net.ipv4.ip_forward / net.ipv6.conf.all.forwarding set to 1 when a jail of
 *              that family starts (never set back).  Before turning IPv6 forwarding on, an
 *              uplink with accept_ra=1 gets accept_ra=2, so that it keeps accepting router
 *              advertisements as before.
 *
 * The NAT lock (core/lock.h) serializes allocation, the checks against running jails and
 * every change of the table; the functions below expect the caller to hold it.
 */
#ifndef IOC_JAILNAT_H
#define IOC_JAILNAT_H

#include "core/jailconf.h"
#include "linux/rtnl.h"

#define NAT_BRIDGE "iocell0"
#define NAT_NIC "nat0"
#define RS_NAT_UPLINK "nat_uplink" /* runtime state: the uplink in use */

/* The uplink: nat_interface, or the interface of the host's default route (IPv4, else
 * IPv6).  It must exist. */
int nat_uplink(struct nl *host, const struct jailconf *c, char out[IFNAMSIZ]);
/* NAT_BRIDGE ready (created, up, gateway addresses, route_localnet): its index. */
int nat_bridge(struct nl *host, const struct jailconf *c, int *index);
/* Refuse what a running jail holds: one of c's NAT addresses, or a host port of c's
 * forwards (same protocol). */
int nat_check_running(const struct jailconf *c);
/* IP forwarding on for c's NAT families. */
int nat_forwarding(const struct jailconf *c, const char *uplink);
/* The jail's chains and rules, and the table's fixed part: one transaction. */
int nat_rules_add(const struct jailconf *c, const char *uplink);
/* Remove the chains of jail uuid, when there are any: one transaction. */
int nat_rules_remove(const char *uuid);

/* What net_setup calls (NAT lock held), in this order:
 * before anything is created: the uplink (out), no conflict with a running jail, the
 * bridge (its index in *bridge), stale chains of jails that are gone removed (a warning
 * when that fails); the state keys nat_addr and RS_NAT_UPLINK set in st; */
int nat_prepare(struct nl *host, const struct jailconf *c, struct runstate *st,
		char uplink[IFNAMSIZ], int *bridge);
/* inside the jail: the addresses on NAT_NIC (index), default routes via the gateways; */
int nat_inside(struct nl *in, const struct jailconf *c, int index);
/* then forwarding and the rules. */
int nat_activate(const struct jailconf *c, const char *uplink);

/* For the clean-up at every NAT start (nat_prepare): the UUIDs whose chains are in the
 * table while no running (alive) jail has that UUID; remove: delete their chains too (the
 * caller holds the NAT lock).  0, or -1 with the error. */
int nat_stale(struct strv *uuids, bool remove);

#endif
