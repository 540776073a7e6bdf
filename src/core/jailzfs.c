/* A dataset handed to a jail: see jailzfs.h. */
#include "core/jailzfs.h"
#include "core/dataset.h"
#include "core/pool.h"
#include "core/zfs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool jailzfs_dataset_ok(const char *uuid, const char *rel, char *err, size_t n)
{
	static const char top[] = "iocell";
	size_t tl = strlen(top);
	if (strncmp(rel, top, tl) != 0 || (rel[tl] && rel[tl] != '/'))
		return true; /* a dataset of the user's own, outside iocell's */
	char own[128];
	snprintf(own, sizeof(own), "iocell/jails/%s/", uuid);
	size_t ol = strlen(own);
	if (strncmp(rel, own, ol) == 0 && rel[ol] &&
	    !(strncmp(rel + ol, "root", 4) == 0 && (!rel[ol + 4] || rel[ol + 4] == '/')))
		return true;
	snprintf(err, n,
		 "jail_zfs_dataset=%s is one of iocell's own datasets: give a dataset below "
		 "the jail's own (%sNAME, not its root) or outside iocell",
		 rel, own);
	return false;
}

char *jailzfs_full(const char *rel)
{
	const struct ioc_pool *pool = pool_get();
	return pool ? xasprintf("%s/%s", pool->name, rel) : NULL;
}

int jailzfs_ensure(const char *rel)
{
	_cleanup_free_ char *ds = jailzfs_full(rel);
	if (!ds)
		return -1;
	if (zfs_exists(ds))
		return 0;
	if (zfs_lasterr != ZE_NOENT && ioc_err_pending())
		return -1;
	ioc_err_clear();
	if (zfs_create(ds, NULL, true) < 0) {
		ioc_err_ctx("cannot make the jail_zfs dataset %s", ds);
		return -1;
	}
	return 1;
}

char *jailzfs_host_path(const char *rel)
{
	_cleanup_free_ char *ds = jailzfs_full(rel);
	return ds ? mounted_path(ds) : NULL;
}

bool zfs_can_delegate(char *why, size_t n)
{
	/* zfs-fuse is a daemon with no kernel module: no /dev/zfs */
	if (!zfs_is_openzfs() || access("/dev/zfs", F_OK) != 0) {
		snprintf(why, n,
			 "zfs-fuse cannot delegate a dataset to a jail (it has no 'zfs zone' or "
			 "'zfs jail')");
		return false;
	}
	/* 'zfs zone' (user namespaces) came with OpenZFS 2.2 */
	FILE *f = fopen("/sys/module/zfs/version", "re");
	unsigned maj = 0, min = 0;
	bool known = f && fscanf(f, "%u.%u", &maj, &min) == 2;
	if (f)
		fclose(f);
	if (!known) {
		snprintf(why, n,
			 "the OpenZFS module's version is unknown (/sys/module/zfs/version): "
			 "delegating a dataset needs 'zfs zone' (OpenZFS 2.2 or later)");
		return false;
	}
	if (maj < 2 || (maj == 2 && min < 2)) {
		snprintf(why, n,
			 "OpenZFS %u.%u cannot delegate a dataset to a user namespace ('zfs zone' "
			 "came with 2.2)",
			 maj, min);
		return false;
	}
	return true;
}

int jailzfs_zoned(const char *rel)
{
	_cleanup_free_ char *ds = jailzfs_full(rel);
	if (!ds)
		return -1;
	_cleanup_free_ char *z = zfs_get1(ds, "zoned");
	if (!z)
		return -1;
	return streq(z, "on") ? 0 : zfs_set(ds, "zoned", "on");
}

int jailzfs_delegate(const char *nsfile, const char *ds, bool attach)
{
	return zfs_zone(nsfile, ds, attach);
}
