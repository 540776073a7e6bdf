/* set, reset, defaults and get -r: property changes with undo (see propset.h). */
#include "core/propset.h"
#include "core/bootplan.h"
#include "core/idmap.h"
#include "core/jails.h"
#include "core/lock.h"
#include "core/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool validate_assignments(const struct kv *set, bool for_default)
{
	char err[512];
	for (size_t i = 0; i < set->k.n; i++) {
		const char *k = set->k.v[i], *v = set->v.v[i];
		if (!prop_settable(k, for_default, err, sizeof(err))) {
			ioc_err("%s", err);
			return false;
		}
		const struct propdef *p = prop_find(k);
		if (!prop_validate(p, v, err, sizeof(err))) {
			ioc_err("invalid value '%s' for %s: %s", v, k, err);
			return false;
		}
	}
	return true;
}

const struct propdef *prop_lookup(const char *name)
{
	const struct propdef *p = prop_find(name);
	if (!p) {
		char err[512];
		prop_settable(name, false, err, sizeof(err));
		ioc_err("%s", err);
	}
	return p;
}

const char *prop_effective_default(const struct propdef *p, const struct kv *saved, char **tmp)
{
	const char *v = kv_get(saved, p->name);
	if (v)
		return v;
	const char *note = prop_default_note(p);
	if (note)
		return note;
	*tmp = prop_builtin_default(p, NULL);
	return *tmp;
}

int defaults_set(const struct kv *set)
{
	if (!validate_assignments(set, true))
		return -1;
	char err[512];
	_cleanup_kv_ struct kv saved = {0};
	if (defaults_load(&saved) < 0)
		return -1;
	for (size_t i = 0; i < set->k.n; i++)
		kv_set(&saved, set->k.v[i], set->v.v[i]);
	if (!props_check_config(&saved, err, sizeof(err))) {
		ioc_err("the defaults would be inconsistent: %s", err);
		return -1;
	}
	_cleanup_free_ char *ds = ds_defaults();
	/* the cache goes before (an interruption leaves none) and after (a create may have
	 * cached the old values meanwhile) */
	_cleanup_kv_ struct kv z;
	kv_init(&z);
	for (size_t i = 0; i < set->k.n; i++) {
		_cleanup_free_ char *zn = xasprintf(IOC_PROP_PREFIX "%s", set->k.v[i]);
		kv_set(&z, zn, set->v.v[i]);
	}
	defaults_cache_drop();
	int rc = zfs_set_many(ds, &z);
	defaults_cache_drop();
	return rc;
}

/* ---- set with undo ----------------------------------------------------------------- */

void propset_plan_build(const struct jail *j, const struct kv *set, struct propset_plan *pl)
{
	kv_init(&pl->set);
	kv_init(&pl->undo);
	for (size_t i = 0; i < set->k.n; i++) {
		const struct propdef *p = prop_find(set->k.v[i]);
		const char *old = jail_prop(j, prop_id_of(p));
		if (streq(old, set->v.v[i]))
			continue;
		kv_set(&pl->undo, p->name, old);
		kv_set(&pl->set, p->name, set->v.v[i]);
	}
}

void propset_plan_free(struct propset_plan *pl)
{
	kv_free(&pl->set);
	kv_free(&pl->undo);
}

static int set_one(const struct jail *j, const char *name, const char *value)
{
	_cleanup_free_ char *z = prop_zfs_name(prop_find(name), false);
	return zfs_set(j->ds, z, value);
}

/* The plan's properties (or their old values: undo) under their ZFS names. */
static void plan_zfs(const struct kv *props, struct kv *z)
{
	kv_init(z);
	for (size_t i = 0; i < props->k.n; i++) {
		_cleanup_free_ char *zn = prop_zfs_name(prop_find(props->k.v[i]), false);
		kv_set(z, zn, props->v.v[i]);
	}
}

/* OpenZFS: all of it in one `zfs set` (user properties in one transaction); when it fails,
 * the old values go back the same way. */
static int apply_at_once(struct jail *j, const struct propset_plan *pl)
{
	_cleanup_kv_ struct kv z, u;
	kv_init(&u); /* freed even when it is not needed */
	plan_zfs(&pl->set, &z);
	if (zfs_set_many(j->ds, &z) == 0) {
		for (size_t i = 0; i < pl->set.k.n; i++)
			kv_set(&j->props, pl->set.k.v[i], pl->set.v.v[i]);
		return 0;
	}
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	plan_zfs(&pl->undo, &u);
	if (zfs_set_many(j->ds, &u) < 0)
		ioc_warn("could not restore the previous values on %s", j->uuid);
	ioc_err_restore(&keep);
	return -1;
}

int propset_apply(struct jail *j, const struct propset_plan *pl)
{
	if (zfs_is_openzfs() && pl->set.k.n > 1)
		return apply_at_once(j, pl);
	for (size_t i = 0; i < pl->set.k.n; i++) {
		if (set_one(j, pl->set.k.v[i], pl->set.v.v[i]) == 0) {
			kv_set(&j->props, pl->set.k.v[i], pl->set.v.v[i]);
			continue;
		}
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		for (size_t k = 0; k < i; k++) {
			if (set_one(j, pl->undo.k.v[k], pl->undo.v.v[k]) < 0)
				ioc_warn("could not restore %s on %s", pl->undo.k.v[k], j->uuid);
			else
				kv_set(&j->props, pl->undo.k.v[k], pl->undo.v.v[k]);
		}
		ioc_err_restore(&keep);
		return -1;
	}
	return 0;
}

/* Apply SET to a loaded jail, keeping the configuration cache right. */
static int jail_apply(struct jail *j, const struct kv *set)
{
	struct propset_plan pl;
	propset_plan_build(j, set, &pl);
	int rc = propset_apply(j, &pl);
	propset_plan_free(&pl);
	if (rc == 0)
		jail_conf_save(j);
	else
		jail_conf_drop(j->uuid);
	return rc;
}

/* depends: every name a jail, and no cycle through j (one zfs call). */
static bool check_depends(const struct jail *j, const char *v)
{
	if (streq(v, "none"))
		return true;
	_cleanup_ztable_ struct ztable t = {0};
	if (jails_query(&t, "name,iocell:active,iocell:host_hostuuid,iocell:tag,iocell:depends",
			NULL) < 0)
		return false;
	_cleanup_strv_ struct strv uuids = {0}, tags = {0}, deps = {0};
	sv_init(&uuids);
	sv_init(&tags);
	sv_init(&deps);
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		if (r->n < 5 || !valid_uuid(r->v[2]))
			continue;
		sv_add(&uuids, r->v[2]);
		sv_add(&tags, r->v[3]);
		sv_add(&deps, streq(r->v[4], "-") ? "none" : r->v[4]);
	}
	char err[512];
	if (!depends_valid(j->uuid, v, &uuids, &tags, &deps, err, sizeof(err))) {
		ioc_err("invalid value '%s' for depends of %s: %s", v, jail_prop(j, P_TAG), err);
		return false;
	}
	return true;
}

/* Checks that need the jail: uniqueness, state, type. */
static bool check_for_jail(const struct jail *j, const struct kv *set)
{
	char err[512];
	bool running = jail_running(j->uuid);
	for (size_t i = 0; i < set->k.n; i++) {
		const char *k = set->k.v[i], *v = set->v.v[i];
		const struct propdef *p = prop_find(k);
		enum prop_id id = prop_id_of(p);
		if ((p->flags & PF_CREATE)) {
			ioc_err("%s applies at create time only", k);
			return false;
		}
		if ((p->flags & PF_STOPPED) && running && !streq(jail_prop(j, id), v)) {
			ioc_err("cannot change %s of %s while it is running", k, j->uuid);
			ioc_hint("stop it first with 'iocell stop %s'", jail_prop(j, P_TAG));
			return false;
		}
		if (id == P_TAG) {
			_cleanup_free_ char *owner = index_tag_owner(v, j->uuid);
			if (owner) {
				ioc_err("tag '%s' is already used by jail %s", v, owner);
				return false;
			}
			if (ioc_err_pending())
				return false;
		}
		if (id == P_DEPENDS && !check_depends(j, v))
			return false;
		if (id == P_RELEASE && !streq(v, jail_prop(j, P_RELEASE))) {
			const char *type = jail_prop(j, P_TYPE);
			if (!streq(type, "basejail") && !streq(type, "emptyjail")) {
				ioc_err("cannot set release of a %s: its files come from %s", type,
					jail_prop(j, P_RELEASE));
				ioc_hint("use 'iocell upgrade %s release=%s'", jail_prop(j, P_TAG),
					 v);
				return false;
			}
			_cleanup_free_ char *rs = ds_release_snap(v);
			if (!zfs_exists(rs)) {
				ioc_err("release %s is not fetched", v);
				ioc_hint("fetch it with 'iocell fetch release=%s'", v);
				return false;
			}
		}
	}
	_cleanup_kv_ struct kv merged;
	kv_init(&merged);
	for (size_t i = 0; i < prop_count; i++)
		kv_set(&merged, prop_table[i].name, jail_prop(j, (enum prop_id)i));
	for (size_t i = 0; i < set->k.n; i++)
		kv_set(&merged, set->k.v[i], set->v.v[i]);
	if (!props_check_config(&merged, err, sizeof(err))) {
		ioc_err("%s", err);
		return false;
	}
	return true;
}

int jail_set(const char *name, const struct kv *set)
{
	if (!validate_assignments(set, false))
		return -1;
	/* A new tag: names change under the global lock, so tags stay unique.  privileged
	 * (even unchanged): the jail's files are moved where that wants them, and a jail
	 * without an id range gets one (allocated under the global lock). */
	bool names = prop_kv_get(set, P_TAG) != NULL;
	const char *priv = prop_kv_get(set, P_PRIVILEGED);
	_cleanup_unlock_ int gl = names || priv ? lock_global() : -1;
	if ((names || priv) && gl < 0)
		return -1;
	_cleanup_jail_ struct jail *j = jail_resolve(name);
	if (!j)
		return -1;
	_cleanup_unlock_ int jl = lock_jail(j->uuid, true);
	if (jl < 0 || !check_for_jail(j, set) ||
	    (priv && idmap_settle(j, streq(priv, "yes"), true) < 0))
		return -1;
	/* the new tag is claimed in the index before the pool has it (see index_claim) */
	if (names)
		index_claim(j->uuid, prop_kv_get(set, P_TAG));
	int rc = jail_apply(j, set);
	if (names)
		index_put(j->uuid, jail_prop(j, P_TAG));
	return rc;
}

/* ---- reset ------------------------------------------------------------------------- */

void reset_values(const struct jail *j, const struct kv *saved, struct kv *want)
{
	_cleanup_free_ char *root = jail_root(j);
	struct defctx dc = {.uuid = j->uuid, .host_release = jail_prop(j, P_RELEASE), .root = root};
	kv_init(want);
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (p->flags & (PF_RO | PF_IDENTITY | PF_DERIVED | PF_CREATE))
			continue;
		const char *v = kv_get(saved, p->name);
		_cleanup_free_ char *b = v ? xstrdup(v) : prop_builtin_default(p, &dc);
		kv_set(want, p->name, b);
	}
}

int jail_reset(const char *uuid, const struct kv *saved)
{
	_cleanup_unlock_ int lk = lock_jail(uuid, true);
	if (lk < 0)
		return -1;
	_cleanup_jail_ struct jail *j = jail_load(uuid);
	if (!j)
		return -1;
	if (jail_running(uuid)) {
		ioc_err("cannot reset %s while it is running", uuid);
		ioc_hint("stop it first");
		return -1;
	}
	_cleanup_kv_ struct kv want;
	reset_values(j, saved, &want);
	const char *priv = prop_kv_get(&want, P_PRIVILEGED);
	if (priv && !streq(priv, jail_prop(j, P_PRIVILEGED)) &&
	    idmap_settle(j, streq(priv, "yes"), false) < 0)
		return -1;
	return jail_apply(j, &want);
}

/* ---- get -r ------------------------------------------------------------------------ */

int prop_get_all_jails(const char *prop, struct ztable *out)
{
	out->nrows = 0;
	out->rows = NULL;
	const struct propdef *p = prop_lookup(prop);
	if (!p)
		return -1;
	if (p->flags & PF_DERIVED && prop_id_of(p) != P_MOUNTPOINT) {
		ioc_err("%s cannot be read with get -r", prop);
		return -1;
	}
	_cleanup_free_ char *zname = (p->flags & PF_DERIVED) ? xstrdup(prop)
							     : prop_zfs_name(p, false);
	_cleanup_free_ char *cols = xasprintf(
		"name,iocell:active,iocell:host_hostuuid,iocell:tag,%s", zname);
	_cleanup_ztable_ struct ztable zt = {0};
	if (jails_query(&zt, cols, "iocell:tag") < 0)
		return -1;
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *row = &zt.rows[i];
		if (row->n < 5 || !valid_uuid(row->v[2]))
			continue;
		const char *val = row->v[4];
		if (streq(val, "-"))
			val = p->def ? p->def : "none";
		const char *cells[] = {row->v[2], row->v[3], val};
		ztable_add(out, cells, 3);
	}
	return 0;
}
