/*
 * Per-jail cgroups.  cgroup v2 when /sys/fs/cgroup is itself a cgroup2 mount; otherwise
 * every cgroup v1 hierarchy that carries controllers (hybrid hosts too: their unified
 * hierarchy holds only what v1 does not, e.g. hugetlb, so the limits live in v1 there).
 * The jail's cgroup is "iocell/UUID" below each hierarchy's mount point; the shared
 * "iocell" parent is created on demand and never removed.
 */
#include "linux/cgroup.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG_PARENT "iocell"
#define CG_MAXH (sizeof(((struct cgroup *)0)->dirs) / sizeof(char *))
#define CG_MAXDEPTH 32          /* nested cgroups a jail may have made below its own */
#define KILL_WAIT_MS 2000       /* cg_destroy: give up when processes outlive this */
#define POLL_MS 10
#define RMDIR_TRIES 20          /* EBUSY right after the last exit: 20 x 10 ms */

enum { CTL_CPUSET = 1, CTL_MEMORY = 2, CTL_PIDS = 4, CTL_FREEZER = 8 };

struct hier {
	char *mnt;           /* mount point (the hierarchy root as seen here) */
	char *dev;           /* "major:minor" of the mount, to skip a second mount of it */
	unsigned ctl;        /* CTL_* among its controllers */
	bool noprefix;       /* v1 "noprefix": cpuset files are "cpus", not "cpuset.cpus" */
	bool rootmnt;        /* mounts the hierarchy's root (not a subdirectory of it) */
	char *opts;          /* v1 super options (its controllers among them), NULL for v2 */
};

/* The detection result, once per process. */
static struct {
	bool done;
	enum cg_mode mode;
	size_t n;
	struct hier h[CG_MAXH];
} det;

/* ---- small file helpers (cgroupfs wants one write(2) per value) ---- */

/* Read a small file; NULL with errno set on failure, no message recorded. */
char *cg_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct sbuf b;
	sb_init(&b);
	char tmp[4096];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			sb_free(&b);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		sb_addn(&b, tmp, (size_t)r);
	}
	close(fd);
	return sb_steal(&b);
}

/* Write val to a cgroup file; -1 with errno set on failure, no message recorded. */
/* Write val to a cgroup file with one write. */
int cg_put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(val);
	ssize_t w;
	do
		w = write(fd, val, len);
	while (w < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (w < 0) {
		errno = e;
		return -1;
	}
	if ((size_t)w != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- detection ---- */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* v1 super options: the controllers (and noprefix); false when there is none. */
static bool v1_controllers(const char *opts, unsigned *ctl, bool *noprefix)
{
	static const char *const flags[] = { "rw", "ro", "noprefix", "clone_children", "xattr",
		"cpuset_v2_mode", "favordynmods", "none", "all", NULL };
	struct strv o = { 0 };
	split(&o, opts, ",", true);
	size_t n = 0;
	*ctl = 0;
	*noprefix = false;
	for (size_t i = 0; i < o.n; i++) {
		const char *c = o.v[i];
		bool flag = strchr(c, '=') != NULL;   /* name=systemd, release_agent=... */
		for (size_t k = 0; !flag && flags[k]; k++)
			flag = streq(c, flags[k]);
		if (streq(c, "noprefix"))
			*noprefix = true;
		if (flag)
			continue;
		n++;
		if (streq(c, "cpuset"))
			*ctl |= CTL_CPUSET;
		else if (streq(c, "memory"))
			*ctl |= CTL_MEMORY;
		else if (streq(c, "pids"))
			*ctl |= CTL_PIDS;
		else if (streq(c, "freezer"))
			*ctl |= CTL_FREEZER;
	}
	sv_free(&o);
	return n > 0;
}

/* Which hierarchy's cgroup.procs cg_pids reads: pids, then freezer, then memory. */
static int rank(unsigned ctl)
{
	if (ctl & CTL_PIDS)
		return 0;
	if (ctl & CTL_FREEZER)
		return 1;
	if (ctl & CTL_MEMORY)
		return 2;
	return 3;
}

static void det_reset(void)
{
	for (size_t i = 0; i < det.n; i++) {
		free(det.h[i].mnt);
		free(det.h[i].dev);
		free(det.h[i].opts);
	}
	memset(&det, 0, sizeof(det));
}

/* Add one v1 hierarchy, kept in rank order; a second mount of the same one is skipped
 * unless it mounts the hierarchy's root and the first did not. */
static void add_v1(const char *dev, const char *root, const char *mnt, unsigned ctl,
		   bool noprefix, const char *opts)
{
	bool rootmnt = streq(root, "/");
	for (size_t i = 0; i < det.n; i++) {
		if (!streq(det.h[i].dev, dev))
			continue;
		if (rootmnt && !det.h[i].rootmnt) {
			free(det.h[i].mnt);
			det.h[i].mnt = xstrdup(mnt);
			det.h[i].rootmnt = true;
		}
		return;
	}
	if (det.n == CG_MAXH)
		return;
	size_t at = det.n;
	while (at > 0 && rank(det.h[at - 1].ctl) > rank(ctl)) {
		det.h[at] = det.h[at - 1];
		at--;
	}
	det.h[at] = (struct hier){ xstrdup(mnt), xstrdup(dev), ctl, noprefix, rootmnt,
				   xstrdup(opts) };
	det.n++;
}

/* Parse /proc/self/mountinfo: v1 hierarchies into det; *v2 gets the first cgroup2
 * mount point (a fallback for hosts without v1 whose cgroup2 is elsewhere). */
static int scan_mounts(bool report, char **v2)
{
	const char *path = "/proc/self/mountinfo";
	char *text = cg_read(path);
	if (!text) {
		if (report)
			ioc_err("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	struct strv lines = { 0 };
	split(&lines, text, "\n", true);
	free(text);
	for (size_t l = 0; l < lines.n; l++) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		struct strv f = { 0 };
		split(&f, lines.v[l], " ", true);
		size_t sep = 6;
		while (sep < f.n && !streq(f.v[sep], "-"))
			sep++;
		if (sep + 3 < f.n) {
			const char *fstype = f.v[sep + 1], *sopts = f.v[sep + 3];
			unescape(f.v[3]);
			unescape(f.v[4]);
			unsigned ctl;
			bool noprefix;
			if (streq(fstype, "cgroup") && v1_controllers(sopts, &ctl, &noprefix))
				add_v1(f.v[2], f.v[3], f.v[4], ctl, noprefix, sopts);
			else if (streq(fstype, "cgroup2") && !*v2)
				*v2 = xstrdup(f.v[4]);
		}
		sv_free(&f);
	}
	sv_free(&lines);
	return 0;
}

static int detect(bool report)
{
	if (det.done)
		return 0;
	struct statfs sf;
	if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		det.mode = CG_V2;
		det.h[0] = (struct hier){ .mnt = xstrdup(CG_ROOT), .dev = xstrdup(""),
					  .rootmnt = true };
		det.n = 1;
		det.done = true;
		return 0;
	}
	char *v2 = NULL;
	if (scan_mounts(report, &v2) < 0) {
		det_reset();
		return -1;
	}
	if (det.n > 0) {
		det.mode = CG_V1;
		det.done = true;
	} else if (v2) {
		det.mode = CG_V2;
		det.h[0] = (struct hier){ .mnt = v2, .dev = xstrdup(""), .rootmnt = true };
		det.n = 1;
		det.done = true;
		return 0;
	} else if (report) {
		ioc_err("no usable cgroups: %s is not cgroup2 and /proc/self/mountinfo lists no "
			"cgroup v1 controller", CG_ROOT);
		ioc_hint("mount cgroup2 there: mount -t cgroup2 cgroup2 %s", CG_ROOT);
	}
	free(v2);
	return det.done ? 0 : -1;
}

int cg_detect(enum cg_mode *mode)
{
	if (detect(true) < 0)
		return -1;
	*mode = det.mode;
	return 0;
}

const char *cg_mode_name(enum cg_mode m)
{
	return m == CG_V2 ? "cgroup2" : "cgroup-v1";
}

/* ---- paths ---- */

/* A jail id is one path component: no slash, not "." or "..", nothing hidden. */
static bool valid_name(const char *uuid)
{
	return uuid && *uuid && uuid[0] != '.' && !strchr(uuid, '/') && strlen(uuid) < 256;
}

void cg_paths(struct cgroup *cg, const char *uuid)
{
	memset(cg, 0, sizeof(*cg));
	if (!valid_name(uuid) || detect(false) < 0)
		return;
	cg->mode = det.mode;
	for (size_t i = 0; i < det.n; i++)
		cg->dirs[cg->n++] = xasprintf("%s/" CG_PARENT "/%s", det.h[i].mnt, uuid);
}

const char *cg_controller_dir(const struct cgroup *cg, const char *controller)
{
	if (cg->n == 0 || !det.done)
		return NULL;
	if (cg->mode == CG_V2)
		return cg->dirs[0];
	for (size_t i = 0; i < cg->n && i < det.n; i++) {
		if (!det.h[i].opts)
			continue;
		struct strv o = { 0 };
		split(&o, det.h[i].opts, ",", true);
		bool has = sv_contains(&o, controller);
		sv_free(&o);
		if (has)
			return cg->dirs[i];
	}
	return NULL;
}

bool cg_noprefix(const struct cgroup *cg, const char *controller)
{
	const char *d = cg_controller_dir(cg, controller);
	for (size_t i = 0; d && cg->mode == CG_V1 && i < cg->n && i < det.n; i++)
		if (cg->dirs[i] == d)
			return det.h[i].noprefix;
	return false;
}

void cg_free(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i]);
		cg->dirs[i] = NULL;
	}
	cg->n = 0;
}

/* ---- pid lists ---- */

struct pidv {
	pid_t *v;
	size_t n, cap;
};

static void pv_add(struct pidv *pv, pid_t p)
{
	if (pv->n == pv->cap) {
		pv->cap = pv->cap ? pv->cap * 2 : 16;
		pv->v = xrealloc(pv->v, pv->cap * sizeof(pid_t));
	}
	pv->v[pv->n++] = p;
}

static int cmppid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Sort and drop duplicates (v1 cgroup.procs may list a process more than once). */
static void pv_uniq(struct pidv *pv)
{
	if (pv->n < 2)
		return;
	qsort(pv->v, pv->n, sizeof(pid_t), cmppid);
	size_t k = 1;
	for (size_t i = 1; i < pv->n; i++)
		if (pv->v[i] != pv->v[k - 1])
			pv->v[k++] = pv->v[i];
	pv->n = k;
}

static bool pv_has(const struct pidv *pv, pid_t p)
{
	return pv->n && bsearch(&p, pv->v, pv->n, sizeof(pid_t), cmppid) != NULL;
}

/* Add the processes of dir and of the cgroups below it.  A cgroup vanishing meanwhile
 * counts as empty; other failures record a message. */
static int collect(const char *dir, struct pidv *pv, int depth)
{
	char *path = xasprintf("%s/cgroup.procs", dir);
	char *text = cg_read(path);
	if (!text) {
		int e = errno;
		if (e != ENOENT)
			ioc_err("cannot read %s: %s", path, strerror(e));
		free(path);
		return e == ENOENT ? 0 : -1;
	}
	free(path);
	for (char *p = text, *end; *p; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p) {
			end = p + 1;
			continue;
		}
		if (v > 0)
			pv_add(pv, (pid_t)v);
	}
	free(text);
	if (depth >= CG_MAXDEPTH)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;   /* gone meanwhile */
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		char *sub = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			rc = collect(sub, pv, depth + 1);
		free(sub);
	}
	closedir(d);
	return rc;
}

/* Every process in any of the jail's cgroups (all hierarchies, nested cgroups too). */
static int collect_all(const struct cgroup *cg, struct pidv *pv)
{
	pv->n = 0;
	for (size_t i = 0; i < cg->n; i++)
		if (collect(cg->dirs[i], pv, 0) < 0)
			return -1;
	pv_uniq(pv);
	return 0;
}

int cg_pids(const struct cgroup *cg, pid_t **pids, size_t *n)
{
	*pids = NULL;
	*n = 0;
	if (cg->n == 0) {
		ioc_err("cannot list the processes of a jail: no usable cgroups");
		return -1;
	}
	/* The first directory is the preferred hierarchy (pids, freezer, memory). */
	struct stat st;
	if (stat(cg->dirs[0], &st) < 0) {
		ioc_err("cannot list the processes of cgroup %s: %s", cg->dirs[0], strerror(errno));
		return -1;
	}
	struct pidv pv = { 0 };
	if (collect(cg->dirs[0], &pv, 0) < 0) {
		free(pv.v);
		return -1;
	}
	pv_uniq(&pv);
	*pids = pv.v;
	*n = pv.n;
	return 0;
}

/* ---- create / attach ---- */

static int mkdir_cg(const char *path, bool *created)
{
	*created = false;
	if (mkdir(path, 0755) == 0) {
		*created = true;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	ioc_err("cannot create cgroup %s: %s", path, strerror(errno));
	return -1;
}

/* A leftover jail cgroup is reused only when no process is in it. */
static int check_unused(const char *dir)
{
	struct pidv pv = { 0 };
	int rc = collect(dir, &pv, 0);
	if (rc == 0 && pv.n > 0) {
		ioc_err("cannot create cgroup %s: it exists and process %d is in it", dir,
			(int)pv.v[0]);
		ioc_hint("the jail seems to be running; stop it first");
		rc = -1;
	}
	free(pv.v);
	return rc;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems, and attaching to it then fails
 * with ENOSPC.  Copy the parent's values into the ones still empty. */
static int cpuset_inherit(const char *from, const char *to, bool noprefix)
{
	static const char *const keys[] = { "cpus", "mems" };
	const char *pre = noprefix ? "" : "cpuset.";
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < 2; k++) {
		char *tp = xasprintf("%s/%s%s", to, pre, keys[k]);
		char *fp = xasprintf("%s/%s%s", from, pre, keys[k]);
		char *cur = cg_read(tp), *val = NULL;
		if (!cur) {
			ioc_err("cannot read %s: %s", tp, strerror(errno));
			rc = -1;
		} else if (*chomp(cur)) {
			/* already set (clone_children, or by the administrator) */
		} else if (!(val = cg_read(fp))) {
			ioc_err("cannot read %s: %s", fp, strerror(errno));
			rc = -1;
		} else if (!*chomp(val)) {
			ioc_err("cannot set up cgroup %s: %s is empty", to, fp);
			rc = -1;
		} else if (cg_put(tp, val) < 0) {
			ioc_err("cannot write \"%s\" to %s: %s", val, tp, strerror(errno));
			rc = -1;
		}
		free(cur);
		free(val);
		free(tp);
		free(fp);
	}
	return rc;
}

/* v1 memory: old kernels default to a flat memory.use_hierarchy=0, under which the
 * jail's limits would not cover its sub-cgroups.  It can change only while the cgroup
 * has no children, so failure is ignored (current kernels have it fixed at 1). */
static void memory_hierarchy(const char *parent)
{
	char *p = xasprintf("%s/memory.use_hierarchy", parent);
	char *v = cg_read(p);
	if (v && streq(chomp(v), "0") && cg_put(p, "1") < 0) {
		/* has children already: keep it as it is */
	}
	free(v);
	free(p);
}

/* v2: enable in dir's subtree_control every controller dir has, one at a time so that
 * one refused (e.g. root with processes in a container) does not stop the others.  What
 * could not be enabled is reported precisely where a limit needs it. */
static void enable_controllers(const char *dir)
{
	char *cp = xasprintf("%s/cgroup.controllers", dir);
	char *sp = xasprintf("%s/cgroup.subtree_control", dir);
	char *avail = cg_read(cp), *on = cg_read(sp);
	if (avail && on) {
		struct strv a = { 0 }, e = { 0 };
		split(&a, avail, " \n", true);
		split(&e, on, " \n", true);
		for (size_t i = 0; i < a.n; i++) {
			if (sv_contains(&e, a.v[i]))
				continue;
			char *w = xasprintf("+%s", a.v[i]);
			if (cg_put(sp, w) < 0) {
				/* tolerated, see above */
			}
			free(w);
		}
		sv_free(&a);
		sv_free(&e);
	}
	free(avail);
	free(on);
	free(cp);
	free(sp);
}

int cg_create(struct cgroup *cg, const char *uuid)
{
	memset(cg, 0, sizeof(*cg));
	if (!valid_name(uuid)) {
		ioc_err("cannot create a cgroup for \"%s\": not a valid jail id", uuid ? uuid : "");
		return -1;
	}
	if (detect(true) < 0)
		return -1;
	cg_paths(cg, uuid);
	bool made[CG_MAXH] = { false }, made_parent[CG_MAXH] = { false };
	for (size_t i = 0; i < det.n; i++) {
		const struct hier *h = &det.h[i];
		char *parent = xasprintf("%s/" CG_PARENT, h->mnt);
		if (det.mode == CG_V2)
			enable_controllers(h->mnt);
		int r = mkdir_cg(parent, &made_parent[i]);
		if (r == 0 && det.mode == CG_V2)
			enable_controllers(parent);
		if (r == 0 && (h->ctl & CTL_MEMORY))
			memory_hierarchy(parent);
		if (r == 0 && (h->ctl & CTL_CPUSET))
			r = cpuset_inherit(h->mnt, parent, h->noprefix);
		if (r == 0)
			r = mkdir_cg(cg->dirs[i], &made[i]);
		if (r == 0 && !made[i])
			r = check_unused(cg->dirs[i]);
		if (r == 0 && (h->ctl & CTL_CPUSET))
			r = cpuset_inherit(parent, cg->dirs[i], h->noprefix);
		free(parent);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	for (size_t i = det.n; i-- > 0;) {
		if (made[i] && rmdir(cg->dirs[i]) < 0) {
			/* nothing better to do; the first error stays the message */
		}
		if (made_parent[i]) {
			/* only if still empty: another jail may have started meanwhile */
			char *parent = xasprintf("%s/" CG_PARENT, det.h[i].mnt);
			if (rmdir(parent) < 0) {
				/* in use: keep it */
			}
			free(parent);
		}
	}
	cg_free(cg);
	return -1;
}

int cg_attach(const struct cgroup *cg, pid_t pid)
{
	if (cg->n == 0) {
		ioc_err("cannot move process %d into the jail's cgroup: no usable cgroups",
			(int)pid);
		return -1;
	}
	char val[32];
	snprintf(val, sizeof(val), "%d\n", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		char *p = xasprintf("%s/cgroup.procs", cg->dirs[i]);
		int r = cg_put(p, val);
		int e = errno;
		free(p);
		if (r < 0) {
			ioc_err("cannot move process %d into cgroup %s: %s", (int)pid, cg->dirs[i],
				strerror(e));
			if (e == ENOSPC)
				ioc_hint("its cpuset.cpus or cpuset.mems is empty");
			return -1;
		}
	}
	return 0;
}

/* ---- destroy ---- */

#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
/* One round of SIGKILL to the listed processes.  The pid -> process binding is pinned
 * with a pidfd and confirmed by a second listing taken after it, so a pid freed and
 * reused by an unrelated process in between is never signalled.  Then wait (pidfds
 * become readable on exit) for at most POLL_MS.  Returns 1 without pidfd support. */
static int kill_round(const struct cgroup *cg, const struct pidv *pv)
{
	int *fds = xcalloc(pv->n, sizeof(int));
	struct pollfd *pf = xcalloc(pv->n, sizeof(struct pollfd));
	struct pidv again = { 0 };
	size_t nf = 0;
	int rc = 0;
	for (size_t i = 0; i < pv->n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < pv->n; i++) {
		fds[i] = (int)syscall(SYS_pidfd_open, pv->v[i], 0);
		if (fds[i] < 0 && errno == ENOSYS) {
			rc = 1;
			goto out;
		}
		if (fds[i] < 0 && (errno == EMFILE || errno == ENFILE))
			break;   /* the rest next round */
	}
	if (collect_all(cg, &again) < 0) {
		rc = -1;
	} else {
		for (size_t i = 0; i < pv->n; i++) {
			if (fds[i] < 0 || !pv_has(&again, pv->v[i]))
				continue;
			if (syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0) == 0)
				pf[nf++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		}
	}
	long long end = now_ms() + POLL_MS;
	size_t left = nf;
	while (rc == 0 && left > 0) {
		long long wait = end - now_ms();
		if (wait <= 0)
			break;
		int r = poll(pf, nf, (int)wait);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t i = 0; r > 0 && i < nf; i++)
			if (pf[i].fd >= 0 && pf[i].revents) {
				pf[i].fd = -1;   /* exited: poll ignores it from now on */
				left--;
			}
	}
	if (rc == 0 && nf == 0)
		sleep_ms(1);   /* all exiting already: do not spin */
out:
	for (size_t i = 0; i < pv->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(again.v);
	free(fds);
	free(pf);
	return rc;
}
#else
static int kill_round(const struct cgroup *cg, const struct pidv *pv)
{
	(void)cg;
	(void)pv;
	return 1;
}
#endif

/* Remove dir after the cgroups below it.  Missing is fine. */
static int rm_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		ioc_err("cannot open cgroup %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		char *sub = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (depth < CG_MAXDEPTH && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
		    rm_tree(sub, depth + 1) < 0 && rc == 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rc < 0)
		return -1;
	for (int t = 0;; t++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || t + 1 >= RMDIR_TRIES)
			break;
		sleep_ms(POLL_MS);
	}
	ioc_err("cannot remove cgroup %s: %s", dir, strerror(errno));
	return -1;
}

int cg_destroy(struct cgroup *cg)
{
	if (cg->n == 0)
		return 0;   /* no cgroups on this host: none can be left over */
	struct pidv pv = { 0 };
	bool killed = false;
	long long deadline = now_ms() + KILL_WAIT_MS;
	long nap = 1;
	int rc = 0;
	for (;;) {
		if (collect_all(cg, &pv) < 0) {
			rc = -1;
			break;
		}
		if (pv.n == 0)
			break;
		if (pv_has(&pv, getpid())) {
			ioc_err("cannot empty cgroup %s: this iocell process is in it",
				cg->dirs[0]);
			rc = -1;
			break;
		}
		if (cg->mode == CG_V2 && !killed) {
			/* Linux >= 5.14: one write kills the whole subtree, racing forks too */
			char *p = xasprintf("%s/cgroup.kill", cg->dirs[0]);
			if (cg_put(p, "1") < 0) {
				/* older kernel: the pidfd rounds below do it alone */
			}
			free(p);
			killed = true;
		}
		if (now_ms() >= deadline) {
			ioc_err("cannot empty cgroup %s: %zu process%s still there after SIGKILL "
				"(pid %d)", cg->dirs[0], pv.n, pv.n == 1 ? "" : "es", (int)pv.v[0]);
			ioc_hint("a process in uninterruptible sleep (state D) dies only when its "
				 "I/O completes; try again later");
			rc = -1;
			break;
		}
		int r = kill_round(cg, &pv);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r > 0) {
			/* no pidfds (Linux < 5.3): plain kill of what was listed */
			for (size_t i = 0; i < pv.n; i++)
				kill(pv.v[i], SIGKILL);
			sleep_ms(nap);
			nap = nap * 2 > POLL_MS ? POLL_MS : nap * 2;
		}
	}
	free(pv.v);
	if (rc < 0)
		return -1;
	/* Remove what can be removed; the first failure is the message. */
	struct ioc_errsave first = {0};
	for (size_t i = 0; i < cg->n; i++)
		if (rm_tree(cg->dirs[i], 0) < 0 && !first.msg)
			ioc_err_save(&first);
	if (!first.msg)
		return 0;
	ioc_err_restore(&first);
	return -1;
}
