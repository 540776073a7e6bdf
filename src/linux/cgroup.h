/*
 * Per-jail cgroups, cgroup v2 where the host has it, v1 controllers otherwise (detected
 * at run time).  On a systemd host with cgroup v2 the jail's cgroup is the leaf "jail" of
 * a delegated scope unit of its own (cgscope.c):
 *     /sys/fs/cgroup/machine.slice/iocell-UUID.scope/jail
 * elsewhere (no systemd, cgroup v1, or IOCELL_CGROUP_SYSTEMD=0) "iocell/UUID" below each
 * hierarchy root.  The runtime state keeps which (cg_to_state, cg_of_state).
 */
#ifndef IOC_CGROUP_H
#define IOC_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cg_mode { CG_V2, CG_V1 };

/* Detect the cgroup layout of this host.  Errors when neither is usable. */
int cg_detect(enum cg_mode *mode);

struct runstate;

/* The directories making up one jail's cgroup (one per v1 hierarchy, one for v2). */
struct cgroup {
	enum cg_mode mode;
	size_t n;
	char *dirs[16]; /* absolute paths, e.g. /sys/fs/cgroup/memory/iocell/UUID */
	char *unit;     /* systemd: the jail's scope unit (iocell-UUID.scope), else NULL */
	char *scope;    /* systemd: the scope's cgroup, systemd's own; dirs[0] is below it */
};

/* Create the jail's cgroup and move pid (the jail's first process) into it, described as
 * desc to systemd.  systemd host: a scope unit with the process, then its leaf "jail"
 * with the controllers enabled above it, the process moved there (the scope's own
 * cgroup keeps no process: cgroup v2's no-internal-process rule); when systemd cannot be
 * reached over D-Bus, a warning and the tree below.  Otherwise "iocell/UUID" (parents
 * "iocell" too; v1 cpuset: cpus/mems copied from the parent; v2: controllers enabled in
 * the parents' subtree_control; an existing, empty leftover is reused).  On failure what
 * was made is in cg, for cg_destroy (which the caller runs after killing pid).  pid 0:
 * the "iocell/UUID" tree alone, nothing moved (tests). */
int cg_create(struct cgroup *cg, const char *uuid, pid_t pid, const char *desc);
/* Fill cg with the paths of the jail's "iocell/UUID" cgroup without creating anything. */
void cg_paths(struct cgroup *cg, const char *uuid);
/* The jail's cgroup as its runtime state records it (empty when it has none). */
void cg_of_state(struct cgroup *cg, const struct runstate *rs);
/* Record the cgroup in the runtime state (RS_CGROUP and, on systemd hosts, RS_CGPATH and
 * RS_CGUNIT). */
void cg_to_state(const struct cgroup *cg, struct runstate *st);
/* Move pid (a process, with all its threads) into the jail's cgroup, every hierarchy. */
int cg_attach(const struct cgroup *cg, pid_t pid);
/* Move the calling process into the jail's cgroup; it must have one thread (iocell starts
 * none).  On v1 it writes "0" to each hierarchy's "tasks": that moves the calling thread
 * without the kernel's global threadgroup lock, which a write of a PID to cgroup.procs
 * takes for writing, and whose first taking after a quiet moment waits for an RCU grace
 * period (7-16 ms per start on a loaded 2-CPU host, against 0.1 ms; bench/README.md).
 * On v2 (threads move by cgroup.procs only) it is cg_attach(cg, getpid()). */
int cg_attach_self(const struct cgroup *cg);
/* Is this a cgroup v1 host (the jails' cgroups one directory per v1 hierarchy)? */
bool cg_is_v1(void);
/* PIDs of every process in the cgroup (from the first hierarchy's cgroup.procs). */
int cg_pids(const struct cgroup *cg, pid_t **pids, size_t *n);
/* SIGKILL every process in the cgroup until it is empty (bounded wait), then remove
 * the directories; a scope unit goes when its cgroup is empty (systemd removes it; if it
 * lingers, StopUnit).  Missing directories and units are fine (idempotent).  */
int cg_destroy(struct cgroup *cg);
void cg_free(struct cgroup *cg);
static inline void cleanup_cgroupp(struct cgroup *cg) { cg_free(cg); }
#define _cleanup_cgroup_ __attribute__((cleanup(cleanup_cgroupp)))
/* Write val to a cgroup file (one write, short writes are errors); -1 with errno on
 * failure, no message recorded. */
int cg_put(const char *path, const char *val);
/* A cgroup (or proc) file's whole content, malloc'd; NULL with errno on failure,
 * no message recorded. */
char *cg_read(const char *path);
/* The directory of the jail's cgroup that carries controller ("memory", "cpu", ...):
 * on v1 the hierarchy mounted with it, NULL when none is; on v2 the single directory
 * (whether the controller is enabled there is for the caller to check).  Valid while
 * cg is. */
const char *cg_controller_dir(const struct cgroup *cg, const char *controller);
/* v1 hierarchy of controller mounted with "noprefix" (cpuset files without "cpuset."). */
bool cg_noprefix(const struct cgroup *cg, const char *controller);
/* The cgroup path shown by `runtime` ("/iocell/UUID" plus the mode). */
const char *cg_mode_name(enum cg_mode m);

/* A file of a cgroup directory: its content (NULL with errno), whether it exists, its
 * first number (-1 when unreadable or "max", or dir is NULL), the value of KEY in
 * "KEY VALUE" lines (memory.events, cpu.stat; -1 when absent). */
char *cg_read_at(const char *dir, const char *file);
bool cg_exists_at(const char *dir, const char *file);
long long cg_read_num(const char *dir, const char *file);
long long cg_read_key(const char *dir, const char *file, const char *key);

/* ---- between cgdetect.c and cgroup.c ---- */

#define CG_PARENT "iocell"
#define CG_SLICE "machine.slice" /* systemd hosts: where the jails' scopes go */
#define CG_LEAF "jail"           /* systemd hosts: the jail's cgroup in its scope */
#define CG_MAXH (sizeof(((struct cgroup *)0)->dirs) / sizeof(char *))
enum { CTL_CPUSET = 1, CTL_MEMORY = 2, CTL_PIDS = 4, CTL_FREEZER = 8 };

/* One hierarchy (v2: the only one). */
struct cg_hier {
	char *mnt;     /* mount point (the hierarchy root as seen here) */
	char *dev;     /* "major:minor" of the mount, to skip a second mount of it */
	unsigned ctl;  /* CTL_* among its controllers */
	bool noprefix; /* v1 "noprefix": cpuset files are "cpus", not "cpuset.cpus" */
	bool rootmnt;  /* mounts the hierarchy's root (not a subdirectory of it) */
	char *opts;    /* v1 super options (its controllers among them), NULL for v2 */
};
/* The hierarchies, in the order of struct cgroup's dirs (detected once; report: an
 * error recorded when there are none). */
int cg_hierarchies(bool report, const struct cg_hier **h, size_t *n);
/* A jail id is one path component: no slash, not "." or "..", nothing hidden. */
bool cg_valid_name(const char *uuid);

/* ---- between cgscope.c and cgroup.c ---- */

/* Are the jails' cgroups scope units (systemd is PID 1, /sys/fs/cgroup is cgroup2, and
 * IOCELL_CGROUP_SYSTEMD is not 0)? */
bool cg_systemd(void);
/* iocell-UUID.scope (characters unit names do not take escaped), malloc'd. */
char *cg_scope_name(const char *uuid);
/* Start the transient scope unit (Delegate=yes, in slice, pid its process) and wait for
 * its job: 0, -1 with the error recorded, -2 (error recorded too) when systemd cannot be
 * reached over D-Bus at all. */
int cg_scope_start(const char *unit, const char *slice, const char *desc, pid_t pid);
/* StopUnit (not waited for); a unit that is gone already is fine. */
int cg_scope_stop(const char *unit);

#endif
