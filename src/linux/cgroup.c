/*
 * Per-jail cgroups (where the hierarchies are: cgdetect.c; systemd's scope units:
 * cgscope.c).  On systemd hosts with cgroup v2 the jail's cgroup is the leaf of its scope
 * unit; elsewhere "iocell/UUID" below each hierarchy's mount point, the shared "iocell"
 * parent created on demand and never removed.
 */
#include "linux/cgroup.h"
#include "core/util.h"
#include "linux/rt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CG_MAXDEPTH 32    /* nested cgroups a jail may have made below its own */
#define KILL_WAIT_MS 2000 /* cg_destroy: give up when processes outlive this */
#define POLL_MS 10
#define RMDIR_TRIES 20     /* EBUSY right after the last exit: 20 x 10 ms */
#define SCOPE_WAIT_MS 1000 /* cg_destroy: systemd removing an empty scope on its own */

/* ---- small file helpers (cgroupfs wants one write(2) per value) ---- */

/* Read a small file; NULL with errno set on failure, no message recorded. */
char *cg_read(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? NULL : read_fd(fd, NULL);
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

/* dir/file's content (cg_read), NULL with errno on failure. */
char *cg_read_at(const char *dir, const char *file)
{
	char *p = xasprintf("%s/%s", dir, file);
	char *t = cg_read(p);
	int e = errno;
	free(p);
	errno = e;
	return t;
}

bool cg_exists_at(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

long long cg_read_num(const char *dir, const char *file)
{
	if (!dir)
		return -1;
	_cleanup_free_ char *t = cg_read_at(dir, file);
	if (!t)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(t, &end, 10);
	return end != t && errno == 0 ? v : -1;
}

long long cg_read_key(const char *dir, const char *file, const char *key)
{
	if (!dir)
		return -1;
	_cleanup_free_ char *t = cg_read_at(dir, file);
	if (!t)
		return -1;
	long long v = -1;
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, t, "\n", true);
	size_t kl = strlen(key);
	for (size_t i = 0; i < lines.n && v < 0; i++)
		if (strncmp(lines.v[i], key, kl) == 0 && lines.v[i][kl] == ' ')
			v = strtoll(lines.v[i] + kl + 1, NULL, 10);
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void cg_free(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i]);
		cg->dirs[i] = NULL;
	}
	cg->n = 0;
	free(cg->unit);
	free(cg->scope);
	cg->unit = cg->scope = NULL;
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
 * counts as empty: gone before the open (ENOENT), or removed between the open and the
 * read (ENODEV; systemd removes a scope's cgroup as soon as its last process is gone,
 * which is what a stop is waiting for); other failures record a message. */
static int collect(const char *dir, struct pidv *pv, int depth)
{
	char *path = xasprintf("%s/cgroup.procs", dir);
	char *text = cg_read(path);
	if (!text) {
		int e = errno;
		bool gone = e == ENOENT || e == ENODEV;
		if (!gone)
			ioc_err("cannot read %s: %s", path, strerror(e));
		free(path);
		return gone ? 0 : -1;
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
		return 0; /* gone meanwhile */
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

/* Every process in any of the jail's cgroups (all hierarchies, nested cgroups too; with
 * a scope unit, the scope's whole cgroup). */
static int collect_all(const struct cgroup *cg, struct pidv *pv)
{
	pv->n = 0;
	if (cg->scope) {
		if (collect(cg->scope, pv, 0) < 0)
			return -1;
		pv_uniq(pv);
		return 0;
	}
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
	struct pidv pv = {0};
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
	struct pidv pv = {0};
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
	static const char *const keys[] = {"cpus", "mems"};
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
		struct strv a = {0}, e = {0};
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

static int create_tree(struct cgroup *cg, const char *uuid, const struct cg_hier *hs, size_t nh);

/* The cgroup v2 path of pid ("/machine.slice/x.scope"), malloc'd, or NULL. */
static char *proc_cgroup2(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *t = cg_read(p);
	if (!t)
		return NULL;
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, t, "\n", true);
	for (size_t i = 0; i < lines.n; i++)
		if (startswith(lines.v[i], "0::/"))
			return xstrdup(lines.v[i] + 3);
	errno = ENOENT;
	return NULL;
}

/* systemd host: the scope unit with pid, its leaf, pid moved there, the controllers on.
 * -2: systemd cannot be reached (nothing made). */
static int create_scope(struct cgroup *cg, const char *mnt, const char *uuid, pid_t pid,
			const char *desc)
{
	_cleanup_free_ char *unit = cg_scope_name(uuid);
	int r = cg_scope_start(unit, CG_SLICE, desc, pid);
	if (r < 0)
		return r;
	cg->mode = CG_V2;
	cg->unit = TAKE_PTR(unit);
	/* where systemd made it (its unit-to-path mapping is not an API: ask the kernel) */
	_cleanup_free_ char *at = proc_cgroup2(pid);
	if (!at) {
		ioc_err("cannot read the cgroup of process %d: %s", (int)pid, strerror(errno));
		return -1;
	}
	const char *base = strrchr(at, '/');
	if (!base || !streq(base + 1, cg->unit)) {
		ioc_err("process %d is in cgroup %s, not in the scope unit %s", (int)pid, at,
			cg->unit);
		return -1;
	}
	cg->scope = xasprintf("%s%s", mnt, at);
	cg->dirs[cg->n++] = xasprintf("%s/" CG_LEAF, cg->scope);
	bool made;
	if (mkdir_cg(cg->dirs[0], &made) < 0 || cg_attach(cg, pid) < 0)
		return -1;
	/* the scope's cgroup holds no process now: its subtree may have the controllers */
	enable_controllers(cg->scope);
	return 0;
}

int cg_create(struct cgroup *cg, const char *uuid, pid_t pid, const char *desc)
{
	memset(cg, 0, sizeof(*cg));
	if (!cg_valid_name(uuid)) {
		ioc_err("cannot create a cgroup for \"%s\": not a valid jail id", uuid ? uuid : "");
		return -1;
	}
	const struct cg_hier *hs;
	size_t nh;
	if (cg_hierarchies(true, &hs, &nh) < 0)
		return -1;
	if (pid > 0 && nh == 1 && !hs[0].opts && cg_systemd()) {
		int r = create_scope(cg, hs[0].mnt, uuid, pid, desc);
		if (r != -2)
			return r;
		ioc_warn("%s; the jail's cgroup is %s/" CG_PARENT "/%s instead, outside systemd's "
			 "units",
			 ioc_errmsg(), hs[0].mnt, uuid);
		ioc_err_clear();
	}
	if (create_tree(cg, uuid, hs, nh) < 0)
		return -1;
	return pid > 0 ? cg_attach(cg, pid) : 0;
}

/* The "iocell/UUID" tree; on failure nothing created remains. */
static int create_tree(struct cgroup *cg, const char *uuid, const struct cg_hier *hs, size_t nh)
{
	cg_paths(cg, uuid);
	bool made[CG_MAXH] = {false}, made_parent[CG_MAXH] = {false};
	for (size_t i = 0; i < nh; i++) {
		const struct cg_hier *h = &hs[i];
		char *parent = xasprintf("%s/" CG_PARENT, h->mnt);
		if (cg->mode == CG_V2)
			enable_controllers(h->mnt);
		int r = mkdir_cg(parent, &made_parent[i]);
		if (r == 0 && cg->mode == CG_V2)
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
	for (size_t i = nh; i-- > 0;) {
		if (made[i] && rmdir(cg->dirs[i]) < 0) {
			/* nothing better to do; the first error stays the message */
		}
		if (made_parent[i]) {
			/* only if still empty: another jail may have started meanwhile */
			char *parent = xasprintf("%s/" CG_PARENT, hs[i].mnt);
			if (rmdir(parent) < 0) {
				/* in use: keep it */
			}
			free(parent);
		}
	}
	cg_free(cg);
	return -1;
}

/* pid into every directory's file (cgroup.procs, or v1 "tasks" for the calling thread). */
static int attach_with(const struct cgroup *cg, pid_t pid, const char *file, const char *val)
{
	if (cg->n == 0) {
		ioc_err("cannot move process %d into the jail's cgroup: no usable cgroups",
			(int)pid);
		return -1;
	}
	for (size_t i = 0; i < cg->n; i++) {
		char *p = xasprintf("%s/%s", cg->dirs[i], file);
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

int cg_attach(const struct cgroup *cg, pid_t pid)
{
	char val[32];
	snprintf(val, sizeof(val), "%d\n", (int)pid);
	return attach_with(cg, pid, "cgroup.procs", val);
}

int cg_attach_self(const struct cgroup *cg)
{
	if (cg->mode != CG_V1)
		return cg_attach(cg, getpid());
	return attach_with(cg, getpid(), "tasks", "0\n");
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
	struct pidv again = {0};
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
			break; /* the rest next round */
	}
	if (collect_all(cg, &again) < 0) {
		rc = -1;
	} else {
		for (size_t i = 0; i < pv->n; i++) {
			if (fds[i] < 0 || !pv_has(&again, pv->v[i]))
				continue;
			if (syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0) == 0)
				pf[nf++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
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
				pf[i].fd = -1; /* exited: poll ignores it from now on */
				left--;
			}
	}
	if (rc == 0 && nf == 0)
		sleep_ms(1); /* all exiting already: do not spin */
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

/* Has the scope's cgroup gone within ms? */
static bool scope_gone_within(const char *scope, long ms)
{
	long long end = now_ms() + ms;
	long nap = 1;
	for (;;) {
		if (access(scope, F_OK) < 0 && errno == ENOENT)
			return true;
		if (now_ms() >= end)
			return false;
		sleep_ms(nap);
		nap = nap * 2 > POLL_MS ? POLL_MS : nap * 2;
	}
}

/* The scope unit, empty now: systemd stops it and removes its cgroup when it sees it
 * empty (at once: cgroup v2 tells it); if that has not happened, StopUnit. */
static int scope_end(const struct cgroup *cg)
{
	if (cg->scope && scope_gone_within(cg->scope, SCOPE_WAIT_MS))
		return 0;
	if (cg_scope_stop(cg->unit) < 0)
		return -1;
	if (!cg->scope || scope_gone_within(cg->scope, KILL_WAIT_MS))
		return 0;
	ioc_err("the scope unit %s is still there (cgroup %s)", cg->unit, cg->scope);
	ioc_hint("see 'systemctl status %s'", cg->unit);
	return -1;
}

int cg_destroy(struct cgroup *cg)
{
	if (cg->n == 0 && !cg->unit)
		return 0; /* no cgroups on this host: none can be left over */
	struct pidv pv = {0};
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
				"(pid %d)",
				cg->dirs[0], pv.n, pv.n == 1 ? "" : "es", (int)pv.v[0]);
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
	if (cg->unit && scope_end(cg) < 0 && !first.msg)
		ioc_err_save(&first);
	if (!first.msg)
		return 0;
	ioc_err_restore(&first);
	return -1;
}
