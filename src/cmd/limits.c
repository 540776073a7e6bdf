/* cap, uncap, limits, inuse (SPEC §7): resource limits of running jails. */
#include "cmd/cmd.h"
#include "core/jailconf.h"
#include "core/lock.h"
#include "core/runstate.h"
#include "platform.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The running jail NAME, locked: 0 with rs filled (re-read under the lock). */
static int running_locked(const char *name, struct runstate *rs, int *lk)
{
	char uuid[37];
	if (cmd_running(name, rs, uuid, " (limits are applied at start)") < 0)
		return -1;
	rs_free(rs);
	*lk = lock_jail(uuid, true);
	if (*lk < 0)
		return -1;
	int r = rs_read(uuid, rs);
	if (r <= 0 || !rs_running(rs)) {
		if (r >= 0)
			ioc_err("jail %s is not running", name);
		rs_free(rs);
		unlock_fd(*lk);
		return -1;
	}
	return 0;
}

static const char *tag_or_empty(const struct runstate *rs)
{
	const char *t = rs_get(rs, prop_name(P_TAG));
	return t ? t : "";
}

static const char *tag_of(const struct runstate *rs)
{
	const char *t = rs_get(rs, prop_name(P_TAG));
	return t ? t : rs->uuid;
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
	_cleanup_jail_ struct jail *j = jail_load(rs.uuid); /* one zfs call for every property */
	if (j && plat_cap(&rs, j) == 0) {
		printf("%s (%s): limits applied\n", rs.uuid, tag_or_empty(&rs));
		rc = CMD_OK;
	}
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
	if (plat_uncap(&rs) == 0) {
		printf("%s (%s): limits removed\n", rs.uuid, tag_or_empty(&rs));
		rc = CMD_OK;
	}
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
		if (rs_read(ids.v[i], &v[k]) == 1 && rs_running(&v[k])) {
			size_t at = k++;
			while (at > 0 &&
			       rs_num(&v[at - 1], RS_JID, 0) > rs_num(&v[at], RS_JID, 0)) {
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

/* Rows of one jail for `limits`.  all: only what is set (plus the cpuset), after the tag. */
static int limit_rows(struct table *t, const struct runstate *rs, const char *tag, bool all)
{
	struct plat_limit *v;
	size_t n;
	if (plat_limits(rs, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (all && !v[i].set)
			continue;
		const char *row[] = {tag, v[i].name, v[i].value, v[i].in_force, v[i].crossings};
		table_add(t, all ? row : row + 1);
	}
	plat_limits_free(v, n);
	return 0;
}

int cmd_limits(int argc, char **argv)
{
	int c, nfmt = 0;
	enum outfmt fmt = OUT_TABLE;
	while ((c = cmd_getopt("limits", argc, argv, "Hj")) != -1)
		if (!outfmt_opt(c, &fmt, &nfmt))
			return c == 'h' ? CMD_OK : CMD_USAGE;
	int u = outfmt_check("limits", nfmt);
	if (u >= 0)
		return u;
	if (argc - optind > 1)
		return usage_err("limits", "expected at most one NAME");
	struct table t;
	int rc = CMD_OK;
	if (argc - optind == 1) {
		const char *name = argv[optind];
		static const char *const head[] = {"LIMIT", "PROPERTY", "IN FORCE", "CROSSINGS",
						   NULL};
		struct runstate rs;
		char uuid[37];
		int r = plat_lookup(name, &rs, uuid);
		if (r < 0) {
			rs_free(&rs);
			return CMD_ERR;
		}
		table_init(&t, head, "ttti");
		if (r == 0) {
			/* Not running: the configured values only. */
			struct jail *j = jail_resolve(name);
			if (!j) {
				rs_free(&rs);
				table_free(&t);
				return CMD_ERR;
			}
			bool on = streq(jail_prop(j, P_RLIMITS), "on");
			const char *row0[] = {"cpuset", jail_prop(j, P_CPUSET), "(not running)",
					      "-"};
			table_add(&t, row0);
			for (int i = 0; i < LIM_N; i++) {
				const char *pv = jail_prop(j, lim_prop((enum lim_id)i));
				char *prop = on ? xstrdup(pv) : xasprintf("%s (rlimits=off)", pv);
				const char *row[] = {lim_name((enum lim_id)i), prop,
						     "(not running)", "-"};
				table_add(&t, row);
				free(prop);
			}
			jail_free(j);
		} else if (limit_rows(&t, &rs, tag_of(&rs), false) < 0) {
			rc = CMD_ERR;
		}
		rs_free(&rs);
	} else {
		static const char *const head[] = {"JAIL",     "LIMIT",     "PROPERTY",
						   "IN FORCE", "CROSSINGS", NULL};
		table_init(&t, head, "tttti");
		struct runstate *v;
		size_t n;
		if (running_states(&v, &n) < 0) {
			table_free(&t);
			return CMD_ERR;
		}
		for (size_t i = 0; i < n; i++) {
			if (limit_rows(&t, &v[i], tag_of(&v[i]), true) < 0) {
				ioc_warn("%s", ioc_errmsg());
				ioc_err_clear();
			}
		}
		free_states(v, n);
	}
	if (rc == CMD_OK)
		rc = table_emit(&t, fmt, NULL, NULL, "limits");
	table_free(&t);
	return rc;
}

/* A byte count as shown (human units) or exact. */
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

static char *cell_num(long long v) { return v < 0 ? xstrdup("-") : xasprintf("%lld", v); }

/* CPU time as shown ("1.23s") or exact (seconds, "1.234567"). */
static char *cell_cpu(long long us, bool raw)
{
	if (us < 0)
		return xstrdup("-");
	return raw ? xasprintf("%lld.%06lld", us / 1000000, us % 1000000)
		   : xasprintf("%lld.%02llds", us / 1000000, (us % 1000000) / 10000);
}

enum { U_MEM, U_SWAP, U_CPU, U_PROCS, U_THREADS, U_FILES, U_RB, U_WB, U_RIO, U_WIO, U_N };
static const char *const u_names[U_N] = {"memory",  "swap",      "cputime",   "processes",
					 "threads", "openfiles", "readbytes", "writebytes",
					 "readops", "writeops"};

/* The cells of a usage as shown (raw false) or exact (raw true: the JSON numbers). */
static void usage_cells(const struct plat_usage *u, bool raw, char *cells[U_N])
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

static void cells_free(char *cells[U_N])
{
	for (int i = 0; i < U_N; i++)
		free(cells[i]);
}

/* inuse NAME: one row per resource. */
static int inuse_one(const char *name, enum outfmt fmt)
{
	struct runstate rs;
	char uuid[37];
	if (cmd_running(name, &rs, uuid, "") < 0)
		return CMD_ERR;
	struct plat_usage u;
	int r = plat_usage(&rs, &u);
	rs_free(&rs);
	if (r < 0)
		return CMD_ERR;
	char *cells[U_N], *raw[U_N];
	usage_cells(&u, false, cells);
	usage_cells(&u, true, raw);
	static const char *const head[] = {"RESOURCE", "IN USE", NULL};
	struct table t;
	table_init(&t, head, "tn");
	for (int i = 0; i < U_N; i++) {
		const char *row[] = {u_names[i], cells[i]};
		_cleanup_free_ char *js = json_cell('n', raw[i]);
		const char *json[] = {NULL, js};
		table_add_json(&t, row, json);
	}
	int rc = table_emit(&t, fmt, NULL, NULL, "inuse");
	table_free(&t);
	cells_free(cells);
	cells_free(raw);
	return rc;
}

int cmd_inuse(int argc, char **argv)
{
	int c, nfmt = 0;
	enum outfmt fmt = OUT_TABLE;
	while ((c = cmd_getopt("inuse", argc, argv, "Hjc")) != -1)
		if (!outfmt_opt(c, &fmt, &nfmt))
			return c == 'h' ? CMD_OK : CMD_USAGE;
	int u = outfmt_check("inuse", nfmt);
	if (u >= 0)
		return u;
	if (argc - optind > 1)
		return usage_err("inuse", "expected at most one NAME");
	if (argc - optind == 1)
		return inuse_one(argv[optind], fmt);
	struct runstate *v;
	size_t n;
	if (running_states(&v, &n) < 0)
		return CMD_ERR;
	static const char *const head[] = {"JID",     "TAG",      "MEMORY",    "SWAP", "CPUTIME",
					   "PROCS",   "THREADS",  "OPENFILES", "READ", "WRITE",
					   "READOPS", "WRITEOPS", NULL};
	struct table t;
	table_init(&t, head, "itbbniiibbii");
	for (size_t i = 0; i < n; i++) {
		struct plat_usage us;
		if (plat_usage(&v[i], &us) < 0) {
			ioc_warn("%s", ioc_errmsg());
			ioc_err_clear();
			continue;
		}
		/* bytes exact (the table shows them in units), CPU time shown as "1.23s" */
		char *raw[U_N];
		usage_cells(&us, true, raw);
		_cleanup_free_ char *cpu = cell_cpu(us.cpu_us, false);
		_cleanup_free_ char *cpujs = json_cell('n', raw[U_CPU]);
		char jid[24];
		snprintf(jid, sizeof(jid), "%lld", rs_num(&v[i], RS_JID, 0));
		const char *row[] = {jid,       tag_of(&v[i]), raw[U_MEM],     raw[U_SWAP],
				     cpu,       raw[U_PROCS],  raw[U_THREADS], raw[U_FILES],
				     raw[U_RB], raw[U_WB],     raw[U_RIO],     raw[U_WIO]};
		const char *json[] = {NULL, NULL, NULL, NULL, cpujs, NULL,
				      NULL, NULL, NULL, NULL, NULL,  NULL};
		table_add_json(&t, row, json);
		cells_free(raw);
	}
	int rc = table_emit(&t, fmt, NULL, NULL, "inuse");
	table_free(&t);
	free_states(v, n);
	return rc;
}
