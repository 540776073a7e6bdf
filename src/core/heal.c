/* Healing what interrupted operations left in the pool: see heal.h. */
#include "core/heal.h"
#include "core/artifact.h"
#include "core/destroy.h"
#include "core/image.h"
#include "core/jail.h"
#include "core/lock.h"
#include "core/parse.h"
#include "core/pool.h"
#include "core/release.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a healer waits for what a dead owner left in flight (txn.h). */
#define HEAL_WAIT_MS 3000

/* One line on stderr saying what was healed. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	fputs("iocell: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A failed step of healing: a warning (the command goes on). */
static void heal_failed(const char *what)
{
	ioc_warn("could not heal %s: %s", what, ioc_errmsg());
	ioc_err_clear();
}

/* Destroy NAME; "does not exist" is success. */
static int destroy_gone(const char *name, const char *flags)
{
	if (zfs_destroy(name, flags) == 0 || zfs_lasterr == ZE_NOENT) {
		ioc_err_clear();
		return 0;
	}
	return -1;
}

/* Destroy snapshot NAME unless clones still need it (or it is gone). */
static void destroy_unless_cloned(const char *name)
{
	if (zfs_destroy(name, "-r") < 0 && zfs_lasterr != ZE_CLONES && zfs_lasterr != ZE_NOENT)
		heal_failed(name);
	ioc_err_clear();
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

int rollback_tree(const char *ds, const char *snap)
{
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {ds, NULL};
	if (zfs_list(&t, "name", dss, 1000, "filesystem", NULL) < 0)
		return -1;
	_cleanup_strv_ struct strv fss = {0};
	sv_init(&fss);
	for (size_t i = 0; i < t.nrows; i++)
		if (t.rows[i].n)
			sv_add(&fss, t.rows[i].v[0]);
	if (fss.n > 1)
		qsort(fss.v, fss.n, sizeof(char *), cmp_desc); /* children first */
	for (size_t i = 0; i < fss.n; i++) {
		_cleanup_free_ char *s = xasprintf("%s@%s", fss.v[i], snap);
		if (zfs_rollback(s, true) < 0) {
			if (zfs_lasterr != ZE_NOENT)
				return -1;
			ioc_err_clear();
		}
	}
	return 0;
}

/* ---- jails ------------------------------------------------------------------------------ */

static int heal_create(const char *uuid, const char *ds, const struct txn_mark *m)
{
	if (destroy_gone(ds, "-r") < 0)
		return -1;
	jail_conf_drop(uuid);
	index_drop(uuid);
	/* "create STAMP import": an import's (image.c), after its staging name */
	const char *op = m->args.n ? m->args.v[0] : txn_op_name(m->op);
	say("removed the half-made jail %s left by an interrupted %s (pid %d is gone)", uuid, op,
	    (int)txn_stamp_pid(m->stamp));
	return 0;
}

static int heal_destroy(const char *uuid, const char *ds, const struct txn_mark *m)
{
	jail_remove_runtime_files(uuid);
	if (destroy_gone(ds, "-r") < 0)
		return -1;
	index_drop(uuid);
	_cleanup_free_ char *rel = xasprintf("jails/%s/root", uuid);
	_cleanup_free_ char *dir = path_in_root(rel);
	rmdir(dir); /* the empty mountpoint directories zfs may leave (never with content) */
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	for (size_t i = 0; i < m->args.n; i++)
		destroy_unless_cloned(m->args.v[i]);
	say("finished destroying jail %s (destroy interrupted: pid %d is gone)", uuid,
	    (int)txn_stamp_pid(m->stamp));
	return 0;
}

static int heal_clone(const char *uuid, const char *ds, const struct txn_mark *m)
{
	if (m->args.n < 2)
		return txn_mark_clear(ds);
	const char *snap = m->args.v[0], *newuuid = m->args.v[1];
	_cleanup_free_ char *nds = ds_jail(newuuid);
	_cleanup_free_ char *nmark = zfs_get1(nds, TXN_PROP);
	bool committed = false;
	if (nmark) {
		struct txn_mark nm;
		committed = txn_mark_parse(nmark, &nm) < 0;
		txn_mark_free(&nm);
	} else if (zfs_lasterr != ZE_NOENT) {
		return -1;
	}
	ioc_err_clear();
	if (nmark && !committed) {
		if (destroy_gone(nds, "-r") < 0)
			return -1;
		jail_conf_drop(newuuid);
		index_drop(newuuid);
	}
	if (!committed && startswith(snap, "ioc-clone-")) {
		_cleanup_free_ char *full = xasprintf("%s@%s", ds, snap);
		destroy_unless_cloned(full);
	}
	if (txn_mark_clear(ds) < 0)
		return -1;
	if (!committed)
		say("removed what an interrupted clone of jail %s left (pid %d is gone)", uuid,
		    (int)txn_stamp_pid(m->stamp));
	return 0;
}

static int heal_rollback(const char *uuid, const char *ds, const struct txn_mark *m)
{
	if (m->args.n < 1 || rollback_tree(ds, m->args.v[0]) < 0 || txn_mark_clear(ds) < 0)
		return -1;
	say("finished the interrupted rollback of jail %s to @%s (pid %d is gone)", uuid,
	    m->args.v[0], (int)txn_stamp_pid(m->stamp));
	return 0;
}

/* The files of an interrupted export (or package): DIR/.UUID.EXT.partial is the file
 * being written, DIR/.UUID.sha256.partial its checksum, written before both are renamed
 * (artifact_publish).  The image renamed already: the checksum's rename is finished;
 * otherwise both partial files go.  pid > 0: the writer that is gone, whose checksum may
 * be half written as .UUID.sha256.partial.tmp.PID (write_file_atomic): it goes too. */
void heal_artifact(const char *dir, const char *uuid, const char *ext, long pid)
{
	_cleanup_free_ char *rf = xasprintf("%s/%s%s", dir, uuid, ext);
	_cleanup_free_ char *rp = xasprintf("%s/.%s%s.partial", dir, uuid, ext);
	_cleanup_free_ char *file = path_in_root(rf);
	_cleanup_free_ char *partial = path_in_root(rp);
	_cleanup_free_ char *sha = artifact_sha_path(file);
	_cleanup_free_ char *shap = artifact_sha_partial(file);
	if (pid > 0) {
		_cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld", shap, pid);
		if (unlink(tmp) < 0 && errno != ENOENT)
			ioc_warn("cannot remove %s: %s", tmp, strerror(errno));
	}
	if (access(shap, F_OK) == 0 && access(partial, F_OK) != 0 && access(file, F_OK) == 0) {
		if (rename(shap, sha) < 0)
			ioc_warn("cannot rename %s to %s: %s", shap, sha, strerror(errno));
		return;
	}
	if (unlink(partial) < 0 && errno != ENOENT)
		ioc_warn("cannot remove %s: %s", partial, strerror(errno));
	if (unlink(shap) < 0 && errno != ENOENT)
		ioc_warn("cannot remove %s: %s", shap, strerror(errno));
}

static int heal_export(const char *uuid, const char *ds, const struct txn_mark *m)
{
	if (m->args.n >= 1) {
		_cleanup_free_ char *snap = xasprintf("%s@%s", ds, m->args.v[0]);
		if (destroy_gone(snap, "-r") < 0)
			return -1;
	}
	heal_artifact("images", uuid, ".zfs", (long)txn_stamp_pid(m->stamp));
	if (txn_mark_clear(ds) < 0)
		return -1;
	say("removed what an interrupted export of jail %s left (pid %d is gone)", uuid,
	    (int)txn_stamp_pid(m->stamp));
	return 0;
}

/* Back to the back-out snapshot, which goes. */
static int back_out(const char *ds, const char *sn)
{
	_cleanup_free_ char *snap = xasprintf("%s@%s", ds, sn);
	if (rollback_tree(ds, sn) < 0)
		return -1;
	return destroy_gone(snap, "-r");
}

static int heal_update(const char *uuid, const char *ds, const struct txn_mark *m)
{
	if (m->args.n < 1 || back_out(ds, m->args.v[0]) < 0 || txn_mark_clear(ds) < 0)
		return -1;
	say("rolled jail %s back to before its interrupted update (pid %d is gone)", uuid,
	    (int)txn_stamp_pid(m->stamp));
	return 0;
}

static int heal_upgrade(const char *uuid, const char *ds, const struct txn_mark *m)
{
	if (m->args.n < 3)
		return txn_mark_clear(ds);
	const char *sn = m->args.v[0], *oldrel = m->args.v[1], *newrel = m->args.v[2];
	_cleanup_free_ char *relprop = prop_zfs_name(&prop_table[P_RELEASE], false);
	_cleanup_free_ char *cur = zfs_get1(ds, relprop);
	if (!cur)
		return -1;
	if (streq(cur, newrel))
		return txn_mark_clear(ds); /* committed: the back-out snapshot is the user's */
	if (back_out(ds, sn) < 0)
		return -1;
	if (!streq(cur, oldrel) && zfs_set(ds, relprop, oldrel) < 0)
		return -1;
	if (txn_mark_clear(ds) < 0)
		return -1;
	jail_conf_drop(uuid);
	say("rolled jail %s back to release %s: its upgrade was interrupted (pid %d is gone)", uuid,
	    oldrel, (int)txn_stamp_pid(m->stamp));
	return 0;
}

static int heal_jail_op(const char *uuid, const char *ds, const struct txn_mark *m)
{
	switch (m->op) {
	case TXN_CREATE: return heal_create(uuid, ds, m);
	case TXN_DESTROY: return heal_destroy(uuid, ds, m);
	case TXN_CLONE: return heal_clone(uuid, ds, m);
	case TXN_ROLLBACK: return heal_rollback(uuid, ds, m);
	case TXN_EXPORT: return heal_export(uuid, ds, m);
	case TXN_UPDATE: return heal_update(uuid, ds, m);
	case TXN_UPGRADE: return heal_upgrade(uuid, ds, m);
	default: return txn_mark_clear(ds); /* not a jail's mark */
	}
}

int heal_jail_mark(const char *uuid, const char *value)
{
	_cleanup_txn_mark_ struct txn_mark m;
	if (txn_mark_parse(value, &m) < 0 || txn_owner_alive(m.stamp))
		return 0;
	struct ioc_errsave keep = {0};
	bool failing = ioc_err_pending();
	if (failing)
		ioc_err_save(&keep);
	_cleanup_unlock_ int lk = lock_jail(uuid, false);
	int rc = 0;
	/* what the dead owner asked the daemon for is done first (txn.h) */
	if (lk >= 0 && txn_inflight_wait(m.stamp, HEAL_WAIT_MS)) {
		/* Still the same mark, now that we hold the lock? */
		_cleanup_free_ char *ds = ds_jail(uuid);
		_cleanup_free_ char *cur = zfs_get1(ds, TXN_PROP);
		if (!cur) {
			rc = 1; /* gone meanwhile */
		} else if (!streq(cur, value)) {
			rc = 1;
		} else if (heal_jail_op(uuid, ds, &m) < 0) {
			_cleanup_free_ char *what = xasprintf("jail %s (interrupted %s)", uuid,
							      txn_op_name(m.op));
			heal_failed(what);
		} else {
			rc = 1;
		}
	}
	ioc_err_clear();
	if (failing)
		ioc_err_restore(&keep);
	return rc;
}

static void heal_stage(const char *ds, const char *stamp, const char *uuid)
{
	if (!txn_inflight_wait(stamp, HEAL_WAIT_MS))
		return; /* still at it: the next command */
	if (destroy_gone(ds, "-r") < 0) {
		heal_failed(ds);
		return;
	}
	say("removed the half-imported jail %s left by an interrupted import (pid %d is gone)",
	    uuid, (int)txn_stamp_pid(stamp));
}

bool heal_jail_row(const char *ds, const char *leaf, const char *hostuuid, const char *txn,
		   bool *healed)
{
	char stamp[64], uuid[37];
	if (txn_stage_parse(leaf, stamp, uuid)) {
		if (!txn_owner_alive(stamp)) {
			heal_stage(ds, stamp, uuid);
			*healed = true;
		}
		return false;
	}
	if (!valid_uuid(leaf))
		return false;
	_cleanup_txn_mark_ struct txn_mark m;
	if (txn_mark_parse(txn, &m) == 0) {
		if (!txn_owner_alive(m.stamp) && heal_jail_mark(leaf, txn) == 1)
			*healed = true;
		if (txn_op_hides(m.op))
			return false;
	}
	return streq(hostuuid, leaf);
}

/* ---- releases --------------------------------------------------------------------------- */

/* The release's datasets with their snapshots: root and masters (file systems) into fss,
 * snapshots into snaps.  Two zfs calls (base/REL may not exist). */
static int release_tree(const char *rel, struct strv *fss, struct strv *snaps)
{
	sv_init(fss);
	sv_init(snaps);
	_cleanup_free_ char *root = ds_release_root(rel);
	_cleanup_free_ char *base = ds_base(rel);
	const char *tops[] = {root, base};
	for (size_t k = 0; k < 2; k++) {
		_cleanup_ztable_ struct ztable t = {0};
		const char *dss[] = {tops[k], NULL};
		/* depth 2 below base/REL: the masters and their snapshots */
		if (zfs_list(&t, "name", dss, k == 0 ? 1 : 2, "filesystem,snapshot", NULL) < 0) {
			if (zfs_lasterr != ZE_NOENT)
				return -1;
			ioc_err_clear();
			continue;
		}
		for (size_t i = 0; i < t.nrows; i++) {
			const char *n = t.rows[i].n ? t.rows[i].v[0] : "";
			if (strchr(n, '@'))
				sv_add(snaps, n);
			else if (!streq(n, base))
				sv_add(fss, n);
		}
	}
	return 0;
}

static int heal_fetch_new(const char *rel, const char *ds, const struct txn_mark *m)
{
	_cleanup_free_ char *snap = ds_release_snap(rel);
	if (zfs_exists(snap))
		return txn_mark_clear(ds); /* committed */
	if (ioc_err_pending())
		return -1;
	_cleanup_free_ char *base = ds_base(rel);
	if (destroy_gone(ds, "-r") < 0 || destroy_gone(base, "-r") < 0)
		return -1;
	say("removed the half-fetched release %s (fetch interrupted: pid %d is gone)", rel,
	    (int)txn_stamp_pid(m->stamp));
	return 0;
}

/* Back to @PREV on the root and every master; masters the update made go. */
static int heal_fetch_update(const char *rel, const char *ds, const struct txn_mark *m)
{
	if (m->args.n < 2)
		return txn_mark_clear(ds);
	const char *prev = m->args.v[0];
	_cleanup_strv_ struct strv had = {0};
	split(&had, m->args.v[1], ",", true);
	/* the old source: the text after PREV and MASTERS */
	const char *oldsrc = m->rest;
	for (int w = 0; w < 2 && oldsrc; w++) {
		oldsrc = strchr(oldsrc, ' ');
		if (oldsrc)
			oldsrc++;
	}
	_cleanup_strv_ struct strv fss = {0}, snaps = {0};
	if (release_tree(rel, &fss, &snaps) < 0)
		return -1;
	_cleanup_free_ char *root = ds_release_root(rel);
	_cleanup_free_ char *base = ds_base(rel);
	for (size_t i = 0; i < fss.n; i++) {
		const char *d = fss.v[i];
		_cleanup_free_ char *ps = xasprintf("%s@%s", d, prev);
		_cleanup_free_ char *rs = xasprintf("%s@" RELEASE_SNAP, d);
		if (sv_contains(&snaps, ps)) {
			if ((sv_contains(&snaps, rs) && destroy_gone(rs, NULL) < 0) ||
			    zfs_rollback(ps, true) < 0 || zfs_rename(ps, rs) < 0)
				return -1;
		} else if (!streq(d, root)) {
			const char *name = ds_below(d, base);
			if (name && !sv_contains(&had, name) && destroy_gone(d, "-r") < 0)
				return -1;
		}
	}
	if (oldsrc && *oldsrc) {
		_cleanup_free_ char *cur = zfs_get1(ds, RELEASE_PROP_SOURCE);
		if (cur && !streq(cur, oldsrc) && zfs_set(ds, RELEASE_PROP_SOURCE, oldsrc) < 0)
			return -1;
		ioc_err_clear();
	}
	if (txn_mark_clear(ds) < 0)
		return -1;
	say("rolled release %s back to before its interrupted fetch (pid %d is gone)", rel,
	    (int)txn_stamp_pid(m->stamp));
	return 0;
}

/* Committed: the @PREV snapshots go unless clones need them. */
static int heal_fetch_commit(const char *rel, const char *ds, const struct txn_mark *m)
{
	if (m->args.n >= 1) {
		_cleanup_strv_ struct strv fss = {0}, snaps = {0};
		if (release_tree(rel, &fss, &snaps) < 0)
			return -1;
		for (size_t i = 0; i < fss.n; i++) {
			_cleanup_free_ char *ps = xasprintf("%s@%s", fss.v[i], m->args.v[0]);
			if (sv_contains(&snaps, ps))
				destroy_unless_cloned(ps);
		}
	}
	return txn_mark_clear(ds);
}

int heal_release_mark(const char *rel, const char *value, bool locked)
{
	_cleanup_txn_mark_ struct txn_mark m;
	if (txn_mark_parse(value, &m) < 0 || txn_owner_alive(m.stamp))
		return 0;
	struct ioc_errsave keep = {0};
	bool failing = ioc_err_pending();
	if (failing)
		ioc_err_save(&keep);
	_cleanup_free_ char *lname = xasprintf("release-%s", rel);
	_cleanup_unlock_ int lk = locked ? -1 : lock_jail(lname, false);
	int rc = 0;
	if ((lk >= 0 || locked) && txn_inflight_wait(m.stamp, HEAL_WAIT_MS)) {
		_cleanup_free_ char *ds = ds_release(rel);
		_cleanup_free_ char *cur = zfs_get1(ds, TXN_PROP);
		int r = 0;
		if (!cur || !streq(cur, value))
			r = 0;
		else if (m.op == TXN_FETCH)
			r = heal_fetch_new(rel, ds, &m);
		else if (m.op == TXN_FETCH_UPDATE)
			r = heal_fetch_update(rel, ds, &m);
		else if (m.op == TXN_FETCH_COMMIT)
			r = heal_fetch_commit(rel, ds, &m);
		else
			r = txn_mark_clear(ds);
		if (r < 0) {
			_cleanup_free_ char *what = xasprintf("release %s (interrupted %s)", rel,
							      txn_op_name(m.op));
			heal_failed(what);
		} else {
			rc = 1;
		}
	}
	ioc_err_clear();
	if (failing)
		ioc_err_restore(&keep);
	return rc;
}

void heal_release_row(const char *ds, const char *txn, bool *healed)
{
	const char *rel = strrchr(ds, '/');
	if (!rel || !valid_component(rel + 1))
		return;
	_cleanup_txn_mark_ struct txn_mark m;
	if (txn_mark_parse(txn, &m) == 0 && !txn_owner_alive(m.stamp) &&
	    heal_release_mark(rel + 1, txn, false) == 1)
		*healed = true;
}
