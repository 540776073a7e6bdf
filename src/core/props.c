#include "core/props.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIM(id, n, d, u, a, h) [id] = {n, d, PT_LIMIT, 0, PG_LIMITS, 0, 0, NULL, u, a, NULL, h}
#define BIT(id, n, d, h) [id] = {n, d, PT_BIT, 0, PG_SECURITY, 0, 1, NULL, 0, 0, "0 | 1", h}
#define MAC(id, n)                          \
	[id] = {n,                          \
		"none",                     \
		PT_MACPAIR,                 \
		PF_IDENTITY | PF_NODEFAULT, \
		PG_NETWORK,                 \
		0,                          \
		0,                          \
		NULL,                       \
		0,                          \
		0,                          \
		"MACA,MACB | none",         \
		"MAC addresses of the jail and host ends (generated at first start)"}

#define CG (LA_DENY | LA_LOG)
#define RL (LA_DENY)

const struct propdef prop_table[P__COUNT] = {
	/* identity */
	[P_TAG] = {"tag", NULL, PT_TAG, PF_IDENTITY | PF_NODEFAULT, PG_IDENTITY, 0, 0, NULL, 0, 0,
		   "[A-Za-z0-9][A-Za-z0-9._-]*, unique",
		   "human name of the jail (default: creation time)"},
	[P_HOST_HOSTUUID] = {"host_hostuuid", NULL, PT_UUID, PF_RO | PF_IDENTITY | PF_NODEFAULT,
			     PG_IDENTITY, 0, 0, NULL, 0, 0, "UUID (read-only)",
			     "the jail's identity"},
	[P_HOST_HOSTNAME] = {"host_hostname", NULL, PT_HOSTNAME, PF_IDENTITY | PF_NODEFAULT,
			     PG_IDENTITY, 0, 0, NULL, 0, 0, "RFC 1123 hostname",
			     "UTS hostname inside the jail (default: the UUID)"},
	[P_HOST_DOMAINNAME] = {"host_domainname", "none", PT_DOMAIN, 0, PG_IDENTITY, 0, 0, NULL, 0,
			       0, "domain name | none", "UTS (NIS) domainname inside the jail"},
	[P_RELEASE] = {"release", NULL, PT_RELEASE, PF_IDENTITY, PG_IDENTITY, 0, 0, NULL, 0, 0,
		       "a fetched release",
		       "the release the jail is made from (default: host codename)"},
	[P_TYPE] = {"type", NULL, PT_ENUM, PF_RO | PF_IDENTITY | PF_NODEFAULT, PG_IDENTITY, 0, 0,
		    "jail|clonejail|basejail|emptyjail", 0, 0,
		    "jail | clonejail | basejail | emptyjail",
		    "how the jail was created (read-only)"},
	[P_TEMPLATE] =
		{"template", "no", PT_YESNO, PF_STOPPED | PF_IDENTITY, PG_IDENTITY, 0, 0, NULL, 0,
		 0, "yes | no",
		 "a template is listed by list -t, cloned with clone, never started but with start -f"},
	[P_BOOT] = {"boot", "off", PT_ONOFF, 0, PG_IDENTITY, 0, 0, NULL, 0, 0, "on | off",
		    "start at boot (rcboot)"},
	[P_PRIORITY] = {"priority", "99", PT_INT, 0, PG_IDENTITY, 0, 99, NULL, 0, 0, "0-99",
			"rcboot order: lower starts first"},
	[P_DEPENDS] = {"depends", "none", PT_NAMES, PF_NODEFAULT, PG_IDENTITY, 0, 0, NULL, 0, 0,
		       "none | NAME[,NAME...]",
		       "jails that rcboot starts (and waits for) first, stopped after this one"},
	[P_READY_CMD] = {"ready_cmd", "none", PT_COMMAND, 0, PG_IDENTITY, 0, 0, NULL, 0, 0,
			 "command | none",
			 "rcboot: the jail is up once this exits 0 inside it (retried)"},
	[P_READY_PORT] = {"ready_port", "none", PT_PORT, 0, PG_IDENTITY, 0, 0, NULL, 0, 0,
			  "none | 1-65535",
			  "rcboot: the jail is up once this TCP port accepts in its network"},
	[P_READY_TIMEOUT] = {"ready_timeout", "60", PT_INT, 0, PG_IDENTITY, 1, 86400, NULL, 0, 0,
			     "seconds (1-86400)",
			     "rcboot: how long to wait for ready_cmd/ready_port"},
	[P_NOTES] = {"notes", "none", PT_TEXT, 0, PG_IDENTITY, 0, 0, NULL, 0, 0, "text",
		     "free text"},
	[P_OWNER] = {"owner", "root", PT_TEXT, 0, PG_IDENTITY, 0, 0, NULL, 0, 0, "text",
		     "informational"},
	[P_LAST_STARTED] =
		{"last_started", "none", PT_TIME, PF_RO | PF_NODEFAULT, PG_IDENTITY, 0, 0, NULL, 0,
		 0, "time (read-only)",
		 "time of the last successful start (kept in /run/iocell until rcshutdown)"},
	[P_MOUNTPOINT] = {"mountpoint", NULL, PT_PATH, PF_RO | PF_DERIVED | PF_NODEFAULT,
			  PG_IDENTITY, 0, 0, NULL, 0, 0, "path (read-only)",
			  "where the jail's dataset is mounted on the host"},

	/* network */
	[P_VNET] = {"vnet", "on", PT_ONOFF, PF_STOPPED, PG_NETWORK, 0, 0, NULL, 0, 0, "on | off",
		    "own network stack with veth interfaces on bridges"},
	[P_INTERFACES] = {"interfaces", "vnet0:bridge0", PT_IFACES, PF_STOPPED, PG_NETWORK, 0, 0,
			  NULL, 0, 0, "nic:bridge[,nic:bridge] (up to 10)",
			  "VNET interfaces and the host bridges they join"},
	[P_CREATEBRIDGE] = {"createbridge", "on", PT_ONOFF, 0, PG_NETWORK, 0, 0, NULL, 0, 0,
			    "on | off", "create a missing bridge (empty, up) at start"},
	[P_IP4_ADDR] = {"ip4_addr", "none", PT_IP4LIST, PF_STOPPED, PG_NETWORK, 0, 0, NULL, 0, 0,
			"IFACE|ADDR/PREFIX[,...] | none", "IPv4 addresses of the jail"},
	[P_IP6_ADDR] = {"ip6_addr", "none", PT_IP6LIST, PF_STOPPED, PG_NETWORK, 0, 0, NULL, 0, 0,
			"IFACE|ADDR/PREFIX[,...] | none", "IPv6 addresses of the jail"},
	[P_IP4] = {"ip4", "new", PT_ENUM, PF_STOPPED, PG_NETWORK, 0, 0, "new|inherit|disable", 0, 0,
		   "new | inherit | disable", "IPv4 stack: own, the host's, or none"},
	[P_IP6] = {"ip6", "new", PT_ENUM, PF_STOPPED, PG_NETWORK, 0, 0, "new|inherit|disable", 0, 0,
		   "new | inherit | disable", "IPv6 stack: own, the host's, or none"},
	[P_DEFAULTROUTER] = {"defaultrouter", "none", PT_IP4, 0, PG_NETWORK, 0, 0, NULL, 0, 0,
			     "IPv4 address | none", "IPv4 default route of a VNET jail"},
	[P_DEFAULTROUTER6] = {"defaultrouter6", "none", PT_IP6, 0, PG_NETWORK, 0, 0, NULL, 0, 0,
			      "IPv6 address | none", "IPv6 default route of a VNET jail"},
	MAC(P_VNET0_MAC, "vnet0_mac"),
	MAC(P_VNET1_MAC, "vnet1_mac"),
	MAC(P_VNET2_MAC, "vnet2_mac"),
	MAC(P_VNET3_MAC, "vnet3_mac"),
	MAC(P_VNET4_MAC, "vnet4_mac"),
	MAC(P_VNET5_MAC, "vnet5_mac"),
	MAC(P_VNET6_MAC, "vnet6_mac"),
	MAC(P_VNET7_MAC, "vnet7_mac"),
	MAC(P_VNET8_MAC, "vnet8_mac"),
	MAC(P_VNET9_MAC, "vnet9_mac"),
	[P_RESOLVER] = {"resolver", "none", PT_RESOLVER, 0, PG_NETWORK, 0, 0, NULL, 0, 0,
			"none | line;line",
			"jail /etc/resolv.conf: none copies the host's, else these lines"},
	[P_NAT] = {"nat", "off", PT_ONOFF, PF_STOPPED, PG_NETWORK, 0, 0, NULL, 0, 0, "on | off",
		   "an interface nat0 on iocell0 with an address from nat_prefix, masqueraded out "
		   "of nat_interface"},
	[P_NAT_PREFIX] = {"nat_prefix", "172.29.0.0/16,fd69:6f63:656c::/64", PT_NATPREFIX,
			  PF_STOPPED, PG_NETWORK, 0, 0, NULL, 0, 0,
			  "V4NET/LEN[,V6NET/LEN] (IPv4 /8-/30, IPv6 /64-/120)",
			  "networks NAT jails draw addresses from (gateway: the first address)"},
	[P_NAT_INTERFACE] = {"nat_interface", "auto", PT_IFNAME_AUTO, PF_STOPPED, PG_NETWORK, 0, 0,
			     NULL, 0, 0, "auto | interface",
			     "NAT uplink (auto: the interface of the host's default route)"},
	[P_NAT_FORWARDS] = {"nat_forwards", "none", PT_FORWARDS, PF_STOPPED, PG_NETWORK, 0, 0, NULL,
			    0, 0, "none | tcp(JAILPORT[:HOSTPORT]),udp(...)[,...]",
			    "host ports forwarded to a NAT jail"},
	[P_NAT_ADDR] = {"nat_addr", "none", PT_NATADDR, PF_RO | PF_IDENTITY | PF_NODEFAULT,
			PG_NETWORK, 0, 0, NULL, 0, 0, "V4[,V6] (read-only)",
			"the NAT jail's addresses (allocated at its first start)"},

	/* exec */
	[P_EXEC_PRESTART] = {"exec_prestart", "none", PT_COMMAND, 0, PG_EXEC, 0, 0, NULL, 0, 0,
			     "command | none", "run on the host before the jail starts"},
	[P_EXEC_POSTSTART] = {"exec_poststart", "none", PT_COMMAND, 0, PG_EXEC, 0, 0, NULL, 0, 0,
			      "command | none", "run on the host after the jail started"},
	[P_EXEC_PRESTOP] = {"exec_prestop", "none", PT_COMMAND, 0, PG_EXEC, 0, 0, NULL, 0, 0,
			    "command | none", "run on the host before the jail stops"},
	[P_EXEC_POSTSTOP] = {"exec_poststop", "none", PT_COMMAND, 0, PG_EXEC, 0, 0, NULL, 0, 0,
			     "command | none", "run on the host after the jail stopped"},
	[P_EXEC_START] =
		{"exec_start", NULL, PT_COMMAND, 0, PG_EXEC, 0, 0, NULL, 0, 0, "command | none",
		 "run inside the jail at start (default chosen from the release's init system)"},
	[P_EXEC_STOP] = {"exec_stop", NULL, PT_COMMAND, 0, PG_EXEC, 0, 0, NULL, 0, 0,
			 "command | none", "run inside the jail at stop"},
	[P_EXEC_TIMEOUT] = {"exec_timeout", "60", PT_INT, 0, PG_EXEC, 0, 86400, NULL, 0, 0,
			    "seconds (0-86400)", "bound on exec_* commands"},
	[P_STOP_TIMEOUT] = {"stop_timeout", "30", PT_INT, 0, PG_EXEC, 0, 86400, NULL, 0, 0,
			    "seconds (0-86400)", "bound on stopping, then SIGKILL"},
	[P_LOGIN_FLAGS] = {"login_flags", "-f root", PT_TEXT, 0, PG_EXEC, 0, 0, NULL, 0, 0,
			   "login(1) arguments", "arguments of login(1) for console"},

	/* security and mounts */
	BIT(P_MOUNT_PROCFS, "mount_procfs", "1", "mount /proc (sensitive entries masked)"),
	BIT(P_MOUNT_DEVFS, "mount_devfs", "1", "minimal /dev on tmpfs with its own devpts"),
	BIT(P_MOUNT_SYSFS, "mount_sysfs", "1", "mount /sys read-only"),
	BIT(P_ALLOW_RAW_SOCKETS, "allow_raw_sockets", "0", "keep CAP_NET_RAW (ping, traceroute)"),
	BIT(P_ALLOW_SET_HOSTNAME, "allow_set_hostname", "1",
	    "keep the right to change the jail's own hostname"),
	BIT(P_ALLOW_SYSVIPC, "allow_sysvipc", "0", "share the host's IPC namespace"),
	BIT(P_ALLOW_MOUNT, "allow_mount", "0", "keep CAP_SYS_ADMIN for mounting inside the jail"),
	BIT(P_ALLOW_MOUNT_DEVFS, "allow_mount_devfs", "0", "allow mounting devpts inside the jail"),
	BIT(P_ALLOW_MOUNT_NULLFS, "allow_mount_nullfs", "0", "allow bind mounts inside the jail"),
	BIT(P_ALLOW_MOUNT_PROCFS, "allow_mount_procfs", "0", "allow mounting proc inside the jail"),
	BIT(P_ALLOW_MOUNT_TMPFS, "allow_mount_tmpfs", "0", "allow mounting tmpfs inside the jail"),
	BIT(P_ALLOW_MOUNT_ZFS, "allow_mount_zfs", "0",
	    "let the jail's root manage its jail_zfs dataset and its children (OpenZFS >= 2.2: zfs zone; refused at start where the ZFS cannot)"),
	BIT(P_ALLOW_CHFLAGS, "allow_chflags", "0", "keep CAP_LINUX_IMMUTABLE (chattr +i/+a)"),
	BIT(P_ALLOW_QUOTAS, "allow_quotas", "0", "keep CAP_SYS_RESOURCE (quota administration)"),
	[P_SYSVMSG] = {"sysvmsg", "new", PT_ENUM, 0, PG_SECURITY, 0, 0, "new|inherit|disable", 0, 0,
		       "new | inherit | disable",
		       "System V message queues: own, the host's, or none"},
	[P_SYSVSEM] = {"sysvsem", "new", PT_ENUM, 0, PG_SECURITY, 0, 0, "new|inherit|disable", 0, 0,
		       "new | inherit | disable", "System V semaphores: own, the host's, or none"},
	[P_SYSVSHM] = {"sysvshm", "new", PT_ENUM, 0, PG_SECURITY, 0, 0, "new|inherit|disable", 0, 0,
		       "new | inherit | disable",
		       "System V shared memory: own, the host's, or none"},
	[P_SECURELEVEL] =
		{"securelevel", "2", PT_INT, 0, PG_SECURITY, -1, 3, NULL, 0, 0, "-1 to 3",
		 ">=1: no module loading, raw I/O or time setting, read-only /proc/sys; 3: no new mounts"},
	[P_CHILDREN_MAX] = {"children_max", "0", PT_INT, 0, PG_SECURITY, 0, 1000000, NULL, 0, 0,
			    "number",
			    "0: processes cannot create nested containers (user/mount namespaces)"},
	[P_PRIVILEGED] =
		{"privileged", "no", PT_YESNO, PF_STOPPED, PG_SECURITY, 0, 0, NULL, 0, 0,
		 "yes | no",
		 "yes: no user namespace, the jail's root is the host's root (the documented exception)"},
	[P_IDMAP_BASE] = {"idmap_base", "none", PT_IDBASE, PF_RO | PF_IDENTITY | PF_NODEFAULT,
			  PG_SECURITY, 0, 0, NULL, 0, 0, "host id (read-only)",
			  "host uid/gid of the jail's uid/gid 0; the jail owns 65536 ids from here"},
	[P_IDMAP_SHIFT] = {"idmap_shift", "0", PT_IDBASE, PF_RO | PF_IDENTITY | PF_NODEFAULT,
			   PG_SECURITY, 0, 0, NULL, 0, 0, "host id (read-only)",
			   "host id the ownership on disk is shifted to (0: jail ids on disk)"},

	/* limits */
	[P_CPUSET] = {"cpuset", "off", PT_CPUSET, 0, PG_LIMITS, 0, 0, NULL, 0, 0,
		      "off | CPU list (0-1,3)", "CPUs the jail's processes may run on"},
	[P_RLIMITS] = {"rlimits", "off", PT_ONOFF, 0, PG_LIMITS, 0, 0, NULL, 0, 0, "on | off",
		       "master switch for the resource limits below"},
	LIM(P_MEMORYUSE, "memoryuse", "8G:log", LU_BYTES, CG,
	    "memory (cgroup): deny = hard limit, log = high mark"),
	LIM(P_PCPU, "pcpu", "off", LU_PERCENT, CG, "CPU quota in percent of one CPU (cgroup)"),
	LIM(P_MAXPROC, "maxproc", "off", LU_COUNT, CG, "processes and threads (cgroup pids)"),
	LIM(P_OPENFILES, "openfiles", "off", LU_COUNT, RL,
	    "open files per process (RLIMIT_NOFILE)"),
	LIM(P_VMEMORYUSE, "vmemoryuse", "off", LU_BYTES, RL,
	    "address space per process (RLIMIT_AS)"),
	LIM(P_MEMORYLOCKED, "memorylocked", "off", LU_BYTES, RL,
	    "locked memory per process (RLIMIT_MEMLOCK)"),
	LIM(P_SWAPUSE, "swapuse", "off", LU_BYTES, CG, "swap (cgroup)"),
	LIM(P_NTHR, "nthr", "off", LU_COUNT, CG, "threads (cgroup pids)"),
	LIM(P_PSEUDOTERMINALS, "pseudoterminals", "off", LU_COUNT, RL,
	    "pseudo-terminals (devpts max)"),
	LIM(P_CPUTIME, "cputime", "off", LU_SECONDS, RL | LA_SIGNAL,
	    "CPU seconds per process (RLIMIT_CPU)"),
	LIM(P_DATASIZE, "datasize", "off", LU_BYTES, RL, "data segment per process (RLIMIT_DATA)"),
	LIM(P_STACKSIZE, "stacksize", "off", LU_BYTES, RL, "stack per process (RLIMIT_STACK)"),
	LIM(P_COREDUMPSIZE, "coredumpsize", "off", LU_BYTES, RL,
	    "core dump size per process (RLIMIT_CORE)"),
	LIM(P_READBPS, "readbps", "off", LU_BYTES, RL, "read bytes per second (cgroup io)"),
	LIM(P_WRITEBPS, "writebps", "off", LU_BYTES, RL, "write bytes per second (cgroup io)"),
	LIM(P_READIOPS, "readiops", "off", LU_COUNT, RL, "read operations per second (cgroup io)"),
	LIM(P_WRITEIOPS, "writeiops", "off", LU_COUNT, RL,
	    "write operations per second (cgroup io)"),
	LIM(P_WALLCLOCK, "wallclock", "off", LU_SECONDS, RL | LA_SIGNAL,
	    "stop the jail after this long"),

	/* zfs */
	[P_QUOTA] = {"quota", "none", PT_SIZE, PF_ZFS, PG_ZFS, 0, 0, NULL, 0, 0, "size | none",
		     "ZFS quota of the jail dataset"},
	[P_RESERVATION] = {"reservation", "none", PT_SIZE, PF_ZFS, PG_ZFS, 0, 0, NULL, 0, 0,
			   "size | none", "ZFS reservation of the jail dataset"},
	[P_COMPRESSION] =
		{"compression", "on", PT_ENUM, PF_ZFS, PG_ZFS, 0, 0,
		 "on|off|lzjb|gzip|gzip-1|gzip-2|gzip-3|gzip-4|gzip-5|gzip-6|gzip-7|gzip-8|gzip-9|zle|lz4|zstd",
		 0, 0, "on | off | lzjb | gzip[-N] | zle | lz4 | zstd",
		 "ZFS compression of the jail dataset"},
	[P_DEDUP] = {"dedup", "off", PT_ENUM, PF_ZFS, PG_ZFS, 0, 0,
		     "on|off|verify|sha256|sha256,verify", 0, 0,
		     "on | off | verify | sha256[,verify]",
		     "ZFS deduplication of the jail dataset"},
	[P_JAIL_ZFS] =
		{"jail_zfs", "off", PT_ONOFF, PF_STOPPED, PG_ZFS, 0, 0, NULL, 0, 0, "on | off",
		 "mount a dataset of its own in the jail at jail_zfs_mountpoint (DATASETS IN JAILS)"},
	[P_JAIL_ZFS_DATASET] = {"jail_zfs_dataset", NULL, PT_DATASET, PF_NODEFAULT | PF_STOPPED,
				PG_ZFS, 0, 0, NULL, 0, 0, "dataset below the pool",
				"the dataset handed to the jail (default iocell/jails/UUID/data)"},
	[P_JAIL_ZFS_MOUNTPOINT] =
		{"jail_zfs_mountpoint", "none", PT_PATH, PF_STOPPED, PG_ZFS, 0, 0, NULL, 0, 0,
		 "absolute path | none",
		 "where the jail_zfs dataset is mounted inside the jail (needed with jail_zfs=on)"},
	[P_PKGLIST] = {"pkglist", "none", PT_PATH, PF_CREATE, PG_ZFS, 0, 0, NULL, 0, 0,
		       "file path | none",
		       "packages to install at create, one per line (a failure undoes the create)"},
};
_Static_assert(sizeof(prop_table) / sizeof(prop_table[0]) == P__COUNT, "one row per enum prop_id");
const size_t prop_count = P__COUNT;

static const struct {
	const char *name, *hint;
} freebsd_only[] = {
	{"devfs_ruleset", "device access is the fixed minimal /dev (mount_devfs)"},
	{"enforce_statfs", "mount visibility comes from the jail's mount namespace"},
	{"exec_fib", "use policy routing on the host (ip rule) for the jail's addresses"},
	{"mount_fdescfs", "/dev/fd is part of the jail's /dev (mount_devfs)"},
	{"mount_linprocfs", "Linux /proc is mount_procfs"},
	{"ip4_saddrsel", "source address selection follows the jail's own network namespace"},
	{"ip6_saddrsel", "source address selection follows the jail's own network namespace"},
	{"hack88", "Linux has no 88-character mount path limit"},
	{"allow_socket_af", "address families are restricted by the seccomp filter"},
	{"exec_clean", "jail commands always start with a clean environment"},
	{"exec_system_user", "use exec -u USER"},
	{"exec_jail_user", "use exec -u USER"},
	{"exec_system_jail_user", "use exec -u USER"},
	{"mount_fstab", "bind mounts come from /iocell/jails/UUID/fstab"},
	{"allow_mount_fusefs", "FUSE needs /dev/fuse, which the minimal /dev leaves out"},
	{"allow_kmem", "kernel memory devices are never exposed to a jail"},
	{"host_time", "the kernel clock is shared; securelevel forbids setting it"},
};

const struct propdef *prop_find(const char *name)
{
	for (size_t i = 0; i < prop_count; i++)
		if (strcmp(prop_table[i].name, name) == 0)
			return &prop_table[i];
	return NULL;
}

char *prop_zfs_name(const struct propdef *p, bool on_defaults)
{
	if ((p->flags & PF_ZFS) && !on_defaults)
		return xstrdup(p->name);
	return xasprintf(IOC_PROP_PREFIX "%s", p->name);
}

void props_to_zfs(struct kv *z, const struct kv *props)
{
	kv_init(z);
	for (size_t i = 0; i < props->k.n; i++) {
		const struct propdef *p = prop_find(props->k.v[i]);
		char *name = prop_zfs_name(p, false);
		kv_set(z, name, props->v.v[i]);
		free(name);
	}
}

const char *prop_freebsd_hint(const char *name)
{
	for (size_t i = 0; i < sizeof(freebsd_only) / sizeof(freebsd_only[0]); i++)
		if (strcmp(freebsd_only[i].name, name) == 0)
			return freebsd_only[i].hint;
	return NULL;
}

int host_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	return n > 0 ? (int)n : 1;
}

char *host_codename(void)
{
	char *txt = read_file("/etc/os-release", NULL);
	char *res = NULL;
	if (!txt) {
		ioc_err_clear();
		return xstrdup("unknown");
	}
	struct strv lines = {0};
	split(&lines, txt, "\n", true);
	for (size_t i = 0; i < lines.n && !res; i++) {
		const char *l = lines.v[i];
		if (startswith(l, "VERSION_CODENAME=")) {
			const char *v = l + strlen("VERSION_CODENAME=");
			size_t n = strlen(v);
			if (n >= 2 && (v[0] == '"' || v[0] == '\''))
				res = xstrndup(v + 1, n - 2);
			else
				res = xstrdup(v);
		}
	}
	sv_free(&lines);
	free(txt);
	if (!res || !*res) {
		free(res);
		res = xstrdup("unknown");
	}
	return res;
}

static bool in_choices(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;
	while (*p) {
		size_t l = strcspn(p, "|");
		if (l == n && strncmp(p, v, n) == 0)
			return true;
		p += l;
		if (*p)
			p++;
	}
	return false;
}

static bool fail(char *err, size_t n, const struct propdef *p, const char *why)
{
	if (why)
		snprintf(err, n, "%s; allowed: %s", why, p->values ? p->values : "see iocell(8)");
	else
		snprintf(err, n, "allowed: %s", p->values ? p->values : "see iocell(8)");
	return false;
}

bool prop_validate(const struct propdef *p, const char *v, char *err, size_t n)
{
	char why[256] = "";
	if (!v || !*v)
		return fail(err, n, p, "the value is empty (use none)");
	if (strlen(v) >= 4096)
		return fail(err, n, p, "the value is longer than 4095 characters");
	for (const char *c = v; *c; c++)
		if (*c == '\n' || *c == '\t' || *c == '\r' || (unsigned char)*c < 0x20)
			return fail(err, n, p,
				    "the value contains a control character (tab, newline)");

	switch (p->type) {
	case PT_TEXT:
	case PT_COMMAND:
	case PT_TIME: return true;
	case PT_IDBASE:
		return streq(v, "none") || parse_int(v, 0, IDMAP_MAX_BASE, NULL)
			       ? true
			       : fail(err, n, p, "not a host id");
	case PT_ONOFF: return (streq(v, "on") || streq(v, "off")) ? true : fail(err, n, p, NULL);
	case PT_YESNO: return (streq(v, "yes") || streq(v, "no")) ? true : fail(err, n, p, NULL);
	case PT_BIT: return (streq(v, "0") || streq(v, "1")) ? true : fail(err, n, p, NULL);
	case PT_INT:
		return parse_int(v, p->min, p->max, NULL)
			       ? true
			       : fail(err, n, p, "out of range or not a number");
	case PT_ENUM: return in_choices(p->choices, v) ? true : fail(err, n, p, NULL);
	case PT_TAG: {
		const char *w = NULL;
		return valid_tag(v, &w) ? true : fail(err, n, p, w);
	}
	case PT_HOSTNAME: return valid_hostname(v) ? true : fail(err, n, p, "not a valid hostname");
	case PT_DOMAIN:
		return (streq(v, "none") || valid_hostname(v))
			       ? true
			       : fail(err, n, p, "not a valid domain name");
	case PT_RELEASE:
		return valid_component(v) ? true : fail(err, n, p, "not a valid release name");
	case PT_UUID: return valid_uuid(v) ? true : fail(err, n, p, "not a UUID");
	case PT_IFACES: {
		size_t cnt;
		struct iface_entry e[10];
		if (streq(v, "none"))
			return true;
		return parse_interfaces(v, e, 10, &cnt, why, sizeof(why)) ? true
									  : fail(err, n, p, why);
	}
	case PT_IP4LIST:
	case PT_IP6LIST: {
		size_t cnt;
		return parse_ip_list(v, p->type == PT_IP4LIST ? 4 : 6, NULL, 64, &cnt, why,
				     sizeof(why))
			       ? true
			       : fail(err, n, p, why);
	}
	case PT_IP4:
		return (streq(v, "none") || parse_ipv4(v, NULL))
			       ? true
			       : fail(err, n, p, "not an IPv4 address");
	case PT_IP6:
		return (streq(v, "none") || parse_ipv6(v, NULL))
			       ? true
			       : fail(err, n, p, "not an IPv6 address");
	case PT_MACPAIR: {
		if (streq(v, "none"))
			return true;
		const char *comma = strchr(v, ',');
		uint8_t a[6], b[6];
		if (!comma)
			return fail(err, n, p, "two MAC addresses are needed");
		char *first = xstrndup(v, (size_t)(comma - v));
		bool ok = parse_mac(first, a) && parse_mac(comma + 1, b);
		free(first);
		if (!ok)
			return fail(err, n, p, "not MAC addresses");
		if ((a[0] & 1) || (b[0] & 1))
			return fail(err, n, p,
				    "a multicast MAC address cannot be an interface address");
		return true;
	}
	case PT_RESOLVER: return true;
	case PT_CPUSET: {
		if (streq(v, "off"))
			return true;
		uint64_t mask[16];
		int hi;
		if (!parse_cpulist(v, mask, &hi))
			return fail(err, n, p, "not a CPU list");
		int ncpu = host_ncpus();
		if (hi >= ncpu) {
			snprintf(why, sizeof(why),
				 "CPU %d does not exist (this host has CPUs 0-%d)", hi, ncpu - 1);
			return fail(err, n, p, why);
		}
		return true;
	}
	case PT_LIMIT: {
		if (streq(v, "off"))
			return true;
		struct limit_val lv;
		if (!parse_limit(v, p->unit, p->actions, &lv, why, sizeof(why))) {
			snprintf(err, n, "%s; allowed: AMOUNT:ACTION or off", why);
			return false;
		}
		/* limit-specific bounds of the Linux mechanisms */
		if (p->unit == LU_PERCENT && lv.amount > (uint64_t)host_ncpus() * 100) {
			snprintf(err, n,
				 "%llu%% is more than this host's %d CPU(s) can give (at most %d); "
				 "allowed: AMOUNT:ACTION or off",
				 (unsigned long long)lv.amount, host_ncpus(), host_ncpus() * 100);
			return false;
		}
		if (lv.action == LA_SIGNAL && prop_id_of(p) == P_CPUTIME && lv.signo != SIGXCPU) {
			snprintf(err, n,
				 "RLIMIT_CPU can only send SIGXCPU at the limit (deny kills with "
				 "SIGKILL); allowed: AMOUNT:deny, AMOUNT:sigxcpu or off");
			return false;
		}
		if (lv.action == LA_SIGNAL && lv.signo == SIGSTOP) {
			snprintf(err, n,
				 "sigstop would freeze the jail's processes for good; allowed: "
				 "AMOUNT:ACTION or off");
			return false;
		}
		if (lv.amount == 0 && (prop_id_of(p) == P_WALLCLOCK || prop_id_of(p) == P_MAXPROC ||
				       prop_id_of(p) == P_NTHR)) {
			snprintf(err, n,
				 "0 would leave the jail no process; allowed: AMOUNT:ACTION "
				 "(AMOUNT > 0) or off");
			return false;
		}
		return true;
	}
	case PT_PORT:
		return (streq(v, "none") || parse_int(v, 1, 65535, NULL))
			       ? true
			       : fail(err, n, p, "not a port number");
	case PT_IFNAME_AUTO:
		return (streq(v, "auto") || valid_ifname(v))
			       ? true
			       : fail(err, n, p, "not an interface name");
	case PT_NATPREFIX:
		return parse_nat_prefix(v, NULL, why, sizeof(why)) ? true : fail(err, n, p, why);
	case PT_FORWARDS: {
		size_t cnt;
		return parse_forwards(v, NULL, NAT_MAX_FORWARDS, &cnt, why, sizeof(why))
			       ? true
			       : fail(err, n, p, why);
	}
	case PT_NATADDR: {
		bool h4, h6;
		uint8_t a4[4], a6[16];
		return parse_nat_addr(v, &h4, a4, &h6, a6) ? true
							   : fail(err, n, p, "not addresses");
	}
	case PT_NAMES: {
		size_t cnt;
		return parse_name_list(v, NULL, 64, &cnt, why, sizeof(why)) ? true
									    : fail(err, n, p, why);
	}
	case PT_SIZE:
		return (streq(v, "none") || parse_size(v, NULL)) ? true
								 : fail(err, n, p, "not a size");
	case PT_PATH:
		return (streq(v, "none") || v[0] == '/') ? true
							 : fail(err, n, p, "not an absolute path");
	case PT_DATASET: {
		if (v[0] == '/' || strstr(v, "//") || endswith(v, "/") || strchr(v, '@'))
			return fail(err, n, p, "not a dataset name");
		struct strv parts = {0};
		split(&parts, v, "/", false);
		bool ok = true;
		for (size_t i = 0; i < parts.n; i++)
			if (!valid_component(parts.v[i]))
				ok = false;
		sv_free(&parts);
		return ok ? true : fail(err, n, p, "not a dataset name");
	}
	}
	return fail(err, n, p, NULL);
}

bool prop_settable(const char *name, bool for_default, char *err, size_t n)
{
	const struct propdef *p = prop_find(name);
	if (!p) {
		const char *h = prop_freebsd_hint(name);
		if (h)
			snprintf(err, n, "%s is a FreeBSD jail parameter with no Linux meaning: %s",
				 name, h);
		else
			snprintf(err, n,
				 "unknown property '%s' (see 'iocell defaults' for the list)",
				 name);
		return false;
	}
	if (p->flags & PF_RO) {
		snprintf(err, n, "%s is read-only", name);
		return false;
	}
	if (for_default && (p->flags & PF_NODEFAULT)) {
		snprintf(err, n, "%s is per jail and has no system-wide default", name);
		return false;
	}
	return true;
}

static const char *cfg(const struct kv *c, enum prop_id id)
{
	const char *v = prop_kv_get(c, id);
	if (v)
		return v;
	return prop_table[id].def ? prop_table[id].def : "none";
}

/* Where jail_zfs may mount a dataset in the jail: not its root, not through . or .., not
 * in /proc, /dev or /sys (iocell mounts those after it: they would hide it, or be made in
 * the user's dataset).  NULL, or why not. */
static const char *jail_zfs_mountpoint_bad(const char *mp)
{
	struct strv parts = {0};
	split(&parts, mp, "/", true);
	const char *why = NULL;
	if (!parts.n)
		why = "it is the jail's root";
	for (size_t i = 0; !why && i < parts.n; i++)
		if (streq(parts.v[i], ".") || streq(parts.v[i], ".."))
			why = "it has a . or .. component";
	if (!why &&
	    (streq(parts.v[0], "proc") || streq(parts.v[0], "dev") || streq(parts.v[0], "sys")))
		why = "iocell mounts /proc, /dev and /sys in the jail over it";
	sv_free(&parts);
	return why;
}

/* nat=on: a VNET jail with its own stack, routed by iocell's gateway, no nic nat0. */
static bool check_nat(const struct kv *c, char *err, size_t n)
{
	if (!streq(cfg(c, P_NAT), "on"))
		return true;
	if (!streq(cfg(c, P_VNET), "on")) {
		snprintf(err, n, "nat=on needs vnet=on (its interface nat0 is a veth on iocell0)");
		return false;
	}
	if (streq(cfg(c, P_IP4), "inherit") || streq(cfg(c, P_IP6), "inherit")) {
		snprintf(err, n,
			 "nat=on needs the jail's own network stack (ip4 and ip6 not "
			 "inherit)");
		return false;
	}
	struct nat_prefix np;
	char why[256];
	if (!parse_nat_prefix(cfg(c, P_NAT_PREFIX), &np, why, sizeof(why))) {
		snprintf(err, n, "nat_prefix: %s", why);
		return false;
	}
	bool v4 = np.has4 && !streq(cfg(c, P_IP4), "disable");
	bool v6 = np.has6 && !streq(cfg(c, P_IP6), "disable");
	if (!v4 && !v6) {
		snprintf(err, n,
			 "nat=on, but nat_prefix has no prefix of an enabled family (ip4, "
			 "ip6)");
		return false;
	}
	if ((v4 && !streq(cfg(c, P_DEFAULTROUTER), "none")) ||
	    (v6 && !streq(cfg(c, P_DEFAULTROUTER6), "none"))) {
		snprintf(err, n,
			 "nat=on routes the jail through iocell0's gateway: set "
			 "defaultrouter%s=none",
			 (v4 && !streq(cfg(c, P_DEFAULTROUTER), "none")) ? "" : "6");
		return false;
	}
	struct iface_entry ifs[10];
	size_t nif = 0;
	const char *ifaces = cfg(c, P_INTERFACES);
	if (!streq(ifaces, "none") && parse_interfaces(ifaces, ifs, 10, &nif, why, sizeof(why)))
		for (size_t i = 0; i < nif; i++)
			if (streq(ifs[i].nic, "nat0") || streq(ifs[i].bridge, "iocell0")) {
				snprintf(err, n,
					 "interfaces: %s:%s: nat0 and the bridge iocell0 belong to "
					 "nat=on",
					 ifs[i].nic, ifs[i].bridge);
				return false;
			}
	return true;
}

bool props_check_config(const struct kv *c, char *err, size_t n)
{
	const char *zmp = cfg(c, P_JAIL_ZFS_MOUNTPOINT);
	if (streq(cfg(c, P_JAIL_ZFS), "on") && streq(zmp, "none")) {
		snprintf(err, n,
			 "jail_zfs=on needs jail_zfs_mountpoint=PATH, where the dataset appears "
			 "inside the jail (e.g. jail_zfs_mountpoint=/data)");
		return false;
	}
	const char *bad = streq(zmp, "none") ? NULL : jail_zfs_mountpoint_bad(zmp);
	if (bad) {
		snprintf(err, n, "jail_zfs_mountpoint=%s cannot be used: %s (e.g. /data)", zmp,
			 bad);
		return false;
	}
	if (!check_nat(c, err, n))
		return false;
	if (!streq(cfg(c, P_VNET), "on"))
		return true;
	/* VNET: every address names one of the jail's nics. */
	struct iface_entry ifs[10];
	size_t nif = 0;
	char why[256];
	const char *ifaces = cfg(c, P_INTERFACES);
	if (!streq(ifaces, "none") && !parse_interfaces(ifaces, ifs, 10, &nif, why, sizeof(why))) {
		snprintf(err, n, "interfaces: %s", why);
		return false;
	}
	static const enum prop_id lists[] = {P_IP4_ADDR, P_IP6_ADDR};
	for (int l = 0; l < 2; l++) {
		struct ipaddr_entry e[64];
		size_t ne = 0;
		if (!parse_ip_list(cfg(c, lists[l]), l == 0 ? 4 : 6, e, 64, &ne, why,
				   sizeof(why))) {
			snprintf(err, n, "%s: %s", prop_name(lists[l]), why);
			return false;
		}
		for (size_t i = 0; i < ne; i++) {
			bool found = false;
			for (size_t j = 0; j < nif; j++)
				if (streq(e[i].iface, ifs[j].nic))
					found = true;
			if (!found) {
				/* e.g. the manual's ip4_addr="em0|10.1.1.10/24": a shared-IP
				 * address on a host interface */
				char pfx[16] = "";
				if (e[i].prefix >= 0)
					snprintf(pfx, sizeof(pfx), "/%d", e[i].prefix);
				snprintf(
					err, n,
					"%s names interface '%s', which is not among the jail's "
					"VNET interfaces (%s): an address on a host interface is a "
					"shared-IP jail, which needs vnet=off; or give it to a VNET "
					"interface: %s=\"%s|%s%s\"",
					prop_name(lists[l]), e[i].iface, ifaces,
					prop_name(lists[l]), nif ? ifs[0].nic : "vnet0", e[i].addr,
					pfx);
				return false;
			}
		}
	}
	return true;
}

static bool exists_in(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

char *prop_builtin_default(const struct propdef *p, const struct defctx *c)
{
	if (p->def)
		return xstrdup(p->def);
	switch (prop_id_of(p)) {
	case P_TAG: return time_tag();
	case P_HOST_HOSTUUID:
	case P_HOST_HOSTNAME: return xstrdup(c && c->uuid ? c->uuid : "none");
	case P_RELEASE: return c && c->host_release ? xstrdup(c->host_release) : host_codename();
	case P_TYPE: return xstrdup("jail");
	case P_JAIL_ZFS_DATASET:
		return xasprintf("iocell/jails/%s/data", c && c->uuid ? c->uuid : "UUID");
	case P_EXEC_START:
	case P_EXEC_STOP: {
		bool start = prop_id_of(p) == P_EXEC_START;
		const char *root = c ? c->root : NULL;
		if (root && exists_in(root, "etc/init.d/rc"))
			return xstrdup(start ? "/etc/init.d/rc 3" : "/etc/init.d/rc 0");
		if (root && exists_in(root, "etc/rc"))
			return xstrdup(start ? "/bin/sh /etc/rc" : "/bin/sh /etc/rc.shutdown");
		return xstrdup("none");
	}
	default: return xstrdup("none");
	}
}

const char *prop_default_note(const struct propdef *p)
{
	switch (prop_id_of(p)) {
	case P_TAG: return "(creation time)";
	case P_HOST_HOSTUUID:
	case P_HOST_HOSTNAME: return "(the jail's UUID)";
	case P_TYPE: return "(set by create)";
	case P_JAIL_ZFS_DATASET: return "(iocell/jails/UUID/data)";
	case P_EXEC_START:
	case P_EXEC_STOP: return "(chosen from the release: /etc/init.d/rc, /etc/rc, or none)";
	case P_MOUNTPOINT: return "(the jail dataset's mountpoint)";
	default: return NULL;
	}
}
