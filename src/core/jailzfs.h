/*
 * jail_zfs (SPEC §4): a dataset of the pool handed to a jail, POOL/JAIL_ZFS_DATASET
 * (default POOL/iocell/jails/UUID/data), made when jail_zfs is turned on (create, set, or
 * at start when it went missing) and mounted in the jail at jail_zfs_mountpoint by the
 * runtime.  With allow_mount_zfs=1 it is delegated to the jail's user namespace (OpenZFS
 * 2.2 or later: zoned=on, `zfs zone` at start, `zfs unzone` at stop), so that the jail's
 * root manages it and its children (snapshots, children, their properties but quota)
 * and nothing else of the pool; zfs-fuse cannot delegate.
 */
#ifndef IOC_JAILZFS_H
#define IOC_JAILZFS_H

#include <stdbool.h>
#include <stddef.h>

/* May jail UUID be handed the dataset REL (relative to the pool)?  Anything outside the
 * pool's iocell dataset, and below its own jail dataset except its root; err says why
 * not (another jail's or a release's dataset would hand the jail what is not its own). */
bool jailzfs_dataset_ok(const char *uuid, const char *rel, char *err, size_t n);
/* POOL/REL of the active pool (malloc'd), or NULL with the error recorded. */
char *jailzfs_full(const char *rel);
/* Make sure POOL/REL exists (made with its parents when missing): 1 made, 0 it was
 * there, -1 error recorded. */
int jailzfs_ensure(const char *rel);
/* Where POOL/REL is mounted on the host (mounted now if it was not), malloc'd; NULL with
 * the error recorded. */
char *jailzfs_host_path(const char *rel);
/* Can this ZFS delegate a dataset to a jail (what allow_mount_zfs=1 needs)?  false with
 * the reason in why. */
bool zfs_can_delegate(char *why, size_t n);
/* allow_mount_zfs: POOL/REL gets zoned=on (if it has not) before it is delegated: from then
 * on the host never mounts it or a child by their mountpoint properties, which the jail
 * may set (the runtime mounts the dataset itself).  0 done, -1 error recorded. */
int jailzfs_zoned(const char *rel);
/* `zfs zone` (attach) or `zfs unzone` of the full dataset name DS and the user namespace
 * NSFILE (a /proc path).  0 done, -1 error recorded. */
int jailzfs_delegate(const char *nsfile, const char *ds, bool attach);

#endif
