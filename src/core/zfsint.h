/* Between zfs.c and zfsxfer.c (the ZFS module's two files): not for other modules. */
#ifndef IOC_ZFSINT_H
#define IOC_ZFSINT_H

#include "core/zfs.h"

/* The environment zfs runs in (the C locale: its messages are what zfs_classify reads). */
extern const char *const zfs_env[];
/* The kind of failure a zfs message reports. */
enum zfs_errkind zfs_classify(const char *err);
/* zfs_run with stdin from in_fd (-1: /dev/null). */
int zfs_run_in(const struct strv *args, char **out, const char *what, int in_fd);

/* -o PROP=VALUE for each of props (NULL or empty: none). */
void zfs_add_props(struct strv *a, const struct kv *props);

#endif
