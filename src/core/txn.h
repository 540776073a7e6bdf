/*
 * Crash safety (issue 15): every multi-step operation on the pool builds its result where
 * nothing can see it as a jail or a release, or marks what it works on, and makes the
 * result visible in one atomic step (its commit point).  What it leaves when it dies is
 * found by the next command and healed (core/heal.h).
 *
 * The owner of a piece of work is named by a stamp "BOOT-PID-START": the first 8 hex
 * digits of this boot's id, the process id and its start time (clock ticks since boot),
 * so that a reused PID, or the same PID after a reboot, is not taken for the owner.
 *
 * Two forms, both seen by list's one `zfs list` (names and the iocell:txn column):
 *   a staging name   POOL/iocell/jails/.stage-STAMP-UUID: a received image being made a
 *                    jail (import), marked "create" there; renamed to
 *                    POOL/iocell/jails/UUID and mounted, then committed like a create
 *   a mark           the user property iocell:txn = "OP STAMP [ARG...]" on a jail or
 *                    release dataset; committed by a single property write (see heal.h
 *                    for each OP's commit point and what healing does)
 */
#ifndef IOC_TXN_H
#define IOC_TXN_H

#include "core/util.h"

#include <stdbool.h>
#include <sys/types.h>

/* The ZFS user property of a mark. */
#define TXN_PROP "iocell:txn"
/* Prefix of the staging names of received jails (below POOL/iocell/jails). */
#define TXN_STAGE_PREFIX ".stage-"

/* The operations that mark a dataset (the OP of a mark). */
enum txn_op {
	TXN_NONE,
	TXN_CREATE,       /* a new jail (create, clone, import of a package): hidden */
	TXN_DESTROY,      /* a jail being destroyed: hidden */
	TXN_CLONE,        /* on a clone's source: SNAP NEWUUID (the snapshot clone made) */
	TXN_ROLLBACK,     /* SNAP: every dataset of the jail goes back to it */
	TXN_EXPORT,       /* SNAP: the export snapshot */
	TXN_UPDATE,       /* SNAP: the back-out snapshot of update */
	TXN_UPGRADE,      /* SNAP OLDREL NEWREL: committed when release is NEWREL */
	TXN_FETCH,        /* a release being fetched the first time: committed by root@release */
	TXN_FETCH_UPDATE, /* PREV MASTERS OLDSOURCE...: a release updated in place */
	TXN_FETCH_COMMIT, /* PREV: an update committed, its clean-up under way */
};

/* A parsed mark: op, owner stamp, arguments (args: the words after the stamp; rest: the
 * text after the stamp as it is, for a last argument that may hold spaces). */
struct txn_mark {
	enum txn_op op;
	char stamp[64];
	struct strv args;
	char *rest;
};
/* Parse a mark's value.  0 with m filled (free with txn_mark_free), -1 when the value is
 * no mark ("-", "none", empty, unknown OP or a malformed stamp). */
int txn_mark_parse(const char *value, struct txn_mark *m);
void txn_mark_free(struct txn_mark *m);
static inline void cleanup_txn_markp(struct txn_mark *m) { txn_mark_free(m); }
#define _cleanup_txn_mark_ __attribute__((cleanup(cleanup_txn_markp)))
const char *txn_op_name(enum txn_op op);
/* A mark hides the dataset from list/get/start (create, destroy). */
bool txn_op_hides(enum txn_op op);

/* This process's stamp (computed once). */
const char *txn_stamp(void);
/* Parse a stamp: boot (8 hex digits), pid, start time.  false when malformed. */
bool txn_stamp_parse(const char *s, char boot[9], pid_t *pid, unsigned long long *start);
/* Is the owner of the stamp alive: this boot, a process with that PID and start time
 * that is not a zombie?  A malformed stamp has no owner. */
bool txn_owner_alive(const char *stamp);
/* The owner's PID, for messages (0 when malformed). */
pid_t txn_stamp_pid(const char *stamp);

/* "OP STAMP ARGS": a mark of this process (args: NULL-terminated list of words). */
char *txn_mark_value(enum txn_op op, const char *const *args);
/* Set the mark on DS: `zfs set iocell:txn=...` (args as above). */
int txn_mark_set(const char *ds, enum txn_op op, const char *const *args);
/* Remove the mark (`zfs inherit`, which also hides a received one). */
int txn_mark_clear(const char *ds);
/* The end of an operation that ended with rc (0 or -1): the mark removed either way.  rc
 * failed: its error is kept (a failed removal only warned); rc succeeded: a failed
 * removal is the result (-1, its error pending). */
int txn_mark_finish(const char *ds, int rc);
/* The same on every dataset of dss in one zfs call. */
int txn_mark_clear_all(const struct strv *dss);

/* Mark DS "OP STAMP SNAP EXTRA..." and take the recursive snapshot DS@SNAP, SNAP being
 * PREFIX and the time (time_snapname), with ".2", ".3"... when that name is taken (a
 * retry within the same second).  The snapshot's name (malloc'd), or NULL with the error
 * recorded and the mark gone. */
char *txn_snapshot(const char *ds, enum txn_op op, const char *prefix, const char *const *extra);

/* Work in flight: a zfs command killed with iocell would leave its request to the daemon
 * half done for a moment (a dataset created, its properties not yet set; a snapshot not
 * yet taken...), so the zfs commands that change the pool run detached (spawn.h) and
 * hold this process's in-flight lock, RUNDIR/inflight/STAMP.lock, until they exit.  A
 * healer waits for a dead owner's lock before it looks at what the owner left. */
/* The lock's descriptor (made on first use in each process; -1 when it cannot be). */
int txn_inflight_fd(void);
/* The lock's file removed, as at exit: for a forked worker that ends with _exit (the lock
 * is released when its descriptor closes; its file would be left for txn_settle). */
void txn_inflight_release(void);
/* Wait at most ms until nothing of STAMP's is in flight (true; its file goes), false
 * at the timeout. */
bool txn_inflight_wait(const char *stamp, int ms);
/* Wait (at most ms in all) for the in-flight work of every dead owner: before a query
 * that heals (list).  An opendir of an empty directory when there is none. */
void txn_settle(int ms);

/* A staging name PARENT/.stage-STAMP-UUID of this process (malloc'd). */
char *txn_stage_name(const char *parent, const char *uuid);
/* The last component of a dataset name is a staging name: its stamp and UUID. */
bool txn_stage_parse(const char *leaf, char stamp[64], char uuid[37]);

#endif
