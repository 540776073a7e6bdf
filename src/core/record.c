/* Recording a jail's changes: see record.h for the method. */
#include "core/record.h"
#include "core/dataset.h"
#include "core/fsat.h"
#include "core/idmap.h"
#include "core/pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int record_start(const struct jail *j)
{
	_cleanup_free_ char *snap = xasprintf("%s/root@%s", j->ds, RECORD_SNAP);
	if (zfs_exists(snap)) {
		ioc_err("jail %s is already recording (since snapshot %s)", jail_prop(j, P_TAG),
			snap);
		ioc_hint("run 'iocell record stop %s' first", jail_prop(j, P_TAG));
		return -1;
	}
	if (ioc_err_pending())
		return -1;
	return zfs_snapshot(snap, false);
}

/* ---- decisions ------------------------------------------------------------------------- */

static bool same_type(const struct stat *a, const struct stat *b)
{
	return (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
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

enum record_change record_change(const struct stat *cur, const struct stat *base)
{
	if (!base || !same_type(cur, base))
		return RC_ADDED;
	bool same = S_ISDIR(cur->st_mode) ? meta_same(cur, base) : content_same(cur, base);
	return same ? RC_SAME : RC_CHANGED;
}

bool record_gone(const struct stat *base, const struct stat *cur)
{
	return !cur || !same_type(cur, base);
}

/* ---- writing recorded/ ----------------------------------------------------------------- */

struct anc {
	char *rel;
	struct stat st;
	bool made;
};

struct rec {
	int out;        /* recorded.new */
	uint32_t shift; /* the jail's files are owned by shift + their jail id */
	dev_t cur_dev, base_dev;
	FILE *del;
	struct record_stats *st;
	struct anc *stack; /* ancestors of the directory being walked (index = depth) */
	size_t depth, cap;
};

static int out_parent(struct rec *r, const char *rel, const char **leaf)
{
	const char *s = strrchr(rel, '/');
	*leaf = s ? s + 1 : rel;
	if (!s)
		return dup(r->out);
	_cleanup_free_ char *p = xstrndup(rel, (size_t)(s - rel));
	return open_nofollow(r->out, p, O_PATH | O_DIRECTORY, 0);
}

/* The jail id (0-65535) of host id `id` of a tree shifted to shift; nobody (65534) for
 * an id the jail does not own (as the jail itself sees it). */
static uint32_t jail_id(uint32_t id, uint32_t shift)
{
	return id >= shift && id - shift < IDMAP_COUNT ? id - shift : 65534;
}

/* recorded/ keeps the jail's own ids (0-65535): packages are portable between jails. */
static void set_meta(const struct rec *r, int pfd, const char *leaf, const struct stat *st,
		     bool link)
{
	int fl = link ? AT_SYMLINK_NOFOLLOW : 0;
	if (fchownat(pfd, leaf, jail_id(st->st_uid, r->shift), jail_id(st->st_gid, r->shift), fl) <
	    0)
		ioc_warn("recorded/%s: cannot set owner: %s", leaf, strerror(errno));
	if (!link && fchmodat(pfd, leaf, st->st_mode & 07777, 0) < 0)
		ioc_warn("recorded/%s: cannot set mode: %s", leaf, strerror(errno));
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	utimensat(pfd, leaf, ts, fl);
}

/* The directory recorded/REL with st's owner, mode and times. */
static int make_dir(struct rec *r, const char *rel, const struct stat *st)
{
	const char *leaf;
	_cleanup_close_ int pfd = out_parent(r, rel, &leaf);
	if (pfd < 0 || (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST)) {
		ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
		return -1;
	}
	set_meta(r, pfd, leaf, st, false);
	return 0;
}

/* Create ancestors (depth 1..d) that are not in recorded/ yet. */
static int materialize(struct rec *r)
{
	for (size_t i = 1; i <= r->depth; i++) {
		struct anc *a = &r->stack[i];
		if (a->made)
			continue;
		if (make_dir(r, a->rel, &a->st) < 0)
			return -1;
		a->made = true;
	}
	return 0;
}

static int copy_fd(int in, int out)
{
	_cleanup_free_ char *buf = xmalloc(1 << 17);
	for (;;) {
		ssize_t n = read(in, buf, 1 << 17);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
}

static int copy_file(int curfd, const char *name, const char *rel, int pfd, const char *leaf)
{
	_cleanup_close_ int in = openat(curfd, name,
					O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat ist;
	if (in < 0 || fstat(in, &ist) < 0 || !S_ISREG(ist.st_mode)) {
		ioc_err("cannot read /%s in the jail: %s", rel,
			in < 0 ? strerror(errno) : "not a regular file any more");
		return -1;
	}
	_cleanup_close_ int o = openat(pfd, leaf,
				       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o < 0) {
		ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
		return -1;
	}
	if (copy_fd(in, o) < 0) {
		ioc_err("cannot copy /%s into recorded/: %s", rel, strerror(errno));
		return -1;
	}
	return 0;
}

/* Copy one non-directory entry NAME of curfd (at REL) into recorded/. */
static int record_entry(struct rec *r, int curfd, const char *name, const char *rel,
			const struct stat *st)
{
	if (materialize(r) < 0)
		return -1;
	const char *leaf;
	_cleanup_close_ int pfd = out_parent(r, rel, &leaf);
	if (pfd < 0) {
		ioc_err("cannot open the directory of recorded/%s: %s", rel, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(curfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			ioc_err("cannot read symlink /%s: %s", rel, strerror(errno));
			return -1;
		}
		target[n] = '\0';
		if (symlinkat(target, pfd, leaf) < 0) {
			ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
			return -1;
		}
		set_meta(r, pfd, leaf, st, true);
	} else if (S_ISFIFO(st->st_mode)) {
		if (mkfifoat(pfd, leaf, 0600) < 0) {
			ioc_err("cannot create recorded/%s: %s", rel, strerror(errno));
			return -1;
		}
		set_meta(r, pfd, leaf, st, false);
	} else if (S_ISREG(st->st_mode)) {
		if (copy_file(curfd, name, rel, pfd, leaf) < 0)
			return -1;
		set_meta(r, pfd, leaf, st, false);
	}
	return 0;
}

static void count(struct rec *r, enum record_change c)
{
	if (c == RC_CHANGED)
		r->st->changed++;
	else
		r->st->added++;
}

/* ---- the walk -------------------------------------------------------------------------- */

int dir_each(int dirfd, int (*fn)(int dirfd, const char *name, const struct stat *st, void *arg),
	     void *arg)
{
	DIR *d = opendir_dup(dirfd);
	if (!d)
		return DIR_UNREADABLE;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;
		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished meanwhile */
		rc = fn(dirfd, de->d_name, &st, arg);
	}
	closedir(d);
	return rc;
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

static int walk_cur(struct rec *r, int curfd, int basefd, const char *rel);

/* One entry NAME (at crel) of the current tree, base its baseline's stat or NULL. */
static int cur_entry(struct rec *r, int curfd, int basefd, const char *name, const char *crel,
		     const struct stat *st, const struct stat *base)
{
	enum record_change c = record_change(st, base);
	if (!S_ISDIR(st->st_mode)) {
		if (c == RC_SAME)
			return 0;
		if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISSOCK(st->st_mode)) {
			ioc_warn("not recording /%s: device nodes and sockets are not packaged",
				 crel);
			r->st->skipped++;
			return 0;
		}
		if (record_entry(r, curfd, name, crel, st) < 0)
			return -1;
		count(r, c);
		return 0;
	}
	if (c != RC_SAME) {
		if (materialize(r) < 0 || make_dir(r, crel, st) < 0)
			return -1;
		count(r, c);
	}
	_cleanup_close_ int cfd = openat(curfd, name, DIR_FLAGS);
	_cleanup_close_ int bfd = c != RC_ADDED ? openat(basefd, name, DIR_FLAGS) : -1;
	if (cfd < 0)
		return 0;
	push_anc(r, crel, st, c != RC_SAME);
	int rc = walk_cur(r, cfd, bfd, crel);
	pop_anc(r);
	return rc;
}

struct cur_dir {
	struct rec *r;
	int basefd;
	const char *rel;
};

static int cur_one(int curfd, const char *name, const struct stat *st, void *arg)
{
	struct cur_dir *c = arg;
	if (S_ISDIR(st->st_mode) && st->st_dev != c->r->cur_dev)
		return 0; /* another dataset or mount: not ours */
	struct stat bst;
	bool have = c->basefd >= 0 && fstatat(c->basefd, name, &bst, AT_SYMLINK_NOFOLLOW) == 0;
	_cleanup_free_ char *crel = child_rel(c->rel, name);
	return cur_entry(c->r, curfd, c->basefd, name, crel, st, have ? &bst : NULL);
}

static int walk_cur(struct rec *r, int curfd, int basefd, const char *rel)
{
	struct cur_dir c = {.r = r, .basefd = basefd, .rel = rel};
	int rc = dir_each(curfd, cur_one, &c);
	if (rc == DIR_UNREADABLE) {
		ioc_err("cannot read directory /%s: %s", rel, strerror(errno));
		return -1;
	}
	return rc;
}

static void list_deleted(struct rec *r, const char *crel)
{
	if (strchr(crel, '\n')) {
		ioc_warn("cannot list the deleted path /%s (it contains a newline)", crel);
		r->st->skipped++;
	} else {
		fprintf(r->del, "/%s\n", crel);
		r->st->deleted++;
	}
}

struct base_dir {
	struct rec *r;
	int curfd;
	const char *rel;
};

static int walk_base(struct rec *r, int basefd, int curfd, const char *rel);

static int base_one(int basefd, const char *name, const struct stat *bst, void *arg)
{
	struct base_dir *b = arg;
	struct stat st;
	bool have = fstatat(b->curfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	_cleanup_free_ char *crel = child_rel(b->rel, name);
	if (record_gone(bst, have ? &st : NULL)) {
		list_deleted(b->r, crel);
		return 0;
	}
	if (!S_ISDIR(bst->st_mode) || bst->st_dev != b->r->base_dev || st.st_dev != b->r->cur_dev)
		return 0;
	_cleanup_close_ int bfd = openat(basefd, name, DIR_FLAGS);
	_cleanup_close_ int cfd = openat(b->curfd, name, DIR_FLAGS);
	return bfd >= 0 && cfd >= 0 ? walk_base(b->r, bfd, cfd, crel) : 0;
}

/* Paths of the baseline missing (or of another type) in the current tree. */
static int walk_base(struct rec *r, int basefd, int curfd, const char *rel)
{
	struct base_dir b = {.r = r, .curfd = curfd, .rel = rel};
	int rc = dir_each(basefd, base_one, &b);
	if (rc == DIR_UNREADABLE) {
		ioc_err("cannot read the baseline directory /%s: %s", rel, strerror(errno));
		return -1;
	}
	return rc;
}

int record_walk(int curfd, int basefd, int outfd, FILE *del, uint32_t shift,
		struct record_stats *st)
{
	struct stat cst = {0}, bst = {0};
	fstat(curfd, &cst);
	fstat(basefd, &bst);
	struct rec r = {.out = outfd,
			.shift = shift,
			.cur_dev = cst.st_dev,
			.base_dev = bst.st_dev,
			.del = del,
			.st = st};
	int rc = walk_cur(&r, curfd, basefd, "") < 0 || walk_base(&r, basefd, curfd, "") < 0 ? -1
											     : 0;
	while (r.depth > 0)
		pop_anc(&r);
	free(r.stack);
	return rc;
}

/* ---- record stop ----------------------------------------------------------------------- */

/* Walk into the new directory newdir (which must not exist) with its deletion list. */
static int write_recording(int curfd, int basefd, const char *newdir, uint32_t shift,
			   struct record_stats *stats)
{
	_cleanup_close_ int outfd = -1;
	if (mkdir(newdir, 0755) < 0 || (outfd = open(newdir, DIR_FLAGS)) < 0) {
		ioc_err("cannot create %s: %s", newdir, strerror(errno));
		return -1;
	}
	int dfd = openat(outfd, DELETED_LIST, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			 0644);
	FILE *del = dfd >= 0 ? fdopen(dfd, "w") : NULL;
	if (!del) {
		ioc_err("cannot create %s/%s: %s", newdir, DELETED_LIST, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	if (record_walk(curfd, basefd, outfd, del, shift, stats) < 0) {
		fclose(del);
		return -1;
	}
	if (fclose(del) != 0) {
		ioc_err("cannot write %s/%s: %s", newdir, DELETED_LIST, strerror(errno));
		return -1;
	}
	return 0;
}

/* recorded.new becomes recorded/, replacing an earlier recording. */
static int replace_recording(const char *recdir, const char *newdir, const char *olddir)
{
	if (remove_tree_at(AT_FDCWD, olddir, NULL) < 0 ||
	    (rename(recdir, olddir) < 0 && errno != ENOENT)) {
		ioc_err("cannot move the previous %s aside: %s", recdir, strerror(errno));
		return -1;
	}
	if (rename(newdir, recdir) < 0) {
		ioc_err("cannot rename %s to %s: %s", newdir, recdir, strerror(errno));
		rename(olddir, recdir);
		return -1;
	}
	remove_tree_at(AT_FDCWD, olddir, NULL);
	return 0;
}

/* Compare the jail's root with the baseline clone tmpds into recorded/. */
static int record_against(const struct jail *j, const char *tmpds, struct record_stats *stats)
{
	_cleanup_free_ char *basedir = mounted_path(tmpds);
	if (!basedir)
		return -1;
	_cleanup_free_ char *root = jail_root(j);
	_cleanup_close_ int curfd = open(root, DIR_FLAGS);
	_cleanup_close_ int basefd = open(basedir, DIR_FLAGS);
	if (curfd < 0 || basefd < 0) {
		ioc_err("cannot open %s: %s", curfd < 0 ? root : basedir, strerror(errno));
		return -1;
	}
	_cleanup_free_ char *recdir = xasprintf("%s/recorded", j->path);
	_cleanup_free_ char *newdir = xasprintf("%s/recorded.new", j->path);
	_cleanup_free_ char *olddir = xasprintf("%s/recorded.old", j->path);
	if (remove_tree_at(AT_FDCWD, newdir, NULL) < 0) {
		ioc_err("cannot remove the stale %s: %s", newdir, strerror(errno));
		return -1;
	}
	struct idmap m;
	if (idmap_of_jail(j, &m) < 0)
		return -1;
	if (write_recording(curfd, basefd, newdir, m.shift, stats) < 0 ||
	    replace_recording(recdir, newdir, olddir) < 0) {
		remove_tree_at(AT_FDCWD, newdir, NULL);
		return -1;
	}
	return 0;
}

int record_stop(const struct jail *j, struct record_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	const struct ioc_pool *pool = pool_get();
	if (!pool)
		return -1;
	_cleanup_free_ char *snap = xasprintf("%s/root@%s", j->ds, RECORD_SNAP);
	if (!zfs_exists(snap)) {
		if (!ioc_err_pending()) {
			ioc_err("jail %s is not recording: %s does not exist", jail_prop(j, P_TAG),
				snap);
			ioc_hint("start with 'iocell record start %s'", jail_prop(j, P_TAG));
		}
		return -1;
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		return -1;
	}
	/* A temporary read-only clone of the baseline (no .zfs/snapshot on zfs-fuse). */
	_cleanup_free_ char *tmpds = xasprintf("%s/.record-%s", pool->root, j->uuid);
	if (zfs_exists(tmpds))
		zfs_destroy(tmpds, "-r"); /* left over from an interrupted record stop */
	ioc_err_clear();
	if (clone_readonly(snap, tmpds) < 0)
		return -1;
	int rc = record_against(j, tmpds, stats);
	undo_destroy(tmpds, "-r", "");
	if (rc == 0 && zfs_destroy(snap, NULL) < 0)
		rc = -1;
	return rc;
}
