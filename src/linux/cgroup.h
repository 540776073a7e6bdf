/*
 * Per-jail cgroups, cgroup v2 where the host has it, v1 controllers otherwise (detected
 * at run time).  The jail's cgroup is "iocell/UUID" below each hierarchy root.
 */
#ifndef IOC_CGROUP_H
#define IOC_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cg_mode { CG_V2, CG_V1 };

/* Detect the cgroup layout of this host.  Errors when neither is usable. */
int cg_detect(enum cg_mode *mode);

/* The directories making up one jail's cgroup (one per v1 hierarchy, one for v2). */
struct cgroup {
	enum cg_mode mode;
	size_t n;
	char *dirs[16]; /* absolute paths, e.g. /sys/fs/cgroup/memory/iocell/UUID */
};

/* Create the jail's cgroup (parents "iocell" too; v1 cpuset: cpus/mems copied from the
 * parent; v2: controllers enabled in the parents' subtree_control).  An existing,
 * empty leftover is reused.  On failure nothing created remains. */
int cg_create(struct cgroup *cg, const char *uuid);
/* Fill cg with the paths of the jail's cgroup without creating anything. */
void cg_paths(struct cgroup *cg, const char *uuid);
/* Move pid (a process, with all its threads) into the jail's cgroup, every hierarchy. */
int cg_attach(const struct cgroup *cg, pid_t pid);
/* PIDs of every process in the cgroup (from the first hierarchy's cgroup.procs). */
int cg_pids(const struct cgroup *cg, pid_t **pids, size_t *n);
/* SIGKILL every process in the cgroup until it is empty (bounded wait), then remove
 * the directories.  Missing directories are fine (idempotent).  */
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

#endif
