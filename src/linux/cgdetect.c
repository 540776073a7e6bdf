/*
 * Where the cgroups are: cgroup v2 when /sys/fs/cgroup is itself a cgroup2 mount;
 * otherwise every cgroup v1 hierarchy that carries controllers (hybrid hosts too: their
 * unified hierarchy holds only what v1 does not, e.g. hugetlb, so the limits live in v1
 * there).  Detected once per process from /proc/self/mountinfo.
 */
#include "linux/cgroup.h"
#include "core/runstate.h"
#include "core/util.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#define CG_ROOT "/sys/fs/cgroup"

/* The detection result, once per process. */
static struct {
	bool done;
	enum cg_mode mode;
	size_t n;
	struct cg_hier h[CG_MAXH];
} det;

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
	static const char *const flags[] = {"rw",           "ro",
					    "noprefix",     "clone_children",
					    "xattr",        "cpuset_v2_mode",
					    "favordynmods", "none",
					    "all",          NULL};
	struct strv o = {0};
	split(&o, opts, ",", true);
	size_t n = 0;
	*ctl = 0;
	*noprefix = false;
	for (size_t i = 0; i < o.n; i++) {
		const char *c = o.v[i];
		bool flag = strchr(c, '=') != NULL; /* name=systemd, release_agent=... */
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
static void add_v1(const char *dev, const char *root, const char *mnt, unsigned ctl, bool noprefix,
		   const char *opts)
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
	det.h[at] = (struct cg_hier){xstrdup(mnt), xstrdup(dev), ctl,
				     noprefix,     rootmnt,      xstrdup(opts)};
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
	struct strv lines = {0};
	split(&lines, text, "\n", true);
	free(text);
	for (size_t l = 0; l < lines.n; l++) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		struct strv f = {0};
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
		det.h[0] = (struct cg_hier){
			.mnt = xstrdup(CG_ROOT), .dev = xstrdup(""), .rootmnt = true};
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
		det.h[0] = (struct cg_hier){.mnt = v2, .dev = xstrdup(""), .rootmnt = true};
		det.n = 1;
		det.done = true;
		return 0;
	} else if (report) {
		ioc_err("no usable cgroups: %s is not cgroup2 and /proc/self/mountinfo lists no "
			"cgroup v1 controller",
			CG_ROOT);
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

bool cg_is_v1(void) { return detect(false) == 0 && det.mode == CG_V1; }

const char *cg_mode_name(enum cg_mode m) { return m == CG_V2 ? "cgroup2" : "cgroup-v1"; }

int cg_hierarchies(bool report, const struct cg_hier **h, size_t *n)
{
	if (detect(report) < 0)
		return -1;
	*h = det.h;
	*n = det.n;
	return 0;
}

/* ---- paths ---- */

/* A jail id is one path component: no slash, not "." or "..", nothing hidden. */
bool cg_valid_name(const char *uuid)
{
	return uuid && *uuid && uuid[0] != '.' && !strchr(uuid, '/') && strlen(uuid) < 256;
}

void cg_paths(struct cgroup *cg, const char *uuid)
{
	memset(cg, 0, sizeof(*cg));
	if (!cg_valid_name(uuid) || detect(false) < 0)
		return;
	cg->mode = det.mode;
	for (size_t i = 0; i < det.n; i++)
		cg->dirs[cg->n++] = xasprintf("%s/" CG_PARENT "/%s", det.h[i].mnt, uuid);
}

void cg_of_state(struct cgroup *cg, const struct runstate *rs)
{
	const char *path = rs_get(rs, RS_CGPATH);
	if (!path) {
		if (rs_get(rs, RS_CGROUP))
			cg_paths(cg, rs->uuid);
		else
			memset(cg, 0, sizeof(*cg));
		return;
	}
	memset(cg, 0, sizeof(*cg));
	/* recorded by cg_to_state: absolute below the cgroup2 mount, no ".." */
	if (path[0] != '/' || strstr(path, "/..") || detect(false) < 0 || det.mode != CG_V2)
		return;
	cg->mode = CG_V2;
	cg->dirs[cg->n++] = xasprintf("%s%s", det.h[0].mnt, path);
	const char *unit = rs_get(rs, RS_CGUNIT);
	if (unit && *unit && !strchr(unit, '/')) {
		cg->unit = xstrdup(unit);
		const char *slash = strrchr(cg->dirs[0], '/');
		cg->scope = xstrndup(cg->dirs[0], (size_t)(slash - cg->dirs[0]));
	}
}

void cg_to_state(const struct cgroup *cg, struct runstate *st)
{
	rs_set(st, RS_CGROUP, cg_mode_name(cg->mode));
	if (!cg->unit || cg->n == 0 || detect(false) < 0)
		return;
	size_t ml = strlen(det.h[0].mnt);
	if (strncmp(cg->dirs[0], det.h[0].mnt, ml) == 0) {
		rs_set(st, RS_CGPATH, cg->dirs[0] + ml);
		rs_set(st, RS_CGUNIT, cg->unit);
	}
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
		struct strv o = {0};
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
