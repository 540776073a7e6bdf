#include "linux/jailfs.h"
#include "core/parse.h"
#include "core/util.h"
#include "linux/jfsat.h"
#include "linux/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

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
	if (jfs_stat(rootfd, e->inside, &dt) < 0) {
		if (errno != ENOENT) {
			jfs_target_err("mount on", e->inside, errno);
			ioc_hint("%s line %zu: DEST must be a real directory or file in the jail",
				 e->fstab, e->line);
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (jfs_mkdir(rootfd, e->inside, 0755, e->owner) < 0)
				return -1;
		} else {
			jfs_owner_begin(e->owner);
			int fd = open_nofollow(
				rootfd, e->inside,
				O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0644);
			int err = errno;
			jfs_owner_end(e->owner);
			if (fd < 0 && err != EEXIST) {
				jfs_target_err("create", e->inside, err);
				return -1;
			}
			if (fd >= 0)
				close(fd);
		}
	}
	if (jfs_mount_at(rootfd, e->inside, e->src, NULL, MS_BIND | MS_REC, NULL, false) < 0)
		return -1;
	/* Device nodes do not work through it (nodev) unless the entry says "dev"; "ro"
	 * makes it (and what is mounted below it) read-only and nosuid. */
	uint64_t attrs = (e->o.dev ? 0 : MOUNT_ATTR_NODEV) |
			 (e->o.ro ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID : 0);
	if (!attrs && !e->o.dev)
		return 0;
	int fd = open_nofollow(rootfd, e->inside, O_PATH, 0);
	if (fd < 0) {
		jfs_target_err("open", e->inside, errno);
		return -1;
	}
	int rc = attrs ? jfs_add_mount_attrs(fd, attrs, true, e->inside) : 0;
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
	int fd = jfs_open_dir(rootfd, o->zfs_dst, true, o->owner);
	if (fd < 0) {
		jfs_target_err("use jail_zfs_mountpoint", o->zfs_dst, errno);
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
		char *t = jfs_fdpath(fd);
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
	fd = jfs_open_dir(rootfd, o->zfs_dst, false, 0);
	if (fd < 0) {
		jfs_target_err("open", o->zfs_dst, errno);
		return -1;
	}
	rc = jfs_add_mount_attrs(fd, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, o->zfs_dst);
	close(fd);
	return rc;
}

static int fstab_target_missing(int rootfd, const struct fstab_entry *e)
{
	return jfs_exists(rootfd, e->inside, NULL) ? 0 : 1;
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
		if (want[i] && (!jfs_exists(rootfd, dirs[i], &d) || !d))
			return 1;
	}
	if (o->zfs_dst) {
		int fd = jfs_open_dir(rootfd, o->zfs_dst, false, 0);
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
		if (jfs_exists(rootfd, files[i], &d) && !d &&
		    jfs_mount_at(rootfd, files[i], "/dev/null", NULL, MS_BIND, NULL, false) < 0)
			return -1;
	}
	for (int i = 0; dirs[i]; i++) {
		bool d;
		if (jfs_exists(rootfd, dirs[i], &d) && d &&
		    jfs_mount_at(rootfd, dirs[i], "tmpfs", "tmpfs",
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
	if (jfs_ensure_dir(rootfd, "proc", owner) < 0 ||
	    jfs_mount_at(rootfd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			 true) < 0)
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
		if (!jfs_exists(rootfd, rodirs[i], NULL))
			continue;
		if (jfs_bind_self(rootfd, rodirs[i]) < 0 ||
		    jfs_remount_ro(rootfd, rodirs[i], MS_NOSUID | MS_NODEV | MS_NOEXEC) < 0)
			return -1;
	}
	/* securelevel <= 0: the jail's own network tunables (namespaced) stay writable. */
	if (net_writable && jfs_exists(rootfd, "proc/sys/net", NULL)) {
		/* A bind copies the read-only flag: bind, then remount without it. */
		int fd = jfs_bind_self(rootfd, "proc/sys/net") < 0
				 ? -1
				 : open_nofollow(rootfd, "proc/sys/net", O_PATH, 0);
		if (fd < 0)
			return -1;
		char *t = jfs_fdpath(fd);
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
	if (jfs_ensure_dir(rootfd, "dev", owner) < 0 ||
	    jfs_mount_at(rootfd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
			 opts, true) < 0)
		return -1;
	int dfd = open_nofollow(rootfd, "dev", O_PATH | O_DIRECTORY, 0);
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
	if (jfs_mount_at(rootfd, "dev/console", "/dev/null", NULL, MS_BIND, NULL, false) < 0 ||
	    jfs_mount_at(rootfd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, ptsopts,
			 true) < 0 ||
	    jfs_mount_at(rootfd, "dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts,
			 true) < 0 ||
	    jfs_mount_at(rootfd, "dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
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
	if (jfs_ensure_dir(rootfd, "sys", owner) < 0)
		return -1;
	unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	static const char *const none[] = {NULL};
	static const char *const masked[] = {"sys/firmware", "sys/devices/virtual/powercap", NULL};
	static const char *const host_mounts[] = {
		"sys/fs/cgroup",           "sys/kernel/debug",  "sys/kernel/tracing",
		"sys/kernel/security",     "sys/fs/bpf",        "sys/fs/pstore",
		"sys/fs/fuse/connections", "sys/kernel/config", NULL};
	if (own_netns) {
		if (jfs_mount_at(rootfd, "sys", "sysfs", "sysfs", ro, NULL, true) < 0)
			return -1;
	} else {
		if (jfs_mount_at(rootfd, "sys", "/sys", NULL, MS_BIND | MS_REC, NULL, true) < 0)
			return -1;
		int fd = open_nofollow(rootfd, "sys", O_PATH | O_DIRECTORY, 0);
		if (fd < 0) {
			jfs_target_err("open", "sys", errno);
			return -1;
		}
		int r = jfs_add_mount_attrs(fd,
					    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
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
	if (jfs_add_mount_attrs(rootfd, MOUNT_ATTR_NODEV, true, "the root") < 0)
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
	int dfd = open_nofollow(rootfd, dir, O_PATH | O_DIRECTORY, 0);
	if (dfd < 0) {
		jfs_target_err("open", dir, errno);
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
	if (jfs_exists(rootfd, "etc", &d) && d) {
		size_t len = strlen(content);
		if (check_only)
			rc = same_beneath(rootfd, "etc/resolv.conf", content, len) ? 0 : 1;
		else {
			jfs_owner_begin(owner);
			if (unlink_symlink_beneath(rootfd, "etc", "resolv.conf") < 0 ||
			    write_beneath(rootfd, "etc/resolv.conf", content, len, 0644) < 0)
				rc = -1;
			jfs_owner_end(owner);
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
