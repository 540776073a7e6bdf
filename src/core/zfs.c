#include "core/zfs.h"
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

static enum zfs_errkind classify(const char *err)
{
	if (strstr(err, "does not exist") || strstr(err, "no such pool") ||
	    strstr(err, "could not find any snapshots"))
		return ZE_NOENT;
	if (strstr(err, "already exists"))
		return ZE_EXISTS;
	if (strstr(err, "has dependent clones") || strstr(err, "has children"))
		return ZE_CLONES;
	if (strstr(err, "busy"))
		return ZE_BUSY;
	return ZE_OTHER;
}

/* zfs and zpool run in the C locale: their messages are what classify() reads, and
 * they skip loading locale files. */
static const char *const zfs_env[] = {"LC_ALL=C", NULL};

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
		zfs_lasterr = classify(e);
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

static int zfs_run_in(const struct strv *args, char **out, const char *what, int in_fd)
{
	struct strv argv;
	zfs_argv(&argv, args);
	struct run r;
	run_init(&r, (const char *const *)argv.v);
	r.capture_out = out != NULL;
	r.stdin_fd = in_fd;
	r.env_add = zfs_env;
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

/* zfs-fuse often reports "dataset is busy" right after an unmount; retry briefly. */
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

int zfs_destroy(const char *name, const char *flags)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "destroy");
	if (flags)
		sv_add(&a, flags);
	sv_add(&a, name);
	char *what = xasprintf("cannot destroy %s", name);
	int rc = run_busy_retry(&a, what);
	if (rc < 0 && zfs_lasterr == ZE_BUSY && !strchr(name, '@')) {
		/* Unmount explicitly (children first through -f is not portable), then retry. */
		char *e = xstrdup(ioc_errmsg());
		zfs_runl(NULL, "unmount", "unmount", name, NULL);
		rc = run_busy_retry(&a, what);
		if (rc < 0 && zfs_lasterr == ZE_NONE)
			ioc_err("%s", e);
		free(e);
	}
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
	int rc = run_busy_retry(&a, what);
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
	*t = (struct ztable){0};
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

/* ---- send / recv ---------------------------------------------------------------- */

static void progress(const char *label, unsigned long long bytes, bool final)
{
	if (ioc_quiet || !label || !isatty_err())
		return;
	fprintf(stderr, "\r%s: %.1f MiB%s", label, (double)bytes / (1024.0 * 1024.0),
		final ? "\n" : "");
}

static int relay(int in, int out, zfs_chunk_cb cb, void *arg, const char *label,
		 unsigned long long *total)
{
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	unsigned long long n = 0;
	time_t last = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(in, buf, cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ioc_err("read of ZFS stream failed: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		if (cb && cb(buf, (size_t)r, arg) < 0) {
			rc = -1;
			break;
		}
		for (ssize_t off = 0; out >= 0 && off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				ioc_err("write of ZFS stream failed: %s", strerror(errno));
				rc = -1;
				goto done;
			}
			off += w;
		}
		n += (unsigned long long)r;
		time_t now = time(NULL);
		if (now != last) {
			progress(label, n, false);
			last = now;
		}
	}
done:
	if (label && n)
		progress(label, n, true);
	free(buf);
	if (total)
		*total = n;
	return rc;
}

static int wait_zfs(pid_t pid, int errfd, const char *what)
{
	char buf[4096];
	ssize_t k = 0, r;
	while (errfd >= 0 && (r = read(errfd, buf + k, sizeof(buf) - 1 - (size_t)k)) > 0)
		k += r;
	buf[k > 0 ? k : 0] = '\0';
	int st = wait_pid(pid);
	if (st != 0) {
		chomp(buf);
		zfs_lasterr = classify(buf);
		ioc_err("%s: %s", what, buf[0] ? buf : "exited with non-zero status");
		return -1;
	}
	return 0;
}

int zfs_send_recv(const char *snap, const char *dest, bool replicate, const char *label)
{
	int sp[2], se[2], re[2], rp[2];
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(se, O_CLOEXEC) < 0 || pipe2(re, O_CLOEXEC) < 0 ||
	    pipe2(rp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	const char *sendv[] = {"zfs", "send", replicate ? "-R" : snap, replicate ? snap : NULL,
			       NULL};
	const char *recvv[] = {"zfs", "recv", dest, NULL};
	/* With no progress to show, send writes straight into recv: no copy through us. */
	bool direct = ioc_quiet || !label || !isatty_err();
	(void)fcntl(sp[1], F_SETPIPE_SZ, 1 << 20); /* hints: fewer, larger transfers */
	(void)fcntl(rp[1], F_SETPIPE_SZ, 1 << 20);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	pid_t s = spawn_fds(sendv, -1, sp[1], se[1]);
	pid_t r = s > 0 ? spawn_fds(recvv, direct ? sp[0] : rp[0], -1, re[1]) : -1;
	close(sp[1]);
	close(se[1]);
	close(re[1]);
	close(rp[0]);
	int rc = 0;
	if (s > 0 && r > 0 && !direct)
		rc = relay(sp[0], rp[1], NULL, NULL, label, NULL);
	close(rp[1]);
	close(sp[0]);
	char *ws = xasprintf("zfs send %s failed", snap);
	char *wr = xasprintf("zfs recv %s failed", dest);
	int a = s > 0 ? wait_zfs(s, se[0], ws) : -1;
	char *keep = a < 0 ? xstrdup(ioc_errmsg()) : NULL;
	int b = r > 0 ? wait_zfs(r, re[0], wr) : -1;
	if (keep) {
		ioc_err("%s", keep); /* the sender's failure is the cause */
		free(keep);
	}
	close(se[0]);
	close(re[0]);
	free(ws);
	free(wr);
	signal(SIGPIPE, old);
	return (rc < 0 || a < 0 || b < 0) ? -1 : 0;
}

int zfs_send_to(const char *snap, bool replicate, zfs_chunk_cb cb, void *arg)
{
	int sp[2], se[2];
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(se, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	const char *sendv[] = {"zfs", "send", replicate ? "-R" : snap, replicate ? snap : NULL,
			       NULL};
	/* A 1 MB pipe: fewer, larger reads here and writes downstream (a hint only). */
	(void)fcntl(sp[1], F_SETPIPE_SZ, 1 << 20);
	pid_t s = spawn_fds(sendv, -1, sp[1], se[1]);
	close(sp[1]);
	close(se[1]);
	int rc = s > 0 ? relay(sp[0], -1, cb, arg, NULL, NULL) : -1;
	close(sp[0]);
	if (rc < 0 && s > 0)
		kill(s, SIGTERM);
	char *ws = xasprintf("zfs send %s failed", snap);
	char *keep = rc < 0 ? xstrdup(ioc_errmsg()) : NULL;
	int a = s > 0 ? wait_zfs(s, se[0], ws) : -1;
	if (keep) {
		ioc_err("%s", keep);
		free(keep);
	}
	close(se[0]);
	free(ws);
	return (rc < 0 || a < 0) ? -1 : 0;
}

int zfs_recv_from(const char *dest, zfs_read_cb rd, void *arg, bool force)
{
	int rp[2], re[2];
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(re, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	const char *recvv[] = {"zfs", "recv", force ? "-F" : dest, force ? dest : NULL, NULL};
	(void)fcntl(rp[1], F_SETPIPE_SZ, 1 << 20); /* as in zfs_send_to */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	pid_t r = spawn_fds(recvv, rp[0], -1, re[1]);
	close(rp[0]);
	close(re[1]);
	int rc = 0;
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	while (r > 0) {
		long n = rd(buf, cap, arg);
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			ssize_t w = write(rp[1], buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				ioc_err("write to zfs recv failed: %s", strerror(errno));
				rc = -1;
				goto done;
			}
			off += w;
		}
	}
done:
	free(buf);
	close(rp[1]);
	char *keep = rc < 0 ? xstrdup(ioc_errmsg()) : NULL;
	char *wr = xasprintf("zfs recv %s failed", dest);
	int b = r > 0 ? wait_zfs(r, re[0], wr) : -1;
	if (keep) {
		ioc_err("%s", keep);
		free(keep);
	}
	free(wr);
	close(re[0]);
	signal(SIGPIPE, old);
	return (rc < 0 || b < 0) ? -1 : 0;
}

int zfs_recv_fd(const char *dest, int fd, struct strv *received)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "recv");
	if (received)
		sv_add(&a, "-v");
	sv_add(&a, dest);
	char *what = xasprintf("zfs recv %s failed", dest);
	char *out = NULL;
	int rc = zfs_run_in(&a, received ? &out : NULL, what, fd);
	free(what);
	sv_free(&a);
	if (received) {
		/* -v: "receiving full|incremental stream of SRC@S into DEST@S" per snapshot */
		struct strv lines = {0};
		split(&lines, out ? out : "", "\n", true);
		for (size_t i = 0; i < lines.n; i++) {
			const char *into = strstr(lines.v[i], " into ");
			if (startswith(lines.v[i], "receiving ") && into && strchr(into, '@'))
				sv_add(received, into + 6);
		}
		sv_free(&lines);
		free(out);
	}
	return rc;
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
