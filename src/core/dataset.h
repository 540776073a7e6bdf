/* Host-side work on datasets shared by releases, recording and imports. */
#ifndef IOC_DATASET_H
#define IOC_DATASET_H

/* The directory of dataset DS, which must be mounted (zfs-fuse mounts nothing after a
 * restart, and writing into an unmounted mountpoint would land on the host's disk): one
 * `zfs mount` is tried when it is not.  malloc'd, or NULL with the error recorded. */
char *mounted_path(const char *ds);

/* A read-only clone DEST of the snapshot SNAP. */
int clone_readonly(const char *snap, const char *dest);

/* Destroy NAME (a dataset or snapshot; flags as for zfs_destroy) on an undo path: the
 * pending error stays the reported one, and a failure other than "does not exist" is a
 * warning "could not remove WHATNAME: why" (what: "" or e.g. "the half-made "). */
void undo_destroy(const char *name, const char *flags, const char *what);

#endif
