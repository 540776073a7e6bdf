/* cap, uncap, limits, inuse of a running jail (SPEC §7): platform.h over jaillimits.h. */
#include "linux/jaillimits.h"
#include "linux/rt.h"
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jail_cgroup(const struct runstate *rs, struct cgroup *cg)
{
	cg_of_state(cg, rs);
	if (cg->n == 0) {
		ioc_err("jail %s has no cgroup (no usable cgroups on this host)", rs->uuid);
		cg_free(cg);
		return -1;
	}
	return 0;
}

static void warn_stuck(int stuck, const char *then)
{
	if (stuck)
		ioc_warn(
			"%d rlimit(s) of running processes stay at a lowered hard limit: raising it "
			"needs CAP_SYS_RESOURCE, which iocell lacks here; %s",
			stuck, then);
}

int plat_cap(struct runstate *rs, const struct jail *j)
{
	_cleanup_jailconf_ struct jailconf now = {0}, was = {0};
	_cleanup_cgroup_ struct cgroup cg = {0};
	if (jailconf_from_jail(&now, j) < 0 || jailconf_from_state(&was, rs) < 0 ||
	    jail_cgroup(rs, &cg) < 0)
		return -1;
	int stuck = 0;
	if (lim_cg_apply(&cg, &now.lim, rs->uuid, false) < 0 ||
	    lim_rlimits_pids(&cg, &now.lim, &was.lim, &stuck) < 0)
		return -1;
	static const enum lim_id at_start[] = {LIM_PSEUDOTERMINALS, LIM_WALLCLOCK};
	for (size_t i = 0; i < sizeof(at_start) / sizeof(at_start[0]); i++) {
		const char *w = was.lim_text[at_start[i]], *n = now.lim_text[at_start[i]];
		if (!streq(w, n))
			ioc_warn("%s=%s takes effect at the next start (now %s)",
				 lim_name(at_start[i]), n, w);
	}
	warn_stuck(stuck, "restart the jail to raise them");
	/* exec and console apply the new values */
	jailconf_take_limits(&was, &now);
	jailconf_to_state(&was, rs);
	return rs_write(rs);
}

int plat_uncap(struct runstate *rs)
{
	_cleanup_jailconf_ struct jailconf c = {0};
	_cleanup_cgroup_ struct cgroup cg = {0};
	static const struct limits none;
	int stuck = 0;
	if (jailconf_from_state(&c, rs) < 0 || jail_cgroup(rs, &cg) < 0 || lim_cg_remove(&cg) < 0 ||
	    lim_rlimits_pids(&cg, &none, &c.lim, &stuck) < 0)
		return -1;
	warn_stuck(stuck, "processes started from now on get none; restart the jail to lift them");
	jailconf_drop_limits(&c);
	jailconf_to_state(&c, rs);
	return rs_write(rs);
}

int plat_limits(const struct runstate *rs, struct plat_limit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	_cleanup_cgroup_ struct cgroup cg = {0};
	_cleanup_jailconf_ struct jailconf c = {0};
	if (jail_cgroup(rs, &cg) < 0 || jailconf_from_state(&c, rs) < 0)
		return -1;
	lim_check_log(rs->uuid, &cg, &c.lim, c.log);
	pid_t init = (pid_t)rs_num(rs, RS_PID, 0);
	struct plat_limit *v = xcalloc(LIM_N + 1, sizeof(*v));
	v[0] = (struct plat_limit){.name = prop_name(P_CPUSET),
				   .value = xstrdup(c.cpuset_text),
				   .in_force = lim_cpuset_in_force(&cg),
				   .crossings = "-",
				   .set = true};
	for (int i = 0; i < LIM_N; i++) {
		struct plat_limit *r = &v[i + 1];
		const struct limit_val *l = &c.lim.v[i];
		r->name = lim_name((enum lim_id)i);
		r->value = c.lim.on ? xstrdup(c.lim_text[i])
				    : xasprintf("%s (rlimits=off)", c.lim_text[i]);
		r->in_force = lim_in_force(&cg, (enum lim_id)i, init);
		if (l->action == LA_LOG)
			snprintf(r->crossings, sizeof(r->crossings), "%lld",
				 lim_crossings(rs->uuid, (enum lim_id)i));
		else
			snprintf(r->crossings, sizeof(r->crossings), "-");
		r->set = c.lim.on && l->action;
	}
	*out = v;
	*n = LIM_N + 1;
	return 0;
}

void plat_limits_free(struct plat_limit *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].value);
		free(v[i].in_force);
	}
	free(v);
}

int plat_usage(const struct runstate *rs, struct plat_usage *u)
{
	_cleanup_cgroup_ struct cgroup cg = {0};
	if (jail_cgroup(rs, &cg) < 0)
		return -1;
	_cleanup_jailconf_ struct jailconf c = {0};
	if (jailconf_from_state(&c, rs) == 0)
		lim_check_log(rs->uuid, &cg, &c.lim, c.log);
	ioc_err_clear();
	return lim_usage(&cg, u);
}
