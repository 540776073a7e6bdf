#include "linux/jfsat.h"
#include "core/fsat.h"
#include "core/parse.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

char *jfs_fdpath(int fd) { return xasprintf("/proc/self/fd/%d", fd); }

/* ---- creating as the jail's root ------------------------------------------------------- */

/* What iocell creates in the jail's root belongs to the jail's root: the file system uid
 * and gid become its host id (through an idmapped root they land as 0 on disk), with
 * the capabilities kept (a change of fsuid drops the file capabilities from the effective
 * set: raised again from the permitted one).  jfs_owner_end goes back to root. */
void jfs_owner_begin(uid_t owner)
{
	if (!owner)
		return;
	setfsgid(owner);
	setfsuid(owner);
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) == 0) {
		d[0].effective = d[0].permitted;
		d[1].effective = d[1].permitted;
		syscall(SYS_capset, &h, d);
	}
}

void jfs_owner_end(uid_t owner)
{
	if (!owner)
		return;
	setfsuid(0); /* (the kernel raises the file capabilities again) */
	setfsgid(0);
}

void jfs_target_err(const char *what, const char *path, int e)
{
	if (e == ELOOP)
		ioc_err("cannot %s %s in the jail: it is a symlink or its path passes through one "
			"(iocell never mounts or creates through the jail's symlinks)",
			what, path);
	else
		ioc_err("cannot %s %s in the jail: %s", what, path, strerror(e));
}

/* Mount onto PATH beneath rootfd: resolve safely, then mount on the resolved inode
 * through its /proc/self/fd path (no second lookup by name). */
int jfs_mount_at(int rootfd, const char *path, const char *src, const char *fstype,
		 unsigned long flags, const char *data, bool dir)
{
	int fd = open_nofollow(rootfd, path, O_PATH | (dir ? O_DIRECTORY : 0), 0);
	if (fd < 0) {
		jfs_target_err("open for mounting", path, errno);
		return -1;
	}
	char *t = jfs_fdpath(fd);
	int rc = mount(src, t, fstype, flags, data);
	if (rc < 0)
		ioc_err("cannot mount %s on %s in the jail: %s", src ? src : fstype, path,
			strerror(errno));
	free(t);
	close(fd);
	return rc;
}

/* Bind PATH (beneath rootfd) onto itself, making it a mount point of its own. */
int jfs_bind_self(int rootfd, const char *path)
{
	int fd = open_nofollow(rootfd, path, O_PATH, 0);
	if (fd < 0) {
		jfs_target_err("open", path, errno);
		return -1;
	}
	char *t = jfs_fdpath(fd);
	int rc = mount(t, t, NULL, MS_BIND | MS_REC, NULL);
	if (rc < 0)
		ioc_err("cannot bind %s in the jail: %s", path, strerror(errno));
	free(t);
	close(fd);
	return rc;
}

int jfs_remount_ro(int rootfd, const char *path, unsigned long extra)
{
	int fd = open_nofollow(rootfd, path, O_PATH, 0);
	if (fd < 0) {
		jfs_target_err("open", path, errno);
		return -1;
	}
	char *t = jfs_fdpath(fd);
	int rc = mount(NULL, t, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL);
	if (rc < 0)
		ioc_err("cannot make %s read-only in the jail: %s", path, strerror(errno));
	free(t);
	close(fd);
	return rc;
}

/* Add the MOUNT_ATTR_* flags attrs to the mount at fd and (recursive) every mount below
 * it, leaving their other flags as they are.  Kernels before 5.12 (no mount_setattr):
 * a remount of that one mount with its current flags plus these. */
int jfs_add_mount_attrs(int fd, uint64_t attrs, bool recursive, const char *what)
{
	struct mount_attr a = {.attr_set = attrs};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) ==
	    0)
		return 0;
	if (errno == ENOSYS) {
		struct statvfs sv;
		char *t = jfs_fdpath(fd);
		unsigned long fl = MS_REMOUNT | MS_BIND;
		int rc = fstatvfs(fd, &sv);
		if (rc == 0) {
			fl |= (sv.f_flag & ST_RDONLY ? MS_RDONLY : 0) |
			      (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
			      (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
			      (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) |
			      (attrs & MOUNT_ATTR_RDONLY ? MS_RDONLY : 0) |
			      (attrs & MOUNT_ATTR_NOSUID ? MS_NOSUID : 0) |
			      (attrs & MOUNT_ATTR_NODEV ? MS_NODEV : 0) |
			      (attrs & MOUNT_ATTR_NOEXEC ? MS_NOEXEC : 0);
			rc = mount(NULL, t, NULL, fl, NULL);
		}
		free(t);
		if (rc == 0)
			return 0;
	}
	ioc_err("cannot set the mount options of %s in the jail: %s", what, strerror(errno));
	return -1;
}

/* What PATH beneath rootfd is (no symlink followed): 0 with *st, or -1 with errno
 * (ENOENT missing, ELOOP a symlink on the way). */
int jfs_stat(int rootfd, const char *path, struct stat *st)
{
	int fd = open_nofollow(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return -1;
	int rc = fstat(fd, st);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

bool jfs_exists(int rootfd, const char *path, bool *is_dir)
{
	struct stat st;
	if (jfs_stat(rootfd, path, &st) < 0)
		return false;
	if (is_dir)
		*is_dir = S_ISDIR(st.st_mode);
	return true;
}

/* mkdir PATH beneath rootfd (one level, parent must exist), owned by owner. */
int jfs_mkdir(int rootfd, const char *path, mode_t mode, uid_t owner)
{
	char *p = xstrdup(path);
	char *slash = strrchr(p, '/');
	const char *name = p;
	int dfd;
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		dfd = open_nofollow(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY, 0);
	} else {
		dfd = dup(rootfd);
	}
	int rc = -1;
	if (dfd >= 0) {
		jfs_owner_begin(owner);
		rc = mkdirat(dfd, name, mode);
		int e = errno;
		jfs_owner_end(owner);
		if (rc < 0 && e == EEXIST)
			rc = 0;
		close(dfd);
		errno = e;
	}
	if (rc < 0)
		jfs_target_err("create directory", path, errno);
	free(p);
	return rc;
}

int jfs_ensure_dir(int rootfd, const char *path, uid_t owner)
{
	struct stat st;
	if (jfs_stat(rootfd, path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			ioc_err("%s in the jail is not a directory", path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		jfs_target_err("open", path, errno);
		return -1;
	}
	return jfs_mkdir(rootfd, path, 0755, owner);
}

/* The directory PATH (absolute, inside the jail) beneath rootfd, following no symlink at
 * all; missing components made (0755, owned by owner) when create.  An O_PATH fd, or -1
 * with errno (ENOENT: missing, ELOOP: a symlink on the way). */
int jfs_open_dir(int rootfd, const char *path, bool create, uid_t owner)
{
	_cleanup_strv_ struct strv parts = {0};
	split(&parts, path, "/", true);
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	for (size_t i = 0; fd >= 0 && i < parts.n; i++) {
		const char *name = parts.v[i];
		if (streq(name, ".") || streq(name, "..")) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		int nfd = open_nofollow(fd, name, O_PATH | O_DIRECTORY, 0);
		if (nfd < 0 && errno == ENOENT && create) {
			jfs_owner_begin(owner);
			int made = mkdirat(fd, name, 0755);
			int me = errno;
			jfs_owner_end(owner);
			errno = me;
			if (made == 0 || errno == EEXIST)
				nfd = open_nofollow(fd, name, O_PATH | O_DIRECTORY, 0);
		}
		int e = errno;
		close(fd);
		fd = nfd;
		errno = e;
	}
	return fd;
}
