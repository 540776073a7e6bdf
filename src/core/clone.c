/* clone: a jail from another jail's snapshot, and the re-identification of a copy. */
#include "core/clone.h"
#include "core/create.h"
#include "core/dataset.h"
#include "core/idmap.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/propset.h"
#include "core/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jail_reidentify(const struct jail *src, const char *uuid, const char *tag, struct kv *changes)
{
	kv_init(changes);
	const char *old = jail_prop(src, P_HOST_HOSTUUID);
	prop_kv_set(changes, P_HOST_HOSTUUID, uuid);
	prop_kv_set(changes, P_TAG, tag);
	if (streq(jail_prop(src, P_HOST_HOSTNAME), old))
		prop_kv_set(changes, P_HOST_HOSTNAME, uuid);
	for (enum prop_id m = P_VNET0_MAC; m <= P_VNET9_MAC; m++)
		prop_kv_set(changes, m, "none");
	prop_kv_set(changes, P_NAT_ADDR, "none"); /* a copy gets addresses of its own */
	_cleanup_free_ char *olddef = xasprintf("iocell/jails/%s/data", old);
	if (streq(jail_prop(src, P_JAIL_ZFS_DATASET), olddef)) {
		_cleanup_free_ char *nd = xasprintf("iocell/jails/%s/data", uuid);
		prop_kv_set(changes, P_JAIL_ZFS_DATASET, nd);
	}
	prop_kv_set(changes, P_LAST_STARTED, "none");
}

void clone_props(const struct jail *src, const char *uuid, const char *tag, const struct kv *given,
		 struct kv *out)
{
	kv_init(out);
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (!(p->flags & PF_DERIVED))
			kv_set(out, p->name, jail_prop(src, prop_id_of(p)));
	}
	_cleanup_kv_ struct kv id = {0};
	jail_reidentify(src, uuid, tag, &id);
	for (size_t i = 0; i < id.k.n; i++)
		kv_set(out, id.k.v[i], id.v.v[i]);
	prop_kv_set(out, P_TEMPLATE, "no");
	prop_kv_set(out, P_TYPE, "clonejail");
	prop_kv_set(out, P_BOOT, "off");
	for (size_t i = 0; i < given->k.n; i++)
		kv_set(out, given->k.v[i], given->v.v[i]);
}

/* The snapshot to clone: SRC@SNAP when it exists, else a new one (*made set): the
 * source is marked "clone STAMP SNAP UUID" first, so that an interruption before the
 * clone is committed leaves nothing that the next command does not remove. */
static char *clone_origin(const struct jail *src, const char *snapname, const char *uuid,
			  bool *made)
{
	*made = false;
	if (snapname) {
		char *snap = xasprintf("%s@%s", src->ds, snapname);
		if (zfs_exists(snap))
			return snap;
		free(snap);
		ioc_err("jail %s has no snapshot %s", jail_prop(src, P_TAG), snapname);
		ioc_hint("see 'iocell snaplist %s'", jail_prop(src, P_TAG));
		return NULL;
	}
	_cleanup_free_ char *sn0 = time_snapname("ioc-clone-");
	_cleanup_free_ char *sn = xasprintf("%s-%.8s", sn0, uuid);
	const char *args[] = {sn, uuid, NULL};
	if (txn_mark_set(src->ds, TXN_CLONE, args) < 0)
		return NULL;
	char *snap = xasprintf("%s@%s", src->ds, sn);
	if (zfs_snapshot(snap, true) < 0) {
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		txn_mark_clear(src->ds);
		ioc_err_restore(&keep);
		free(snap);
		return NULL;
	}
	*made = true;
	return snap;
}

/* The new jail DS: its dataset with every property (and the mark "create STAMP"), then
 * the source's children (root, data, basejail system dirs; read-only below the first
 * level), parents first, each cloned from its snapshot of the same name. */
static int clone_datasets(const struct jail *src, const char *snap, const struct ztable *kids,
			  const char *ds, const struct kv *props)
{
	_cleanup_kv_ struct kv z;
	props_to_zfs(&z, props);
	_cleanup_free_ char *mark = txn_mark_value(TXN_CREATE, NULL);
	kv_set(&z, TXN_PROP, mark);
	if (zfs_clone(snap, ds, &z) < 0)
		return -1;
	const char *at = strchr(snap, '@');
	for (size_t i = 0; i < kids->nrows; i++) {
		const char *child = kids->rows[i].v[0];
		if (streq(child, src->ds))
			continue;
		const char *rel = child + strlen(src->ds);
		_cleanup_free_ char *from = xasprintf("%s%s", child, at);
		_cleanup_free_ char *to = xasprintf("%s%s", ds, rel);
		_cleanup_kv_ struct kv cz;
		kv_init(&cz);
		if (strchr(rel + 1, '/'))
			kv_set(&cz, "readonly", "on");
		if (zfs_clone(from, to, &cz) < 0)
			return -1;
	}
	return 0;
}

int clone_jail(const char *name, const char *snapname, const struct kv *given, char uuid[37],
	       char **tag)
{
	*tag = NULL;
	if (snapname && !valid_component(snapname)) {
		ioc_err("invalid snapshot name '%s'", snapname);
		return -1;
	}
	if (prop_kv_get(given, P_RELEASE) || prop_kv_get(given, P_TYPE)) {
		ioc_err("a clone keeps the source's release and is of type clonejail");
		return -1;
	}
	if (!validate_assignments(given, false))
		return -1;
	_cleanup_unlock_ int gl = lock_global();
	if (gl < 0)
		return -1;
	_cleanup_jail_ struct jail *src = jail_resolve(name);
	if (!src)
		return -1;
	const char *want = prop_kv_get(given, P_TAG);
	_cleanup_free_ char *deftag = want ? NULL : time_tag();
	_cleanup_free_ char *newtag = tag_pick(want ? want : deftag, want != NULL, 1, 1);
	if (!newtag)
		return -1;
	jail_new_uuid(uuid);
	_cleanup_free_ char *ds = ds_jail(uuid);
	_cleanup_ztable_ struct ztable kids = {0};
	_cleanup_kv_ struct kv props = {0};
	clone_props(src, uuid, newtag, given, &props);
	char err[512];
	struct idmap from, to;
	struct idmap_alloc ids = {0};
	int rc = idmap_of_jail(src, &from) < 0 || idmap_alloc_load(&ids) < 0 ||
				 idmap_assign(&props, &ids, &to) < 0
			 ? -1
			 : 0;
	idmap_alloc_free(&ids);
	if (rc < 0)
		return -1;
	if (!props_check_config(&props, err, sizeof(err))) {
		ioc_err("%s", err);
		return -1;
	}
	const char *dss[] = {src->ds, NULL};
	if (zfs_list(&kids, "name", dss, 3, "filesystem", NULL) < 0)
		return -1;
	bool made_snap;
	_cleanup_free_ char *snap = clone_origin(src, snapname, uuid, &made_snap);
	if (!snap)
		return -1;
	index_claim(uuid, newtag);
	rc = clone_datasets(src, snap, &kids, ds, &props);
	if (rc == 0) {
		/* its own range: the files move from the source's */
		_cleanup_free_ char *rel = xasprintf("jails/%s/root", uuid);
		_cleanup_free_ char *root = path_in_root(rel);
		rc = idmap_shift_root(root, to.shift, from.shift != to.shift);
	}
	if (rc == 0)
		rc = txn_mark_clear(ds); /* the commit */
	struct ioc_errsave keep;
	if (rc < 0) {
		ioc_err_save(&keep);
		undo_destroy(ds, "-r", "the half-made ");
		index_drop(uuid);
		if (made_snap)
			undo_destroy(snap, "-r", "");
	}
	/* the source's mark goes last (its healing removes the snapshot unless the clone
	 * is committed) */
	if (made_snap && txn_mark_clear(src->ds) < 0 && rc == 0)
		ioc_warn("%s", ioc_errmsg());
	if (rc < 0) {
		ioc_err_restore(&keep);
		return -1;
	}
	ioc_err_clear();
	index_put(uuid, newtag);
	*tag = TAKE_PTR(newtag);
	return 0;
}
