/*
 * A jail's recursive snapshots (SPEC §3): snapshot, snaplist, snapremove, rollback,
 * promote.  A jail is POOL/iocell/jails/UUID plus its children (root, data, basejail
 * system dirs).  Snapshots are taken recursively, so one name covers every dataset of the
 * jail; a child may also carry snapshots of its own (e.g. the recording baseline of its
 * root).
 *
 * Each operation plans from tables (zfs output) first, so the plans are pure functions
 * tested without zfs; the command prints the plan, confirms where it destroys data, then
 * the plan is carried out.  The callers hold the jail's lock (jail_open_locked).
 */
#ifndef IOC_SNAPSHOT_H
#define IOC_SNAPSHOT_H

#include "core/jail.h"

/* A snapshot name a user gave: valid, and not ALL (error and hint recorded otherwise). */
bool snapname_ok(const char *snap);
/* "SNAP" of "DS@SNAP". */
const char *snap_part(const char *full);
/* Is FULL (DS@SNAP) a snapshot of the dataset DS itself? */
bool snap_of(const char *full, const char *ds);

/* The jails and datasets cloned from any of SNAPS (full names), from the rows (name,
 * origin, iocell:tag) of every filesystem of the pool: "jail UUID (TAG)" for a dataset
 * below JAILS/UUID, else the dataset's name; each once.  Returns how many datasets. */
int snap_dependants(const struct ztable *datasets, const char *jails, const struct strv *snaps,
		    struct strv *out);

/* snapshot: J@SNAP of every dataset, or J@ioc-DATE when snap is NULL (waiting for the
 * next second when that name is taken).  *made: the name taken (malloc'd). */
int snap_create(const struct jail *j, const char *snap, char **made);
/* The same with automatic names PREFIX-DATE (e.g. update's back-out "ioc-update_"). */
int snap_create_auto(const struct jail *j, const char *prefix, char **made);

/* snaplist: rows (SNAP, CREATED, RSIZE, USED) of the jail dataset's own snapshots, oldest
 * first, sizes in bytes.  snaplist_rows: the same from rows "name,creation,referenced,
 * used" of the jail and its children. */
int snap_list(const struct jail *j, struct ztable *out);
void snaplist_rows(const struct ztable *in, const char *ds, struct ztable *out);

/* snapremove of SNAP (NULL: all of them): */
struct snapremove_plan {
	struct strv victims; /* every snapshot (full name) that goes */
	struct strv ontop;   /* names the jail dataset has: one `zfs destroy -r DS@NAME` each */
	struct strv single;  /* snapshots only a child has: destroyed one by one (zfs-fuse
				refuses -r when DS@NAME itself is missing) */
};
void snapremove_plan_free(struct snapremove_plan *pl);
/* From the jail's snapshot names (rows: name), oldest first; a row that is no snapshot of
 * DS or of a dataset below it is ignored. */
void snapremove_plan_build(const struct ztable *snaps, const char *ds, const char *snap,
			   struct snapremove_plan *pl);
/* List, plan, refuse when SNAP is missing or clones depend on a victim.  An empty plan
 * (snap NULL, no snapshot) is no error.  pl initialised here. */
int snapremove_prepare(const struct jail *j, const char *snap, struct snapremove_plan *pl);
/* Carry it out; removed is told of each snapshot gone, as "@NAME" or "/CHILD@NAME". */
int snapremove_execute(const struct jail *j, const struct snapremove_plan *pl,
		       void (*removed)(const char *what, void *arg), void *arg);

/* Every dataset and snapshot of the jail with its creation txg, oldest first, as rows
 * (name, txg), from `zfs get -Hp createtxg` rows (name, property, value, source). */
void txg_rows(const struct ztable *get, struct ztable *out);

/* rollback to SNAP: */
struct rollback_newer {
	char *snap;     /* a newer snapshot name */
	struct strv on; /* the datasets having it, from UUID on ("UUID", "UUID/root") */
};
struct rollback_plan {
	struct strv targets; /* DS@SNAP to roll back to, children first */
	struct strv missing; /* datasets without SNAP (not rolled back), children first */
	struct strv newer;   /* snapshots newer than the targets, which the rollback destroys */
	struct rollback_newer *groups; /* newer, by name, oldest first */
	size_t ngroups;
};
void rollback_plan_free(struct rollback_plan *pl);
/* From txg_rows of the jail DS (rows of other datasets are ignored).  false when the jail
 * dataset itself has no SNAP. */
bool rollback_plan_build(const struct ztable *txgs, const char *ds, const char *snap,
			 struct rollback_plan *pl);
/* Check the name and the state (a running jail needs force), plan (one zfs call), refuse
 * a missing snapshot and newer snapshots clones depend on.  pl initialised here. */
int rollback_prepare(const struct jail *j, const char *snap, bool force, struct rollback_plan *pl);
int rollback_execute(const struct jail *j, const struct rollback_plan *pl);

/* promote: the jail's datasets that are clones of another jail's snapshots (todo), and
 * those that are clones of something else, a release or base (kept, as "DS (a clone of
 * ORIGIN)"), from rows (name, origin). */
struct promote_plan {
	struct strv todo, kept;
};
void promote_plan_free(struct promote_plan *pl);
void promote_plan_build(const struct ztable *t, const char *jails, struct promote_plan *pl);
/* Plan and promote (an error when nothing is to promote).  pl initialised here, for the
 * report. */
int jail_promote(const struct jail *j, struct promote_plan *pl);

#endif
