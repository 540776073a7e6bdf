/*
 * Reading many datasets' properties at once in their exact (parsable) form, and what a
 * pool can do: built on the zfs module (core/zfs.h), which runs the commands.
 */
#ifndef IOC_ZQUERY_H
#define IOC_ZQUERY_H

#include "core/zfs.h"

/* `zfs get -Hp [-r -d DEPTH] -o name,property,value PROPS DS...` pivoted into one row per
 * dataset (snapshots included), in the order zfs printed them: the dataset's name, then
 * each of PROPS (comma-separated) in that order, "-" where zfs gave none.  Numbers come
 * exact (bytes, seconds since the epoch), unlike `zfs list`, which zfs-fuse cannot make
 * parsable.  depth < 0: the datasets themselves only. */
int zfs_get_rows(struct ztable *out, const char *props, const char *const *datasets, int depth);

/* The compression values the pool accepts, "on off lzjb gzip gzip-1 ... zle" plus lz4
 * and zstd where its features allow them (malloc'd, space-separated), or NULL with the
 * error recorded.  Asked once per process. */
char *zpool_compressions(const char *pool);
/* Is value one the pool accepts?  false with the error recorded (naming what it accepts,
 * or why it could not tell). */
bool zpool_compression_ok(const char *pool, const char *value);

#endif
