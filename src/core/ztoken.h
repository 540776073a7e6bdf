/*
 * A pool's change token (issue 16): a short text that is different after any change a
 * `zfs set` (or anything else) commits to the pool, read without running the zfs CLI.
 *
 * Every property change is a sync task: it takes effect in memory while its transaction
 * group (txg) syncs, and `zfs set` returns once that txg is on disk.  So the pool has
 * synced a txg after every change; what each implementation shows of that:
 *
 *   OpenZFS   /proc/spl/kstat/zfs/POOL/txgs (txg history, zfs_txg_history rows, 100 by
 *             default): the open txg's number, taken only while every older row shows
 *             C (committed): a txg that syncs opens the next one first, so a change
 *             after the token was read comes with a higher open txg.
 *   zfs-fuse  the uberblock ring of every vdev the daemon holds open (the daemon: the
 *             holder of the POSIX lock on /var/lock/zfs/zfs_lock in /proc/locks, kept
 *             in RUNDIR/zfs-fuse-daemon while that process lives; its
 *             vdevs: the files and devices among /proc/PID/fd): each synced
 *             txg writes an uberblock to the ring (label 0, 128 KiB at 128 KiB) of the
 *             vdevs it syncs to (all of them when there are at most three top-level
 *             vdevs or the configuration changed, three at random else: one of them at
 *             least), after the txg's changes took effect.  The token hashes every
 *             ring, with the daemon's PID and start time.
 *
 * Read BEFORE a `zfs get`, equal again later: nothing was committed to the pool between
 * (so the get's answer still stands).  Any sync changes it, data written by a jail or
 * its console log included: it is conservative, never stale.
 */
#ifndef IOC_ZTOKEN_H
#define IOC_ZTOKEN_H

#include <stdbool.h>
#include <stdint.h>

/* The token of the pool (the name before the first '/' of ds_or_pool), or NULL when this
 * host shows none (no error recorded): the caller asks zfs. */
char *zfs_change_token(const char *ds_or_pool);

/* (for tests) The open txg of an OpenZFS txgs kstat's text, when every other row is
 * committed: true and *open set; false otherwise (no rows, a txg syncing, garbage). */
bool ztoken_txgs_open(const char *text, uint64_t *open);

#endif
