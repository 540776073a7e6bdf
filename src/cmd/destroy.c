/* destroy: plan (datasets, snapshots, dependent clones), show it, confirm, then act.
 *
 * Only `zfs destroy -r` of whole jail datasets is used, never -R: everything destroyed is
 * in the plan that was shown, and an unexpected dependant makes zfs fail rather than
 * silently taking more.  Nothing is ever removed through the file system (no rm -r of a
 * mountpoint): the datasets go with zfs, the runtime files by name. */
#include "cmd/cmd.h"
#include "core/fsat.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALL_DEPTH 1000

/* One jail of the plan. */
struct pjail {
	char uuid[37];
	char *ds;
	char *tag;
	int lock;
	struct strv fss;   /* its filesystems, parents first */
	struct strv snaps; /* their snapshots */
	struct strv after; /* UUIDs of plan jails that must be destroyed before this one */
	bool done;
};

struct plan {
	struct pjail *v;
	size_t n;
	struct strv foreign; /* dependants that are not jails (releases, other datasets) */
	struct strv mounted; /* mounted filesystems of the plan, as listed */
	struct strv autosnaps; /* "ioc-clone-" snapshots of other jails that only this plan's
				  clones were made from: removed with them when nothing else
				  depends on them */
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		unlock_fd(p->v[i].lock);
		free(p->v[i].ds);
		free(p->v[i].tag);
		sv_free(&p->v[i].fss);
		sv_free(&p->v[i].snaps);
		sv_free(&p->v[i].after);
	}
	free(p->v);
	sv_free(&p->foreign);
	sv_free(&p->mounted);
	sv_free(&p->autosnaps);
}

static long plan_find(const struct plan *p, const char *uuid)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->v[i].uuid, uuid))
			return (long)i;
	return -1;
}

static struct pjail *plan_add(struct plan *p, const char *uuid, const char *ds, const char *tag)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	struct pjail *pj = &p->v[p->n++];
	memset(pj, 0, sizeof(*pj));
	snprintf(pj->uuid, sizeof(pj->uuid), "%s", uuid);
	pj->ds = xstrdup(ds);
	pj->tag = xstrdup(tag);
	pj->lock = -1;
	sv_init(&pj->fss);
	sv_init(&pj->snaps);
	sv_init(&pj->after);
	return pj;
}

/* The jail UUID a dataset belongs to (POOL/iocell/jails/UUID[/...]), or false. */
static bool jail_of(const char *name, const char *jails, char uuid[37])
{
	size_t jl = strlen(jails);
	if (strncmp(name, jails, jl) != 0 || name[jl] != '/')
		return false;
	const char *u = name + jl + 1;
	size_t ul = strcspn(u, "/");
	if (ul != 36)
		return false;
	snprintf(uuid, 37, "%.36s", u);
	return valid_uuid(uuid);
}

/* In plan jail `ds` (the dataset itself or below it)? */
static bool under(const char *name, const char *ds)
{
	size_t n = strlen(ds);
	return strncmp(name, ds, n) == 0 && (name[n] == '\0' || name[n] == '/' || name[n] == '@');
}

static long plan_owner(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (under(name, p->v[i].ds))
			return (long)i;
	return -1;
}

/*
 * Build the plan for jail j: one `zfs list -r -t filesystem,volume` of the whole pool
 * (name, origin, mounted, tag) finds the jail's datasets and every clone of them,
 * transitively (a clone of a clone depends on it too); one `zfs list -r -t snapshot` of
 * the plan's jails finds their snapshots.  Two zfs calls whatever the number of jails.
 */
static int plan_build(struct plan *p, const struct jail *j)
{
	memset(p, 0, sizeof(*p));
	sv_init(&p->foreign);
	sv_init(&p->mounted);
	sv_init(&p->autosnaps);
	const struct ioc_pool *pool = pool_get();
	if (!pool)
		return -1;
	char *jails = ds_jails();
	const char *dss[] = {pool->name, NULL};
	struct ztable t;
	if (zfs_list(&t, "name,origin,mounted,iocell:tag", dss, ALL_DEPTH, "filesystem,volume",
		     NULL) < 0) {
		free(jails);
		return -1;
	}
	plan_add(p, j->uuid, j->ds, jail_prop(j, P_TAG));
	/* Grow the plan until no listed dataset outside it is a clone of a snapshot inside. */
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < t.nrows; i++) {
			struct strv *r = &t.rows[i];
			if (r->n < 4 || streq(r->v[1], "-") || plan_owner(p, r->v[0]) >= 0)
				continue;
			long dep_on = plan_owner(p, r->v[1]);
			if (dep_on < 0)
				continue;
			char uuid[37];
			if (!jail_of(r->v[0], jails, uuid)) {
				char *d = xasprintf("%s (a clone of %s)", r->v[0], r->v[1]);
				if (!sv_contains(&p->foreign, d))
					sv_add(&p->foreign, d);
				free(d);
				continue;
			}
			long k = plan_find(p, uuid);
			if (k < 0) {
				char *ds = xasprintf("%s/%s", jails, uuid);
				plan_add(p, uuid, ds, r->v[3]);
				free(ds);
				k = (long)p->n - 1;
				grew = true;
			}
			/* Jail k must go before the jail it depends on. */
			if (!sv_contains(&p->v[dep_on].after, p->v[k].uuid))
				sv_add(&p->v[dep_on].after, p->v[k].uuid);
		}
	}
	/* Each plan jail's datasets and mounts; and dependencies between plan jails found
	 * through another route (a jail with datasets cloned from two jails of the plan). */
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n < 4)
			continue;
		long own = plan_owner(p, r->v[0]);
		if (own < 0)
			continue;
		sv_add(&p->v[own].fss, r->v[0]);
		if (streq(r->v[2], "yes"))
			sv_add(&p->mounted, r->v[0]);
		/* The automatic snapshot `clone` took of another jail for this one. */
		const char *at = strchr(r->v[1], '@');
		if (at && startswith(at + 1, "ioc-clone-") && plan_owner(p, r->v[1]) < 0) {
			char *snap_top = xstrndup(r->v[1], (size_t)(at - r->v[1]));
			char uuid2[37];
			if (jail_of(snap_top, jails, uuid2)) {
				char *top = xasprintf("%s/%s%s", jails, uuid2, at);
				if (!sv_contains(&p->autosnaps, top))
					sv_add(&p->autosnaps, top);
				free(top);
			}
			free(snap_top);
		}
		long dep_on = streq(r->v[1], "-") ? -1 : plan_owner(p, r->v[1]);
		if (dep_on >= 0 && dep_on != own && !sv_contains(&p->v[dep_on].after, p->v[own].uuid))
			sv_add(&p->v[dep_on].after, p->v[own].uuid);
	}
	ztable_free(&t);
	free(jails);

	struct strv tops;
	sv_init(&tops);
	for (size_t i = 0; i < p->n; i++)
		sv_add(&tops, p->v[i].ds);
	struct ztable s;
	int rc = zfs_list(&s, "name", (const char *const *)tops.v, ALL_DEPTH, "snapshot", "createtxg");
	sv_free(&tops);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < s.nrows; i++) {
		long own = s.rows[i].n ? plan_owner(p, s.rows[i].v[0]) : -1;
		if (own >= 0)
			sv_add(&p->v[own].snaps, s.rows[i].v[0]);
	}
	ztable_free(&s);
	return 0;
}

static void plan_print_jail(const struct pjail *pj, const char *role)
{
	printf("%s %s (%s):\n", role, pj->uuid, pj->tag);
	for (size_t i = 0; i < pj->fss.n; i++)
		printf("  dataset   %s\n", pj->fss.v[i]);
	for (size_t i = 0; i < pj->snaps.n; i++)
		printf("  snapshot  %s\n", pj->snaps.v[i]);
}

static char *dependants_str(const struct plan *p)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 1; i < p->n; i++)
		sb_printf(&b, "%sjail %s (%s)", b.len ? ", " : "", p->v[i].uuid, p->v[i].tag);
	for (size_t i = 0; i < p->foreign.n; i++)
		sb_printf(&b, "%s%s", b.len ? ", " : "", p->foreign.v[i]);
	return sb_steal(&b);
}

static void refuse_running(const char *uuid, const char *tag)
{
	ioc_err("cannot destroy jail %s (%s): it is running", uuid, tag);
	ioc_hint("stop it first ('iocell stop %s'), or use destroy -f to stop it", tag);
}

/* A running jail is stopped first with -f and refused without it; the runtime state a
 * crashed or half-started jail left behind (cgroup, JID, state file) is cleaned up the
 * way `iocell stop` does.  The caller holds the jail's lock. */
static int stop_if_running(const char *uuid, const char *tag, bool force)
{
	struct runstate rs;
	int r = rs_read(uuid, &rs);
	if (r <= 0) {
		rs_free(&rs);
		return r;
	}
	bool running = rs_alive(&rs);
	int rc = 0;
	if (running && !force) {
		refuse_running(uuid, tag);
		rc = -1;
	} else if (plat_stop(&rs, false) < 0) {
		ioc_err_ctx("cannot stop jail %s (%s)", uuid, tag);
		rc = -1;
	} else if (running) {
		printf("%s (%s) stopped\n", uuid, tag);
	}
	rs_free(&rs);
	return rc;
}

/* The jail's runtime state (UUID, UUID.*, UUID-* in the runtime dir; its lock file
 * stays, another iocell may be waiting on it) and its console log. */
static void remove_runtime_files(const char *uuid)
{
	int fd = open(rundir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		DIR *d = fstat(fd, &st) == 0 ? fdopendir(fd) : NULL;
		if (d) {
			struct strv names;
			sv_init(&names);
			struct dirent *e;
			size_t ul = strlen(uuid);
			while ((e = readdir(d))) {
				const char *n = e->d_name;
				if (strncmp(n, uuid, ul) != 0 || (n[ul] && n[ul] != '.' && n[ul] != '-'))
					continue;
				if (streq(n + ul, ".lock"))
					continue;
				sv_add(&names, n);
			}
			for (size_t i = 0; i < names.n; i++)
				if (remove_tree_at(dirfd(d), names.v[i], NULL) < 0)
					ioc_warn("cannot remove runtime file %s/%s: %s", rundir(),
						 names.v[i], strerror(errno));
			sv_free(&names);
			closedir(d);
		} else {
			close(fd);
		}
	}
	char *rel = xasprintf("log/%s-console.log", uuid);
	char *log = path_in_root(rel);
	if (unlink(log) < 0 && errno != ENOENT)
		ioc_warn("cannot remove %s: %s", log, strerror(errno));
	free(log);
	free(rel);
}

/* Unmount the plan's mounted file systems, deepest first; on failure remount what was
 * unmounted and fail (nothing destroyed yet). */
static int unmount_all(const struct plan *p)
{
	struct strv m;
	sv_init(&m);
	for (size_t i = 0; i < p->mounted.n; i++)
		sv_add(&m, p->mounted.v[i]);
	sv_sort(&m);
	int rc = 0;
	size_t i = m.n;
	while (i-- > 0) {
		if (zfs_unmount(m.v[i]) < 0) {
			struct ioc_errsave keep;
			ioc_err_save(&keep);
			for (size_t k = i + 1; k < m.n; k++)
				if (zfs_mount(m.v[k]) < 0)
					ioc_warn("could not mount %s again: %s", m.v[k], ioc_errmsg());
			ioc_err_restore(&keep);
			ioc_hint("is a process using a file in it, or something mounted in it?");
			rc = -1;
			break;
		}
	}
	sv_free(&m);
	return rc;
}

/* Remove the empty mountpoint directories zfs may leave behind (rmdir only: never
 * anything with content, never through a mount). */
static void remove_mountpoint_dirs(const struct pjail *pj, const char *jailpath)
{
	if (!jailpath || jailpath[0] != '/')
		return;
	size_t i = pj->fss.n;
	while (i-- > 0) {
		const char *rel = pj->fss.v[i] + strlen(pj->ds);
		char *dir = xasprintf("%s%s", jailpath, rel);
		rmdir(dir);
		free(dir);
	}
}

/* After a failed destroy: mount again what is left of the plan (parents first). */
static void remount_rest(const struct plan *p)
{
	struct strv m;
	sv_init(&m);
	for (size_t i = 0; i < p->mounted.n; i++) {
		long o = plan_owner(p, p->mounted.v[i]);
		if (o >= 0 && !p->v[o].done)
			sv_add(&m, p->mounted.v[i]);
	}
	sv_sort(&m);
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t i = 0; i < m.n; i++)
		if (zfs_mount(m.v[i]) < 0)
			ioc_warn("could not mount %s again: %s", m.v[i], ioc_errmsg());
	ioc_err_restore(&keep);
	sv_free(&m);
}

/* Destroy the jails of the plan, each after the jails that depend on it. */
static int plan_execute(struct plan *p, const char *jailsmp)
{
	for (size_t left = p->n; left > 0; left--) {
		struct pjail *pick = NULL;
		for (size_t i = 0; i < p->n && !pick; i++) {
			struct pjail *pj = &p->v[i];
			if (pj->done)
				continue;
			bool ready = true;
			for (size_t k = 0; k < pj->after.n && ready; k++) {
				long o = plan_find(p, pj->after.v[k]);
				ready = o < 0 || p->v[o].done;
			}
			if (ready)
				pick = pj;
		}
		if (!pick) {
			ioc_err("cannot order the destruction: the jails' clones depend on each other");
			return -1;
		}
		if (zfs_destroy(pick->ds, "-r") < 0) {
			ioc_err_ctx("destroy of jail %s (%s) failed", pick->uuid, pick->tag);
			return -1;
		}
		pick->done = true;
		index_drop(pick->uuid);
		remove_runtime_files(pick->uuid);
		char *path = jailsmp ? xasprintf("%s/%s", jailsmp, pick->uuid) : NULL;
		remove_mountpoint_dirs(pick, path);
		free(path);
		printf("Destroyed: %s (%s)\n", pick->uuid, pick->tag);
		fflush(stdout);
	}
	/* Snapshots taken only to make these clones: gone with them unless other clones
	 * still depend on them (then zfs refuses and they stay). */
	for (size_t i = 0; i < p->autosnaps.n; i++) {
		if (zfs_destroy(p->autosnaps.v[i], "-r") < 0) {
			if (zfs_lasterr != ZE_CLONES && zfs_lasterr != ZE_NOENT)
				ioc_warn("%s", ioc_errmsg());
			ioc_err_clear();
		}
	}
	return 0;
}

int cmd_destroy(int argc, char **argv)
{
	int c;
	bool force = false, recurse = false, yes = false;
	while ((c = cmd_getopt("destroy", argc, argv, "fRy")) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'R': recurse = true; break;
		case 'y': yes = true; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_err("destroy", "expected one NAME");
	const char *name = argv[optind];
	if (streq(name, "ALL") || streq(name, "default"))
		return usage_err("destroy", "destroy takes one jail, not %s", name);
	int rc = CMD_ERR, lk = -1;
	struct jail *j = NULL;
	struct plan p = {0};
	bool planned = false;
	char *jailsmp = NULL;
	int gl = lock_global();
	if (gl < 0)
		goto out;
	if (!(j = jail_resolve(name)))
		goto out;
	if ((lk = lock_jail(j->uuid, true)) < 0)
		goto out;
	if (jail_running(j->uuid) && !force) {
		refuse_running(j->uuid, jail_prop(j, P_TAG));
		goto out;
	}
	planned = true;
	if (plan_build(&p, j) < 0)
		goto out;
	if (p.foreign.n || (p.n > 1 && !recurse)) {
		char *deps = dependants_str(&p);
		ioc_err("cannot destroy jail %s (%s): clones depend on it: %s", j->uuid,
			jail_prop(j, P_TAG), deps);
		if (p.foreign.n)
			ioc_hint("a dataset that is not a jail depends on this jail (after a promote?): "
				 "promote that dataset with 'zfs promote' first; iocell destroys only jails");
		else
			ioc_hint("destroy them first, make them independent ('iocell promote NAME'), or "
				 "use 'iocell destroy -R %s' to destroy them too", jail_prop(j, P_TAG));
		free(deps);
		goto out;
	}
	/* Lock the dependants too, and refuse running ones (stopped with -f). */
	for (size_t i = 1; i < p.n; i++) {
		if ((p.v[i].lock = lock_jail(p.v[i].uuid, true)) < 0)
			goto out;
		if (jail_running(p.v[i].uuid) && !force) {
			refuse_running(p.v[i].uuid, p.v[i].tag);
			goto out;
		}
	}
	plan_print_jail(&p.v[0], "Jail");
	for (size_t i = 1; i < p.n; i++)
		plan_print_jail(&p.v[i], "Dependent clone: jail");
	printf("All of it will be destroyed.\n");
	if (!yes && !confirm_capital_y("Are you sure ? Y[n]: ")) {
		ioc_err("destroy cancelled; nothing was destroyed");
		goto out;
	}
	fflush(stdout);
	for (size_t i = 0; i < p.n; i++)
		if (stop_if_running(p.v[i].uuid, p.v[i].tag, force) < 0)
			goto out;
	if (unmount_all(&p) < 0) {
		ioc_err_ctx("nothing was destroyed");
		goto out;
	}
	/* The jails' mountpoints hang under the jails dataset's mountpoint (unless changed). */
	const char *jp = j->path ? strrchr(j->path, '/') : NULL;
	if (jp && streq(jp + 1, j->uuid))
		jailsmp = xstrndup(j->path, (size_t)(jp - j->path));
	if (plan_execute(&p, jailsmp) < 0) {
		remount_rest(&p);
		goto out;
	}
	rc = CMD_OK;
out:
	free(jailsmp);
	if (planned)
		plan_free(&p);
	unlock_fd(lk);
	unlock_fd(gl);
	jail_free(j);
	return rc;
}
