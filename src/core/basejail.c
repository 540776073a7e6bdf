#include "core/basejail.h"
#include "core/pool.h"
#include "core/release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int basejail_reclone(const struct jail *j)
{
	const char *rel = jail_prop(j, P_RELEASE);
	char *base = ds_base(rel);
	char *root = xasprintf("%s/root", j->ds);
	struct ztable masters = {0}, cur = {0};
	const char *mds[] = {base, NULL};
	const char *cds[] = {root, NULL};
	int rc = -1;
	if (zfs_list(&masters, "name", mds, 1, "filesystem", NULL) < 0) {
		if (zfs_lasterr == ZE_NOENT) {
			ioc_err("release %s has no basejail masters (%s)", rel, base);
			ioc_hint("fetch it again with 'iocell fetch release=%s'", rel);
		}
		goto out;
	}
	if (zfs_list(&cur, "name,origin", cds, 1, "filesystem", NULL) < 0)
		goto out;
	size_t blen = strlen(base), rlen = strlen(root);
	/* Remove the current system-directory clones (those cloned from any base master). */
	char *baseroot = xasprintf("%s/base/", pool_get()->root);
	for (size_t i = 0; i < cur.nrows; i++) {
		struct strv *r = &cur.rows[i];
		if (r->n < 2 || streq(r->v[0], root) || !startswith(r->v[1], baseroot))
			continue;
		if (zfs_destroy(r->v[0], "-r") < 0) {
			free(baseroot);
			goto out;
		}
	}
	free(baseroot);
	for (size_t i = 0; i < masters.nrows; i++) {
		const char *m = masters.rows[i].v[0];
		if (streq(m, base) || strlen(m) <= blen + 1)
			continue;
		const char *dir = m + blen + 1;
		char *snap = xasprintf("%s@" RELEASE_SNAP, m);
		char *dest = xasprintf("%.*s/%s", (int)rlen, root, dir);
		struct kv p;
		kv_init(&p);
		kv_set(&p, "readonly", "on");
		int r = zfs_clone(snap, dest, &p);
		kv_free(&p);
		free(snap);
		free(dest);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	ztable_free(&masters);
	ztable_free(&cur);
	free(base);
	free(root);
	return rc;
}
