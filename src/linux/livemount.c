/* Replacing a mount under a running jail (plat_replace_mount): the forced upgrade of a
 * basejail swaps its read-only system directories this way. */
#include "core/fsat.h"
#include "linux/rt.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200 /* Linux 6.5 */
#endif

/* In a child: enter the jail's mount namespace and put tree in place of the mount at
 * jail_dir.  Beneath the old mount, which is then detached (processes using it keep
 * it until they let go); on a kernel without MOVE_MOUNT_BENEATH, on top of it. */
static void swap_child(int pidfd, int tree, const char *jail_dir, int errfd)
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
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
	bool beneath = true;
	if (move_mount(tree, "", target, "", flags | MOVE_MOUNT_BENEATH) < 0) {
		if (errno != EINVAL) {
			ioc_err("cannot mount beneath %s in the jail: %s", jail_dir,
				strerror(errno));
			child_fail(errfd);
		}
		beneath = false;
		if (move_mount(tree, "", target, "", flags) < 0) {
			ioc_err("cannot mount on %s in the jail: %s", jail_dir, strerror(errno));
			child_fail(errfd);
		}
	}
	/* the old mount, now on top: detached (never through a symlink of the jail's) */
	if (beneath && umount2(jail_dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
		ioc_err("cannot detach the old mount of %s in the jail: %s", jail_dir,
			strerror(errno));
		child_fail(errfd);
	}
	_exit(0);
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
	_cleanup_close_ int pidfd = init_pidfd(rs);
	if (pidfd < 0)
		return -1;
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
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		ioc_err("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(errp[0]);
		swap_child(pidfd, tree, jail_dir, errp[1]);
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
	if (rc == 0 && status != 0) {
		ioc_err("replacing %s in the jail failed (status %d)", jail_dir, status);
		rc = -1;
	}
	return rc;
}
