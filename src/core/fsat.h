/*
 * File helpers relative to a directory fd, for every write into (or removal from) a tree
 * that someone else controls: a jail's root, an unpacked archive, the runtime directory.
 * Nothing here follows a symlink out of the tree or deletes through a mount point.
 */
#ifndef IOC_FSAT_H
#define IOC_FSAT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Open PATH beneath the directory rootfd as if rootfd were "/": symlinks resolve inside
 * the root, ".." never climbs out (openat2 RESOLVE_IN_ROOT, no magic links).  flags as
 * for open(2); O_CLOEXEC is added.  -1 with errno set. */
int open_beneath(int rootfd, const char *path, int flags, mode_t mode);
/* Open REL beneath dirfd following no symlink at all, never leaving dirfd (openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).  -1 with errno set. */
int open_nofollow(int dirfd, const char *rel, int flags, mode_t mode);
/* Write data to PATH beneath rootfd (open_beneath; created, or truncated and rewritten
 * unless the content is the same), never through a symlink and only into a regular
 * file.  0, or -1 with the error recorded ("cannot write PATH in the jail: why"). */
int write_beneath(int rootfd, const char *path, const char *data, size_t len, mode_t mode);
/* Write all n bytes (retrying short writes and EINTR): 0, or -1 with errno set. */
int write_all(int fd, const void *buf, size_t n);
/* Read the file REL beneath dirfd the way iocell reads a file a jail controls (its
 * /etc/passwd, /etc/group, resolv.conf): through no symlink at all (open_nofollow),
 * opened without blocking and without becoming a controlling terminal, a regular file
 * only (a FIFO, device or socket planted there is refused, never read), at most max
 * bytes.  A malloc'd NUL-terminated buffer (*len its length, when len), or NULL with
 * errno: ELOOP (a symlink on the way), EFTYPE_NOTREG (not a regular file), EFBIG
 * (larger than max), or what open/read said. */
#define EFTYPE_NOTREG EMEDIUMTYPE
char *read_regular_at(int dirfd, const char *rel, size_t max, size_t *len);
/* The same with the symlinks on the way resolved inside rootfd (open_beneath), for files
 * whose distributions make them symlinks (etc/os-release -> ../usr/lib/os-release) and
 * that iocell reads only from a stopped jail's tree. */
char *read_regular_beneath(int rootfd, const char *path, size_t max, size_t *len);
/* What read_regular_at's errno means, for a message ("is not a regular file"...). */
const char *read_regular_why(int err);

/* Remove NAME in dirfd: a file, or a directory tree, never following symlinks and never
 * entering a file system other than NAME's own (a mount point below fails with EBUSY).
 * Goes on past failures and removes what it can.  label names dirfd in messages: with
 * one, the first failure is recorded with ioc_err ("cannot remove LABEL/NAME/...: why");
 * with NULL nothing is recorded (errno tells).  0 when all of it is gone (ENOENT
 * counts), otherwise -1 with errno of the first failure. */
int remove_tree_at(int dirfd, const char *name, const char *label);
/* The same for everything inside the directory dirfd (which stays). */
int empty_dir_at(int dirfd, const char *label);

#endif
