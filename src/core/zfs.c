#include "core/zfs.h"
#include "core/txn.h"
#include "core/zfsint.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum zfs_errkind zfs_lasterr;

void ztable_parse(struct ztable *t, const char *text)
{
	t->nrows = 0;
	t->rows = NULL;
	size_t cap = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n) {
			if (t->nrows == cap) {
				cap = cap ? cap * 2 : 16;
				t->rows = xrealloc(t->rows, cap * sizeof(*t->rows));
			}
			char *line = xstrndup(p, n);
			struct strv *row = &t->rows[t->nrows++];
			memset(row, 0, sizeof(*row));
			split(row, line, "\t", false);
			free(line);
		}
		p += n;
		if (*p)
			p++;
	}
}

void ztable_add(struct ztable *t, const char *const *cells, size_t n)
{
	t->rows = xrealloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
	struct strv *r = &t->rows[t->nrows++];
	sv_init(r);
	for (size_t i = 0; i < n; i++)
		sv_add(r, cells[i]);
}

void ztable_free(struct ztable *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		sv_free(&t->rows[i]);
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

void kv_init(struct kv *kv)
{
	sv_init(&kv->k);
	sv_init(&kv->v);
}

void kv_free(struct kv *kv)
{
	sv_free(&kv->k);
	sv_free(&kv->v);
}

static long kv_find(const struct kv *kv, const char *k)
{
	for (size_t i = 0; i < kv->k.n; i++)
		if (strcmp(kv->k.v[i], k) == 0)
			return (long)i;
	return -1;
}

void kv_set(struct kv *kv, const char *k, const char *v)
{
	if (!kv->k.v)
		kv_init(kv);
	long i = kv_find(kv, k);
	if (i >= 0) {
		free(kv->v.v[i]);
		kv->v.v[i] = xstrdup(v);
		return;
	}
	sv_add(&kv->k, k);
	sv_add(&kv->v, v);
}

const char *kv_get(const struct kv *kv, const char *k)
{
	if (!kv->k.v)
		return NULL;
	long i = kv_find(kv, k);
	return i >= 0 ? kv->v.v[i] : NULL;
}

bool kv_del(struct kv *kv, const char *k)
{
	long i = kv->k.v ? kv_find(kv, k) : -1;
	if (i < 0)
		return false;
	free(kv->k.v[i]);
	free(kv->v.v[i]);
	for (size_t j = (size_t)i; j + 1 < kv->k.n; j++) {
		kv->k.v[j] = kv->k.v[j + 1];
		kv->v.v[j] = kv->v.v[j + 1];
	}
	kv->k.n--;
	kv->v.n--;
	kv->k.v[kv->k.n] = NULL;
	kv->v.v[kv->v.n] = NULL;
	return true;
}

enum zfs_errkind zfs_classify(const char *err)
{
	if (strstr(err, "does not exist") || strstr(err, "no such pool") ||
	    strstr(err, "could not find any snapshots"))
		return ZE_NOENT;
	if (strstr(err, "already exists"))
		return ZE_EXISTS;
	if (strstr(err, "has dependent clones") || strstr(err, "has children") ||
	    strstr(err, "snapshot is cloned"))
		return ZE_CLONES;
	if (strstr(err, "busy"))
		return ZE_BUSY;
	return ZE_OTHER;
}

/* zfs and zpool run in the C locale: their messages are what classify() reads, and
 * they skip loading locale files. */
const char *const zfs_env[] = {"LC_ALL=C", NULL};

static void zfs_argv(struct strv *argv, const struct strv *args)
{
	sv_init(argv);
	size_t first = 0;
	if (args->n && streq(args->v[0], "zpool")) {
		sv_add(argv, "zpool");
		first = 1;
	} else {
		sv_add(argv, "zfs");
	}
	for (size_t i = first; i < args->n; i++)
		sv_add(argv, args->v[i]);
}

/* The outcome of a finished run (rc from run_cmd/run_finish): error recorded, kind set. */
static int zfs_outcome(struct run *r, int rc, const char *what, char **out)
{
	zfs_lasterr = ZE_NONE;
	if (rc == 0 && r->status != 0) {
		char *e = xstrdup(r->err.s);
		chomp(e);
		zfs_lasterr = zfs_classify(e);
		char *cmd = argv_str(r->argv);
		ioc_err("%s: '%s' failed: %s", what, cmd,
			*e ? e : "(no message; exit status non-zero)");
		if (strstr(e, "connect") && strstr(e, "zfs-fuse"))
			ioc_hint("is the zfs-fuse daemon running? start it with 'zfs-fuse'");
		free(cmd);
		free(e);
		rc = -1;
	} else if (rc < 0) {
		zfs_lasterr = ZE_OTHER;
		ioc_err_ctx("%s", what);
	}
	if (rc == 0 && out)
		*out = sb_steal(&r->out);
	return rc;
}

/* Does the command change the pool (anything but list and get)? */
static bool zfs_changes(const struct strv *args)
{
	size_t i = args->n && streq(args->v[0], "zpool") ? 1 : 0;
	if (i >= args->n)
		return false;
	const char *sub = args->v[i];
	return !streq(sub, "list") && !streq(sub, "get") && !streq(sub, "status");
}

int zfs_run_in(const struct strv *args, char **out, const char *what, int in_fd)
{
	struct strv argv;
	zfs_argv(&argv, args);
	struct run r;
	run_init(&r, (const char *const *)argv.v);
	r.capture_out = out != NULL;
	r.stdin_fd = in_fd;
	r.env_add = zfs_env;
	if (zfs_changes(args)) {
		/* finishes its request even when we are killed, and tells (txn.h) */
		r.detach = true;
		r.keep_fd = txn_inflight_fd();
	}
	int rc = zfs_outcome(&r, run_cmd(&r), what, out);
	run_free(&r);
	sv_free(&argv);
	return rc;
}

int zfs_run(const struct strv *args, char **out, const char *what)
{
	return zfs_run_in(args, out, what, -1);
}

int zfs_runl(char **out, const char *what, ...)
{
	struct strv a;
	sv_init(&a);
	va_list ap;
	va_start(ap, what);
	const char *s;
	while ((s = va_arg(ap, const char *)))
		sv_add(&a, s);
	va_end(ap);
	int rc = zfs_run(&a, out, what);
	sv_free(&a);
	return rc;
}

static void add_props(struct strv *a, const struct kv *props)
{
	if (!props || !props->k.v)
		return;
	for (size_t i = 0; i < props->k.n; i++) {
		sv_add(a, "-o");
		sv_addf(a, "%s=%s", props->k.v[i], props->v.v[i]);
	}
}

int zfs_create(const char *ds, const struct kv *props, bool parents)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "create");
	if (parents)
		sv_add(&a, "-p");
	add_props(&a, props);
	sv_add(&a, ds);
	char *what = xasprintf("cannot create dataset %s", ds);
	int rc = zfs_run(&a, NULL, what);
	free(what);
	sv_free(&a);
	return rc;
}

int zfs_clone(const char *snap, const char *ds, const struct kv *props)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "clone");
	add_props(&a, props);
	sv_add(&a, snap);
	sv_add(&a, ds);
	char *what = xasprintf("cannot clone %s to %s", snap, ds);
	int rc = zfs_run(&a, NULL, what);
	free(what);
	sv_free(&a);
	return rc;
}

int zfs_snapshot(const char *snap, bool recursive)
{
	char *what = xasprintf("cannot snapshot %s", snap);
	int rc = recursive ? zfs_runl(NULL, what, "snapshot", "-r", snap, NULL)
			   : zfs_runl(NULL, what, "snapshot", snap, NULL);
	free(what);
	return rc;
}

static void backoff(int attempt)
{
	struct timespec ts = {0, (long)(50 + 25 * (attempt > 4 ? 4 : attempt)) * 1000000L};
	nanosleep(&ts, NULL);
}

/* zfs-fuse often reports "dataset is busy" right after a mount or an unmount (and a
 * snapshot is busy while a `zfs send` holds it): retry with a bounded back-off (about
 * 2.7 s in all). */
static int run_busy_retry(struct strv *a, const char *what)
{
	int rc = -1;
	for (int attempt = 0; attempt < 20; attempt++) {
		rc = zfs_run(a, NULL, what);
		if (rc == 0 || zfs_lasterr != ZE_BUSY)
			break;
		backoff(attempt);
	}
	return rc;
}

/* The mounted file systems of NAME and below, parents first (one zfs call). */
static int mounted_tree(const char *name, struct strv *out)
{
	sv_init(out);
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {name, NULL};
	if (zfs_list(&t, "name,mounted", dss, 1000, "filesystem", "name") < 0)
		return -1;
	for (size_t i = 0; i < t.nrows; i++)
		if (t.rows[i].n >= 2 && streq(t.rows[i].v[1], "yes"))
			sv_add(out, t.rows[i].v[0]);
	sv_sort(out);
	return 0;
}

/* Unmount NAME and everything mounted below it, deepest first, each with the busy
 * retry; *done gets what was unmounted (parents first). */
static int unmount_tree(const char *name, struct strv *done)
{
	_cleanup_strv_ struct strv m = {0};
	sv_init(done);
	if (mounted_tree(name, &m) < 0)
		return -1;
	for (size_t i = m.n; i-- > 0;) {
		if (zfs_unmount(m.v[i]) < 0)
			return -1;
		sv_add(done, m.v[i]);
	}
	/* done is deepest first: turn it round */
	for (size_t i = 0, k = done->n; i < k / 2; i++) {
		char *x = done->v[i];
		done->v[i] = done->v[k - 1 - i];
		done->v[k - 1 - i] = x;
	}
	return 0;
}

/* Run a destroy or rename (the one place that handles zfs-fuse's busy state for them):
 * when a file system is busy, unmount its tree deepest-first and try again with the
 * bounded back-off; a busy snapshot (held by a `zfs send`) is retried the same way.
 * The unmounted names go to *unmounted. */
static int run_busy_unmount(struct strv *a, const char *name, const char *what,
			    struct strv *unmounted)
{
	sv_init(unmounted);
	int rc = zfs_run(a, NULL, what);
	if (rc == 0 || zfs_lasterr != ZE_BUSY)
		return rc;
	if (strchr(name, '@')) {
		backoff(0);
		return run_busy_retry(a, what);
	}
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	struct strv done;
	if (unmount_tree(name, &done) < 0) {
		sv_free(&done);
		ioc_err_restore(&keep);
		zfs_lasterr = ZE_BUSY;
		return -1;
	}
	free(keep.msg);
	free(keep.hint);
	sv_free(unmounted);
	*unmounted = done;
	return run_busy_retry(a, what);
}

int zfs_destroy(const char *name, const char *flags)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "destroy");
	if (flags)
		sv_add(&a, flags);
	sv_add(&a, name);
	char *what = xasprintf("cannot destroy %s", name);
	struct strv unmounted;
	int rc = run_busy_unmount(&a, name, what, &unmounted);
	if (rc < 0 && unmounted.n) {
		/* nothing destroyed: mount again what was unmounted */
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		enum zfs_errkind k = zfs_lasterr;
		for (size_t i = 0; i < unmounted.n; i++)
			zfs_mount(unmounted.v[i]);
		ioc_err_restore(&keep);
		zfs_lasterr = k;
	}
	sv_free(&unmounted);
	free(what);
	sv_free(&a);
	return rc;
}

int zfs_set(const char *ds, const char *prop, const char *value)
{
	char *kv = xasprintf("%s=%s", prop, value);
	char *what = xasprintf("cannot set %s on %s", prop, ds);
	int rc = zfs_runl(NULL, what, "set", kv, ds, NULL);
	free(what);
	free(kv);
	return rc;
}

int zfs_inherit(const char *ds, const char *prop)
{
	char *what = xasprintf("cannot clear %s on %s", prop, ds);
	int rc = zfs_runl(NULL, what, "inherit", prop, ds, NULL);
	free(what);
	return rc;
}

int zfs_rename(const char *from, const char *to)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "rename");
	sv_add(&a, from);
	sv_add(&a, to);
	char *what = xasprintf("cannot rename %s to %s", from, to);
	struct strv unmounted;
	int rc = run_busy_unmount(&a, from, what, &unmounted);
	if (unmounted.n) {
		/* Mount again (parents first) what had to be unmounted, under its new name
		 * when the rename was done (then a failure is a warning: it is renamed). */
		struct ioc_errsave keep = {0};
		enum zfs_errkind k = zfs_lasterr;
		if (rc < 0)
			ioc_err_save(&keep);
		size_t fl = strlen(from);
		for (size_t i = 0; i < unmounted.n; i++) {
			const char *n = unmounted.v[i];
			_cleanup_free_ char *now = rc == 0 ? xasprintf("%s%s", to, n + fl)
							   : xstrdup(n);
			if (zfs_mount(now) < 0)
				ioc_warn("%s", ioc_errmsg());
		}
		if (rc < 0)
			ioc_err_restore(&keep);
		else
			ioc_err_clear();
		zfs_lasterr = k;
	}
	sv_free(&unmounted);
	free(what);
	sv_free(&a);
	return rc;
}

int zfs_promote(const char *ds)
{
	char *what = xasprintf("cannot promote %s", ds);
	int rc = zfs_runl(NULL, what, "promote", ds, NULL);
	free(what);
	return rc;
}

int zfs_rollback(const char *snap, bool destroy_newer)
{
	char *what = xasprintf("cannot roll back to %s", snap);
	struct strv a;
	sv_init(&a);
	sv_add(&a, "rollback");
	if (destroy_newer)
		sv_add(&a, "-r");
	sv_add(&a, snap);
	int rc = run_busy_retry(&a, what);
	sv_free(&a);
	free(what);
	return rc;
}

int zfs_mount(const char *ds)
{
	char *what = xasprintf("cannot mount %s", ds);
	int rc = zfs_runl(NULL, what, "mount", ds, NULL);
	free(what);
	return rc;
}

int zfs_mount_tree(const char *name)
{
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {name, NULL};
	if (zfs_list(&t, "name,mounted,canmount,mountpoint", dss, 1000, "filesystem", "name") < 0)
		return -1;
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		if (r->n < 4 || !streq(r->v[1], "no") || !streq(r->v[2], "on") ||
		    streq(r->v[3], "none") || streq(r->v[3], "legacy"))
			continue;
		if (zfs_mount(r->v[0]) < 0)
			return -1;
	}
	return 0;
}

int zfs_unmount(const char *ds)
{
	char *what = xasprintf("cannot unmount %s", ds);
	struct strv a;
	sv_init(&a);
	sv_add(&a, "unmount");
	sv_add(&a, ds);
	int rc = run_busy_retry(&a, what);
	sv_free(&a);
	free(what);
	return rc;
}

/* The arguments of `zfs get` with the four columns the parsers read. */
static void get_args(struct strv *a, const char *props, const char *const *datasets,
		     const char *sources, bool parsable, bool recursive, int depth)
{
	sv_init(a);
	sv_add(a, "get");
	sv_add(a, parsable ? "-Hp" : "-H");
	if (recursive)
		sv_add(a, "-r");
	if (depth >= 0) {
		sv_add(a, "-d");
		sv_addf(a, "%d", depth);
	}
	if (sources) {
		sv_add(a, "-s");
		sv_add(a, sources);
	}
	sv_add(a, "-o");
	sv_add(a, "name,property,value,source");
	sv_add(a, props);
	for (size_t i = 0; datasets && datasets[i]; i++)
		sv_add(a, datasets[i]);
}

static const char get_what[] = "cannot read ZFS properties";

int zfs_get(struct ztable *t, const char *props, const char *const *datasets, const char *sources,
	    bool parsable, bool recursive, int depth)
{
	struct strv a;
	get_args(&a, props, datasets, sources, parsable, recursive, depth);
	char *out = NULL;
	int rc = zfs_run(&a, &out, get_what);
	sv_free(&a);
	if (rc == 0)
		ztable_parse(t, out);
	free(out);
	return rc;
}

int zfs_get_begin(struct zfs_job *job, const char *props, const char *ds)
{
	struct strv a;
	const char *dss[] = {ds, NULL};
	get_args(&a, props, dss, NULL, false, false, -1);
	zfs_argv(&job->argv, &a);
	sv_free(&a);
	run_init(&job->r, (const char *const *)job->argv.v);
	job->r.capture_out = true;
	job->r.env_add = zfs_env;
	if (run_start(&job->r) < 0) {
		zfs_lasterr = ZE_OTHER;
		ioc_err_ctx("%s", get_what);
		run_free(&job->r);
		sv_free(&job->argv);
		return -1;
	}
	return 0;
}

int zfs_get_end(struct zfs_job *job, struct ztable *t)
{
	char *out = NULL;
	int rc = zfs_outcome(&job->r, run_finish(&job->r), get_what, &out);
	if (rc == 0)
		ztable_parse(t, out);
	free(out);
	run_free(&job->r);
	sv_free(&job->argv);
	return rc;
}

void zfs_job_cancel(struct zfs_job *job)
{
	run_free(&job->r); /* kills and reaps it */
	sv_free(&job->argv);
}

char *zfs_get1(const char *ds, const char *prop)
{
	char *out = NULL;
	char *what = xasprintf("cannot read %s of %s", prop, ds);
	int rc = zfs_runl(&out, what, "get", "-H", "-o", "value", prop, ds, NULL);
	free(what);
	if (rc < 0)
		return NULL;
	chomp(out);
	return out;
}

int zfs_list(struct ztable *t, const char *cols, const char *const *datasets, int depth,
	     const char *type, const char *sort)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "list");
	sv_add(&a, "-H");
	if (depth >= 0) {
		sv_add(&a, "-r");
		sv_add(&a, "-d");
		sv_addf(&a, "%d", depth);
	}
	if (type) {
		sv_add(&a, "-t");
		sv_add(&a, type);
	}
	if (sort) {
		sv_add(&a, "-s");
		sv_add(&a, sort);
	}
	sv_add(&a, "-o");
	sv_add(&a, cols);
	for (size_t i = 0; datasets && datasets[i]; i++)
		sv_add(&a, datasets[i]);
	char *out = NULL;
	int rc = zfs_run(&a, &out, "cannot list ZFS datasets");
	sv_free(&a);
	if (rc == 0)
		ztable_parse(t, out);
	free(out);
	return rc;
}

bool zfs_exists(const char *ds)
{
	char *out = NULL;
	int rc = zfs_runl(&out, "lookup", "list", "-H", "-o", "name", ds, NULL);
	free(out);
	if (rc < 0 && zfs_lasterr == ZE_NOENT)
		ioc_err_clear();
	return rc == 0;
}

int zpool_names(struct strv *names)
{
	char *out = NULL;
	sv_init(names);
	if (zfs_runl(&out, "cannot list pools", "zpool", "list", "-H", "-o", "name", NULL) < 0) {
		sv_free(names);
		return -1;
	}
	split(names, out, "\n", true);
	free(out);
	return 0;
}

int zpool_create_file(const char *pool, const char *file, const char *mountpoint)
{
	char *what = xasprintf("cannot create pool %s on %s", pool, file);
	int rc = zfs_runl(NULL, what, "zpool", "create", "-m", mountpoint, pool, file, NULL);
	free(what);
	return rc;
}
