/* create, clone */
#include "cmd/cmd.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/release.h"
#include "ops/pkgmgr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A tag not used yet: the wanted one, or for defaults/counts one with a _N suffix. */
static char *pick_tag(const char *want, bool explicit_tag, int idx, int count)
{
	if (explicit_tag && count == 1)
		return tag_claim(want);
	char *t = tag_first_free(want, idx, count == 1);
	if (!t && !ioc_err_pending())
		ioc_err("no free tag like '%s'", want);
	return t;
}

/* The full property set of a new jail: built-in < saved defaults < given. */
static void build_props(struct kv *out, const char *uuid, const char *type, const char *release,
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
		char *b = v ? xstrdup(v) : prop_builtin_default(p, &dc);
		kv_set(out, p->name, b);
		free(b);
	}
	prop_kv_set(out, P_HOST_HOSTUUID, uuid);
	prop_kv_set(out, P_TYPE, type);
	prop_kv_set(out, P_RELEASE, release);
	prop_kv_set(out, P_TAG, tag);
	prop_kv_set(out, P_LAST_STARTED, "none");
}

/* Property kv (table names) to ZFS names for zfs create -o. */
static void to_zfs(struct kv *z, const struct kv *props)
{
	kv_init(z);
	for (size_t i = 0; i < props->k.n; i++) {
		const struct propdef *p = prop_find(props->k.v[i]);
		char *name = prop_zfs_name(p, false);
		kv_set(z, name, props->v.v[i]);
		free(name);
	}
}

static void undo_jail(const char *ds)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	if (zfs_destroy(ds, "-r") < 0 && zfs_lasterr != ZE_NOENT)
		ioc_warn("could not remove the half-made %s: %s", ds, ioc_errmsg());
	ioc_err_restore(&keep);
}

static bool release_missing_hint(const char *rel)
{
	if (zfs_lasterr != ZE_NOENT)
		return false;
	ioc_err("release %s is not fetched", rel);
	ioc_hint("fetch it with 'iocell fetch release=%s', see 'iocell list -r'", rel);
	return true;
}

enum ctype { CT_THICK, CT_CLONE, CT_BASE, CT_EMPTY };

static int create_one(enum ctype ct, const char *release, const char *tag,
		      const struct kv *saved, const struct kv *given, char out_uuid[37])
{
	static const char *types[] = {"jail", "clonejail", "basejail", "emptyjail"};
	char uuid[37];
	jail_new_uuid(uuid);
	char *ds = ds_jail(uuid);
	char *relroot = NULL;
	if (ct != CT_EMPTY) {
		char *rel = xasprintf("releases/%s/root", release);
		relroot = path_in_root(rel);
		free(rel);
	}
	struct kv props, z;
	build_props(&props, uuid, types[ct], release, tag, saved, given, relroot);
	char err[512];
	int rc = -1;
	if (!props_check_config(&props, err, sizeof(err))) {
		ioc_err("%s", err);
		goto out_nods;
	}
	to_zfs(&z, &props);
	rc = zfs_create(ds, &z, false);
	kv_free(&z);
	if (rc < 0)
		goto out_nods;

	char *root = xasprintf("%s/root", ds);
	char *snap = ct == CT_EMPTY ? NULL : ds_release_snap(release);
	rc = -1;
	switch (ct) {
	case CT_CLONE:
		if (zfs_clone(snap, root, NULL) == 0)
			rc = 0;
		else
			release_missing_hint(release);
		break;
	case CT_THICK: {
		if (zfs_send_recv(snap, root, false, "copying release") == 0) {
			char *rs = xasprintf("%s@%s", root, RELEASE_SNAP);
			rc = zfs_destroy(rs, NULL);
			free(rs);
		} else if (!release_missing_hint(release) && zfs_lasterr == ZE_NOENT) {
			/* fall through with the error as recorded */
		}
		break;
	}
	case CT_BASE:
		rc = release_make_basejail_root(release, root);
		break;
	case CT_EMPTY:
		rc = zfs_create(root, NULL, false);
		break;
	}
	free(snap);
	free(root);
	if (rc < 0) {
		undo_jail(ds);
		goto out_nods;
	}
	snprintf(out_uuid, 37, "%s", uuid);
	index_put(uuid, tag);
out_nods:
	kv_free(&props);
	free(relroot);
	free(ds);
	return rc;
}

int cmd_create(int argc, char **argv)
{
	int c;
	enum ctype ct = CT_THICK;
	int nflags = 0;
	while ((c = cmd_getopt("create", argc, argv, "cbe")) != -1) {
		switch (c) {
		case 'c': ct = CT_CLONE; nflags++; break;
		case 'b': ct = CT_BASE; nflags++; break;
		case 'e': ct = CT_EMPTY; nflags++; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (nflags > 1)
		return usage_err("create", "-c, -b and -e exclude each other");
	struct kv given;
	if (!parse_assignments("create", argv + optind, argc - optind, &given)) {
		kv_free(&given);
		return CMD_USAGE;
	}
	long long count = 1;
	const char *cs = kv_get(&given, "count");
	if (cs) {
		if (!parse_int(cs, 1, 1000, &count)) {
			kv_free(&given);
			return usage_err("create", "count=%s is not a number from 1 to 1000", cs);
		}
		kv_del(&given, "count");
	}
	int rc = CMD_ERR;
	struct kv saved = {0}; /* filled by defaults_load */
	char *release = NULL;
	int gl = -1, rl = -1;
	struct strv made = {0};
	sv_init(&made);
	if (!validate_assignments(&given, false))
		goto out;
	const char *pk = prop_kv_get(&given, P_PKGLIST);
	if (pk && !streq(pk, "none") && access(pk, R_OK) != 0) {
		ioc_err("cannot read pkglist file %s", pk);
		goto out;
	}
	if (defaults_load(&saved) < 0)
		goto out;
	const char *rel = prop_kv_get(&given, P_RELEASE);
	if (!rel)
		rel = prop_kv_get(&saved, P_RELEASE);
	release = rel ? xstrdup(rel) : host_codename();
	if (ct == CT_EMPTY && !prop_kv_get(&given, P_RELEASE)) {
		free(release);
		release = xstrdup("none");
	}
	gl = lock_global();
	if (gl < 0)
		goto out;
	/* A fetch updating this release has no @release for a moment: wait for it. */
	if (ct != CT_EMPTY && (rl = release_lock(release)) < 0)
		goto out;
	const char *want = prop_kv_get(&given, P_TAG);
	char *deftag = want ? NULL : time_tag();
	for (long long i = 0; i < count; i++) {
		char *tag = pick_tag(want ? want : deftag, want != NULL, (int)i + 1, (int)count);
		char uuid[37];
		if (!tag || create_one(ct, release, tag, &saved, &given, uuid) < 0) {
			free(tag);
			free(deftag);
			/* Atomic: remove the jails this command made already. */
			struct ioc_errsave keep;
			ioc_err_save(&keep);
			for (size_t k = 0; k < made.n; k++) {
				char *ds = ds_jail(made.v[k]);
				if (zfs_destroy(ds, "-r") == 0)
					index_drop(made.v[k]);
				free(ds);
			}
			ioc_err_restore(&keep);
			goto out;
		}
		sv_add(&made, uuid);
		printf("%s (%s)\n", uuid, tag);
		fflush(stdout);
		free(tag);
	}
	free(deftag);
	rc = CMD_OK;
	if (pk && !streq(pk, "none")) {
		/* Packages take long: let other creates go on meanwhile.  A failure keeps the
		 * jails and reports each failed package by name. */
		unlock_fd(rl);
		unlock_fd(gl);
		rl = gl = -1;
		for (size_t k = 0; k < made.n; k++) {
			if (pkgmgr_install_pkglist(made.v[k], pk) < 0) {
				if (k + 1 < made.n)
					ioc_err_print();
				rc = CMD_ERR;
			}
		}
	}
out:
	unlock_fd(rl);
	unlock_fd(gl);
	sv_free(&made);
	free(release);
	kv_free(&saved);
	kv_free(&given);
	return rc;
}

int cmd_clone(int argc, char **argv)
{
	int opt = cmd_flag("clone", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("clone", "expected NAME[@SNAP]");
	char *name, *snapname;
	split_name_snap(argv[optind], &name, &snapname);
	struct kv given;
	int rc = CMD_ERR, gl = -1;
	struct jail *src = NULL;
	char *snap = NULL, *tag = NULL;
	bool made_snap = false;
	struct ztable kids = {0};
	char uuid[37];
	char *ds = NULL;
	if (!parse_assignments("clone", argv + optind + 1, argc - optind - 1, &given)) {
		rc = CMD_USAGE;
		goto out;
	}
	if (snapname && !valid_component(snapname)) {
		ioc_err("invalid snapshot name '%s'", snapname);
		goto out;
	}
	if (prop_kv_get(&given, P_RELEASE) || prop_kv_get(&given, P_TYPE)) {
		ioc_err("a clone keeps the source's release and is of type clonejail");
		goto out;
	}
	if (!validate_assignments(&given, false))
		goto out;
	gl = lock_global();
	if (gl < 0 || !(src = jail_resolve(name)))
		goto out;
	const char *want = prop_kv_get(&given, P_TAG);
	char *deftag = want ? NULL : time_tag();
	tag = pick_tag(want ? want : deftag, want != NULL, 1, 1);
	free(deftag);
	if (!tag)
		goto out;
	jail_new_uuid(uuid);
	ds = ds_jail(uuid);
	if (snapname) {
		snap = xasprintf("%s@%s", src->ds, snapname);
		if (!zfs_exists(snap)) {
			ioc_err("jail %s has no snapshot %s", jail_prop(src, P_TAG), snapname);
			ioc_hint("see 'iocell snaplist %s'", jail_prop(src, P_TAG));
			goto out;
		}
	} else {
		char *sn = time_snapname("ioc-clone-");
		snap = xasprintf("%s@%s-%.8s", src->ds, sn, uuid);
		free(sn);
		if (zfs_snapshot(snap, true) < 0)
			goto out;
		made_snap = true;
	}
	const char *dss[] = {src->ds, NULL};
	if (zfs_list(&kids, "name", dss, 3, "filesystem", NULL) < 0)
		goto out;
	/* Properties: the source's configuration with a new identity. */
	struct kv props, z;
	kv_init(&props);
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (!(p->flags & PF_DERIVED))
			kv_set(&props, p->name, jail_prop(src, prop_id_of(p)));
	}
	prop_kv_set(&props, P_HOST_HOSTUUID, uuid);
	if (streq(jail_prop(src, P_HOST_HOSTNAME), src->uuid))
		prop_kv_set(&props, P_HOST_HOSTNAME, uuid);
	for (int m = 0; m < 10; m++) {
		char k[16];
		snprintf(k, sizeof(k), "vnet%d_mac", m);
		kv_set(&props, k, "none");
	}
	char *olddef = xasprintf("iocell/jails/%s/data", src->uuid);
	if (streq(jail_prop(src, P_JAIL_ZFS_DATASET), olddef)) {
		char *nd = xasprintf("iocell/jails/%s/data", uuid);
		prop_kv_set(&props, P_JAIL_ZFS_DATASET, nd);
		free(nd);
	}
	free(olddef);
	prop_kv_set(&props, P_TEMPLATE, "no");
	prop_kv_set(&props, P_TYPE, "clonejail");
	prop_kv_set(&props, P_TAG, tag);
	prop_kv_set(&props, P_LAST_STARTED, "none");
	prop_kv_set(&props, P_BOOT, "off");
	for (size_t i = 0; i < given.k.n; i++)
		kv_set(&props, given.k.v[i], given.v.v[i]);
	char err[512];
	if (!props_check_config(&props, err, sizeof(err))) {
		ioc_err("%s", err);
		kv_free(&props);
		goto out;
	}
	to_zfs(&z, &props);
	kv_free(&props);
	const char *at = strchr(snap, '@');
	int r = zfs_clone(snap, ds, &z);
	kv_free(&z);
	if (r < 0)
		goto out;
	/* Child datasets (root, data, basejail system dirs), parents first. */
	for (size_t i = 0; i < kids.nrows; i++) {
		const char *child = kids.rows[i].v[0];
		if (streq(child, src->ds))
			continue;
		const char *rel = child + strlen(src->ds);
		char *from = xasprintf("%s%s", child, at);
		char *to = xasprintf("%s%s", ds, rel);
		struct kv cz;
		kv_init(&cz);
		if (strchr(rel + 1, '/'))
			kv_set(&cz, "readonly", "on");
		r = zfs_clone(from, to, &cz);
		kv_free(&cz);
		free(from);
		free(to);
		if (r < 0) {
			undo_jail(ds);
			goto out;
		}
	}
	index_put(uuid, tag);
	printf("%s (%s)\n", uuid, tag);
	rc = CMD_OK;
out:
	if (rc != CMD_OK && made_snap && snap) {
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		zfs_destroy(snap, "-r");
		ioc_err_restore(&keep);
	}
	ztable_free(&kids);
	unlock_fd(gl);
	jail_free(src);
	kv_free(&given);
	free(ds);
	free(tag);
	free(snap);
	free(name);
	free(snapname);
	return rc;
}
