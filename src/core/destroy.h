/*
 * destroy (SPEC §3, §11): the plan (every dataset, snapshot and dependent clone that
 * will go), shown and confirmed by the command, then carried out.
 *
 * Only `zfs destroy -r` of whole jail datasets is used, never -R: everything destroyed is
 * in the plan that was shown, and an unexpected dependant makes zfs fail rather than
 * silently taking more.  Nothing is ever removed through the file system (no rm -r of a
 * mountpoint): the datasets go with zfs, the runtime files by name.
 *
 * The plan is built from two tables (destroy_plan_datasets, destroy_plan_snapshots), so
 * its logic runs without zfs; destroy_prepare fetches them with two zfs calls whatever the
 * number of jails.
 */
#ifndef IOC_DESTROY_H
#define IOC_DESTROY_H

#include "core/jail.h"

/* One jail of the plan. */
struct destroy_jail {
	char uuid[37];
	char *ds;
	char *tag;
	int lock;          /* its lock, held from destroy_prepare on (-1: none) */
	struct strv fss;   /* its filesystems, parents first */
	struct strv snaps; /* their snapshots */
	struct strv after; /* UUIDs of plan jails that must be destroyed before this one */
	bool done;
};

struct destroy_plan {
	struct destroy_jail *v; /* v[0]: the jail named; then the jails cloned from it */
	size_t n;
	struct strv foreign;   /* dependants that are not jails: "DS (a clone of SNAP)" */
	struct strv mounted;   /* mounted filesystems of the plan */
	struct strv autosnaps; /* "ioc-clone-" snapshots of other jails that only this plan's
				  clones were made from: removed with them when nothing else
				  depends on them */
	char *jailsmp;         /* the jails' mountpoints' parent, when they are the default */
	int lock;              /* the global lock, held from destroy_prepare on */
};

/* An empty plan (no locks); the jail named is the first one added. */
void destroy_plan_init(struct destroy_plan *p);
struct destroy_jail *destroy_plan_add(struct destroy_plan *p, const char *uuid, const char *ds,
				      const char *tag);
/* Releases the plan's locks too. */
void destroy_plan_free(struct destroy_plan *p);
static inline void cleanup_destroy_planp(struct destroy_plan *p) { destroy_plan_free(p); }
#define _cleanup_destroy_plan_ __attribute__((cleanup(cleanup_destroy_planp)))
/* Grow the plan from the rows (name, origin, mounted, iocell:tag) of every filesystem and
 * volume of the pool: the jails cloned from the plan's jails, transitively, in the order
 * they must go, what is mounted, foreign dependants, automatic clone snapshots.
 * jails_ds: POOL/iocell/jails. */
void destroy_plan_datasets(struct destroy_plan *p, const char *jails_ds, const struct ztable *t);
/* Attribute snapshot rows (name; oldest first) to the plan's jails. */
void destroy_plan_snapshots(struct destroy_plan *p, const struct ztable *t);
/* The next jail to destroy: not done, and every jail to go before it done.  NULL when all
 * are done, or none can go (dependencies in a circle). */
struct destroy_jail *destroy_plan_next(struct destroy_plan *p);
/* "jail UUID (TAG), ..., DS (a clone of SNAP)": the dependants, for messages. */
char *destroy_plan_dependants(const struct destroy_plan *p);

/* Resolve NAME under the global lock, lock it and every jail of its plan, refuse running
 * jails unless force, refuse dependants unless recurse (and foreign ones always), and
 * build the plan (initialised here).  0, or -1 with the error recorded; p is freed by
 * destroy_plan_free either way. */
int destroy_prepare(struct destroy_plan *p, const char *name, bool force, bool recurse);
/* The jail's runtime state (UUID, UUID.*, UUID-* in the runtime dir; its lock file
 * stays, another iocell may be waiting on it) and its console log: warnings only. */
void jail_remove_runtime_files(const char *uuid);
/* The error for a running jail that destroy will not stop (no -f). */
void destroy_refuse_running(const char *uuid, const char *tag);
/* Carry the plan out (its jails stopped by then): unmount everything, deepest first
 * (remounted when one fails: nothing destroyed), then each jail after those that
 * depend on it, with its runtime files and empty mountpoint directories; done is told of
 * each.  After a failure what is left is mounted again. */
int destroy_execute(struct destroy_plan *p, void (*done)(const struct destroy_jail *, void *),
		    void *arg);

#endif
