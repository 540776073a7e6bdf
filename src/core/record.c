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

/* The walk's state: the two trees' devices (a mount point below either is not crossed). */
static struct rec rec_make(int curfd, int basefd, int outfd, FILE *del, uint32_t shift,
			   struct record_stats *st)
{
	struct stat cst = {0}, bst = {0};
	if (fstat(curfd, &cst) < 0)
		cst.st_dev = 0;
	if (fstat(basefd, &bst) < 0)
		bst.st_dev = 0;
	return (struct rec){.out = outfd,
			    .shift = shift,
			    .cur_dev = cst.st_dev,
			    .base_dev = bst.st_dev,
			    .del = del,
			    .st = st};
}

int record_walk(int curfd, int basefd, int outfd, FILE *del, uint32_t shift,
		struct record_stats *st)
{
	struct rec r = rec_make(curfd, basefd, outfd, del, shift, st);
	int rc = walk_cur(&r, curfd, basefd, "") < 0 || walk_base(&r, basefd, curfd, "") < 0 ? -1
											     : 0;
	while (r.depth > 0)
		pop_anc(&r);
	free(r.stack);
	return rc;
}

/* ---- the paths `zfs diff` named (OpenZFS) ---------------------------------------------- */

/* Is rel below one of the directories in dirs? */
static bool below_any(const struct strv *dirs, const char *rel)
{
	for (size_t i = 0; i < dirs->n; i++) {
		size_t n = strlen(dirs->v[i]);
		if (strncmp(rel, dirs->v[i], n) == 0 && rel[n] == '/')
			return true;
	}
	return false;
}

/* lstat of REL beneath dirfd through no symlink; *pfd gets its directory (or -1). */
static bool stat_rel(int dirfd, const char *rel, struct stat *st, int *pfd, const char **leaf)
{
	*pfd = -1;
	const char *slash = strrchr(rel, '/');
	*leaf = slash ? slash + 1 : rel;
	if (dirfd < 0)
		return false;
	if (slash) {
		_cleanup_free_ char *dir = xstrndup(rel, (size_t)(slash - rel));
		*pfd = open_nofollow(dirfd, dir, DIR_FLAGS, 0);
	} else {
		*pfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	}
	return *pfd >= 0 && fstatat(*pfd, *leaf, st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* recorded/ gets REL's parent directories (with their current owner, mode and times) where
 * it has none yet, as the walk makes them for a changed entry below. */
static int ensure_parents(struct rec *r, int curfd, const char *rel)
{
	for (const char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		_cleanup_free_ char *p = xstrndup(rel, (size_t)(s - rel));
		if (faccessat(r->out, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		struct stat st;
		const char *leaf;
		int pfd;
		bool ok = stat_rel(curfd, p, &st, &pfd, &leaf);
		if (pfd >= 0)
			close(pfd);
		if (!ok || !S_ISDIR(st.st_mode)) {
			ioc_err("cannot read directory /%s in the jail: %s", p,
				ok ? "not a directory" : strerror(errno));
			return -1;
		}
		if (make_dir(r, p, &st) < 0)
			return -1;
	}
	return 0;
}

/* One path that zfs diff says was created, modified or renamed to: recorded as the walk
 * would record it (an added directory with all of its tree, which zfs diff does not list
 * when the directory was renamed; a directory whose entries changed only is passed). */
static int changed_one(struct rec *r, int curfd, int basefd, const char *rel, struct strv *whole)
{
	struct stat st, bst;
	const char *leaf;
	int cfd, bfd;
	bool have = stat_rel(curfd, rel, &st, &cfd, &leaf);
	bool based = false;
	bfd = -1;
	if (have)
		based = stat_rel(basefd, rel, &bst, &bfd, &leaf);
	int rc = 0;
	if (!have || (S_ISDIR(st.st_mode) && st.st_dev != r->cur_dev))
		goto out; /* gone again, under a symlink now, or another file system */
	enum record_change c = record_change(&st, based ? &bst : NULL);
	if (c == RC_SAME || ensure_parents(r, curfd, rel) < 0) {
		rc = c == RC_SAME ? 0 : -1;
		goto out;
	}
	if (S_ISDIR(st.st_mode) && c == RC_CHANGED) {
		/* its entries come from the diff, one by one */
		rc = make_dir(r, rel, &st);
		if (rc == 0)
			count(r, c);
		goto out;
	}
	if (S_ISDIR(st.st_mode))
		sv_add(whole, rel);
	rc = cur_entry(r, cfd, bfd, leaf, rel, &st, based ? &bst : NULL);
out:
	if (cfd >= 0)
		close(cfd);
	if (bfd >= 0)
		close(bfd);
	return rc;
}

int record_paths(int curfd, int basefd, int outfd, FILE *del, uint32_t shift,
		 struct record_stats *st, const struct strv *changed, const struct strv *gone)
{
	struct rec r = rec_make(curfd, basefd, outfd, del, shift, st);
	_cleanup_strv_ struct strv whole = {0}, listed = {0};
	sv_init(&whole);
	sv_init(&listed);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < changed->n; i++)
		if (*changed->v[i] && !below_any(&whole, changed->v[i]))
			rc = changed_one(&r, curfd, basefd, changed->v[i], &whole);
	for (size_t i = 0; rc == 0 && i < gone->n; i++) {
		const char *rel = gone->v[i], *leaf;
		struct stat b, c;
		int bfd, cfd;
		if (!*rel || below_any(&listed, rel))
			continue;
		bool had = stat_rel(basefd, rel, &b, &bfd, &leaf);
		bool has = stat_rel(curfd, rel, &c, &cfd, &leaf);
		if (bfd >= 0)
			close(bfd);
		if (cfd >= 0)
			close(cfd);
		if (had && record_gone(&b, has ? &c : NULL)) {
			list_deleted(&r, rel);
			sv_add(&listed, rel);
		}
	}
	while (r.depth > 0)
		pop_anc(&r);
	free(r.stack);
	return rc;
}

/* Undo zfs diff's escapes in place: every byte but '!'..'~' (and the backslash itself)
 * is printed as a backslash and four octal digits. */
static void diff_unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7' && p[4] >= '0' && p[4] <= '7') {
			*o++ = (char)(((p[1] - '0') << 9 | (p[2] - '0') << 6 | (p[3] - '0') << 3 |
				       (p[4] - '0')) &
				      0xff);
			p += 4;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* A path of zfs diff relative to the mount point mnt ("" for mnt itself), or NULL. */
static const char *diff_rel(const char *path, const char *mnt)
{
	size_t n = strlen(mnt);
	while (n > 1 && mnt[n - 1] == '/')
		n--;
	if (strncmp(path, mnt, n) != 0 || (path[n] && path[n] != '/'))
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_uniq(struct strv *v)
{
	if (v->n < 2)
		return;
	qsort(v->v, v->n, sizeof(char *), cmp_str);
	size_t k = 1;
	for (size_t i = 1; i < v->n; i++) {
		if (streq(v->v[i], v->v[k - 1]))
			free(v->v[i]);
		else
			v->v[k++] = v->v[i];
	}
	v->n = k;
	v->v[k] = NULL;
}

int record_diff_paths(const char *diff, const char *mnt, struct strv *changed, struct strv *gone)
{
	sv_init(changed);
	sv_init(gone);
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, diff ? diff : "", "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		_cleanup_strv_ struct strv f = {0};
		split(&f, lines.v[i], "\t", false);
		/* CHANGE TYPE PATH [NEWPATH] (-H -F) */
		bool rename = f.n == 4 && streq(f.v[0], "R");
		if (!(f.n == 3 || rename) || strlen(f.v[0]) != 1 || !strchr("+-MR", f.v[0][0]) ||
		    (f.v[0][0] == 'R') != rename) {
			ioc_err("cannot read the output of zfs diff: \"%s\"", lines.v[i]);
			return -1;
		}
		for (size_t k = 2; k < f.n; k++) {
			diff_unescape(f.v[k]);
			const char *rel = diff_rel(f.v[k], mnt);
			if (!rel) {
				ioc_err("zfs diff names %s, which is not below %s", f.v[k], mnt);
				return -1;
			}
			char c = f.v[0][0];
			bool to_gone = c == '-' || (c == 'R' && k == 2);
			sv_add(to_gone ? gone : changed, rel);
		}
	}
	sort_uniq(changed);
	sort_uniq(gone);
	return 0;
}

/* ---- record stop ----------------------------------------------------------------------- */

/* How recorded.new is filled: the whole-tree walk, or the paths `zfs diff` named. */
struct rec_source {
	const struct strv *changed, *gone; /* NULL: walk both trees */
};

/* Walk into the new directory newdir (which must not exist) with its deletion list. */
static int write_recording(int curfd, int basefd, const char *newdir, uint32_t shift,
			   struct record_stats *stats, const struct rec_source *src)
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
	int rc = src->changed ? record_paths(curfd, basefd, outfd, del, shift, stats, src->changed,
					     src->gone)
			      : record_walk(curfd, basefd, outfd, del, shift, stats);
	if (rc < 0) {
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

/* Compare the jail's root with the baseline directory basedir into recorded/. */
static int record_against(const struct jail *j, const char *basedir, struct record_stats *stats,
			  const struct rec_source *src)
{
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
	if (write_recording(curfd, basefd, newdir, m.shift, stats, src) < 0 ||
	    replace_recording(recdir, newdir, olddir) < 0) {
		remove_tree_at(AT_FDCWD, newdir, NULL);
		return -1;
	}
	return 0;
}

/* OpenZFS: what `zfs diff` lists, against the snapshot's own directory
 * (ROOT/.zfs/snapshot/ioc-record, mounted on demand). */
static int record_by_diff(const struct jail *j, const char *snap, struct record_stats *stats)
{
	_cleanup_free_ char *rootds = xasprintf("%s/root", j->ds);
	_cleanup_free_ char *out = NULL;
	if (zfs_diff(snap, rootds, &out) < 0)
		return -1;
	_cleanup_free_ char *root = jail_root(j);
	_cleanup_strv_ struct strv changed = {0}, gone = {0};
	if (record_diff_paths(out, root, &changed, &gone) < 0)
		return -1;
	_cleanup_free_ char *basedir = xasprintf("%s/.zfs/snapshot/%s", root, RECORD_SNAP);
	struct rec_source src = {.changed = &changed, .gone = &gone};
	return record_against(j, basedir, stats, &src);
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
	int rc;
	if (zfs_is_openzfs()) {
		rc = record_by_diff(j, snap, stats);
	} else {
		/* A temporary read-only clone of the baseline (no .zfs/snapshot on zfs-fuse). */
		_cleanup_free_ char *tmpds = xasprintf("%s/.record-%s", pool->root, j->uuid);
		if (zfs_exists(tmpds))
			zfs_destroy(tmpds, "-r"); /* left over from an interrupted record stop */
		ioc_err_clear();
		if (clone_readonly(snap, tmpds) < 0)
			return -1;
		_cleanup_free_ char *basedir = mounted_path(tmpds);
		struct rec_source walk = {0};
		rc = basedir ? record_against(j, basedir, stats, &walk) : -1;
		undo_destroy(tmpds, "-r", "");
	}
	if (rc == 0 && zfs_destroy(snap, NULL) < 0)
		rc = -1;
	return rc;
}
