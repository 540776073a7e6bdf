/*
 * Healing (issue 15): what an interrupted operation left in the pool (core/txn.h), found
 * by the next command that looks (list's one `zfs list` sees staging names and marks;
 * loading a jail sees its mark; fetch sees its release's) and finished or undone when
 * its owner is dead, with one line on stderr saying what was done.  The owner's own lock
 * (the jail's, the release's) is taken without waiting: a busy lock means someone is at
 * work there, and nothing is done.
 *
 * Commit points and healing, per operation:
 *   create, clone, import of a package
 *                  the new jail's dataset carries "create STAMP" from its `zfs create`
 *                  (or `zfs clone`) on; `zfs inherit iocell:txn` commits.  Healing:
 *                  the dataset goes.
 *   import (image) received as jails/.stage-STAMP-UUID, re-identified and marked "create
 *                  STAMP import" there, renamed to jails/UUID and mounted there (a rename
 *                  that met a busy tree unmounts it first); `zfs inherit iocell:txn`
 *                  commits.  Healing: the staging dataset, or the marked jail, goes.
 *   clone          the source carries "clone STAMP SNAP NEWUUID" while it has a new
 *                  snapshot and no committed clone.  Healing: the new jail (unless
 *                  committed) and the snapshot go.
 *   destroy        "destroy STAMP [SNAP...]" (the clone snapshots to drop after) is the
 *                  commit: the jail is gone for every command from then on.  Healing:
 *                  the destruction is finished.
 *   rollback       "rollback STAMP SNAP" before the first dataset is rolled back.
 *                  Healing: every dataset is rolled back (the user asked for it).
 *   export         "export STAMP SNAP" before the snapshot.  Healing: the snapshot (and
 *                  IMAGES/.UUID.zfs.partial) go.
 *   update         "update STAMP SNAP" before the back-out snapshot; clearing it after
 *                  the updater commits.  Healing: back to the snapshot, which goes.
 *   upgrade        "upgrade STAMP SNAP OLDREL NEWREL"; setting release=NEWREL commits.
 *                  Healing: committed, the mark goes; else back to SNAP, which goes.
 *   fetch (new)    releases/REL carries "fetch STAMP"; root@release, made last, commits.
 *                  Healing: releases/REL and base/REL go (or, committed, the mark).
 *   fetch (update) "fetch-update STAMP PREV MASTERS OLDSOURCE" while @release of the root
 *                  and masters is being replaced (the old one kept as @PREV); the mark
 *                  rewritten to "fetch-commit STAMP PREV" commits.  Healing: back to
 *                  @PREV everywhere (new masters go, the source is restored), or, once
 *                  committed, the @PREV snapshots no clone needs go.
 * Runtime state (start, stop) is healed by the command layer (cmd/doctor.c).
 */
#ifndef IOC_HEAL_H
#define IOC_HEAL_H

#include "core/txn.h"
#include "core/zfs.h"

/* A dataset directly below POOL/iocell/jails as list's query shows it (leaf: the last
 * component, hostuuid and txn: its iocell:host_hostuuid and iocell:txn columns): true
 * when it is a jail to show.  Work of a dead owner is healed on the way (*healed set,
 * and the row's values may be stale then). */
bool heal_jail_row(const char *ds, const char *leaf, const char *hostuuid, const char *txn,
		   bool *healed);
/* A dataset directly below POOL/iocell/releases with its iocell:txn column. */
void heal_release_row(const char *ds, const char *txn, bool *healed);

/* The mark (iocell:txn value) a jail's load found: 1 healed (load it again: it may be
 * gone), 0 nothing done (no mark, its owner alive, or someone else at work). */
int heal_jail_mark(const char *uuid, const char *value);
/* The same for release REL (fetch, before it looks at the release; locked: the caller
 * holds the release's lock). */
int heal_release_mark(const char *rel, const char *value, bool locked);

/* What doctor found and did: one line each. */
struct heal_report {
	struct strv found; /* "KIND: what", what is left over */
	struct strv busy;  /* work of live owners (not a problem; reported) */
	struct strv notes; /* what is wrong but is left alone (not iocell's to remove) */
	size_t fixed, failed;
};
void heal_report_free(struct heal_report *r);
/* Scan the active pool (one `zfs list` of every dataset and snapshot below POOL/iocell)
 * for what interrupted operations left: staging datasets, marks, incomplete releases,
 * orphan basejail masters, stray ioc-* snapshots no clone uses, held snapshots.  fix:
 * heal or remove what can be (never anything a live owner works on).  jails
 * (initialised): the UUIDs of the jail datasets found. */
int heal_pool(bool fix, struct heal_report *r, struct strv *jails);
/* The files: RUNDIR/UUID.* of jails that are gone (or, but for .conf/.started, do not
 * run: running), JID links of jails that do not run, interrupted writes (*.tmp.PID),
 * console logs of jails that are gone, partial images of no export at work. */
int heal_files(bool fix, const struct strv *jails, const struct strv *running,
	       struct heal_report *r);

/* RUNDIR's temporary files (*.tmp.PID, write_file_replace) whose writer is gone: one
 * readdir, no zfs call.  Into rep's found (fixed/failed counted) when rep is given;
 * without rep (list, on the way) each one removed is said in one line on stderr. */
int heal_tmp_files(bool fix, struct heal_report *rep);

/* The files an interrupted export or package left in MOUNTROOT/DIR for jail UUID (EXT:
 * ".zfs", ".tar.xz"): a checksum whose file is published is renamed in place, partial
 * files go, and (pid > 0: the writer gone) its half-written checksum .tmp.PID. */
void heal_artifact(const char *dir, const char *uuid, const char *ext, long pid);

/* Roll every file system of DS (children first) back to @SNAP where it has it,
 * destroying later snapshots (-r).  0, or -1 with the first error. */
int rollback_tree(const char *ds, const char *snap);

#endif
