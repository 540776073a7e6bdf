/* Package managers inside a jail's filesystem: see pkgmgr.h. */
#include "ops/pkgmgr.h"
#include "core/fsat.h"
#include "core/heal.h"
#include "core/lock.h"
#include "core/package.h"
#include "core/pool.h"
#include "core/release.h"
#include "core/snapshot.h"
#include "core/dataset.h"
#include "core/runstate.h"
#include "ops/baseswap.h"
/* The platform: the runtime's chroot. */
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define APT_ENV "/usr/bin/env", "DEBIAN_FRONTEND=noninteractive"

/* ---- text ------------------------------------------------------------------------------ */

void pkglist_parse(const char *text, struct strv *names)
{
	for (const char *l = text; *l;) {
		size_t n = strcspn(l, "\n");
		_cleanup_free_ char *line = xstrndup(l, n);
		char *h = strchr(line, '#');
		if (h)
			*h = '\0';
		_cleanup_strv_ struct strv w = {0};
		split(&w, line, " \t\r", true);
		for (size_t i = 0; i < w.n; i++)
			sv_add(names, w.v[i]);
		l += n;
		if (*l)
			l++;
	}
}

bool valid_pkgname(const char *s)
{
	if (!*s || *s == '-')
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || strchr("+-._:=~/@", *s)))
			return false;
	return true;
}

int swap_suite(const char *text, const char *old, const char *new, char **out)
{
	_cleanup_sbuf_ struct sbuf b;
	sb_init(&b);
	size_t ol = strlen(old);
	int n = 0;
	for (const char *p = text; *p;) {
		bool start = p == text || strchr(" \t:\n", p[-1]);
		if (start && ol && strncmp(p, old, ol) == 0 &&
		    (!p[ol] || strchr(" \t\n-/", p[ol]))) {
			sb_add(&b, new);
			p += ol;
			n++;
			continue;
		}
		sb_addc(&b, *p++);
	}
	*out = sb_steal(&b);
	return n;
}

/* ---- the package manager --------------------------------------------------------------- */

static bool exists_beneath(int rootfd, const char *p)
{
	_cleanup_close_ int fd = open_beneath(rootfd, p, O_PATH, 0);
	return fd >= 0;
}

enum pkgmgr pkgmgr_detect(const char *root)
{
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return PM_NONE;
	if (exists_beneath(rfd, "usr/bin/apt-get") || exists_beneath(rfd, "etc/debian_version"))
		return PM_APT;
	if (exists_beneath(rfd, "sbin/apk") || exists_beneath(rfd, "etc/alpine-release"))
		return PM_APK;
	if (exists_beneath(rfd, "usr/sbin/pkg") || exists_beneath(rfd, "usr/local/sbin/pkg"))
		return PM_PKG;
	return PM_NONE;
}

const char *pkgmgr_name(enum pkgmgr pm)
{
	switch (pm) {
	case PM_APT: return "apt-get";
	case PM_APK: return "apk";
	case PM_PKG: return "pkg";
	default: return "none";
	}
}

static int no_pm(const struct jail *j)
{
	ioc_err("no known package manager in this jail (apt-get, apk, pkg): %s",
		jail_prop(j, P_TAG));
	ioc_hint("iocell runs the release's own package manager; this release has none");
	return -1;
}

/* Run argv in the jail's filesystem (host network); returns the exit status or -1. */
static int in_jail(struct jail *j, const char *const *argv)
{
	int status = 0;
	if (ioc_debug) {
		_cleanup_sbuf_ struct sbuf b;
		sb_init(&b);
		for (size_t i = 0; argv[i]; i++)
			sb_printf(&b, "%s%s", i ? " " : "", argv[i]);
		fprintf(stderr, "+ [in jail %s] %s\n", jail_prop(j, P_TAG), b.s);
	}
	fflush(NULL);
	if (plat_chroot(j, (char *const *)argv, &status) < 0)
		return -1;
	return status;
}

static int pm_refresh(struct jail *j, enum pkgmgr pm)
{
	const char *apt[] = {APT_ENV, "apt-get", "-q", "update", NULL};
	const char *apk[] = {"apk", "update", NULL};
	const char *pkg[] = {"pkg", "update", NULL};
	const char *const *argv = pm == PM_APT ? apt : pm == PM_APK ? apk : pkg;
	int st = in_jail(j, argv);
	if (st != 0 && st != -1)
		ioc_err("'%s update' failed in jail %s (exit status %d)", pkgmgr_name(pm),
			jail_prop(j, P_TAG), st);
	return st == 0 ? 0 : -1;
}

static int pm_install(struct jail *j, enum pkgmgr pm, const char *name)
{
	const char *apt[] = {APT_ENV, "apt-get", "-q", "-y", "install", "--", name, NULL};
	const char *apk[] = {"apk", "add", "--", name, NULL};
	const char *pkg[] = {"pkg", "install", "-y", name, NULL};
	const char *const *argv = pm == PM_APT ? apt : pm == PM_APK ? apk : pkg;
	return in_jail(j, argv);
}

/* ---- pkglist --------------------------------------------------------------------------- */

/* Install names with pm; the ones that failed into failed. */
static void install_all(struct jail *j, enum pkgmgr pm, const struct strv *names,
			struct strv *failed)
{
	if (pm != PM_PKG && pm_refresh(j, pm) < 0) {
		ioc_err_ctx("cannot install packages %s", "(package index)");
		for (size_t i = 0; i < names->n; i++)
			sv_add(failed, names->v[i]);
		return;
	}
	for (size_t i = 0; i < names->n; i++) {
		bool valid = valid_pkgname(names->v[i]);
		int st = valid ? pm_install(j, pm, names->v[i]) : 1;
		if (st != 0) {
			ioc_warn("package %s failed to install in jail %s%s", names->v[i],
				 jail_prop(j, P_TAG), valid ? "" : " (not a package name)");
			sv_add(failed, names->v[i]);
		}
	}
}

static int install_locked(struct jail *j, const char *file, const struct strv *names)
{
	_cleanup_free_ char *root = jail_root(j);
	enum pkgmgr pm = pkgmgr_detect(root);
	if (names->n == 0)
		return 0;
	if (pm == PM_NONE) {
		no_pm(j);
		ioc_err_ctx("cannot install pkglist %s", file);
		return -1;
	}
	_cleanup_strv_ struct strv failed = {0};
	sv_init(&failed);
	install_all(j, pm, names, &failed);
	if (failed.n == 0)
		return 0;
	_cleanup_sbuf_ struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < failed.n; i++)
		sb_printf(&b, "%s%s", i ? ", " : "", failed.v[i]);
	ioc_err("packages failed to install in jail %s (%s): %s", jail_prop(j, P_TAG), j->uuid,
		b.s);
	ioc_hint("check those names in %s (one package of %s a line, see the warnings above), "
		 "then create again",
		 file, pkgmgr_name(pm));
	return -1;
}

int pkgmgr_install_pkglist(const char *uuid, const char *file)
{
	_cleanup_free_ char *text = read_file(file, NULL);
	if (!text)
		return -1;
	_cleanup_strv_ struct strv names = {0};
	sv_init(&names);
	pkglist_parse(text, &names);
	_cleanup_jail_ struct jail *j = jail_load(uuid);
	if (!j)
		return -1;
	int lk = lock_jail(uuid, true);
	if (lk < 0)
		return -1;
	int rc = install_locked(j, file, &names);
	unlock_fd(lk);
	return rc;
}

/* ---- update ---------------------------------------------------------------------------- */

static int update_basejail_release(const char *rel)
{
	_cleanup_free_ char *rds = ds_release(rel);
	_cleanup_free_ char *src = zfs_get1(rds, RELEASE_PROP_SOURCE);
	if (!src)
		return -1;
	if (!startswith(src, "debootstrap ")) {
		ioc_err("release %s was made from a root tarball (%s), which has no updater", rel,
			src);
		ioc_hint("fetch a newer tarball with 'iocell fetch release=%s ...' to update it",
			 rel);
		return -1;
	}
	_cleanup_strv_ struct strv w = {0};
	split(&w, src, " ", true);
	if (w.n < 3) {
		ioc_err("release %s: cannot tell its mirror from iocell:source '%s'", rel, src);
		return -1;
	}
	struct fetch_opts o = {.release = rel, .ftphost = w.v[2]};
	printf("updating release %s from %s (fetching it again)\n", rel, w.v[2]);
	fflush(stdout);
	return release_fetch(&o);
}

/* A back-out snapshot DS@PREFIX_DATE, announced, the jail marked "OP STAMP SNAP EXTRA"
 * (core/heal.h: an interrupted update or upgrade is rolled back by the next command).
 * *name: its snapshot name. */
static char *backout_snapshot(const struct jail *j, enum txn_op op, const char *prefix,
			      const char *const *extra, char **name)
{
	_cleanup_free_ char *sn = txn_snapshot(j->ds, op, prefix, extra);
	if (!sn)
		return NULL;
	char *full = xasprintf("%s@%s", j->ds, sn);
	printf("back-out snapshot %s created\n", full);
	fflush(stdout);
	if (name)
		*name = TAKE_PTR(sn);
	return full;
}

/* The end of an update or upgrade (done or failed and reported): the mark goes. */
static int backout_done(const struct jail *j, int rc) { return txn_mark_finish(j->ds, rc); }

int pkgmgr_update(struct jail *j, char **snap)
{
	*snap = NULL;
	const char *tag = jail_prop(j, P_TAG);
	if (streq(jail_prop(j, P_TYPE), "basejail")) {
		const char *rel = jail_prop(j, P_RELEASE);
		if (update_basejail_release(rel) < 0) {
			ioc_err_ctx("cannot update basejail %s", tag);
			return -1;
		}
		printf("release %s updated: every basejail of it (%s included) picks it up at its "
		       "next start\n",
		       rel, tag);
		return 0;
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		return -1;
	}
	_cleanup_free_ char *root = jail_root(j);
	enum pkgmgr pm = pkgmgr_detect(root);
	if (pm == PM_NONE)
		return no_pm(j);
	if (!(*snap = backout_snapshot(j, TXN_UPDATE, "ioc-update_", NULL, NULL)))
		return -1;
	const char *apt[] = {APT_ENV,   "apt-get", "-q",
			     "-y",      "-o",      "Dpkg::Options::=--force-confold",
			     "upgrade", NULL};
	const char *apk[] = {"apk", "upgrade", NULL};
	const char *pkg[] = {"pkg", "upgrade", "-y", NULL};
	int st = pm == PM_PKG ? 0 : pm_refresh(j, pm);
	if (st == 0) {
		st = in_jail(j, pm == PM_APT ? apt : pm == PM_APK ? apk : pkg);
		if (st > 0)
			ioc_err("the updater (%s upgrade) failed in jail %s with exit status %d",
				pkgmgr_name(pm), tag, st);
	}
	if (st != 0) {
		ioc_hint("roll back with 'iocell rollback %s%s' (the jail was left as the updater "
			 "left it)",
			 tag, strchr(*snap, '@'));
		return backout_done(j, -1);
	}
	return backout_done(j, 0);
}

/* ---- upgrade --------------------------------------------------------------------------- */

/* A text file of the jail's (a regular file only: never a FIFO that would hang us or a
 * device; 4 MiB at most). */
static char *read_beneath(int rootfd, const char *path)
{
	return read_regular_beneath(rootfd, path, 4u << 20, NULL);
}

/* The apt source files of the tree rfd. */
static void apt_sources(int rfd, struct strv *files)
{
	sv_add(files, "etc/apt/sources.list");
	int dfd = open_beneath(rfd, "etc/apt/sources.list.d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
			       0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (endswith(de->d_name, ".list") || endswith(de->d_name, ".sources"))
			sv_addf(files, "etc/apt/sources.list.d/%s", de->d_name);
	closedir(d);
}

static int switch_sources(const char *root, const char *old, const char *new)
{
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		ioc_err("cannot open %s: %s", root, strerror(errno));
		return -1;
	}
	_cleanup_strv_ struct strv files = {0};
	sv_init(&files);
	apt_sources(rfd, &files);
	int total = 0;
	for (size_t i = 0; i < files.n; i++) {
		_cleanup_free_ char *text = read_beneath(rfd, files.v[i]);
		if (!text)
			continue;
		_cleanup_free_ char *nt = NULL;
		int n = swap_suite(text, old, new, &nt);
		if (n > 0 && write_beneath(rfd, files.v[i], nt, strlen(nt), 0644) < 0)
			return -1;
		total += n;
	}
	if (total == 0) {
		ioc_err("no apt source in the jail names the suite %s", old);
		ioc_hint("edit /etc/apt/sources.list in the jail ('iocell chroot NAME') yourself");
		return -1;
	}
	return 0;
}

/* The suite a Debian tree is on: VERSION_CODENAME of /etc/os-release, else REL. */
static char *tree_suite(const char *root, const char *rel)
{
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = rfd >= 0 ? read_beneath(rfd, "etc/os-release") : NULL;
	char *s = text ? keyval_get(text, "VERSION_CODENAME") : NULL;
	if (s && *s)
		return s;
	free(s);
	return xstrdup(rel);
}

/* Move a Debian tree to the suite newrel: sources switched, index, dist-upgrade. */
static int upgrade_tree(struct jail *j, const char *root, const char *cur, const char *newrel)
{
	_cleanup_free_ char *old = tree_suite(root, cur);
	const char *apt[] = {APT_ENV,        "apt-get", "-q",
			     "-y",           "-o",      "Dpkg::Options::=--force-confold",
			     "dist-upgrade", NULL};
	if (switch_sources(root, old, newrel) < 0 || pm_refresh(j, PM_APT) < 0)
		return -1;
	int st = in_jail(j, apt);
	if (st > 0)
		ioc_err("apt-get dist-upgrade to %s failed in jail %s (exit status %d)", newrel,
			jail_prop(j, P_TAG), st);
	return st == 0 ? 0 : -1;
}

/* The upgrade failed: back to the snapshot sn, saying so with the pending error. */
static void upgrade_undo(const struct jail *j, const char *sn)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	int r = rollback_tree(j->ds, sn);
	ioc_err_restore(&keep);
	if (r == 0)
		ioc_err_ctx("upgrade failed; jail %s was rolled back to %s", jail_prop(j, P_TAG),
			    sn);
	else
		ioc_err_ctx("upgrade failed and the rollback to %s failed too", sn);
}

/* Can jail j move to newrel?  *pm: its package manager (PM_NONE for a basejail). */
static int upgrade_check(const struct jail *j, const char *newrel, const char *root,
			 enum pkgmgr *pm)
{
	const char *tag = jail_prop(j, P_TAG), *cur = jail_prop(j, P_RELEASE);
	if (streq(newrel, cur)) {
		ioc_err("jail %s is already on release %s", tag, cur);
		return -1;
	}
	bool base = streq(jail_prop(j, P_TYPE), "basejail");
	/* a running basejail is upgraded in place (forced upgrade, baseswap.h) */
	if (!base && jail_running(j->uuid)) {
		ioc_err("jail %s is running: upgrade needs a stopped jail (it rolls back on failure)",
			tag);
		ioc_hint("stop it with 'iocell stop %s'", tag);
		return -1;
	}
	_cleanup_free_ char *relsnap = ds_release_snap(newrel);
	if (!zfs_exists(relsnap) && base) {
		if (!ioc_err_pending()) {
			ioc_err("release %s is not fetched", newrel);
			ioc_hint("fetch it with 'iocell fetch release=%s'", newrel);
		}
		return -1;
	}
	ioc_err_clear();
	*pm = base ? PM_NONE : pkgmgr_detect(root);
	if (!base && *pm != PM_APT) {
		ioc_err("cannot upgrade jail %s: only basejails and Debian/Ubuntu trees can be "
			"upgraded (%s)",
			tag, *pm == PM_NONE ? "no known package manager" : pkgmgr_name(*pm));
		return -1;
	}
	return 0;
}

int pkgmgr_upgrade(struct jail *j, const char *newrel, char **snap)
{
	*snap = NULL;
	_cleanup_free_ char *root = jail_root(j);
	enum pkgmgr pm = PM_NONE;
	if (upgrade_check(j, newrel, root, &pm) < 0)
		return -1;
	struct runstate rs = {0};
	bool live = pm == PM_NONE && rs_read(j->uuid, &rs) == 1 && rs_running(&rs);
	if (live && !plat_can_replace_mount()) {
		rs_free(&rs);
		ioc_hint("stop it first: 'iocell stop %s', then upgrade and start it again",
			 jail_prop(j, P_TAG));
		return -1;
	}
	_cleanup_free_ char *sn = NULL;
	const char *extra[] = {jail_prop(j, P_RELEASE), newrel, NULL};
	_cleanup_free_ char *full = backout_snapshot(j, TXN_UPGRADE, "ioc-upgrade_", extra, &sn);
	if (!full) {
		rs_free(&rs);
		return -1;
	}
	/* release=NEW is the commit */
	_cleanup_free_ char *relprop = prop_zfs_name(&prop_table[P_RELEASE], false);
	if (live) {
		/* forced: swapped under the running jail; nothing of its own data changes */
		printf("jail %s is running: swapping its system directories to %s\n",
		       jail_prop(j, P_TAG), newrel);
		int r = basejail_swap_live(j, &rs, newrel);
		rs_free(&rs);
		if (r < 0 || zfs_set(j->ds, relprop, newrel) < 0) {
			undo_destroy(full, "-r", "the back-out snapshot ");
			return backout_done(j, -1);
		}
		if (backout_done(j, 0) < 0)
			return -1;
		*snap = TAKE_PTR(full);
		return 1;
	}
	rs_free(&rs);
	if ((pm == PM_APT && upgrade_tree(j, root, jail_prop(j, P_RELEASE), newrel) < 0) ||
	    zfs_set(j->ds, relprop, newrel) < 0) {
		upgrade_undo(j, sn);
		return backout_done(j, -1);
	}
	if (backout_done(j, 0) < 0)
		return -1;
	*snap = TAKE_PTR(full);
	return 0;
}
