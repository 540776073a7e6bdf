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

/* ---- which ZFS ------------------------------------------------------------------------ */

enum zfs_impl zfs_impl(void)
{
	static int known = -1;
	if (known < 0) {
		const char *env = getenv("IOCELL_ZFS_IMPL");
		if (env && streq(env, "openzfs"))
			known = ZFS_IMPL_OPENZFS;
		else if (env && streq(env, "zfs-fuse"))
			known = ZFS_IMPL_ZFS_FUSE;
		else
			known = access("/sys/module/zfs", F_OK) == 0 ||
						access("/dev/zfs", F_OK) == 0
					? ZFS_IMPL_OPENZFS
					: ZFS_IMPL_ZFS_FUSE;
	}
	return (enum zfs_impl)known;
}

const char *zfs_impl_name(void) { return zfs_is_openzfs() ? "openzfs" : "zfs-fuse"; }

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

void zfs_add_props(struct strv *a, const struct kv *props)
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
	zfs_add_props(&a, props);
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
	zfs_add_props(&a, props);
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
 * 2.7 s in all).  The OpenZFS kernel module mounts, unmounts and destroys synchronously:
 * a busy there is real (a process holds the file system) and is reported at once. */
static int run_busy_retry(struct strv *a, const char *what)
{
	int rc = -1;
	int attempts = zfs_is_openzfs() ? 1 : 20;
	for (int attempt = 0; attempt < attempts; attempt++) {
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
	if (rc == 0 || zfs_lasterr != ZE_BUSY || zfs_is_openzfs())
		return rc;
	if (strchr(name, '@')) {
		backoff(0);
		return run_busy_retry(a, what);
	}
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	struct strv done = {0};
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
	struct strv unmounted = {0};
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

int zfs_set_many(const char *ds, const struct kv *props)
{
	if (!props || !props->k.v || props->k.n == 0)
		return 0;
	if (!zfs_is_openzfs() || props->k.n == 1) {
		for (size_t i = 0; i < props->k.n; i++)
			if (zfs_set(ds, props->k.v[i], props->v.v[i]) < 0)
				return -1;
		return 0;
	}
	_cleanup_strv_ struct strv a = {0};
	sv_init(&a);
	sv_add(&a, "set");
	for (size_t i = 0; i < props->k.n; i++)
		sv_addf(&a, "%s=%s", props->k.v[i], props->v.v[i]);
	sv_add(&a, ds);
	_cleanup_free_ char *what = xasprintf("cannot set %zu properties on %s", props->k.n, ds);
	return zfs_run(&a, NULL, what);
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
	struct strv unmounted = {0};
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
	*t = (struct ztable){0}; /* empty on failure too: safe for _cleanup_ztable_ */
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
	*t = (struct ztable){0};
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

void zfs_destroy_begin(struct zfs_job *job, const char *name)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "destroy");
	sv_add(&a, name);
	zfs_argv(&job->argv, &a);
	sv_free(&a);
	run_init(&job->r, (const char *const *)job->argv.v);
	job->r.env_add = zfs_env;
	job->r.detach = true;
	job->r.keep_fd = txn_inflight_fd();
	if (run_start(&job->r) < 0) {
		ioc_err_clear(); /* zfs_destroy_end destroys it the plain way */
		run_free(&job->r);
		job->r.pid = 0;
	}
}

int zfs_destroy_end(struct zfs_job *job, const char *name)
{
	int rc = -1;
	bool started = job->r.pid > 0;
	if (started) {
		_cleanup_free_ char *what = xasprintf("cannot destroy %s", name);
		rc = zfs_outcome(&job->r, run_finish(&job->r), what, NULL);
		run_free(&job->r);
	}
	sv_free(&job->argv);
	if (rc == 0)
		return 0;
	if (started && zfs_lasterr != ZE_BUSY)
		return -1;
	ioc_err_clear();
	return zfs_destroy(name, NULL);
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

static int list_run(struct ztable *t, const char *cols, const char *const *datasets, int depth,
		    const char *type, const char *sort, bool exact)
{
	*t = (struct ztable){0};
	struct strv a;
	sv_init(&a);
	sv_add(&a, "list");
	sv_add(&a, exact ? "-Hp" : "-H");
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

int zfs_list(struct ztable *t, const char *cols, const char *const *datasets, int depth,
	     const char *type, const char *sort)
{
	*t = (struct ztable){0};
	return list_run(t, cols, datasets, depth, type, sort, false);
}

int zfs_list_exact(struct ztable *t, const char *cols, const char *const *datasets, int depth,
		   const char *type, const char *sort)
{
	*t = (struct ztable){0};
	return list_run(t, cols, datasets, depth, type, sort, true);
}

int zfs_diff(const char *snap, const char *ds, char **out)
{
	_cleanup_free_ char *what = xasprintf("cannot compare %s with %s", ds, snap);
	return zfs_runl(out, what, "diff", "-H", "-F", snap, ds, NULL);
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
