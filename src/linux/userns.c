/* The jail's user namespace: see userns.h. */
#include "linux/userns.h"
#include "core/props.h"
#include "core/util.h"

#include <errno.h>
#include <linux/mount.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

int uns_make(const struct jailconf *c, int nsflags, struct userns_fds *u)
{
	if (userns_make(c->idmap_base, nsflags, u) < 0) {
		ioc_err_ctx("jail %s", c->uuid);
		return -1;
	}
	return 0;
}

int uns_check_files(const struct jailconf *c, bool *idmapped)
{
	*idmapped = false;
	const char *hint_fix = c->privileged ? "yes" : "no";
	if (!c->privileged && !c->idmap_base) {
		ioc_err("jail %s (%s) has no id range (idmap_base): it was made before jails ran in "
			"user namespaces",
			c->uuid, c->tag);
		ioc_hint("give it one (its files are shifted once) with 'iocell set privileged=no "
			 "%s', or run it privileged with 'iocell set privileged=yes %s'",
			 c->tag, c->tag);
		return -1;
	}
	uint32_t want = c->privileged ? 0 : c->idmap_shift == 0 ? 0 : c->idmap_base;
	int fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ioc_err("cannot open the jail root %s: %s", c->root, strerror(errno));
		return -1;
	}
	/* The top level of the tree is in the range idmap_shift says (a rollback outside
	 * iocell, or while running, may have brought back the files of an older range). */
	int probe = idshift_probe(fd, c->idmap_shift);
	close(fd);
	if (c->idmap_shift != want || probe != 0) {
		ioc_err("the files of jail %s (%s) are not owned by the ids its %s configuration "
			"expects (idmap_shift %u)",
			c->uuid, c->tag, c->privileged ? "privileged" : "user namespace",
			c->idmap_shift);
		ioc_hint("move them where they belong with 'iocell set privileged=%s %s'", hint_fix,
			 c->tag);
		return -1;
	}
	*idmapped = !c->privileged && c->idmap_shift == 0;
	return 0;
}

pid_t uns_clone(const struct userns_fds *u, int flags)
{
	static const int types[] = {CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC};
	static const char *const names[] = {"net", "uts", "ipc"};
	const int fds[] = {u->net, u->uts, u->ipc};
	int own[3] = {-1, -1, -1};
	pid_t pid = -1;
	int e = 0, i;
	for (i = 0; i < 3; i++) {
		if (fds[i] < 0)
			continue;
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/ns/%s", names[i]);
		if ((own[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0 || setns(fds[i], types[i]) < 0) {
			e = errno;
			break;
		}
	}
	if (i == 3) {
		pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			return 0;
		e = errno;
	}
	/* back where we were */
	for (int k = 0; k < 3; k++) {
		if (own[k] < 0)
			continue;
		if (setns(own[k], types[k]) < 0) {
			/* we must never stay in the jail's namespaces */
			fprintf(stderr, "iocell: cannot return to the host's %s namespace: %s\n",
				names[k], strerror(errno));
			abort();
		}
		close(own[k]);
	}
	errno = e;
	return pid;
}

int uns_become_root(int userfd, bool lock_mounts)
{
	if (setns(userfd, CLONE_NEWUSER) < 0) {
		ioc_err("cannot enter the jail's user namespace: %s", strerror(errno));
		return -1;
	}
	/* uid 0 of the namespace (its range's first id); the capabilities stay (the kernel
	 * keeps them on a change to root) */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		ioc_err("cannot become the jail's root in its user namespace: %s", strerror(errno));
		return -1;
	}
	if (lock_mounts && unshare(CLONE_NEWNS) < 0) {
		ioc_err("cannot make the jail's mount namespace: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int uns_idmap_tree(const char *src, int userfd, const char *what)
{
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, src,
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (t < 0) {
		ioc_err("cannot clone the mount of %s %s: %s", what, src, strerror(errno));
		return -1;
	}
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userfd};
	if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0) {
		ioc_err("cannot make an idmapped mount of %s %s: %s", what, src, strerror(errno));
		close(t);
		return -1;
	}
	return t;
}

int uns_idmap_root(const char *root, int userfd)
{
	int t = uns_idmap_tree(root, userfd, "the jail root");
	if (t < 0) {
		ioc_hint("its files keep the jail's own ids (idmap_shift 0) but this file system "
			 "takes no idmapped mounts: shift them once with 'iocell set "
			 "privileged=no JAIL'");
		return -1;
	}
	int rc = (int)syscall(SYS_move_mount, t, "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH);
	if (rc < 0)
		ioc_err("cannot mount the idmapped jail root on %s: %s", root, strerror(errno));
	close(t);
	return rc;
}
