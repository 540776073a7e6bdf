/* What the runtime made that no running jail owns (`iocell doctor`): see platform.h. */
#include "core/parse.h"
#include "linux/cgroup.h"
#include "linux/jailnet.h"
#include "linux/rt.h"
#include "linux/rtnl.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void count(int rc, size_t *fixed, size_t *failed)
{
	if (rc == 0) {
		(*fixed)++;
	} else {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
		(*failed)++;
	}
}

/* cgroups iocell/UUID below every hierarchy of jails that do not run */
static int cgroup_leftovers(const struct strv *known, const struct strv *running, bool fix,
			    struct strv *found, size_t *fixed, size_t *failed)
{
	const struct cg_hier *h;
	size_t nh;
	if (cg_hierarchies(false, &h, &nh) < 0 || nh == 0) {
		ioc_err_clear();
		return 0; /* no cgroups here: nothing of ours either */
	}
	_cleanup_strv_ struct strv seen = {0};
	sv_init(&seen);
	for (size_t i = 0; i < nh; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/" CG_PARENT, h[i].mnt);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)))
			if (sv_contains(known, e->d_name) && !sv_contains(running, e->d_name) &&
			    !sv_contains(&seen, e->d_name))
				sv_add(&seen, e->d_name);
		closedir(d);
	}
	for (size_t i = 0; i < seen.n; i++) {
		_cleanup_cgroup_ struct cgroup cg;
		cg_paths(&cg, seen.v[i]);
		sv_addf(found, "cgroup: iocell/%s (no running jail; %zu hierarch%s)", seen.v[i],
			cg.n, cg.n == 1 ? "y" : "ies");
		if (fix)
			count(cg_destroy(&cg), fixed, failed);
	}
	return 0;
}

/* A veth host end stop detached (jailnet.h), which the kernel removes with the jail's
 * network namespace. */
static bool detached(const struct link *l)
{
	return startswith(l->name, NET_GONE_PREFIX) && startswith(l->alias, NET_ALIAS_PREFIX);
}

/* Every link into l (cnt), after waiting up to GONE_WAIT_MS for the detached ones: the
 * kernel removes those some tens of ms after their stop (longer on a busy host); one
 * still there has its namespace held by another process. */
#define GONE_WAIT_MS 2000
static int dump_settled(struct nl *n, struct link *l, size_t max, size_t *cnt)
{
	for (long long end = now_ms() + GONE_WAIT_MS;;) {
		int e = link_dump(n, l, max, cnt);
		if (e < 0)
			return e;
		bool any = false;
		for (size_t i = 0; i < *cnt && !any; i++)
			any = detached(&l[i]);
		if (!any || now_ms() >= end)
			return 0;
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* host interfaces labelled iocell:UUID of jails that do not run, veth ends detached at a
 * stop that outlived it, empty iocell bridges */
static int link_leftovers(const struct strv *known, const struct strv *running, bool fix,
			  struct strv *found, size_t *fixed, size_t *failed)
{
	struct nl n;
	if (nl_open(&n, "") < 0)
		return -1;
	size_t max = 4096, cnt = 0;
	struct link *l = xcalloc(max, sizeof(*l));
	int e = dump_settled(&n, l, max, &cnt);
	int rc = e < 0 ? -1 : 0;
	if (rc < 0)
		ioc_err("cannot list the network interfaces: %s", nl_why(&n, e));
	for (size_t i = 0; rc == 0 && i < cnt; i++) {
		const char *alias = l[i].alias;
		bool leftover = false;
		if (detached(&l[i])) {
			leftover = true;
			sv_addf(found,
				"interface: %s (%s of jail %s, detached at its stop; something else "
				"holds the jail's network namespace)",
				l[i].name, l[i].kind[0] ? l[i].kind : "link",
				alias + strlen(NET_ALIAS_PREFIX));
		} else if (streq(alias, NET_BRIDGE_ALIAS)) {
			bool ports = false;
			for (size_t k = 0; k < cnt && !ports; k++)
				ports = l[k].master == l[i].index;
			if (!ports) {
				leftover = true;
				sv_addf(found,
					"interface: bridge %s (made by iocell, no port left)",
					l[i].name);
			}
		} else if (startswith(alias, NET_ALIAS_PREFIX)) {
			const char *u = alias + strlen(NET_ALIAS_PREFIX);
			if (sv_contains(known, u) && !sv_contains(running, u)) {
				leftover = true;
				sv_addf(found, "interface: %s (%s of jail %s, which does not run)",
					l[i].name, l[i].kind[0] ? l[i].kind : "link", u);
			}
		}
		if (leftover && fix) {
			int d = link_del(&n, l[i].index);
			if (d < 0 && d != -ENODEV)
				ioc_err("cannot remove interface %s: %s", l[i].name, nl_why(&n, d));
			count(d < 0 && d != -ENODEV ? -1 : 0, fixed, failed);
		}
	}
	free(l);
	nl_close(&n);
	return rc;
}

int plat_leftovers(const struct strv *known, const struct strv *running, bool fix,
		   struct strv *found, size_t *fixed, size_t *failed)
{
	if (cgroup_leftovers(known, running, fix, found, fixed, failed) < 0)
		return -1;
	return link_leftovers(known, running, fix, found, fixed, failed);
}
