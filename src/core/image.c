/* Images and lifecycle: see image.h for the formats and the recording method. */
#include "core/image.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/props.h"
#include "core/release.h"
#include "core/sha256.h"
#include "core/fsat.h"
#include "linux/jailfs.h"
#include "platform.h"

#include <archive.h>
#include <archive_entry.h>
#include "core/lazylib.h" /* after the library headers */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---------------------------------------------------------------------- */

/* Destroy a dataset/snapshot on an undo path, keeping the pending error. */
static void undo_destroy(const char *name, const char *flags)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	if (zfs_destroy(name, flags) < 0 && zfs_lasterr != ZE_NOENT)
		ioc_warn("could not remove %s: %s", name, ioc_errmsg());
	ioc_err_restore(&keep);
}

static char *mounted_dir(const char *ds)
{
	struct ztable t;
	const char *dss[] = {ds, NULL};
	if (zfs_get(&t, "mounted,mountpoint", dss, NULL, false, false, 0) < 0)
		return NULL;
	char *mp = NULL;
	bool mounted = false;
	for (size_t i = 0; i < t.nrows; i++) {
		if (t.rows[i].n < 3)
			continue;
		if (streq(t.rows[i].v[1], "mounted"))
			mounted = streq(t.rows[i].v[2], "yes");
		else if (streq(t.rows[i].v[1], "mountpoint"))
			mp = xstrdup(t.rows[i].v[2]);
	}
	ztable_free(&t);
	if (!mounted || !mp || mp[0] != '/') {
		ioc_err("dataset %s is not mounted", ds);
		ioc_hint("mount it with 'zfs mount %s'", ds);
		free(mp);
		return NULL;
	}
	return mp;
}

/* A relative archive/list path is safe: not absolute, no "..", no empty name. */
static bool safe_relpath(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (!*p || *p == '/')
		return false;
	const char *s = p;
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		while (*s == '/')
			s++;
	}
	return true;
}

static char *sha_path(const char *file)
{
	const char *dot = strrchr(file, '/');
	dot = dot ? dot : file;
	const char *ext = strstr(dot, ".tar.xz");
	if (!ext)
		ext = strrchr(dot, '.');
	size_t n = ext ? (size_t)(ext - file) : strlen(file);
	return xasprintf("%.*s.sha256", (int)n, file);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int write_sha_file(const char *file, const char *hex)
{
	char *sp = sha_path(file);
	char *text = xasprintf("%s  %s\n", hex, base_name(file));
	int rc = write_file_atomic(sp, text, strlen(text), 0644);
	free(text);
	free(sp);
	return rc;
}

/* ---- record ----------------------------------------------------------------------------- */

static char *root_ds(const struct jail *j) { return xasprintf("%s/root", j->ds); }

int image_record_start(const struct jail *j)
{
	char *rds = root_ds(j);
	char *snap = xasprintf("%s@%s", rds, RECORD_SNAP);
	int rc = -1;
	if (zfs_exists(snap)) {
		ioc_err("jail %s is already recording (since snapshot %s)", jail_prop(j, P_TAG), snap);
		ioc_hint("run 'iocell record stop %s' first", jail_prop(j, P_TAG));
	} else if (!ioc_err_pending()) {
		rc = zfs_snapshot(snap, false);
	}
	free(snap);
	free(rds);
	return rc;
}

struct anc {
	char *rel;
	struct stat st;
	bool made;
};

struct rec {
	int out;            /* recorded.new */
	dev_t cur_dev, base_dev;
	FILE *del;
	struct record_stats *st;
	struct anc *stack;  /* ancestors of the directory being walked (index = depth) */
	size_t depth, cap;
	int err;
};

static int out_parent(struct rec *r, const char *rel, const char **leaf)
{
	const char *s = strrchr(rel, '/');
	*leaf = s ? s + 1 : rel;
	if (!s)
		return dup(r->out);
	char *p = xstrndup(rel, (size_t)(s - rel));
	int fd = open_nofollow(r->out, p, O_PATH | O_DIRECTORY, 0);
	free(p);
	return fd;
}

static void set_meta(int pfd, const char *leaf, const struct stat *st, bool link)
{
	int fl = link ? AT_SYMLINK_NOFOLLOW : 0;
	if (fchownat(pfd, leaf, st->st_uid, st->st_gid, fl) < 0)
		ioc_warn("recorded/%s: cannot set owner: %s", leaf, strerror(errno));
	if (!link && fchmodat(pfd, leaf, st->st_mode & 07777, 0) < 0)
		ioc_warn("recorded/%s: cannot set mode: %s", leaf, strerror(errno));
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	utimensat(pfd, leaf, ts, fl);
}

/* Create ancestors (depth 1..d) that are not in recorded/ yet. */
static int materialize(struct rec *r)
{
	for (size_t i = 1; i <= r->depth; i++) {
		struct anc *a = &r->stack[i];
		if (a->made)
			continue;
		const char *leaf;
		int pfd = out_parent(r, a->rel, &leaf);
		if (pfd < 0 || (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)) {
			ioc_err("cannot create recorded/%s: %s", a->rel, strerror(errno));
			if (pfd >= 0)
				close(pfd);
			return -1;
		}
		set_meta(pfd, leaf, &a->st, false);
		close(pfd);
		a->made = true;
	}
	return 0;
}

static int copy_fd(int in, int out)
{
	char *buf = xmalloc(1 << 17);
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, 1 << 17);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		if (write_all(out, buf, (size_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	free(buf);
	return rc;
}

/* Copy one non-directory entry NAME of curfd (at REL) into recorded/. */
static int record_entry(struct rec *r, int curfd, const char *name, const char *rel,
			const struct stat *st)
{
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISSOCK(st->st_mode)) {
		ioc_warn("not recording /%s: device nodes and sockets are not packaged", rel);
		r->st->skipped++;
		return 0;
	}
	if (materialize(r) < 0)
		return -1;
	const char *leaf;
	int pfd = out_parent(r, rel, &leaf);
	if (pfd < 0) {
		ioc_err("cannot open the directory of recorded/%s: %s", rel, strerror(errno));
		return -1;
	}
	int rc = -1;
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(curfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			ioc_err("cannot read symlink /%s: %s", rel, strerror(errno));
			goto out;
		}
		target[n] = '\0';
		if (symlinkat(target, pfd, leaf) < 0) {
			ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
			goto out;
		}
		set_meta(pfd, leaf, st, true);
	} else if (S_ISFIFO(st->st_mode)) {
		if (mkfifoat(pfd, leaf, 0600) < 0) {
			ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
			goto out;
		}
		set_meta(pfd, leaf, st, false);
	} else if (S_ISREG(st->st_mode)) {
		int in = openat(curfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat ist;
		if (in < 0 || fstat(in, &ist) < 0 || !S_ISREG(ist.st_mode)) {
			ioc_err("cannot read /%s in the jail: %s", rel, in < 0 ? strerror(errno)
									       : "not a regular file any more");
			if (in >= 0)
				close(in);
			goto out;
		}
		int o = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (o < 0) {
			ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
			close(in);
			goto out;
		}
		int c = copy_fd(in, o);
		close(in);
		if (c < 0) {
			ioc_err("cannot copy /%s into recorded/: %s", rel, strerror(errno));
			close(o);
			goto out;
		}
		close(o);
		set_meta(pfd, leaf, st, false);
	}
	rc = 0;
out:
	close(pfd);
	return rc;
}

static bool meta_same(const struct stat *a, const struct stat *b)
{
	return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid;
}

static bool content_same(const struct stat *a, const struct stat *b)
{
	return meta_same(a, b) && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void push_anc(struct rec *r, const char *rel, const struct stat *st, bool made)
{
	if (r->depth + 1 >= r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->stack = xrealloc(r->stack, r->cap * sizeof(*r->stack));
	}
	r->depth++;
	r->stack[r->depth] = (struct anc){.rel = xstrdup(rel), .st = *st, .made = made};
}

static void pop_anc(struct rec *r)
{
	free(r->stack[r->depth].rel);
	r->depth--;
}

static char *child_rel(const char *rel, const char *name)
{
	return *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
}

static int walk_cur(struct rec *r, int curfd, int basefd, const char *rel)
{
	DIR *d = opendir_dup(curfd);
	if (!d) {
		ioc_err("cannot read directory /%s: %s", rel, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (streq(name, ".") || streq(name, ".."))
			continue;
		struct stat st, bst;
		if (fstatat(curfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished meanwhile */
		char *crel = child_rel(rel, name);
		bool have = basefd >= 0 && fstatat(basefd, name, &bst, AT_SYMLINK_NOFOLLOW) == 0;
		bool same_type = have && (st.st_mode & S_IFMT) == (bst.st_mode & S_IFMT);
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != r->cur_dev) { /* another dataset or mount: not ours */
				free(crel);
				continue;
			}
			bool record = !same_type || !meta_same(&st, &bst);
			if (record) {
				if (materialize(r) < 0) {
					rc = -1;
					free(crel);
					break;
				}
				const char *leaf;
				int pfd = out_parent(r, crel, &leaf);
				if (pfd < 0 || (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)) {
					ioc_err("cannot create recorded/%s: %s", crel, strerror(errno));
					rc = -1;
				} else {
					set_meta(pfd, leaf, &st, false);
				}
				if (pfd >= 0)
					close(pfd);
				if (rc == 0) {
					if (same_type)
						r->st->changed++;
					else
						r->st->added++;
				}
			}
			int cfd = rc == 0 ? openat(curfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
			int bfd = (rc == 0 && same_type)
					  ? openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
					  : -1;
			if (rc == 0 && cfd >= 0) {
				push_anc(r, crel, &st, record);
				rc = walk_cur(r, cfd, bfd, crel);
				pop_anc(r);
			}
			if (cfd >= 0)
				close(cfd);
			if (bfd >= 0)
				close(bfd);
		} else if (!same_type || !content_same(&st, &bst)) {
			rc = record_entry(r, curfd, name, crel, &st);
			if (rc == 0 && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISSOCK(st.st_mode)) {
				if (same_type)
					r->st->changed++;
				else
					r->st->added++;
			}
		}
		free(crel);
	}
	closedir(d);
	return rc;
}

/* Paths of the baseline missing (or of another type) in the current tree. */
static int walk_base(struct rec *r, int basefd, int curfd, const char *rel)
{
	DIR *d = opendir_dup(basefd);
	if (!d) {
		ioc_err("cannot read the baseline directory /%s: %s", rel, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (streq(name, ".") || streq(name, ".."))
			continue;
		struct stat bst, st;
		if (fstatat(basefd, name, &bst, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char *crel = child_rel(rel, name);
		bool have = fstatat(curfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (!have || (st.st_mode & S_IFMT) != (bst.st_mode & S_IFMT)) {
			if (strchr(crel, '\n')) {
				ioc_warn("cannot list the deleted path /%s (it contains a newline)", crel);
				r->st->skipped++;
			} else {
				fprintf(r->del, "/%s\n", crel);
				r->st->deleted++;
			}
		} else if (S_ISDIR(bst.st_mode) && bst.st_dev == r->base_dev && st.st_dev == r->cur_dev) {
			int bfd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int cfd = openat(curfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (bfd >= 0 && cfd >= 0)
				rc = walk_base(r, bfd, cfd, crel);
			if (bfd >= 0)
				close(bfd);
			if (cfd >= 0)
				close(cfd);
		}
		free(crel);
	}
	closedir(d);
	return rc;
}

int image_record_stop(const struct jail *j, struct record_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	const struct ioc_pool *pool = pool_get();
	if (!pool)
		return -1;
	char *rds = root_ds(j);
	char *snap = xasprintf("%s@%s", rds, RECORD_SNAP);
	char *tmpds = xasprintf("%s/.record-%s", pool->root, j->uuid);
	char *root = jail_root(j), *basedir = NULL;
	char *recdir = xasprintf("%s/recorded", j->path);
	char *newdir = xasprintf("%s/recorded.new", j->path);
	char *olddir = xasprintf("%s/recorded.old", j->path);
	int curfd = -1, basefd = -1, outfd = -1, rc = -1;
	bool cloned = false;
	struct rec r = {.out = -1, .st = stats};
	if (!zfs_exists(snap)) {
		if (!ioc_err_pending()) {
			ioc_err("jail %s is not recording: %s does not exist", jail_prop(j, P_TAG), snap);
			ioc_hint("start with 'iocell record start %s'", jail_prop(j, P_TAG));
		}
		goto out;
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		goto out;
	}
	/* A temporary read-only clone of the baseline (no .zfs/snapshot on zfs-fuse). */
	if (zfs_exists(tmpds))
		zfs_destroy(tmpds, "-r"); /* left over from an interrupted record stop */
	ioc_err_clear();
	struct kv cp;
	kv_init(&cp);
	kv_set(&cp, "readonly", "on");
	int c = zfs_clone(snap, tmpds, &cp);
	kv_free(&cp);
	if (c < 0)
		goto out;
	cloned = true;
	if (!(basedir = mounted_dir(tmpds)))
		goto out;
	curfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	basefd = open(basedir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (curfd < 0 || basefd < 0) {
		ioc_err("cannot open %s: %s", curfd < 0 ? root : basedir, strerror(errno));
		goto out;
	}
	struct stat cst, bst;
	fstat(curfd, &cst);
	fstat(basefd, &bst);
	r.cur_dev = cst.st_dev;
	r.base_dev = bst.st_dev;
	if (remove_tree_at(AT_FDCWD, newdir, NULL) < 0) {
		ioc_err("cannot remove the stale %s: %s", newdir, strerror(errno));
		goto out;
	}
	if (mkdir(newdir, 0755) < 0 || (outfd = open(newdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								O_CLOEXEC)) < 0) {
		ioc_err("cannot create %s: %s", newdir, strerror(errno));
		goto out;
	}
	r.out = outfd;
	int dfd = openat(outfd, DELETED_LIST, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	r.del = dfd >= 0 ? fdopen(dfd, "w") : NULL;
	if (!r.del) {
		ioc_err("cannot create %s/%s: %s", newdir, DELETED_LIST, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	if (walk_cur(&r, curfd, basefd, "") < 0 || walk_base(&r, basefd, curfd, "") < 0)
		goto out;
	if (fclose(r.del) != 0) {
		r.del = NULL;
		ioc_err("cannot write %s/%s: %s", newdir, DELETED_LIST, strerror(errno));
		goto out;
	}
	r.del = NULL;
	/* Replace an earlier recording. */
	if (remove_tree_at(AT_FDCWD, olddir, NULL) < 0 ||
	    (rename(recdir, olddir) < 0 && errno != ENOENT)) {
		ioc_err("cannot move the previous %s aside: %s", recdir, strerror(errno));
		goto out;
	}
	if (rename(newdir, recdir) < 0) {
		ioc_err("cannot rename %s to %s: %s", newdir, recdir, strerror(errno));
		rename(olddir, recdir);
		goto out;
	}
	remove_tree_at(AT_FDCWD, olddir, NULL);
	rc = 0;
out:
	if (r.del)
		fclose(r.del);
	while (r.depth > 0)
		pop_anc(&r);
	free(r.stack);
	if (curfd >= 0)
		close(curfd);
	if (basefd >= 0)
		close(basefd);
	if (outfd >= 0)
		close(outfd);
	if (rc < 0)
		remove_tree_at(AT_FDCWD, newdir, NULL);
	if (cloned)
		undo_destroy(tmpds, "-r");
	if (rc == 0 && zfs_destroy(snap, NULL) < 0)
		rc = -1;
	free(basedir);
	free(root);
	free(recdir);
	free(newdir);
	free(olddir);
	free(tmpds);
	free(snap);
	free(rds);
	return rc;
}

/* ---- package ---------------------------------------------------------------------------- */

static const char *amsg(struct archive *a)
{
	const char *s = archive_error_string(a);
	return s ? s : "unknown libarchive error";
}

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
		ioc_err("cannot write %s into the package: %s", name, amsg(a));
		return -1;
	}
	return 0;
}

static int ar_add_tree(struct archive *a, int dirfd, const char *rel)
{
	DIR *d = opendir_dup(dirfd);
	if (!d) {
		ioc_err("cannot read recorded/%s: %s", rel, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	char *buf = NULL;
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (streq(name, ".") || streq(name, "..") || (!*rel && streq(name, DELETED_LIST)))
			continue;
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) &&
		    !S_ISFIFO(st.st_mode)) {
			ioc_warn("not packaging recorded/%s/%s: not a file, directory, symlink or FIFO", rel,
				 name);
			continue;
		}
		char *crel = child_rel(rel, name);
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_stat(e, &st);
		archive_entry_set_pathname(e, crel);
		int fd = -1;
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
			if (n < 0) {
				ioc_err("cannot read symlink recorded/%s: %s", crel, strerror(errno));
				rc = -1;
			} else {
				target[n] = '\0';
				archive_entry_set_symlink(e, target);
			}
		} else if (S_ISREG(st.st_mode)) {
			fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				ioc_err("cannot read recorded/%s: %s", crel, strerror(errno));
				rc = -1;
			}
		} else {
			archive_entry_set_size(e, 0);
		}
		if (rc == 0 && archive_write_header(a, e) < ARCHIVE_WARN) {
			ioc_err("cannot add %s to the package: %s", crel, amsg(a));
			rc = -1;
		}
		if (rc == 0 && fd >= 0) {
			if (!buf)
				buf = xmalloc(1 << 17);
			for (;;) {
				ssize_t n = read(fd, buf, 1 << 17);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					ioc_err("cannot read recorded/%s: %s", crel, strerror(errno));
					rc = -1;
					break;
				}
				if (n == 0)
					break;
				if (archive_write_data(a, buf, (size_t)n) < 0) {
					ioc_err("cannot add %s to the package: %s", crel, amsg(a));
					rc = -1;
					break;
				}
			}
		}
		if (fd >= 0)
			close(fd);
		archive_entry_free(e);
		if (rc == 0 && S_ISDIR(st.st_mode)) {
			int cfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				ioc_err("cannot open recorded/%s: %s", crel, strerror(errno));
				rc = -1;
			} else {
				rc = ar_add_tree(a, cfd, crel);
				close(cfd);
			}
		}
		free(crel);
	}
	free(buf);
	closedir(d);
	return rc;
}

int image_package(const struct jail *j, char **out)
{
	*out = NULL;
	char *recdir = xasprintf("%s/recorded", j->path);
	char *pkgdir = path_in_root("packages");
	char *file = xasprintf("%s/%s.tar.xz", pkgdir, j->uuid);
	char *tmp = xasprintf("%s/.%s.tar.xz.partial", pkgdir, j->uuid);
	char *meta = NULL, *dl = NULL, *guid = NULL, *relsnap = NULL;
	int rfd = -1, rc = -1;
	struct archive *a = NULL;
	const char *rel = jail_prop(j, P_RELEASE);
	rfd = open(recdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0) {
		ioc_err("cannot package jail %s: %s: %s", jail_prop(j, P_TAG), recdir, strerror(errno));
		ioc_hint("record the changes first: 'iocell record start %s', change things, "
			 "'iocell record stop %s'", jail_prop(j, P_TAG), jail_prop(j, P_TAG));
		goto out;
	}
	if (streq(rel, "none") || streq(rel, "")) {
		ioc_err("cannot package jail %s: it has no release (an empty jail)", jail_prop(j, P_TAG));
		goto out;
	}
	if (mkdir_p(pkgdir, 0755) < 0)
		goto out;
	relsnap = ds_release_snap(rel);
	guid = zfs_get1(relsnap, "guid");
	ioc_err_clear();
	char *when = time_tag();
	meta = xasprintf("format=1\nrelease=%s\nrelease_guid=%s\nsource_uuid=%s\nsource_tag=%s\n"
			 "created=%s\n", rel, guid ? guid : "-", j->uuid, jail_prop(j, P_TAG), when);
	free(when);
	size_t dlen = 0;
	int dfd = openat(rfd, DELETED_LIST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		close(dfd);
		char *dp = xasprintf("%s/%s", recdir, DELETED_LIST);
		dl = read_file(dp, &dlen);
		free(dp);
		if (!dl)
			goto out;
	}
	a = archive_write_new();
	if (!a || archive_write_add_filter_xz(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK) {
		ioc_err("cannot set up the package writer: %s", a ? amsg(a) : "out of memory");
		goto out;
	}
	unlink(tmp);
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		ioc_err("cannot create %s: %s", tmp, amsg(a));
		goto out;
	}
	if (ar_add_mem(a, PACKAGE_META, meta, strlen(meta)) < 0 ||
	    ar_add_mem(a, DELETED_LIST, dl ? dl : "", dl ? dlen : 0) < 0 ||
	    ar_add_tree(a, rfd, "") < 0)
		goto out_unlink;
	if (archive_write_close(a) != ARCHIVE_OK) {
		ioc_err("cannot finish %s: %s", tmp, amsg(a));
		goto out_unlink;
	}
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		ioc_err("cannot sync %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out_unlink;
	}
	close(fd);
	char hex[SHA256_HEX_LEN + 1];
	if (sha256_file(tmp, hex) < 0)
		goto out_unlink;
	if (rename(tmp, file) < 0) {
		ioc_err("cannot rename %s to %s: %s", tmp, file, strerror(errno));
		goto out_unlink;
	}
	if (write_sha_file(file, hex) < 0) {
		unlink(file);
		goto out;
	}
	*out = file;
	file = NULL;
	rc = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (a)
		archive_write_free(a);
	if (rfd >= 0)
		close(rfd);
	free(relsnap);
	free(guid);
	free(meta);
	free(dl);
	free(recdir);
	free(pkgdir);
	free(file);
	free(tmp);
	return rc;
}

/* ---- find and verify -------------------------------------------------------------------- */

static void scan_dir(const char *dir, const char *name, const char *ext, struct strv *hits)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !startswith(de->d_name, name) || !endswith(de->d_name, ext))
			continue;
		sv_addf(hits, "%s/%s", dir, de->d_name);
	}
	closedir(d);
}

int image_find(const char *name, enum image_kind *kind, char **path)
{
	*path = NULL;
	if (!*name || strchr(name, '/')) {
		ioc_err("invalid package or image name '%s'", name);
		return -1;
	}
	char *pk = path_in_root("packages"), *im = path_in_root("images");
	struct strv pkgs, imgs;
	sv_init(&pkgs);
	sv_init(&imgs);
	scan_dir(pk, name, ".tar.xz", &pkgs);
	scan_dir(im, name, ".zfs", &imgs);
	int rc = -1;
	/* An exact name wins over longer ones. */
	char *exact_p = xasprintf("%s/%s.tar.xz", pk, name), *exact_i = xasprintf("%s/%s.zfs", im, name);
	size_t n = pkgs.n + imgs.n;
	if (n == 0) {
		ioc_err("no package or image named %s* in %s or %s", name, pk, im);
		ioc_hint("make one with 'iocell package NAME' or 'iocell export NAME'");
	} else if (n > 1 && !(sv_contains(&pkgs, exact_p) ^ sv_contains(&imgs, exact_i))) {
		struct sbuf b;
		sb_init(&b);
		for (size_t i = 0; i < pkgs.n; i++)
			sb_printf(&b, "%s%s", b.len ? ", " : "", base_name(pkgs.v[i]));
		for (size_t i = 0; i < imgs.n; i++)
			sb_printf(&b, "%s%s", b.len ? ", " : "", base_name(imgs.v[i]));
		ioc_err("'%s' is ambiguous: %s", name, b.s);
		ioc_hint("give more of the name");
		sb_free(&b);
	} else if (n > 1) {
		*kind = sv_contains(&pkgs, exact_p) ? IK_PACKAGE : IK_IMAGE;
		*path = xstrdup(*kind == IK_PACKAGE ? exact_p : exact_i);
		rc = 0;
	} else {
		*kind = pkgs.n ? IK_PACKAGE : IK_IMAGE;
		*path = xstrdup(pkgs.n ? pkgs.v[0] : imgs.v[0]);
		rc = 0;
	}
	free(exact_p);
	free(exact_i);
	sv_free(&pkgs);
	sv_free(&imgs);
	free(pk);
	free(im);
	return rc;
}

int image_verify(const char *file)
{
	char *sp = sha_path(file);
	size_t len;
	char *text = read_file(sp, &len);
	int rc = -1;
	char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
	if (!text) {
		ioc_err("cannot verify %s: no checksum file %s", file, sp);
		ioc_hint("a package or image comes with its .sha256 file; copy it alongside");
	} else if (!sha256_lookup(text, base_name(file), true, want)) {
		ioc_err("cannot verify %s: %s holds no SHA-256 for %s", file, sp, base_name(file));
	} else if (sha256_file(file, got) == 0) {
		if (!sha256_equal(got, want)) {
			ioc_err("checksum mismatch for %s: expected %s, got %s", file, want, got);
			ioc_hint("the file is corrupt or was altered; nothing was created");
		} else {
			rc = 0;
		}
	}
	free(text);
	free(sp);
	return rc;
}

/* ---- new jails -------------------------------------------------------------------------- */

/* A free tag: WANT (an error when taken), else PREFER when free, else a default. */
static char *choose_tag(const char *want, const char *prefer)
{
	if (want)
		return tag_claim(want);
	if (prefer && *prefer && !streq(prefer, "-")) {
		char *owner = index_tag_owner(prefer, NULL);
		if (!owner && !ioc_err_pending())
			return xstrdup(prefer);
		free(owner);
		if (ioc_err_pending())
			return NULL;
	}
	char *def = time_tag();
	char *t = tag_first_free(def, 1, true);
	free(def);
	if (!t && !ioc_err_pending())
		ioc_err("no free default tag");
	return t;
}

/* A new clone jail of RELEASE (the same property rules as create -c).  On failure
 * nothing remains. */
static int new_clone_jail(const char *release, const struct kv *given, char uuid[37], char **tag)
{
	*tag = NULL;
	jail_new_uuid(uuid);
	struct kv saved = {0}, props, z;
	char *ds = ds_jail(uuid);
	char *relroot = NULL, *snap = ds_release_snap(release), *root = NULL;
	int rc = -1;
	kv_init(&props);
	kv_init(&z);
	if (defaults_load(&saved) < 0)
		goto out;
	if (!zfs_exists(snap)) {
		if (!ioc_err_pending()) {
			ioc_err("release %s is not fetched", release);
			ioc_hint("fetch it with 'iocell fetch release=%s' first", release);
		}
		goto out;
	}
	if (!(*tag = choose_tag(prop_kv_get(given, P_TAG), NULL)))
		goto out;
	char *rel = xasprintf("releases/%s/root", release);
	relroot = path_in_root(rel);
	free(rel);
	struct defctx dc = {.uuid = uuid, .host_release = release, .root = relroot};
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (p->flags & PF_DERIVED)
			continue;
		const char *v = kv_get(given, p->name);
		if (!v && !(p->flags & PF_NODEFAULT))
			v = kv_get(&saved, p->name);
		char *b = v ? xstrdup(v) : prop_builtin_default(p, &dc);
		kv_set(&props, p->name, b);
		free(b);
	}
	prop_kv_set(&props, P_HOST_HOSTUUID, uuid);
	prop_kv_set(&props, P_TYPE, "clonejail");
	prop_kv_set(&props, P_RELEASE, release);
	prop_kv_set(&props, P_TAG, *tag);
	prop_kv_set(&props, P_LAST_STARTED, "none");
	prop_kv_set(&props, P_PKGLIST, "none");
	char err[512];
	if (!props_check_config(&props, err, sizeof(err))) {
		ioc_err("%s", err);
		goto out;
	}
	for (size_t i = 0; i < props.k.n; i++) {
		char *name = prop_zfs_name(prop_find(props.k.v[i]), false);
		kv_set(&z, name, props.v.v[i]);
		free(name);
	}
	if (zfs_create(ds, &z, false) < 0)
		goto out;
	root = xasprintf("%s/root", ds);
	if (zfs_clone(snap, root, NULL) < 0) {
		undo_destroy(ds, "-r");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*tag);
		*tag = NULL;
	}
	kv_free(&saved);
	kv_free(&props);
	kv_free(&z);
	free(relroot);
	free(snap);
	free(root);
	free(ds);
	return rc;
}

/* ---- import a package ------------------------------------------------------------------- */

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
		ioc_err("cannot read package %s: %s", file, amsg(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Read the current entry's data (at most max bytes) into a string. */
static char *entry_text(struct archive *a, size_t max, const char *file, const char *what)
{
	struct sbuf b;
	sb_init(&b);
	char buf[8192];
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n < 0) {
			ioc_err("cannot read %s from %s: %s", what, file, amsg(a));
			sb_free(&b);
			return NULL;
		}
		if (n == 0)
			break;
		sb_addn(&b, buf, (size_t)n);
		if (b.len > max) {
			ioc_err("%s in %s is too large", what, file);
			sb_free(&b);
			return NULL;
		}
	}
	if (!b.s)
		sb_add(&b, "");
	return sb_steal(&b);
}

static char *meta_get(const char *meta, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = meta; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (n > kl && strncmp(l, key, kl) == 0 && l[kl] == '=')
			return xstrndup(l + kl + 1, n - kl - 1);
		l = e ? e + 1 : NULL;
	}
	return NULL;
}

static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

/* Apply one deletion beneath the root: the parent is resolved without following any
 * symlink; the last component is unlinked (a directory removed with its contents). */
static int delete_beneath(int rootfd, const char *path)
{
	while (*path == '/')
		path++;
	if (!safe_relpath(path)) {
		ioc_err("refusing the deletion of '%s': not a plain path beneath the jail root", path);
		return -1;
	}
	char *p = xstrdup(path);
	size_t l = strlen(p);
	while (l > 0 && p[l - 1] == '/')
		p[--l] = '\0';
	char *slash = strrchr(p, '/');
	const char *leaf = slash ? slash + 1 : p;
	int dfd;
	if (slash) {
		*slash = '\0';
		dfd = open_nofollow(rootfd, p, O_PATH | O_DIRECTORY, 0);
		if (dfd >= 0) { /* unlinkat needs a real directory fd for removing trees */
			int t = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(dfd);
			dfd = t;
		}
	} else {
		dfd = dup(rootfd);
	}
	int rc = 0;
	if (dfd < 0) {
		if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EXDEV) {
			ioc_err("cannot delete /%s in the jail: %s", path, strerror(errno));
			rc = -1;
		} /* else: already gone, or behind a symlink (not ours to follow) */
	} else if (remove_tree_at(dfd, leaf, NULL) < 0) {
		ioc_err("cannot delete /%s in the jail: %s", path, strerror(errno));
		rc = -1;
	}
	if (dfd >= 0)
		close(dfd);
	free(p);
	return rc;
}

static int extract_pkg(const char *file, const char *root)
{
	struct archive *a = open_pkg(file);
	if (!a)
		return -1;
	struct archive *w = archive_write_disk_new();
	int saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;
	if (!w || saved < 0) {
		ioc_err("cannot set up extraction: %s", w ? strerror(errno) : "out of memory");
		goto out;
	}
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
					       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					       ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
					       ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
					       ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR);
	if (chdir(root) < 0) {
		ioc_err("cannot enter %s: %s", root, strerror(errno));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			ioc_err("corrupt package %s: %s", file, amsg(a));
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		name = name ? strip_dot(name) : "";
		if (streq(name, PACKAGE_META) || streq(name, DELETED_LIST))
			continue;
		const char *hl = archive_entry_hardlink(e);
		mode_t t = archive_entry_filetype(e);
		if (!safe_relpath(name) || (hl && !safe_relpath(hl))) {
			ioc_err("refusing package entry '%s'%s%s: it points outside the jail root", name,
				hl ? " -> " : "", hl ? hl : "");
			goto out;
		}
		if (t == AE_IFCHR || t == AE_IFBLK || t == AE_IFSOCK) {
			ioc_err("refusing package entry '%s': device nodes are not allowed in a package", name);
			goto out;
		}
		archive_entry_set_pathname(e, name);
		r = archive_write_header(w, e);
		if (r < ARCHIVE_WARN) {
			ioc_err("refusing package entry '%s': %s", name, amsg(w));
			goto out;
		}
		if (archive_entry_size(e) > 0) {
			const void *buf;
			size_t len;
			la_int64_t off;
			while ((r = archive_read_data_block(a, &buf, &len, &off)) != ARCHIVE_EOF) {
				if (r < ARCHIVE_WARN) {
					ioc_err("corrupt data for '%s' in %s: %s", name, file, amsg(a));
					goto out;
				}
				if (archive_write_data_block(w, buf, len, off) < ARCHIVE_WARN) {
					ioc_err("cannot write '%s': %s", name, amsg(w));
					goto out;
				}
			}
		}
		if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
			ioc_err("cannot finish '%s': %s", name, amsg(w));
			goto out;
		}
	}
	if (archive_write_close(w) < ARCHIVE_WARN) {
		ioc_err("cannot finish extracting %s: %s", file, amsg(w));
		goto out;
	}
	rc = 0;
out:
	if (saved >= 0) {
		if (fchdir(saved) < 0 && rc == 0) {
			ioc_err("cannot return to the previous directory: %s", strerror(errno));
			rc = -1;
		}
		close(saved);
	}
	if (w)
		archive_write_free(w);
	archive_read_free(a);
	return rc;
}

int image_import_package(const char *file, const struct kv *given, char uuid[37], char **tag)
{
	*tag = NULL;
	/* First pass: the metadata and the deletion list, before anything is created. */
	struct archive *a = open_pkg(file);
	if (!a)
		return -1;
	char *meta = NULL, *dl = NULL, *rel = NULL, *guid = NULL, *relsnap = NULL, *cur = NULL;
	char *root = NULL;
	int rc = -1, rootfd = -1;
	bool made = false;
	struct archive_entry *e;
	if (archive_read_next_header(a, &e) != ARCHIVE_OK ||
	    !streq(strip_dot(archive_entry_pathname(e) ? archive_entry_pathname(e) : ""),
		   PACKAGE_META)) {
		ioc_err("%s is not an iocell package (no %s entry first)", file, PACKAGE_META);
		goto out;
	}
	if (!(meta = entry_text(a, 65536, file, PACKAGE_META)))
		goto out;
	if (archive_read_next_header(a, &e) == ARCHIVE_OK &&
	    streq(strip_dot(archive_entry_pathname(e) ? archive_entry_pathname(e) : ""),
		  DELETED_LIST) &&
	    !(dl = entry_text(a, 64 << 20, file, DELETED_LIST)))
		goto out;
	rel = meta_get(meta, "release");
	if (!rel || !*rel || !valid_component(rel)) {
		ioc_err("package %s records no valid release", file);
		goto out;
	}
	const char *want = prop_kv_get(given, P_RELEASE);
	if (want && !streq(want, rel)) {
		ioc_err("package %s was made on release %s, not %s", file, rel, want);
		ioc_hint("a package is applied on a jail of its own release");
		goto out;
	}
	relsnap = ds_release_snap(rel);
	if (!zfs_exists(relsnap)) {
		if (!ioc_err_pending()) {
			ioc_err("package %s needs release %s, which is not fetched", file, rel);
			ioc_hint("fetch it with 'iocell fetch release=%s'", rel);
		}
		goto out;
	}
	guid = meta_get(meta, "release_guid");
	cur = zfs_get1(relsnap, "guid");
	if (guid && cur && !streq(guid, "-") && !streq(guid, cur))
		ioc_warn("release %s was fetched again since package %s was made; files may differ",
			 rel, base_name(file));
	ioc_err_clear();
	if (new_clone_jail(rel, given, uuid, tag) < 0)
		goto out;
	made = true;
	struct jail *j = jail_load(uuid);
	if (!j)
		goto out;
	root = jail_root(j);
	bool mounted = j->mounted;
	jail_free(j);
	if (!mounted) {
		ioc_err("the new jail's dataset is not mounted");
		goto out;
	}
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		ioc_err("cannot open %s: %s", root, strerror(errno));
		goto out;
	}
	/* Deletions first: a path whose type changed is deleted, then extracted anew. */
	if (dl) {
		for (char *l = dl; *l;) {
			char *nl = strchr(l, '\n');
			if (nl)
				*nl = '\0';
			if (*l && delete_beneath(rootfd, l) < 0)
				goto out;
			if (!nl)
				break;
			l = nl + 1;
		}
	}
	if (extract_pkg(file, root) < 0)
		goto out;
	rc = 0;
out:
	if (rootfd >= 0)
		close(rootfd); /* an open directory keeps the dataset busy */
	rootfd = -1;
	if (rc < 0 && made) {
		char *ds = ds_jail(uuid);
		undo_destroy(ds, "-r");
		free(ds);
	}
	if (rc < 0) {
		free(*tag);
		*tag = NULL;
	}
	if (rootfd >= 0)
		close(rootfd);
	archive_read_free(a);
	free(root);
	free(meta);
	free(dl);
	free(rel);
	free(guid);
	free(cur);
	free(relsnap);
	return rc;
}

/* ---- export / import images ------------------------------------------------------------- */

struct xfer {
	int fd;
	struct sha256 h;
	bool hash;
	unsigned long long bytes;
	bool progress;
	time_t last;
};

static void xfer_progress(struct xfer *x, const char *what, bool done)
{
	if (!x->progress)
		return;
	time_t now = time(NULL);
	if (!done && now == x->last)
		return;
	x->last = now;
	fprintf(stderr, "\r%s: %.1f MiB%s   ", what, (double)x->bytes / 1048576.0, done ? ", done\n" : "");
}

static int export_cb(const void *buf, size_t n, void *arg)
{
	struct xfer *x = arg;
	if (write_all(x->fd, buf, n) < 0) {
		ioc_err("cannot write the image: %s", strerror(errno));
		return -1;
	}
	if (x->hash && sha256_update(&x->h, buf, n) < 0)
		return -1;
	x->bytes += n;
	xfer_progress(x, "exporting", false);
	return 0;
}

int image_export(const struct jail *j, int fd, char **out)
{
	if (out)
		*out = NULL;
	if (jail_running(j->uuid)) {
		ioc_err("jail %s is running: export needs a stopped jail", jail_prop(j, P_TAG));
		ioc_hint("stop it first with 'iocell stop %s'", jail_prop(j, P_TAG));
		return -1;
	}
	char *sn = time_snapname(EXPORT_SNAP_PREFIX);
	char *snap = xasprintf("%s@%s", j->ds, sn);
	free(sn);
	char *dir = NULL, *file = NULL, *tmp = NULL;
	int rc = -1, tfd = -1;
	bool snapped = false;
	struct xfer x = {.fd = fd, .progress = isatty_err() && !ioc_quiet};
	if (fd < 0) {
		dir = path_in_root("images");
		file = xasprintf("%s/%s.zfs", dir, j->uuid);
		tmp = xasprintf("%s/.%s.zfs.partial", dir, j->uuid);
		if (mkdir_p(dir, 0755) < 0)
			goto out;
		tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (tfd < 0) {
			ioc_err("cannot create %s: %s", tmp, strerror(errno));
			goto out;
		}
		x.fd = tfd;
		if (sha256_init(&x.h) < 0)
			goto out;
		x.hash = true;
	}
	if (zfs_snapshot(snap, true) < 0)
		goto out;
	snapped = true;
	if (zfs_send_to(snap, true, export_cb, &x) < 0)
		goto out;
	xfer_progress(&x, "exporting", true);
	if (tfd >= 0) {
		char hex[SHA256_HEX_LEN + 1];
		if (fsync(tfd) < 0 || close(tfd) < 0) {
			tfd = -1;
			ioc_err("cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		tfd = -1;
		x.hash = false;
		if (sha256_final_hex(&x.h, hex) < 0)
			goto out;
		if (rename(tmp, file) < 0) {
			ioc_err("cannot rename %s to %s: %s", tmp, file, strerror(errno));
			goto out;
		}
		if (write_sha_file(file, hex) < 0) {
			unlink(file);
			goto out;
		}
		*out = file;
		file = NULL;
	}
	rc = 0;
out:
	if (x.hash)
		sha256_free(&x.h);
	if (tfd >= 0)
		close(tfd);
	if (rc < 0 && tmp)
		unlink(tmp);
	if (snapped) {
		if (rc == 0) {
			if (zfs_destroy(snap, "-r") < 0)
				ioc_warn("could not remove the export snapshot %s: %s", snap, ioc_errmsg());
			ioc_err_clear();
		} else {
			undo_destroy(snap, "-r");
		}
	}
	free(snap);
	free(dir);
	free(file);
	free(tmp);
	return rc;
}

static long import_rd(void *buf, size_t n, void *arg)
{
	struct xfer *x = arg;
	for (;;) {
		ssize_t r = read(x->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ioc_err("cannot read the image: %s", strerror(errno));
			return -1;
		}
		x->bytes += (unsigned long long)r;
		xfer_progress(x, "importing", false);
		return (long)r;
	}
}

/* Give a received jail its own identity. */
static int reidentify(const char *uuid, const struct kv *given, char **tag)
{
	/* The jail model reads local and received values alike: the received properties
	 * need no rewriting, and a stream without them is no iocell jail. */
	struct jail *j = jail_load(uuid);
	if (!j) {
		ioc_err_ctx("the image is not an iocell jail export");
		return -1;
	}
	int rc = -1;
	char *old = xstrdup(jail_prop(j, P_HOST_HOSTUUID));
	struct kv set;
	kv_init(&set);
	*tag = choose_tag(prop_kv_get(given, P_TAG), jail_prop(j, P_TAG));
	if (!*tag)
		goto out;
	prop_kv_set(&set, P_HOST_HOSTUUID, uuid);
	prop_kv_set(&set, P_TAG, *tag);
	if (streq(jail_prop(j, P_HOST_HOSTNAME), old))
		prop_kv_set(&set, P_HOST_HOSTNAME, uuid);
	for (int m = 0; m < 10; m++) {
		char k[16];
		snprintf(k, sizeof(k), "vnet%d_mac", m);
		const char *v = kv_get(&j->props, k);
		if (v && !streq(v, "none"))
			kv_set(&set, k, "none");
	}
	char *olddef = xasprintf("iocell/jails/%s/data", old);
	if (streq(jail_prop(j, P_JAIL_ZFS_DATASET), olddef)) {
		char *nd = xasprintf("iocell/jails/%s/data", uuid);
		prop_kv_set(&set, P_JAIL_ZFS_DATASET, nd);
		free(nd);
	}
	free(olddef);
	prop_kv_set(&set, P_LAST_STARTED, "none");
	for (size_t i = 0; i < given->k.n; i++)
		if (!streq(given->k.v[i], "tag"))
			kv_set(&set, given->k.v[i], given->v.v[i]);
	for (size_t i = 0; i < set.k.n; i++) {
		const struct propdef *p = prop_find(set.k.v[i]);
		/* one zfs call per property on zfs-fuse: skip what is already right */
		if (!p || streq(jail_prop(j, prop_id_of(p)), set.v.v[i]))
			continue;
		char *zn = prop_zfs_name(p, false);
		int r = zfs_set(j->ds, zn, set.v.v[i]);
		free(zn);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*tag);
		*tag = NULL;
	}
	kv_free(&set);
	free(old);
	jail_free(j);
	return rc;
}

int image_import_stream(const char *file, int fd, const struct kv *given, char uuid[37], char **tag)
{
	*tag = NULL;
	jail_new_uuid(uuid);
	char *ds = ds_jail(uuid);
	struct xfer x = {.fd = fd, .progress = isatty_err() && !ioc_quiet};
	int rc = -1;
	struct ztable t = {0};
	if (file) {
		x.fd = open(file, O_RDONLY | O_CLOEXEC);
		if (x.fd < 0) {
			ioc_err("cannot read %s: %s", file, strerror(errno));
			free(ds);
			return -1;
		}
	}
	/* A file with no progress to show goes to zfs recv as its stdin: no copy, and
	 * `zfs recv -v` names the snapshots it made. */
	struct strv snaps;
	sv_init(&snaps);
	bool direct = file && !x.progress;
	int got = direct ? zfs_recv_fd(ds, x.fd, &snaps) : zfs_recv_from(ds, import_rd, &x, false);
	if (got < 0) {
		sv_free(&snaps);
		if (zfs_exists(ds))
			undo_destroy(ds, "-r");
		goto out;
	}
	xfer_progress(&x, "importing", true);
	/* Drop the export snapshot(s) the stream carried; the jail's own snapshots stay. */
	if (!direct) {
		const char *dss[] = {ds, NULL};
		if (zfs_list(&t, "name", dss, 1, "snapshot", NULL) < 0) {
			sv_free(&snaps);
			goto undo;
		}
		for (size_t i = 0; i < t.nrows; i++)
			sv_add(&snaps, t.rows[i].n ? t.rows[i].v[0] : "");
	}
	size_t dl = strlen(ds);
	for (size_t i = 0; i < snaps.n; i++) {
		const char *n = snaps.v[i];
		if (strncmp(n, ds, dl) != 0 || n[dl] != '@')
			continue; /* children's: the recursive destroy takes them */
		const char *at = strchr(n, '@');
		if (at && startswith(at + 1, EXPORT_SNAP_PREFIX) && zfs_destroy(n, "-r") < 0) {
			sv_free(&snaps);
			goto undo;
		}
	}
	sv_free(&snaps);
	if (reidentify(uuid, given, tag) < 0)
		goto undo;
	rc = 0;
	goto out;
undo:
	undo_destroy(ds, "-r");
out:
	ztable_free(&t);
	if (file && x.fd >= 0)
		close(x.fd);
	free(ds);
	return rc;
}

/* ---- package managers inside a jail's filesystem ---------------------------------------- */

static bool exists_beneath(int rootfd, const char *p)
{
	int fd = open_beneath(rootfd, p, O_PATH, 0);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

enum pkgmgr pkgmgr_detect(const char *root)
{
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return PM_NONE;
	enum pkgmgr pm = PM_NONE;
	if (exists_beneath(rfd, "usr/bin/apt-get") || exists_beneath(rfd, "etc/debian_version"))
		pm = PM_APT;
	else if (exists_beneath(rfd, "sbin/apk") || exists_beneath(rfd, "etc/alpine-release"))
		pm = PM_APK;
	else if (exists_beneath(rfd, "usr/sbin/pkg") || exists_beneath(rfd, "usr/local/sbin/pkg"))
		pm = PM_PKG;
	close(rfd);
	return pm;
}

const char *pkgmgr_name(enum pkgmgr pm)
{
	switch (pm) {
	case PM_APT: return "apt-get";
	case PM_APK: return "apk";
	case PM_PKG: return "pkg";
	default: return "none";
	}
}

static int no_pm(const struct jail *j)
{
	ioc_err("no known package manager in this jail (apt-get, apk, pkg): %s",
		jail_prop(j, P_TAG));
	ioc_hint("iocell runs the release's own package manager; this release has none");
	return -1;
}

#define APT_ENV "/usr/bin/env", "DEBIAN_FRONTEND=noninteractive"

/* Run argv in the jail's filesystem (host network); returns the exit status or -1. */
static int in_jail(struct jail *j, const char *const *argv)
{
	int status = 0;
	if (ioc_debug) {
		struct sbuf b;
		sb_init(&b);
		for (size_t i = 0; argv[i]; i++)
			sb_printf(&b, "%s%s", i ? " " : "", argv[i]);
		fprintf(stderr, "+ [in jail %s] %s\n", jail_prop(j, P_TAG), b.s);
		sb_free(&b);
	}
	fflush(NULL);
	if (plat_chroot(j, (char *const *)argv, &status) < 0)
		return -1;
	return status;
}

static int pm_refresh(struct jail *j, enum pkgmgr pm)
{
	const char *apt[] = {APT_ENV, "apt-get", "-q", "update", NULL};
	const char *apk[] = {"apk", "update", NULL};
	const char *pkg[] = {"pkg", "update", NULL};
	const char *const *argv = pm == PM_APT ? apt : pm == PM_APK ? apk : pkg;
	int st = in_jail(j, argv);
	if (st != 0 && st != -1)
		ioc_err("'%s update' failed in jail %s (exit status %d)", pkgmgr_name(pm),
			jail_prop(j, P_TAG), st);
	return st == 0 ? 0 : -1;
}

static int pm_install(struct jail *j, enum pkgmgr pm, const char *name)
{
	const char *apt[] = {APT_ENV, "apt-get", "-q", "-y", "install", "--", name, NULL};
	const char *apk[] = {"apk", "add", "--", name, NULL};
	const char *pkg[] = {"pkg", "install", "-y", name, NULL};
	const char *const *argv = pm == PM_APT ? apt : pm == PM_APK ? apk : pkg;
	return in_jail(j, argv);
}

static bool valid_pkgname(const char *s)
{
	if (!*s || *s == '-')
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
		      strchr("+-._:=~/@", *s)))
			return false;
	return true;
}

int image_install_pkglist(const char *uuid, const char *file)
{
	size_t len;
	char *text = read_file(file, &len);
	if (!text)
		return -1;
	struct strv names, failed;
	sv_init(&names);
	sv_init(&failed);
	for (char *l = text; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		char *h = strchr(l, '#');
		if (h)
			*h = '\0';
		struct strv w;
		split(&w, l, " \t\r", true);
		for (size_t i = 0; i < w.n; i++)
			sv_add(&names, w.v[i]);
		sv_free(&w);
		l = nl ? nl + 1 : NULL;
	}
	free(text);
	int rc = -1, lk = -1;
	struct jail *j = jail_load(uuid);
	if (!j)
		goto out;
	if ((lk = lock_jail(uuid, true)) < 0)
		goto out;
	char *root = jail_root(j);
	enum pkgmgr pm = pkgmgr_detect(root);
	free(root);
	if (names.n == 0) {
		rc = 0;
		goto out;
	}
	if (pm == PM_NONE) {
		no_pm(j);
		ioc_err_ctx("cannot install pkglist %s", file);
		goto out;
	}
	if (pm != PM_PKG && pm_refresh(j, pm) < 0) {
		ioc_err_ctx("cannot install packages %s", "(package index)");
		for (size_t i = 0; i < names.n; i++)
			sv_add(&failed, names.v[i]);
	} else {
		for (size_t i = 0; i < names.n; i++) {
			int st = valid_pkgname(names.v[i]) ? pm_install(j, pm, names.v[i]) : 1;
			if (st != 0) {
				ioc_warn("package %s failed to install in jail %s%s", names.v[i],
					 jail_prop(j, P_TAG),
					 valid_pkgname(names.v[i]) ? "" : " (not a package name)");
				sv_add(&failed, names.v[i]);
			}
		}
	}
	if (failed.n == 0) {
		rc = 0;
	} else {
		struct sbuf b;
		sb_init(&b);
		for (size_t i = 0; i < failed.n; i++)
			sb_printf(&b, "%s%s", i ? ", " : "", failed.v[i]);
		ioc_err("packages failed to install in jail %s (%s): %s", jail_prop(j, P_TAG), uuid, b.s);
		ioc_hint("the jail is kept; fix the names and install with 'iocell chroot %s %s install "
			 "...'", jail_prop(j, P_TAG), pkgmgr_name(pm));
		sb_free(&b);
	}
out:
	unlock_fd(lk);
	jail_free(j);
	sv_free(&names);
	sv_free(&failed);
	return rc;
}

/* ---- update / upgrade ------------------------------------------------------------------- */

/* Roll every dataset of the jail back to @name (newest snapshot: no -r needed). */
static int rollback_all(const char *ds, const char *name)
{
	struct ztable t;
	const char *dss[] = {ds, NULL};
	if (zfs_list(&t, "name", dss, 1000, "filesystem", NULL) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < t.nrows; i++) {
		char *s = xasprintf("%s@%s", t.rows[i].v[0], name);
		if (zfs_exists(s) && zfs_rollback(s, false) < 0)
			rc = -1;
		free(s);
	}
	ztable_free(&t);
	return rc;
}

static int update_basejail_release(const char *rel)
{
	char *rds = ds_release(rel);
	char *src = zfs_get1(rds, "iocell:source");
	free(rds);
	int rc = -1;
	if (!src)
		return -1;
	if (startswith(src, "debootstrap ")) {
		struct strv w;
		split(&w, src, " ", true);
		if (w.n >= 3) {
			struct fetch_opts o = {.release = rel, .ftphost = w.v[2]};
			printf("updating release %s from %s (fetching it again)\n", rel, w.v[2]);
			fflush(stdout);
			rc = release_fetch(&o);
		} else {
			ioc_err("release %s: cannot tell its mirror from iocell:source '%s'", rel, src);
		}
		sv_free(&w);
	} else {
		ioc_err("release %s was made from a root tarball (%s), which has no updater", rel, src);
		ioc_hint("fetch a newer tarball with 'iocell fetch release=%s ...' to update it", rel);
	}
	free(src);
	return rc;
}

int image_update(struct jail *j, char **snap)
{
	*snap = NULL;
	const char *tag = jail_prop(j, P_TAG);
	if (streq(jail_prop(j, P_TYPE), "basejail")) {
		const char *rel = jail_prop(j, P_RELEASE);
		if (update_basejail_release(rel) < 0) {
			ioc_err_ctx("cannot update basejail %s", tag);
			return -1;
		}
		printf("release %s updated: every basejail of it (%s included) picks it up at its "
		       "next start\n", rel, tag);
		return 0;
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		return -1;
	}
	char *root = jail_root(j);
	enum pkgmgr pm = pkgmgr_detect(root);
	free(root);
	if (pm == PM_NONE)
		return no_pm(j);
	char *sn = time_snapname("ioc-update_");
	char *full = xasprintf("%s@%s", j->ds, sn);
	free(sn);
	if (zfs_snapshot(full, true) < 0) {
		free(full);
		return -1;
	}
	printf("back-out snapshot %s created\n", full);
	fflush(stdout);
	const char *apt[] = {APT_ENV, "apt-get", "-q", "-y", "-o", "Dpkg::Options::=--force-confold",
			     "upgrade", NULL};
	const char *apk[] = {"apk", "upgrade", NULL};
	const char *pkg[] = {"pkg", "upgrade", "-y", NULL};
	int st = pm == PM_PKG ? 0 : pm_refresh(j, pm);
	if (st == 0) {
		st = in_jail(j, pm == PM_APT ? apt : pm == PM_APK ? apk : pkg);
		if (st > 0)
			ioc_err("the updater (%s upgrade) failed in jail %s with exit status %d",
				pkgmgr_name(pm), tag, st);
	}
	*snap = full;
	if (st != 0) {
		const char *at = strchr(full, '@');
		ioc_hint("roll back with 'iocell rollback %s%s' (the jail was left as the updater "
			 "left it)", tag, at);
		return -1;
	}
	return 0;
}

/* Replace the suite OLD (and OLD-updates, OLD-security, OLD/updates...) by NEW in the
 * apt source text; returns the number of replacements. */
static int swap_suite(const char *text, const char *old, const char *new, char **out)
{
	struct sbuf b;
	sb_init(&b);
	size_t ol = strlen(old);
	int n = 0;
	for (const char *p = text; *p;) {
		bool start = p == text || strchr(" \t:\n", p[-1]);
		if (start && strncmp(p, old, ol) == 0 && (!p[ol] || strchr(" \t\n-/", p[ol]))) {
			sb_add(&b, new);
			p += ol;
			n++;
			continue;
		}
		sb_addc(&b, *p++);
	}
	if (!b.s)
		sb_add(&b, "");
	*out = sb_steal(&b);
	return n;
}

static char *read_beneath(int rootfd, const char *path)
{
	int fd = open_beneath(rootfd, path, O_RDONLY | O_NOFOLLOW, 0);
	if (fd < 0)
		return NULL;
	struct sbuf b;
	sb_init(&b);
	char buf[8192];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && b.len < (4u << 20))
		sb_addn(&b, buf, (size_t)n);
	close(fd);
	if (!b.s)
		sb_add(&b, "");
	return sb_steal(&b);
}

static int switch_sources(const char *root, const char *old, const char *new)
{
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		ioc_err("cannot open %s: %s", root, strerror(errno));
		return -1;
	}
	struct strv files;
	sv_init(&files);
	sv_add(&files, "etc/apt/sources.list");
	int dfd = open_beneath(rfd, "etc/apt/sources.list.d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (endswith(de->d_name, ".list") || endswith(de->d_name, ".sources"))
				sv_addf(&files, "etc/apt/sources.list.d/%s", de->d_name);
		closedir(d);
	} else if (dfd >= 0) {
		close(dfd);
	}
	int total = 0, rc = 0;
	for (size_t i = 0; i < files.n && rc == 0; i++) {
		char *text = read_beneath(rfd, files.v[i]);
		if (!text)
			continue;
		char *nt = NULL;
		int n = swap_suite(text, old, new, &nt);
		if (n > 0)
			rc = write_beneath(rfd, files.v[i], nt, strlen(nt), 0644);
		total += n;
		free(nt);
		free(text);
	}
	if (rc == 0 && total == 0) {
		ioc_err("no apt source in the jail names the suite %s", old);
		ioc_hint("edit /etc/apt/sources.list in the jail ('iocell chroot NAME') yourself");
		rc = -1;
	}
	sv_free(&files);
	close(rfd);
	return rc;
}

/* The suite a Debian tree is on: VERSION_CODENAME of /etc/os-release, else REL. */
static char *tree_suite(const char *root, const char *rel)
{
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text = rfd >= 0 ? read_beneath(rfd, "etc/os-release") : NULL;
	if (rfd >= 0)
		close(rfd);
	char *s = text ? meta_get(text, "VERSION_CODENAME") : NULL;
	free(text);
	if (s && *s)
		return s;
	free(s);
	return xstrdup(rel);
}

int image_upgrade(struct jail *j, const char *newrel, char **snap)
{
	*snap = NULL;
	const char *tag = jail_prop(j, P_TAG), *cur = jail_prop(j, P_RELEASE);
	if (streq(newrel, cur)) {
		ioc_err("jail %s is already on release %s", tag, cur);
		return -1;
	}
	if (jail_running(j->uuid)) {
		ioc_err("jail %s is running: upgrade needs a stopped jail (it rolls back on failure)", tag);
		ioc_hint("stop it with 'iocell stop %s'", tag);
		return -1;
	}
	bool base = streq(jail_prop(j, P_TYPE), "basejail");
	char *relsnap = ds_release_snap(newrel);
	bool have = zfs_exists(relsnap);
	free(relsnap);
	if (!have && base) {
		if (!ioc_err_pending()) {
			ioc_err("release %s is not fetched", newrel);
			ioc_hint("fetch it with 'iocell fetch release=%s'", newrel);
		}
		return -1;
	}
	ioc_err_clear();
	char *root = jail_root(j);
	enum pkgmgr pm = base ? PM_NONE : pkgmgr_detect(root);
	if (!base && pm != PM_APT) {
		free(root);
		ioc_err("cannot upgrade jail %s: only basejails and Debian/Ubuntu trees can be "
			"upgraded (%s)", tag, pm == PM_NONE ? "no known package manager" : pkgmgr_name(pm));
		return -1;
	}
	char *sn = time_snapname("ioc-upgrade_");
	char *full = xasprintf("%s@%s", j->ds, sn);
	int rc = -1;
	if (zfs_snapshot(full, true) < 0)
		goto out;
	printf("back-out snapshot %s created\n", full);
	fflush(stdout);
	if (!base) {
		char *old = tree_suite(root, cur);
		const char *apt[] = {APT_ENV, "apt-get", "-q", "-y", "-o",
				     "Dpkg::Options::=--force-confold", "dist-upgrade", NULL};
		int st = switch_sources(root, old, newrel);
		if (st == 0)
			st = pm_refresh(j, pm);
		if (st == 0) {
			st = in_jail(j, apt);
			if (st > 0)
				ioc_err("apt-get dist-upgrade to %s failed in jail %s (exit status %d)", newrel,
					tag, st);
		}
		free(old);
		if (st != 0)
			goto undo;
	}
	if (zfs_set(j->ds, IOC_PROP_PREFIX "release", newrel) < 0)
		goto undo;
	*snap = full;
	full = NULL;
	rc = 0;
	goto out;
undo: {
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	int r = rollback_all(j->ds, sn);
	ioc_err_restore(&keep);
	if (r == 0)
		ioc_err_ctx("upgrade failed; jail %s was rolled back to %s", tag, sn);
	else
		ioc_err_ctx("upgrade failed and the rollback to %s failed too", sn);
}
out:
	free(full);
	free(sn);
	free(root);
	return rc;
}
