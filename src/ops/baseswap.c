/* The forced upgrade of a running basejail: see baseswap.h. */
#include "ops/baseswap.h"
#include "core/basejail.h"
#include "core/dataset.h"
#include "core/pool.h"
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The N of the next JAIL/.liveN-DIR (after those a previous forced upgrade left). */
static int next_live(const struct ztable *t, const char *jds)
{
	int n = 0;
	_cleanup_free_ char *pfx = xasprintf("%s/.live", jds);
	for (size_t i = 0; i < t->nrows; i++) {
		const char *name = t->rows[i].v[0];
		if (startswith(name, pfx)) {
			int k = atoi(name + strlen(pfx));
			if (k > n)
				n = k;
		}
	}
	return n + 1;
}

/* The mountpoint of the clone in use at /DIR in the running jail (see above), or NULL. */
static const char *current_clone(const struct ztable *cur, const char *jds, const char *root,
				 const char *dir, const char *bases)
{
	_cleanup_free_ char *mine = xasprintf("%s/%s", root, dir);
	_cleanup_free_ char *live = xasprintf("%s/.live", jds);
	_cleanup_free_ char *suffix = xasprintf("-%s", dir);
	const char *mp = NULL;
	int best = -1;
	for (size_t k = 0; k < cur->nrows; k++) {
		const struct strv *r = &cur->rows[k];
		if (r->n < 3 || !startswith(r->v[1], bases))
			continue;
		int K = -1;
		if (streq(r->v[0], mine)) {
			K = 0;
		} else if (startswith(r->v[0], live) && endswith(r->v[0], suffix)) {
			char *end;
			long v = strtol(r->v[0] + strlen(live), &end, 10);
			if (streq(end, suffix))
				K = (int)v;
		}
		if (K > best) {
			best = K;
			mp = r->v[2];
		}
	}
	return mp;
}

/* What was swapped: per directory the old clone's and the new clone's paths, and
 * whether the new one was stacked on top of the old (plat_replace_mount returned 1). */
struct swapped {
	struct strv dirs, old_paths, new_paths, created;
	bool *stacked; /* [dirs.n] */
};

/* Put the old clones back in place and remove the new ones, keeping the error.  A new
 * clone stacked on top of the old one is taken off it (then nothing of the jail's holds
 * it and it can go); one mounted beneath (the old one detached) is replaced by the old. */
static void swap_back(const struct runstate *rs, const struct swapped *s)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t i = s->dirs.n; i-- > 0;) {
		_cleanup_free_ char *in = xasprintf("/%s", s->dirs.v[i]);
		int rc = s->stacked[i] ? plat_unstack_mount(rs, s->new_paths.v[i], in)
				       : plat_replace_mount(rs, s->old_paths.v[i], in);
		if (rc < 0)
			ioc_warn("could not put the old /%s back in the jail: %s", s->dirs.v[i],
				 ioc_errmsg());
	}
	for (size_t i = s->created.n; i-- > 0;)
		undo_destroy(s->created.v[i], NULL, "the new clone ");
	ioc_err_restore(&keep);
}

int basejail_swap_live(const struct jail *j, const struct runstate *rs, const char *newrel)
{
	_cleanup_free_ char *base = ds_base(newrel);
	_cleanup_free_ char *root = xasprintf("%s/root", j->ds);
	_cleanup_ztable_ struct ztable masters = {0}, cur = {0};
	const char *mds[] = {base, NULL}, *jds[] = {j->ds, NULL};
	if (zfs_list(&masters, "name", mds, 1, "filesystem", "name") < 0 ||
	    zfs_list(&cur, "name,origin,mountpoint", jds, 2, "filesystem", "name") < 0)
		return -1;
	_cleanup_free_ char *bases = xasprintf("%s/base/", pool_get()->root);
	int n = next_live(&cur, j->ds);
	struct swapped s;
	sv_init(&s.dirs);
	sv_init(&s.old_paths);
	sv_init(&s.new_paths);
	s.stacked = NULL;
	sv_init(&s.created);
	int rc = 0;
	for (size_t i = 0; i < masters.nrows && rc == 0; i++) {
		const char *m = masters.rows[i].v[0];
		const char *dir = ds_below(m, base);
		if (!dir)
			continue;
		/* the jail's current clone of that directory: ROOT/DIR, or the latest
		 * JAIL/.liveK-DIR of a forced upgrade since it started */
		const char *old_mp = current_clone(&cur, j->ds, root, dir, bases);
		if (!old_mp || old_mp[0] != '/') {
			printf("  /%s: not a clone in the running jail; it comes at the next start\n",
			       dir);
			continue;
		}
		_cleanup_free_ char *snap = xasprintf("%s@" RELEASE_SNAP, m);
		_cleanup_free_ char *clone = xasprintf("%s/.live%d-%s", j->ds, n, dir);
		if (clone_readonly(snap, clone) < 0) {
			rc = -1;
			break;
		}
		sv_add(&s.created, clone);
		_cleanup_free_ char *path = mounted_path(clone);
		_cleanup_free_ char *in = xasprintf("/%s", dir);
		int how = path ? plat_replace_mount(rs, path, in) : -1;
		if (how < 0) {
			rc = -1;
			break;
		}
		s.stacked = xrealloc(s.stacked, (s.dirs.n + 1) * sizeof(*s.stacked));
		s.stacked[s.dirs.n] = how == 1;
		sv_add(&s.dirs, dir);
		sv_add(&s.old_paths, old_mp);
		sv_add(&s.new_paths, path);
		printf("  /%s: now %s (%s)\n", dir, newrel, clone);
	}
	if (rc < 0) {
		ioc_err_ctx("cannot swap the system directories of running jail %s",
			    jail_prop(j, P_TAG));
		swap_back(rs, &s);
	}
	sv_free(&s.dirs);
	sv_free(&s.old_paths);
	sv_free(&s.new_paths);
	sv_free(&s.created);
	free(s.stacked);
	return rc;
}
