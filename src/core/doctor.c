/* `iocell doctor`, the pool and file parts: what interrupted operations left (heal.h). */
#include "core/fsat.h"
#include "core/heal.h"
#include "core/jail.h"
#include "core/lock.h"
#include "core/parse.h"
#include "core/pool.h"
#include "core/release.h"
#include "core/runstate.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void heal_report_free(struct heal_report *r)
{
	sv_free(&r->found);
	sv_free(&r->busy);
	sv_free(&r->notes);
	r->fixed = r->failed = 0;
}

static void fixed_or_failed(struct heal_report *r, int rc)
{
	if (rc == 0) {
		r->fixed++;
	} else {
		ioc_warn("%s", ioc_errmsg());
		r->failed++;
	}
	ioc_err_clear();
}

/* Destroy a stray dataset or snapshot (refused by zfs while clones need it). */
static void fix_destroy(struct heal_report *r, const char *name)
{
	int rc = zfs_destroy(name, "-r");
	if (rc < 0 && zfs_lasterr == ZE_NOENT)
		rc = 0;
	fixed_or_failed(r, rc);
}

/* The pool's datasets and snapshots, as doctor reads them (one zfs call). */
struct pool_view {
	struct ztable t;     /* name, type, iocell:txn, origin, userrefs, host_hostuuid */
	struct strv fss;     /* file systems */
	struct strv origins; /* snapshots some clone depends on */
	struct strv live;    /* datasets carrying a mark whose owner is alive */
	char *jails, *rels, *base;
};

static void view_free(struct pool_view *v)
{
	ztable_free(&v->t);
	sv_free(&v->fss);
	sv_free(&v->origins);
	sv_free(&v->live);
	free(v->jails);
	free(v->rels);
	free(v->base);
}

static int view_load(struct pool_view *v)
{
	memset(v, 0, sizeof(*v));
	sv_init(&v->fss);
	sv_init(&v->origins);
	sv_init(&v->live);
	const struct ioc_pool *p = pool_get();
	if (!p)
		return -1;
	const char *dss[] = {p->root, NULL};
	if (zfs_list(&v->t, "name,type," TXN_PROP ",origin,userrefs,iocell:host_hostuuid", dss,
		     1000, "filesystem,volume,snapshot", NULL) < 0)
		return -1;
	v->jails = ds_jails();
	v->rels = ds_releases();
	v->base = xasprintf("%s/base", p->root);
	for (size_t i = 0; i < v->t.nrows; i++) {
		struct strv *r = &v->t.rows[i];
		if (r->n < 6)
			continue;
		if (!streq(r->v[1], "snapshot"))
			sv_add(&v->fss, r->v[0]);
		if (!streq(r->v[3], "-") && !sv_contains(&v->origins, r->v[3]))
			sv_add(&v->origins, r->v[3]);
		struct txn_mark m;
		if (txn_mark_parse(r->v[2], &m) == 0 && txn_owner_alive(m.stamp))
			sv_add(&v->live, r->v[0]);
		txn_mark_free(&m);
	}
	return 0;
}

/* Is the dataset of snapshot SNAP (or the jail/release it belongs to) at work? */
static bool at_work(const struct pool_view *v, const char *snap)
{
	for (size_t i = 0; i < v->live.n; i++) {
		size_t n = strlen(v->live.v[i]);
		if (strncmp(snap, v->live.v[i], n) == 0 && (snap[n] == '@' || snap[n] == '/'))
			return true;
	}
	return false;
}

static void check_jail(const struct pool_view *v, const struct strv *r, const char *leaf, bool fix,
		       struct heal_report *rep)
{
	const char *ds = r->v[0], *txn = r->v[2], *hu = r->v[5];
	char stamp[64], uuid[37];
	struct txn_mark m;
	if (txn_stage_parse(leaf, stamp, uuid)) {
		if (txn_owner_alive(stamp)) {
			sv_addf(&rep->busy, "staging: %s (an import at work: pid %d)", ds,
				(int)txn_stamp_pid(stamp));
			return;
		}
		sv_addf(&rep->found, "staging: %s (an interrupted import: pid %d is gone)", ds,
			(int)txn_stamp_pid(stamp));
		if (fix)
			fix_destroy(rep, ds);
		return;
	}
	if (txn_mark_parse(txn, &m) == 0) {
		pid_t pid = txn_stamp_pid(m.stamp);
		if (txn_owner_alive(m.stamp)) {
			sv_addf(&rep->busy, "jail %s: %s at work (pid %d)", leaf, txn_op_name(m.op),
				(int)pid);
		} else {
			sv_addf(&rep->found, "jail %s: an interrupted %s (pid %d is gone)", leaf,
				txn_op_name(m.op), (int)pid);
			if (fix)
				fixed_or_failed(rep, heal_jail_mark(leaf, txn) == 1 ? 0 : -1);
		}
		txn_mark_free(&m);
		return;
	}
	txn_mark_free(&m);
	if (!valid_uuid(leaf)) {
		sv_addf(&rep->notes, "foreign dataset: %s (not a jail; left alone)", ds);
		return;
	}
	if (!streq(hu, leaf))
		sv_addf(&rep->notes, "not a jail: %s (host_hostuuid %s; left alone)", ds, hu);
	_cleanup_free_ char *root = xasprintf("%s/root", ds);
	if (!sv_contains(&v->fss, root))
		sv_addf(&rep->notes,
			"incomplete jail: %s has no root dataset (left alone: "
			"'zfs destroy -r %s' removes it)",
			ds, ds);
}

static void check_release(const struct pool_view *v, const struct strv *r, const char *rel,
			  bool fix, struct heal_report *rep)
{
	const char *ds = r->v[0], *txn = r->v[2];
	struct txn_mark m;
	if (txn_mark_parse(txn, &m) == 0) {
		pid_t pid = txn_stamp_pid(m.stamp);
		if (txn_owner_alive(m.stamp)) {
			sv_addf(&rep->busy, "release %s: %s at work (pid %d)", rel,
				txn_op_name(m.op), (int)pid);
		} else {
			sv_addf(&rep->found, "release %s: an interrupted %s (pid %d is gone)", rel,
				txn_op_name(m.op), (int)pid);
			if (fix)
				fixed_or_failed(rep,
						heal_release_mark(rel, txn, false) == 1 ? 0 : -1);
		}
		txn_mark_free(&m);
		return;
	}
	txn_mark_free(&m);
	_cleanup_free_ char *snap = ds_release_snap(rel);
	bool have = false;
	for (size_t i = 0; i < v->t.nrows && !have; i++)
		have = streq(v->t.rows[i].v[0], snap);
	if (have)
		return;
	/* a fetch at work holds the release's lock (its mark may not be written yet) */
	_cleanup_free_ char *lname = xasprintf("release-%s", rel);
	int lk = lock_jail(lname, false);
	unlock_fd(lk);
	ioc_err_clear();
	if (lk < 0) {
		sv_addf(&rep->busy, "release %s: a fetch at work", rel);
		return;
	}
	sv_addf(&rep->found, "incomplete release: %s (no %s)", ds, snap);
	if (fix) {
		_cleanup_free_ char *base = ds_base(rel);
		fix_destroy(rep, ds);
		if (sv_contains(&v->fss, base))
			fix_destroy(rep, base);
	}
}

static void check_snapshot(const struct pool_view *v, const struct strv *r, bool fix,
			   struct heal_report *rep)
{
	const char *name = r->v[0];
	const char *at = strchr(name, '@');
	if (!at)
		return;
	const char *sn = at + 1;
	if (!streq(r->v[4], "0") && !streq(r->v[4], "-"))
		sv_addf(&rep->notes,
			"held snapshot: %s (%s hold(s): a `zfs send` killed on zfs-fuse keeps its "
			"temporary hold until the pool is imported again: zpool export/import)",
			name, r->v[4]);
	if (at_work(v, name) || sv_contains(&v->origins, name))
		return;
	_cleanup_free_ char *ds = xstrndup(name, (size_t)(at - name));
	const char *below = ds_below(ds, v->jails);
	const char *why = NULL;
	if (startswith(sn, "ioc-export_") && below)
		why = "an export snapshot";
	else if (startswith(sn, "ioc-clone-") && below)
		why = "a clone snapshot no clone uses";
	else if (startswith(sn, "ioc-prev-"))
		why = "a fetch's previous state no clone uses";
	else if (streq(sn, "release") && below && strchr(below, '/'))
		why = "the received release snapshot of a thick jail";
	if (!why)
		return;
	/* a recursive snapshot is removed (and reported) once, on its top dataset */
	_cleanup_free_ char *parent = xstrdup(ds);
	char *slash = strrchr(parent, '/');
	if (slash && !streq(sn, "release")) {
		*slash = '\0';
		_cleanup_free_ char *up = xasprintf("%s@%s", parent, sn);
		for (size_t i = 0; i < v->t.nrows; i++)
			if (streq(v->t.rows[i].v[0], up))
				return;
	}
	sv_addf(&rep->found, "stray snapshot: %s (%s)", name, why);
	if (fix)
		fix_destroy(rep, name);
}

int heal_pool(bool fix, struct heal_report *rep, struct strv *jails)
{
	struct pool_view v;
	if (view_load(&v) < 0) {
		view_free(&v);
		return -1;
	}
	for (size_t i = 0; i < v.t.nrows; i++) {
		const struct strv *r = &v.t.rows[i];
		if (r->n < 6)
			continue;
		const char *name = r->v[0], *leaf;
		if (strchr(name, '@'))
			check_snapshot(&v, r, fix, rep);
		else if ((leaf = ds_below(name, v.jails)) && !strchr(leaf, '/')) {
			check_jail(&v, r, leaf, fix, rep);
			if (valid_uuid(leaf))
				sv_add(jails, leaf);
		} else if ((leaf = ds_below(name, v.rels)) && !strchr(leaf, '/'))
			check_release(&v, r, leaf, fix, rep);
		else if ((leaf = ds_below(name, v.base)) && !strchr(leaf, '/')) {
			_cleanup_free_ char *rel = ds_release(leaf);
			if (!sv_contains(&v.fss, rel)) {
				sv_addf(&rep->found, "orphan: %s (no release %s)", name, leaf);
				if (fix)
					fix_destroy(rep, name);
			}
		}
	}
	view_free(&v);
	return 0;
}

/* ---- files ----------------------------------------------------------------------------- */

static void fix_unlink(struct heal_report *r, const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		ioc_err("cannot remove %s: %s", path, strerror(errno));
		fixed_or_failed(r, -1);
		return;
	}
	fixed_or_failed(r, 0);
}

/* The writer's PID of a "*.tmp.PID" name (write_file_replace's temporary files), or 0. */
static long tmp_pid(const char *n)
{
	const char *t = strstr(n, ".tmp.");
	if (!t)
		return 0;
	char *end;
	long pid = strtol(t + 5, &end, 10);
	return !*end && pid > 0 ? pid : 0;
}

int heal_tmp_files(bool fix, struct heal_report *rep)
{
	DIR *d = opendir(rundir());
	if (!d) {
		if (errno == ENOENT)
			return 0;
		ioc_err("cannot read %s: %s", rundir(), strerror(errno));
		return -1;
	}
	_cleanup_strv_ struct strv dead = {0};
	sv_init(&dead);
	struct dirent *e;
	while ((e = readdir(d))) {
		long pid = tmp_pid(e->d_name);
		if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			sv_add(&dead, e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < dead.n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", rundir(), dead.v[i]);
		if (rep)
			sv_addf(&rep->found, "runtime file: %s (a write interrupted)", path);
		if (!fix)
			continue;
		if (unlink(path) < 0 && errno != ENOENT) {
			ioc_err("cannot remove %s: %s", path, strerror(errno));
			if (!rep) {
				ioc_warn("%s", ioc_errmsg());
				ioc_err_clear();
			} else
				fixed_or_failed(rep, -1);
			continue;
		}
		if (rep)
			fixed_or_failed(rep, 0);
		else
			fprintf(stderr,
				"iocell: removed %s (a write interrupted: process %ld is gone)\n",
				path, tmp_pid(dead.v[i]));
	}
	return 0;
}

int heal_files(bool fix, const struct strv *jails, const struct strv *running,
	       struct heal_report *rep)
{
	DIR *d = opendir(rundir());
	if (!d) {
		ioc_err("cannot read %s: %s", rundir(), strerror(errno));
		return -1;
	}
	_cleanup_strv_ struct strv names = {0};
	sv_init(&names);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			sv_add(&names, e->d_name);
	closedir(d);
	for (size_t i = 0; i < names.n; i++) {
		const char *n = names.v[i];
		_cleanup_free_ char *path = xasprintf("%s/%s", rundir(), n);
		char uuid[37];
		snprintf(uuid, sizeof(uuid), "%.36s", n);
		if (tmp_pid(n))
			continue; /* writes: heal_tmp_files (below), or at work */
		if (strlen(n) > 36 && n[36] == '.' && valid_uuid(uuid)) {
			const char *suffix = n + 36;
			if (streq(suffix, ".lock") || streq(suffix, ".state"))
				continue; /* states: the runtime's (cmd/doctor.c) */
			bool exists = sv_contains(jails, uuid), runs = sv_contains(running, uuid);
			if ((streq(suffix, ".conf") || streq(suffix, ".started")) && exists)
				continue;
			if (runs)
				continue;
			sv_addf(&rep->found, "runtime file: %s (%s)", path,
				exists ? "its jail does not run" : "no such jail");
			if (fix)
				fix_unlink(rep, path);
		}
	}
	if (heal_tmp_files(fix, rep) < 0)
		return -1;
	/* JIDs claimed by a jail that does not run: reclaimed by the next start anyway */
	_cleanup_free_ char *jdir = xasprintf("%s/jids", rundir());
	d = opendir(jdir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", jdir, e->d_name);
		char target[64];
		ssize_t k = readlink(p, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (sv_contains(running, target))
			continue;
		sv_addf(&rep->found, "runtime file: %s (JID of %s, which does not run)", p, target);
		if (fix)
			fix_unlink(rep, p);
	}
	if (d)
		closedir(d);
	/* download directories of fetches that are gone: .fetch-REL.STAMP.XXXXXX */
	const struct ioc_pool *pool = pool_get();
	_cleanup_close_ int mfd = pool ? open(pool->mountroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				       : -1;
	d = mfd >= 0 ? opendir_dup(mfd) : NULL;
	_cleanup_strv_ struct strv dl = {0};
	sv_init(&dl);
	while (d && (e = readdir(d))) {
		const char *n = e->d_name;
		const char *dot = startswith(n, ".fetch-") ? strrchr(n, '.') : NULL;
		const char *st = NULL;
		for (const char *q = dot ? dot - 1 : NULL; q && q > n + 7; q--)
			if (*q == '.') {
				st = q + 1;
				break;
			}
		if (!st)
			continue;
		_cleanup_free_ char *stamp = xstrndup(st, (size_t)(dot - st));
		if (!txn_owner_alive(stamp))
			sv_add(&dl, n);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < dl.n; i++) {
		sv_addf(&rep->found, "file: %s/%s (the downloads of an interrupted fetch)",
			pool->mountroot, dl.v[i]);
		if (fix)
			fixed_or_failed(rep, remove_tree_at(mfd, dl.v[i], pool->mountroot));
	}
	/* console logs of jails that are gone */
	_cleanup_free_ char *logdir = path_in_root("log");
	d = opendir(logdir);
	while (d && (e = readdir(d))) {
		char u[37];
		snprintf(u, sizeof(u), "%.36s", e->d_name);
		if (!endswith(e->d_name, "-console.log") || !valid_uuid(u) || sv_contains(jails, u))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", logdir, e->d_name);
		sv_addf(&rep->found, "file: %s (the console log of a jail that is gone)", p);
		if (fix)
			fix_unlink(rep, p);
	}
	if (d)
		closedir(d);
	/* partial images and packages (.UUID.zfs.partial, .UUID.sha256.partial...) of no
	 * export or package at work (it would hold the jail's lock) */
	const char *dirs[][2] = {{"images", ".zfs"}, {"packages", ".tar.xz"}};
	for (size_t k = 0; k < 2; k++) {
		_cleanup_free_ char *dir = path_in_root(dirs[k][0]);
		_cleanup_strv_ struct strv uu = {0};
		sv_init(&uu);
		d = opendir(dir);
		while (d && (e = readdir(d))) {
			char u[37];
			snprintf(u, sizeof(u), "%.36s", e->d_name + 1);
			if (e->d_name[0] != '.' || !endswith(e->d_name, ".partial") ||
			    !valid_uuid(u))
				continue;
			int lk = lock_jail(u, false);
			unlock_fd(lk);
			ioc_err_clear();
			if (lk < 0)
				continue;
			sv_addf(&rep->found, "file: %s/%s (what an interrupted %s left)", dir,
				e->d_name, k == 0 ? "export" : "package");
			if (!sv_contains(&uu, u))
				sv_add(&uu, u);
		}
		if (d)
			closedir(d);
		for (size_t i = 0; fix && i < uu.n; i++) {
			heal_artifact(dirs[k][0], uu.v[i], dirs[k][1], 0);
			rep->fixed++;
		}
	}
	return 0;
}
