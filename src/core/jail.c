#include "core/jail.h"
#include "core/heal.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "core/ztoken.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include "core/lazylib.h" /* after the library headers */

void jail_free(struct jail *j)
{
	if (!j)
		return;
	free(j->ds);
	free(j->path);
	free(j->txn);
	kv_free(&j->props);
	free(j);
}

const char *jail_prop(const struct jail *j, enum prop_id id)
{
	const struct propdef *p = &prop_table[id];
	const char *v = kv_get(&j->props, p->name);
	if (v)
		return v;
	if (p->def)
		return p->def;
	if (id == P_HOST_HOSTUUID || id == P_HOST_HOSTNAME)
		return j->uuid;
	return "none";
}

const char *jail_prop_named(const struct jail *j, const char *name)
{
	const struct propdef *p = prop_find(name);
	if (p)
		return jail_prop(j, prop_id_of(p));
	const char *v = kv_get(&j->props, name);
	return v ? v : "none";
}

char *jail_root(const struct jail *j) { return xasprintf("%s/root", j->path); }
bool jail_is_template(const struct jail *j) { return streq(jail_prop(j, P_TEMPLATE), "yes"); }

bool jail_running(const char *uuid)
{
	struct runstate rs;
	bool r = rs_read(uuid, &rs) == 1 && rs_alive(&rs);
	rs_free(&rs);
	return r;
}

int jail_jid(const char *uuid)
{
	struct runstate rs;
	int jid = -1;
	if (rs_read(uuid, &rs) == 1 && rs_running(&rs))
		jid = (int)rs_num(&rs, RS_JID, -1);
	rs_free(&rs);
	return jid;
}

/* Fill j from `zfs get all` rows (name, property, value, source). */
static int jail_fill(struct jail *j, struct ztable *t, bool *mark_ok)
{
	size_t plen = strlen(IOC_PROP_PREFIX);
	*mark_ok = false;
	for (size_t i = 0; i < t->nrows; i++) {
		struct strv *r = &t->rows[i];
		if (r->n < 4)
			continue;
		const char *prop = r->v[1], *val = r->v[2], *src = r->v[3];
		if (startswith(prop, IOC_PROP_PREFIX)) {
			if (streq(prop, "iocell:active")) {
				*mark_ok = pool_mark_ok(val);
				continue;
			}
			if (streq(prop, TXN_PROP)) {
				struct txn_mark m;
				if (txn_mark_parse(val, &m) == 0) {
					free(j->txn);
					j->txn = xstrdup(val);
				}
				txn_mark_free(&m);
				continue;
			}
			/* local, or "received" on a jail that came in through zfs recv */
			if (!streq(src, "local") && !streq(src, "received"))
				continue;
			const struct propdef *p = prop_find(prop + plen);
			if (p && !(p->flags & (PF_ZFS | PF_DERIVED)))
				kv_set(&j->props, prop + plen, val);
		} else if (streq(prop, "mountpoint")) {
			free(j->path);
			j->path = xstrdup(val);
			prop_kv_set(&j->props, P_MOUNTPOINT, val);
		} else if (streq(prop, "mounted")) {
			j->mounted = streq(val, "yes");
		} else {
			const struct propdef *p = prop_find(prop);
			if (p && (p->flags & PF_ZFS))
				kv_set(&j->props, prop, val);
		}
	}
	return 0;
}

void jail_new_uuid(char out[37])
{
	uuid_t u;
	uuid_generate(u);
	uuid_unparse_lower(u, out);
}

/* ---- configuration cache ----------------------------------------------------------
 * RUNDIR/UUID.conf holds the rows of the jail's last `zfs get all` that jail_fill uses.
 * Without a token it is only a guess: start runs on it while the real `zfs get` runs
 * alongside, and starts again from the real values if they differ (see jail_spec_*).
 * With the pool's change token read before that get (a row DS .token TOKEN, which
 * jail_fill ignores), it is the truth for as long as the pool shows the same token
 * (core/ztoken.h): then start makes no zfs call at all. */

#define TOKEN_ROW ".token"

static char *conf_path(const char *uuid) { return xasprintf("%s/%s.conf", rundir(), uuid); }

static void conf_save(const struct jail *j, const char *token)
{
	if (j->txn) {
		jail_conf_drop(j->uuid); /* a jail at work (or being healed): no cache */
		return;
	}
	_cleanup_sbuf_ struct sbuf s;
	sb_init(&s);
	sb_printf(&s, "%s\tiocell:active\tyes\tinherited\n", j->ds);
	sb_printf(&s, "%s\tmounted\t%s\t-\n", j->ds, j->mounted ? "yes" : "no");
	for (size_t i = 0; i < j->props.k.n; i++) {
		const char *k = j->props.k.v[i], *v = j->props.v.v[i];
		const struct propdef *p = prop_find(k);
		bool native = streq(k, prop_name(P_MOUNTPOINT)) || (p && (p->flags & PF_ZFS));
		if (strchr(v, '\n') || strchr(v, '\t')) {
			jail_conf_drop(j->uuid); /* cannot be one row: no cache */
			return;
		}
		sb_printf(&s, "%s\t%s%s\t%s\tlocal\n", j->ds, native ? "" : IOC_PROP_PREFIX, k, v);
	}
	if (token && !strpbrk(token, "\t\n"))
		sb_printf(&s, "%s\t" TOKEN_ROW "\t%s\t-\n", j->ds, token);
	_cleanup_free_ char *p = conf_path(j->uuid);
	if (write_file_cache(p, s.s, s.len, 0600) < 0)
		ioc_err_clear(); /* only a cache */
}

void jail_conf_save(const struct jail *j) { conf_save(j, NULL); }

void jail_conf_drop(const char *uuid)
{
	char *p = conf_path(uuid);
	unlink(p);
	free(p);
}

/* The properties a jail's load reads: those of the table (the rest of `zfs get all` is
 * ignored, and asking for less makes the call cheaper), the pool mark, and where it is
 * mounted. */
static const char *jail_zfs_props(void)
{
	static char *list;
	if (list)
		return list;
	struct sbuf s;
	sb_init(&s);
	sb_add(&s, "iocell:active," TXN_PROP ",mountpoint,mounted");
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (p->flags & PF_DERIVED)
			continue;
		sb_printf(&s, ",%s%s", (p->flags & PF_ZFS) ? "" : IOC_PROP_PREFIX, p->name);
	}
	list = sb_steal(&s);
	return list;
}

static struct jail *jail_new(const char *uuid)
{
	struct jail *j = xcalloc(1, sizeof(*j));
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->ds = ds_jail(uuid);
	kv_init(&j->props);
	return j;
}

/* Build the jail from `zfs get all` rows: JL_OK, JL_STALE_POOL (the pool mark does not
 * match: the cached pool may be stale), JL_HEAL (a dead owner's mark: heal, load again),
 * JL_HIDDEN (being created or destroyed, or not re-identified yet: no jail), JL_ERR (not
 * an iocell jail, error recorded). */
enum { JL_OK, JL_STALE_POOL, JL_HEAL, JL_HIDDEN, JL_ERR = -1 };
static int jail_from_rows(struct jail *j, struct ztable *t)
{
	bool mark_ok;
	jail_fill(j, t, &mark_ok);
	if (!mark_ok)
		return JL_STALE_POOL;
	const char *hu = prop_kv_get(&j->props, P_HOST_HOSTUUID);
	if (!hu) {
		ioc_err("%s is not an iocell jail (it has no iocell:host_hostuuid)", j->ds);
		return JL_ERR;
	}
	if (j->txn) {
		struct txn_mark m;
		txn_mark_parse(j->txn, &m);
		bool hides = txn_op_hides(m.op), alive = txn_owner_alive(m.stamp);
		txn_mark_free(&m);
		if (!alive)
			return JL_HEAL;
		if (hides)
			return JL_HIDDEN;
	}
	return streq(hu, j->uuid) ? JL_OK : JL_HIDDEN;
}

static void no_jail(const char *uuid)
{
	ioc_err("no jail %s", uuid);
	ioc_hint("see 'iocell list' and 'iocell list -t'");
	zfs_lasterr = ZE_NOENT;
}

/* The last start recorded in the runtime dir, when newer than the property. */
static void merge_started(struct jail *j)
{
	char *started = rs_started_read(j->uuid);
	const char *stored = prop_kv_get(&j->props, P_LAST_STARTED);
	if (started && (!stored || streq(stored, "none") || strcmp(started, stored) > 0))
		prop_kv_set(&j->props, P_LAST_STARTED, started);
	free(started);
}

struct jail *jail_load(const char *uuid)
{
	bool healed = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		const struct ioc_pool *pool = attempt ? pool_refresh() : pool_get();
		if (!pool)
			return NULL;
		struct jail *j = jail_new(uuid);
		const char *dss[] = {j->ds, NULL};
		struct ztable t;
		_cleanup_free_ char *token = zfs_change_token(j->ds); /* before the get */
		if (zfs_get(&t, jail_zfs_props(), dss, NULL, false, false, -1) < 0) {
			bool noent = zfs_lasterr == ZE_NOENT;
			jail_free(j);
			if (noent && attempt == 0)
				continue; /* maybe the cached pool is stale */
			if (noent)
				no_jail(uuid);
			return NULL;
		}
		int rc = jail_from_rows(j, &t);
		ztable_free(&t);
		if (rc == JL_HEAL && !healed) {
			/* what a dead owner left: heal it, then load again */
			healed = true;
			heal_jail_mark(uuid, j->txn);
			jail_free(j);
			attempt--;
			continue;
		}
		if (rc == JL_HEAL) {
			/* could not be healed now (someone else is at it): as it is */
			struct txn_mark m;
			txn_mark_parse(j->txn, &m);
			rc = txn_op_hides(m.op) ? JL_HIDDEN : JL_OK;
			txn_mark_free(&m);
		}
		if (rc == JL_OK) {
			/* A start since the property was written is in the runtime dir. */
			merge_started(j);
			conf_save(j, token);
		}
		if (rc == JL_STALE_POOL && attempt == 0) {
			jail_free(j);
			continue;
		}
		if (rc == JL_HIDDEN) {
			jail_free(j);
			no_jail(uuid);
			return NULL;
		}
		if (rc != JL_OK) {
			jail_free(j);
			return NULL;
		}
		return j;
	}
	return NULL;
}

struct jail *jail_load_staged(const char *ds, const char *uuid)
{
	struct jail *j = jail_new(uuid);
	free(j->ds);
	j->ds = xstrdup(ds);
	const char *dss[] = {ds, NULL};
	struct ztable t;
	if (zfs_get(&t, jail_zfs_props(), dss, NULL, false, false, -1) < 0) {
		jail_free(j);
		return NULL;
	}
	bool mark_ok;
	jail_fill(j, &t, &mark_ok);
	ztable_free(&t);
	if (!prop_kv_get(&j->props, P_HOST_HOSTUUID)) {
		ioc_err("%s is not an iocell jail (it has no iocell:host_hostuuid)", ds);
		jail_free(j);
		return NULL;
	}
	return j;
}

/* The rows of one dataset (rows[from..to)) as a jail, or NULL when they are not one. */
static struct jail *jail_of_rows(const struct ztable *t, size_t from, size_t to, const char *token)
{
	const char *slash = strrchr(t->rows[from].v[0], '/');
	if (!slash || !valid_uuid(slash + 1))
		return NULL;
	struct ztable part = {.rows = t->rows + from, .nrows = to - from};
	struct jail *j = jail_new(slash + 1);
	if (!streq(j->ds, t->rows[from].v[0]) || jail_from_rows(j, &part) != 0 || !j->path) {
		ioc_err_clear();
		jail_free(j);
		return NULL;
	}
	merge_started(j);
	conf_save(j, token);
	return j;
}

int jails_load_all(struct jail ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		const struct ioc_pool *pool = attempt ? pool_refresh() : pool_get();
		if (!pool)
			return -1;
		_cleanup_free_ char *jds = ds_jails();
		const char *dss[] = {jds, NULL};
		struct ztable t;
		_cleanup_free_ char *token = zfs_change_token(jds); /* before the get */
		if (zfs_get(&t, jail_zfs_props(), dss, NULL, false, true, 1) < 0) {
			if (zfs_lasterr == ZE_NOENT && attempt == 0)
				continue;
			return -1;
		}
		bool mark_ok = false;
		for (size_t i = 0; i < t.nrows; i++)
			if (t.rows[i].n >= 3 && streq(t.rows[i].v[0], jds) &&
			    streq(t.rows[i].v[1], "iocell:active"))
				mark_ok = pool_mark_ok(t.rows[i].v[2]);
		if (!mark_ok && attempt == 0) {
			ztable_free(&t);
			continue;
		}
		/* zfs get prints each dataset's rows together */
		for (size_t i = 0; i < t.nrows;) {
			size_t k = i;
			while (k < t.nrows && t.rows[k].n >= 4 &&
			       streq(t.rows[k].v[0], t.rows[i].v[0]))
				k++;
			if (k == i)
				k = i + 1;
			struct jail *j = mark_ok ? jail_of_rows(&t, i, k, token) : NULL;
			if (j) {
				*out = xrealloc(*out, (*n + 1) * sizeof(**out));
				(*out)[(*n)++] = j;
			}
			i = k;
		}
		ztable_free(&t);
		return 0;
	}
	return -1;
}

/* The configuration that matters for running a jail, as one string. */
static char *jail_fingerprint(const struct jail *j)
{
	struct sbuf s;
	sb_init(&s);
	sb_printf(&s, "%s\n%s\n%d\n%s\n", j->ds, j->path ? j->path : "", j->mounted,
		  j->txn ? j->txn : "");
	/* last_started is bookkeeping, written by start */
	for (size_t i = 0; i < j->props.k.n; i++)
		if (!streq(j->props.k.v[i], prop_name(P_LAST_STARTED)))
			sb_printf(&s, "%s=%s\n", j->props.k.v[i], j->props.v.v[i]);
	return sb_steal(&s);
}

bool jail_same_config(const struct jail *a, const struct jail *b)
{
	char *fa = jail_fingerprint(a), *fb = jail_fingerprint(b);
	bool same = streq(fa, fb);
	free(fa);
	free(fb);
	return same;
}

/* The cached configuration, and the token it was read under (NULL: none). */
static struct jail *jail_load_cached(const char *uuid, char **token)
{
	*token = NULL;
	_cleanup_free_ char *p = conf_path(uuid);
	char *text = cache_read(p);
	if (!text)
		return NULL;
	struct ztable t;
	ztable_parse(&t, text);
	free(text);
	struct jail *j = jail_new(uuid);
	int rc = jail_from_rows(j, &t);
	for (size_t i = 0; i < t.nrows; i++)
		if (t.rows[i].n >= 3 && streq(t.rows[i].v[1], TOKEN_ROW) &&
		    streq(t.rows[i].v[0], j->ds)) {
			free(*token);
			*token = xstrdup(t.rows[i].v[2]);
		}
	ztable_free(&t);
	ioc_err_clear();
	if (rc != JL_OK || !j->path) {
		jail_free(j);
		free(*token);
		*token = NULL;
		return NULL;
	}
	return j;
}

/* Is the jail's dataset mounted where the configuration says?  (Mounting and unmounting
 * commit nothing to the pool: the token does not tell.) */
static bool mounted_now(const struct jail *j)
{
	struct stat st, up;
	_cleanup_free_ char *parent = xasprintf("%s/..", j->path);
	return j->mounted && stat(j->path, &st) == 0 && stat(parent, &up) == 0 &&
	       st.st_dev != up.st_dev;
}

struct jail *jail_resolve_spec(const char *name, struct jail_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	char uuid[37];
	if (pool_get() && index_lookup(name, uuid) == 0) {
		_cleanup_free_ char *token = NULL;
		struct jail *j = jail_load_cached(uuid, &token);
		if (j && (valid_uuid(name) || streq(jail_prop(j, P_TAG), name) ||
			  strncasecmp(uuid, name, strlen(name)) == 0)) {
			sp->active = true;
			sp->cached = TAKE_PTR(token);
			snprintf(sp->name, sizeof(sp->name), "%s", name);
			return j;
		}
		jail_free(j);
	}
	return jail_resolve(name);
}

void jail_spec_begin(struct jail_spec *sp, const struct jail *j)
{
	if (!sp || !sp->active || sp->running || sp->confirmed)
		return;
	free(sp->token);
	sp->token = zfs_change_token(j->ds); /* before the get: what its answer holds for */
	if (sp->token && sp->cached && streq(sp->token, sp->cached) && mounted_now(j)) {
		/* nothing committed to the pool since the get the cache came from: no get
		 * (read under the jail's lock: a change made through iocell is committed) */
		if (ioc_debug)
			fprintf(stderr, "+ (configuration of %s as read under %.40s...)\n", j->uuid,
				sp->token);
		sp->confirmed = true;
		sp->active = false; /* not speculative any more: the set-up needs no wait */
		return;
	}
	if (zfs_get_begin(&sp->job, jail_zfs_props(), j->ds) == 0)
		sp->running = true;
	else
		ioc_err_clear(); /* jail_spec_check loads it the slow way */
}

int jail_spec_check(struct jail_spec *sp, const struct jail *j)
{
	if (!sp || !sp->active)
		return 0;
	jail_spec_begin(sp, j);
	sp->active = false;
	if (sp->confirmed)
		return 0;
	struct ztable t = {0};
	struct jail *fresh = NULL;
	bool ran = sp->running;
	sp->running = false;
	if (ran && zfs_get_end(&sp->job, &t) == 0) {
		fresh = jail_new(j->uuid);
		int rc = jail_from_rows(fresh, &t);
		ztable_free(&t);
		if (rc != JL_OK) {
			jail_free(fresh);
			fresh = NULL;
		}
	}
	if (fresh && jail_same_config(fresh, j)) {
		/* the cache is right: it holds as long as the pool shows the same token */
		if (sp->token)
			conf_save(fresh, sp->token);
		jail_free(fresh);
		return 0;
	}
	if (fresh)
		conf_save(fresh, sp->token);
	if (fresh &&
	    (streq(jail_prop(fresh, P_TAG), sp->name) || !streq(jail_prop(j, P_TAG), sp->name))) {
		/* Changed, and still the jail the name means (by tag, or by UUID). */
		sp->fresh = fresh;
		return 1;
	}
	/* Retagged, gone, or the pool moved: resolve the name the slow way. */
	jail_free(fresh);
	ioc_err_clear();
	sp->fresh = jail_resolve(sp->name);
	return sp->fresh ? 1 : -1;
}

void jail_spec_free(struct jail_spec *sp)
{
	if (sp->running)
		zfs_job_cancel(&sp->job);
	sp->active = sp->running = false;
	jail_free(sp->fresh);
	sp->fresh = NULL;
	free(sp->token);
	free(sp->cached);
	sp->token = sp->cached = NULL;
	sp->confirmed = false;
}

struct jail *jail_resolve(const char *name)
{
	if (!name || !*name) {
		ioc_err("no jail named");
		return NULL;
	}
	if (valid_uuid(name))
		return jail_load(name);
	if (!pool_get())
		return NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct jail_brief *b;
		size_t n;
		bool fresh;
		if (attempt == 0 ? index_get(&b, &n, &fresh) < 0 : jail_scan(&b, &n) < 0)
			return NULL;
		if (attempt)
			fresh = true;
		struct strv cands = {0};
		sv_init(&cands);
		char uuid[37];
		enum name_hit hit = index_match(b, n, name, uuid, &cands);
		jail_brief_free(b, n);
		if (!uuid[0]) {
			if (!fresh) {
				sv_free(&cands);
				continue; /* the cached index may be stale: scan */
			}
			if (cands.n > 1) {
				struct sbuf s;
				sb_init(&s);
				for (size_t i = 0; i < cands.n; i++)
					sb_printf(&s, "%s%s", i ? ", " : "", cands.v[i]);
				ioc_err("'%s' is ambiguous: it matches %s", name, s.s);
				ioc_hint("give more of the UUID, or the tag");
				sb_free(&s);
			} else {
				ioc_err("no jail named '%s'", name);
				ioc_hint("see 'iocell list' (and 'iocell list -t' for templates)");
			}
			sv_free(&cands);
			return NULL;
		}
		sv_free(&cands);
		struct jail *j = jail_load(uuid);
		if (!j) {
			if (!fresh && zfs_lasterr == ZE_NOENT) {
				ioc_err_clear();
				continue;
			}
			return NULL;
		}
		/* Verify the cached answer: a tag hit must still carry that tag. */
		if (hit == NAME_TAG && !streq(jail_prop(j, P_TAG), name) && !fresh) {
			jail_free(j);
			continue;
		}
		return j;
	}
	ioc_err("no jail named '%s'", name);
	return NULL;
}

struct jail *jail_open_locked(const char *name, int *lockfd)
{
	*lockfd = -1;
	struct jail *j = jail_resolve(name);
	if (!j)
		return NULL;
	*lockfd = lock_jail(j->uuid, true);
	if (*lockfd < 0) {
		jail_free(j);
		return NULL;
	}
	return j;
}

/* ---- saved defaults ---------------------------------------------------------------
 * RUNDIR/defaults-POOL caches the .defaults dataset's values ("NAME\tVALUE" lines),
 * written by every defaults_load and dropped by `set ... default`: create reads it and
 * so needs no zfs call for them (it makes its jail in three: create, root, commit). */

static char *defaults_cache_path(void)
{
	const struct ioc_pool *p = pool_get();
	return xasprintf("%s/defaults-%s", rundir(), p ? p->name : "none");
}

static void defaults_cache_write(const struct kv *kv)
{
	_cleanup_sbuf_ struct sbuf s;
	sb_init(&s);
	for (size_t i = 0; i < kv->k.n; i++) {
		if (strpbrk(kv->v.v[i], "\t\n"))
			return; /* cannot be one line: no cache */
		sb_printf(&s, "%s\t%s\n", kv->k.v[i], kv->v.v[i]);
	}
	_cleanup_free_ char *p = defaults_cache_path();
	if (write_file_cache(p, s.s ? s.s : "", s.len, 0600) < 0)
		ioc_err_clear(); /* only a cache */
}

void defaults_cache_drop(void)
{
	_cleanup_free_ char *p = defaults_cache_path();
	unlink(p);
}

int defaults_load(struct kv *out)
{
	kv_init(out);
	for (int attempt = 0; attempt < 2; attempt++) {
		const struct ioc_pool *pool = attempt ? pool_refresh() : pool_get();
		if (!pool)
			return -1;
		char *ds = ds_defaults();
		const char *dss[] = {ds, NULL};
		struct ztable t;
		/* Inherited values carry the pool's iocell:active mark: the cache check. */
		int rc = zfs_get(&t, "all", dss, "local,inherited", false, false, -1);
		free(ds);
		if (rc < 0) {
			if (zfs_lasterr == ZE_NOENT && attempt == 0)
				continue;
			return -1;
		}
		size_t plen = strlen(IOC_PROP_PREFIX);
		bool mark_ok = false;
		for (size_t i = 0; i < t.nrows; i++) {
			struct strv *r = &t.rows[i];
			if (r->n < 4 || !startswith(r->v[1], IOC_PROP_PREFIX))
				continue;
			if (streq(r->v[1], "iocell:active"))
				mark_ok = pool_mark_ok(r->v[2]);
			else if (streq(r->v[3], "local") && prop_find(r->v[1] + plen))
				kv_set(out, r->v[1] + plen, r->v[2]);
		}
		ztable_free(&t);
		if (!mark_ok && attempt == 0) {
			kv_free(out);
			kv_init(out);
			continue;
		}
		defaults_cache_write(out);
		return 0;
	}
	return -1;
}

int defaults_load_cached(struct kv *out)
{
	if (!pool_get())
		return -1;
	_cleanup_free_ char *p = defaults_cache_path();
	_cleanup_free_ char *txt = cache_read(p);
	if (!txt)
		return defaults_load(out);
	kv_init(out);
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, txt, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		char *tab = strchr(lines.v[i], '\t');
		if (!tab)
			continue;
		*tab = '\0';
		if (prop_find(lines.v[i]))
			kv_set(out, lines.v[i], tab + 1);
	}
	return 0;
}
