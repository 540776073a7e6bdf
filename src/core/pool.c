#include "core/pool.h"
#include "core/parse.h"
#include "core/runstate.h"
#include "core/zfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ioc_pool g_pool;
static bool g_have;
static char *g_rundir;

const char *rundir(void)
{
	if (!g_rundir) {
		const char *e = getenv("IOCELL_RUNDIR");
		g_rundir = xstrdup(e && *e ? e : "/run/iocell");
		if (mkdir_p(g_rundir, 0700) < 0)
			ioc_err_clear(); /* reported by whoever needs to write there */
	}
	return g_rundir;
}

static char *cache_path(void) { return xasprintf("%s/pool", rundir()); }

static void set_pool(const char *name, const char *mountroot)
{
	free(g_pool.name);
	free(g_pool.root);
	free(g_pool.mountroot);
	g_pool.name = xstrdup(name);
	g_pool.root = xasprintf("%s/iocell", name);
	g_pool.mountroot = xstrdup(mountroot);
	g_have = true;
}

static void write_cache(void)
{
	char *p = cache_path();
	char *data = xasprintf("%s\t%s\n", g_pool.name, g_pool.mountroot);
	if (write_file_atomic(p, data, strlen(data), 0600) < 0)
		ioc_err_clear(); /* only a cache */
	free(data);
	free(p);
}

char *cache_read(const char *path)
{
	char *txt = access(path, R_OK) == 0 ? read_file(path, NULL) : NULL;
	if (!txt)
		ioc_err_clear();
	return txt;
}

static bool read_cache(void)
{
	_cleanup_free_ char *p = cache_path();
	char *txt = cache_read(p);
	if (!txt)
		return false;
	chomp(txt);
	char *tab = strchr(txt, '\t');
	bool ok = tab && tab != txt && tab[1] == '/';
	if (ok) {
		*tab = '\0';
		set_pool(txt, tab + 1);
	}
	free(txt);
	return ok;
}

/* One zfs call: every pool root and its children, with the mark and mountpoints. */
static int discover(void)
{
	struct ztable t;
	if (zfs_list(&t, "name,iocell:active,mountpoint", NULL, 1, "filesystem", NULL) < 0)
		return -1;
	struct strv active = {0};
	sv_init(&active);
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n >= 3 && !strchr(r->v[0], '/') && streq(r->v[1], "yes"))
			sv_add(&active, r->v[0]);
	}
	int rc = -1;
	if (active.n == 0) {
		ioc_err("no pool is active");
		ioc_hint(
			"run 'iocell activate POOL' (or 'iocell activate POOL file=/var/lib/iocell/POOL.img size=4G' to make a file-backed pool)");
	} else if (active.n > 1) {
		struct sbuf b;
		sb_init(&b);
		for (size_t i = 0; i < active.n; i++)
			sb_printf(&b, "%s%s", i ? ", " : "", active.v[i]);
		ioc_err("several pools are marked active: %s", b.s);
		ioc_hint("choose one with 'iocell activate POOL'");
		sb_free(&b);
	} else {
		char *root = xasprintf("%s/iocell", active.v[0]);
		const char *mp = NULL;
		for (size_t i = 0; i < t.nrows; i++)
			if (t.rows[i].n >= 3 && streq(t.rows[i].v[0], root))
				mp = t.rows[i].v[2];
		if (!mp || mp[0] != '/') {
			ioc_err("pool %s is marked active but has no mounted %s dataset",
				active.v[0], root);
			ioc_hint("run 'iocell activate %s' to create the layout", active.v[0]);
		} else {
			set_pool(active.v[0], mp);
			write_cache();
			/* a pool found anew: its saved defaults are read anew (jail.c's cache) */
			_cleanup_free_ char *dc = xasprintf("%s/defaults-%s", rundir(),
							    active.v[0]);
			unlink(dc);
			rc = 0;
		}
		free(root);
	}
	sv_free(&active);
	ztable_free(&t);
	return rc;
}

const struct ioc_pool *pool_get(void)
{
	if (g_have)
		return &g_pool;
	if (read_cache())
		return &g_pool;
	return discover() == 0 ? &g_pool : NULL;
}

const struct ioc_pool *pool_refresh(void)
{
	char *p = cache_path();
	unlink(p);
	free(p);
	g_have = false;
	return discover() == 0 ? &g_pool : NULL;
}

bool pool_mark_ok(const char *v) { return streq(v, "yes"); }

int pool_datasets(struct ztable *t, const char *cols)
{
	const struct ioc_pool *pool = pool_get();
	if (!pool)
		return -1;
	const char *dss[] = {pool->name, NULL};
	return zfs_list(t, cols, dss, 1000, "filesystem,volume", NULL);
}

char *ds_jails(void) { return xasprintf("%s/jails", g_pool.root); }
char *ds_jail(const char *uuid) { return xasprintf("%s/jails/%s", g_pool.root, uuid); }
char *ds_releases(void) { return xasprintf("%s/releases", g_pool.root); }
char *ds_release(const char *rel) { return xasprintf("%s/releases/%s", g_pool.root, rel); }
char *ds_defaults(void) { return xasprintf("%s/.defaults", g_pool.root); }
char *ds_base(const char *rel) { return xasprintf("%s/base/%s", g_pool.root, rel); }
char *ds_release_root(const char *rel)
{
	return xasprintf("%s/releases/%s/root", g_pool.root, rel);
}
char *ds_release_snap(const char *rel)
{
	return xasprintf("%s/releases/%s/root@" RELEASE_SNAP, g_pool.root, rel);
}
char *path_in_root(const char *rel) { return xasprintf("%s/%s", g_pool.mountroot, rel); }

const char *ds_below(const char *name, const char *parent)
{
	size_t n = strlen(parent);
	return strncmp(name, parent, n) == 0 && name[n] == '/' ? name + n + 1 : NULL;
}

const char *pool_active_name(void)
{
	const struct ioc_pool *p = pool_refresh();
	return p ? p->name : NULL;
}

int dir_close_to_others(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)) {
		ioc_err("cannot make %s mode 0700 (closed to host users): %s", dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

int pool_close_tree(void)
{
	static const char *const dirs[] = {"jails", "releases", "base"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_free_ char *d = path_in_root(dirs[i]);
		if (dir_close_to_others(d) < 0)
			return -1;
	}
	return 0;
}

static int create_sparse(const char *file, const char *size)
{
	uint64_t bytes;
	if (!parse_size(size, &bytes) || bytes < (64ULL << 20)) {
		ioc_err("invalid pool size '%s'", size);
		ioc_hint("give a size of at least 64M, e.g. size=4G");
		return -1;
	}
	char *dir = xstrdup(file);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700) < 0) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ioc_err("cannot create pool file %s: %s", file, strerror(errno));
		if (errno == EEXIST)
			ioc_hint("remove it or choose another file=");
		return -1;
	}
	if (ftruncate(fd, (off_t)bytes) < 0) {
		ioc_err("cannot size pool file %s: %s", file, strerror(errno));
		close(fd);
		unlink(file);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- activate ----------------------------------------------------------------------- */

/* What an activation did so far, undone in reverse on a failure: a failed activate
 * changes nothing. */
struct activation {
	const char *pool;
	char *root;           /* POOL/iocell */
	bool made_pool;       /* a file-backed pool made here */
	const char *file;     /* its file */
	struct strv moved;    /* other pools' roots moved off the mount root (mountpoint=none) */
	struct strv moved_mp; /* ... their mountpoints before */
	struct strv remount;  /* ... the file systems that were mounted under them */
	struct strv created;  /* datasets made in POOL (its root first) */
	char *old_root_mp;    /* POOL/iocell's mountpoint before, when it was changed */
	bool marked;          /* POOL's mark set */
	struct strv unmarked; /* other pools whose mark was cleared */
};

static void activation_free(struct activation *a)
{
	free(a->root);
	free(a->old_root_mp);
	sv_free(&a->moved);
	sv_free(&a->moved_mp);
	sv_free(&a->remount);
	sv_free(&a->created);
	sv_free(&a->unmarked);
}

/* Mount every file system in list that is not mounted (parents first), warning about
 * failures. */
static void mount_all(const struct strv *list)
{
	for (size_t i = 0; i < list->n; i++) {
		_cleanup_free_ char *m = zfs_get1(list->v[i], "mounted");
		if (m && streq(m, "yes"))
			continue;
		if (zfs_mount(list->v[i]) < 0) {
			ioc_warn("could not mount %s again: %s", list->v[i], ioc_errmsg());
			ioc_err_clear();
		}
	}
}

static void activation_undo(struct activation *a)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t i = a->unmarked.n; i-- > 0;)
		if (zfs_set(a->unmarked.v[i], "iocell:active", "yes") < 0)
			ioc_warn("could not mark %s active again: %s", a->unmarked.v[i],
				 ioc_errmsg());
	if (a->marked && zfs_inherit(a->pool, "iocell:active") < 0)
		ioc_warn("could not clear the mark of %s: %s", a->pool, ioc_errmsg());
	for (size_t i = a->created.n; i-- > 0;)
		if (zfs_destroy(a->created.v[i], "-r") < 0)
			ioc_warn("could not remove %s: %s", a->created.v[i], ioc_errmsg());
	if (a->old_root_mp && zfs_set(a->root, "mountpoint", a->old_root_mp) < 0)
		ioc_warn("could not set the mountpoint of %s back to %s: %s", a->root,
			 a->old_root_mp, ioc_errmsg());
	for (size_t i = a->moved.n; i-- > 0;) {
		if (zfs_set(a->moved.v[i], "mountpoint", a->moved_mp.v[i]) < 0 ||
		    zfs_inherit(a->moved.v[i], "iocell:mountroot") < 0)
			ioc_warn("could not move %s back to %s: %s", a->moved.v[i],
				 a->moved_mp.v[i], ioc_errmsg());
		ioc_err_clear();
	}
	mount_all(&a->remount);
	if (a->made_pool) {
		zfs_runl(NULL, "undo", "zpool", "destroy", a->pool, NULL);
		unlink(a->file);
	}
	ioc_err_restore(&keep);
}

/* Running jails of the pools this switch takes away (the active one, those moved off the
 * mount root) refuse it: their datasets would be unmounted under them.  A jail of the pool
 * being activated, or of a pool the switch leaves alone, does not.  (A state without its
 * pool, written by an older iocell, counts.)  Names them. */
static int refuse_running(const char *pool, const struct strv *affected)
{
	_cleanup_strv_ struct strv ids = {0};
	if (rs_list(&ids) < 0)
		return -1;
	_cleanup_sbuf_ struct sbuf b;
	sb_init(&b);
	int n = 0;
	for (size_t i = 0; i < ids.n; i++) {
		struct runstate rs;
		if (rs_read(ids.v[i], &rs) == 1 && rs_running(&rs)) {
			const char *on = rs_get(&rs, RS_POOL);
			if (!on || sv_contains(affected, on)) {
				const char *tag = rs_get(&rs, "tag");
				sb_printf(&b, "%s%s (%s)", n++ ? ", " : "", tag ? tag : "?",
					  rs.uuid);
			}
		}
		rs_free(&rs);
	}
	if (!n)
		return 0;
	ioc_err("cannot activate %s: jails of the active pool are running: %s", pool, b.s);
	ioc_hint("stop them first ('iocell stop ALL')");
	return -1;
}

/* The mount root POOL/iocell will have: the one asked for, else its own mountpoint,
 * else where it was before another pool took its place, else /iocell. */
static const char *wanted_root(const struct ztable *t, const char *root, const char *asked)
{
	if (asked)
		return asked;
	for (size_t i = 0; i < t->nrows; i++) {
		const struct strv *r = &t->rows[i];
		if (r->n < 4 || !streq(r->v[0], root))
			continue;
		if (r->v[2][0] == '/')
			return r->v[2];
		if (r->v[3][0] == '/')
			return r->v[3];
	}
	return "/iocell";
}

/* Another pool's iocell root on the mount root mp: everything under it unmounted (the
 * mounted ones remembered), then mountpoint=none, its old mountpoint kept in
 * iocell:mountroot so that activating it again puts it back. */
static int move_off(struct activation *a, const char *other_root, const char *mp)
{
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {other_root, NULL};
	if (zfs_list(&t, "name,mounted", dss, 1000, "filesystem", "name") < 0)
		return -1;
	_cleanup_strv_ struct strv mounted = {0};
	sv_init(&mounted);
	for (size_t i = 0; i < t.nrows; i++)
		if (t.rows[i].n >= 2 && streq(t.rows[i].v[1], "yes"))
			sv_add(&mounted, t.rows[i].v[0]);
	sv_add(&a->moved, other_root);
	sv_add(&a->moved_mp, mp);
	for (size_t i = mounted.n; i-- > 0;) {
		if (zfs_unmount(mounted.v[i]) < 0)
			return -1;
		sv_add(&a->remount, mounted.v[i]);
	}
	sv_sort(&a->remount);
	if (zfs_set(other_root, "iocell:mountroot", mp) < 0 ||
	    zfs_set(other_root, "mountpoint", "none") < 0)
		return -1;
	return 0;
}

/* Mount what is not mounted below root (zfs-fuse mounts nothing by itself after a
 * mountpoint change), parents first. */
static int mount_below(const char *root)
{
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {root, NULL};
	if (zfs_list(&t, "name,mounted,canmount", dss, 1000, "filesystem", "name") < 0)
		return -1;
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n >= 3 && streq(r->v[1], "no") && streq(r->v[2], "on") &&
		    zfs_mount(r->v[0]) < 0)
			return -1;
	}
	return 0;
}

/* POOL/iocell at mp (made, or moved there) and its children; the directories under the
 * mount root; the pool cached as the active one. */
static int make_layout(struct activation *a, const char *mp)
{
	const char *root = a->root;
	if (!zfs_exists(root)) {
		if (ioc_err_pending())
			return -1;
		_cleanup_kv_ struct kv props;
		kv_init(&props);
		kv_set(&props, "mountpoint", mp);
		kv_set(&props, "compression", "on");
		if (zfs_create(root, &props, false) < 0)
			return -1;
		sv_add(&a->created, root);
	} else {
		_cleanup_free_ char *cur = zfs_get1(root, "mountpoint");
		if (!cur)
			return -1;
		if (!streq(cur, mp)) {
			if (zfs_set(root, "mountpoint", mp) < 0)
				return -1;
			a->old_root_mp = TAKE_PTR(cur);
		}
		_cleanup_free_ char *saved = zfs_get1(root, "iocell:mountroot");
		if (saved && !streq(saved, "-") && zfs_inherit(root, "iocell:mountroot") < 0)
			return -1;
		if (mount_below(root) < 0)
			return -1;
	}
	static const char *const subs[] = {"jails", "releases", "base", ".defaults"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		_cleanup_free_ char *ds = xasprintf("%s/%s", root, subs[i]);
		if (zfs_exists(ds))
			continue;
		if (ioc_err_pending())
			return -1;
		_cleanup_kv_ struct kv props;
		kv_init(&props);
		if (streq(subs[i], ".defaults"))
			kv_set(&props, "canmount", "off");
		if (zfs_create(ds, &props, false) < 0)
			return -1;
		sv_add(&a->created, ds);
	}
	_cleanup_free_ char *cur_mp = zfs_get1(root, "mountpoint");
	_cleanup_free_ char *mounted = zfs_get1(root, "mounted");
	if (!cur_mp || !mounted)
		return -1;
	if (!streq(mounted, "yes")) {
		ioc_err("%s is not mounted at %s", root, cur_mp);
		ioc_hint("is something else mounted there, or is it canmount=off?  "
			 "(zfs-fuse mounts nothing after a restart: 'zfs mount -a')");
		return -1;
	}
	/* closed to host users (pool_close_tree), under the new mount root */
	static const char *const closed[] = {"jails", "releases", "base"};
	for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", cur_mp, closed[i]);
		if (dir_close_to_others(d) < 0)
			return -1;
	}
	static const char *const dirs[] = {"log", "packages", "images"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_free_ char *d = xasprintf("%s/%s", cur_mp, dirs[i]);
		if (mkdir_p(d, 0755) < 0)
			return -1;
	}
	return 0;
}

/* Everything after the pool exists: out of the way, layout, marks. */
static int activate_steps(struct activation *a, const char *asked_mp)
{
	/* one zfs call: every pool, its iocell root, their marks and mount roots */
	_cleanup_ztable_ struct ztable t = {0};
	if (zfs_list(&t, "name,iocell:active,mountpoint,iocell:mountroot", NULL, 1, "filesystem",
		     NULL) < 0)
		return -1;
	const char *mp = wanted_root(&t, a->root, asked_mp);
	/* the pools the switch takes away: the active one, and any whose root is on mp */
	_cleanup_strv_ struct strv affected = {0};
	sv_init(&affected);
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		const char *slash = strchr(r->v[0], '/');
		if (r->n < 3 || streq(r->v[0], a->pool) || streq(r->v[0], a->root))
			continue;
		if ((!slash && streq(r->v[1], "yes")) ||
		    (slash && streq(slash, "/iocell") && streq(r->v[2], mp)))
			sv_take(&affected, xstrndup(r->v[0], slash ? (size_t)(slash - r->v[0])
								   : strlen(r->v[0])));
	}
	if (affected.n && refuse_running(a->pool, &affected) < 0)
		return -1;
	/* another pool's root on this mount root: off it (iocage's switch) */
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		const char *slash = strchr(r->v[0], '/');
		if (r->n < 3 || !slash || !streq(slash, "/iocell") || streq(r->v[0], a->root) ||
		    !streq(r->v[2], mp))
			continue;
		if (move_off(a, r->v[0], mp) < 0)
			return -1;
	}
	if (make_layout(a, mp) < 0)
		return -1;
	if (zfs_set(a->pool, "iocell:active", "yes") < 0)
		return -1;
	a->marked = true;
	/* exactly one pool is active */
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		if (r->n < 2 || strchr(r->v[0], '/') || streq(r->v[0], a->pool) ||
		    !streq(r->v[1], "yes"))
			continue;
		if (zfs_inherit(r->v[0], "iocell:active") < 0)
			return -1;
		sv_add(&a->unmarked, r->v[0]);
	}
	return 0;
}

int pool_activate(const char *pool, const char *mountpoint, const char *file, const char *size,
		  struct strv *moved)
{
	if (!valid_component(pool) || strchr(pool, ':')) {
		ioc_err("invalid pool name '%s'", pool);
		return -1;
	}
	if (mountpoint && mountpoint[0] != '/') {
		ioc_err("mountpoint '%s' is not an absolute path", mountpoint);
		return -1;
	}
	struct strv pools;
	if (zpool_names(&pools) < 0)
		return -1;
	bool exists = sv_contains(&pools, pool);
	sv_free(&pools);
	struct activation a = {.pool = pool, .file = file};
	a.root = xasprintf("%s/iocell", pool);
	sv_init(&a.moved);
	sv_init(&a.moved_mp);
	sv_init(&a.remount);
	sv_init(&a.created);
	sv_init(&a.unmarked);
	int rc = -1;
	if (!exists) {
		if (!file) {
			ioc_err("no pool named %s", pool);
			ioc_hint("list pools with 'zpool list', or create a file-backed one with "
				 "'iocell activate %s file=/var/lib/iocell/%s.img size=4G'",
				 pool, pool);
		} else if (file[0] != '/') {
			ioc_err("pool file '%s' is not an absolute path", file);
		} else if (create_sparse(file, size ? size : "4G") == 0) {
			if (zpool_create_file(pool, file, "none") < 0)
				unlink(file);
			else
				a.made_pool = true;
		}
		if (!a.made_pool) {
			activation_free(&a);
			return -1;
		}
	} else if (file) {
		ioc_warn("pool %s exists already; file= and size= are ignored", pool);
	}
	if (activate_steps(&a, mountpoint) == 0) {
		_cleanup_free_ char *mp = zfs_get1(a.root, "mountpoint");
		if (mp) {
			set_pool(pool, mp);
			write_cache();
			rc = 0;
		}
	}
	if (rc < 0)
		activation_undo(&a);
	else
		for (size_t i = 0; moved && i < a.moved.n; i++)
			sv_add(moved, a.moved.v[i]);
	activation_free(&a);
	return rc;
}
