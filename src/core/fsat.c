#include "core/fsat.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int openat2_rel(int dirfd, const char *path, int flags, mode_t mode,
		       unsigned long long resolve)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = resolve,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int open_beneath(int rootfd, const char *path, int flags, mode_t mode)
{
	return openat2_rel(rootfd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int open_nofollow(int dirfd, const char *rel, int flags, mode_t mode)
{
	return openat2_rel(dirfd, rel, flags, mode,
			   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static char *read_regular_fd(int fd, size_t max, size_t *len);

char *read_regular_at(int dirfd, const char *rel, size_t max, size_t *len)
{
	int fd = open_nofollow(dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW, 0);
	return fd < 0 ? NULL : read_regular_fd(fd, max, len);
}

char *read_regular_beneath(int rootfd, const char *path, size_t max, size_t *len)
{
	int fd = open_beneath(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	return fd < 0 ? NULL : read_regular_fd(fd, max, len);
}

/* read_regular_at's checks and read on the open fd (closed here). */
static char *read_regular_fd(int fd, size_t max, size_t *len)
{
	struct stat st;
	int e = fstat(fd, &st) < 0           ? errno
		: !S_ISREG(st.st_mode)       ? EFTYPE_NOTREG
		: (uint64_t)st.st_size > max ? EFBIG
					     : 0;
	if (e) {
		close(fd);
		errno = e;
		return NULL;
	}
	/* Sized by what is there now; a file growing meanwhile is cut at max + 1. */
	size_t cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == cap) {
			if (cap > max)
				break;
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
	}
	close(fd);
	if (n > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

const char *read_regular_why(int err)
{
	switch (err) {
	case ELOOP: return "it is a symlink or its path passes through one";
	case EFTYPE_NOTREG: return "it is not a regular file";
	case EFBIG: return "it is too large";
	case EXDEV: return "its path leaves the directory";
	default: return strerror(err);
	}
}

int write_beneath(int rootfd, const char *path, const char *data, size_t len, mode_t mode)
{
	/* The last component must not be a symlink either (O_NOFOLLOW), and only a regular
	 * file is written: never block on a FIFO or open a device the jail planted. */
	int fd = open_beneath(rootfd, path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
			      mode);
	if (fd < 0) {
		ioc_err("cannot write %s in the jail: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	const char *why = fstat(fd, &st) < 0     ? strerror(errno)
			  : !S_ISREG(st.st_mode) ? "not a regular file"
						 : NULL;
	if (why) {
		ioc_err("cannot write %s in the jail: %s", path, why);
		close(fd);
		return -1;
	}
	/* Unchanged content is left alone (e.g. resolv.conf at every start): no write to
	 * the jail's dataset. */
	char cur[4096];
	ssize_t k = len < sizeof(cur) ? pread(fd, cur, len + 1, 0) : -1;
	if (k == (ssize_t)len && memcmp(cur, data, len) == 0) {
		close(fd);
		return 0;
	}
	if (ftruncate(fd, 0) < 0) {
		ioc_err("cannot write %s in the jail: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = pwrite(fd, data + off, len - off, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ioc_err("cannot write %s in the jail: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

/* The walk behind remove_tree_at and empty_dir_at.  *failed keeps the first failure:
 * it is recorded (with label) only once. */
struct rmwalk {
	dev_t dev;
	bool failed;
	int err;
};

static void rm_fail(struct rmwalk *w, const char *label, const char *name, int e)
{
	if (!w->failed && label)
		ioc_err("cannot remove %s/%s: %s", label, name, strerror(e));
	if (!w->failed)
		w->err = e;
	w->failed = true;
}

static void rm_entries(struct rmwalk *w, int dfd, const char *label);

static void rm_entry(struct rmwalk *w, int dfd, const char *name, const char *label)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return;
	if (errno != EISDIR && errno != EPERM) {
		rm_fail(w, label, name, errno);
		return;
	}
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			rm_fail(w, label, name, errno);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		rm_fail(w, label, name, EPERM);
		return;
	}
	if (st.st_dev != w->dev) {
		rm_fail(w, label, name, EBUSY); /* a mount point: never delete through it */
		return;
	}
	int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		rm_fail(w, label, name, errno);
		return;
	}
	char *sub = label ? xasprintf("%s/%s", label, name) : NULL;
	rm_entries(w, cfd, sub);
	free(sub);
	close(cfd);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rm_fail(w, label, name, errno);
}

static void rm_entries(struct rmwalk *w, int dfd, const char *label)
{
	DIR *d = opendir_dup(dfd);
	if (!d) {
		rm_fail(w, label, ".", errno);
		return;
	}
	/* Names first: removing while reading a directory may skip entries. */
	_cleanup_strv_ struct strv names = {0};
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			sv_add(&names, e->d_name);
	if (errno)
		rm_fail(w, label, ".", errno);
	closedir(d);
	for (size_t i = 0; i < names.n; i++)
		rm_entry(w, dfd, names.v[i], label);
}

static int rm_done(struct rmwalk *w)
{
	if (!w->failed)
		return 0;
	errno = w->err;
	return -1;
}

int remove_tree_at(int dirfd, const char *name, const char *label)
{
	/* The tree stays on NAME's own file system. */
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		if (label)
			ioc_err("cannot remove %s/%s: %s", label, name, strerror(errno));
		return -1;
	}
	struct rmwalk w = {.dev = st.st_dev};
	rm_entry(&w, dirfd, name, label);
	return rm_done(&w);
}

int empty_dir_at(int dirfd, const char *label)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0) {
		if (label)
			ioc_err("cannot empty %s: %s", label, strerror(errno));
		return -1;
	}
	struct rmwalk w = {.dev = st.st_dev};
	rm_entries(&w, dirfd, label);
	return rm_done(&w);
}
