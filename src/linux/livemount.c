/* Replacing a mount under a running jail (plat_replace_mount): the forced upgrade of a
 * basejail swaps its read-only system directories this way. */
#include "core/fsat.h"
#include "linux/rt.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200 /* Linux 6.5 */
#endif

/* The exit status of a swap child that mounted on top (no MOVE_MOUNT_BENEATH). */
#define SWAP_STACKED 10

/* In a child: enter the jail's mount namespace; the mount at jail_dir (the top one),
 * opened beneath the jail's root through no symlink, or the child fails. */
static int enter_and_open(int pidfd, const char *jail_dir, int errfd)
{
	if (setns(pidfd, CLONE_NEWNS) < 0) {
		ioc_err("cannot enter the jail's mount namespace: %s", strerror(errno));
		child_fail(errfd);
	}
	/* the jail's root and /: what setns made ours */
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int target = rootfd < 0 ? -1
				: open_nofollow(rootfd, jail_dir + strspn(jail_dir, "/"),
						O_PATH | O_DIRECTORY, 0);
	if (target < 0) {
		ioc_err("cannot open %s in the jail: %s", jail_dir, strerror(errno));
		child_fail(errfd);
	}
	return target;
}

/* In a child: put tree in place of the mount at jail_dir.  Beneath the old mount, which
 * is then detached (processes using it keep it until they let go): exit 0.  Where the
 * kernel refuses (EINVAL: no MOVE_MOUNT_BENEATH before 6.5, or a locked mount, as those
 * of a jail in a user namespace are), or with IOCELL_NO_MOVE_BENEATH set (the tests of
 * that path), on top of it: exit SWAP_STACKED. */
static void swap_child(int pidfd, int tree, const char *jail_dir, int errfd)
{
	int target = enter_and_open(pidfd, jail_dir, errfd);
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
	bool beneath = !getenv("IOCELL_NO_MOVE_BENEATH");
	if (beneath && move_mount(tree, "", target, "", flags | MOVE_MOUNT_BENEATH) < 0) {
		if (errno != EINVAL) {
			ioc_err("cannot mount beneath %s in the jail: %s", jail_dir,
				strerror(errno));
			child_fail(errfd);
		}
		beneath = false;
	}
	if (!beneath && move_mount(tree, "", target, "", flags) < 0) {
		ioc_err("cannot mount on %s in the jail: %s", jail_dir, strerror(errno));
		child_fail(errfd);
	}
	/* the old mount, now on top: detached (never through a symlink of the jail's) */
	if (beneath && umount2(jail_dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
		ioc_err("cannot detach the old mount of %s in the jail: %s", jail_dir,
			strerror(errno));
		child_fail(errfd);
	}
	_exit(beneath ? 0 : SWAP_STACKED);
}

/* In a child: detach the top mount at jail_dir when it is of the file system dev (what
 * swap_child stacked there), else fail. */
static void unstack_child(int pidfd, dev_t dev, const char *jail_dir, int errfd)
{
	int target = enter_and_open(pidfd, jail_dir, errfd);
	struct stat st;
	if (fstat(target, &st) < 0 || st.st_dev != dev) {
		ioc_err("the mount on %s in the jail is not the one iocell put there: left alone",
			jail_dir);
		child_fail(errfd);
	}
	if (umount2(jail_dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
		ioc_err("cannot detach the mount on %s in the jail: %s", jail_dir, strerror(errno));
		child_fail(errfd);
	}
	_exit(0);
}

/* Run swap_child (tree >= 0) or unstack_child in a child; its exit status, or -1. */
static int in_jail_ns(const struct runstate *rs, int tree, dev_t dev, const char *jail_dir)
{
	_cleanup_close_ int pidfd = init_pidfd(rs);
	if (pidfd < 0)
		return -1;
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		ioc_err("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(errp[0]);
		if (tree >= 0)
			swap_child(pidfd, tree, jail_dir, errp[1]);
		unstack_child(pidfd, dev, jail_dir, errp[1]);
	}
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		ioc_err("cannot fork: %s", strerror(errno));
		return -1;
	}
	int status = 0;
	int rc = child_wait(errp[0], pid, &status);
	close(errp[0]);
	return rc < 0 ? -1 : status;
}

bool plat_can_replace_mount(void)
{
	/* each called with an invalid descriptor: EBADF (or EINVAL) where the kernel has it */
	static const struct {
		const char *name;
		long nr;
	} calls[] = {{"open_tree", SYS_open_tree},
		     {"move_mount", SYS_move_mount},
		     {"mount_setattr", SYS_mount_setattr}};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		long r = calls[i].nr == SYS_move_mount ? syscall(calls[i].nr, -1, "", -1, "", 0)
						       : syscall(calls[i].nr, -1, "", 0, NULL, 0);
		if (r < 0 && errno == ENOSYS) {
			ioc_err("this kernel cannot replace a mount inside a running jail: it has "
				"no %s (Linux 5.12 or later has it)",
				calls[i].name);
			return false;
		}
	}
	return true;
}

int plat_replace_mount(const struct runstate *rs, const char *host_dir, const char *jail_dir)
{
	/* a copy of the host's mount, detached, made read-only and nodev like a clone's */
	_cleanup_close_ int tree = open_tree(AT_FDCWD, host_dir,
					     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0) {
		ioc_err("cannot copy the mount %s: %s", host_dir, strerror(errno));
		return -1;
	}
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV};
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		ioc_err("cannot make the mount of %s read-only: %s", host_dir, strerror(errno));
		return -1;
	}
	int status = in_jail_ns(rs, tree, 0, jail_dir);
	if (status == 0 || status == SWAP_STACKED)
		return status == SWAP_STACKED ? 1 : 0;
	if (status > 0)
		ioc_err("replacing %s in the jail failed (status %d)", jail_dir, status);
	return -1;
}

int plat_unstack_mount(const struct runstate *rs, const char *host_dir, const char *jail_dir)
{
	struct stat st;
	if (stat(host_dir, &st) < 0) {
		ioc_err("cannot stat %s: %s", host_dir, strerror(errno));
		return -1;
	}
	int status = in_jail_ns(rs, -1, st.st_dev, jail_dir);
	if (status > 0)
		ioc_err("taking the mount of %s off %s in the jail failed (status %d)", host_dir,
			jail_dir, status);
	return status == 0 ? 0 : -1;
}
