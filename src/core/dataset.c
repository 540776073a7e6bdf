/* Host-side work on datasets: see dataset.h. */
#include "core/dataset.h"
#include "core/zfs.h"

#include <stdlib.h>

char *mounted_path(const char *ds)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_ztable_ struct ztable t = {0};
		const char *dss[] = {ds, NULL};
		if (zfs_get(&t, "mounted,mountpoint", dss, NULL, false, false, -1) < 0)
			return NULL;
		const char *mounted = NULL, *mp = NULL;
		for (size_t i = 0; i < t.nrows; i++) {
			struct strv *r = &t.rows[i];
			if (r->n < 3)
				continue;
			if (streq(r->v[1], "mounted"))
				mounted = r->v[2];
			else if (streq(r->v[1], "mountpoint"))
				mp = r->v[2];
		}
		if (!mp || mp[0] != '/') {
			ioc_err("dataset %s has no mountpoint directory", ds);
			return NULL;
		}
		if (streq(mounted, "yes"))
			return xstrdup(mp);
		if (attempt == 0 && zfs_mount(ds) < 0)
			break;
	}
	ioc_err("dataset %s is not mounted: refusing to write into its mountpoint", ds);
	ioc_hint(
		"mount it with 'zfs mount %s' (zfs-fuse mounts nothing after a restart: 'zfs mount -a')",
		ds);
	return NULL;
}

int clone_readonly(const char *snap, const char *dest)
{
	_cleanup_kv_ struct kv props;
	kv_init(&props);
	kv_set(&props, "readonly", "on");
	return zfs_clone(snap, dest, &props);
}

void undo_destroy(const char *name, const char *flags, const char *what)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	if (zfs_destroy(name, flags) < 0 && zfs_lasterr != ZE_NOENT)
		ioc_warn("could not remove %s%s: %s", what, name, ioc_errmsg());
	ioc_err_restore(&keep);
}
