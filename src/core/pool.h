/* The active pool and the dataset layout (SPEC §2). */
#ifndef IOC_POOL_H
#define IOC_POOL_H

#include "core/util.h"
#include "core/zfs.h"

struct ioc_pool {
	char *name;      /* POOL */
	char *root;      /* POOL/iocell */
	char *mountroot; /* where POOL/iocell is mounted, /iocell by default */
};

/* Runtime state directory: $IOCELL_RUNDIR or /run/iocell (created on demand). */
const char *rundir(void);
/* The text of a cache file (in the runtime dir), or NULL, with no error recorded, when it
 * is missing or unreadable: a cache may be lost. */
char *cache_read(const char *path);
/* Every filesystem and volume of the active pool with COLS, in one `zfs list -r` (clones
 * live in their origin's pool, so this sees every dependant of a jail). */
int pool_datasets(struct ztable *t, const char *cols);
/* The active pool (from the runtime cache, else discovered with one zfs call).
 * Errors when no pool or several pools are marked active. */
const struct ioc_pool *pool_get(void);
/* Forget the cached pool (a query showed the cache is stale) and discover again. */
const struct ioc_pool *pool_refresh(void);
/* Called with the iocell:active value seen on any dataset under the pool: the cache is
 * valid when it is "yes" (user properties inherit from the pool root). */
bool pool_mark_ok(const char *active_value);

/* Dataset names (malloc'd). */
char *ds_jails(void);
char *ds_jail(const char *uuid);
char *ds_releases(void);
char *ds_release(const char *rel); /* POOL/iocell/releases/REL */
char *ds_defaults(void);
char *ds_base(const char *rel);      /* POOL/iocell/base/REL */
char *path_in_root(const char *rel); /* MOUNTROOT/rel */
/* What follows "PARENT/" in the dataset NAME (below PARENT), or NULL. */
const char *ds_below(const char *name, const char *parent);

/* The host is shut off from what jails and releases hold (as container runtimes do):
 * DIR made mode 0700 when it is not (one open, fstat and at most one fchmod; no zfs
 * call), so that no host user but root can reach a file inside, e.g. run a setuid
 * binary that a jail, a release tarball or a package planted.  Jails never pass through
 * it (their processes see only their own root).  0, or -1 with the error recorded; a
 * missing DIR is 0. */
int dir_close_to_others(const char *dir);
/* MOUNTROOT/jails, releases and base closed (dir_close_to_others). */
int pool_close_tree(void);

/* activate: mark POOL (creating the layout on first use) and make it the one mounted at
 * its mount root (mountpoint, else where it was, else /iocell): another pool's iocell
 * dataset there moves off (mountpoint=none, iocell:mountroot keeps where it was), which
 * needs its jails stopped.  file/size: create a file-backed pool first when POOL does
 * not exist.  moved (initialised, or NULL) gets the datasets moved off.  A failure
 * undoes every step. */
int pool_activate(const char *pool, const char *mountpoint, const char *file, const char *size,
		  struct strv *moved);
/* Print the active pool's name (NULL with error when none). */
const char *pool_active_name(void);

/* The snapshot every jail of a release is made from: POOL/iocell/releases/REL/root@release. */
#define RELEASE_SNAP "release"
char *ds_release_root(const char *rel);
char *ds_release_snap(const char *rel);

#endif
