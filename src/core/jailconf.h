/*
 * One typed jail configuration: everything the platform layer needs to run a jail,
 * built once from the jail's properties (start, chroot, cap) or from its runtime state
 * (exec, console, stop, cap), and parsed once.  Platform-neutral: src/linux/ maps it to
 * namespaces, cgroups and netlink; a FreeBSD backend would map it to jail(2) parameters,
 * rctl and epair (doc/design.md).
 *
 * The runtime state keeps the part exec, console, stop and cap need (jailconf_to_state /
 * jailconf_from_state), each value under its property's name in the property's own form,
 * so that they make no zfs call; one table in jailconf.c says which.
 */
#ifndef IOC_JAILCONF_H
#define IOC_JAILCONF_H

#include "core/jail.h"
#include "core/parse.h"
#include "core/runstate.h"

#include <stdbool.h>
#include <stdint.h>

#define JC_MAX_NICS 10
#define JC_MAX_ADDRS 64 /* per family */

/* ip4 / ip6, sysvmsg / sysvsem / sysvshm */
enum jc_mode { JC_NEW, JC_INHERIT, JC_DISABLE };

/* Resource limits (SPEC §7), in the order of their properties (P_MEMORYUSE...). */
enum lim_id {
	LIM_MEMORYUSE,
	LIM_PCPU,
	LIM_MAXPROC,
	LIM_OPENFILES,
	LIM_VMEMORYUSE,
	LIM_MEMORYLOCKED,
	LIM_SWAPUSE,
	LIM_NTHR,
	LIM_PSEUDOTERMINALS,
	LIM_CPUTIME,
	LIM_DATASIZE,
	LIM_STACKSIZE,
	LIM_COREDUMPSIZE,
	LIM_READBPS,
	LIM_WRITEBPS,
	LIM_READIOPS,
	LIM_WRITEIOPS,
	LIM_WALLCLOCK,
	LIM_N
};
_Static_assert(P_WALLCLOCK - P_MEMORYUSE == LIM_WALLCLOCK, "limits in property order");
static inline enum prop_id lim_prop(enum lim_id id) { return (enum prop_id)(P_MEMORYUSE + id); }
static inline const char *lim_name(enum lim_id id) { return prop_name(lim_prop(id)); }

struct limits {
	bool on;                   /* rlimits=on */
	char cpuset[256];          /* "" when off */
	struct limit_val v[LIM_N]; /* .action 0: no limit (off, or rlimits=off) */
};

/* Privilege of jail processes (what FreeBSD's allow.*, securelevel, children.max say). */
struct jail_security {
	bool allow_raw_sockets;  /* CAP_NET_RAW */
	bool allow_set_hostname; /* sethostname/setdomainname permitted */
	bool allow_mount;        /* mount/umount permitted */
	bool allow_mount_tmpfs, allow_mount_procfs, allow_mount_devfs, allow_mount_nullfs;
	bool allow_mount_zfs; /* the delegated dataset (jail_zfs) may be managed inside */
	bool allow_chflags;   /* CAP_LINUX_IMMUTABLE */
	bool allow_quotas;    /* CAP_SYS_RESOURCE + quotactl */
	int securelevel;      /* -1..3; 3: no mounts at all */
	long children_max;    /* 0: no new namespaces */
	bool net_admin;       /* CAP_NET_ADMIN: a network namespace of the jail's user namespace */
};

/* A VNET interface (interfaces: nic:bridge) and its MACs (vnetN_mac). */
struct jc_nic {
	char name[16], bridge[16];
	uint8_t mac_jail[6], mac_host[6];
	enum prop_id mac_prop; /* P_VNETn_MAC */
	bool mac_new;          /* derived from the UUID, not stored yet (jailconf_store_macs) */
};

/* An address to configure (ip4_addr / ip6_addr entry), prefix resolved (/32, /128 when
 * omitted), in binary too. */
struct jc_addr {
	char iface[16];
	char text[64];
	int family; /* 4 or 6 */
	int prefix;
	uint8_t bin[16];
};

/* A default router (defaultrouter / defaultrouter6). */
struct jc_router {
	char text[64]; /* "" when none (or that family is disabled) */
	uint8_t bin[16];
};

struct jailconf {
	/* identity and paths */
	char uuid[37];
	char *tag, *hostname;
	char *domainname; /* NULL: none */
	char *root;       /* host path of the jail's root directory */
	char *fstab;      /* host path of the jail's fstab file (may not exist) */
	char *log;        /* console log: set by the runtime (or from the state) */
	bool template, basejail;

	/* namespaces and network (SPEC §6) */
	bool own_net; /* neither ip4 nor ip6 is inherit */
	bool own_ipc; /* allow_sysvipc=0 and not every sysv* inherit */
	bool vnet, createbridge;
	enum jc_mode ip4, ip6;
	/* parsed only with own_net: */
	struct jc_nic nics[JC_MAX_NICS]; /* vnet=on, some family enabled */
	size_t nnics;
	struct jc_addr addrs[2 * JC_MAX_ADDRS]; /* families not disabled, IPv4 first */
	size_t naddrs;
	struct jc_router router[2]; /* [0] IPv4, [1] IPv6 */
	char *resolver;             /* NULL: copy the host's resolv.conf */

	/* NAT (nat=on; parsed only with vnet and own_net), see linux/jailnat.h */
	bool nat;
	char *nat_prefix_text, *nat_iface_text, *nat_forwards_text, *nat_addr_text;
	bool nat4, nat6; /* the families NAT'ed: in nat_prefix and enabled (ip4/ip6=new) */
	struct nat_prefix nat_prefix;
	char nat_iface[16]; /* the uplink; "" for auto (the default route's interface) */
	struct nat_forward forwards[NAT_MAX_FORWARDS];
	size_t nforwards;
	bool nat_has4, nat_has6; /* nat_addr holds a usable address of that family */
	uint8_t nat_addr4[4], nat_addr6[16];
	struct jc_nic nat_nic; /* nat0 on iocell0, MACs derived from the UUID */

	/* hooks and timeouts; commands NULL when none */
	char *exec_prestart, *exec_poststart, *exec_prestop, *exec_poststop;
	char *exec_start, *exec_stop;
	long exec_timeout, stop_timeout;
	char *login_flags;

	/* mounts */
	bool mount_procfs, mount_devfs, mount_sysfs;

	/* security */
	struct jail_security sec;
	/* ids (core/idmap.h): a user namespace mapping 0..65535 to idmap_base.. unless
	 * privileged; the files on disk shifted to idmap_shift (0: the jail's own ids) */
	bool privileged;
	uint32_t idmap_base, idmap_shift;
	bool allow_sysvipc;
	enum jc_mode sysvmsg, sysvsem, sysvshm;

	/* limits: parsed values, and each as configured (shown by `limits`) */
	struct limits lim;
	char *cpuset_text;
	char *lim_text[LIM_N];

	/* a dataset handed to the jail */
	bool jail_zfs;
	char *jail_zfs_dataset, *jail_zfs_mountpoint; /* mountpoint NULL: none */
};

/* Build c from a loaded jail's properties (j->props with the built-in defaults; the root
 * and fstab below j->path).  An invalid value is an error naming the property and the
 * value; c must be freed either way. */
int jailconf_from_jail(struct jailconf *c, const struct jail *j);
/* Rebuild the part the runtime state keeps (see jailconf_to_state).  Values missing from
 * the state take their property's default; an invalid one is an error naming it, and
 * keeps the default (c stays usable, e.g. by stop). */
int jailconf_from_state(struct jailconf *c, const struct runstate *rs);
/* Record that part in rs (rs_write is the caller's). */
void jailconf_to_state(const struct jailconf *c, struct runstate *rs);
void jailconf_free(struct jailconf *c);
static inline void cleanup_jailconfp(struct jailconf *c) { jailconf_free(c); }
#define _cleanup_jailconf_ __attribute__((cleanup(cleanup_jailconfp)))

/* NAT: the jail's addresses (nat_addr), allocated under the NAT lock (core/lock.h, held by
 * the caller) when missing or outside nat_prefix: the lowest host numbers of the prefix
 * (from 2; 1 is the gateway) that no other jail stores, stored in j with one `zfs set`.
 * 0, or -1 with the error. */
int jailconf_nat_alloc(struct jailconf *c, struct jail *j);
/* The host number idx of NAT family (4/6) of c's prefix (1: the gateway on iocell0). */
bool jc_nat_host(const struct jailconf *c, int family, uint64_t idx, uint8_t *out);

/* Move the limits (parsed values and texts) of src into dst. */
void jailconf_take_limits(struct jailconf *dst, struct jailconf *src);
/* The limits of c lifted (uncap): rlimits=off, cpuset=off. */
void jailconf_drop_limits(struct jailconf *c);

/* Store the MACs jailconf_from_jail derived for VNET interfaces without vnetN_mac (one
 * `zfs set` each, at a jail's first start), in j too.  A failure is a warning: the MACs
 * are derived from the UUID, the next start finds the same ones. */
void jailconf_store_macs(const struct jailconf *c, struct jail *j);
/* The locally administered unicast MACs (02:...) for the jail and host ends of
 * interface number idx, derived from the UUID.  0, or -1 with the error recorded. */
int jc_mac_derive(const char *uuid, int idx, uint8_t jail_end[6], uint8_t host_end[6]);
void jc_mac_format(const uint8_t m[6], char out[18]);

#endif
