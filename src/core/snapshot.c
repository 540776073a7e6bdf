/* snapshot, snaplist, snapremove, rollback, promote: plans from tables, then zfs. */
#include "core/snapshot.h"
#include "core/idmap.h"
#include "core/txn.h"
#include "core/pool.h"
#include "core/zquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Deep enough for every dataset of a jail (or of a pool) in one `zfs list -r`. */
#define ALL_DEPTH 1000

static const char *tag_of(const struct jail *j) { return jail_prop(j, P_TAG); }

bool snapname_ok(const char *snap)
{
	if (snap && valid_component(snap) && !streq(snap, "ALL"))
		return true;
	ioc_err("invalid snapshot name '%s'", snap ? snap : "");
	ioc_hint("a snapshot name is letters, digits and . _ : - starting with a letter or digit "
		 "(and not ALL)");
	return false;
}

const char *snap_part(const char *full)
{
	const char *at = strchr(full, '@');
	return at ? at + 1 : full;
}

bool snap_of(const char *full, const char *ds)
{
	size_t n = strlen(ds);
	return strncmp(full, ds, n) == 0 && full[n] == '@';
}

/* ---- dependants -------------------------------------------------------------------- */

int snap_dependants(const struct ztable *t, const char *jails, const struct strv *snaps,
		    struct strv *out)
{
	int found = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		const struct strv *r = &t->rows[i];
		if (r->n < 3 || streq(r->v[1], "-") || !sv_contains(snaps, r->v[1]))
			continue;
		const char *u = ds_below(r->v[0], jails);
		_cleanup_free_ char *d = u ? xasprintf("jail %.*s (%s)", (int)strcspn(u, "/"), u,
						       r->v[2])
					   : xstrdup(r->v[0]);
		if (!sv_contains(out, d))
			sv_add(out, d);
		found++;
	}
	return found;
}

/* Error when clones depend on snaps: "cannot WHAT: dependent clones: ...", from one
 * `zfs list` of the pool. */
static int refuse_dependants(const struct strv *snaps, const char *what)
{
	if (snaps->n == 0)
		return 0;
	_cleanup_ztable_ struct ztable t = {0};
	if (pool_datasets(&t, "name,origin,iocell:tag") < 0)
		return -1;
	_cleanup_free_ char *jails = ds_jails();
	_cleanup_strv_ struct strv deps = {0};
	sv_init(&deps);
	if (snap_dependants(&t, jails, snaps, &deps) == 0)
		return 0;
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < deps.n; i++)
		sb_printf(&b, "%s%s", i ? ", " : "", deps.v[i]);
	ioc_err("cannot %s: dependent clones: %s", what, b.s);
	ioc_hint("destroy those jails ('iocell destroy NAME') or make them independent "
		 "('iocell promote NAME') first");
	sb_free(&b);
	return -1;
}

/* ---- snapshot ---------------------------------------------------------------------- */

/* Until time(2), which names the snapshots, says the next second: glibc's time() reads
 * the coarse clock, a tick (up to 10 ms) behind CLOCK_REALTIME. */
static void sleep_to_next_second(void)
{
	time_t was = time(NULL);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec ts = {0, 1000000000L - now.tv_nsec + 1000000L};
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec = 1;
		ts.tv_nsec -= 1000000000L;
	}
	nanosleep(&ts, NULL);
	for (int i = 0; i < 200 && time(NULL) == was; i++) {
		struct timespec tick = {0, 5000000L};
		nanosleep(&tick, NULL);
	}
}

static int snap_make(const struct jail *j, const char *snap, const char *prefix, char **made)
{
	*made = NULL;
	/* An automatic name is unique per second: on a clash wait for the next second. */
	for (int attempt = 0; attempt < 3; attempt++) {
		free(*made);
		*made = snap ? xstrdup(snap) : time_snapname(prefix);
		_cleanup_free_ char *full = xasprintf("%s@%s", j->ds, *made);
		if (zfs_snapshot(full, true) == 0)
			return 0;
		if (zfs_lasterr != ZE_EXISTS || snap)
			break;
		sleep_to_next_second();
	}
	if (zfs_lasterr == ZE_EXISTS) {
		ioc_err("cannot snapshot jail %s: a snapshot named %s already exists", tag_of(j),
			*made);
		ioc_hint("choose another name; see 'iocell snaplist %s'", tag_of(j));
	}
	free(*made);
	*made = NULL;
	return -1;
}

int snap_create(const struct jail *j, const char *snap, char **made)
{
	return snap_make(j, snap, "ioc-", made);
}

int snap_create_auto(const struct jail *j, const char *prefix, char **made)
{
	return snap_make(j, NULL, prefix, made);
}

/* ---- snaplist ---------------------------------------------------------------------- */

void snaplist_rows(const struct ztable *in, const char *ds, struct ztable *out)
{
	out->nrows = 0;
	out->rows = NULL;
	for (size_t i = 0; i < in->nrows; i++) {
		const struct strv *r = &in->rows[i];
		if (r->n < 4 || !snap_of(r->v[0], ds))
			continue;
		const char *row[] = {snap_part(r->v[0]), r->v[1], r->v[2], r->v[3]};
		ztable_add(out, row, 4);
	}
}

/* Rows "NAME,CREATION,REFERENCED,USED,CREATETXG" by their createtxg. */
static int by_txg(const void *a, const void *b)
{
	const struct strv *x = a, *y = b;
	long long tx = x->n >= 5 ? strtoll(x->v[4], NULL, 10) : 0;
	long long ty = y->n >= 5 ? strtoll(y->v[4], NULL, 10) : 0;
	return tx < ty ? -1 : tx > ty;
}

int snap_list(const struct jail *j, struct ztable *out)
{
	out->nrows = 0;
	out->rows = NULL;
	const char *dss[] = {j->ds, NULL};
	_cleanup_ztable_ struct ztable t = {0};
	/* exact values (zfs get -p; zfs-fuse's zfs list has no -p), oldest first */
	if (zfs_get_rows(&t, "creation,referenced,used,createtxg", dss, 1) < 0)
		return -1;
	qsort(t.rows, t.nrows, sizeof(*t.rows), by_txg);
	for (size_t i = 0; i < t.nrows; i++) {
		if (t.rows[i].n < 5)
			continue;
		time_t when = (time_t)strtoll(t.rows[i].v[1], NULL, 10);
		struct tm tm;
		char buf[64];
		if (localtime_r(&when, &tm) &&
		    strftime(buf, sizeof(buf), "%a %b %e %k:%M %Y", &tm)) {
			free(t.rows[i].v[1]);
			t.rows[i].v[1] = xstrdup(buf);
		}
	}
	snaplist_rows(&t, j->ds, out);
	return 0;
}

/* ---- snapremove -------------------------------------------------------------------- */

void snapremove_plan_free(struct snapremove_plan *pl)
{
	sv_free(&pl->victims);
	sv_free(&pl->ontop);
	sv_free(&pl->single);
}

void snapremove_plan_build(const struct ztable *snaps, const char *ds, const char *snap,
			   struct snapremove_plan *pl)
{
	sv_init(&pl->victims);
	sv_init(&pl->ontop);
	sv_init(&pl->single);
	for (size_t i = 0; i < snaps->nrows; i++) {
		if (!snaps->rows[i].n)
			continue;
		const char *full = snaps->rows[i].v[0];
		/* only snapshots of the jail's datasets, whatever the table holds */
		if (!strchr(full, '@') || !(snap_of(full, ds) || ds_below(full, ds)))
			continue;
		if (snap && !streq(snap_part(full), snap))
			continue;
		sv_add(&pl->victims, full);
		if (snap_of(full, ds))
			sv_add(&pl->ontop, snap_part(full));
	}
	for (size_t i = 0; i < pl->victims.n; i++)
		if (!sv_contains(&pl->ontop, snap_part(pl->victims.v[i])))
			sv_add(&pl->single, pl->victims.v[i]);
}

int snapremove_prepare(const struct jail *j, const char *snap, struct snapremove_plan *pl)
{
	/* Every snapshot of every dataset of the jail, oldest first (one zfs call). */
	const char *dss[] = {j->ds, NULL};
	_cleanup_ztable_ struct ztable t = {0};
	int rc = zfs_list(&t, "name", dss, ALL_DEPTH, "snapshot", "createtxg");
	snapremove_plan_build(&t, j->ds, snap, pl);
	if (rc < 0)
		return -1;
	if (pl->victims.n == 0) {
		if (!snap)
			return 0;
		ioc_err("jail %s has no snapshot %s", tag_of(j), snap);
		ioc_hint("see 'iocell snaplist %s'", tag_of(j));
		return -1;
	}
	_cleanup_free_ char *what = !snap ? xasprintf("remove the snapshots of jail %s", tag_of(j))
					  : xasprintf("remove snapshot %s of jail %s", snap,
						      tag_of(j));
	return refuse_dependants(&pl->victims, what);
}

int snapremove_execute(const struct jail *j, const struct snapremove_plan *pl,
		       void (*removed)(const char *what, void *arg), void *arg)
{
	for (size_t i = 0; i < pl->ontop.n; i++) {
		_cleanup_free_ char *full = xasprintf("%s@%s", j->ds, pl->ontop.v[i]);
		if (zfs_destroy(full, "-r") < 0)
			return -1;
		if (removed)
			removed(full + strlen(j->ds), arg);
	}
	for (size_t i = 0; i < pl->single.n; i++) {
		if (zfs_destroy(pl->single.v[i], NULL) < 0)
			return -1;
		if (removed)
			removed(pl->single.v[i] + strlen(j->ds), arg);
	}
	return 0;
}

/* ---- rollback ---------------------------------------------------------------------- */

struct txgrow {
	unsigned long long txg;
	size_t idx;
};

static int txg_cmp(const void *a, const void *b)
{
	const struct txgrow *x = a, *y = b;
	if (x->txg != y->txg)
		return x->txg < y->txg ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void txg_rows(const struct ztable *g, struct ztable *t)
{
	_cleanup_free_ struct txgrow *o = xcalloc(g->nrows + 1, sizeof(*o));
	size_t n = 0;
	for (size_t i = 0; i < g->nrows; i++) {
		if (g->rows[i].n < 3)
			continue;
		o[n].txg = strtoull(g->rows[i].v[2], NULL, 10);
		o[n].idx = i;
		n++;
	}
	qsort(o, n, sizeof(*o), txg_cmp);
	t->nrows = 0;
	t->rows = NULL;
	for (size_t k = 0; k < n; k++) {
		char txg[24];
		snprintf(txg, sizeof(txg), "%llu", o[k].txg);
		const char *cells[] = {g->rows[o[k].idx].v[0], txg};
		ztable_add(t, cells, 2);
	}
}

void rollback_plan_free(struct rollback_plan *pl)
{
	sv_free(&pl->targets);
	sv_free(&pl->missing);
	sv_free(&pl->newer);
	for (size_t i = 0; i < pl->ngroups; i++) {
		free(pl->groups[i].snap);
		sv_free(&pl->groups[i].on);
	}
	free(pl->groups);
	pl->groups = NULL;
	pl->ngroups = 0;
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* The creation txg of NAME among the rows, or false. */
static bool txg_of(const struct ztable *t, const char *name, unsigned long long *txg)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].n >= 2 && streq(t->rows[i].v[0], name)) {
			*txg = strtoull(t->rows[i].v[1], NULL, 10);
			return true;
		}
	return false;
}

/* The newer snapshots by name, oldest first, each with the datasets having it. */
static void group_newer(const struct ztable *t, const char *ds, struct rollback_plan *pl)
{
	const char *slash = strrchr(ds, '/');
	size_t dl = slash ? (size_t)(slash + 1 - ds) : 0;
	for (size_t i = 0; i < t->nrows; i++) {
		const char *full = t->rows[i].v[0];
		if (!sv_contains(&pl->newer, full))
			continue;
		const char *sn = snap_part(full);
		struct rollback_newer *g = NULL;
		for (size_t k = 0; k < pl->ngroups && !g; k++)
			if (streq(pl->groups[k].snap, sn))
				g = &pl->groups[k];
		if (!g) {
			pl->groups = xrealloc(pl->groups, (pl->ngroups + 1) * sizeof(*pl->groups));
			g = &pl->groups[pl->ngroups++];
			g->snap = xstrdup(sn);
			sv_init(&g->on);
		}
		sv_take(&g->on, xstrndup(full + dl, (size_t)(strchr(full, '@') - full) - dl));
	}
}

bool rollback_plan_build(const struct ztable *t, const char *ds, const char *snap,
			 struct rollback_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	sv_init(&pl->targets);
	sv_init(&pl->missing);
	sv_init(&pl->newer);
	_cleanup_strv_ struct strv fss = {0};
	sv_init(&fss);
	for (size_t i = 0; i < t->nrows; i++) {
		const char *fs = t->rows[i].v[0];
		/* the jail's own filesystems only, whatever the table holds */
		if (t->rows[i].n >= 2 && !strchr(fs, '@') && (streq(fs, ds) || ds_below(fs, ds)))
			sv_add(&fss, fs);
	}
	/* Children first: reverse name order puts DS/root before DS. */
	if (fss.n > 1)
		qsort(fss.v, fss.n, sizeof(char *), cmp_desc);
	bool top_has = false;
	for (size_t f = 0; f < fss.n; f++) {
		const char *fs = fss.v[f];
		char *target = xasprintf("%s@%s", fs, snap);
		unsigned long long txg;
		if (!txg_of(t, target, &txg)) {
			sv_add(&pl->missing, fs);
			free(target);
			continue;
		}
		if (streq(fs, ds))
			top_has = true;
		sv_take(&pl->targets, target);
		for (size_t i = 0; i < t->nrows; i++) {
			const char *s = t->rows[i].v[0];
			if (t->rows[i].n >= 2 && snap_of(s, fs) &&
			    strtoull(t->rows[i].v[1], NULL, 10) > txg)
				sv_add(&pl->newer, s);
		}
	}
	group_newer(t, ds, pl);
	return top_has;
}

/* Every dataset and snapshot of DS with its creation txg, as `zfs get -Hp -r createtxg`
 * rows (name, property, value, source) in its order: OpenZFS lists them with exact
 * numbers (`zfs list -p`, a shorter answer); zfs-fuse needs the parsable get. */
static int createtxgs(const char *const *dss, struct ztable *g)
{
	if (!zfs_is_openzfs())
		return zfs_get(g, "createtxg", dss, NULL, true, true, -1);
	_cleanup_ztable_ struct ztable t = {0};
	if (zfs_list_exact(&t, "name,createtxg", dss, ALL_DEPTH, "filesystem,volume,snapshot",
			   NULL) < 0)
		return -1;
	g->nrows = 0;
	g->rows = NULL;
	for (size_t i = 0; i < t.nrows; i++)
		if (t.rows[i].n >= 2) {
			const char *cells[] = {t.rows[i].v[0], "createtxg", t.rows[i].v[1], "-"};
			ztable_add(g, cells, 4);
		}
	return 0;
}

int rollback_prepare(const struct jail *j, const char *snap, bool force, struct rollback_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	if (jail_running(j->uuid) && !force) {
		ioc_err("cannot roll back jail %s: it is running", tag_of(j));
		ioc_hint("stop it first ('iocell stop %s'), or use rollback -f", tag_of(j));
		return -1;
	}
	/* One call: every dataset and snapshot of the jail with its creation txg.
	 * zfs-fuse's `zfs list` prints createtxg humanized ("1.22K") once it passes 1000, so
	 * only the parsable get gives exact numbers. */
	const char *dss[] = {j->ds, NULL};
	_cleanup_ztable_ struct ztable g = {0};
	if (createtxgs(dss, &g) < 0)
		return -1;
	_cleanup_ztable_ struct ztable t = {0};
	txg_rows(&g, &t);
	if (!rollback_plan_build(&t, j->ds, snap, pl)) {
		ioc_err("jail %s has no snapshot %s", tag_of(j), snap);
		ioc_hint("see 'iocell snaplist %s'", tag_of(j));
		return -1;
	}
	if (pl->newer.n == 0)
		return 0;
	_cleanup_free_ char *what = xasprintf(
		"roll back jail %s to %s (newer snapshots would be destroyed)", tag_of(j), snap);
	return refuse_dependants(&pl->newer, what);
}

int rollback_execute(const struct jail *j, const struct rollback_plan *pl)
{
	/* Marked "rollback STAMP SNAP" while it goes dataset by dataset: when interrupted,
	 * the next command finishes it (core/heal.h). */
	const char *at = pl->targets.n ? strchr(pl->targets.v[0], '@') : NULL;
	const char *args[] = {at ? at + 1 : "-", NULL};
	if (txn_mark_set(j->ds, TXN_ROLLBACK, args) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < pl->targets.n && rc == 0; i++) {
		if (zfs_rollback(pl->targets.v[i], true) < 0) {
			if (i)
				ioc_err_ctx(
					"jail %s is partly rolled back (done: %zu of %zu datasets, children "
					"first)",
					tag_of(j), i, pl->targets.n);
			rc = -1;
		}
	}
	/* A snapshot older than the jail's last shift (an import, a clone, privileged
	 * changed) has its files at the range of then: back into the jail's own.  (A jail
	 * rolled back while running is shifted by 'iocell set privileged=...' once stopped:
	 * start says so.) */
	if (rc == 0 && !jail_running(j->uuid) && j->mounted) {
		struct idmap m;
		_cleanup_free_ char *root = jail_root(j);
		if (idmap_of_jail(j, &m) < 0 || idmap_shift_root(root, m.shift, false) < 0) {
			ioc_err_ctx("jail %s is rolled back, but its files are not in its id range",
				    tag_of(j));
			rc = -1;
		}
	}
	return txn_mark_finish(j->ds, rc);
}

/* ---- promote ----------------------------------------------------------------------- */

void promote_plan_free(struct promote_plan *pl)
{
	sv_free(&pl->todo);
	sv_free(&pl->kept);
}

void promote_plan_build(const struct ztable *t, const char *jails, struct promote_plan *pl)
{
	sv_init(&pl->todo);
	sv_init(&pl->kept);
	for (size_t i = 0; i < t->nrows; i++) {
		const struct strv *r = &t->rows[i];
		if (r->n < 2 || streq(r->v[1], "-"))
			continue;
		/* Only clones of another jail's snapshots: promoting a clone of a release (or of a
		 * basejail master) would move the release's snapshots into this jail, breaking
		 * `create -c` from that release and tying the release's life to this jail. */
		if (ds_below(r->v[1], jails))
			sv_add(&pl->todo, r->v[0]);
		else
			sv_addf(&pl->kept, "%s (a clone of %s)", r->v[0], r->v[1]);
	}
}

int jail_promote(const struct jail *j, struct promote_plan *pl)
{
	_cleanup_free_ char *jails = ds_jails();
	const char *dss[] = {j->ds, NULL};
	_cleanup_ztable_ struct ztable t = {0};
	int rc = zfs_list(&t, "name,origin", dss, ALL_DEPTH, "filesystem,volume", NULL);
	promote_plan_build(&t, jails, pl);
	if (rc < 0)
		return -1;
	if (pl->todo.n == 0) {
		if (pl->kept.n)
			ioc_err("jail %s is not a clone of another jail: its datasets are clones of a "
				"release or base, which iocell does not promote",
				tag_of(j));
		else
			ioc_err("jail %s is not a clone: none of its datasets has an origin",
				tag_of(j));
		ioc_hint("promote applies to jails made with 'iocell clone'");
		return -1;
	}
	for (size_t i = 0; i < pl->todo.n; i++) {
		if (zfs_promote(pl->todo.v[i]) < 0) {
			if (i)
				ioc_err_ctx("jail %s is partly promoted (%zu of %zu datasets done)",
					    tag_of(j), i, pl->todo.n);
			return -1;
		}
	}
	return 0;
}
