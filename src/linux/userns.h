/*
 * The jail's user namespace in the Linux runtime (issue 14).
 *
 * A jail that is not privileged runs in a user namespace of its own mapping its uids and
 * gids 0..65535 to the host ids idmap_base.. (core/idmap.h).  Its network, UTS and IPC
 * namespaces belong to that user namespace (its root can configure its own interfaces,
 * bind low ports, set its hostname).  Its mount namespace does too, but the mounts in it
 * are made by iocell, as host root, in a mount namespace of the host's user namespace,
 * before the jail's is entered: entering copies them into a new mount namespace of the
 * jail's user namespace, and the kernel locks every mount it copies into a less
 * privileged one (no unmounting a /proc mask, no remounting read-write).  Its PID and
 * cgroup namespaces stay the host user namespace's: the jail's root has no capability
 * over them (no proc or cgroup file system of its own to mount).
 *
 * So the order of joining is the reverse of an unprivileged runtime's: a joining process
 * (exec, console, exec_start/exec_stop, the soft restart) is host root and enters every
 * other namespace first (it may: they all descend from the host's), and the user
 * namespace last, then becomes the jail's root in it (uid 0, i.e. idmap_base).
 */
#ifndef IOC_LINUX_USERNS_H
#define IOC_LINUX_USERNS_H

#include "core/idshift.h"
#include "core/jailconf.h"

#include <stdbool.h>
#include <sys/types.h>

/* The jail's user namespace and those it owns (nsflags: CLONE_NEWNET, CLONE_NEWUTS,
 * CLONE_NEWIPC), mapped to c->idmap_base.  Its files must be where a start expects them
 * (uns_check_files).  0 or -1 with the error recorded. */
int uns_make(const struct jailconf *c, int nsflags, struct userns_fds *u);

/* Are the jail's files where its configuration says (idmap_shift, its root directory's
 * owner), and can they be seen as the jail's ids?  *idmapped: they keep the jail's own
 * ids and the root must be mounted idmapped.  0 or -1 with the error and a hint. */
int uns_check_files(const struct jailconf *c, bool *idmapped);

/* A child with clone flags (CLONE_NEW* of its own) born in the namespaces of u (net,
 * uts, ipc, those that are open): the caller moves into them around the clone.  As fork:
 * 0 in the child, its PID in the parent, -1 with errno. */
pid_t uns_clone(const struct userns_fds *u, int flags);

/* Host root in the jail's namespaces, its mounts made: enter the user namespace userfd
 * as the jail's root (uid and gid 0 there, no supplementary groups).  With lock_mounts, a
 * new mount namespace is then made: a copy of the current one in which every mount is
 * locked.  -1 with the error recorded. */
int uns_become_root(int userfd, bool lock_mounts);

/* A detached copy of the mount at SRC (and those below it), idmapped through the user
 * namespace userfd: an fd for move_mount, or -1 with the error (WHAT names SRC). */
int uns_idmap_tree(const char *src, int userfd, const char *what);

/* The jail root ROOT (and the mounts below it) replaced by an idmapped copy: its files,
 * which keep the jail's ids on disk, are seen through the mapping of the user namespace
 * userfd (jail id N as host id base+N).  -1 with the error and a hint. */
int uns_idmap_root(const char *root, int userfd);

#endif
