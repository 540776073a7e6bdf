/*
 * THE platform interface: what the command layer (and ops/) asks of the operating system
 * to run jails.  src/linux/ implements it; a FreeBSD backend would be src/freebsd/
 * implementing the same calls (doc/design.md says what each would map to).
 *
 * Jails come in as core objects: a loaded jail (start, chroot, cap) or a running jail's
 * runtime state (everything else).  The implementation builds the typed configuration
 * (core/jailconf.h) from them once; it never parses user input.  Errors are recorded with
 * ioc_err (core/util.h) and -1 returned.
 */
#ifndef IOC_PLATFORM_H
#define IOC_PLATFORM_H

#include "core/jail.h"
#include "core/runstate.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- life cycle (SPEC §5) --------------------------------------------------------- */

/* Start j (the caller holds its lock).  force: start a template too.  On success *jid
 * is set.  With sp (jail_resolve_spec), j may be a cached configuration: the result is
 * then PLAT_RESTART when the real one differs, everything undone: start again with
 * sp->fresh.  Otherwise 0, or -1 with everything done undone. */
#define PLAT_RESTART 1
int plat_start(struct jail *j, bool force, int *jid, struct jail_spec *sp);

/* Stop the jail described by its runtime state (the caller holds its lock):
 * exec_prestop, exec_stop (unless force), SIGTERM, SIGKILL after stop_timeout, network,
 * cgroup and state removed, exec_poststop.  Also cleans a half-started or crashed jail. */
int plat_stop(struct runstate *rs, bool force);

/* Soft restart: exec_stop, kill every jail process but its init, exec_start again;
 * namespaces, network and limits stay. */
int plat_restart_soft(struct runstate *rs);

/* Readiness (rcboot): wait until the running jail uuid (tag: for messages) is ready:
 * ready_cmd, when not NULL, run as /bin/sh -c inside it exits 0 (output to its console
 * log), and, when port is not 0, a TCP socket of its network namespace listens on port and
 * a connection from inside that namespace is accepted (a wildcard listener is reached on
 * loopback); polled until timeout seconds have passed.  0 ready (*ms: after how long), or
 * -1 with the error, and the reason for rcboot's summary in why. */
int plat_ready_wait(const char *uuid, const char *tag, const char *ready_cmd, int port,
		    long timeout, long long *ms, char *why, size_t n);

/* ---- joining a jail ----------------------------------------------------------------- */

/* Run argv inside the running jail as user (NULL: root).  0 with *status the command's
 * exit status (128+signal when killed). */
int plat_exec(const struct runstate *rs, const char *user, char *const argv[], int *status);

/* Interactive login shell (login_flags) on a pseudo-terminal allocated inside the jail. */
int plat_console(const struct runstate *rs, int *status);

/* Run argv in the stopped jail's filesystem: private mount and PID namespaces,
 * transient /proc and /dev, the host's network, the jail's privileges. */
int plat_chroot(const struct jail *j, char *const argv[], int *status);

/* Put a read-only copy of the host directory host_dir (a mount, with what is mounted
 * below it) in place of the mount at jail_dir inside the running jail: beneath the old
 * one, which is then detached (processes using its files keep them), so that the jail
 * never sees jail_dir empty: 0.  Where the kernel refuses that (before Linux 6.5; a jail
 * in a user namespace, whose mounts are locked) on top of it, the old one staying
 * underneath until the jail stops: 1.  Never through the jail's
 * symlinks.  The forced upgrade of a basejail.  -1 with the error recorded. */
int plat_replace_mount(const struct runstate *rs, const char *host_dir, const char *jail_dir);
/* Undo a plat_replace_mount that returned 1: detach the top mount at jail_dir when it is
 * host_dir's file system (else it is not iocell's: left alone, an error), showing the
 * one underneath again.  0, or -1 with the error recorded. */
int plat_unstack_mount(const struct runstate *rs, const char *host_dir, const char *jail_dir);
/* Whether this kernel can do plat_replace_mount (open_tree, move_mount and mount_setattr:
 * Linux 5.12 or later).  false with the error recorded (what is missing and why). */
bool plat_can_replace_mount(void);

/* ---- runtime facts ------------------------------------------------------------------- */

/* Load a jail's runtime state by name without any zfs call when possible (UUID, or
 * tag/prefix of a running jail).  1 running, 0 the jail exists but is not running (rs
 * then holds what is left of its state, if anything), -1 error. */
int plat_lookup(const char *name, struct runstate *rs, char uuid_out[37]);

/* The live facts `iocell runtime` shows. */
struct plat_ns {
	const char *name; /* mnt, pid, uts, ipc, net, cgroup */
	char id[128];     /* e.g. "net:[4026532345]" */
	bool shared;      /* the host's own */
};

struct plat_netif {
	char name[16];
	bool up;
	char mac[18]; /* "" for loopback */
	char *addrs;  /* " ADDR/PREFIX" for each address, "" for none */
	char *note;   /* "  (host end NAME)", "  (ipvlan over host NAME)" or "" */
};

enum plat_net {
	PLAT_NET_HOST,     /* the host's network stack */
	PLAT_NET_RECORDED, /* its namespace cannot be entered: net_recorded only */
	PLAT_NET_LIVE,     /* ifs, read inside the jail */
};

struct plat_info {
	long long jid;
	pid_t pid;
	const char *tag, *started, *root; /* from the state (valid while it is), NULL: none */
	struct plat_ns ns[7];
	size_t nns;
	char uid_map[64]; /* the init's "INSIDE OUTSIDE COUNT" ("0 0 4294967295": the host's) */
	const char *cgroup_mode; /* NULL: none */
	const char *cgroup_unit; /* systemd hosts: the jail's scope unit, else NULL */
	struct strv cgroup_dirs;
	enum plat_net net;
	char *net_recorded; /* the interfaces recorded at start */
	struct plat_netif *ifs;
	size_t nifs;
	char *net_incomplete; /* why ifs may miss some, or NULL */
};
int plat_info(const struct runstate *rs, struct plat_info *info);
void plat_info_free(struct plat_info *info);

/* ---- limits (SPEC §7) ------------------------------------------------------------------ */

/* Apply the limit properties of j (just loaded) to the running jail of rs (locked) at
 * once, and record them in its state.  Warns about what takes effect at the next start
 * only. */
int plat_cap(struct runstate *rs, const struct jail *j);
/* Lift every limit of the running jail (and record that). */
int plat_uncap(struct runstate *rs);

/* The limits of a running jail, as `limits` shows them (checking its log limits first). */
struct plat_limit {
	const char *name;   /* "cpuset", then each limit's property */
	char *value;        /* as configured, "VALUE (rlimits=off)" when rlimits is off */
	char *in_force;     /* read back from the kernel, e.g. "67108864 (memory.max)" */
	char crossings[24]; /* log limits: crossings so far, else "-" */
	bool set;           /* in force (the cpuset row is always listed) */
};
int plat_limits(const struct runstate *rs, struct plat_limit **out, size_t *n);
void plat_limits_free(struct plat_limit *v, size_t n);

/* Current consumption of a running jail (checking its log limits first); -1 unknown. */
struct plat_usage {
	long long mem, swap; /* bytes */
	long long cpu_us;    /* CPU time in microseconds */
	long long procs, threads, openfiles;
	long long rbytes, wbytes, rios, wios;
};
int plat_usage(const struct runstate *rs, struct plat_usage *u);

/* ---- leftovers (`iocell doctor`, issue 15) ---------------------------------------------- */

/* What the runtime made for jails that do not run: cgroups iocell/UUID and host
 * interfaces labelled iocell:UUID of the jails in known that are not in running (only
 * those: the cgroup tree is the host's, and another iocell runtime dir or pool may own
 * the others), and bridges iocell created that have no port left.  Each thing found is
 * added to found ("KIND: what"); with fix it is removed (*fixed / *failed counted).  0,
 * or -1 when the scan itself failed (error recorded). */
int plat_leftovers(const struct strv *known, const struct strv *running, bool fix,
		   struct strv *found, size_t *fixed, size_t *failed);

#endif
