/* cap, uncap, limits, inuse (SPEC §7): resource limits of running jails. */
#include "cmd/cmd.h"
#include "core/lock.h"
#include "core/runstate.h"
#include "linux/cgroup.h"
#include "linux/jaillimits.h"
#include "linux/runtime.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *get_jail(const void *j, const char *k) { return jail_prop_named(j, k); }
static const char *get_rs(const void *rs, const char *k) { return rs_get(rs, k); }

/* The running jail NAME, locked: 0 with rs filled (re-read under the lock). */
static int running_locked(const char *name, struct runstate *rs, int *lk)
{
	char uuid[37];
	int r = rt_lookup(name, rs, uuid);
	rs_free(rs);
	if (r < 0)
		return -1;
	if (r == 0) {
		ioc_err("jail %s is not running", name);
		ioc_hint("limits are applied at start; start it with 'iocell start %s'", name);
		return -1;
	}
	*lk = lock_jail(uuid, true);
	if (*lk < 0)
		return -1;
	r = rs_read(uuid, rs);
	if (r <= 0 || !rs_alive(rs) || !streq(rs_get(rs, "phase"), "running")) {
		if (r >= 0)
			ioc_err("jail %s is not running", name);
		rs_free(rs);
		unlock_fd(*lk);
		return -1;
	}
	return 0;
}

static int jail_cgroup(const struct runstate *rs, struct cgroup *cg)
{
	cg_paths(cg, rs->uuid);
	if (cg->n == 0 || !rs_get(rs, "cgroup")) {
		ioc_err("jail %s has no cgroup (no usable cgroups on this host)", rs->uuid);
		cg_free(cg);
		return -1;
	}
	return 0;
}

int cmd_cap(int argc, char **argv)
{
	int opt = cmd_flag("cap", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("cap", "expected one NAME");
	struct runstate rs;
	int lk;
	if (running_locked(argv[optind], &rs, &lk) < 0)
		return CMD_ERR;
	int rc = CMD_ERR;
	struct cgroup cg = {0};
	struct limits l;
	struct jail *j = jail_load(rs.uuid);   /* one zfs call for every property */
	struct limits prev;
	if (!j || lim_load(&l, get_jail, j) < 0 || lim_load(&prev, get_rs, &rs) < 0 ||
	    jail_cgroup(&rs, &cg) < 0)
		goto out;
	if (lim_cg_apply(&cg, &l, rs.uuid, false) < 0)
		goto out;
	int stuck = 0;
	if (lim_rlimits_pids(&cg, &l, &prev, &stuck) < 0)
		goto out;
	/* What changes only at start. */
	static const char *const at_start[] = {"pseudoterminals", "wallclock"};
	for (size_t i = 0; i < 2; i++) {
		const char *was = rs_get(&rs, at_start[i]);
		if (was && !streq(was, jail_prop_named(j, at_start[i])))
			ioc_warn("%s=%s takes effect at the next start (now %s)", at_start[i],
				 jail_prop_named(j, at_start[i]), was);
	}
	if (stuck)
		ioc_warn("%d rlimit(s) of running processes stay at a lowered hard limit: raising it "
			 "needs CAP_SYS_RESOURCE, which iocell lacks here; restart the jail to raise "
			 "them", stuck);
	lim_to_state(&rs, get_jail, j);   /* exec and console apply the new values */
	if (rs_write(&rs) < 0)
		goto out;
	printf("%s (%s): limits applied\n", rs.uuid, rs_get(&rs, "tag") ? rs_get(&rs, "tag") : "");
	rc = CMD_OK;
out:
	jail_free(j);
	cg_free(&cg);
	rs_free(&rs);
	unlock_fd(lk);
	return rc;
}

int cmd_uncap(int argc, char **argv)
{
	int opt = cmd_flag("uncap", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("uncap", "expected one NAME");
	struct runstate rs;
	int lk;
	if (running_locked(argv[optind], &rs, &lk) < 0)
		return CMD_ERR;
	int rc = CMD_ERR;
	struct cgroup cg = {0};
	struct limits none, prev;
	memset(&none, 0, sizeof(none));
	int stuck = 0;
	if (lim_load(&prev, get_rs, &rs) < 0 || jail_cgroup(&rs, &cg) < 0 || lim_cg_remove(&cg) < 0 ||
	    lim_rlimits_pids(&cg, &none, &prev, &stuck) < 0)
		goto out;
	if (stuck)
		ioc_warn("%d rlimit(s) of running processes stay at a lowered hard limit: raising it "
			 "needs CAP_SYS_RESOURCE, which iocell lacks here; processes started from now "
			 "on get none; restart the jail to lift them", stuck);
	rs_set(&rs, "rlimits", "off");
	rs_set(&rs, "cpuset", "off");
	if (rs_write(&rs) < 0)
		goto out;
	printf("%s (%s): limits removed\n", rs.uuid, rs_get(&rs, "tag") ? rs_get(&rs, "tag") : "");
	rc = CMD_OK;
out:
	cg_free(&cg);
	rs_free(&rs);
	unlock_fd(lk);
	return rc;
}

/* Running jails' states, ordered by JID. */
static int running_states(struct runstate **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct strv ids;
	if (rs_list(&ids) < 0)
		return -1;
	struct runstate *v = xcalloc(ids.n ? ids.n : 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < ids.n; i++) {
		if (rs_read(ids.v[i], &v[k]) == 1 && rs_alive(&v[k]) &&
		    streq(rs_get(&v[k], "phase"), "running")) {
			size_t at = k++;
			while (at > 0 && rs_num(&v[at - 1], "jid", 0) > rs_num(&v[at], "jid", 0)) {
				struct runstate t = v[at - 1];
				v[at - 1] = v[at];
				v[at] = t;
				at--;
			}
		} else {
			rs_free(&v[k]);
		}
	}
	sv_free(&ids);
	*out = v;
	*n = k;
	return 0;
}

static void free_states(struct runstate *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rs_free(&v[i]);
	free(v);
}

/* Rows of one jail for `limits`.  all: only what is set (plus the cpuset). */
static int limit_rows(struct table *t, const struct runstate *rs, const char *tag, bool all)
{
	struct cgroup cg;
	struct limits l;
	if (jail_cgroup(rs, &cg) < 0)
		return -1;
	if (lim_load(&l, get_rs, rs) < 0) {
		cg_free(&cg);
		return -1;
	}
	lim_check_log(rs->uuid, &cg, &l, rs_get(rs, "log"));
	pid_t init = (pid_t)rs_num(rs, "pid", 0);
	const char *cs = rs_get(rs, "cpuset") ? rs_get(rs, "cpuset") : "off";
	char *csf = lim_cpuset_in_force(&cg);
	if (all) {
		const char *row[] = {tag, "cpuset", cs, csf, "-"};
		table_add(t, row);
	} else {
		const char *row[] = {"cpuset", cs, csf, "-"};
		table_add(t, row);
	}
	free(csf);
	bool on = l.on;
	for (int i = 0; i < LIM_N; i++) {
		const char *pv = rs_get(rs, lim_names[i]);
		if (!pv)
			pv = "off";
		if (all && (!on || !l.v[i].action))
			continue;
		char *prop = on ? xstrdup(pv) : xasprintf("%s (rlimits=off)", pv);
		char *force = lim_in_force(&cg, (enum lim_id)i, init);
		char cross[32] = "-";
		if (l.v[i].action == LA_LOG)
			snprintf(cross, sizeof(cross), "%lld", lim_crossings(rs->uuid, (enum lim_id)i));
		if (all) {
			const char *row[] = {tag, lim_names[i], prop, force, cross};
			table_add(t, row);
		} else {
			const char *row[] = {lim_names[i], prop, force, cross};
			table_add(t, row);
		}
		free(prop);
		free(force);
	}
	cg_free(&cg);
	return 0;
}

int cmd_limits(int argc, char **argv)
{
	bool script = false;
	int opt = cmd_flag("limits", argc, argv, 'H', &script);
	if (opt >= 0)
		return opt;
	if (argc - optind > 1)
		return usage_err("limits", "expected at most one NAME");
	struct table t;
	int rc = CMD_OK;
	if (argc - optind == 1) {
		const char *name = argv[optind];
		static const char *const head[] = {"LIMIT", "PROPERTY", "IN FORCE", "CROSSINGS", NULL};
		struct runstate rs;
		char uuid[37];
		int r = rt_lookup(name, &rs, uuid);
		if (r < 0) {
			rs_free(&rs);
			return CMD_ERR;
		}
		table_init(&t, head);
		if (r == 0) {
			/* Not running: the configured values only. */
			struct jail *j = jail_resolve(name);
			if (!j) {
				rs_free(&rs);
				table_free(&t);
				return CMD_ERR;
			}
			bool on = streq(jail_prop(j, P_RLIMITS), "on");
			const char *row0[] = {"cpuset", jail_prop(j, P_CPUSET), "(not running)", "-"};
			table_add(&t, row0);
			for (int i = 0; i < LIM_N; i++) {
				char *prop = on ? xstrdup(jail_prop_named(j, lim_names[i]))
						: xasprintf("%s (rlimits=off)", jail_prop_named(j, lim_names[i]));
				const char *row[] = {lim_names[i], prop, "(not running)", "-"};
				table_add(&t, row);
				free(prop);
			}
			jail_free(j);
		} else if (limit_rows(&t, &rs, rs_get(&rs, "tag") ? rs_get(&rs, "tag") : uuid, false) < 0) {
			rc = CMD_ERR;
		}
		rs_free(&rs);
	} else {
		static const char *const head[] = {"JAIL", "LIMIT", "PROPERTY", "IN FORCE", "CROSSINGS",
			NULL};
		table_init(&t, head);
		struct runstate *v;
		size_t n;
		if (running_states(&v, &n) < 0) {
			table_free(&t);
			return CMD_ERR;
		}
		for (size_t i = 0; i < n; i++) {
			const char *tag = rs_get(&v[i], "tag") ? rs_get(&v[i], "tag") : v[i].uuid;
			if (limit_rows(&t, &v[i], tag, true) < 0) {
				ioc_warn("%s", ioc_errmsg());
				ioc_err_clear();
			}
		}
		free_states(v, n);
	}
	if (rc == CMD_OK)
		table_print(&t, script);
	table_free(&t);
	return rc;
}

/* Human or raw (script) cell values. */
static char *cell_bytes(long long v, bool raw)
{
	if (v < 0)
		return xstrdup("-");
	if (raw)
		return xasprintf("%lld", v);
	char b[32];
	fmt_size((uint64_t)v, b, sizeof(b));
	return xstrdup(b);
}

static char *cell_num(long long v)
{
	return v < 0 ? xstrdup("-") : xasprintf("%lld", v);
}

static char *cell_cpu(long long us, bool raw)
{
	if (us < 0)
		return xstrdup("-");
	return raw ? xasprintf("%lld.%06lld", us / 1000000, us % 1000000)
		   : xasprintf("%lld.%02llds", us / 1000000, (us % 1000000) / 10000);
}

enum { U_MEM, U_SWAP, U_CPU, U_PROCS, U_THREADS, U_FILES, U_RB, U_WB, U_RIO, U_WIO, U_N };
static const char *const u_names[U_N] = {"memory", "swap", "cputime", "processes", "threads",
	"openfiles", "readbytes", "writebytes", "readops", "writeops"};

static void usage_cells(const struct lim_usage *u, bool raw, char *cells[U_N])
{
	cells[U_MEM] = cell_bytes(u->mem, raw);
	cells[U_SWAP] = cell_bytes(u->swap, raw);
	cells[U_CPU] = cell_cpu(u->cpu_us, raw);
	cells[U_PROCS] = cell_num(u->procs);
	cells[U_THREADS] = cell_num(u->threads);
	cells[U_FILES] = cell_num(u->openfiles);
	cells[U_RB] = cell_bytes(u->rbytes, raw);
	cells[U_WB] = cell_bytes(u->wbytes, raw);
	cells[U_RIO] = cell_num(u->rios);
	cells[U_WIO] = cell_num(u->wios);
}

/* Usage of one running jail (and a check of its log limits). */
static int jail_usage(const struct runstate *rs, struct lim_usage *u)
{
	struct cgroup cg;
	if (jail_cgroup(rs, &cg) < 0)
		return -1;
	struct limits l;
	if (lim_load(&l, get_rs, rs) == 0)
		lim_check_log(rs->uuid, &cg, &l, rs_get(rs, "log"));
	ioc_err_clear();
	int r = lim_usage(&cg, u);
	cg_free(&cg);
	return r;
}

int cmd_inuse(int argc, char **argv)
{
	bool script = false;
	int opt = cmd_flag("inuse", argc, argv, 'H', &script);
	if (opt >= 0)
		return opt;
	if (argc - optind > 1)
		return usage_err("inuse", "expected at most one NAME");
	if (argc - optind == 1) {
		struct runstate rs;
		char uuid[37];
		int r = rt_lookup(argv[optind], &rs, uuid);
		if (r == 0)
			ioc_err("jail %s is not running", argv[optind]);
		struct lim_usage u;
		if (r <= 0 || jail_usage(&rs, &u) < 0) {
			rs_free(&rs);
			return CMD_ERR;
		}
		rs_free(&rs);
		char *cells[U_N];
		usage_cells(&u, script, cells);
		if (script) {
			for (int i = 0; i < U_N; i++)
				printf("%s,%s\n", u_names[i], cells[i]);
		} else {
			static const char *const head[] = {"RESOURCE", "IN USE", NULL};
			struct table t;
			table_init(&t, head);
			for (int i = 0; i < U_N; i++) {
				const char *row[] = {u_names[i], cells[i]};
				table_add(&t, row);
			}
			table_print(&t, false);
			table_free(&t);
		}
		for (int i = 0; i < U_N; i++)
			free(cells[i]);
		return CMD_OK;
	}
	struct runstate *v;
	size_t n;
	if (running_states(&v, &n) < 0)
		return CMD_ERR;
	static const char *const head[] = {"JID", "TAG", "MEMORY", "SWAP", "CPUTIME", "PROCS",
		"THREADS", "OPENFILES", "READ", "WRITE", "READOPS", "WRITEOPS", NULL};
	struct table t;
	table_init(&t, head);
	int rc = CMD_OK;
	for (size_t i = 0; i < n; i++) {
		struct lim_usage u;
		if (jail_usage(&v[i], &u) < 0) {
			ioc_warn("%s", ioc_errmsg());
			ioc_err_clear();
			continue;
		}
		char *cells[U_N];
		usage_cells(&u, script, cells);
		char jid[24];
		snprintf(jid, sizeof(jid), "%lld", rs_num(&v[i], "jid", 0));
		const char *tag = rs_get(&v[i], "tag") ? rs_get(&v[i], "tag") : v[i].uuid;
		if (script) {
			printf("%s,%s", jid, tag);
			for (int k = 0; k < U_N; k++)
				printf(",%s", cells[k]);
			printf("\n");
		} else {
			const char *row[] = {jid, tag, cells[0], cells[1], cells[2], cells[3], cells[4],
				cells[5], cells[6], cells[7], cells[8], cells[9]};
			table_add(&t, row);
		}
		for (int k = 0; k < U_N; k++)
			free(cells[k]);
	}
	if (!script)
		table_print(&t, false);
	table_free(&t);
	free_states(v, n);
	return rc;
}
