/* Every jail at once: one `zfs list` over the jails dataset, and the name index (a cache
 * of every jail's UUID and tag under the runtime dir, rebuilt when stale). */
#include "core/jail.h"
#include "core/pool.h"
#include "core/runstate.h"
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

static int index_write(const struct jail_brief *b, size_t n)
{
	struct sbuf s;
	sb_init(&s);
	for (size_t i = 0; i < n; i++)
		sb_printf(&s, "%s\t%s\t%d\n", b[i].uuid, b[i].tag, b[i].template ? 1 : 0);
	char *p = index_path();
	int rc = write_file_cache(p, s.s, s.len, 0600);
	if (rc < 0)
		ioc_err_clear(); /* the index is only a cache */
	free(p);
	sb_free(&s);
	return 0;
}

void index_store(const struct jail_brief *b, size_t n) { index_write(b, n); }

/* jails_query, with `zfs list` or (exact) with `zfs get -Hp`: cols start with name. */
static int query(struct ztable *t, const char *cols, const char *sort, bool exact)
{
	*t = (struct ztable){0};
	for (int attempt = 0; attempt < 2; attempt++) {
		const struct ioc_pool *pool = attempt ? pool_refresh() : pool_get();
		if (!pool)
			return -1;
		char *jds = ds_jails();
		const char *dss[] = {jds, NULL};
		int rc = exact ? zfs_get_rows(t, cols + strlen("name,"), dss, 1)
			       : zfs_list(t, cols, dss, 1, "filesystem", sort);
		if (rc == 0 && exact) { /* zfs get lists snapshots too */
			size_t k = 0;
			for (size_t i = 0; i < t->nrows; i++) {
				if (strchr(t->rows[i].v[0], '@'))
					sv_free(&t->rows[i]);
				else
					t->rows[k++] = t->rows[i];
			}
			t->nrows = k;
		}
		if (rc < 0) {
			free(jds);
			if (zfs_lasterr == ZE_NOENT && attempt == 0)
				continue;
			return -1;
		}
		bool mark_ok = false;
		size_t k = 0;
		for (size_t i = 0; i < t->nrows; i++) {
			if (t->rows[i].n >= 2 && streq(t->rows[i].v[0], jds)) {
				mark_ok = pool_mark_ok(t->rows[i].v[1]);
				sv_free(&t->rows[i]);
				continue;
			}
			t->rows[k++] = t->rows[i];
		}
		t->nrows = k;
		free(jds);
		if (!mark_ok && attempt == 0) {
			ztable_free(t);
			continue;
		}
		return 0;
	}
	return -1;
}

int jails_query(struct ztable *t, const char *cols, const char *sort)
{
	return query(t, cols, sort, false);
}

int jails_query_exact(struct ztable *t, const char *cols) { return query(t, cols, NULL, true); }

int jail_scan(struct jail_brief **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct ztable t;
	if (jails_query(&t, "name,iocell:active,iocell:tag,iocell:template,iocell:host_hostuuid",
			NULL) < 0)
		return -1;
	struct jail_brief *b = xcalloc(t.nrows + 1, sizeof(*b));
	size_t k = 0;
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n < 5 || !valid_uuid(r->v[4]))
			continue;
		snprintf(b[k].uuid, sizeof(b[k].uuid), "%s", r->v[4]);
		b[k].tag = xstrdup(r->v[2]);
		b[k].template = streq(r->v[3], "yes");
		k++;
	}
	ztable_free(&t);
	index_write(b, k);
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

static int index_read(struct jail_brief **out, size_t *n)
{
	_cleanup_free_ char *p = index_path();
	char *txt = cache_read(p);
	if (!txt)
		return -1;
	struct strv lines = {0};
	split(&lines, txt, "\n", true);
	free(txt);
	struct jail_brief *b = xcalloc(lines.n + 1, sizeof(*b));
	size_t k = 0;
	for (size_t i = 0; i < lines.n; i++) {
		struct strv f = {0};
		split(&f, lines.v[i], "\t", false);
		if (f.n >= 3 && valid_uuid(f.v[0])) {
			snprintf(b[k].uuid, sizeof(b[k].uuid), "%s", f.v[0]);
			b[k].tag = xstrdup(f.v[1]);
			b[k].template = streq(f.v[2], "1");
			k++;
		}
		sv_free(&f);
	}
	sv_free(&lines);
	*out = b;
	*n = k;
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

int index_put(const char *uuid, const char *tag)
{
	struct jail_brief *b;
	size_t n;
	if (index_read(&b, &n) < 0)
		return 0; /* no index yet: the next lookup scans */
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (streq(b[i].uuid, uuid)) {
			free(b[i].tag);
			b[i].tag = xstrdup(tag);
			found = true;
		}
	if (!found) {
		b = xrealloc(b, (n + 1) * sizeof(*b));
		memset(&b[n], 0, sizeof(b[n]));
		snprintf(b[n].uuid, sizeof(b[n].uuid), "%s", uuid);
		b[n].tag = xstrdup(tag);
		n++;
	}
	index_write(b, n);
	jail_brief_free(b, n);
	return 0;
}

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

char *index_tag_owner(const char *tag, const char *except)
{
	struct jail_brief *b;
	size_t n;
	bool fresh;
	if (index_get(&b, &n, &fresh) < 0)
		return NULL;
	char *owner = NULL;
	for (size_t i = 0; i < n && !owner; i++)
		if (streq(b[i].tag, tag) && !(except && streq(b[i].uuid, except)))
			owner = xstrdup(b[i].uuid);
	jail_brief_free(b, n);
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

/* Every jail's name is at hand: refresh the name index from rows where the UUID, tag and
 * template columns are ui, ti, tpi. */
static void index_from_rows(const struct ztable *zt, size_t ui, size_t ti, size_t tpi)
{
	_cleanup_free_ struct jail_brief *idx = xcalloc(zt->nrows + 1, sizeof(*idx));
	size_t n = 0;
	for (size_t i = 0; i < zt->nrows; i++) {
		const struct strv *r = &zt->rows[i];
		if (r->n <= tpi || !valid_uuid(r->v[ui]))
			continue;
		snprintf(idx[n].uuid, sizeof(idx[n].uuid), "%s", r->v[ui]);
		idx[n].tag = r->v[ti];
		idx[n].template = streq(r->v[tpi], "yes");
		n++;
	}
	index_store(idx, n);
}

int jails_list(bool templates, struct ztable *out)
{
	out->nrows = 0;
	out->rows = NULL;
	_cleanup_ztable_ struct ztable zt = {0};
	if (jails_query(&zt,
			"name,iocell:active,iocell:host_hostuuid,iocell:boot,iocell:tag,"
			"iocell:type,iocell:ip4_addr,iocell:release,iocell:template",
			NULL) < 0)
		return -1;
	index_from_rows(&zt, 2, 4, 8);
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *r = &zt.rows[i];
		if (r->n < 9 || !valid_uuid(r->v[2]) || streq(r->v[8], "yes") != templates)
			continue;
		int jid = jail_jid(r->v[2]);
		_cleanup_free_ char *ip = NULL;
		if (jid > 0) {
			/* running: the addresses actually configured (runtime state, no zfs call) */
			struct runstate rs;
			if (rs_read(r->v[2], &rs) == 1 && rs_get(&rs, "addr4"))
				ip = ip_column(rs_get(&rs, "addr4"));
			rs_free(&rs);
		}
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
				     r->v[7]};
		ztable_add(out, row, 8);
	}
	return 0;
}

int jails_df(struct ztable *out)
{
	out->nrows = 0;
	out->rows = NULL;
	_cleanup_ztable_ struct ztable zt = {0};
	if (jails_query_exact(&zt, "name,iocell:active,iocell:host_hostuuid,compressratio,"
				   "reservation,quota,used,available,iocell:tag") < 0)
		return -1;
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *r = &zt.rows[i];
		if (r->n >= 9 && valid_uuid(r->v[2]))
			ztable_add(out, (const char *const *)r->v + 2, 7);
	}
	return 0;
}
