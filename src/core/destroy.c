/* destroy: plan (datasets, snapshots, dependent clones), then act (see destroy.h). */
#include "core/destroy.h"
#include "core/fsat.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/txn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deep enough for every dataset of a pool in one `zfs list -r`. */
#define ALL_DEPTH 1000

void destroy_plan_init(struct destroy_plan *p)
{
	memset(p, 0, sizeof(*p));
	sv_init(&p->foreign);
	sv_init(&p->mounted);
	sv_init(&p->autosnaps);
	p->lock = -1;
}

void destroy_plan_free(struct destroy_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		unlock_fd(p->v[i].lock);
		free(p->v[i].ds);
		free(p->v[i].tag);
		sv_free(&p->v[i].fss);
		sv_free(&p->v[i].snaps);
		sv_free(&p->v[i].after);
	}
	free(p->v);
	sv_free(&p->foreign);
	sv_free(&p->mounted);
	sv_free(&p->autosnaps);
	free(p->jailsmp);
	unlock_fd(p->lock);
	memset(p, 0, sizeof(*p));
	p->lock = -1;
}

static long plan_find(const struct destroy_plan *p, const char *uuid)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->v[i].uuid, uuid))
			return (long)i;
	return -1;
}

struct destroy_jail *destroy_plan_add(struct destroy_plan *p, const char *uuid, const char *ds,
				      const char *tag)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	struct destroy_jail *pj = &p->v[p->n++];
	memset(pj, 0, sizeof(*pj));
	snprintf(pj->uuid, sizeof(pj->uuid), "%s", uuid);
	pj->ds = xstrdup(ds);
	pj->tag = xstrdup(tag);
	pj->lock = -1;
	sv_init(&pj->fss);
	sv_init(&pj->snaps);
	sv_init(&pj->after);
	return pj;
}

/* The jail UUID a dataset belongs to (JAILS/UUID[/...]), or false. */
static bool jail_of(const char *name, const char *jails, char uuid[37])
{
	const char *u = ds_below(name, jails);
	if (!u || strcspn(u, "/") != 36)
		return false;
	snprintf(uuid, 37, "%.36s", u);
	return valid_uuid(uuid);
}

/* In plan jail `ds` (the dataset itself, below it, or a snapshot of it)? */
static bool under(const char *name, const char *ds)
{
	size_t n = strlen(ds);
	return strncmp(name, ds, n) == 0 && (name[n] == '\0' || name[n] == '/' || name[n] == '@');
}

static long plan_owner(const struct destroy_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (under(name, p->v[i].ds))
			return (long)i;
	return -1;
}

/* Jail `before` must be destroyed before plan jail i. */
static void plan_order(struct destroy_plan *p, long i, const char *before)
{
	if (!sv_contains(&p->v[i].after, before))
		sv_add(&p->v[i].after, before);
}

/* Grow the plan until no listed dataset outside it is a clone of a snapshot inside. */
static void plan_grow(struct destroy_plan *p, const char *jails, const struct ztable *t)
{
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < t->nrows; i++) {
			const struct strv *r = &t->rows[i];
			if (r->n < 4 || streq(r->v[1], "-") || plan_owner(p, r->v[0]) >= 0)
				continue;
			long dep_on = plan_owner(p, r->v[1]);
			if (dep_on < 0)
				continue;
			char uuid[37];
			if (!jail_of(r->v[0], jails, uuid)) {
				_cleanup_free_ char *d = xasprintf("%s (a clone of %s)", r->v[0],
								   r->v[1]);
				if (!sv_contains(&p->foreign, d))
					sv_add(&p->foreign, d);
				continue;
			}
			long k = plan_find(p, uuid);
			if (k < 0) {
				_cleanup_free_ char *ds = xasprintf("%s/%s", jails, uuid);
				destroy_plan_add(p, uuid, ds, r->v[3]);
				k = (long)p->n - 1;
				grew = true;
			}
			plan_order(p, dep_on, p->v[k].uuid);
		}
	}
}

/* The automatic snapshot `clone` took of another jail for the plan's dataset made from
 * ORIGIN: JAILS/UUID@ioc-clone-..., when ORIGIN is one. */
static void note_autosnap(struct destroy_plan *p, const char *jails, const char *origin)
{
	const char *at = strchr(origin, '@');
	if (!at || !startswith(at + 1, "ioc-clone-") || plan_owner(p, origin) >= 0)
		return;
	_cleanup_free_ char *snap_top = xstrndup(origin, (size_t)(at - origin));
	char uuid[37];
	if (!jail_of(snap_top, jails, uuid))
		return;
	_cleanup_free_ char *top = xasprintf("%s/%s%s", jails, uuid, at);
	if (!sv_contains(&p->autosnaps, top))
		sv_add(&p->autosnaps, top);
}

void destroy_plan_datasets(struct destroy_plan *p, const char *jails, const struct ztable *t)
{
	plan_grow(p, jails, t);
	/* Each plan jail's datasets and mounts; and dependencies between plan jails found
	 * through another route (a jail with datasets cloned from two jails of the plan). */
	for (size_t i = 0; i < t->nrows; i++) {
		const struct strv *r = &t->rows[i];
		if (r->n < 4)
			continue;
		long own = plan_owner(p, r->v[0]);
		if (own < 0)
			continue;
		sv_add(&p->v[own].fss, r->v[0]);
		if (streq(r->v[2], "yes"))
			sv_add(&p->mounted, r->v[0]);
		note_autosnap(p, jails, r->v[1]);
		long dep_on = streq(r->v[1], "-") ? -1 : plan_owner(p, r->v[1]);
		if (dep_on >= 0 && dep_on != own)
			plan_order(p, dep_on, p->v[own].uuid);
	}
}

void destroy_plan_snapshots(struct destroy_plan *p, const struct ztable *t)
{
	for (size_t i = 0; i < t->nrows; i++) {
		long own = t->rows[i].n ? plan_owner(p, t->rows[i].v[0]) : -1;
		if (own >= 0)
			sv_add(&p->v[own].snaps, t->rows[i].v[0]);
	}
}

struct destroy_jail *destroy_plan_next(struct destroy_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct destroy_jail *pj = &p->v[i];
		if (pj->done)
			continue;
		bool ready = true;
		for (size_t k = 0; k < pj->after.n && ready; k++) {
			long o = plan_find(p, pj->after.v[k]);
			ready = o < 0 || p->v[o].done;
		}
		if (ready)
			return pj;
	}
	return NULL;
}

char *destroy_plan_dependants(const struct destroy_plan *p)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 1; i < p->n; i++)
		sb_printf(&b, "%sjail %s (%s)", b.len ? ", " : "", p->v[i].uuid, p->v[i].tag);
	for (size_t i = 0; i < p->foreign.n; i++)
		sb_printf(&b, "%s%s", b.len ? ", " : "", p->foreign.v[i]);
	return sb_steal(&b);
}

/* ---- preparing --------------------------------------------------------------------- */

/* The two zfs calls: every filesystem and volume of the pool (name, origin, mounted,
 * tag), then the snapshots of the plan's jails. */
static int plan_build(struct destroy_plan *p)
{
	_cleanup_ztable_ struct ztable t = {0};
	if (pool_datasets(&t, "name,origin,mounted,iocell:tag") < 0)
		return -1;
	_cleanup_free_ char *jails = ds_jails();
	destroy_plan_datasets(p, jails, &t);
	_cleanup_strv_ struct strv tops = {0};
	sv_init(&tops);
	for (size_t i = 0; i < p->n; i++)
		sv_add(&tops, p->v[i].ds);
	_cleanup_ztable_ struct ztable s = {0};
	if (zfs_list(&s, "name", (const char *const *)tops.v, ALL_DEPTH, "snapshot", "createtxg") <
	    0)
		return -1;
	destroy_plan_snapshots(p, &s);
	return 0;
}

void destroy_refuse_running(const char *uuid, const char *tag)
{
	ioc_err("cannot destroy jail %s (%s): it is running", uuid, tag);
	ioc_hint("stop it first ('iocell stop %s'), or use destroy -f to stop it", tag);
}

int destroy_prepare(struct destroy_plan *p, const char *name, bool force, bool recurse)
{
	destroy_plan_init(p);
	if ((p->lock = lock_global()) < 0)
		return -1;
	_cleanup_jail_ struct jail *j = jail_resolve(name);
	if (!j)
		return -1;
	const char *tag = jail_prop(j, P_TAG);
	struct destroy_jail *top = destroy_plan_add(p, j->uuid, j->ds, tag);
	if ((top->lock = lock_jail(j->uuid, true)) < 0)
		return -1;
	if (jail_running(j->uuid) && !force) {
		destroy_refuse_running(j->uuid, tag);
		return -1;
	}
	if (plan_build(p) < 0)
		return -1;
	if (p->foreign.n || (p->n > 1 && !recurse)) {
		_cleanup_free_ char *deps = destroy_plan_dependants(p);
		ioc_err("cannot destroy jail %s (%s): clones depend on it: %s", j->uuid, tag, deps);
		if (p->foreign.n)
			ioc_hint(
				"a dataset that is not a jail depends on this jail (after a promote?): "
				"promote that dataset with 'zfs promote' first; iocell destroys only jails");
		else
			ioc_hint(
				"destroy them first, make them independent ('iocell promote NAME'), or "
				"use 'iocell destroy -R %s' to destroy them too",
				tag);
		return -1;
	}
	/* Lock the dependants too, and refuse running ones (stopped with -f). */
	for (size_t i = 1; i < p->n; i++) {
		if ((p->v[i].lock = lock_jail(p->v[i].uuid, true)) < 0)
			return -1;
		if (jail_running(p->v[i].uuid) && !force) {
			destroy_refuse_running(p->v[i].uuid, p->v[i].tag);
			return -1;
		}
	}
	/* The jails' mountpoints hang under the jails dataset's mountpoint (unless changed). */
	const char *jp = j->path ? strrchr(j->path, '/') : NULL;
	if (jp && streq(jp + 1, j->uuid))
		p->jailsmp = xstrndup(j->path, (size_t)(jp - j->path));
	return 0;
}

/* ---- carrying it out --------------------------------------------------------------- */

/* The jail's runtime files (UUID, UUID.*, UUID-* in the runtime dir: state, cache, lock)
 * and its console log.  The caller holds the jail's lock: an iocell waiting on the lock
 * file finds it gone and locks a new one (core/lock.c). */
void jail_remove_runtime_files(const char *uuid)
{
	_cleanup_close_ int fd = open(rundir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? opendir_dup(fd) : NULL;
	if (d) {
		_cleanup_strv_ struct strv names = {0};
		sv_init(&names);
		struct dirent *e;
		size_t ul = strlen(uuid);
		while ((e = readdir(d))) {
			const char *n = e->d_name;
			if (strncmp(n, uuid, ul) != 0 || (n[ul] && n[ul] != '.' && n[ul] != '-'))
				continue;
			sv_add(&names, n);
		}
		closedir(d);
		for (size_t i = 0; i < names.n; i++)
			if (remove_tree_at(fd, names.v[i], NULL) < 0)
				ioc_warn("cannot remove runtime file %s/%s: %s", rundir(),
					 names.v[i], strerror(errno));
	}
	_cleanup_free_ char *rel = xasprintf("log/%s-console.log", uuid);
	_cleanup_free_ char *log = path_in_root(rel);
	if (unlink(log) < 0 && errno != ENOENT)
		ioc_warn("cannot remove %s: %s", log, strerror(errno));
}

/* Mount again the file systems in m[from..] (parents first), keeping the error. */
static void remount(const struct strv *m, size_t from)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t k = from; k < m->n; k++)
		if (zfs_mount(m->v[k]) < 0)
			ioc_warn("could not mount %s again: %s", m->v[k], ioc_errmsg());
	ioc_err_restore(&keep);
}

/* Unmount the plan's mounted file systems, deepest first; on failure remount what was
 * unmounted and fail (nothing destroyed yet). */
static int unmount_all(const struct destroy_plan *p)
{
	_cleanup_strv_ struct strv m = {0};
	sv_init(&m);
	for (size_t i = 0; i < p->mounted.n; i++)
		sv_add(&m, p->mounted.v[i]);
	sv_sort(&m);
	for (size_t i = m.n; i-- > 0;) {
		if (zfs_unmount(m.v[i]) < 0) {
			remount(&m, i + 1);
			ioc_hint("is a process using a file in it, or something mounted in it?");
			return -1;
		}
	}
	return 0;
}

/* After a failed destroy: mount again what is left of the plan (parents first). */
static void remount_rest(const struct destroy_plan *p)
{
	_cleanup_strv_ struct strv m = {0};
	sv_init(&m);
	for (size_t i = 0; i < p->mounted.n; i++) {
		long o = plan_owner(p, p->mounted.v[i]);
		if (o >= 0 && !p->v[o].done)
			sv_add(&m, p->mounted.v[i]);
	}
	sv_sort(&m);
	remount(&m, 0);
}

/* Remove the empty mountpoint directories zfs may leave behind (rmdir only: never
 * anything with content, never through a mount). */
static void remove_mountpoint_dirs(const struct destroy_jail *pj, const char *jailsmp)
{
	if (!jailsmp || jailsmp[0] != '/')
		return;
	for (size_t i = pj->fss.n; i-- > 0;) {
		const char *rel = pj->fss.v[i] + strlen(pj->ds);
		_cleanup_free_ char *dir = xasprintf("%s/%s%s", jailsmp, pj->uuid, rel);
		rmdir(dir);
	}
}

/* Destroy the jails of the plan, each after the jails that depend on it. */
static int destroy_jails(struct destroy_plan *p, void (*done)(const struct destroy_jail *, void *),
			 void *arg)
{
	for (size_t left = p->n; left > 0; left--) {
		struct destroy_jail *pick = destroy_plan_next(p);
		if (!pick) {
			ioc_err("cannot order the destruction: the jails' clones depend on each other");
			return -1;
		}
		/* runtime files first: once the datasets are gone nothing names them */
		jail_remove_runtime_files(pick->uuid);
		if (zfs_destroy(pick->ds, "-r") < 0) {
			ioc_err_ctx("destroy of jail %s (%s) failed", pick->uuid, pick->tag);
			return -1;
		}
		pick->done = true;
		index_drop(pick->uuid);
		remove_mountpoint_dirs(pick, p->jailsmp);
		if (done)
			done(pick, arg);
	}
	/* Snapshots taken only to make these clones: gone with them unless other clones
	 * still depend on them (then zfs refuses and they stay). */
	for (size_t i = 0; i < p->autosnaps.n; i++) {
		if (zfs_destroy(p->autosnaps.v[i], "-r") < 0) {
			if (zfs_lasterr != ZE_CLONES && zfs_lasterr != ZE_NOENT)
				ioc_warn("%s", ioc_errmsg());
			ioc_err_clear();
		}
	}
	return 0;
}

/* Remove the destroy marks of the plan's jails that are not done (from index `from`
 * on, or all), keeping the pending error. */
static void unmark(const struct destroy_plan *p, size_t upto, const struct destroy_jail *except)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t i = 0; i < upto; i++)
		if (!p->v[i].done && &p->v[i] != except && txn_mark_clear(p->v[i].ds) < 0)
			ioc_warn("%s", ioc_errmsg());
	ioc_err_restore(&keep);
}

/* The commit: every jail of the plan marked "destroy STAMP" (the first one with the clone
 * snapshots to drop after), so that no command sees them from now on and an interrupted
 * destroy is finished by the next command (core/heal.h). */
static int mark_all(struct destroy_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const char **args = xcalloc(p->autosnaps.n + 1, sizeof(char *));
		for (size_t k = 0; i == 0 && k < p->autosnaps.n; k++)
			args[k] = p->autosnaps.v[k];
		int rc = txn_mark_set(p->v[i].ds, TXN_DESTROY, args);
		free(args);
		if (rc < 0) {
			unmark(p, i, NULL);
			return -1;
		}
	}
	return 0;
}

int destroy_execute(struct destroy_plan *p, void (*done)(const struct destroy_jail *, void *),
		    void *arg)
{
	if (mark_all(p) < 0) {
		ioc_err_ctx("nothing was destroyed");
		return -1;
	}
	if (unmount_all(p) < 0) {
		unmark(p, p->n, NULL);
		ioc_err_ctx("nothing was destroyed");
		return -1;
	}
	if (destroy_jails(p, done, arg) < 0) {
		/* The jail that failed may be half destroyed: it stays marked (the next command
		 * tries again once we are gone); the others are as they were. */
		struct destroy_jail *failed = destroy_plan_next(p);
		unmark(p, p->n, failed);
		remount_rest(p);
		return -1;
	}
	return 0;
}
