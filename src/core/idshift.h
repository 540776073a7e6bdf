/*
 * Ownership of a jail's files (issue 14): a jail runs in a user namespace whose ids
 * 0..IDMAP_COUNT-1 are the host ids idmap_base.. (core/idmap.h).  Its files either keep
 * the jail's own ids on disk and are seen through an idmapped mount (file systems that
 * support them), or have their ownership shifted on disk into the jail's range
 * (zfs-fuse, FUSE in general).  This module does the latter, and tells which applies.
 *
 * The shift (idshift_tree) walks a stopped jail's tree from a directory fd: it never
 * follows a symlink (every step is one name below an fd opened with O_NOFOLLOW, changes
 * are made with AT_SYMLINK_NOFOLLOW or on the inode's own fd), never leaves the file
 * system it started on (another mount below is left alone), and keeps at most one
 * directory open whatever the depth.  Each inode's uid and gid that is a jail id moves
 * to the same offset in the range at `to` (see idshift_jail_id: the jail's own ids in an
 * unshifted tree, as a release has them, or an id of any range of the allocation grid,
 * which is where an older shift left them: a clone of an older snapshot, a rollback); the
 * host's own ids stay as they are (counted).  An id already in the range stays, so an
 * inode reached twice (hard links) is moved once and a shift interrupted half-way is
 * finished by the next.  What chown(2) takes away is put back: set-user-ID and
 * set-group-ID bits, and the file capability
 * (security.capability), whose root id moves with the range (a v2 capability, which the
 * host would honour, becomes v3 with the jail's root as its root id; v3 back to v2 when
 * shifting to 0).  POSIX ACLs (system.posix_acl_access, system.posix_acl_default) carry
 * ids: their named user and group entries move too.
 */
#ifndef IOC_IDSHIFT_H
#define IOC_IDSHIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The jail id (0..COUNT-1) a host id on disk stands for in a tree that goes to the range
 * at `to` (0: the jail's own ids on disk): its offset in that range; its offset in any
 * other range of the grid (IDMAP_FIRST + k * COUNT: where an older shift left it); an id
 * below COUNT itself when the tree is unshifted (or to is 0); -1 for the host's own ids
 * (below COUNT in a shifted tree, COUNT..IDMAP_FIRST-1, -1, -2). */
int idshift_jail_id(uint32_t id, uint32_t to, bool unshifted);
/* id on disk moved into the range at to (unchanged when it is a host id). */
uint32_t idshift_id(uint32_t id, uint32_t to, bool unshifted);

/* A POSIX ACL xattr value (version 2): its named user and group ids shifted in place.
 * true when something changed; false also for a value it does not understand. */
bool idshift_acl(unsigned char *buf, size_t len, uint32_t to, bool unshifted);

/* A security.capability value shifted into out (room for 24 bytes): its new length, or
 * -1 when the value is not a v2/v3 capability (then it is kept as it is).  The root id
 * moves like an id of the jail (a v2 capability's, 0, always: the jail's root, never the
 * host's); the result is v2 when it is 0. */
ssize_t idshift_fcap(const unsigned char *in, size_t len, unsigned char *out, uint32_t to);

struct idshift_stats {
	unsigned long long inodes;  /* seen */
	unsigned long long changed; /* whose owner, group, ACL or capability changed */
	unsigned long long outside; /* with an owner or group outside the range at from */
};

/* Shift the tree of the directory rootfd (the directory itself included) to the range at
 * to; unshifted: the tree holds the jail's own ids (a release's; see idshift_probe).  The
 * jail must be stopped.  0, or -1 with the error recorded (naming the path below the
 * root).  label names the tree in messages. */
int idshift_tree(int rootfd, const char *label, uint32_t to, bool unshifted,
		 struct idshift_stats *st);
/* Where is the tree rootfd, judging by its root directory and top level (the jail's own
 * system directories): 0 in the range at to (host ids aside), IDSHIFT_OTHER_RANGE with
 * ids of another range (an older shift: a clone or a rollback of an older snapshot),
 * IDSHIFT_UNSHIFTED with the jail's own ids and none of the range (to != 0), -1 errno
 * set. */
#define IDSHIFT_OTHER_RANGE 1
#define IDSHIFT_UNSHIFTED 2
int idshift_probe(int rootfd, uint32_t to);

/* ---- user namespaces and idmapped mounts ---- */

/* A user namespace mapping uids and gids 0..COUNT-1 to base.., and the namespaces it
 * owns (CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC in flags): their fds, -1 for those not
 * asked for.  Made by a short-lived child; iocell writes its maps. */
struct userns_fds {
	int user, net, uts, ipc;
	pid_t helper; /* > 0: the process that made them, exiting; reaped by userns_fds_close */
};
int userns_make(uint32_t base, int flags, struct userns_fds *out);
void userns_fds_close(struct userns_fds *f);

/* Does the file system mounted at path take idmapped mounts (mount_setattr with
 * MOUNT_ATTR_IDMAP on a detached copy of its mount)?  1 yes, 0 no, -1 error recorded. */
int idmap_mount_supported(const char *path);

#endif
