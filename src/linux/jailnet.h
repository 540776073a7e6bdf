/*
 * Jail networking over rtnetlink (linux/rtnl.h), no `ip` processes (SPEC §6).
 *
 *   vnet=on    one veth pair per `interfaces` entry nic:bridge.  The host end is called
 *              "NIC.JID" when that fits in 15 characters, else "iocJID.I" (a free name is
 *              searched when taken), carries the alias "iocell:UUID", joins the bridge and
 *              is up; the jail end is created directly in the jail's network namespace as
 *              NIC.  MACs come from vnetN_mac (N: the digit of a nic called vnetN, else
 *              the nic's position); when unset they are derived from the UUID (locally
 *              administered, unicast) and stored with one `zfs set` at the first start
 *              (core/jailconf.h).
 *              A missing bridge is created empty and up when createbridge=on; bridges
 *              iocell created stay (other jails may use them); an existing interface is
 *              never modified except for attaching our host end to the bridge.
 *   vnet=off   ip4=new / ip6=new: one IPvlan (L2 mode) interface per host interface named
 *              in ip4_addr / ip6_addr, created in the jail's namespace with the host
 *              interface's name, no IPv6 link-local address: it holds only the jail's
 *              addresses.  Two jails cannot hold the same address on one host interface
 *              (the kernel refuses: "address already in use").
 *   ip4/ip6=disable, ip4_addr=none: no addresses of that family (both disabled: no
 *              interface, loopback only).  inherit: the host's stack (no own namespace;
 *              these functions are not called).
 *   Addresses without a prefix are host addresses (/32, /128), as FreeBSD's aliases.
 *   IPv6 addresses are added without duplicate address detection (usable at once).
 *   defaultrouter / defaultrouter6 become the default routes inside the jail.
 *
 * Runtime state keys: "ifaces" = "NIC:HOSTEND" (veth) or "NIC:@HOSTIF" (IPvlan over
 * HOSTIF), comma-separated, written before anything is created; "addr4", "addr6" = the
 * addresses configured, in the property's IFACE|ADDR/PREFIX form ("none" when none).
 */
#ifndef IOC_NET_H
#define IOC_NET_H

#include "core/jailconf.h"
#include "core/runstate.h"

#include <sys/types.h>

struct plat_info;

/* The alias of a VETH host end is "iocell:UUID"; a bridge iocell created has this one. */
#define NET_ALIAS_PREFIX "iocell:"
#define NET_BRIDGE_ALIAS "iocell:bridge"
/* A veth host end detached at stop (net_teardown) is renamed this and its interface index
 * in hex; the kernel removes it with the jail's network namespace. */
#define NET_GONE_PREFIX "iocgone"

/* Configure the network of a jail whose init (pid, our child, not yet running the
 * jail's code) lives in its own network namespace.  Records the state keys above in st
 * (rs_write before creating anything).  On failure everything created is removed. */
int net_setup(const struct jailconf *c, pid_t pid, int jid, struct runstate *st);

/* Before anything of a start is made: a shared-IP jail's host interfaces exist and its
 * addresses are free (not the host's, not held by another running jail over the same
 * interface).  net_setup checks again, under its own conditions; this one lets a start
 * that would be refused fail without spawning, mounting or rolling back anything. */
int net_precheck(const struct jailconf *c);

/* A handle on a running jail's network namespace (a netlink socket opened inside it),
 * taken before its init is killed so that net_teardown can remove the jail-side
 * interfaces synchronously.  -1 when there is nothing to hold.  Never records errors. */
int net_hold(const struct runstate *rs);

/* Remove the interfaces recorded in rs: the jail side through hold (closed here; may be
 * -1), then every host end still carrying our alias.  VETH pairs with a hold are not
 * waited for: their host ends are detached (down, off the bridge, no addresses,
 * renamed NET_GONE_PREFIX...) and the kernel removes them with the jail's namespace
 * when the hold is closed (SPEC §6).  Idempotent.  -1 with an error when an interface
 * could not be removed. */
int net_teardown(const struct runstate *rs, int hold);

/* The network part of plat_info (`iocell runtime`): live names, MACs, addresses. */
void net_info(const struct runstate *rs, struct plat_info *info);

#endif
