#include "linux/jailfs.h"
#include "core/parse.h"
#include "core/util.h"
#include "linux/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *fdpath(int fd) { return xasprintf("/proc/self/fd/%d", fd); }

/* ---- creating as the jail's root ------------------------------------------------------- */

/* What iocell creates in the jail's root belongs to the jail's root: the file system uid
 * and gid become its host id (through an idmapped root they land as 0 on disk), with
 * the capabilities kept (a change of fsuid drops the file capabilities from the effective
 * set: raised again from the permitted one).  owner_end goes back to root. */
static void owner_begin(uid_t owner)
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

static void owner_end(uid_t owner)
{
	if (!owner)
		return;
	setfsuid(0); /* (the kernel raises the file capabilities again) */
	setfsgid(0);
}

/* Every mount point iocell creates or mounts on in a jail is resolved beneath its root
 * through no symlink at all (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a symlink the jail
 * made is never a way to move one of iocell's mounts (or a directory it creates) to
 * another place, in the jail or on the host.  ELOOP when one is on the way. */
static int open_target(int rootfd, const char *path, int flags, mode_t mode)
{
	return open_nofollow(rootfd, path, flags, mode);
}

static void target_err(const char *what, const char *path, int e)
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
static int mount_at(int rootfd, const char *path, const char *src, const char *fstype,
		    unsigned long flags, const char *data, bool dir)
{
	int fd = open_target(rootfd, path, O_PATH | (dir ? O_DIRECTORY : 0), 0);
	if (fd < 0) {
		target_err("open for mounting", path, errno);
		return -1;
	}
	char *t = fdpath(fd);
	int rc = mount(src, t, fstype, flags, data);
	if (rc < 0)
		ioc_err("cannot mount %s on %s in the jail: %s", src ? src : fstype, path,
			strerror(errno));
	free(t);
	close(fd);
	return rc;
}

/* Bind PATH (beneath rootfd) onto itself, making it a mount point of its own. */
static int bind_self(int rootfd, const char *path)
{
	int fd = open_target(rootfd, path, O_PATH, 0);
	if (fd < 0) {
		target_err("open", path, errno);
		return -1;
	}
	char *t = fdpath(fd);
	int rc = mount(t, t, NULL, MS_BIND | MS_REC, NULL);
	if (rc < 0)
		ioc_err("cannot bind %s in the jail: %s", path, strerror(errno));
	free(t);
	close(fd);
	return rc;
}

static int remount_ro(int rootfd, const char *path, unsigned long extra)
{
	int fd = open_target(rootfd, path, O_PATH, 0);
	if (fd < 0) {
		target_err("open", path, errno);
		return -1;
	}
	char *t = fdpath(fd);
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
static int add_mount_attrs(int fd, uint64_t attrs, bool recursive, const char *what)
{
	struct mount_attr a = {.attr_set = attrs};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) ==
	    0)
		return 0;
	if (errno == ENOSYS) {
		struct statvfs sv;
		char *t = fdpath(fd);
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
static int stat_target(int rootfd, const char *path, struct stat *st)
{
	int fd = open_target(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return -1;
	int rc = fstat(fd, st);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static bool exists_beneath(int rootfd, const char *path, bool *is_dir)
{
	struct stat st;
	if (stat_target(rootfd, path, &st) < 0)
		return false;
	if (is_dir)
		*is_dir = S_ISDIR(st.st_mode);
	return true;
}

/* mkdir PATH beneath rootfd (one level, parent must exist), owned by owner. */
static int mkdir_beneath(int rootfd, const char *path, mode_t mode, uid_t owner)
{
	char *p = xstrdup(path);
	char *slash = strrchr(p, '/');
	const char *name = p;
	int dfd;
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		dfd = open_target(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY, 0);
	} else {
		dfd = dup(rootfd);
	}
	int rc = -1;
	if (dfd >= 0) {
		owner_begin(owner);
		rc = mkdirat(dfd, name, mode);
		int e = errno;
		owner_end(owner);
		if (rc < 0 && e == EEXIST)
			rc = 0;
		close(dfd);
		errno = e;
	}
	if (rc < 0)
		target_err("create directory", path, errno);
	free(p);
	return rc;
}

static int ensure_dir(int rootfd, const char *path, uid_t owner)
{
	struct stat st;
	if (stat_target(rootfd, path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			ioc_err("%s in the jail is not a directory", path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		target_err("open", path, errno);
		return -1;
	}
	return mkdir_beneath(rootfd, path, 0755, owner);
}

/* One fstab entry: SRC on INSIDE (a path beneath the jail root). */
struct fstab_entry {
	const char *fstab;
	size_t line;
	char src[4096], inside[4096];
	struct fstab_opts o;
	bool under_dev; /* DEST is in /dev, the tmpfs iocell mounts there (mount_devfs) */
	uid_t owner;    /* of what is created in the jail */
};

/* Which entries fstab_each visits: all, those outside the jail's /dev tmpfs (mounted
 * before it), those inside it (mounted after it). */
enum fstab_pass { FSTAB_ALL, FSTAB_OUTSIDE_DEV, FSTAB_UNDER_DEV };

static bool path_under(const char *p, const char *dir)
{
	while (*p == '/')
		p++;
	size_t n = strlen(dir);
	return strncmp(p, dir, n) == 0 && p[n] == '/';
}

/* Call fn for each entry of the jail's fstab (none when the file does not exist) until
 * it returns non-zero; returns that value, 0, or -1 for an unreadable file or a bad
 * line. */
static int fstab_each(int rootfd, const struct jailfs_opts *jo, enum fstab_pass pass,
		      int (*fn)(int rootfd, const struct fstab_entry *e))
{
	const char *root = jo->root, *fstab = jo->fstab;
	if (!fstab || access(fstab, F_OK) != 0)
		return 0;
	char *txt = read_file(fstab, NULL);
	if (!txt)
		return -1;
	struct strv lines = {0};
	split(&lines, txt, "\n", true);
	free(txt);
	int rc = 0;
	size_t rootlen = strlen(root);
	struct fstab_entry *e = xmalloc(sizeof(*e));
	e->fstab = fstab;
	e->owner = jo->owner;
	for (size_t i = 0; i < lines.n && rc == 0; i++) {
		char dst[4096], err[256];
		int r = fstab_parse_line(lines.v[i], e->src, sizeof(e->src), dst, sizeof(dst),
					 &e->o, err, sizeof(err));
		if (r == 0)
			continue;
		if (r < 0) {
			ioc_err("%s line %zu: %s", fstab, i + 1, err);
			rc = -1;
			break;
		}
		/* iocell manuals write DEST as the host path of the jail root + path. */
		const char *inside = dst;
		if (strncmp(dst, root, rootlen) == 0 && (dst[rootlen] == '/' || !dst[rootlen]))
			inside = dst + rootlen;
		snprintf(e->inside, sizeof(e->inside), "%s", inside);
		e->line = i + 1;
		e->under_dev = jo->mount_devfs && path_under(e->inside, "dev");
		if ((pass == FSTAB_OUTSIDE_DEV && e->under_dev) ||
		    (pass == FSTAB_UNDER_DEV && !e->under_dev))
			continue;
		rc = fn(rootfd, e);
	}
	free(e);
	sv_free(&lines);
	return rc;
}

static int mount_fstab_entry(int rootfd, const struct fstab_entry *e)
{
	struct stat st, dt;
	if (stat(e->src, &st) < 0) {
		ioc_err("%s line %zu: source %s: %s", e->fstab, e->line, e->src, strerror(errno));
		return -1;
	}
	if (stat_target(rootfd, e->inside, &dt) < 0) {
		if (errno != ENOENT) {
			target_err("mount on", e->inside, errno);
			ioc_hint("%s line %zu: DEST must be a real directory or file in the jail",
				 e->fstab, e->line);
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir_beneath(rootfd, e->inside, 0755, e->owner) < 0)
				return -1;
		} else {
			owner_begin(e->owner);
			int fd = open_target(rootfd, e->inside,
					     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK,
					     0644);
			int err = errno;
			owner_end(e->owner);
			if (fd < 0 && err != EEXIST) {
				target_err("create", e->inside, err);
				return -1;
			}
			if (fd >= 0)
				close(fd);
		}
	}
	if (mount_at(rootfd, e->inside, e->src, NULL, MS_BIND | MS_REC, NULL, false) < 0)
		return -1;
	/* Device nodes do not work through it (nodev) unless the entry says "dev"; "ro"
	 * makes it (and what is mounted below it) read-only and nosuid. */
	uint64_t attrs = (e->o.dev ? 0 : MOUNT_ATTR_NODEV) |
			 (e->o.ro ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID : 0);
	if (!attrs && !e->o.dev)
		return 0;
	int fd = open_target(rootfd, e->inside, O_PATH, 0);
	if (fd < 0) {
		target_err("open", e->inside, errno);
		return -1;
	}
	int rc = attrs ? add_mount_attrs(fd, attrs, true, e->inside) : 0;
	/* "dev" also where the source's own mount is nodev (a systemd host's /tmp): the
	 * bind itself, not what is mounted below it */
	struct mount_attr clr = {.attr_clr = MOUNT_ATTR_NODEV};
	if (rc == 0 && e->o.dev && mount_setattr(fd, "", AT_EMPTY_PATH, &clr, sizeof(clr)) < 0) {
		ioc_err("cannot let device nodes work through the mount on %s in the jail "
			"(fstab option dev): %s",
			e->inside, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/* jailfs_fstab_devices: the device nodes of the "dev" entries. */
static struct devrule *g_devs;
static size_t g_ndevs;
#define FSTAB_DEVS_MAX 256

static void add_dev(const struct stat *st)
{
	if ((!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode)) || g_ndevs >= FSTAB_DEVS_MAX)
		return;
	g_devs = xrealloc(g_devs, (g_ndevs + 1) * sizeof(*g_devs));
	g_devs[g_ndevs++] = (struct devrule){.type = S_ISBLK(st->st_mode) ? 'b' : 'c',
					     .major_lo = major(st->st_rdev),
					     .major_hi = major(st->st_rdev),
					     .minor = (int)minor(st->st_rdev)};
}

static int collect_devs(int rootfd, const struct fstab_entry *e)
{
	(void)rootfd;
	struct stat st;
	if (!e->o.dev || stat(e->src, &st) < 0)
		return 0; /* a missing source is reported when it is mounted */
	add_dev(&st);
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(e->src);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			add_dev(&st);
	if (d)
		closedir(d);
	return 0;
}

int jailfs_fstab_devices(const struct jailfs_opts *o, struct devrule **rules, size_t *n)
{
	g_devs = NULL;
	g_ndevs = 0;
	int rc = fstab_each(-1, o, FSTAB_ALL, collect_devs);
	*rules = g_devs;
	*n = g_ndevs;
	g_devs = NULL;
	if (rc < 0) {
		free(*rules);
		*rules = NULL;
		*n = 0;
	}
	return rc < 0 ? -1 : 0;
}

/* The directory PATH (absolute, inside the jail) beneath rootfd, following no symlink at
 * all; missing components made (0755, owned by owner) when create.  An O_PATH fd, or -1
 * with errno (ENOENT: missing, ELOOP: a symlink on the way). */
static int open_dir_nofollow(int rootfd, const char *path, bool create, uid_t owner)
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
			owner_begin(owner);
			int made = mkdirat(fd, name, 0755);
			int me = errno;
			owner_end(owner);
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

/* allow_mount_zfs: a mount of the delegated dataset itself (by its name, not by its
 * mountpoint property, which the jail may set), made here as the host's root: its top
 * directory the jail root's (on disk: disk_owner), then seen through the jail's mapping
 * when its root is idmapped.  A detached mount (fsmount), -1 with the error recorded. */
static int zfs_dataset_mount(const struct jailfs_opts *o)
{
	int fs = fsopen("zfs", FSOPEN_CLOEXEC);
	if (fs < 0) {
		ioc_err("cannot mount the delegated dataset %s: fsopen(zfs): %s", o->zfs_ds,
			strerror(errno));
		return -1;
	}
	int mnt = -1;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", o->zfs_ds, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) < 0) {
		ioc_err("cannot mount the delegated dataset %s: %s", o->zfs_ds, strerror(errno));
		close(fs);
		return -1;
	}
	close(fs);
	struct stat st;
	if (fstatat(mnt, "", &st, AT_EMPTY_PATH) < 0 ||
	    ((st.st_uid != o->zfs_disk_owner || st.st_gid != o->zfs_disk_owner) &&
	     fchownat(mnt, "", o->zfs_disk_owner, o->zfs_disk_owner, AT_EMPTY_PATH) < 0)) {
		ioc_err("cannot give the delegated dataset %s to the jail's root (host id %u): %s",
			o->zfs_ds, (unsigned)o->zfs_disk_owner, strerror(errno));
		close(mnt);
		return -1;
	}
	if (o->idmap_userfd >= 0) {
		struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP,
				       .userns_fd = (uint64_t)o->idmap_userfd};
		if (mount_setattr(mnt, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
			ioc_err("cannot make an idmapped mount of the delegated dataset %s: %s",
				o->zfs_ds, strerror(errno));
			close(mnt);
			return -1;
		}
	}
	return mnt;
}

/* jail_zfs: the dataset's host mountpoint bound (with its children) at zfs_dst; through
 * the jail's mapping when its root is idmapped (the dataset's files keep the jail's own
 * ids on disk too).  Delegated (zfs_ds): the dataset itself mounted there. */
static int mount_jail_zfs(int rootfd, const struct jailfs_opts *o)
{
	int fd = open_dir_nofollow(rootfd, o->zfs_dst, true, o->owner);
	if (fd < 0) {
		target_err("use jail_zfs_mountpoint", o->zfs_dst, errno);
		return -1;
	}
	int rc;
	const char *src = o->zfs_ds ? o->zfs_ds : o->zfs_src;
	if (o->zfs_ds || o->idmap_userfd >= 0) {
		int tree = o->zfs_ds ? zfs_dataset_mount(o)
				     : uns_idmap_tree(o->zfs_src, o->idmap_userfd,
						      "the jail_zfs dataset");
		rc = tree < 0 ? -1
			      : move_mount(tree, "", fd, "",
					   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		if (tree >= 0 && rc < 0)
			ioc_err("cannot mount the jail_zfs dataset (%s) on %s in the jail: %s", src,
				o->zfs_dst, strerror(errno));
		if (tree >= 0)
			close(tree);
	} else {
		char *t = fdpath(fd);
		rc = mount(o->zfs_src, t, NULL, MS_BIND | MS_REC, NULL);
		if (rc < 0)
			ioc_err("cannot mount the jail_zfs dataset (%s) on %s in the jail: %s", src,
				o->zfs_dst, strerror(errno));
		free(t);
	}
	close(fd);
	if (rc < 0)
		return -1;
	/* the mount itself now: no set-uid programs or device nodes from it */
	fd = open_dir_nofollow(rootfd, o->zfs_dst, false, 0);
	if (fd < 0) {
		target_err("open", o->zfs_dst, errno);
		return -1;
	}
	rc = add_mount_attrs(fd, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, o->zfs_dst);
	close(fd);
	return rc;
}

static int fstab_target_missing(int rootfd, const struct fstab_entry *e)
{
	return exists_beneath(rootfd, e->inside, NULL) ? 0 : 1;
}

/* Would jailfs_setup create anything in the jail's root (a missing mount point)?
 * 1 yes, 0 no, -1 error (a bad fstab).  Mount points in the /dev tmpfs are not in the
 * root. */
static int needs_create(int rootfd, const struct jailfs_opts *o)
{
	static const char *const dirs[] = {"proc", "sys", "dev"};
	bool want[] = {o->mount_procfs, o->mount_sysfs, o->mount_devfs};
	for (int i = 0; i < 3; i++) {
		bool d = false;
		if (want[i] && (!exists_beneath(rootfd, dirs[i], &d) || !d))
			return 1;
	}
	if (o->zfs_dst) {
		int fd = open_dir_nofollow(rootfd, o->zfs_dst, false, 0);
		if (fd < 0)
			return 1; /* missing (or in the way: the real set-up reports it) */
		close(fd);
	}
	return fstab_each(rootfd, o, FSTAB_OUTSIDE_DEV, fstab_target_missing);
}

/* Hide what exists of files (under /dev/null) and dirs (under an empty read-only
 * tmpfs) beneath rootfd. */
static int mask_paths(int rootfd, const char *const *files, const char *const *dirs)
{
	for (int i = 0; files[i]; i++) {
		bool d;
		if (exists_beneath(rootfd, files[i], &d) && !d &&
		    mount_at(rootfd, files[i], "/dev/null", NULL, MS_BIND, NULL, false) < 0)
			return -1;
	}
	for (int i = 0; dirs[i]; i++) {
		bool d;
		if (exists_beneath(rootfd, dirs[i], &d) && d &&
		    mount_at(rootfd, dirs[i], "tmpfs", "tmpfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=555",
			     true) < 0)
			return -1;
	}
	return 0;
}

/* /proc with the entries OCI runtimes mask (their default masked and read-only paths,
 * and a few more kernel internals): files hidden under /dev/null, directories under an
 * empty read-only tmpfs, kernel tunables and triggers read-only.  /proc/mtrr: writing
 * it reprograms the memory type ranges of the host's CPUs (CAP_SYS_ADMIN, which a jail
 * keeps for sethostname). */
static int setup_proc(int rootfd, bool net_writable, uid_t owner)
{
	if (ensure_dir(rootfd, "proc", owner) < 0 ||
	    mount_at(rootfd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true) <
		    0)
		return -1;
	static const char *const files[] = {"proc/kcore",       "proc/keys",
					    "proc/timer_list",  "proc/timer_stats",
					    "proc/sched_debug", "proc/latency_stats",
					    "proc/kallsyms",    "proc/kmsg",
					    "proc/kpagecount",  "proc/kpageflags",
					    "proc/kpagecgroup", "proc/config.gz",
					    "proc/mtrr",        NULL};
	static const char *const dirs[] = {"proc/acpi",   "proc/scsi",   "proc/firmware",
					   "proc/asound", "proc/driver", NULL};
	static const char *rodirs[] = {
		"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs", NULL};
	if (mask_paths(rootfd, files, dirs) < 0)
		return -1;
	/* Kernel tunables and triggers: each bound onto itself, then made read-only. */
	for (int i = 0; rodirs[i]; i++) {
		if (!exists_beneath(rootfd, rodirs[i], NULL))
			continue;
		if (bind_self(rootfd, rodirs[i]) < 0 ||
		    remount_ro(rootfd, rodirs[i], MS_NOSUID | MS_NODEV | MS_NOEXEC) < 0)
			return -1;
	}
	/* securelevel <= 0: the jail's own network tunables (namespaced) stay writable. */
	if (net_writable && exists_beneath(rootfd, "proc/sys/net", NULL)) {
		/* A bind copies the read-only flag: bind, then remount without it. */
		int fd = bind_self(rootfd, "proc/sys/net") < 0
				 ? -1
				 : open_target(rootfd, "proc/sys/net", O_PATH, 0);
		if (fd < 0)
			return -1;
		char *t = fdpath(fd);
		int r = mount(NULL, t, NULL,
			      MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
		free(t);
		close(fd);
		if (r < 0) {
			ioc_err("cannot make /proc/sys/net writable in the jail: %s",
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* A minimal /dev on a tmpfs of its own: the nodes are made by iocell (host root, in the
 * host's user namespace, before the jail's is entered), and everything in it belongs to
 * the jail's root (owner). */
static int setup_dev(int rootfd, unsigned long pts_max, uid_t owner, dev_t zfs_dev)
{
	char opts[96];
	snprintf(opts, sizeof(opts), "mode=755,size=65536k,uid=%u,gid=%u", (unsigned)owner,
		 (unsigned)owner);
	if (ensure_dir(rootfd, "dev", owner) < 0 ||
	    mount_at(rootfd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, opts,
		     true) < 0)
		return -1;
	int dfd = open_target(rootfd, "dev", O_PATH | O_DIRECTORY, 0);
	if (dfd < 0) {
		ioc_err("cannot open the jail's /dev: %s", strerror(errno));
		return -1;
	}
	static const struct {
		const char *name;
		unsigned maj, min;
		mode_t mode;
	} nodes[] = {
		{"null", 1, 3, 0666},   {"zero", 1, 5, 0666},    {"full", 1, 7, 0666},
		{"random", 1, 8, 0666}, {"urandom", 1, 9, 0666}, {"tty", 5, 0, 0666},
	};
	int rc = 0;
	mode_t old = umask(0);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]) && rc == 0; i++) {
		if (mknodat(dfd, nodes[i].name, S_IFCHR | nodes[i].mode,
			    makedev(nodes[i].maj, nodes[i].min)) < 0) {
			ioc_err("cannot create /dev/%s in the jail: %s", nodes[i].name,
				strerror(errno));
			rc = -1;
		}
	}
	/* allow_mount_zfs: the ZFS control device, for the delegated dataset (OpenZFS checks
	 * every request against what was delegated to the jail's user namespace) */
	if (rc == 0 && zfs_dev &&
	    (mknodat(dfd, "zfs", S_IFCHR | 0600, zfs_dev) < 0 ||
	     (owner && fchownat(dfd, "zfs", owner, owner, AT_SYMLINK_NOFOLLOW) < 0))) {
		ioc_err("cannot create /dev/zfs in the jail: %s", strerror(errno));
		rc = -1;
	}
	static const char *dirs[] = {"pts", "shm", "mqueue", NULL};
	for (int i = 0; dirs[i] && rc == 0; i++)
		if (mkdirat(dfd, dirs[i], i == 1 ? 01777 : 0755) < 0) {
			ioc_err("cannot create /dev/%s in the jail: %s", dirs[i], strerror(errno));
			rc = -1;
		}
	static const char *links[][2] = {{"ptmx", "pts/ptmx"},
					 {"fd", "/proc/self/fd"},
					 {"stdin", "/proc/self/fd/0"},
					 {"stdout", "/proc/self/fd/1"},
					 {"stderr", "/proc/self/fd/2"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]) && rc == 0; i++)
		if (symlinkat(links[i][1], dfd, links[i][0]) < 0) {
			ioc_err("cannot create /dev/%s in the jail: %s", links[i][0],
				strerror(errno));
			rc = -1;
		}
	/* /dev/console: the jail has no console device of the host. */
	if (rc == 0) {
		int cfd = openat(dfd, "console", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (cfd < 0) {
			ioc_err("cannot create /dev/console in the jail: %s", strerror(errno));
			rc = -1;
		} else {
			close(cfd);
		}
	}
	static const char *const owned[] = {
		"null",   "zero", "full", "random", "urandom", "tty",    "pts",     "shm",
		"mqueue", "ptmx", "fd",   "stdin",  "stdout",  "stderr", "console", NULL};
	for (int i = 0; owner && owned[i] && rc == 0; i++)
		if (fchownat(dfd, owned[i], owner, owner, AT_SYMLINK_NOFOLLOW) < 0) {
			ioc_err("cannot give /dev/%s to the jail's root: %s", owned[i],
				strerror(errno));
			rc = -1;
		}
	umask(old);
	close(dfd);
	if (rc < 0)
		return -1;
	/* limits: pseudoterminals = devpts max; group tty (5) of the jail */
	char ptsopts[128];
	int n = snprintf(ptsopts, sizeof(ptsopts), "newinstance,ptmxmode=0666,mode=0620,gid=%u",
			 (unsigned)owner + 5);
	if (pts_max)
		snprintf(ptsopts + n, sizeof(ptsopts) - (size_t)n, ",max=%lu", pts_max);
	snprintf(opts, sizeof(opts), "mode=1777,size=65536k,uid=%u,gid=%u", (unsigned)owner,
		 (unsigned)owner);
	if (mount_at(rootfd, "dev/console", "/dev/null", NULL, MS_BIND, NULL, false) < 0 ||
	    mount_at(rootfd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, ptsopts, true) <
		    0 ||
	    mount_at(rootfd, "dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts,
		     true) < 0 ||
	    mount_at(rootfd, "dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     NULL, true) < 0)
		return -1;
	return 0;
}

/* /sys read-only with the OCI runtimes' masks (firmware tables, power capping).  With
 * the host's network stack (no network namespace of its own, so no sysfs of its own:
 * the host's is bound) every mount below it is made read-only too, and the host's own
 * file systems mounted there (cgroups, debugfs, tracefs, securityfs, bpf, pstore) are
 * hidden as a fresh sysfs would have them: empty. */
static int setup_sys(int rootfd, bool own_netns, uid_t owner)
{
	if (ensure_dir(rootfd, "sys", owner) < 0)
		return -1;
	unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	static const char *const none[] = {NULL};
	static const char *const masked[] = {"sys/firmware", "sys/devices/virtual/powercap", NULL};
	static const char *const host_mounts[] = {
		"sys/fs/cgroup",           "sys/kernel/debug",  "sys/kernel/tracing",
		"sys/kernel/security",     "sys/fs/bpf",        "sys/fs/pstore",
		"sys/fs/fuse/connections", "sys/kernel/config", NULL};
	if (own_netns) {
		if (mount_at(rootfd, "sys", "sysfs", "sysfs", ro, NULL, true) < 0)
			return -1;
	} else {
		if (mount_at(rootfd, "sys", "/sys", NULL, MS_BIND | MS_REC, NULL, true) < 0)
			return -1;
		int fd = open_target(rootfd, "sys", O_PATH | O_DIRECTORY, 0);
		if (fd < 0) {
			target_err("open", "sys", errno);
			return -1;
		}
		int r = add_mount_attrs(fd,
					MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						MOUNT_ATTR_NOEXEC,
					true, "/sys");
		close(fd);
		if (r < 0 || mask_paths(rootfd, none, host_mounts) < 0)
			return -1;
	}
	return mask_paths(rootfd, none, masked);
}

int jailfs_setup(const struct jailfs_opts *o)
{
	if (o->no_create) {
		int fd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			ioc_err("cannot open the jail root %s: %s", o->root, strerror(errno));
			return -1;
		}
		int r = needs_create(fd, o);
		close(fd);
		if (r != 0)
			return r < 0 ? -1 : JAILFS_DEFERRED;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		ioc_err("cannot make mounts private: %s", strerror(errno));
		return -1;
	}
	if (o->idmap_userfd >= 0 ? uns_idmap_root(o->root, o->idmap_userfd) < 0
				 : mount(o->root, o->root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (o->idmap_userfd < 0)
			ioc_err("cannot bind the jail root %s: %s", o->root, strerror(errno));
		return -1;
	}
	_cleanup_close_ int rootfd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		ioc_err("cannot open the jail root %s: %s", o->root, strerror(errno));
		return -1;
	}
	/* Device nodes in the jail's own files never work (nodev, on every mount below the
	 * root too: a basejail's clones), only those of the /dev iocell makes. */
	if (add_mount_attrs(rootfd, MOUNT_ATTR_NODEV, true, "the root") < 0)
		return -1;
	if (fstab_each(rootfd, o, FSTAB_OUTSIDE_DEV, mount_fstab_entry) < 0 ||
	    (o->zfs_dst && mount_jail_zfs(rootfd, o) < 0) ||
	    (o->mount_procfs && setup_proc(rootfd, o->proc_net_writable, o->owner) < 0) ||
	    (o->mount_sysfs && setup_sys(rootfd, o->own_netns, o->owner) < 0) ||
	    (o->mount_devfs && setup_dev(rootfd, o->pts_max, o->owner, o->zfs_dev) < 0) ||
	    (o->mount_devfs && fstab_each(rootfd, o, FSTAB_UNDER_DEV, mount_fstab_entry) < 0))
		return -1;
	return 0;
}

/* DIR/NAME beneath rootfd, if it is a symlink, is removed (the link, never its target):
 * e.g. a jail's resolv.conf pointing into /run gives way to the file iocell writes. */
static int unlink_symlink_beneath(int rootfd, const char *dir, const char *name)
{
	int dfd = open_target(rootfd, dir, O_PATH | O_DIRECTORY, 0);
	if (dfd < 0) {
		target_err("open", dir, errno);
		return -1;
	}
	struct stat st;
	int rc = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
	    unlinkat(dfd, name, 0) < 0) {
		ioc_err("cannot replace the symlink %s/%s in the jail: %s", dir, name,
			strerror(errno));
		rc = -1;
	}
	close(dfd);
	return rc;
}

/* Is PATH beneath rootfd a regular file holding exactly data?  Read as every file of the
 * jail iocell reads: no symlink followed, no FIFO or device opened, size-limited. */
static bool same_beneath(int rootfd, const char *path, const char *data, size_t len)
{
	size_t n;
	_cleanup_free_ char *cur = read_regular_at(rootfd, path, len, &n);
	return cur && n == len && memcmp(cur, data, len) == 0;
}

int jailfs_write_resolv(const char *root, const char *content, bool check_only, uid_t owner)
{
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		if (check_only)
			return 1; /* the write reports it */
		ioc_err("cannot open the jail root %s: %s", root, strerror(errno));
		return -1;
	}
	bool d = false;
	int rc = 0; /* no /etc: nothing to do */
	if (exists_beneath(rootfd, "etc", &d) && d) {
		size_t len = strlen(content);
		if (check_only)
			rc = same_beneath(rootfd, "etc/resolv.conf", content, len) ? 0 : 1;
		else {
			owner_begin(owner);
			if (unlink_symlink_beneath(rootfd, "etc", "resolv.conf") < 0 ||
			    write_beneath(rootfd, "etc/resolv.conf", content, len, 0644) < 0)
				rc = -1;
			owner_end(owner);
		}
	}
	close(rootfd);
	return rc;
}

int jailfs_pivot(const char *root)
{
	if (chdir(root) < 0) {
		ioc_err("cannot enter the jail root %s: %s", root, strerror(errno));
		return -1;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		ioc_err("pivot_root into %s failed: %s", root, strerror(errno));
		return -1;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		ioc_err("cannot detach the host's root: %s", strerror(errno));
		return -1;
	}
	if (chdir("/") < 0) {
		ioc_err("chdir / in the jail failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}
