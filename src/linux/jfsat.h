/* The jail filesystem's primitives beneath a root fd: every path is resolved beneath the
 * jail's root through no symlink at all (core/fsat.h's open_nofollow: a symlink the jail
 * made is never a way to move one of iocell's mounts or directories elsewhere), then
 * mounted on or created through the resolved inode, never by a second lookup by name.
 * What is created is created as the jail's root (owner: its host uid, 0 for a privileged
 * jail).  Used by jailfs.c while it builds a jail's view in its mount namespace. */
#ifndef IOC_JFSAT_H
#define IOC_JFSAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* "/proc/self/fd/FD" (malloc'd). */
char *jfs_fdpath(int fd);
/* File system uid/gid become owner (its capabilities kept) until jfs_owner_end; 0: none. */
void jfs_owner_begin(uid_t owner);
void jfs_owner_end(uid_t owner);
/* Record "cannot WHAT PATH in the jail: ..." for errno e (ELOOP explained). */
void jfs_target_err(const char *what, const char *path, int e);
/* mount(2) onto PATH beneath rootfd (dir: it must be a directory). 0 / -1 recorded. */
int jfs_mount_at(int rootfd, const char *path, const char *src, const char *fstype,
		 unsigned long flags, const char *data, bool dir);
/* Bind PATH onto itself (a mount point of its own). 0 / -1 recorded. */
int jfs_bind_self(int rootfd, const char *path);
/* Remount the bind mount at PATH read-only (plus the MS_* flags extra). 0 / -1 recorded. */
int jfs_remount_ro(int rootfd, const char *path, unsigned long extra);
/* Add MOUNT_ATTR_* attrs to the mount at fd (recursive: and below). 0 / -1 recorded. */
int jfs_add_mount_attrs(int fd, uint64_t attrs, bool recursive, const char *what);
/* fstat of PATH beneath rootfd: 0, or -1 with errno (ENOENT, ELOOP); nothing recorded. */
int jfs_stat(int rootfd, const char *path, struct stat *st);
bool jfs_exists(int rootfd, const char *path, bool *is_dir);
/* mkdir PATH (its parent must exist; EEXIST is fine), owned by owner. 0 / -1 recorded. */
int jfs_mkdir(int rootfd, const char *path, mode_t mode, uid_t owner);
/* PATH is a directory, made when missing. 0 / -1 recorded. */
int jfs_ensure_dir(int rootfd, const char *path, uid_t owner);
/* O_PATH fd of the directory PATH, missing components made when create; -1 with errno. */
int jfs_open_dir(int rootfd, const char *path, bool create, uid_t owner);

#endif
