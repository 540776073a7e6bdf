/*
 * iocell-escape-probe: the jail side of the jail-escape suite (tests/integration/
 * test_escape.py).  A static binary, copied into a jail and run there as root with
 *
 *     iocell exec JAIL /probe ATTEMPT [KEY=VALUE...]          one attempt: one line
 *     iocell exec JAIL /probe --batch A,B,C [KEY=VALUE...]    several: "NAME line" each
 *     /probe --list                                           the attempts, one a line
 *
 * Each attempt prints exactly one line, "RESULT detail", where RESULT is
 *
 *   BLOCKED        the kernel refused, for the reason the attempt is about (detail: the
 *                  errno name, or a word such as MASKED when a mask answered instead);
 *   ESCAPED        the wall did not hold (detail: what got through);
 *   ALLOWED        a sanity attempt for something a configuration permits worked;
 *   CHECKHOST      the attempt did its (harmless) thing and only the host can tell whether
 *                  it reached beyond the jail (the test compares the host before/after);
 *   NOTAPPLICABLE  this kernel has no such interface (detail: why);
 *   ERROR          the probe could not make the attempt as designed (a test bug).
 *
 * SAFETY.  Many attempts succeed on a privileged jail, so every payload is harmless when
 * it succeeds: capability checks are detected with arguments the kernel rejects right
 * after the check (an invalid reboot magic, an invalid tick for adjtimex, FIFREEZE on
 * procfs, which cannot freeze, TIOCCONS on a read-only tty...), sensitive files are only
 * opened for writing and never written, limits are rewritten with their current value,
 * and whatever gets mounted is unmounted again.  The runner forks every attempt and
 * compares the jail's mount table before and after it (an attempt must leave it as it
 * found it), so one attempt cannot disturb the next.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/fs.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SYSLOG_ACTION_READ_ALL
#define SYSLOG_ACTION_READ_ALL 3
#endif
#ifndef ETH_P_ALL
#define ETH_P_ALL 0x0003
#endif
#define CAP_SYS_MODULE_BIT 16
#define CAP_SYS_TIME_BIT 25
#define CAP_SYS_ADMIN_BIT 21

/* ---------------------------------------------------------------- arguments */

static const char *a_secret; /* host path of the planted secret file */
static long a_hostpid;       /* a host PID (the test runner's): invisible in a jail */
static const char *a_uuid;   /* the jail's UUID: its cgroup directories on the host */
static long a_shmkey = -1;   /* SysV shared memory key the host created */
static unsigned a_blk_major = 8, a_blk_minor; /* the host's disk (major:minor) */
static int a_fd = -1;                         /* a descriptor the caller may have leaked */
static const char *a_name;                    /* a file name (relative) for fd/cwd attempts */
static const char *a_path;                    /* a path for plant_setuid */
static const char *a_fsopts[16][2];           /* fsopts.TYPE=OPTS: the host's superblock options */
static int n_fsopts;

/* ---------------------------------------------------------------- output */

static bool printed;

static void res(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void res(const char *kind, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("%s %s\n", kind, buf);
	fflush(stdout);
	printed = true;
}

static const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static bool in(int e, const int *list)
{
	for (; *list; list++)
		if (*list == e)
			return true;
	return false;
}

#define L(...) ((const int[]){__VA_ARGS__, 0})

/* The usual answers of a refused privilege: EPERM (capability or seccomp), EACCES. */
static const int *const PRIV = L(EPERM, EACCES);
/* ... or EINVAL: the kernel refuses to separate or unmount mounts it locked when it copied
 * them into the jail's less privileged mount namespace (a user namespace's) */
static const int *const LOCKED = L(EPERM, EACCES, EINVAL);

/* A failure for the right reason is BLOCKED; any other errno means the probe did not
 * test what it meant to. */
static void blocked_or_error(int e, const int *ok, const char *what)
{
	if (in(e, ok))
		res("BLOCKED", "%s", en(e));
	else
		res("ERROR", "%s: unexpected %s", what, en(e));
}

/* A syscall called with arguments that fail right after its privilege check: success or
 * any error but the privilege ones means the check passed. */
static void reach(long rc, int e, const char *what, const int *na)
{
	if (rc >= 0)
		res("ESCAPED", "%s succeeded", what);
	else if (in(e, PRIV))
		res("BLOCKED", "%s", en(e));
	else if (na && in(e, na))
		res("NOTAPPLICABLE", "%s: %s (not in this kernel)", what, en(e));
	else
		res("ESCAPED", "%s passed the privilege check (%s on a harmless invalid argument)",
		    what, en(e));
}

/* ---------------------------------------------------------------- helpers */

static bool has_cap(int cap)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = {0x20080522, 0};
	struct {
		uint32_t eff, perm, inh;
	} d[2];
	if (syscall(SYS_capget, &hdr, d) < 0)
		return false;
	return (d[cap / 32].eff >> (cap % 32)) & 1;
}

static char tmpbuf[64];

static char *tmpdir_new(void)
{
	strcpy(tmpbuf, "/tmp/.iocell-probe-XXXXXX");
	if (mkdtemp(tmpbuf))
		return tmpbuf;
	strcpy(tmpbuf, "/var/tmp/.iocell-probe-XXXXXX");
	if (mkdtemp(tmpbuf))
		return tmpbuf;
	strcpy(tmpbuf, "/.iocell-probe-XXXXXX");
	return mkdtemp(tmpbuf);
}

static void tmpdir_del(const char *d)
{
	if (!d)
		return;
	while (umount2(d, MNT_DETACH) == 0)
		;
	rmdir(d);
}

static ssize_t read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	ssize_t k = read(fd, buf, n - 1);
	int e = errno;
	close(fd);
	if (k < 0) {
		errno = e;
		return -1;
	}
	buf[k] = '\0';
	return k;
}

static bool is_devnull(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static bool fs_in_kernel(const char *type)
{
	char buf[8192];
	if (read_file("/proc/filesystems", buf, sizeof(buf)) < 0)
		return true; /* cannot tell: try */
	char want[64];
	snprintf(want, sizeof(want), "\t%s\n", type);
	return strstr(buf, want) != NULL;
}

static const char *host_fsopts(const char *type)
{
	for (int i = 0; i < n_fsopts; i++)
		if (strcmp(a_fsopts[i][0], type) == 0)
			return a_fsopts[i][1];
	return "";
}

/* Open PATH for writing and close it again: nothing is ever written. */
static void open_for_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		blocked_or_error(errno, L(EROFS, EACCES, EPERM, ENOENT), path);
		return;
	}
	bool null = is_devnull(fd);
	close(fd);
	if (null)
		res("BLOCKED", "MASKED (%s is /dev/null)", path);
	else
		res("ESCAPED", "opened %s for writing", path);
}

/* ---------------------------------------------------------------- mounts */

/* Mount a file system of TYPE on a fresh directory; CHECK (relative to it) is then
 * opened for writing (never written) to show what the mount gives. */
static void mount_fs(const char *type, const char *src, unsigned long flags, const char *data,
		     const char *check)
{
	if (!fs_in_kernel(type)) {
		res("NOTAPPLICABLE", "the kernel has no %s", type);
		return;
	}
	char *d = tmpdir_new();
	if (!d) {
		res("ERROR", "cannot make a directory to mount on: %s", en(errno));
		return;
	}
	if (mount(src, d, type, flags, data && *data ? data : NULL) < 0) {
		int e = errno;
		tmpdir_del(d);
		blocked_or_error(e, PRIV, type);
		return;
	}
	char extra[512] = "";
	if (check) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", d, check);
		int fd = open(p, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0) {
			snprintf(extra, sizeof(extra), "; %s writable", check);
			close(fd);
		} else {
			snprintf(extra, sizeof(extra), "; %s: %s", check, en(errno));
		}
	}
	int n = 0;
	DIR *dir = opendir(d);
	if (dir) {
		while (readdir(dir))
			n++;
		closedir(dir);
	}
	tmpdir_del(d);
	res("ESCAPED", "mounted %s (%d entries)%s", type, n - 2, extra);
}

static void a_mount_tmpfs(void)
{
	char *d = tmpdir_new();
	if (!d) {
		res("ERROR", "cannot make a directory: %s", en(errno));
		return;
	}
	if (mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k") < 0) {
		int e = errno;
		tmpdir_del(d);
		blocked_or_error(e, PRIV, "tmpfs");
		return;
	}
	tmpdir_del(d);
	res("ALLOWED", "mounted a tmpfs");
}

static void a_mount_devtmpfs(void)
{
	if (!fs_in_kernel("devtmpfs")) {
		res("NOTAPPLICABLE", "the kernel has no devtmpfs");
		return;
	}
	char *d = tmpdir_new();
	if (!d) {
		res("ERROR", "cannot make a directory: %s", en(errno));
		return;
	}
	if (mount("devtmpfs", d, "devtmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		int e = errno;
		tmpdir_del(d);
		blocked_or_error(e, PRIV, "devtmpfs");
		return;
	}
	char blk[256] = "";
	int n = 0;
	DIR *dir = opendir(d);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		struct stat st;
		n++;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISBLK(st.st_mode) && strlen(blk) + strlen(de->d_name) + 2 < sizeof(blk))
			strcat(strcat(blk, " "), de->d_name);
	}
	if (dir)
		closedir(dir);
	tmpdir_del(d);
	res("ESCAPED", "mounted the host's devtmpfs (%d entries; block devices:%s)", n - 2, blk);
}

static void a_mount_proc_unmasked(void)
{
	mount_fs("proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "sys/kernel/core_pattern");
}

static void a_mount_sysfs_rw(void)
{
	mount_fs("sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, NULL);
}

/* cgroup v1: only the controller sets of hierarchies the host already has (from
 * /proc/cgroups), so the mount joins an existing hierarchy and never creates or rebinds
 * one. */
static void a_mount_cgroup_v1(void)
{
	FILE *f = fopen("/proc/cgroups", "re");
	if (!f) {
		res("ERROR", "cannot read /proc/cgroups: %s", en(errno));
		return;
	}
	char line[256], names[64][32];
	int hier[64], n = 0;
	while (fgets(line, sizeof(line), f) && n < 64) {
		int h, num, en_;
		if (line[0] == '#' || sscanf(line, "%31s %d %d %d", names[n], &h, &num, &en_) != 4)
			continue;
		if (h > 0 && en_)
			hier[n++] = h;
	}
	fclose(f);
	if (n == 0) {
		res("NOTAPPLICABLE", "the host has no cgroup v1 hierarchy with controllers");
		return;
	}
	/* prefer the hierarchy holding pids, else the first one */
	int pick = hier[0];
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], "pids") == 0)
			pick = hier[i];
	char data[512] = "";
	for (int i = 0; i < n; i++)
		if (hier[i] == pick && strlen(data) + strlen(names[i]) + 2 < sizeof(data)) {
			if (*data)
				strcat(data, ",");
			strcat(data, names[i]);
		}
	char check[64];
	snprintf(check, sizeof(check), "%s", strstr(data, "pids") ? "pids.max" : "cgroup.procs");
	mount_fs("cgroup", "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, data, check);
}

static void a_mount_cgroup2(void)
{
	mount_fs("cgroup2", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, host_fsopts("cgroup2"),
		 "cgroup.procs");
}

/* debugfs and tracefs apply the mount's options to their one superblock: the host's own
 * options (from its mount table) are passed so nothing changes for the host. */
static void a_mount_debugfs(void)
{
	mount_fs("debugfs", "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, host_fsopts("debugfs"),
		 NULL);
}

static void a_mount_tracefs(void)
{
	mount_fs("tracefs", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, host_fsopts("tracefs"),
		 NULL);
}

static void a_mount_securityfs(void)
{
	mount_fs("securityfs", "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, NULL);
}

static void a_mount_bpffs(void)
{
	mount_fs("bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, NULL);
}

static void a_mount_binfmt_misc(void)
{
	mount_fs("binfmt_misc", "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "register");
}

static void a_mount_bind_proc(void)
{
	char *d = tmpdir_new();
	if (!d) {
		res("ERROR", "cannot make a directory: %s", en(errno));
		return;
	}
	if (mount("/proc", d, NULL, MS_BIND, NULL) < 0) {
		int e = errno;
		tmpdir_del(d);
		blocked_or_error(e, LOCKED, "bind of /proc");
		return;
	}
	char p[128];
	snprintf(p, sizeof(p), "%s/sys/kernel/core_pattern", d);
	int fd = open(p, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	int e = errno;
	if (fd >= 0)
		close(fd);
	tmpdir_del(d);
	if (fd >= 0)
		res("ESCAPED", "bound /proc without its masks: core_pattern writable");
	else
		blocked_or_error(e, L(EROFS, EACCES, EPERM),
				 "core_pattern through a bind of /proc");
}

static void a_open_tree_proc(void)
{
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (t < 0) {
		blocked_or_error(errno, LOCKED, "open_tree");
		return;
	}
	int fd = openat(t, "sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	int e = errno;
	if (fd >= 0)
		close(fd);
	close(t);
	if (fd >= 0)
		res("ESCAPED", "open_tree cloned /proc without its masks: core_pattern writable");
	else
		blocked_or_error(e, L(EROFS, EACCES, EPERM), "core_pattern in an open_tree clone");
}

static void a_fsopen_proc(void)
{
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs < 0) {
		blocked_or_error(errno, PRIV, "fsopen");
		return;
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		close(fs);
		blocked_or_error(e, PRIV, "fsconfig create");
		return;
	}
	int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	int e = errno;
	close(fs);
	if (m < 0) {
		blocked_or_error(e, PRIV, "fsmount");
		return;
	}
	int fd = openat(m, "sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	e = errno;
	if (fd >= 0)
		close(fd);
	close(m);
	if (fd >= 0)
		res("ESCAPED", "fsmount made a fresh proc: core_pattern writable");
	else
		res("ESCAPED", "fsmount made a fresh proc (core_pattern: %s)", en(e));
}

#define REMOUNT_KEEP (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME)

static void remount_rw(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0) {
		res("NOTAPPLICABLE", "%s: %s", path, en(errno));
		return;
	}
	if (!(sv.f_flag & ST_RDONLY)) {
		res("ESCAPED", "%s is mounted read-write", path);
		return;
	}
	unsigned long keep = sv.f_flag & REMOUNT_KEEP;
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep, NULL) < 0) {
		blocked_or_error(errno, PRIV, path);
		return;
	}
	int r = mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
	res("ESCAPED", "remounted %s read-write%s", path, r < 0 ? " (and could not undo it)" : "");
}

static void a_remount_sys_rw(void) { remount_rw("/sys"); }

/* Remount the jail's root without nosuid/nodev/noexec (what a hardened root would be
 * mounted with); on a root with none of them, the same remount changes nothing but
 * still shows that the jail may remount its root.  Per-mount flags only (MS_BIND):
 * the superblock, shared with the host's mount of the dataset, is never touched. */
static void a_remount_root(void)
{
	struct statvfs sv;
	if (statvfs("/", &sv) < 0) {
		res("ERROR", "statvfs /: %s", en(errno));
		return;
	}
	unsigned long keep = sv.f_flag & (REMOUNT_KEEP | ST_RDONLY);
	unsigned long want = keep & ~(unsigned long)(ST_NOSUID | ST_NODEV | ST_NOEXEC);
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | want, NULL) < 0) {
		blocked_or_error(errno, PRIV, "remount /");
		return;
	}
	int r = want == keep ? 0 : mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | keep, NULL);
	res("ESCAPED", "remounted / %s%s",
	    want == keep ? "(it had no nosuid/nodev/noexec to drop)"
			 : "without nosuid/nodev/noexec",
	    r < 0 ? " (and could not undo it)" : "");
}
static void a_remount_procsys_rw(void) { remount_rw("/proc/sys"); }

static void a_mount_setattr_procsys(void)
{
	struct mount_attr clr = {.attr_clr = MOUNT_ATTR_RDONLY};
	if (syscall(SYS_mount_setattr, AT_FDCWD, "/proc/sys", 0, &clr, sizeof(clr)) < 0) {
		blocked_or_error(errno, PRIV, "mount_setattr");
		return;
	}
	struct mount_attr set = {.attr_set = MOUNT_ATTR_RDONLY};
	int r = (int)syscall(SYS_mount_setattr, AT_FDCWD, "/proc/sys", 0, &set, sizeof(set));
	res("ESCAPED", "mount_setattr cleared read-only on /proc/sys%s",
	    r < 0 ? " (and could not undo it)" : "");
}

/* The first file /proc mask (a bind of /dev/null under /proc) in our mount table. */
static bool find_proc_mask(char *out, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char root[512], mp[512];
		if (sscanf(line, "%*d %*d %*s %511s %511s", root, mp) == 2 &&
		    strcmp(root, "/null") == 0 && strncmp(mp, "/proc/", 6) == 0) {
			snprintf(out, n, "%s", mp);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void a_umount_proc_mask(void)
{
	char mp[512];
	if (!find_proc_mask(mp, sizeof(mp))) {
		res("NOTAPPLICABLE", "no masked file under /proc");
		return;
	}
	/* a detached copy of the mask, to put it back exactly as it was */
	int copy = (int)syscall(SYS_open_tree, AT_FDCWD, mp, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (umount2(mp, 0) < 0 && (errno != EBUSY || umount2(mp, MNT_DETACH) < 0)) {
		int e = errno;
		if (copy >= 0)
			close(copy);
		blocked_or_error(e, LOCKED, "umount");
		return;
	}
	struct stat st;
	bool gone = stat(mp, &st) == 0 && !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	int r = -1;
	if (copy >= 0)
		r = (int)syscall(SYS_move_mount, copy, "", AT_FDCWD, mp, MOVE_MOUNT_F_EMPTY_PATH);
	if (r < 0)
		r = mount("/dev/null", mp, NULL, MS_BIND, NULL);
	if (copy >= 0)
		close(copy);
	res("ESCAPED", "unmounted the mask on %s%s%s", mp, gone ? " (the real file showed)" : "",
	    r < 0 ? " (and could not put it back)" : "");
}

/* chroot into a subdirectory keeping a descriptor of the old root, climb out with
 * fchdir + "..", chroot there, and look for the host's secret file. */
static void a_chroot_breakout(void)
{
	if (!a_secret) {
		res("ERROR", "no secret= argument");
		return;
	}
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *d = tmpdir_new();
	if (root < 0 || !d) {
		res("ERROR", "cannot prepare: %s", en(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (chroot(d) < 0) {
			blocked_or_error(errno, PRIV, "chroot");
			_exit(0);
		}
		if (fchdir(root) < 0) {
			res("ERROR", "fchdir: %s", en(errno));
			_exit(0);
		}
		for (int i = 0; i < 256; i++)
			if (chdir("..") < 0)
				break;
		if (chroot(".") < 0) {
			blocked_or_error(errno, PRIV, "chroot .");
			_exit(0);
		}
		char buf[256];
		ssize_t k = read_file(a_secret, buf, sizeof(buf));
		if (k >= 0)
			res("ESCAPED", "read %s after the chroot: %s", a_secret, buf);
		else
			blocked_or_error(errno, L(ENOENT, EACCES), a_secret);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	rmdir(d);
	close(root);
}

static void a_pivot_root(void)
{
	long r = syscall(SYS_pivot_root, "/nonexistent-iocell-probe", "/nonexistent-iocell-probe");
	reach(r, errno, "pivot_root", NULL);
}

/* ---------------------------------------------------------------- /proc, /sys */

static void a_procsys_core_pattern(void) { open_for_write("/proc/sys/kernel/core_pattern"); }

static void a_procsys_usermode_helper(void)
{
	static const char *const cands[] = {"/proc/sys/kernel/modprobe",
					    "/proc/sys/kernel/poweroff_cmd", NULL};
	for (int i = 0; cands[i]; i++) {
		struct stat st;
		if (stat(cands[i], &st) == 0 || errno != ENOENT) {
			open_for_write(cands[i]);
			return;
		}
	}
	open_for_write(cands[0]);
}

static void a_proc_mtrr_write(void)
{
	int fd = open("/proc/mtrr", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EIO || errno == ENXIO)
			res("NOTAPPLICABLE", "no MTRR support (%s)", en(errno));
		else
			blocked_or_error(errno, L(EROFS, EACCES, EPERM, ENOENT), "/proc/mtrr");
		return;
	}
	if (is_devnull(fd)) {
		close(fd);
		res("BLOCKED", "MASKED");
		return;
	}
	/* An invalid line: the kernel answers EINVAL after its CAP_SYS_ADMIN check. */
	static const char line[] = "iocell-probe-invalid\n";
	ssize_t w = write(fd, line, sizeof(line) - 1);
	int e = errno;
	close(fd);
	reach(w, e, "write to /proc/mtrr", NULL);
}

static void a_sysrq_trigger(void) { open_for_write("/proc/sysrq-trigger"); }

static bool find_readable(const char *dir, int depth, char *out, size_t n, int *lasterr)
{
	DIR *d = opendir(dir);
	if (!d) {
		*lasterr = errno;
		return false;
	}
	struct dirent *de;
	bool ok = false;
	while (!ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			ok = find_readable(p, depth - 1, out, n, lasterr);
		} else if (S_ISREG(st.st_mode)) {
			char buf[64];
			if (read_file(p, buf, sizeof(buf)) >= 0) {
				snprintf(out, n, "%s", p);
				ok = true;
			} else {
				*lasterr = errno;
			}
		}
	}
	closedir(d);
	return ok;
}

static void a_sys_firmware_read(void)
{
	char p[1024];
	int err = ENOENT;
	if (find_readable("/sys/firmware", 4, p, sizeof(p), &err))
		res("ESCAPED", "read %s", p);
	else
		blocked_or_error(err, L(ENOENT, EACCES, EPERM), "/sys/firmware");
}

static void a_sys_kernel_write(void)
{
	static const char *const cands[] = {
		"/sys/kernel/uevent_helper", "/sys/kernel/mm/transparent_hugepage/enabled",
		"/sys/kernel/mm/ksm/run",    "/sys/kernel/rcu_expedited",
		"/sys/kernel/profiling",     NULL};
	for (int i = 0; cands[i]; i++) {
		struct stat st;
		if (stat(cands[i], &st) == 0) {
			open_for_write(cands[i]);
			return;
		}
	}
	struct stat st;
	if (stat("/sys/kernel", &st) < 0)
		blocked_or_error(errno, L(ENOENT, EACCES), "/sys/kernel");
	else
		res("NOTAPPLICABLE", "none of the writable /sys/kernel files exists here");
}

/* Mounts at or below /sys that are read-write (e.g. the host's cgroup or fusectl
 * mounts carried in by a recursive bind of the host's /sys). */
static void a_sys_submounts_rw(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		res("ERROR", "cannot read mountinfo: %s", en(errno));
		return;
	}
	char line[1024], rw[512] = "";
	int nsys = 0, nrw = 0;
	while (fgets(line, sizeof(line), f)) {
		char mp[512], opts[256];
		if (sscanf(line, "%*d %*d %*s %*s %511s %255s", mp, opts) != 2)
			continue;
		if (strcmp(mp, "/sys") != 0 && strncmp(mp, "/sys/", 5) != 0)
			continue;
		nsys++;
		if (strncmp(opts, "rw", 2) == 0 && (opts[2] == ',' || !opts[2])) {
			nrw++;
			if (strlen(rw) + strlen(mp) + 2 < sizeof(rw))
				strcat(strcat(rw, " "), mp);
		}
	}
	fclose(f);
	if (nsys == 0)
		res("NOTAPPLICABLE", "no /sys in the jail");
	else if (nrw)
		res("ESCAPED", "%d read-write mounts under /sys:%s", nrw, rw);
	else
		res("BLOCKED", "EROFS (all %d mounts under /sys read-only)", nsys);
}

static void a_proc_kallsyms_read(void)
{
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		blocked_or_error(errno, L(ENOENT, EACCES, EPERM), "/proc/kallsyms");
		return;
	}
	if (is_devnull(fd)) {
		close(fd);
		res("BLOCKED", "MASKED");
		return;
	}
	char buf[256];
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k > 0)
		res("ESCAPED", "read %zd bytes of /proc/kallsyms", k);
	else
		res("BLOCKED", "EMPTY");
}

static void a_proc_kmsg_open(void)
{
	/* opened, never read: reading /proc/kmsg consumes the host's log */
	int fd = open("/proc/kmsg", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		blocked_or_error(errno, L(ENOENT, EACCES, EPERM), "/proc/kmsg");
		return;
	}
	bool null = is_devnull(fd);
	close(fd);
	if (null)
		res("BLOCKED", "MASKED");
	else
		res("ESCAPED", "opened the host's /proc/kmsg");
}

static void a_dev_kmsg_read(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		blocked_or_error(errno, L(ENOENT, EACCES, EPERM), "/dev/kmsg");
		return;
	}
	char buf[512];
	ssize_t k = read(fd, buf, sizeof(buf));
	close(fd);
	res("ESCAPED", "opened /dev/kmsg (read: %zd)", k);
}

static void a_syslog_read(void)
{
	static char buf[4096];
	int k = klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof(buf));
	if (k < 0)
		blocked_or_error(errno, PRIV, "syslog");
	else
		res("ESCAPED", "syslog(2) read %d bytes of the host's kernel log", k);
}

static void a_binfmt_misc_register(void) { open_for_write("/proc/sys/fs/binfmt_misc/register"); }
static void a_net_sysctl_write(void) { open_for_write("/proc/sys/net/ipv4/ip_forward"); }

/* ---------------------------------------------------------------- kernel interfaces */

static const int *const NOSYS = L(ENOSYS);

static void a_init_module(void)
{
	long r = syscall(SYS_init_module, NULL, 0UL, "");
	reach(r, errno, "init_module", NOSYS);
}

static void a_finit_module(void)
{
	long r = syscall(SYS_finit_module, -1, "", 0);
	reach(r, errno, "finit_module", NOSYS);
}

static void a_delete_module(void)
{
	long r = syscall(SYS_delete_module, "iocell_probe_no_such_module", O_NONBLOCK);
	reach(r, errno, "delete_module", NOSYS);
}

static void a_kexec_load(void)
{
	/* 1000 segments (> KEXEC_SEGMENT_MAX) and an unknown architecture: EINVAL right
	 * after the CAP_SYS_BOOT check.  Never 0 segments: that unloads the crash kernel. */
	long r = syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0xffff0000UL);
	reach(r, errno, "kexec_load", NOSYS);
}

static void a_kexec_file_load(void)
{
#ifdef SYS_kexec_file_load
	long r = syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0x80000000UL);
	reach(r, errno, "kexec_file_load", L(ENOSYS, EBADF));
#else
	res("NOTAPPLICABLE", "no kexec_file_load on this architecture");
#endif
}

static void a_reboot(void)
{
	/* bad magic: EINVAL after the CAP_SYS_BOOT check */
	long r = syscall(SYS_reboot, 0xdeadbeefUL, 0x1badd00dUL, 0UL, NULL);
	reach(r, errno, "reboot", NULL);
}

static void a_swapon(void)
{
	long r = syscall(SYS_swapon, "/nonexistent-iocell-probe", 0);
	reach(r, errno, "swapon", NOSYS);
}

static void a_swapoff(void)
{
	long r = syscall(SYS_swapoff, "/nonexistent-iocell-probe");
	reach(r, errno, "swapoff", NOSYS);
}

static void a_iopl(void)
{
#ifdef SYS_iopl
	long r = syscall(SYS_iopl, 3);
	int e = errno;
	if (r == 0) {
		syscall(SYS_iopl, 0);
		res("ESCAPED", "iopl(3) granted I/O port access");
		return;
	}
	reach(r, e, "iopl", NOSYS);
#else
	res("NOTAPPLICABLE", "no iopl on this architecture");
#endif
}

static void a_ioperm(void)
{
#ifdef SYS_ioperm
	long r = syscall(SYS_ioperm, 0x80UL, 1UL, 1);
	int e = errno;
	if (r == 0) {
		syscall(SYS_ioperm, 0x80UL, 1UL, 0);
		res("ESCAPED", "ioperm granted port 0x80 (never used, revoked)");
		return;
	}
	reach(r, e, "ioperm", NOSYS);
#else
	res("NOTAPPLICABLE", "no ioperm on this architecture");
#endif
}

static void a_acct(void)
{
	/* never acct(NULL): that would switch the host's accounting off */
	long r = syscall(SYS_acct, "/nonexistent-iocell-probe");
	reach(r, errno, "acct", NOSYS);
}

static void a_quotactl(void)
{
	/* Q_SYNC of every file system (harmless, like sync): refused by the filter, or
	 * reaching the kernel with CAP_SYS_ADMIN, which quota on/off/limits need. */
	long r = syscall(SYS_quotactl, QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL);
	int e = errno;
	if (r < 0 && in(e, PRIV))
		res("BLOCKED", "%s", en(e));
	else if (r < 0 && e == ENOSYS)
		res("NOTAPPLICABLE", "no quota support in this kernel");
	else if (has_cap(CAP_SYS_ADMIN_BIT))
		res("ESCAPED", "quotactl reached the kernel with CAP_SYS_ADMIN (%s)",
		    r < 0 ? en(e) : "ok");
	else
		res("BLOCKED", "NOCAP (quotactl reached the kernel, without CAP_SYS_ADMIN)");
}

/* The clock setters validate their argument before the capability check: an invalid
 * value is refused either way, so without the filter the answer comes from our own
 * capability set (CAP_SYS_TIME is what they would need). */
static void clock_verdict(long r, int e, const char *what)
{
	if (r == 0)
		res("ESCAPED", "%s succeeded", what);
	else if (in(e, PRIV))
		res("BLOCKED", "%s", en(e));
	else if (e == EINVAL && has_cap(CAP_SYS_TIME_BIT))
		res("ESCAPED", "%s reached the kernel with CAP_SYS_TIME", what);
	else if (e == EINVAL)
		res("BLOCKED", "NOCAP (%s reached the kernel, without CAP_SYS_TIME)", what);
	else
		res("ERROR", "%s: unexpected %s", what, en(e));
}

static void a_settimeofday(void)
{
	/* now, with an invalid usec: even a kernel that took it would not move the clock */
	struct timeval tv = {.tv_sec = time(NULL), .tv_usec = 2000000};
	long r = syscall(SYS_settimeofday, &tv, NULL);
	clock_verdict(r, errno, "settimeofday");
}

static void a_clock_settime(void)
{
	struct timespec ts = {.tv_sec = time(NULL), .tv_nsec = 2000000000L}; /* invalid nsec */
	long r = syscall(SYS_clock_settime, CLOCK_REALTIME, &ts);
	clock_verdict(r, errno, "clock_settime");
}

static void a_adjtimex(void)
{
	/* modes != 0 needs CAP_SYS_TIME; then tick=1 is out of range: EINVAL */
	struct timex t = {.modes = ADJ_TICK, .tick = 1};
	long r = syscall(SYS_adjtimex, &t);
	reach(r, errno, "adjtimex(ADJ_TICK)", NULL);
}

static void a_clock_adjtime(void)
{
	struct timex t = {.modes = ADJ_TICK, .tick = 1};
	long r = syscall(SYS_clock_adjtime, CLOCK_REALTIME, &t);
	reach(r, errno, "clock_adjtime(ADJ_TICK)", NULL);
}

static void a_bpf_map_create(void)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	reach(fd, e, "bpf(BPF_MAP_CREATE)", NOSYS);
}

static void a_perf_event_open(void)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.disabled = 1;
	long fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0UL); /* system-wide, CPU 0 */
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	reach(fd, e, "perf_event_open (system-wide)", L(ENOSYS, ENOENT, ENODEV));
}

static void a_userfaultfd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	reach(fd, e, "userfaultfd", NOSYS);
}

static void a_keyctl_user_keyring(void)
{
	long r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	reach(r, errno, "keyctl on the user keyring of uid 0", NOSYS);
}

static void a_add_key(void)
{
	long r = syscall(SYS_add_key, "iocell_probe_no_such_type", "iocell-probe", "x", 1UL,
			 KEY_SPEC_PROCESS_KEYRING);
	reach(r, errno, "add_key", NOSYS);
}

static void a_request_key(void)
{
	/* no callout argument: the kernel never runs /sbin/request-key */
	long r = syscall(SYS_request_key, "user", "iocell-probe-no-such-key", NULL, 0);
	reach(r, errno, "request_key", NOSYS);
}

static void a_personality(void)
{
	long old = syscall(SYS_personality, 0x0040000UL /* ADDR_NO_RANDOMIZE */);
	int e = errno;
	if (old == -1) {
		blocked_or_error(e, PRIV, "personality");
		return;
	}
	syscall(SYS_personality, (unsigned long)old);
	res("ESCAPED", "personality(ADDR_NO_RANDOMIZE) accepted");
}

static void a_open_by_handle_at(void)
{
	struct {
		struct file_handle h;
		unsigned char b[8];
	} fh;
	memset(&fh, 0, sizeof(fh));
	fh.h.handle_bytes = 8;
	fh.h.handle_type = 1; /* FILEID_INO32_GEN: inode 2, generation 0 */
	fh.b[0] = 2;
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long fd = syscall(SYS_open_by_handle_at, root, &fh.h, O_RDONLY | O_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	close(root);
	reach(fd, e, "open_by_handle_at", NOSYS);
}

static void a_name_to_handle_at(void)
{
	struct {
		struct file_handle h;
		unsigned char b[128];
	} fh;
	memset(&fh, 0, sizeof(fh));
	fh.h.handle_bytes = 128;
	int mnt;
	long r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mnt, 0);
	reach(r, errno, "name_to_handle_at", NOSYS);
}

static void a_fanotify_init(void)
{
	int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
	int e = errno;
	if (fd >= 0)
		close(fd);
	reach(fd, e, "fanotify_init", NOSYS);
}

static void a_io_uring_setup(void)
{
	/* a ring of one entry: harmless, closed at once if it is made */
	uint32_t params[30] = {0}; /* struct io_uring_params (120 bytes) */
	long fd = syscall(SYS_io_uring_setup, 1, params);
	int e = errno;
	if (fd >= 0)
		close((int)fd);
	reach(fd, e, "io_uring_setup", L(ENOSYS));
}

static void a_vsock_socket(void)
{
	/* the host's (hypervisor's) services over AF_VSOCK (40); never connected */
	int fd = socket(40, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int e = errno;
	if (fd >= 0)
		close(fd);
	reach(fd, e, "socket(AF_VSOCK)", L(EAFNOSUPPORT));
}

/* ---------------------------------------------------------------- processes */

static void a_ptrace_init(void)
{
	long r = ptrace(PTRACE_SEIZE, 1, NULL, NULL);
	int e = errno;
	if (r == 0) {
		res("ESCAPED", "PTRACE_SEIZE of the jail's init (detached when we exit)");
		return;
	}
	blocked_or_error(e, PRIV, "ptrace");
}

static void a_process_vm_readv_init(void)
{
	char buf[8];
	struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
	ssize_t k = process_vm_readv(1, &l, 1, &r, 1, 0);
	int e = errno;
	if (k >= 0 || e == EFAULT)
		res("ESCAPED", "process_vm_readv of the jail's init passed the access check (%s)",
		    k >= 0 ? "read" : en(e));
	else
		blocked_or_error(e, PRIV, "process_vm_readv");
}

static void a_proc_init_exe(void)
{
	int fd = open("/proc/1/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		blocked_or_error(errno, L(EACCES, EPERM, ENOENT), "/proc/1/exe");
		return;
	}
	close(fd);
	res("ESCAPED", "opened the jail init's executable (a host file) through /proc/1/exe");
}

static void a_proc_init_fd(void)
{
	int last = ENOENT;
	for (int n = 3; n <= 9; n++) {
		char p[64], t[256] = "?";
		snprintf(p, sizeof(p), "/proc/1/fd/%d", n);
		int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0) {
			ssize_t k = readlink(p, t, sizeof(t) - 1);
			t[k > 0 ? k : 0] = '\0';
			close(fd);
			res("ESCAPED", "opened the jail init's fd %d (%s) for writing", n, t);
			return;
		}
		if (errno != ENOENT)
			last = errno;
	}
	blocked_or_error(last, L(EACCES, EPERM, ENOENT, ENXIO), "/proc/1/fd");
}

static void a_proc_host_pid(void)
{
	if (a_hostpid <= 0 || !a_secret) {
		res("ERROR", "no hostpid= or secret= argument");
		return;
	}
	char p[1024], buf[256];
	snprintf(p, sizeof(p), "/proc/%ld/root%s", a_hostpid, a_secret);
	if (read_file(p, buf, sizeof(buf)) >= 0) {
		res("ESCAPED", "read %s: %s", p, buf);
		return;
	}
	int e = errno;
	snprintf(p, sizeof(p), "/proc/%ld/ns/mnt", a_hostpid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char mine[64] = "", theirs[64] = "";
		readlink("/proc/self/ns/mnt", mine, sizeof(mine) - 1);
		readlink(p, theirs, sizeof(theirs) - 1);
		close(fd);
		if (strcmp(mine, theirs) != 0) {
			res("ESCAPED", "opened the mount namespace of host PID %ld", a_hostpid);
			return;
		}
	}
	blocked_or_error(e, L(ENOENT, EACCES, EPERM), "/proc/HOSTPID");
}

static void a_kill_host_pid(void)
{
	if (a_hostpid <= 0) {
		res("ERROR", "no hostpid= argument");
		return;
	}
	if (kill((pid_t)a_hostpid, 0) < 0) {
		blocked_or_error(errno, L(ESRCH, EPERM), "kill");
		return;
	}
	char p[64];
	snprintf(p, sizeof(p), "/proc/%ld", a_hostpid);
	struct stat st;
	if (stat(p, &st) == 0)
		res("NOTAPPLICABLE", "a jail process has the same number as host PID %ld",
		    a_hostpid);
	else
		res("ESCAPED", "kill(%ld, 0) reached a host process", a_hostpid);
}

static const int *const NSERR = L(EPERM, EACCES, ENOSPC, EUSERS);

static void a_unshare_userns(void)
{
	if (unshare(CLONE_NEWUSER) < 0)
		blocked_or_error(errno, NSERR, "unshare(CLONE_NEWUSER)");
	else
		res("ESCAPED", "unshare(CLONE_NEWUSER) with children_max=0");
}

static void a_unshare_mntns(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		blocked_or_error(errno, NSERR, "unshare(CLONE_NEWNS)");
	else
		res("ESCAPED", "unshare(CLONE_NEWNS) with children_max=0");
}

static void a_clone_newpid(void)
{
	fflush(stdout);
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWPID | SIGCHLD), 0UL, NULL, NULL,
			   0UL);
	if (pid == 0)
		syscall(SYS_exit_group, 0);
	if (pid < 0) {
		blocked_or_error(errno, NSERR, "clone(CLONE_NEWPID)");
		return;
	}
	waitpid((pid_t)pid, NULL, 0);
	res("ESCAPED", "clone(CLONE_NEWPID) with children_max=0");
}

static void a_clone3_newuser(void)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	fflush(stdout);
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		syscall(SYS_exit_group, 0);
	if (pid < 0) {
		/* the filter answers ENOSYS on purpose: libc then falls back to clone(2) */
		blocked_or_error(errno, L(EPERM, EACCES, ENOSPC, EUSERS, ENOSYS), "clone3");
		return;
	}
	waitpid((pid_t)pid, NULL, 0);
	res("ESCAPED", "clone3(CLONE_NEWUSER) with children_max=0");
}

static void a_capset_raise(void)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = {0x20080522, 0};
	struct {
		uint32_t eff, perm, inh;
	} d[2];
	if (syscall(SYS_capget, &hdr, d) < 0) {
		res("ERROR", "capget: %s", en(errno));
		return;
	}
	d[0].eff |= 1u << CAP_SYS_MODULE_BIT;
	d[0].perm |= 1u << CAP_SYS_MODULE_BIT;
	if (syscall(SYS_capset, &hdr, d) < 0)
		blocked_or_error(errno, PRIV, "capset");
	else
		res("ESCAPED", "capset raised CAP_SYS_MODULE");
}

static void a_ioprio_rt(void)
{
	long r = syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (1 << 13) | 4);
	if (r < 0)
		blocked_or_error(errno, PRIV, "ioprio_set");
	else
		res("ESCAPED", "real-time I/O priority granted");
}

static void a_sched_fifo(void)
{
	struct sched_param sp = {.sched_priority = 1};
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		blocked_or_error(errno, PRIV, "sched_setscheduler");
	else
		res("ESCAPED", "SCHED_FIFO granted");
}

static void a_nice_negative(void)
{
	if (setpriority(PRIO_PROCESS, 0, -10) < 0)
		blocked_or_error(errno, PRIV, "setpriority");
	else
		res("ESCAPED", "nice -10 granted");
}

/* ---------------------------------------------------------------- devices, terminals */

static void a_mknod_block(void)
{
	char *d = tmpdir_new();
	if (!d) {
		res("ERROR", "cannot make a directory: %s", en(errno));
		return;
	}
	char p[128];
	snprintf(p, sizeof(p), "%s/blk", d);
	if (mknod(p, S_IFBLK | 0600, makedev(a_blk_major, a_blk_minor)) < 0) {
		int e = errno;
		rmdir(d);
		blocked_or_error(e, PRIV, "mknod");
		return;
	}
	char buf[512];
	ssize_t k = read_file(p, buf, sizeof(buf));
	unlink(p);
	rmdir(d);
	res("ESCAPED", "made a node for the host disk %u:%u (read: %zd)", a_blk_major, a_blk_minor,
	    k);
}

static void a_mknod_char_mem(void)
{
	char *d = tmpdir_new();
	if (!d) {
		res("ERROR", "cannot make a directory: %s", en(errno));
		return;
	}
	char p[128];
	snprintf(p, sizeof(p), "%s/mem", d);
	if (mknod(p, S_IFCHR | 0600, makedev(1, 1)) < 0) {
		int e = errno;
		rmdir(d);
		blocked_or_error(e, PRIV, "mknod");
		return;
	}
	unlink(p);
	rmdir(d);
	res("ESCAPED", "made a /dev/mem node (1:1)");
}

#define PLANTED_BLK "/var/tmp/.iocell-probe-blk"
#define PLANTED_KMSG "/var/tmp/.iocell-probe-kmsg"

static void a_planted_blockdev_read(void)
{
	int fd = open(PLANTED_BLK, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			res("ERROR", "%s was not planted", PLANTED_BLK);
		else if (errno == ENXIO || errno == ENODEV)
			res("NOTAPPLICABLE", "no such block device on this host (%s)", en(errno));
		else
			blocked_or_error(errno, PRIV, PLANTED_BLK);
		return;
	}
	char buf[512];
	ssize_t k = read(fd, buf, sizeof(buf));
	close(fd);
	res("ESCAPED", "read %zd bytes of the host's disk through a planted device node", k);
}

static void a_planted_kmsg_open(void)
{
	/* opened for writing and closed: nothing is written to the host's log */
	int fd = open(PLANTED_KMSG, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			res("ERROR", "%s was not planted", PLANTED_KMSG);
		else
			blocked_or_error(errno, PRIV, PLANTED_KMSG);
		return;
	}
	close(fd);
	res("ESCAPED", "opened a planted /dev/kmsg node (the host's kernel log) for writing");
}

#define PLANTED_DEVNODE "/dev/.iocell-probe-kmsg"

/* A /dev/kmsg node the host planted in the jail's own /dev (a tmpfs without nodev, as
 * the device nodes there must work): only the device allow-list stops it. */
static void a_devfs_planted_node(void)
{
	int fd = open(PLANTED_DEVNODE, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			res("ERROR", "%s was not planted", PLANTED_DEVNODE);
		else
			blocked_or_error(errno, PRIV, PLANTED_DEVNODE);
		return;
	}
	close(fd);
	res("ESCAPED", "opened a /dev/kmsg node in the jail's /dev for writing (no allow-list)");
}

/* Device nodes in /dev beyond the minimal set (null zero full random urandom tty, ptmx,
 * the devpts instance, /dev/console bound to /dev/null). */
static bool dev_allowed(dev_t r, bool in_pts)
{
	unsigned ma = major(r), mi = minor(r);
	if (ma == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9))
		return true;
	if (ma == 5 && (mi == 0 || mi == 2))
		return true;
	return in_pts && ma >= 136 && ma <= 143;
}

static void scan_dev(const char *dir, bool in_pts, char *extra, size_t n, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) &&
		    !dev_allowed(st.st_rdev, in_pts)) {
			(*count)++;
			char one[128];
			snprintf(one, sizeof(one), " %.20s/%.60s(%u:%u)", dir, de->d_name,
				 major(st.st_rdev), minor(st.st_rdev));
			if (strlen(extra) + strlen(one) + 1 < n)
				strcat(extra, one);
		}
	}
	if (d)
		closedir(d);
}

static void a_dev_minimal(void)
{
	char extra[768] = "";
	int n = 0;
	scan_dev("/dev", false, extra, sizeof(extra), &n);
	scan_dev("/dev/pts", true, extra, sizeof(extra), &n);
	if (n)
		res("ESCAPED", "%d device nodes beyond the minimal set:%s", n, extra);
	else
		res("BLOCKED", "MINIMAL");
}

static int open_pty(int *slave, int slave_flags)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	char name[128];
	if (unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		close(m);
		return -1;
	}
	*slave = open(name, slave_flags | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0) {
		close(m);
		return -1;
	}
	return m;
}

static void a_tiocsti_own_pty(void)
{
	int s, m = open_pty(&s, O_RDWR);
	if (m < 0) {
		res("ERROR", "cannot open a pseudo-terminal: %s", en(errno));
		return;
	}
	char c = 'x';
	int r = ioctl(s, TIOCSTI, &c);
	int e = errno;
	close(s);
	close(m);
	if (r == 0)
		res("ESCAPED", "TIOCSTI accepted (it types into any terminal the jail holds)");
	else
		blocked_or_error(e, L(EPERM, EACCES, EIO), "TIOCSTI");
}

static void a_tioccons(void)
{
	/* The slave opened read-only: with CAP_SYS_ADMIN the kernel gets past its check and
	 * answers EBADF (a console needs a writable tty), so the console never moves.  That
	 * check came with Linux 5.11; older kernels would take the read-only tty. */
	struct utsname u;
	int maj = 0, min = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &maj, &min) != 2 ||
	    maj * 1000 + min < 5011) {
		res("NOTAPPLICABLE", "TIOCCONS cannot be tried harmlessly before Linux 5.11");
		return;
	}
	int s, m = open_pty(&s, O_RDONLY);
	if (m < 0) {
		res("ERROR", "cannot open a pseudo-terminal: %s", en(errno));
		return;
	}
	int r = ioctl(s, TIOCCONS);
	int e = errno;
	close(m); /* (a hang-up of the pty would end a redirection, were there one) */
	close(s);
	reach(r, e, "TIOCCONS", NULL);
}

static void a_fifreeze(void)
{
	/* on procfs, which cannot freeze: EOPNOTSUPP right after the CAP_SYS_ADMIN check */
	int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		res("ERROR", "cannot open /proc: %s", en(errno));
		return;
	}
	int r = ioctl(fd, FIFREEZE, 0);
	int e = errno;
	if (r == 0)
		ioctl(fd, FITHAW, 0);
	close(fd);
	reach(r, e, "FIFREEZE", NULL);
}

/* ---------------------------------------------------------------- network, IPC, UTS, cgroups */

static void a_raw_socket_icmp(void)
{
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (s < 0) {
		blocked_or_error(errno, PRIV, "socket(SOCK_RAW)");
		return;
	}
	close(s);
	res("ESCAPED", "opened a raw ICMP socket");
}

static void a_packet_socket(void)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s < 0) {
		if (errno == EAFNOSUPPORT)
			res("NOTAPPLICABLE", "no AF_PACKET in this kernel");
		else
			blocked_or_error(errno, PRIV, "socket(AF_PACKET)");
		return;
	}
	close(s);
	res("ESCAPED", "opened a packet socket");
}

static void a_net_admin_ifflags(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		res("ERROR", "cannot read the flags of lo: %s", en(errno));
		if (s >= 0)
			close(s);
		return;
	}
	/* the flags it already has: no change even if allowed */
	int r = ioctl(s, SIOCSIFFLAGS, &ifr);
	int e = errno;
	close(s);
	if (r < 0)
		blocked_or_error(e, PRIV, "SIOCSIFFLAGS");
	else
		res("ESCAPED", "SIOCSIFFLAGS on lo accepted (CAP_NET_ADMIN)");
}

static void a_sethostname(void)
{
	char old[HOST_NAME_MAX + 1] = "";
	gethostname(old, sizeof(old));
	static const char nm[] = "iocell-escape-probe";
	if (sethostname(nm, sizeof(nm) - 1) < 0) {
		blocked_or_error(errno, PRIV, "sethostname");
		return;
	}
	sethostname(old, strlen(old));
	res("CHECKHOST", "sethostname worked (the jail's own UTS namespace?)");
}

static void a_setdomainname(void)
{
	struct utsname u;
	uname(&u);
	static const char nm[] = "iocell-escape-probe";
	if (setdomainname(nm, sizeof(nm) - 1) < 0) {
		blocked_or_error(errno, PRIV, "setdomainname");
		return;
	}
	setdomainname(u.domainname, strlen(u.domainname));
	res("CHECKHOST", "setdomainname worked (the jail's own UTS namespace?)");
}

static void a_sysvipc_host_shm(void)
{
	if (a_shmkey < 0) {
		res("ERROR", "no shmkey= argument");
		return;
	}
	int id = shmget((key_t)a_shmkey, 0, 0);
	if (id < 0) {
		blocked_or_error(errno, L(ENOENT, EACCES, EPERM), "shmget");
		return;
	}
	char *p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		blocked_or_error(errno, L(EACCES, EPERM), "shmat");
		return;
	}
	char buf[65];
	memcpy(buf, p, 64);
	buf[64] = '\0';
	shmdt(p);
	res("ESCAPED", "read the host's shared memory segment: %s", buf);
}

/* The v1 hierarchy roots (and the v2 root) visible at /sys/fs/cgroup. */
static int cgroup_roots(char roots[][256], int max)
{
	int n = 0;
	struct stat st;
	if (stat("/sys/fs/cgroup/cgroup.procs", &st) == 0)
		snprintf(roots[n++], 256, "/sys/fs/cgroup");
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	while (d && (de = readdir(d)) && n < max) {
		char p[512];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/cgroup.procs", de->d_name);
		if (stat(p, &st) == 0)
			snprintf(roots[n++], 256, "/sys/fs/cgroup/%.200s", de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static void cgroup_open_each(const char *file)
{
	char roots[32][256];
	int n = cgroup_roots(roots, 32);
	int last = ENOENT;
	for (int i = 0; i < n; i++) {
		char p[512];
		snprintf(p, sizeof(p), "%.256s/%.200s", roots[i], file);
		int fd = open(p, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			close(fd);
			res("ESCAPED", "opened the host's %s for writing", p);
			return;
		}
		if (errno != ENOENT)
			last = errno;
	}
	blocked_or_error(last, L(ENOENT, EROFS, EACCES, EPERM), file);
}

static void a_cgroup_release_agent(void) { cgroup_open_each("release_agent"); }
static void a_cgroup_host_procs(void) { cgroup_open_each("cgroup.procs"); }

static void a_cgroup_own_limit(void)
{
	if (!a_uuid) {
		res("ERROR", "no uuid= argument");
		return;
	}
	const char *fmts[] = {"/sys/fs/cgroup/pids/iocell/%s/pids.max",
			      "/sys/fs/cgroup/iocell/%s/pids.max",
			      "/sys/fs/cgroup/memory/iocell/%s/memory.limit_in_bytes",
			      "/sys/fs/cgroup/iocell/%s/memory.max", NULL};
	for (int i = 0; fmts[i]; i++) {
		char p[512], cur[64];
		snprintf(p, sizeof(p), fmts[i], a_uuid);
		ssize_t k = read_file(p, cur, sizeof(cur));
		if (k < 0)
			continue;
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			blocked_or_error(errno, L(EROFS, EACCES, EPERM), p);
			return;
		}
		/* the value it already has: the jail's limit stays as it is */
		ssize_t w = write(fd, cur, (size_t)k);
		int e = errno;
		close(fd);
		res("ESCAPED", "opened its own %s for writing (rewrite of \"%.*s\": %s)", p,
		    (int)(k && cur[k - 1] == '\n' ? k - 1 : k), cur, w >= 0 ? "ok" : en(e));
		return;
	}
	res("BLOCKED", "ENOENT (the jail's cgroup files are not visible)");
}

/* ---------------------------------------------------------------- host-driven helpers */

/* Descriptors beyond 0-2 that the caller of iocell exec handed to the jail. */
static void a_list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		res("ERROR", "cannot list /proc/self/fd: %s", en(errno));
		return;
	}
	char extra[768] = "";
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		char p[64], t[256];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		ssize_t k = readlink(p, t, sizeof(t) - 1);
		t[k > 0 ? k : 0] = '\0';
		n++;
		char one[300];
		snprintf(one, sizeof(one), " %d->%s", fd, t);
		if (strlen(extra) + strlen(one) + 1 < sizeof(extra))
			strcat(extra, one);
	}
	closedir(d);
	if (n)
		res("ESCAPED", "%d descriptors of the caller:%s", n, extra);
	else
		res("BLOCKED", "EBADF (no descriptor beyond 0-2)");
}

static void a_fd_read(void)
{
	if (a_fd < 0 || !a_name) {
		res("ERROR", "no fd= or name= argument");
		return;
	}
	if (fcntl(a_fd, F_GETFD) < 0) {
		blocked_or_error(errno, L(EBADF), "fd");
		return;
	}
	int fd = openat(a_fd, a_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char buf[256];
	ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (k >= 0) {
		buf[k] = '\0';
		res("ESCAPED", "read %s through the caller's fd %d: %s", a_name, a_fd, buf);
	} else {
		res("ESCAPED", "the caller's fd %d is open in the jail (openat: %s)", a_fd, en(e));
	}
}

static void a_setns_fd(void)
{
	if (a_fd < 0) {
		res("ERROR", "no fd= argument");
		return;
	}
	if (syscall(SYS_setns, a_fd, 0) < 0)
		blocked_or_error(errno, L(EBADF, EPERM, EACCES), "setns");
	else
		res("ESCAPED", "setns into the namespace of the caller's fd %d", a_fd);
}

static void a_cwd_read(void)
{
	if (!a_name) {
		res("ERROR", "no name= argument");
		return;
	}
	char cwd[512] = "?", buf[256];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "(unreachable: %s)", en(errno));
	if (read_file(a_name, buf, sizeof(buf)) >= 0)
		res("ESCAPED", "read %s in the inherited working directory %s: %s", a_name, cwd,
		    buf);
	else
		blocked_or_error(errno, L(ENOENT, EACCES), a_name);
}

static void a_env(void)
{
	extern char **environ;
	char all[900] = "";
	for (char **e = environ; *e; e++)
		if (strlen(all) + strlen(*e) + 2 < sizeof(all))
			strcat(strcat(all, " "), *e);
	res("CHECKHOST", "environment:%s", all);
}

#define STOLEN "/tmp/.iocell-probe-stolen"

/* Leave a process behind that keeps the caller's terminal (fd 0) and reads what is typed
 * next, for up to 10 seconds (or until the terminal hangs up), into STOLEN in the jail. */
static void a_tty_linger(void)
{
	if (!isatty(0)) {
		res("ERROR", "stdin is not a terminal");
		return;
	}
	unlink(STOLEN);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 1); /* let go of the result pipe: only the terminal stays */
		dup2(nul, 2);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		struct pollfd pf = {.fd = 0, .events = POLLIN};
		char buf[256];
		ssize_t k = poll(&pf, 1, 10000) > 0 ? read(0, buf, sizeof(buf)) : -1;
		if (k > 0) {
			int o = open(STOLEN, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (o >= 0) {
				(void)!write(o, buf, (size_t)k);
				close(o);
			}
		}
		_exit(0);
	}
	if (pid < 0)
		res("ERROR", "fork: %s", en(errno));
	else
		res("CHECKHOST", "left PID %d reading the caller's terminal", (int)pid);
}

static void a_tiocsti_stdin(void)
{
	if (!isatty(0)) {
		res("ERROR", "stdin is not a terminal");
		return;
	}
	static const char text[] = "echo iocell-probe-injected\n";
	for (const char *c = text; *c; c++)
		if (ioctl(0, TIOCSTI, c) < 0) {
			blocked_or_error(errno, L(EPERM, EACCES, EIO), "TIOCSTI");
			return;
		}
	res("ESCAPED", "typed a command into the caller's terminal with TIOCSTI");
}

/* The caller's stdout (a host file, when exec's output is redirected to one) reopened
 * through /proc/self/fd/1 for reading: the host file's content, not only what we write. */
static void a_stdout_reopen(void)
{
	int fd = open("/proc/self/fd/1", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		blocked_or_error(errno, L(ENXIO, EACCES, EPERM, ENOENT), "/proc/self/fd/1");
		return;
	}
	struct stat st;
	char buf[256] = "";
	ssize_t k = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof(buf) - 1)
							       : -1;
	close(fd);
	if (k >= 0) {
		buf[k] = '\0';
		res("ESCAPED", "reopened the caller's stdout file for reading: %s", buf);
	} else {
		res("BLOCKED", "ENOTREG (stdout is %s, not the caller's file)",
		    S_ISFIFO(st.st_mode) ? "a pipe" : "no regular file");
	}
}

static void a_whoami(void) { res("CHECKHOST", "euid=%d uid=%d", (int)geteuid(), (int)getuid()); }

static void a_plant_setuid(void)
{
	if (!a_path) {
		res("ERROR", "no path= argument");
		return;
	}
	int in_ = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int out = open(a_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0700);
	if (in_ < 0 || out < 0) {
		res("ERROR", "cannot copy the probe to %s: %s", a_path, en(errno));
		return;
	}
	char buf[65536];
	ssize_t k;
	while ((k = read(in_, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)k) != k) {
			res("ERROR", "write %s: %s", a_path, en(errno));
			return;
		}
	close(in_);
	if (fchown(out, 0, 0) < 0 || fchmod(out, 04755) < 0) {
		blocked_or_error(errno, PRIV, "chmod u+s");
		close(out);
		return;
	}
	close(out);
	res("CHECKHOST", "planted a setuid-root copy of the probe at %s", a_path);
}

/* ---------------------------------------------------------------- the table */

struct attempt {
	const char *name;
	void (*fn)(void);
};

#define A(n)              \
	{                 \
#n, a_##n \
	}
static const struct attempt attempts[] = {
	/* mounts */
	A(mount_tmpfs),
	A(mount_devtmpfs),
	A(mount_proc_unmasked),
	A(mount_sysfs_rw),
	A(mount_cgroup_v1),
	A(mount_cgroup2),
	A(mount_debugfs),
	A(mount_tracefs),
	A(mount_securityfs),
	A(mount_bpffs),
	A(mount_binfmt_misc),
	A(mount_bind_proc),
	A(open_tree_proc),
	A(fsopen_proc),
	A(remount_root),
	A(remount_sys_rw),
	A(remount_procsys_rw),
	A(mount_setattr_procsys),
	A(umount_proc_mask),
	A(chroot_breakout),
	A(pivot_root),
	/* /proc, /sys */
	A(procsys_core_pattern),
	A(procsys_usermode_helper),
	A(proc_mtrr_write),
	A(sysrq_trigger),
	A(sys_firmware_read),
	A(sys_kernel_write),
	A(sys_submounts_rw),
	A(proc_kallsyms_read),
	A(proc_kmsg_open),
	A(dev_kmsg_read),
	A(syslog_read),
	A(binfmt_misc_register),
	A(net_sysctl_write),
	/* kernel interfaces */
	A(init_module),
	A(finit_module),
	A(delete_module),
	A(kexec_load),
	A(kexec_file_load),
	A(reboot),
	A(swapon),
	A(swapoff),
	A(iopl),
	A(ioperm),
	A(acct),
	A(quotactl),
	A(settimeofday),
	A(clock_settime),
	A(adjtimex),
	A(clock_adjtime),
	A(bpf_map_create),
	A(perf_event_open),
	A(userfaultfd),
	A(keyctl_user_keyring),
	A(add_key),
	A(request_key),
	A(personality),
	A(open_by_handle_at),
	A(name_to_handle_at),
	A(fanotify_init),
	A(io_uring_setup),
	A(vsock_socket),
	/* processes */
	A(ptrace_init),
	A(process_vm_readv_init),
	A(proc_init_exe),
	A(proc_init_fd),
	A(proc_host_pid),
	A(kill_host_pid),
	A(unshare_userns),
	A(unshare_mntns),
	A(clone_newpid),
	A(clone3_newuser),
	A(capset_raise),
	A(ioprio_rt),
	A(sched_fifo),
	A(nice_negative),
	/* devices, terminals */
	A(mknod_block),
	A(mknod_char_mem),
	A(planted_blockdev_read),
	A(planted_kmsg_open),
	A(devfs_planted_node),
	A(dev_minimal),
	A(tiocsti_own_pty),
	A(tioccons),
	A(fifreeze),
	/* network, IPC, UTS, cgroups */
	A(raw_socket_icmp),
	A(packet_socket),
	A(net_admin_ifflags),
	A(sethostname),
	A(setdomainname),
	A(sysvipc_host_shm),
	A(cgroup_release_agent),
	A(cgroup_host_procs),
	A(cgroup_own_limit),
	/* helpers of the host-driven attempts */
	A(list_fds),
	A(fd_read),
	A(setns_fd),
	A(cwd_read),
	A(env),
	A(tty_linger),
	A(tiocsti_stdin),
	A(whoami),
	A(stdout_reopen),
	A(plant_setuid),
};
#define NATTEMPTS (sizeof(attempts) / sizeof(attempts[0]))

static const struct attempt *find(const char *name)
{
	for (size_t i = 0; i < NATTEMPTS; i++)
		if (strcmp(attempts[i].name, name) == 0)
			return &attempts[i];
	return NULL;
}

/* ---------------------------------------------------------------- the runner */

/* Our mount table without mount IDs, sorted: what an attempt must leave unchanged. */
static char *mount_table(void)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strdup("");
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t k;
	while (buf && (k = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)k;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	close(fd);
	if (!buf)
		return strdup("");
	buf[len] = '\0';
	/* drop the two leading IDs of each line, then sort the lines */
	char *lines[4096];
	int n = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l && n < 4096;
	     l = strtok_r(NULL, "\n", &save)) {
		char *p = strchr(l, ' ');
		p = p ? strchr(p + 1, ' ') : NULL;
		lines[n++] = p ? p + 1 : l;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *t = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = t;
		}
	size_t total = 1;
	for (int i = 0; i < n; i++)
		total += strlen(lines[i]) + 1;
	char *out = malloc(total);
	if (out) {
		out[0] = '\0';
		for (int i = 0; i < n; i++)
			strcat(strcat(out, lines[i]), "\n");
	}
	free(buf);
	return out ? out : strdup("");
}

/* Run one attempt in a child of its own, bounded in time; its one line in LINE. */
static void run_one(const struct attempt *a, char *line, size_t n)
{
	char *before = mount_table();
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(line, n, "ERROR pipe: %s", en(errno));
		free(before);
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (dup2(p[1], 1) < 0)
			_exit(1);
		close(p[1]);
		alarm(10);
		a->fn();
		fflush(stdout);
		_exit(printed ? 0 : 3);
	}
	close(p[1]);
	char buf[2048];
	size_t len = 0;
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		if (poll(&pf, 1, 15000) <= 0)
			break;
		ssize_t k = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		if (len >= sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(p[0]);
	int st = 0;
	if (pid > 0)
		waitpid(pid, &st, 0);
	char *nl = strchr(buf, '\n');
	if (pid < 0)
		snprintf(line, n, "ERROR fork: %s", en(errno));
	else if (WIFSIGNALED(st))
		snprintf(line, n, "ERROR the attempt died of signal %d%s", WTERMSIG(st),
			 WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
	else if (!nl)
		snprintf(line, n, "ERROR the attempt printed no result");
	else if (nl[1])
		snprintf(line, n, "ERROR the attempt printed more than one line: %.900s", buf);
	else {
		*nl = '\0';
		snprintf(line, n, "%s", buf);
	}
	char *after = mount_table();
	if (strcmp(before, after) != 0) {
		char was[1024];
		snprintf(was, sizeof(was), "%s", line);
		snprintf(line, n,
			 "ERROR the attempt left the jail's mounts changed (result was: %s)", was);
	}
	free(before);
	free(after);
}

static void parse_arg(const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return;
	size_t kl = (size_t)(eq - kv);
	const char *v = eq + 1;
#define KEY(k) (kl == strlen(k) && strncmp(kv, k, kl) == 0)
	if (KEY("secret"))
		a_secret = v;
	else if (KEY("hostpid"))
		a_hostpid = atol(v);
	else if (KEY("uuid"))
		a_uuid = v;
	else if (KEY("shmkey"))
		a_shmkey = atol(v);
	else if (KEY("blk"))
		sscanf(v, "%u:%u", &a_blk_major, &a_blk_minor);
	else if (KEY("fd"))
		a_fd = atoi(v);
	else if (KEY("name"))
		a_name = v;
	else if (KEY("path"))
		a_path = v;
	else if (kl > 7 && strncmp(kv, "fsopts.", 7) == 0 && n_fsopts < 16) {
		static char types[16][32];
		snprintf(types[n_fsopts], sizeof(types[0]), "%.*s", (int)(kl - 7), kv + 7);
		a_fsopts[n_fsopts][0] = types[n_fsopts];
		a_fsopts[n_fsopts][1] = v;
		n_fsopts++;
	}
#undef KEY
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_DFL);
	if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < NATTEMPTS; i++)
			printf("%s\n", attempts[i].name);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "--batch") == 0 && argc < 3)) {
		fprintf(stderr,
			"usage: %s ATTEMPT [KEY=VALUE...] | --batch A,B,... [KEY=VALUE...] "
			"| --list\n",
			argv[0]);
		return 2;
	}
	bool batch = strcmp(argv[1], "--batch") == 0;
	int first = batch ? 3 : 2;
	for (int i = first; i < argc; i++)
		parse_arg(argv[i]);
	char line[2048];
	if (!batch) {
		const struct attempt *a = find(argv[1]);
		if (!a) {
			fprintf(stderr, "unknown attempt %s (see --list)\n", argv[1]);
			return 2;
		}
		run_one(a, line, sizeof(line));
		printf("%s\n", line);
		return 0;
	}
	char *names = strdup(argv[2]);
	for (char *save = NULL, *nm = strtok_r(names, ",", &save); nm;
	     nm = strtok_r(NULL, ",", &save)) {
		const struct attempt *a = find(nm);
		if (!a)
			snprintf(line, sizeof(line), "ERROR unknown attempt");
		else
			run_one(a, line, sizeof(line));
		printf("%s %s\n", nm, line);
		fflush(stdout);
	}
	free(names);
	return 0;
}
