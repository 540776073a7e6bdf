/* A jail's own dataset at start (jail_zfs, allow_mount_zfs): made when missing, owned by
 * the jail's root, and what the set-up process mounts; delegation refused where it
 * cannot work.  The delegation itself (`zfs zone`) is start.c's phase_delegate. */
#include "core/jailzfs.h"
#include "core/util.h"
#include "core/zfs.h"
#include "linux/rt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* jail_zfs: the dataset's top directory belongs to the jail's root, as the root of the
 * jail's own files does on disk (idmap_shift: its range's first id where the files are
 * shifted, 0 where they are seen through an idmapped mount, 0 for a privileged jail).
 * Opened without following a symlink: the dataset's mountpoint on the host. */
static int own_jail_zfs(const char *path, uid_t owner)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		ioc_err("cannot open the jail_zfs dataset's directory %s: %s", path,
			strerror(errno));
		return -1;
	}
	if ((st.st_uid != owner || st.st_gid != owner) && fchown(fd, owner, owner) < 0) {
		ioc_err("cannot give the jail_zfs dataset's directory %s to the jail's root (host "
			"id %u): %s",
			path, (unsigned)owner, strerror(errno));
		return -1;
	}
	return 0;
}

/* allow_mount_zfs: can the dataset be delegated to this jail?  A setting that would
 * silently do nothing is refused, in one line saying why. */
static int delegation_possible(const struct jailconf *c)
{
	char why[256];
	const char *hint = "set allow_mount_zfs=0 ('iocell set allow_mount_zfs=0 %s'); jail_zfs=on "
			   "still mounts the jail's dataset at jail_zfs_mountpoint";
	if (!zfs_can_delegate(why, sizeof(why))) {
		ioc_err("cannot start jail %s: allow_mount_zfs=1, but %s", c->tag, why);
	} else if (c->privileged) {
		ioc_err("cannot start jail %s: allow_mount_zfs=1 delegates the jail_zfs dataset to "
			"the jail's user namespace, but the jail is privileged (privileged=yes: it "
			"has none)",
			c->tag);
		hint = "run it in a user namespace ('iocell set privileged=no %s'), or set "
		       "allow_mount_zfs=0";
	} else if (!c->jail_zfs) {
		ioc_err("cannot start jail %s: allow_mount_zfs=1 delegates the jail_zfs dataset, "
			"but jail_zfs=off",
			c->tag);
		hint = "turn it on ('iocell set jail_zfs=on jail_zfs_mountpoint=/data %s'), or set "
		       "allow_mount_zfs=0";
	} else {
		return 0;
	}
	ioc_hint(hint, c->tag);
	return -1;
}

/* jail_zfs: the dataset made if it went missing, owned by the jail's root, and where it
 * is on the host (bound into the jail by the set-up process).  allow_mount_zfs: zoned=on,
 * mounted by the set-up process by name (never by the mountpoint the jail may set) and
 * delegated once the jail's user namespace exists (phase_delegate). */
int jail_zfs_prepare(const struct jailconf *c, struct jail_zfs_plan *z)
{
	if (c->sec.allow_mount_zfs && delegation_possible(c) < 0)
		return -1;
	if (!c->jail_zfs)
		return 0;
	if (!c->jail_zfs_mountpoint) {
		ioc_err("cannot start jail %s: jail_zfs=on but jail_zfs_mountpoint=none", c->tag);
		ioc_hint(
			"say where the dataset goes in the jail: 'iocell set jail_zfs_mountpoint=/data "
			"%s'",
			c->tag);
		return -1;
	}
	if (jailzfs_ensure(c->jail_zfs_dataset) < 0)
		return -1;
	if (c->sec.allow_mount_zfs) {
		struct stat st;
		errno = 0;
		if (stat("/dev/zfs", &st) < 0 || !S_ISCHR(st.st_mode)) {
			ioc_err("cannot start jail %s: allow_mount_zfs=1, but /dev/zfs is not a "
				"character device: %s",
				c->tag, strerror(errno ? errno : ENODEV));
			return -1;
		}
		z->dev = st.st_rdev;
		if (jailzfs_zoned(c->jail_zfs_dataset) < 0)
			return -1;
		z->ds = jailzfs_full(c->jail_zfs_dataset);
		return z->ds ? 0 : -1;
	}
	z->src = jailzfs_host_path(c->jail_zfs_dataset);
	if (!z->src)
		return -1;
	return own_jail_zfs(z->src, c->privileged ? 0 : c->idmap_shift);
}
