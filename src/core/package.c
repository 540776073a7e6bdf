/* Packages: see package.h for the format. */
#include "core/package.h"
#include "core/artifact.h"
#include "core/extract.h"
#include "core/fsat.h"
#include "core/pool.h"
#include "core/sha256.h"

#include <archive.h>
#include <archive_entry.h>
#include "core/lazylib.h" /* after the library headers */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define BUFSZ (1 << 17)

char *keyval_get(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (n > kl && strncmp(l, key, kl) == 0 && l[kl] == '=')
			return xstrndup(l + kl + 1, n - kl - 1);
		l = e ? e + 1 : NULL;
	}
	return NULL;
}

/* ---- writing a package ----------------------------------------------------------------- */

static int ar_add_mem(struct archive *a, const char *name, const char *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, time(NULL), 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN || (len && archive_write_data(a, data, len) != (la_ssize_t)len)) {
		ioc_err("cannot write %s into the package: %s", name, archive_msg(a));
		return -1;
	}
	return 0;
}

static int ar_add_data(struct archive *a, int fd, const char *crel, char *buf)
{
	for (;;) {
		ssize_t n = read(fd, buf, BUFSZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ioc_err("cannot read recorded/%s: %s", crel, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		if (archive_write_data(a, buf, (size_t)n) < 0) {
			ioc_err("cannot add %s to the package: %s", crel, archive_msg(a));
			return -1;
		}
	}
}

/* Add the entry NAME of dirfd (at crel) with its data, symlink target or nothing. */
static int ar_add_entry(struct archive *a, int dirfd, const char *name, const char *crel,
			const struct stat *st, char *buf)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, crel);
	_cleanup_close_ int fd = -1;
	int rc = 0;
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			ioc_err("cannot read symlink recorded/%s: %s", crel, strerror(errno));
			rc = -1;
		} else {
			target[n] = '\0';
			archive_entry_set_symlink(e, target);
		}
	} else if (S_ISREG(st->st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ioc_err("cannot read recorded/%s: %s", crel, strerror(errno));
			rc = -1;
		}
	} else {
		archive_entry_set_size(e, 0);
	}
	if (rc == 0 && archive_write_header(a, e) < ARCHIVE_WARN) {
		ioc_err("cannot add %s to the package: %s", crel, archive_msg(a));
		rc = -1;
	}
	if (rc == 0 && fd >= 0)
		rc = ar_add_data(a, fd, crel, buf);
	archive_entry_free(e);
	return rc;
}

struct ar_dir {
	struct archive *a;
	const char *rel;
	char *buf;
};

static int ar_add_tree(struct archive *a, int dirfd, const char *rel, char *buf);

static int ar_add_one(int dirfd, const char *name, const struct stat *st, void *arg)
{
	struct ar_dir *t = arg;
	if (!*t->rel && streq(name, DELETED_LIST))
		return 0;
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode) &&
	    !S_ISFIFO(st->st_mode)) {
		ioc_warn("not packaging recorded/%s/%s: not a file, directory, symlink or FIFO",
			 t->rel, name);
		return 0;
	}
	_cleanup_free_ char *crel = *t->rel ? xasprintf("%s/%s", t->rel, name) : xstrdup(name);
	if (ar_add_entry(t->a, dirfd, name, crel, st, t->buf) < 0)
		return -1;
	if (!S_ISDIR(st->st_mode))
		return 0;
	_cleanup_close_ int cfd = openat(dirfd, name, DIR_FLAGS);
	if (cfd < 0) {
		ioc_err("cannot open recorded/%s: %s", crel, strerror(errno));
		return -1;
	}
	return ar_add_tree(t->a, cfd, crel, t->buf);
}

static int ar_add_tree(struct archive *a, int dirfd, const char *rel, char *buf)
{
	struct ar_dir t = {.a = a, .rel = rel, .buf = buf};
	int rc = dir_each(dirfd, ar_add_one, &t);
	if (rc == DIR_UNREADABLE) {
		ioc_err("cannot read recorded/%s: %s", rel, strerror(errno));
		return -1;
	}
	return rc;
}

/* The package archive tmp: metadata, deletion list, the tree of rfd. */
static int write_package(const char *tmp, const char *meta, const char *dl, size_t dlen, int rfd)
{
	struct archive *a = archive_write_new();
	if (!a || archive_write_add_filter_xz(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK) {
		ioc_err("cannot set up the package writer: %s",
			a ? archive_msg(a) : "out of memory");
		if (a)
			archive_write_free(a);
		return -1;
	}
	_cleanup_free_ char *buf = xmalloc(BUFSZ);
	int rc = -1;
	unlink(tmp);
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK)
		ioc_err("cannot create %s: %s", tmp, archive_msg(a));
	else if (ar_add_mem(a, PACKAGE_META, meta, strlen(meta)) < 0 ||
		 ar_add_mem(a, DELETED_LIST, dl ? dl : "", dl ? dlen : 0) < 0 ||
		 ar_add_tree(a, rfd, "", buf) < 0)
		;
	else if (archive_write_close(a) != ARCHIVE_OK)
		ioc_err("cannot finish %s: %s", tmp, archive_msg(a));
	else
		rc = 0;
	archive_write_free(a);
	return rc;
}

/* tmp synced and published as file with its checksum. */
static int seal(const char *tmp, const char *file)
{
	_cleanup_close_ int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		ioc_err("cannot sync %s: %s", tmp, strerror(errno));
		return -1;
	}
	char hex[SHA256_HEX_LEN + 1];
	if (sha256_file(tmp, hex) < 0)
		return -1;
	return artifact_publish(tmp, file, hex);
}

static char *package_meta(const struct jail *j)
{
	const char *rel = jail_prop(j, P_RELEASE);
	_cleanup_free_ char *relsnap = ds_release_snap(rel);
	_cleanup_free_ char *guid = zfs_get1(relsnap, "guid");
	ioc_err_clear();
	_cleanup_free_ char *when = time_tag();
	return xasprintf("format=1\nrelease=%s\nrelease_guid=%s\nsource_uuid=%s\nsource_tag=%s\n"
			 "created=%s\n",
			 rel, guid ? guid : "-", j->uuid, jail_prop(j, P_TAG), when);
}

int package_create(const struct jail *j, char **out)
{
	*out = NULL;
	const char *tag = jail_prop(j, P_TAG), *rel = jail_prop(j, P_RELEASE);
	_cleanup_free_ char *recdir = xasprintf("%s/recorded", j->path);
	_cleanup_close_ int rfd = open(recdir, DIR_FLAGS);
	if (rfd < 0) {
		ioc_err("cannot package jail %s: %s: %s", tag, recdir, strerror(errno));
		ioc_hint("record the changes first: 'iocell record start %s', change things, "
			 "'iocell record stop %s'",
			 tag, tag);
		return -1;
	}
	if (streq(rel, "none") || streq(rel, "")) {
		ioc_err("cannot package jail %s: it has no release (an empty jail)", tag);
		return -1;
	}
	_cleanup_free_ char *pkgdir = path_in_root("packages");
	if (mkdir_p(pkgdir, 0755) < 0)
		return -1;
	_cleanup_free_ char *meta = package_meta(j);
	_cleanup_free_ char *dl = NULL;
	size_t dlen = 0;
	int dfd = openat(rfd, DELETED_LIST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		close(dfd);
		_cleanup_free_ char *dp = xasprintf("%s/%s", recdir, DELETED_LIST);
		if (!(dl = read_file(dp, &dlen)))
			return -1;
	}
	_cleanup_free_ char *file = xasprintf("%s/%s.tar.xz", pkgdir, j->uuid);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.tar.xz.partial", pkgdir, j->uuid);
	if (write_package(tmp, meta, dl, dlen, rfd) < 0 || seal(tmp, file) < 0) {
		unlink(tmp);
		return -1;
	}
	*out = TAKE_PTR(file);
	return 0;
}

/* ---- reading a package ----------------------------------------------------------------- */

static struct archive *open_pkg(const char *file)
{
	struct archive *a = archive_read_new();
	if (!a) {
		ioc_err("cannot read %s: out of memory", file);
		return NULL;
	}
	archive_read_support_filter_xz(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, file, 1 << 16) != ARCHIVE_OK) {
		ioc_err("cannot read package %s: %s", file, archive_msg(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Read the current entry's data (at most max bytes) into a string. */
static char *entry_text(struct archive *a, size_t max, const char *file, const char *what)
{
	_cleanup_sbuf_ struct sbuf b;
	sb_init(&b);
	char buf[8192];
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n < 0) {
			ioc_err("cannot read %s from %s: %s", what, file, archive_msg(a));
			return NULL;
		}
		if (n == 0)
			return sb_steal(&b);
		sb_addn(&b, buf, (size_t)n);
		if (b.len > max) {
			ioc_err("%s in %s is too large", what, file);
			return NULL;
		}
	}
}

static const char *entry_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);
	return strip_dot(n ? n : "");
}

static int read_head(struct archive *a, const char *file, struct package_head *h)
{
	struct archive_entry *e;
	if (archive_read_next_header(a, &e) != ARCHIVE_OK || !streq(entry_name(e), PACKAGE_META)) {
		ioc_err("%s is not an iocell package (no %s entry first)", file, PACKAGE_META);
		return -1;
	}
	if (!(h->meta = entry_text(a, 65536, file, PACKAGE_META)))
		return -1;
	if (archive_read_next_header(a, &e) == ARCHIVE_OK && streq(entry_name(e), DELETED_LIST) &&
	    !(h->deleted = entry_text(a, 64 << 20, file, DELETED_LIST)))
		return -1;
	return 0;
}

int package_read_head(const char *file, struct package_head *h)
{
	h->meta = h->deleted = NULL;
	struct archive *a = open_pkg(file);
	if (!a)
		return -1;
	int rc = read_head(a, file, h);
	archive_read_free(a);
	if (rc < 0)
		package_head_free(h);
	return rc;
}

void package_head_free(struct package_head *h)
{
	free(h->meta);
	free(h->deleted);
	h->meta = h->deleted = NULL;
}

/* ---- applying a package ---------------------------------------------------------------- */

bool deletion_split(const char *line, char **parent, char **leaf)
{
	*parent = *leaf = NULL;
	while (*line == '/')
		line++;
	if (!safe_relpath(line))
		return false;
	_cleanup_free_ char *p = xstrdup(line);
	size_t l = strlen(p);
	while (l > 0 && p[l - 1] == '/')
		p[--l] = '\0';
	char *slash = strrchr(p, '/');
	const char *name = slash ? slash + 1 : p;
	if (streq(name, "."))
		return false; /* the directory itself: removing "." would empty it */
	*leaf = xstrdup(name);
	if (slash)
		*slash = '\0';
	*parent = xstrdup(slash ? p : "");
	return true;
}

/* Apply one deletion beneath the root: the parent is resolved without following any
 * symlink; the last component is unlinked (a directory removed with its contents). */
static int delete_beneath(int rootfd, const char *line)
{
	const char *path = line + strspn(line, "/");
	_cleanup_free_ char *parent = NULL, *leaf = NULL;
	if (!deletion_split(line, &parent, &leaf)) {
		ioc_err("refusing the deletion of '%s': not a plain path beneath the jail root",
			path);
		return -1;
	}
	_cleanup_close_ int dfd = -1;
	if (*parent) {
		_cleanup_close_ int pfd = open_nofollow(rootfd, parent, O_PATH | O_DIRECTORY, 0);
		/* unlinkat needs a real directory fd for removing trees */
		if (pfd >= 0)
			dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		dfd = dup(rootfd);
	}
	if (dfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
			return 0; /* already gone, or behind a symlink (not ours to follow) */
		ioc_err("cannot delete /%s in the jail: %s", path, strerror(errno));
		return -1;
	}
	if (remove_tree_at(dfd, leaf, NULL) < 0) {
		ioc_err("cannot delete /%s in the jail: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int apply_deletions(int rootfd, const char *list)
{
	for (const char *l = list; *l;) {
		size_t n = strcspn(l, "\n");
		if (n) {
			_cleanup_free_ char *path = xstrndup(l, n);
			if (delete_beneath(rootfd, path) < 0)
				return -1;
		}
		l += n;
		if (*l)
			l++;
	}
	return 0;
}

struct pkg_apply {
	const char *file;
	uint32_t shift;
};

/* Package entries: the metadata skipped, nothing outside the root, no device nodes, no
 * xattrs (a package never records any: a file capability or an ACL in one would carry
 * ids of the host); owners are the jail's own ids (0-65535), shifted to the jail's
 * range. */
static int pkg_filter(struct archive_entry *e, void *arg)
{
	const struct pkg_apply *pa = arg;
	const char *name = entry_name(e);
	if (streq(name, PACKAGE_META) || streq(name, DELETED_LIST))
		return 0;
	const char *hl = archive_entry_hardlink(e);
	mode_t t = archive_entry_filetype(e);
	if (!safe_relpath(name) || (hl && !safe_relpath(hl))) {
		ioc_err("refusing package entry '%s'%s%s: it points outside the jail root", name,
			hl ? " -> " : "", hl ? hl : "");
		return -1;
	}
	if (t == AE_IFCHR || t == AE_IFBLK || t == AE_IFSOCK) {
		ioc_err("refusing package entry '%s': device nodes are not allowed in a package",
			name);
		return -1;
	}
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	if (uid < 0 || uid >= IDMAP_COUNT || gid < 0 || gid >= IDMAP_COUNT) {
		ioc_err("refusing package entry '%s': owner %lld:%lld is not a jail id (0-%u)",
			name, (long long)uid, (long long)gid, IDMAP_COUNT - 1);
		return -1;
	}
	archive_entry_set_uid(e, (la_int64_t)pa->shift + uid);
	archive_entry_set_gid(e, (la_int64_t)pa->shift + gid);
	/* numeric ids only: a name would be looked up on the host */
	archive_entry_set_uname(e, NULL);
	archive_entry_set_gname(e, NULL);
	archive_entry_xattr_clear(e);
	_cleanup_free_ char *stripped = xstrdup(name);
	archive_entry_set_pathname(e, stripped);
	return 1;
}

static void pkg_fail(enum extract_step step, const char *entry, const char *why,
		     unsigned long long entries, void *arg)
{
	(void)entries;
	const char *file = ((const struct pkg_apply *)arg)->file;
	switch (step) {
	case EXS_NOMEM:
	case EXS_CWD: ioc_err("cannot set up extraction: %s", why); break;
	case EXS_HEADER: ioc_err("corrupt package %s: %s", file, why); break;
	case EXS_REFUSE: ioc_err("refusing package entry '%s': %s", entry, why); break;
	case EXS_READ: ioc_err("corrupt data for '%s' in %s: %s", entry, file, why); break;
	case EXS_WRITE: ioc_err("cannot write '%s': %s", entry, why); break;
	case EXS_FINISH: ioc_err("cannot finish '%s': %s", entry, why); break;
	case EXS_CLOSE: ioc_err("cannot finish extracting %s: %s", file, why); break;
	}
}

static int extract_pkg(const char *file, const char *root, uint32_t shift)
{
	struct archive *a = open_pkg(file);
	if (!a)
		return -1;
	struct pkg_apply pa = {.file = file, .shift = shift};
	struct extract x = {.dest = root, .filter = pkg_filter, .fail = pkg_fail, .arg = &pa};
	int rc = extract_archive(a, &x);
	free(x.first_warning);
	archive_read_free(a);
	return rc;
}

int package_apply(const char *file, const struct package_head *h, const char *root, uint32_t shift)
{
	_cleanup_close_ int rootfd = open(root, DIR_FLAGS);
	if (rootfd < 0) {
		ioc_err("cannot open %s: %s", root, strerror(errno));
		return -1;
	}
	/* Deletions first: a path whose type changed is deleted, then extracted anew. */
	if (h->deleted && apply_deletions(rootfd, h->deleted) < 0)
		return -1;
	return extract_pkg(file, root, shift);
}
