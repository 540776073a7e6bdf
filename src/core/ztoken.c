/* A pool's change token: see ztoken.h. */
#include "core/ztoken.h"
#include "core/parse.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "core/util.h"
#include "core/zfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- OpenZFS: the txg history kstat ------------------------------------------------------ */

bool ztoken_txgs_open(const char *text, uint64_t *open)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	uint64_t top = 0;
	size_t rows = 0, committed = 0;
	char top_state = 0;
	for (size_t i = 0; i < lines.n; i++) {
		_cleanup_strv_ struct strv f = {0};
		split(&f, lines.v[i], " \t", true);
		long long txg;
		/* rows: TXG BIRTH STATE ...; the kstat header and the column names are not */
		if (f.n < 3 || strlen(f.v[2]) != 1 ||
		    !parse_int(f.v[0], 0, 9007199254740991LL, &txg))
			continue;
		rows++;
		committed += f.v[2][0] == 'C';
		if (rows == 1 || (uint64_t)txg > top) {
			top = (uint64_t)txg;
			top_state = f.v[2][0];
		}
	}
	/* the newest open (O), every other one synced (C; Q quiescing, W waiting, S syncing:
	 * its changes may not have taken effect yet) */
	if (!rows || top_state != 'O' || committed != rows - 1)
		return false;
	*open = top;
	return true;
}

static char *openzfs_token(const char *pool)
{
	_cleanup_free_ char *p = xasprintf("/proc/spl/kstat/zfs/%s/txgs", pool);
	_cleanup_free_ char *text = read_file(p, NULL);
	if (!text) {
		ioc_err_clear();
		return NULL;
	}
	uint64_t open;
	if (!ztoken_txgs_open(text, &open))
		return NULL;
	return xasprintf("txg:%s:%llu", pool, (unsigned long long)open);
}

/* ---- zfs-fuse: the uberblock rings of the daemon's vdevs --------------------------------- */

#define ZFS_FUSE_LOCK "/var/lock/zfs/zfs_lock"
#define RING_OFFSET (128 * 1024) /* label 0: 8 KiB blank, 8 KiB boot header, 112 KiB nvlist */
#define RING_SIZE (128 * 1024)

/* The daemon's PID: zfs-fuse holds a POSIX lock on its lock file while it runs (one
 * daemon per lock directory); /proc/locks names the holder (0: none seen from here).
 * Reading /proc/locks can take 10-15 ms on a busy host: the holder found is kept in
 * RUNDIR/zfs-fuse-daemon (lock file's device and inode, PID, start time) and taken from
 * there while the lock file and that process (same start time) are the same. */
static pid_t fuse_daemon(void)
{
	struct stat st;
	if (stat(ZFS_FUSE_LOCK, &st) < 0)
		return 0;
	_cleanup_free_ char *cache = xasprintf("%s/zfs-fuse-daemon", rundir());
	_cleanup_free_ char *known = cache_read(cache);
	unsigned long long kdev, kino, kstart;
	int kpid;
	if (known && sscanf(known, "%llu %llu %d %llu", &kdev, &kino, &kpid, &kstart) == 4 &&
	    kdev == (unsigned long long)st.st_dev && kino == (unsigned long long)st.st_ino &&
	    kpid > 0 && kstart && proc_starttime(kpid) == kstart)
		return kpid;
	_cleanup_free_ char *locks = read_file("/proc/locks", NULL);
	if (!locks) {
		ioc_err_clear();
		return 0;
	}
	char want[64];
	snprintf(want, sizeof(want), "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, locks, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		/* N: POSIX ADVISORY WRITE PID MAJ:MIN:INO START END */
		_cleanup_strv_ struct strv f = {0};
		split(&f, lines.v[i], " \t", true);
		long long pid;
		if (f.n >= 6 && streq(f.v[1], "POSIX") && streq(f.v[5], want) &&
		    parse_int(f.v[4], 1, 4194304, &pid)) {
			unsigned long long start = proc_starttime((pid_t)pid);
			_cleanup_free_ char *line = xasprintf(
				"%llu %llu %lld %llu\n", (unsigned long long)st.st_dev,
				(unsigned long long)st.st_ino, pid, start);
			if (start && write_file_cache(cache, line, strlen(line), 0600) < 0)
				ioc_err_clear(); /* only a cache */
			return (pid_t)pid;
		}
	}
	return 0;
}

/* Two 64-bit FNV-1a hashes (different offsets) of buf, as 32 hex digits. */
static void hash_hex(const unsigned char *buf, size_t n, char out[33])
{
	uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;
	for (size_t i = 0; i < n; i++) {
		h1 = (h1 ^ buf[i]) * 0x100000001b3ULL;
		h2 = (h2 ^ buf[n - 1 - i]) * 0x100000001b3ULL;
	}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

/* The ring of the file or device the daemon holds as fd: its hash into s; 0 done, 1 not
 * a file or device (skipped), -1 unreadable. */
static int ring_of(pid_t pid, const char *fd, struct sbuf *s, unsigned char *buf)
{
	_cleanup_free_ char *p = xasprintf("/proc/%d/fd/%s", (int)pid, fd);
	struct stat st;
	if (stat(p, &st) < 0)
		return errno == ENOENT ? 1 : -1; /* closed meanwhile: not a vdev */
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return 1;
	/* a device is read past its page cache (the daemon may write it directly) */
	int f = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | (S_ISBLK(st.st_mode) ? O_DIRECT : 0));
	if (f < 0)
		return S_ISREG(st.st_mode) && errno == ENOENT ? 1 : -1;
	ssize_t k = pread(f, buf, RING_SIZE, RING_OFFSET);
	close(f);
	if (k < 0)
		return -1;
	char h[33];
	hash_hex(buf, (size_t)k, h);
	sb_printf(s, ",%llx.%llx.%zd.%s", (unsigned long long)st.st_dev,
		  (unsigned long long)st.st_ino, k, h);
	return 0;
}

static char *fuse_token(void)
{
	pid_t pid = fuse_daemon();
	if (pid <= 0)
		return NULL;
	unsigned long long start = proc_starttime(pid);
	_cleanup_free_ char *dir = xasprintf("/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	void *buf = NULL;
	if (posix_memalign(&buf, 4096, RING_SIZE) != 0) {
		closedir(d);
		return NULL;
	}
	struct sbuf s;
	sb_init(&s);
	sb_printf(&s, "fuse:%d.%llu", (int)pid, start);
	struct dirent *e;
	int rc = 0;
	size_t rings = 0;
	while (rc >= 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		rc = ring_of(pid, e->d_name, &s, buf);
		rings += rc == 0;
	}
	closedir(d);
	free(buf);
	/* the daemon ended meanwhile (its PID's start time changed), or no vdev seen */
	if (rc < 0 || !rings || proc_starttime(pid) != start) {
		sb_free(&s);
		return NULL;
	}
	return sb_steal(&s);
}

char *zfs_change_token(const char *ds_or_pool)
{
	if (getenv("IOCELL_NO_ZTOKEN"))
		return NULL;
	_cleanup_free_ char *pool = xstrndup(ds_or_pool, strcspn(ds_or_pool, "/"));
	if (!*pool)
		return NULL;
	return zfs_is_openzfs() ? openzfs_token(pool) : fuse_token();
}
