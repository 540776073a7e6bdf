#include "core/pool.h"
#include "core/parse.h"
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

/* Clear the mark on every other pool: exactly one is active. */
static int clear_other_marks(const char *pool)
{
	_cleanup_ztable_ struct ztable t = {0};
	if (zfs_list(&t, "name,iocell:active", NULL, 0, "filesystem", NULL) < 0)
		return -1;
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n >= 2 && !streq(r->v[0], pool) && streq(r->v[1], "yes") &&
		    zfs_inherit(r->v[0], "iocell:active") < 0)
			return -1;
	}
	return 0;
}

/* POOL/iocell (at mountpoint, or moved there) and its children, the pool's mark, the
 * directories under the mount root; the pool cached as the active one. */
static int make_layout(const char *pool, const char *mountpoint)
{
	_cleanup_free_ char *root = xasprintf("%s/iocell", pool);
	if (!zfs_exists(root)) {
		_cleanup_kv_ struct kv props;
		kv_init(&props);
		kv_set(&props, "mountpoint", mountpoint ? mountpoint : "/iocell");
		kv_set(&props, "compression", "on");
		if (zfs_create(root, &props, false) < 0)
			return -1;
	} else if (mountpoint) {
		_cleanup_free_ char *cur = zfs_get1(root, "mountpoint");
		if (cur && !streq(cur, mountpoint) && zfs_set(root, "mountpoint", mountpoint) < 0)
			return -1;
	}
	static const char *const subs[] = {"jails", "releases", "base", ".defaults"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		_cleanup_free_ char *ds = xasprintf("%s/%s", root, subs[i]);
		if (zfs_exists(ds))
			continue;
		_cleanup_kv_ struct kv props;
		kv_init(&props);
		if (streq(subs[i], ".defaults"))
			kv_set(&props, "canmount", "off");
		if (zfs_create(ds, &props, false) < 0)
			return -1;
	}
	if (zfs_set(pool, "iocell:active", "yes") < 0)
		return -1;
	_cleanup_free_ char *cur_mp = zfs_get1(root, "mountpoint");
	_cleanup_free_ char *mounted = zfs_get1(root, "mounted");
	if (!cur_mp || !mounted)
		return -1;
	if (!streq(mounted, "yes")) {
		ioc_err("%s is not mounted at %s", root, cur_mp);
		ioc_hint("run 'zfs mount -a' (zfs-fuse mounts nothing after a restart)");
		return -1;
	}
	set_pool(pool, cur_mp);
	write_cache();
	if (pool_close_tree() < 0)
		return -1;
	static const char *const dirs[] = {"log", "packages", "images"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_free_ char *d = path_in_root(dirs[i]);
		if (mkdir_p(d, 0755) < 0)
			return -1;
	}
	return 0;
}

int pool_activate(const char *pool, const char *mountpoint, const char *file, const char *size)
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
	bool made_pool = false;
	if (!exists) {
		if (!file) {
			ioc_err("no pool named %s", pool);
			ioc_hint("list pools with 'zpool list', or create a file-backed one with "
				 "'iocell activate %s file=/var/lib/iocell/%s.img size=4G'",
				 pool, pool);
			return -1;
		}
		if (file[0] != '/') {
			ioc_err("pool file '%s' is not an absolute path", file);
			return -1;
		}
		if (create_sparse(file, size ? size : "4G") < 0)
			return -1;
		if (zpool_create_file(pool, file, "none") < 0) {
			unlink(file);
			return -1;
		}
		made_pool = true;
	} else if (file) {
		ioc_warn("pool %s exists already; file= and size= are ignored", pool);
	}

	if (clear_other_marks(pool) < 0)
		return -1;
	if (make_layout(pool, mountpoint) == 0)
		return 0;
	if (made_pool) {
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		zfs_runl(NULL, "undo", "zpool", "destroy", pool, NULL);
		unlink(file);
		ioc_err_restore(&keep);
	}
	return -1;
}
