/* Parsable multi-dataset queries and pool capabilities (see zquery.h). */
#include "core/zquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zfs_get_rows(struct ztable *out, const char *props, const char *const *datasets, int depth)
{
	out->nrows = 0;
	out->rows = NULL;
	_cleanup_ztable_ struct ztable t = {0};
	if (zfs_get(&t, props, datasets, NULL, true, depth >= 0, depth) < 0)
		return -1;
	_cleanup_strv_ struct strv names = {0};
	split(&names, props, ",", true);
	size_t ncol = names.n + 1;
	_cleanup_free_ const char **row = xcalloc(ncol, sizeof(char *));
	size_t cur = (size_t)-1;
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		if (r->n < 3)
			continue;
		if (cur == (size_t)-1 || !streq(out->rows[cur].v[0], r->v[0])) {
			/* rows of one dataset come together: a new dataset starts a new row */
			row[0] = r->v[0];
			for (size_t c = 1; c < ncol; c++)
				row[c] = "-";
			ztable_add(out, row, ncol);
			cur = out->nrows - 1;
		}
		for (size_t c = 0; c < names.n; c++) {
			if (!streq(names.v[c], r->v[1]))
				continue;
			free(out->rows[cur].v[c + 1]);
			out->rows[cur].v[c + 1] = xstrdup(r->v[2]);
		}
	}
	return 0;
}

/* "VERSION" of the pool: a number for a legacy pool (zfs-fuse: 23), "-" with feature
 * flags.  zfs-fuse's `zpool get` has no -H or -o: read its table. */
static char *pool_version(const char *pool)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *what = xasprintf("cannot read the version of pool %s", pool);
	if (zfs_runl(&out, what, "zpool", "get", "version", pool, NULL) < 0)
		return NULL;
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, out, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		_cleanup_strv_ struct strv w = {0};
		split(&w, lines.v[i], " \t", true);
		if (w.n >= 3 && streq(w.v[0], pool) && streq(w.v[1], "version"))
			return xstrdup(w.v[2]);
	}
	ioc_err("cannot read the version of pool %s from 'zpool get version'", pool);
	return NULL;
}

/* Is the pool feature NAME enabled or active (OpenZFS `zpool get feature@NAME`)? */
static bool pool_feature(const char *pool, const char *name)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *prop = xasprintf("feature@%s", name);
	if (zfs_runl(&out, "cannot read a pool feature", "zpool", "get", "-H", "-o", "value", prop,
		     pool, NULL) < 0) {
		ioc_err_clear();
		return false;
	}
	chomp(out);
	return streq(out, "enabled") || streq(out, "active");
}

char *zpool_compressions(const char *pool)
{
	static char *cached, *cached_pool;
	if (cached && streq(cached_pool, pool))
		return xstrdup(cached);
	_cleanup_free_ char *ver = pool_version(pool);
	if (!ver)
		return NULL;
	struct sbuf b;
	sb_init(&b);
	sb_add(&b, "on off lzjb gzip");
	for (int i = 1; i <= 9; i++)
		sb_printf(&b, " gzip-%d", i);
	sb_add(&b, " zle");
	/* legacy pools (a version number, zfs-fuse's 23) have no lz4 or zstd */
	bool features = streq(ver, "-") || atoi(ver) >= 5000;
	if (features && pool_feature(pool, "lz4_compress"))
		sb_add(&b, " lz4");
	if (features && pool_feature(pool, "zstd_compress")) {
		sb_add(&b, " zstd zstd-fast");
		for (int i = 1; i <= 19; i++)
			sb_printf(&b, " zstd-%d", i);
	}
	free(cached);
	free(cached_pool);
	cached = xstrdup(b.s);
	cached_pool = xstrdup(pool);
	return sb_steal(&b);
}

bool zpool_compression_ok(const char *pool, const char *value)
{
	_cleanup_free_ char *all = zpool_compressions(pool);
	if (!all)
		return false;
	_cleanup_strv_ struct strv v = {0};
	split(&v, all, " ", true);
	if (sv_contains(&v, value))
		return true;
	ioc_err("compression=%s is not supported by pool %s; it accepts: %s", value, pool, all);
	return false;
}
