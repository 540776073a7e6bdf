/*
 * Fetching a release: POOL/iocell/releases/REL/root (snapshot @release) filled from its
 * sources (sources.c, unpack.c) and the basejail masters POOL/iocell/base/REL/DIR
 * (snapshot @release, basejail.c).  A first fetch creates them; a later one updates them
 * in place, keeping the previous state as @ioc-prev-DATE until it has succeeded (jails
 * cloned from the old @release keep it alive).  A fetch either completes or leaves the
 * pool exactly as it found it, also when interrupted by a signal.
 */
#include "core/dataset.h"
#include "core/fetch.h"
#include "core/lock.h"
#include "core/parse.h"
#include "core/progress.h"
#include "core/props.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Summary of the last successful release_fetch (for the command's one-line report). */
static struct {
	bool updated;
	unsigned long long files, bytes;
} g_summary;

/* One-line value for a ZFS user property: no tabs/newlines, non-empty, bounded. */
static char *prop_value(const char *s)
{
	size_t n = strlen(s);
	if (n > 1000)
		n = 1000;
	char *v = xstrndup(s, n);
	for (char *p = v; *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	if (!*v) {
		free(v);
		v = xstrdup("-");
	}
	return v;
}

static char *fetch_time(void)
{
	char buf[64];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	return xstrdup(buf);
}

static unsigned long long g_count_files, g_count_bytes;

static int count_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)p;
	(void)type;
	if (f->level > 0)
		g_count_files++;
	if (S_ISREG(st->st_mode))
		g_count_bytes += (unsigned long long)st->st_size;
	return 0;
}

/* Number of entries and bytes of regular files below path (one file system). */
static void count_tree(const char *path, unsigned long long *files, unsigned long long *bytes)
{
	g_count_files = g_count_bytes = 0;
	if (nftw(path, count_cb, 32, FTW_PHYS | FTW_MOUNT) != 0)
		ioc_err_clear(); /* only statistics */
	*files = g_count_files;
	*bytes = g_count_bytes;
}

static void fetch_free(struct fetch *f)
{
	fetch_sources_free(f);
	sv_free(&f->files);
	sv_free(&f->labels);
	sv_free(&f->snaps);
	sv_free(&f->masters);
	free(f->rel);
	free(f->suite);
	free(f->mirror);
	free(f->source);
	free(f->relds);
	free(f->rootds);
	free(f->baseds);
	free(f->snap);
}

/* ---- undo ------------------------------------------------------------------------------ */

static void undo_init(struct undo *u)
{
	sv_init(&u->created);
	sv_init(&u->renamed);
	sv_init(&u->snapped);
}

static void undo_free(struct undo *u)
{
	sv_free(&u->created);
	sv_free(&u->renamed);
	sv_free(&u->snapped);
}

/* Bring back the state before the fetch.  The pending error stays the reported one. */
static void undo_run(struct undo *u, const char *prev)
{
	for (size_t i = u->created.n; i-- > 0;)
		undo_destroy(u->created.v[i], "-r", "the half-made ");
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t i = u->renamed.n; i-- > 0;) {
		const char *ds = u->renamed.v[i];
		_cleanup_free_ char *cur = xasprintf("%s@" RELEASE_SNAP, ds);
		_cleanup_free_ char *old = xasprintf("%s@%s", ds, prev);
		bool ok = true;
		if (sv_contains(&u->snapped, ds) && zfs_destroy(cur, NULL) < 0) {
			ioc_warn("could not remove the new snapshot %s: %s", cur, ioc_errmsg());
			ok = false;
		}
		if (ok && zfs_rollback(old, false) < 0) {
			ioc_warn("could not roll %s back: %s", ds, ioc_errmsg());
			ok = false;
		}
		if (ok && zfs_rename(old, cur) < 0) {
			ioc_warn("could not rename %s back to %s: %s", old, cur, ioc_errmsg());
			ok = false;
		}
		if (!ok)
			ioc_warn("restore %s by hand: zfs rollback -r %s && zfs rename %s %s", ds,
				 old, old, cur);
	}
	ioc_err_restore(&keep);
}

/* ---- create ---------------------------------------------------------------------------- */

static int create_steps(struct fetch *f, struct undo *u)
{
	_cleanup_kv_ struct kv props;
	kv_init(&props);
	_cleanup_free_ char *src = prop_value(f->source);
	_cleanup_free_ char *when = fetch_time();
	kv_set(&props, RELEASE_PROP_SOURCE, src);
	kv_set(&props, RELEASE_PROP_FETCHED, when);
	if (zfs_create(f->relds, &props, true) < 0)
		return -1;
	sv_add(&u->created, f->relds);
	_cleanup_free_ char *root = NULL;
	if (zfs_create(f->rootds, NULL, false) < 0 || !(root = mounted_path(f->rootds)))
		return -1;
	if (interrupt_check() < 0 || fetch_fill_root(f, root) < 0)
		return -1;
	if (zfs_snapshot(f->snap, false) < 0)
		return -1;
	if (fetch_make_masters(f, root, "-", u) < 0)
		return -1;
	count_tree(root, &g_summary.files, &g_summary.bytes);
	return interrupt_check();
}

static int create_release(struct fetch *f)
{
	struct undo u;
	undo_init(&u);
	int rc = create_steps(f, &u);
	if (rc < 0)
		undo_run(&u, "-");
	undo_free(&u);
	return rc;
}

/* ---- update ---------------------------------------------------------------------------- */

/* A snapshot name PREFIX+time not used on any of the datasets involved. */
static char *unique_prev(struct fetch *f)
{
	_cleanup_free_ char *base = time_snapname(PREV_PREFIX);
	char *name = xstrdup(base);
	for (int n = 2;; n++) {
		_cleanup_free_ char *suffix = xasprintf("@%s", name);
		bool used = false;
		for (size_t i = 0; i < f->snaps.n && !used; i++)
			used = endswith(f->snaps.v[i], suffix);
		if (!used)
			return name;
		free(name);
		name = xasprintf("%s.%d", base, n);
	}
}

/* Drop the previous snapshots unless clones (jails) still depend on them. */
static void drop_prev(struct undo *u, const char *prev)
{
	for (size_t i = 0; i < u->renamed.n; i++) {
		_cleanup_free_ char *s = xasprintf("%s@%s", u->renamed.v[i], prev);
		if (zfs_destroy(s, NULL) < 0 && zfs_lasterr != ZE_CLONES)
			ioc_warn("could not remove the previous snapshot %s: %s", s, ioc_errmsg());
		ioc_err_clear();
	}
}

static int set_fetch_props(struct fetch *f)
{
	_cleanup_free_ char *src = prop_value(f->source);
	_cleanup_free_ char *when = fetch_time();
	int rc = zfs_set(f->relds, RELEASE_PROP_SOURCE, src);
	if (rc == 0)
		rc = zfs_set(f->relds, RELEASE_PROP_FETCHED, when);
	return rc;
}

static int update_steps(struct fetch *f, struct undo *u, const char *prev)
{
	_cleanup_free_ char *prevsnap = xasprintf("%s@%s", f->rootds, prev);
	_cleanup_free_ char *root = mounted_path(f->rootds);
	if (!root)
		return -1;
	if (zfs_rename(f->snap, prevsnap) < 0)
		return -1;
	sv_add(&u->renamed, f->rootds);
	if (show_progress())
		fprintf(stderr, "updating release %s (previous state kept as @%s until done)\n",
			f->rel, prev);
	if (wipe_dir(root) < 0 || interrupt_check() < 0 || fetch_fill_root(f, root) < 0)
		return -1;
	if (zfs_snapshot(f->snap, false) < 0)
		return -1;
	sv_add(&u->snapped, f->rootds);
	if (fetch_make_masters(f, root, prev, u) < 0 || set_fetch_props(f) < 0)
		return -1;
	count_tree(root, &g_summary.files, &g_summary.bytes);
	return interrupt_check();
}

static int update_release(struct fetch *f)
{
	if (!sv_contains(&f->snaps, f->snap)) {
		ioc_err("release %s is incomplete: %s does not exist (an interrupted fetch?)",
			f->rel, f->snap);
		ioc_hint(
			"roll it back to its newest %s snapshot and rename that to @%s, or destroy it "
			"with 'zfs destroy -r %s' when no jail uses it",
			PREV_PREFIX, RELEASE_SNAP, f->relds);
		return -1;
	}
	struct undo u;
	undo_init(&u);
	_cleanup_free_ char *prev = unique_prev(f);
	int rc = update_steps(f, &u, prev);
	if (rc == 0)
		drop_prev(&u, prev);
	else
		undo_run(&u, prev);
	undo_free(&u);
	return rc;
}

/* ---- the fetch ------------------------------------------------------------------------- */

/* The datasets and snapshots of DS and its children: snapshots into f->snaps, the
 * children into datasets.  1 (DS exists), 0 (it does not) or -1 (error). */
static int list_state(struct fetch *f, const char *ds, struct strv *datasets)
{
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {ds, NULL};
	if (zfs_list(&t, "name", dss, 2, "filesystem,snapshot", NULL) < 0) {
		if (zfs_lasterr != ZE_NOENT)
			return -1;
		ioc_err_clear();
		return 0;
	}
	for (size_t i = 0; i < t.nrows; i++) {
		const char *n = t.rows[i].n ? t.rows[i].v[0] : "";
		if (strchr(n, '@'))
			sv_add(&f->snaps, n);
		else if (!streq(n, ds))
			sv_add(datasets, n);
	}
	return 1;
}

/* Existing datasets and snapshots of the release and its masters (two zfs calls). */
static int load_state(struct fetch *f)
{
	_cleanup_strv_ struct strv children = {0};
	sv_init(&children);
	int r = list_state(f, f->relds, &children);
	if (r < 0)
		return -1;
	f->exists = r == 1;
	if (f->exists && !sv_contains(&children, f->rootds)) {
		ioc_err("release %s is incomplete: %s has no root dataset", f->rel, f->relds);
		ioc_hint("remove it with 'zfs destroy -r %s' and fetch again", f->relds);
		return -1;
	}
	if ((r = list_state(f, f->baseds, &f->masters)) < 0)
		return -1;
	f->base_exists = r == 1;
	if (!f->exists && f->base_exists) {
		ioc_err("%s exists but release %s does not (left from an earlier release?)",
			f->baseds, f->rel);
		ioc_hint("remove it with 'zfs destroy -r %s' if no basejail uses it", f->baseds);
		return -1;
	}
	return 0;
}

static int fetch_release(struct fetch *f, const struct fetch_opts *o, int *lk)
{
	f->pool = pool_get();
	if (!f->pool || pool_close_tree() < 0)
		return -1;
	f->rel = o->release ? xstrdup(o->release) : host_codename();
	if (!o->release && streq(f->rel, "unknown")) {
		ioc_err("cannot tell this host's distribution codename (no VERSION_CODENAME in /etc/os-release)");
		ioc_hint("name the release: iocell fetch release=NAME ...");
		return -1;
	}
	if (!valid_component(f->rel)) {
		ioc_err("invalid release name '%s': use letters, digits and . _ : - (not first)",
			f->rel);
		return -1;
	}
	f->relds = ds_release(f->rel);
	f->rootds = ds_release_root(f->rel);
	f->baseds = ds_base(f->rel);
	f->snap = ds_release_snap(f->rel);
	if ((*lk = release_lock(f->rel)) < 0)
		return -1;
	if (load_state(f) < 0 || fetch_prepare_sources(f, o) < 0)
		return -1;
	g_summary.updated = f->exists;
	return f->exists ? update_release(f) : create_release(f);
}

int release_fetch_summary(bool *updated, unsigned long long *files, unsigned long long *bytes)
{
	*updated = g_summary.updated;
	*files = g_summary.files;
	*bytes = g_summary.bytes;
	return 0;
}

int release_fetch(const struct fetch_opts *o)
{
	memset(&g_summary, 0, sizeof(g_summary));
	struct fetch f;
	memset(&f, 0, sizeof(f));
	sv_init(&f.files);
	sv_init(&f.labels);
	sv_init(&f.snaps);
	sv_init(&f.masters);
	int lk = -1;
	struct sigsave ss;
	interrupt_catch(&ss);
	int rc = fetch_release(&f, o, &lk);
	struct ioc_errsave keep;
	if (rc < 0)
		ioc_err_save(&keep);
	fetch_free(&f);
	if (rc < 0)
		ioc_err_restore(&keep);
	unlock_fd(lk);
	interrupt_restore(&ss);
	return rc;
}
