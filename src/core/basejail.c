/*
 * Basejails (see basejail.h): the masters POOL/iocell/base/REL/DIR@release, made by a
 * fetch from the release's system directories; a basejail's root with its own copy of
 * the rest of the release and read-only clones of the masters; the re-clone at start.
 */
#include "core/basejail.h"
#include "core/dataset.h"
#include "core/fetch.h"
#include "core/fsat.h"
#include "core/idmap.h"
#include "core/pool.h"
#include "core/progress.h"
#include "core/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const basejail_dirs[] = {"usr", "bin", "lib", "lib32", "lib64", "libx32", "sbin", NULL};

static bool is_basejail_dir(const char *name)
{
	for (size_t i = 0; basejail_dirs[i]; i++)
		if (streq(name, basejail_dirs[i]))
			return true;
	return false;
}

static bool is_real_dir(const char *root, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, name);
	struct stat st;
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- masters (at fetch) ---------------------------------------------------------------- */

static int copy_tree(const char *src_dir, const char *dest)
{
	_cleanup_free_ char *src = xasprintf("%s/.", src_dir);
	_cleanup_free_ char *dst = xasprintf("%s/", dest);
	_cleanup_free_ char *what = xasprintf("cannot copy %s to %s", src_dir, dest);
	const char *argv[] = {"cp", "-a", "--", src, dst, NULL};
	return run_argv(argv, NULL, what);
}

/* Make (or refresh) the master of the system directory NAME of root. */
static int make_master(struct fetch *f, const char *root, const char *prev, struct undo *u,
		       const char *name)
{
	_cleanup_free_ char *mds = xasprintf("%s/%s", f->baseds, name);
	_cleanup_free_ char *msnap = xasprintf("%s@" RELEASE_SNAP, mds);
	_cleanup_free_ char *src = xasprintf("%s/%s", root, name);
	bool exists = sv_contains(&f->masters, mds);
	if (exists && !sv_contains(&f->snaps, msnap)) {
		ioc_err("basejail master %s has no @%s snapshot (left by an interrupted fetch?)",
			mds, RELEASE_SNAP);
		ioc_hint(
			"remove it with 'zfs destroy -r %s' if no basejail uses it, then fetch again",
			mds);
		return -1;
	}
	if (exists) {
		_cleanup_free_ char *to = xasprintf("%s@%s", mds, prev);
		if (zfs_rename(msnap, to) < 0)
			return -1;
		sv_add(&u->renamed, mds);
	} else {
		if (zfs_create(mds, NULL, true) < 0)
			return -1;
		if (!f->base_exists) {
			/* -p made base/REL too: remove it with the rest on failure. */
			if (!sv_contains(&u->created, f->baseds))
				sv_add(&u->created, f->baseds);
		} else {
			sv_add(&u->created, mds);
		}
	}
	_cleanup_free_ char *path = mounted_path(mds);
	if (!path)
		return -1;
	if (show_progress())
		fprintf(stderr, "%s basejail master %s\n", exists ? "refreshing" : "making", name);
	if (exists && wipe_dir(path) < 0)
		return -1;
	if (copy_tree(src, path) < 0 || interrupt_check() < 0)
		return -1;
	if (zfs_snapshot(msnap, false) < 0)
		return -1;
	sv_add(&u->snapped, mds);
	return 0;
}

int fetch_make_masters(struct fetch *f, const char *root, const char *prev, struct undo *u)
{
	for (size_t i = 0; basejail_dirs[i]; i++) {
		if (!is_real_dir(root, basejail_dirs[i]))
			continue;
		if (interrupt_check() < 0 || make_master(f, root, prev, u, basejail_dirs[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- a basejail's root (at create) ----------------------------------------------------- */

/* The entries of the release's root: system directories (real ones) into sys, the paths
 * of everything else into copy (sorted). */
static int sort_release_root(const char *rel, const char *relroot, struct strv *sys,
			     struct strv *copy)
{
	DIR *d = opendir(relroot);
	if (!d) {
		ioc_err("cannot read release %s at %s: %s", rel, relroot, strerror(errno));
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		if (is_basejail_dir(e->d_name) && is_real_dir(relroot, e->d_name))
			sv_add(sys, e->d_name);
		else
			sv_addf(copy, "%s/%s", relroot, e->d_name);
	}
	closedir(d);
	sv_sort(copy);
	return 0;
}

static int copy_entries(const char *rel, const struct strv *copy, const char *dest)
{
	if (!copy->n)
		return 0;
	_cleanup_strv_ struct strv argv = {0};
	sv_init(&argv);
	sv_add(&argv, "cp");
	sv_add(&argv, "-a");
	sv_add(&argv, "--");
	for (size_t i = 0; i < copy->n; i++)
		sv_add(&argv, copy->v[i]);
	sv_addf(&argv, "%s/", dest);
	_cleanup_free_ char *what = xasprintf("cannot copy release %s into %s", rel, dest);
	return run_argv((const char *const *)argv.v, NULL, what);
}

/* The mountpoint directory dest/NAME for a master's clone, owned like relroot/NAME. */
static int make_clone_dir(const char *relroot, const char *dest, const char *name)
{
	_cleanup_free_ char *src = xasprintf("%s/%s", relroot, name);
	_cleanup_free_ char *dir = xasprintf("%s/%s", dest, name);
	struct stat st;
	if (stat(src, &st) < 0) {
		ioc_err("cannot stat %s: %s", src, strerror(errno));
		return -1;
	}
	if (mkdir(dir, st.st_mode & 07777) < 0) {
		ioc_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (chown(dir, st.st_uid, st.st_gid) < 0 || chmod(dir, st.st_mode & 07777) < 0) {
		ioc_err("cannot set the owner and mode of %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int clone_masters(const char *rel, const char *root_ds, const struct strv *sys)
{
	_cleanup_free_ char *baseds = ds_base(rel);
	_cleanup_strv_ struct strv clones = {0};
	sv_init(&clones);
	for (size_t i = 0; i < sys->n; i++) {
		_cleanup_free_ char *snap = xasprintf("%s/%s@" RELEASE_SNAP, baseds, sys->v[i]);
		_cleanup_free_ char *clone = xasprintf("%s/%s", root_ds, sys->v[i]);
		if (clone_readonly(snap, clone) < 0) {
			if (zfs_lasterr == ZE_NOENT) {
				ioc_err("release %s has no basejail master for /%s (%s)", rel,
					sys->v[i], snap);
				ioc_hint("fetch the release again: iocell fetch release=%s", rel);
			}
			return -1;
		}
		sv_add(&clones, clone);
	}
	/* zfs-fuse mounts the clones itself: make sure they are there. */
	for (size_t i = 0; i < clones.n; i++) {
		_cleanup_free_ char *p = mounted_path(clones.v[i]);
		if (!p)
			return -1;
	}
	return 0;
}

/* Fill the new, empty root dataset root_ds mounted at dest. */
static int fill_basejail_root(const char *rel, const char *root_ds, const char *relroot,
			      const struct strv *sys, const struct strv *copy, uint32_t shift)
{
	_cleanup_free_ char *dest = mounted_path(root_ds);
	if (!dest || copy_entries(rel, copy, dest) < 0)
		return -1;
	for (size_t i = 0; i < sys->n; i++)
		if (make_clone_dir(relroot, dest, sys->v[i]) < 0)
			return -1;
	if (idmap_shift_root(dest, shift, shift != 0) < 0)
		return -1;
	return clone_masters(rel, root_ds, sys);
}

int release_make_basejail_root(const char *rel, const char *root_ds, uint32_t shift)
{
	if (!pool_get())
		return -1;
	if (!valid_component(rel)) {
		ioc_err("invalid release name '%s'", rel);
		return -1;
	}
	/* The caller (create) holds release_lock(rel).  A release is there once its
	 * root@release is (the commit point of a fetch). */
	_cleanup_free_ char *relroot_ds = ds_release_root(rel);
	_cleanup_free_ char *relsnap = ds_release_snap(rel);
	if (!zfs_exists(relsnap)) {
		if (zfs_lasterr == ZE_NOENT) {
			ioc_err("release %s is not fetched", rel);
			ioc_hint("iocell fetch release=%s", rel);
		}
		return -1;
	}
	_cleanup_free_ char *relroot = mounted_path(relroot_ds);
	if (!relroot)
		return -1;
	_cleanup_strv_ struct strv copy = {0}, sys = {0};
	sv_init(&copy);
	sv_init(&sys);
	if (sort_release_root(rel, relroot, &sys, &copy) < 0)
		return -1;
	if (zfs_create(root_ds, NULL, false) < 0)
		return -1;
	if (fill_basejail_root(rel, root_ds, relroot, &sys, &copy, shift) < 0) {
		undo_destroy(root_ds, "-r", "the half-made ");
		return -1;
	}
	return 0;
}

/* ---- at start -------------------------------------------------------------------------- */

/* The directory SUB of the jail's root, where ZFS is about to mount a base clone: ZFS
 * mounts by path and would follow a symlink there, so SUB must be a real directory
 * (resolved beneath the root through no symlink; made when missing).  The jail is not
 * running, so nothing of it can change SUB between this check and the mount. */
static int clone_mountpoint_ok(int rootfd, const char *rootpath, const char *sub)
{
	_cleanup_close_ int fd = open_nofollow(rootfd, sub, O_PATH, 0);
	struct stat st;
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(rootfd, sub, 0755) == 0 || errno == EEXIST)
			fd = open_nofollow(rootfd, sub, O_PATH, 0);
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		const char *why = fd < 0 && errno == ELOOP ? "it is a symlink"
				  : fd < 0                 ? strerror(errno)
							   : "it is not a directory";
		ioc_err("cannot mount the basejail's /%s on %s/%s: %s (iocell never mounts "
			"through the jail's symlinks)",
			sub, rootpath, sub, why);
		ioc_hint("make %s/%s an empty directory again, then start the jail", rootpath, sub);
		return -1;
	}
	return 0;
}

int basejail_reclone(const struct jail *j)
{
	const char *rel = jail_prop(j, P_RELEASE);
	_cleanup_free_ char *base = ds_base(rel);
	_cleanup_free_ char *root = xasprintf("%s/root", j->ds);
	_cleanup_ztable_ struct ztable masters = {0}, cur = {0};
	const char *mds[] = {base, NULL};
	const char *cds[] = {j->ds, NULL};
	if (zfs_list(&masters, "name", mds, 1, "filesystem", NULL) < 0) {
		if (zfs_lasterr == ZE_NOENT) {
			ioc_err("release %s has no basejail masters (%s)", rel, base);
			ioc_hint("fetch it again with 'iocell fetch release=%s'", rel);
		}
		return -1;
	}
	if (zfs_list(&cur, "name,origin", cds, 2, "filesystem", NULL) < 0)
		return -1;
	/* Remove the current system-directory clones (those cloned from any base master):
	 * ROOT/DIR, and JAIL/.liveN-DIR of a forced upgrade while it ran (ops/baseswap.h). */
	_cleanup_free_ char *baseroot = xasprintf("%s/base/", pool_get()->root);
	_cleanup_free_ char *live = xasprintf("%s/.live", j->ds);
	for (size_t i = 0; i < cur.nrows; i++) {
		struct strv *r = &cur.rows[i];
		const char *below = r->n >= 2 ? ds_below(r->v[0], root) : NULL;
		bool sysdir = below && !strchr(below, '/');
		if (r->n < 2 || (!sysdir && !startswith(r->v[0], live)) ||
		    !startswith(r->v[1], baseroot))
			continue;
		if (zfs_destroy(r->v[0], "-r") < 0)
			return -1;
	}
	_cleanup_free_ char *rootpath = jail_root(j);
	_cleanup_close_ int rootfd = open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		ioc_err("cannot open the jail root %s: %s", rootpath, strerror(errno));
		return -1;
	}
	size_t blen = strlen(base);
	for (size_t i = 0; i < masters.nrows; i++) {
		const char *m = masters.rows[i].v[0];
		if (streq(m, base) || strlen(m) <= blen + 1)
			continue;
		const char *sub = m + blen + 1;
		_cleanup_free_ char *snap = xasprintf("%s@" RELEASE_SNAP, m);
		_cleanup_free_ char *dest = xasprintf("%s/%s", root, sub);
		if (clone_mountpoint_ok(rootfd, rootpath, sub) < 0 ||
		    clone_readonly(snap, dest) < 0)
			return -1;
	}
	return 0;
}
