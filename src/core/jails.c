/* Every jail at once: one `zfs list` over the jails dataset, and the name index (a cache
 * of every jail's UUID and tag under the runtime dir, rebuilt when stale). */
#include "core/heal.h"
#include "core/idmap.h"
#include "core/jail.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "core/txn.h"
#include "core/zquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool hexprefix(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdefABCDEF-", *s))
			return false;
	return true;
}

static char *index_path(void)
{
	const struct ioc_pool *p = pool_get();
	return xasprintf("%s/index-%s", rundir(), p ? p->name : "none");
}

void jail_brief_free(struct jail_brief *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].tag);
	free(b);
}

void jail_boot_free(struct jail_boot *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].tag);
	free(b);
}

char *index_format(const struct jail_brief *b, size_t n)
{
	struct sbuf s;
	sb_init(&s);
	for (size_t i = 0; i < n; i++) {
		sb_printf(&s, "%s\t%s\t%d", b[i].uuid, b[i].tag, b[i].template ? 1 : 0);
		sb_printf(&s, "%s%s\n", b[i].stamp[0] ? "\t" : "", b[i].stamp);
	}
	return sb_steal(&s);
}

static int index_write(const struct jail_brief *b, size_t n)
{
	_cleanup_free_ char *text = index_format(b, n);
	_cleanup_free_ char *p = index_path();
	if (write_file_cache(p, text, strlen(text), 0600) < 0)
		ioc_err_clear(); /* the index is only a cache */
	return 0;
}

void index_store(const struct jail_brief *b, size_t n) { index_write(b, n); }

/* Drop the cells of row r from index k on. */
static void row_truncate(struct strv *r, size_t k)
{
	while (r->n > k) {
		free(r->v[--r->n]);
		r->v[r->n] = NULL;
	}
}

/* One query: rows of the jails (COLS) and of the releases, with iocell:txn and
 * iocell:host_hostuuid after COLS.  1 the pool mark is right, 0 it is not (stale pool
 * cache), -1 error. */
static int query_once(struct ztable *t, const char *cols, const char *sort, size_t ncols)
{
	_cleanup_free_ char *full = xasprintf("%s," TXN_PROP ",iocell:host_hostuuid", cols);
	_cleanup_free_ char *jds = ds_jails();
	_cleanup_free_ char *rds = ds_releases();
	const char *dss[] = {jds, rds, NULL};
	if (zfs_list(t, full, dss, 1, "filesystem", sort) < 0)
		return -1;
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].n >= ncols + 2 && streq(t->rows[i].v[0], jds))
			return pool_mark_ok(t->rows[i].v[1]) ? 1 : 0;
	return 0;
}

/* Keep the rows of visible jails (COLS only); heal what dead owners left on the way. */
static void filter_rows(struct ztable *t, size_t ncols, bool *healed)
{
	_cleanup_free_ char *jds = ds_jails();
	_cleanup_free_ char *rds = ds_releases();
	size_t k = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		struct strv *r = &t->rows[i];
		const char *name = r->n ? r->v[0] : "";
		bool keep = false;
		if (r->n >= ncols + 2) {
			const char *txn = r->v[ncols], *hu = r->v[ncols + 1];
			const char *leaf;
			if ((leaf = ds_below(name, jds)) && !strchr(leaf, '/'))
				keep = heal_jail_row(name, leaf, hu, txn, healed);
			else if ((leaf = ds_below(name, rds)) && !strchr(leaf, '/'))
				heal_release_row(name, txn, healed);
		}
		if (!keep) {
			sv_free(r);
			continue;
		}
		row_truncate(r, ncols);
		t->rows[k++] = *r;
	}
	t->nrows = k;
}

int jails_query(struct ztable *t, const char *cols, const char *sort)
{
	*t = (struct ztable){0};
	size_t ncols = 1;
	for (const char *c = cols; *c; c++)
		ncols += *c == ',';
	bool refreshed = false, healed = false;
	/* what dead owners left in flight is done before the rows are read (core/txn.h) */
	txn_settle(3000);
	for (int attempt = 0; attempt < 4; attempt++) {
		const struct ioc_pool *pool = refreshed ? pool_refresh() : pool_get();
		if (!pool)
			return -1;
		int r = query_once(t, cols, sort, ncols);
		if (r < 0) {
			if (zfs_lasterr == ZE_NOENT && !refreshed) {
				refreshed = true;
				ioc_err_clear();
				continue;
			}
			return -1;
		}
		if (r == 0) {
			ztable_free(t);
			if (refreshed)
				break;
			refreshed = true;
			continue;
		}
		bool again = false;
		filter_rows(t, ncols, &again);
		if (!again || healed)
			return 0;
		/* Something was healed: the rows may be stale; read them once more. */
		healed = true;
		ztable_free(t);
	}
	return -1;
}

/* A scan may rewrite the index when this process holds the global lock, or holds it
 * shared from before its query (see lock_global_shared_try): guard >= -1 is the shared
 * lock's fd (-1: none, the index is left alone), -2 the exclusive lock. */
static int scan_guard(void) { return lock_global_held() ? -2 : lock_global_shared_try(); }
static void scan_unguard(int g)
{
	if (g >= 0)
		unlock_fd(g);
}

int jails_query_exact(struct ztable *t, const char *cols)
{
	/* zfs get -Hp: the jails dataset and its children (snapshots too), with iocell:txn
	 * last; what a live operation works on or a dead one left is not a jail here */
	*t = (struct ztable){0};
	size_t ncols = 1;
	for (const char *c = cols; *c; c++)
		ncols += *c == ',';
	_cleanup_free_ char *full = xasprintf("%s," TXN_PROP, cols + strlen("name,"));
	for (int attempt = 0; attempt < 2; attempt++) {
		const struct ioc_pool *pool = attempt ? pool_refresh() : pool_get();
		if (!pool)
			return -1;
		_cleanup_free_ char *jds = ds_jails();
		const char *dss[] = {jds, NULL};
		if (zfs_get_rows(t, full, dss, 1) < 0) {
			if (zfs_lasterr == ZE_NOENT && attempt == 0) {
				ioc_err_clear();
				continue;
			}
			return -1;
		}
		bool mark_ok = false;
		size_t k = 0;
		for (size_t i = 0; i < t->nrows; i++) {
			struct strv *r = &t->rows[i];
			const char *name = r->n ? r->v[0] : "";
			const char *leaf = ds_below(name, jds);
			if (r->n >= ncols + 1 && streq(name, jds))
				mark_ok = pool_mark_ok(r->v[1]);
			if (r->n < ncols + 1 || !leaf || strchr(leaf, '/') || leaf[0] == '.' ||
			    !streq(r->v[ncols], "-")) {
				sv_free(r);
				continue;
			}
			row_truncate(r, ncols);
			t->rows[k++] = *r;
		}
		t->nrows = k;
		if (!mark_ok && attempt == 0) {
			ztable_free(t);
			continue;
		}
		return 0;
	}
	return -1;
}

/* `zfs list` (exact: `zfs get -Hp`, numbers in bytes) of every jail (templates included)
 * with the columns name, iocell:active, iocell:host_hostuuid and then PROPS: the rows
 * that have every column and a jail's UUID (v[2]); PROPS's values are v[3], v[4]... */
static int jail_rows_of(struct ztable *t, const char *props, bool exact)
{
	_cleanup_free_ char *cols = xasprintf("name,iocell:active,iocell:host_hostuuid,%s", props);
	size_t ncols = 4;
	for (const char *c = props; *c; c++)
		ncols += *c == ',';
	if ((exact ? jails_query_exact(t, cols) : jails_query(t, cols, NULL)) < 0)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		if (t->rows[i].n >= ncols && valid_uuid(t->rows[i].v[2]))
			t->rows[k++] = t->rows[i];
		else
			sv_free(&t->rows[i]);
	}
	t->nrows = k;
	return 0;
}

static int jail_rows(struct ztable *t, const char *props) { return jail_rows_of(t, props, false); }

int jail_scan(struct jail_brief **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	_cleanup_ztable_ struct ztable t = {0};
	int g = scan_guard();
	if (jail_rows(&t, "iocell:tag,iocell:template") < 0) {
		scan_unguard(g);
		return -1;
	}
	struct jail_brief *b = xcalloc(t.nrows + 1, sizeof(*b));
	for (size_t i = 0; i < t.nrows; i++) {
		char **v = t.rows[i].v;
		snprintf(b[i].uuid, sizeof(b[i].uuid), "%s", v[2]);
		b[i].tag = xstrdup(v[3]);
		b[i].template = streq(v[4], "yes");
	}
	if (g != -1)
		index_write(b, t.nrows);
	scan_unguard(g);
	*out = b;
	*n = t.nrows;
	return 0;
}

static int cmp_boot(const void *a, const void *b)
{
	const struct jail_boot *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

int jails_boot_order(struct jail_boot **out, size_t *n, bool only_boot)
{
	*out = NULL;
	*n = 0;
	_cleanup_ztable_ struct ztable t = {0};
	if (jail_rows(&t, "iocell:tag,iocell:boot,iocell:priority,iocell:template") < 0)
		return -1;
	struct jail_boot *b = xcalloc(t.nrows + 1, sizeof(*b));
	size_t k = 0;
	for (size_t i = 0; i < t.nrows; i++) {
		char **v = t.rows[i].v;
		if (streq(v[6], "yes") || (only_boot && !streq(v[4], "on")))
			continue;
		snprintf(b[k].uuid, sizeof(b[k].uuid), "%s", v[2]);
		b[k].tag = xstrdup(v[3]);
		b[k].priority = atol(v[5]);
		k++;
	}
	qsort(b, k, sizeof(*b), cmp_boot);
	*out = b;
	*n = k;
	return 0;
}

int index_rebuild(void)
{
	struct jail_brief *b;
	size_t n;
	if (jail_scan(&b, &n) < 0)
		return -1;
	jail_brief_free(b, n);
	return 0;
}

void index_parse(const char *text, struct jail_brief **out, size_t *n)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	struct jail_brief *b = xcalloc(lines.n + 1, sizeof(*b));
	size_t k = 0;
	for (size_t i = 0; i < lines.n; i++) {
		_cleanup_strv_ struct strv f = {0};
		split(&f, lines.v[i], "\t", false);
		if (f.n >= 3 && valid_uuid(f.v[0])) {
			snprintf(b[k].uuid, sizeof(b[k].uuid), "%s", f.v[0]);
			b[k].tag = xstrdup(f.v[1]);
			b[k].template = streq(f.v[2], "1");
			if (f.n >= 4)
				snprintf(b[k].stamp, sizeof(b[k].stamp), "%s", f.v[3]);
			k++;
		}
	}
	*out = b;
	*n = k;
}

static int index_read(struct jail_brief **out, size_t *n)
{
	_cleanup_free_ char *p = index_path();
	_cleanup_free_ char *txt = cache_read(p);
	if (!txt)
		return -1;
	index_parse(txt, out, n);
	return 0;
}

/* The index as it is, or scanned when missing.  *fresh tells which. */

int index_get(struct jail_brief **b, size_t *n, bool *fresh)
{
	if (index_read(b, n) == 0) {
		*fresh = false;
		return 0;
	}
	*fresh = true;
	return jail_scan(b, n);
}

/* Replace the entries of uuid by one (put), or add a pending one (claim). */
static int index_set(const char *uuid, const char *tag, bool claim)
{
	struct jail_brief *b;
	size_t n;
	if (index_read(&b, &n) < 0)
		return 0; /* no index yet: the next lookup scans */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!claim && streq(b[i].uuid, uuid)) {
			free(b[i].tag);
			continue;
		}
		b[k++] = b[i];
	}
	b = xrealloc(b, (k + 1) * sizeof(*b));
	memset(&b[k], 0, sizeof(b[k]));
	snprintf(b[k].uuid, sizeof(b[k].uuid), "%s", uuid);
	b[k].tag = xstrdup(tag);
	if (claim)
		snprintf(b[k].stamp, sizeof(b[k].stamp), "%s", txn_stamp());
	k++;
	index_write(b, k);
	jail_brief_free(b, k);
	return 0;
}

int index_put(const char *uuid, const char *tag) { return index_set(uuid, tag, false); }
int index_claim(const char *uuid, const char *tag) { return index_set(uuid, tag, true); }

int index_drop(const char *uuid)
{
	struct jail_brief *b;
	size_t n;
	if (index_read(&b, &n) < 0)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (streq(b[i].uuid, uuid)) {
			free(b[i].tag);
			continue;
		}
		b[k++] = b[i];
	}
	index_write(b, k);
	jail_brief_free(b, k);
	return 0;
}

/* The owner of tag among the entries; *dead: it is a pending claim of a dead owner. */
static char *find_owner(const struct jail_brief *b, size_t n, const char *tag, const char *except,
			bool *dead)
{
	*dead = false;
	char *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!streq(b[i].tag, tag) || (except && streq(b[i].uuid, except)))
			continue;
		if (b[i].stamp[0] && !txn_owner_alive(b[i].stamp)) {
			*dead = true;
			continue;
		}
		if (!found)
			found = xstrdup(b[i].uuid);
	}
	return found;
}

char *index_tag_owner(const char *tag, const char *except)
{
	struct jail_brief *b;
	size_t n;
	bool fresh, dead;
	if (index_get(&b, &n, &fresh) < 0)
		return NULL;
	char *owner = find_owner(b, n, tag, except, &dead);
	jail_brief_free(b, n);
	if (!owner && dead && !fresh) {
		/* An interrupted create or rename claimed it: the pool decides (one call). */
		if (jail_scan(&b, &n) < 0)
			return NULL;
		owner = find_owner(b, n, tag, except, &dead);
		jail_brief_free(b, n);
	}
	return owner;
}

char *tag_claim(const char *tag)
{
	char *owner = index_tag_owner(tag, NULL);
	if (owner) {
		ioc_err("tag '%s' is already used by jail %s", tag, owner);
		ioc_hint("choose another tag=");
		free(owner);
		return NULL;
	}
	return ioc_err_pending() ? NULL : xstrdup(tag);
}

char *tag_first_free(const char *base, int from, bool bare_first)
{
	for (int n = from; n < from + 10000; n++) {
		char *t = (bare_first && n == 1) ? xstrdup(base) : xasprintf("%s_%d", base, n);
		char *owner = index_tag_owner(t, NULL);
		if (!owner && !ioc_err_pending())
			return t;
		free(owner);
		free(t);
		if (ioc_err_pending())
			return NULL;
	}
	return NULL;
}

enum name_hit index_match(const struct jail_brief *b, size_t n, const char *name, char uuid[37],
			  struct strv *cands)
{
	uuid[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (streq(b[i].tag, name)) {
			snprintf(uuid, 37, "%s", b[i].uuid);
			return NAME_TAG;
		}
	size_t hits = 0;
	if (hexprefix(name))
		for (size_t i = 0; i < n; i++)
			if (strncasecmp(b[i].uuid, name, strlen(name)) == 0) {
				if (cands)
					sv_addf(cands, "%s (%s)", b[i].uuid, b[i].tag);
				if (hits++ == 0)
					snprintf(uuid, 37, "%s", b[i].uuid);
			}
	if (hits == 1)
		return NAME_PREFIX;
	uuid[0] = '\0';
	return NAME_NONE;
}

int index_lookup(const char *name, char uuid[37])
{
	if (valid_uuid(name)) {
		snprintf(uuid, 37, "%s", name);
		return 0;
	}
	struct jail_brief *b;
	size_t n;
	if (index_read(&b, &n) < 0) {
		ioc_err_clear();
		return -1;
	}
	enum name_hit hit = index_match(b, n, name, uuid, NULL);
	jail_brief_free(b, n);
	return hit == NAME_NONE ? -1 : 0;
}

/* ---- list, df ---------------------------------------------------------------------- */

char *ip_column(const char *v)
{
	if (streq(v, "none") || streq(v, "-"))
		return xstrdup("-");
	_cleanup_strv_ struct strv parts = {0};
	struct sbuf b;
	sb_init(&b);
	split(&parts, v, ",", true);
	for (size_t i = 0; i < parts.n; i++) {
		const char *a = strchr(parts.v[i], '|');
		a = a ? a + 1 : parts.v[i];
		sb_printf(&b, "%s%.*s", i ? "," : "", (int)strcspn(a, "/"), a);
	}
	return sb_steal(&b);
}

/* Every jail's name is at hand: refresh the name index from jail_rows where the tag and
 * template columns are ti and tpi. */
static void index_from_rows(const struct ztable *zt, size_t ti, size_t tpi)
{
	_cleanup_free_ struct jail_brief *idx = xcalloc(zt->nrows + 1, sizeof(*idx));
	for (size_t i = 0; i < zt->nrows; i++) {
		char *const *v = zt->rows[i].v;
		snprintf(idx[i].uuid, sizeof(idx[i].uuid), "%s", v[2]);
		idx[i].tag = v[ti];
		idx[i].template = streq(v[tpi], "yes");
	}
	index_store(idx, zt->nrows);
}

/* The id ranges seen: into RUNDIR/idbases when it misses one (core/idmap.h). */
static void bases_from_rows(const struct ztable *zt, size_t bi)
{
	_cleanup_free_ uint32_t *b = xcalloc(zt->nrows + 1, sizeof(*b));
	size_t n = 0;
	for (size_t i = 0; i < zt->nrows; i++) {
		long long v;
		if (parse_int(zt->rows[i].v[bi], 0, IDMAP_MAX_BASE, &v) && v)
			b[n++] = (uint32_t)v;
	}
	idmap_bases_seen(b, n);
}

int jails_list(bool templates, struct ztable *out, struct strv *stale)
{
	out->nrows = 0;
	out->rows = NULL;
	_cleanup_ztable_ struct ztable zt = {0};
	int g = scan_guard();
	int qr = jail_rows(&zt, "iocell:boot,iocell:tag,iocell:type,iocell:ip4_addr,iocell:release,"
				"iocell:template,iocell:privileged,iocell:idmap_base");
	if (qr == 0 && g != -1) {
		index_from_rows(&zt, 4, 8);
		bases_from_rows(&zt, 10);
	}
	scan_unguard(g);
	if (qr < 0)
		return -1;
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *r = &zt.rows[i];
		if (streq(r->v[8], "yes") != templates)
			continue;
		int jid = -1;
		_cleanup_free_ char *ip = NULL;
		struct runstate rs;
		if (rs_read(r->v[2], &rs) == 1) {
			if (rs_running(&rs)) {
				jid = (int)rs_num(&rs, RS_JID, -1);
				/* the addresses actually configured (runtime state, no zfs call) */
				if (rs_get(&rs, RS_ADDR4))
					ip = ip_column(rs_get(&rs, RS_ADDR4));
			} else if (stale) {
				sv_add(stale,
				       r->v[2]); /* a crashed jail, or a start or stop at work */
			}
		}
		rs_free(&rs);
		if (!ip)
			ip = ip_column(r->v[6]);
		char jids[16];
		snprintf(jids, sizeof(jids), "%d", jid);
		const char *row[] = {jid > 0 ? jids : "-",
				     r->v[2],
				     r->v[3],
				     jid > 0 ? "up" : "down",
				     r->v[4],
				     r->v[5],
				     ip,
				     r->v[7],
				     streq(r->v[9], "yes") ? "yes" : "no",
				     streq(r->v[10], "-") ? "none" : r->v[10]};
		ztable_add(out, row, 10);
	}
	return 0;
}

int jails_df(struct ztable *out)
{
	out->nrows = 0;
	out->rows = NULL;
	_cleanup_ztable_ struct ztable zt = {0};
	if (jail_rows_of(&zt, "compressratio,reservation,quota,used,available,iocell:tag", true) <
	    0)
		return -1;
	for (size_t i = 0; i < zt.nrows; i++)
		ztable_add(out, (const char *const *)zt.rows[i].v + 2, 7);
	return 0;
}
