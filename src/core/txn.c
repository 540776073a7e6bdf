/* Owner stamps, marks and staging names: see txn.h. */
#include "core/txn.h"
#include "core/parse.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "core/zfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const op_names[] = {
	[TXN_NONE] = "none",
	[TXN_CREATE] = "create",
	[TXN_DESTROY] = "destroy",
	[TXN_CLONE] = "clone",
	[TXN_ROLLBACK] = "rollback",
	[TXN_EXPORT] = "export",
	[TXN_UPDATE] = "update",
	[TXN_UPGRADE] = "upgrade",
	[TXN_FETCH] = "fetch",
	[TXN_FETCH_UPDATE] = "fetch-update",
	[TXN_FETCH_COMMIT] = "fetch-commit",
};

const char *txn_op_name(enum txn_op op)
{
	return (size_t)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

bool txn_op_hides(enum txn_op op) { return op == TXN_CREATE || op == TXN_DESTROY; }

/* ---- stamps ----------------------------------------------------------------------------- */

static bool read_boot(char boot[9])
{
	static char cached[9];
	if (!cached[0]) {
		char buf[64] = "";
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
		}
		for (int i = 0; i < 8; i++)
			if (!isxdigit((unsigned char)buf[i]))
				return false;
		memcpy(cached, buf, 8);
	}
	memcpy(boot, cached, 9);
	return true;
}

const char *txn_stamp(void)
{
	static char stamp[64];
	static pid_t made_by;
	pid_t pid = getpid();
	if (made_by != pid) {
		/* first use, or a child forked after it (rcboot's workers): a stamp of its own */
		char boot[9];
		if (!read_boot(boot))
			snprintf(boot, sizeof(boot), "00000000");
		snprintf(stamp, sizeof(stamp), "%s-%d-%llu", boot, (int)pid, proc_starttime(pid));
		made_by = pid;
	}
	return stamp;
}

bool txn_stamp_parse(const char *s, char boot[9], pid_t *pid, unsigned long long *start)
{
	for (int i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	if (s[8] != '-' || !isdigit((unsigned char)s[9]))
		return false;
	char *end;
	long p = strtol(s + 9, &end, 10);
	if (*end != '-' || p <= 0 || !isdigit((unsigned char)end[1]))
		return false;
	char *end2;
	unsigned long long st = strtoull(end + 1, &end2, 10);
	if (*end2)
		return false;
	memcpy(boot, s, 8);
	boot[8] = '\0';
	*pid = (pid_t)p;
	*start = st;
	return true;
}

bool txn_owner_alive(const char *stamp)
{
	char boot[9], now[9];
	pid_t pid;
	unsigned long long start;
	if (!txn_stamp_parse(stamp, boot, &pid, &start))
		return false;
	if (!read_boot(now) || !streq(boot, now))
		return false; /* another boot (or another host): long gone */
	return proc_alive(pid, start);
}

pid_t txn_stamp_pid(const char *stamp)
{
	char boot[9];
	pid_t pid;
	unsigned long long start;
	return txn_stamp_parse(stamp, boot, &pid, &start) ? pid : 0;
}

/* ---- marks ------------------------------------------------------------------------------ */

void txn_mark_free(struct txn_mark *m)
{
	sv_free(&m->args);
	free(m->rest);
	m->rest = NULL;
	m->op = TXN_NONE;
}

int txn_mark_parse(const char *value, struct txn_mark *m)
{
	memset(m, 0, sizeof(*m));
	sv_init(&m->args);
	if (!value)
		return -1;
	size_t n = strcspn(value, " ");
	enum txn_op op = TXN_NONE;
	for (size_t i = 1; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strlen(op_names[i]) == n && strncmp(value, op_names[i], n) == 0)
			op = (enum txn_op)i;
	if (op == TXN_NONE || value[n] != ' ')
		return -1;
	const char *st = value + n + 1;
	size_t sl = strcspn(st, " ");
	char boot[9];
	pid_t pid;
	unsigned long long start;
	if (sl == 0 || sl >= sizeof(m->stamp))
		return -1;
	memcpy(m->stamp, st, sl);
	m->stamp[sl] = '\0';
	if (!txn_stamp_parse(m->stamp, boot, &pid, &start))
		return -1;
	const char *rest = st + sl;
	while (*rest == ' ')
		rest++;
	m->rest = xstrdup(rest);
	split(&m->args, rest, " ", true);
	m->op = op;
	return 0;
}

char *txn_mark_value(enum txn_op op, const char *const *args)
{
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "%s %s", txn_op_name(op), txn_stamp());
	for (size_t i = 0; args && args[i]; i++)
		sb_printf(&b, " %s", args[i]);
	return sb_steal(&b);
}

int txn_mark_set(const char *ds, enum txn_op op, const char *const *args)
{
	_cleanup_free_ char *v = txn_mark_value(op, args);
	return zfs_set(ds, TXN_PROP, v);
}

int txn_mark_clear(const char *ds) { return zfs_inherit(ds, TXN_PROP); }

int txn_mark_finish(const char *ds, int rc)
{
	struct ioc_errsave keep;
	if (rc < 0)
		ioc_err_save(&keep);
	if (txn_mark_clear(ds) < 0) {
		if (rc == 0)
			return -1;
		ioc_warn("%s", ioc_errmsg());
	}
	if (rc < 0)
		ioc_err_restore(&keep);
	return rc;
}

int txn_mark_clear_all(const struct strv *dss)
{
	if (dss->n == 1)
		return txn_mark_clear(dss->v[0]);
	struct strv a;
	sv_init(&a);
	sv_add(&a, "inherit");
	sv_add(&a, TXN_PROP);
	for (size_t i = 0; i < dss->n; i++)
		sv_add(&a, dss->v[i]);
	int rc = dss->n ? zfs_run(&a, NULL, "cannot commit the new jails") : 0;
	sv_free(&a);
	return rc;
}

/* ---- staging names ---------------------------------------------------------------------- */

char *txn_stage_name(const char *parent, const char *uuid)
{
	return xasprintf("%s/" TXN_STAGE_PREFIX "%s-%s", parent, txn_stamp(), uuid);
}

bool txn_stage_parse(const char *leaf, char stamp[64], char uuid[37])
{
	if (!startswith(leaf, TXN_STAGE_PREFIX))
		return false;
	const char *s = leaf + strlen(TXN_STAGE_PREFIX);
	size_t n = strlen(s);
	if (n < 38 || s[n - 37] != '-')
		return false;
	size_t sl = n - 37;
	if (sl >= 64)
		return false;
	memcpy(stamp, s, sl);
	stamp[sl] = '\0';
	snprintf(uuid, 37, "%s", s + n - 36);
	char boot[9];
	pid_t pid;
	unsigned long long start;
	return valid_uuid(uuid) && txn_stamp_parse(stamp, boot, &pid, &start);
}

/* ---- marked snapshots ------------------------------------------------------------------- */

char *txn_snapshot(const char *ds, enum txn_op op, const char *prefix, const char *const *extra)
{
	_cleanup_free_ char *base = time_snapname(prefix);
	for (int n = 1; n < 100; n++) {
		char *sn = n == 1 ? xstrdup(base) : xasprintf("%s.%d", base, n);
		const char *args[8] = {sn};
		for (size_t i = 0; extra && extra[i] && i < 6; i++)
			args[i + 1] = extra[i];
		_cleanup_free_ char *full = xasprintf("%s@%s", ds, sn);
		if (txn_mark_set(ds, op, args) < 0) {
			free(sn);
			return NULL;
		}
		if (zfs_snapshot(full, true) == 0)
			return sn;
		free(sn);
		if (zfs_lasterr != ZE_EXISTS) {
			struct ioc_errsave keep;
			ioc_err_save(&keep);
			txn_mark_clear(ds);
			ioc_err_restore(&keep);
			return NULL;
		}
		ioc_err_clear(); /* taken (a retry within the same second): the next name */
	}
	ioc_err("no free snapshot name like %s on %s", base, ds);
	txn_mark_clear(ds);
	return NULL;
}

/* ---- work in flight --------------------------------------------------------------------- */

static char *inflight_dir(void) { return xasprintf("%s/inflight", rundir()); }
/* This process's lock: its descriptor (-2: not made yet, -1: cannot be), its file, and
 * the process that made them (a forked child inherits them, and makes its own). */
static int g_inflight_fd = -2;
static char *g_inflight_path;
static pid_t g_inflight_pid;

void txn_inflight_release(void)
{
	if (g_inflight_path && g_inflight_pid == getpid())
		unlink(g_inflight_path); /* the lock itself goes with the process */
}

static void inflight_exit(void) { txn_inflight_release(); }

int txn_inflight_fd(void)
{
	pid_t pid = getpid();
	if (g_inflight_fd != -2 && g_inflight_pid == pid)
		return g_inflight_fd;
	if (g_inflight_fd != -2) {
		/* the parent's, inherited: its lock stays the parent's as long as the parent
		 * keeps its descriptor; this process's work is tracked under its own stamp */
		if (g_inflight_fd >= 0)
			close(g_inflight_fd);
		free(g_inflight_path);
		g_inflight_path = NULL;
	} else {
		atexit(inflight_exit);
	}
	g_inflight_pid = pid;
	g_inflight_fd = -1;
	_cleanup_free_ char *dir = inflight_dir();
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	char *path = xasprintf("%s/%s.lock", dir, txn_stamp());
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0 || flock(f, LOCK_EX | LOCK_NB) < 0) {
		if (f >= 0)
			close(f);
		free(path);
		return -1;
	}
	g_inflight_path = path;
	g_inflight_fd = f;
	return f;
}

bool txn_inflight_wait(const char *stamp, int ms)
{
	if (streq(stamp, txn_stamp()))
		return true; /* our own: nothing of ours runs while we look */
	_cleanup_free_ char *dir = inflight_dir();
	_cleanup_free_ char *path = xasprintf("%s/%s.lock", dir, stamp);
	_cleanup_close_ int f = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return true; /* nothing was tracked (another boot, another host, done) */
	for (int waited = 0; flock(f, LOCK_EX | LOCK_NB) < 0; waited += 20) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (waited >= ms)
			return false;
		usleep(20 * 1000);
	}
	unlink(path);
	return true;
}

void txn_settle(int ms)
{
	_cleanup_free_ char *dir = inflight_dir();
	DIR *d = opendir(dir);
	if (!d)
		return;
	_cleanup_strv_ struct strv dead = {0};
	sv_init(&dead);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || !endswith(e->d_name, ".lock"))
			continue;
		_cleanup_free_ char *stamp = xstrndup(e->d_name, n - 5);
		if (!txn_owner_alive(stamp))
			sv_add(&dead, stamp);
	}
	closedir(d);
	long long end = (long long)ms;
	for (size_t i = 0; i < dead.n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		txn_inflight_wait(dead.v[i], (int)(end > 0 ? end : 0));
		clock_gettime(CLOCK_MONOTONIC, &b);
		end -= (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	}
}
