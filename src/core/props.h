/*
 * The property schema: one table drives validation, defaults, get/set/defaults/reset,
 * list columns and the man page's property section.  Adding a property = one row.
 */
#ifndef IOC_PROPS_H
#define IOC_PROPS_H

#include "core/parse.h"
#include "core/util.h"
#include "core/zfs.h"

enum prop_type {
	PT_TEXT,    /* free text (no tab/newline) */
	PT_COMMAND, /* a command line or "none" */
	PT_ONOFF,
	PT_YESNO,
	PT_BIT,  /* 0/1 */
	PT_INT,  /* min..max */
	PT_ENUM, /* one of choices "a|b|c" */
	PT_TAG,
	PT_HOSTNAME,
	PT_DOMAIN, /* domainname or none */
	PT_RELEASE,
	PT_IFACES,
	PT_IP4LIST,
	PT_IP6LIST,
	PT_IP4, /* address or none */
	PT_IP6,
	PT_MACPAIR,  /* "MACA,MACB" or none */
	PT_RESOLVER, /* none or "line;line" */
	PT_CPUSET,   /* off or CPU list */
	PT_LIMIT,    /* off or AMOUNT:ACTION */
	PT_SIZE,     /* none or size (zfs quota/reservation) */
	PT_PATH,     /* none or absolute path */
	PT_DATASET,  /* relative dataset name */
	PT_UUID,
	PT_TIME,
	PT_IDBASE,      /* none or a host id (65536..IDMAP_MAX): a jail's id range */
	PT_PORT,        /* none or 1-65535 */
	PT_IFNAME_AUTO, /* auto or an interface name */
	PT_NATPREFIX,   /* V4NET/LEN[,V6NET/LEN] */
	PT_FORWARDS,    /* none or tcp(JAILPORT:HOSTPORT),... */
	PT_NATADDR,     /* none or V4[,V6] */
	PT_NAMES,       /* none or NAME[,NAME...] (jails) */
};

enum prop_flags {
	PF_RO = 1 << 0,        /* read-only: set by iocell itself */
	PF_IDENTITY = 1 << 1,  /* kept by reset */
	PF_ZFS = 1 << 2,       /* a native ZFS property of the jail dataset */
	PF_CREATE = 1 << 3,    /* meaningful at create time only */
	PF_NODEFAULT = 1 << 4, /* has no system-wide default (per-jail identity) */
	PF_DERIVED = 1 << 5,   /* not stored: computed from ZFS state */
	PF_STOPPED = 1 << 6,   /* can be changed only while the jail is stopped */
};

enum prop_group { PG_IDENTITY, PG_NETWORK, PG_EXEC, PG_SECURITY, PG_LIMITS, PG_ZFS };

/* Every property's compile-time identity: prop_table[P_X] is its row (designated
 * initializers, as FreeBSD jail(8)'s intparams[]), so a misspelt property is a compile
 * error.  Keep the order of the table. */
enum prop_id {
	P_TAG,
	P_HOST_HOSTUUID,
	P_HOST_HOSTNAME,
	P_HOST_DOMAINNAME,
	P_RELEASE,
	P_TYPE,
	P_TEMPLATE,
	P_BOOT,
	P_PRIORITY,
	P_DEPENDS,
	P_READY_CMD,
	P_READY_PORT,
	P_READY_TIMEOUT,
	P_NOTES,
	P_OWNER,
	P_LAST_STARTED,
	P_MOUNTPOINT,
	P_VNET,
	P_INTERFACES,
	P_CREATEBRIDGE,
	P_IP4_ADDR,
	P_IP6_ADDR,
	P_IP4,
	P_IP6,
	P_DEFAULTROUTER,
	P_DEFAULTROUTER6,
	P_VNET0_MAC,
	P_VNET1_MAC,
	P_VNET2_MAC,
	P_VNET3_MAC,
	P_VNET4_MAC,
	P_VNET5_MAC,
	P_VNET6_MAC,
	P_VNET7_MAC,
	P_VNET8_MAC,
	P_VNET9_MAC,
	P_RESOLVER,
	P_NAT,
	P_NAT_PREFIX,
	P_NAT_INTERFACE,
	P_NAT_FORWARDS,
	P_NAT_ADDR,
	P_EXEC_PRESTART,
	P_EXEC_POSTSTART,
	P_EXEC_PRESTOP,
	P_EXEC_POSTSTOP,
	P_EXEC_START,
	P_EXEC_STOP,
	P_EXEC_TIMEOUT,
	P_STOP_TIMEOUT,
	P_LOGIN_FLAGS,
	P_MOUNT_PROCFS,
	P_MOUNT_DEVFS,
	P_MOUNT_SYSFS,
	P_ALLOW_RAW_SOCKETS,
	P_ALLOW_SET_HOSTNAME,
	P_ALLOW_SYSVIPC,
	P_ALLOW_MOUNT,
	P_ALLOW_MOUNT_DEVFS,
	P_ALLOW_MOUNT_NULLFS,
	P_ALLOW_MOUNT_PROCFS,
	P_ALLOW_MOUNT_TMPFS,
	P_ALLOW_MOUNT_ZFS,
	P_ALLOW_CHFLAGS,
	P_ALLOW_QUOTAS,
	P_SYSVMSG,
	P_SYSVSEM,
	P_SYSVSHM,
	P_SECURELEVEL,
	P_CHILDREN_MAX,
	P_PRIVILEGED,
	P_IDMAP_BASE,
	P_IDMAP_SHIFT,
	P_CPUSET,
	P_RLIMITS,
	P_MEMORYUSE,
	P_PCPU,
	P_MAXPROC,
	P_OPENFILES,
	P_VMEMORYUSE,
	P_MEMORYLOCKED,
	P_SWAPUSE,
	P_NTHR,
	P_PSEUDOTERMINALS,
	P_CPUTIME,
	P_DATASIZE,
	P_STACKSIZE,
	P_COREDUMPSIZE,
	P_READBPS,
	P_WRITEBPS,
	P_READIOPS,
	P_WRITEIOPS,
	P_WALLCLOCK,
	P_QUOTA,
	P_RESERVATION,
	P_COMPRESSION,
	P_DEDUP,
	P_JAIL_ZFS,
	P_JAIL_ZFS_DATASET,
	P_JAIL_ZFS_MOUNTPOINT,
	P_PKGLIST,
	P__COUNT
};

struct propdef {
	const char *name;
	const char *def; /* built-in default; NULL: computed (see defhelp) */
	enum prop_type type;
	unsigned flags;
	enum prop_group group;
	long long min, max;   /* PT_INT */
	const char *choices;  /* PT_ENUM */
	enum limit_unit unit; /* PT_LIMIT */
	int actions;          /* PT_LIMIT: LA_* allowed */
	const char *values;   /* the allowed form, for messages and the manual */
	const char *help;     /* one line: what it means on Linux */
};

extern const struct propdef prop_table[P__COUNT];
extern const size_t prop_count;

/* A property's name ("tag") and its id from a table row. */
static inline const char *prop_name(enum prop_id id) { return prop_table[id].name; }
static inline enum prop_id prop_id_of(const struct propdef *p)
{
	return (enum prop_id)(p - prop_table);
}
/* A property list (name -> value) read or written by id. */
static inline const char *prop_kv_get(const struct kv *kv, enum prop_id id)
{
	return kv_get(kv, prop_table[id].name);
}
static inline void prop_kv_set(struct kv *kv, enum prop_id id, const char *v)
{
	kv_set(kv, prop_table[id].name, v);
}

/* A jail's id range (idmap_base): its uids/gids 0..IDMAP_COUNT-1 are host ids
 * base..base+IDMAP_COUNT-1.  Ranges are handed out from IDMAP_FIRST in steps of
 * IDMAP_COUNT (core/idmap.h). */
#define IDMAP_COUNT 65536u
#define IDMAP_FIRST 1000000u
#define IDMAP_MAX_BASE 4294901758LL /* base + 65535 <= 4294967293 (-1 and -2 stay free) */

/* User property name prefix on ZFS. */
#define IOC_PROP_PREFIX "iocell:"

const struct propdef *prop_find(const char *name);
/* Full ZFS property name for storage ("iocell:tag" or "quota"). */
char *prop_zfs_name(const struct propdef *p, bool on_defaults);
/* A property list (table names) as ZFS names for a jail dataset (`zfs create -o`). */
void props_to_zfs(struct kv *z, const struct kv *props);
/* When name is a FreeBSD-only jail parameter, the Linux mechanism to use instead. */
const char *prop_freebsd_hint(const char *name);

/* Validate a single value.  On failure err holds "why; allowed: FORM". */
bool prop_validate(const struct propdef *p, const char *value, char *err, size_t errlen);
/* Validate "name" exists and is settable by the user; err explains otherwise. */
bool prop_settable(const char *name, bool for_default, char *err, size_t errlen);

/* Whole-configuration checks across properties (e.g. ip4_addr nics exist in interfaces). */
bool props_check_config(const struct kv *cfg, char *err, size_t errlen);

/* Context for computed defaults. */
struct defctx {
	const char *uuid;
	const char *host_release; /* host distribution codename */
	const char *root;         /* a root tree to inspect for exec_start/stop, or NULL */
};
/* The built-in default (computed ones filled from ctx; ctx may be NULL for display). */
char *prop_builtin_default(const struct propdef *p, const struct defctx *ctx);
/* Text shown by `defaults` for computed defaults. */
const char *prop_default_note(const struct propdef *p);

/* Number of online CPUs on this host (for cpuset validation). */
int host_ncpus(void);
/* The host's distribution codename (VERSION_CODENAME from os-release), malloc'd. */
char *host_codename(void);

#endif
