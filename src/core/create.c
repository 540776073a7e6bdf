/* create: the transaction that makes COUNT new jails, undone as a whole on failure. */
#include "core/create.h"
#include "core/jailzfs.h"
#include "core/idmap.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/propset.h"
#include "core/release.h"
#include "core/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tag_pick(const char *want, bool explicit_tag, int idx, int count)
{
	if (explicit_tag && count == 1)
		return tag_claim(want);
	char *t = tag_first_free(want, idx, count == 1);
	if (!t && !ioc_err_pending())
		ioc_err("no free tag like '%s'", want);
	return t;
}

void create_props(struct kv *out, const char *uuid, const char *type, const char *release,
		  const char *tag, const struct kv *saved, const struct kv *given,
		  const char *inspect_root)
{
	struct defctx dc = {.uuid = uuid, .host_release = release, .root = inspect_root};
	kv_init(out);
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (p->flags & PF_DERIVED)
			continue;
		const char *v = kv_get(given, p->name);
		if (!v && !(p->flags & PF_NODEFAULT))
			v = kv_get(saved, p->name);
		_cleanup_free_ char *b = v ? xstrdup(v) : prop_builtin_default(p, &dc);
		kv_set(out, p->name, b);
	}
	prop_kv_set(out, P_HOST_HOSTUUID, uuid);
	prop_kv_set(out, P_TYPE, type);
	prop_kv_set(out, P_RELEASE, release);
	prop_kv_set(out, P_TAG, tag);
	prop_kv_set(out, P_LAST_STARTED, "none");
}

void jail_remove_halfmade(const char *ds)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	if (zfs_destroy(ds, "-r") < 0 && zfs_lasterr != ZE_NOENT)
		ioc_warn("could not remove the half-made %s: %s", ds, ioc_errmsg());
	ioc_err_restore(&keep);
}

/* After a failed zfs call on the release's snapshot: say so when the release is not
 * there. */
static void release_missing_hint(const char *rel)
{
	if (zfs_lasterr != ZE_NOENT) {
		/* `zfs send | zfs recv` (thick) tells less: ask whether it is there */
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		_cleanup_free_ char *snap = ds_release_snap(rel);
		bool missing = !zfs_exists(snap) && zfs_lasterr == ZE_NOENT;
		ioc_err_restore(&keep);
		if (!missing)
			return;
	}
	ioc_err("release %s is not fetched", rel);
	ioc_hint("fetch it with 'iocell fetch release=%s', see 'iocell list -r'", rel);
}

/* The root dataset ROOT of a new jail of the given kind, its files shifted to shift. */
static int make_root(enum create_kind kind, const char *release, const char *root, uint32_t shift)
{
	_cleanup_free_ char *snap = kind == CREATE_EMPTY ? NULL : ds_release_snap(release);
	switch (kind) {
	case CREATE_CLONE:
		if (zfs_clone(snap, root, NULL) == 0)
			return 0;
		release_missing_hint(release);
		return -1;
	case CREATE_THICK: /* (the received snapshot: make_jail_root) */
		if (zfs_send_recv(snap, root, false, "copying release") == 0)
			return 0;
		release_missing_hint(release);
		return -1;
	case CREATE_BASE: return release_make_basejail_root(release, root, shift);
	case CREATE_EMPTY: return zfs_create(root, NULL, false);
	}
	return -1;
}

/* jail_zfs=on: the dataset handed to the jail (below the jail's own dataset unless told
 * otherwise: gone with it on a failure). */
static int jail_zfs_made(const char *uuid, const struct kv *props)
{
	if (!streq(prop_kv_get(props, P_JAIL_ZFS), "on"))
		return 0;
	const char *rel = prop_kv_get(props, P_JAIL_ZFS_DATASET);
	char err[512];
	if (!jailzfs_dataset_ok(uuid, rel, err, sizeof(err))) {
		ioc_err("%s", err);
		return -1;
	}
	return jailzfs_ensure(rel) < 0 ? -1 : 0;
}

/* The new jail UUID's root made, its files where its id range wants them. */
static int make_jail_root(enum create_kind kind, const char *release, const char *uuid,
			  uint32_t shift)
{
	_cleanup_free_ char *ds = ds_jail(uuid);
	_cleanup_free_ char *rootds = xasprintf("%s/root", ds);
	if (make_root(kind, release, rootds, shift) < 0)
		return -1;
	if (kind == CREATE_BASE) /* shifted before the base clones were mounted */
		return 0;
	/* A thick root's received snapshot goes while its files are shifted (both before
	 * the commit; neither needs the other). */
	struct zfs_job snapjob;
	_cleanup_free_ char *recvd = kind == CREATE_THICK ? xasprintf("%s@%s", rootds, RELEASE_SNAP)
							  : NULL;
	if (recvd)
		zfs_destroy_begin(&snapjob, recvd);
	_cleanup_free_ char *rel = xasprintf("jails/%s/root", uuid);
	_cleanup_free_ char *root = path_in_root(rel);
	int rc = idmap_shift_root(root, shift, shift != 0);
	if (recvd) {
		struct ioc_errsave keep = {0};
		if (rc < 0)
			ioc_err_save(&keep);
		int drc = zfs_destroy_end(&snapjob, recvd);
		if (rc < 0)
			ioc_err_restore(&keep);
		else
			rc = drc;
	}
	return rc;
}

/* One jail: its dataset with every property and the mark "create STAMP" (one zfs
 * create: nothing shows it as a jail yet), then its root; create_jails commits them all.
 * Its name is claimed in the index before anything is made. */
static int create_one(enum create_kind kind, const char *release, const char *tag,
		      const struct kv *saved, const struct kv *given, struct idmap_alloc *ids,
		      char out_uuid[37])
{
	static const char *const types[] = {"jail", "clonejail", "basejail", "emptyjail"};
	char uuid[37];
	jail_new_uuid(uuid);
	_cleanup_free_ char *ds = ds_jail(uuid);
	_cleanup_free_ char *relroot = NULL;
	if (kind != CREATE_EMPTY) {
		_cleanup_free_ char *rel = xasprintf("releases/%s/root", release);
		relroot = path_in_root(rel);
	}
	_cleanup_kv_ struct kv props;
	create_props(&props, uuid, types[kind], release, tag, saved, given, relroot);
	char err[512];
	if (!props_check_config(&props, err, sizeof(err))) {
		ioc_err("%s", err);
		return -1;
	}
	struct idmap m;
	if (idmap_assign(&props, ids, &m) < 0)
		return -1;
	_cleanup_kv_ struct kv z;
	props_to_zfs(&z, &props);
	_cleanup_free_ char *mark = txn_mark_value(TXN_CREATE, NULL);
	kv_set(&z, TXN_PROP, mark);
	index_claim(uuid, tag);
	if (zfs_create(ds, &z, false) < 0) {
		index_drop(uuid);
		return -1;
	}
	_cleanup_free_ char *dir = path_in_root("jails");
	_cleanup_free_ char *jdir = xasprintf("%s/%s", dir, uuid);
	/* (the jail's directory again at every start: jails made before this, clones,
	 * imports) */
	if (make_jail_root(kind, release, uuid, m.shift) < 0 || dir_close_to_others(dir) < 0 ||
	    dir_close_to_others(jdir) < 0 || jail_zfs_made(uuid, &props) < 0) {
		jail_remove_halfmade(ds);
		index_drop(uuid);
		return -1;
	}
	snprintf(out_uuid, 37, "%s", uuid);
	return 0;
}

/* Atomic: remove the jails this command made already, keeping the error. */
static void undo_made(const struct strv *made)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t k = 0; k < made->n; k++) {
		_cleanup_free_ char *ds = ds_jail(made->v[k]);
		if (zfs_destroy(ds, "-r") == 0)
			index_drop(made->v[k]);
	}
	ioc_err_restore(&keep);
}

int create_jails(const struct create_req *r, struct strv *made)
{
	const struct kv *given = r->given;
	if (!validate_assignments(given, false))
		return -1;
	const char *pk = prop_kv_get(given, P_PKGLIST);
	if (pk && !streq(pk, "none") && access(pk, R_OK) != 0) {
		ioc_err("cannot read pkglist file %s", pk);
		return -1;
	}
	_cleanup_kv_ struct kv saved = {0};
	if (defaults_load_cached(&saved) < 0)
		return -1;
	const char *rel = prop_kv_get(given, P_RELEASE);
	if (!rel)
		rel = prop_kv_get(&saved, P_RELEASE);
	_cleanup_free_ char *release = rel ? xstrdup(rel) : host_codename();
	if (r->kind == CREATE_EMPTY && !prop_kv_get(given, P_RELEASE)) {
		free(release);
		release = xstrdup("none");
	}
	_cleanup_unlock_ int gl = lock_global();
	if (gl < 0)
		return -1;
	/* A fetch updating this release has no @release for a moment: wait for it. */
	_cleanup_unlock_ int rl = -1;
	if (r->kind != CREATE_EMPTY && (rl = release_lock(release)) < 0)
		return -1;
	/* every jail's id range, known once for all of them */
	struct idmap_alloc ids;
	if (idmap_alloc_load(&ids) < 0)
		return -1;
	const char *want = prop_kv_get(given, P_TAG);
	_cleanup_free_ char *deftag = want ? NULL : time_tag();
	_cleanup_strv_ struct strv tags = {0}, dss = {0};
	sv_init(&tags);
	sv_init(&dss);
	for (int i = 0; i < r->count; i++) {
		_cleanup_free_ char *tag = tag_pick(want ? want : deftag, want != NULL, i + 1,
						    r->count);
		char uuid[37];
		if (!tag || create_one(r->kind, release, tag, &saved, given, &ids, uuid) < 0) {
			idmap_alloc_free(&ids);
			undo_made(made);
			sv_free(made);
			sv_init(made);
			return -1;
		}
		sv_add(made, uuid);
		sv_add(&tags, tag);
		sv_take(&dss, ds_jail(uuid));
	}
	idmap_alloc_free(&ids);
	/* The commit of all of them, in one zfs call: an interruption before it leaves none
	 * (the next command removes them), after it all. */
	if (txn_mark_clear_all(&dss) < 0) {
		undo_made(made);
		sv_free(made);
		sv_init(made);
		return -1;
	}
	for (size_t i = 0; i < made->n; i++) {
		index_put(made->v[i], tags.v[i]);
		if (r->made)
			r->made(made->v[i], tags.v[i], r->arg);
	}
	return 0;
}
