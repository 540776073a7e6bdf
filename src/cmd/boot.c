/* rcboot and rcshutdown: the order of core/bootplan.h, run by up to -j N worker processes
 * at a time (bootplan_run), each starting (and waiting for the readiness of) or stopping
 * one jail. */
#include "cmd/cmd.h"
#include "core/bootplan.h"
#include "core/jail.h"
#include "core/jails.h"
#include "core/runstate.h"
#include "platform.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a node needs besides the plan. */
struct bootjail {
	struct jail *j;  /* rcboot: the jail, loaded with every other by one zfs call */
	char *ready_cmd; /* NULL: none */
	int ready_port;  /* 0: none */
	long ready_timeout;
};

static const char *cell(const struct strv *r, size_t i, const char *dflt)
{
	return i < r->n && !streq(r->v[i], "-") && r->v[i][0] ? r->v[i] : dflt;
}

/* rcboot: every jail with all its properties, with one zfs call (the workers start them
 * from these, with no zfs call of their own); wanted: boot=on (not templates). */
static int load_boot(struct bootplan *p, struct bootjail **bj)
{
	struct jail **js;
	size_t n;
	if (jails_load_all(&js, &n) < 0)
		return -1;
	*bj = xcalloc(n + 1, sizeof(**bj));
	bootplan_init(p, false);
	for (size_t i = 0; i < n; i++) {
		struct jail *j = js[i];
		long long prio = 99, port = 0, tmo = 60;
		parse_int(jail_prop(j, P_PRIORITY), 0, 99, &prio);
		parse_int(jail_prop(j, P_READY_PORT), 1, 65535, &port);
		parse_int(jail_prop(j, P_READY_TIMEOUT), 1, 86400, &tmo);
		bool wanted = streq(jail_prop(j, P_BOOT), "on") &&
			      !streq(jail_prop(j, P_TEMPLATE), "yes");
		struct bootjail *b = &(*bj)[p->n];
		const char *rc = jail_prop(j, P_READY_CMD);
		b->j = j;
		b->ready_cmd = streq(rc, "none") ? NULL : xstrdup(rc);
		b->ready_port = (int)port;
		b->ready_timeout = (long)tmo;
		bootplan_add(p, j->uuid, jail_prop(j, P_TAG), (int)prio, jail_prop(j, P_DEPENDS),
			     wanted);
	}
	free(js);
	bootplan_resolve(p);
	return 0;
}

/* Every jail with one zfs call; boot: load_boot; shutdown: wanted = has a runtime state,
 * and running jails the query does not show are added. */
static int load(struct bootplan *p, bool reverse, struct bootjail **bj)
{
	if (!reverse)
		return load_boot(p, bj);
	struct ztable t;
	if (jails_query(&t,
			"name,iocell:active,iocell:host_hostuuid,iocell:tag,iocell:boot,"
			"iocell:priority,iocell:template,iocell:depends,iocell:ready_cmd,"
			"iocell:ready_port,iocell:ready_timeout",
			"iocell:tag") < 0)
		return -1;
	_cleanup_strv_ struct strv running = {0};
	if (reverse && rs_list(&running) < 0) {
		ztable_free(&t);
		return -1;
	}
	*bj = xcalloc(t.nrows + running.n + 1, sizeof(**bj));
	bootplan_init(p, reverse);
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		if (r->n < 11 || !valid_uuid(r->v[2]))
			continue;
		long long prio = 99, port = 0, tmo = 60;
		parse_int(cell(r, 5, "99"), 0, 99, &prio);
		parse_int(cell(r, 9, "none"), 1, 65535, &port);
		parse_int(cell(r, 10, "60"), 1, 86400, &tmo);
		bool wanted = reverse ? sv_contains(&running, r->v[2])
				      : streq(r->v[4], "on") && !streq(r->v[6], "yes");
		struct bootjail *b = &(*bj)[p->n];
		const char *rc = cell(r, 8, "none");
		b->ready_cmd = streq(rc, "none") ? NULL : xstrdup(rc);
		b->ready_port = (int)port;
		b->ready_timeout = (long)tmo;
		bootplan_add(p, r->v[2], r->v[3], (int)prio, cell(r, 7, "none"), wanted);
	}
	for (size_t i = 0; i < running.n; i++) {
		bool known = false;
		for (size_t k = 0; k < p->n && !known; k++)
			known = streq(p->v[k].uuid, running.v[i]);
		if (!known) {
			(*bj)[p->n].ready_timeout = 60;
			bootplan_add(p, running.v[i], running.v[i], 99, "none", true);
		}
	}
	ztable_free(&t);
	bootplan_resolve(p);
	return 0;
}

/* A worker: start node i and wait for its readiness, or stop it (rcshutdown). */
static int work(const struct bootplan *p, size_t i, void *ctx, char *why, size_t n)
{
	const struct boot_node *nd = &p->v[i];
	const struct bootjail *b = &((const struct bootjail *)ctx)[i];
	if (p->reverse)
		return cmd_stop_jail(nd->uuid);
	if (cmd_start_loaded(b->j) < 0)
		return -1;
	fflush(stdout);
	if (!b->ready_cmd && !b->ready_port)
		return 0;
	long long ms;
	if (plat_ready_wait(nd->uuid, nd->tag, b->ready_cmd, b->ready_port, b->ready_timeout, &ms,
			    why, n) < 0)
		return -1;
	printf("%s (%s) ready after %lld.%03lld s\n", nd->uuid, nd->tag, ms / 1000, ms % 1000);
	return 0;
}

/* rcshutdown's last step: a jail's last start lives in the runtime dir while the host
 * runs (start and stop make no zfs call for it); keep it across the reboot in its
 * property, one `zfs set` per jail that has one, PERSIST_JOBS at a time whatever -j says:
 * concurrent sets share the pool's txg syncs (50 jails on zfs-fuse: 450 ms one by one,
 * 185 ms eight at a time, no faster with more).  A failure is printed by its worker and
 * leaves the time in the runtime dir. */
#define PERSIST_JOBS 8

static int persist_work(const struct bootplan *p, size_t i, void *ctx, char *why, size_t n)
{
	(void)ctx, (void)why, (void)n;
	return rs_started_persist(p->v[i].uuid);
}

static void persist_started(const struct bootplan *p)
{
	struct bootplan q;
	bootplan_init(&q, false);
	for (size_t i = 0; i < p->n; i++) {
		_cleanup_free_ char *st = rs_started_read(p->v[i].uuid);
		if (st)
			bootplan_add(&q, p->v[i].uuid, p->v[i].tag, 0, "none", true);
	}
	bootplan_resolve(&q);
	if (bootplan_run(&q, PERSIST_JOBS, persist_work, NULL) < 0)
		ioc_err_print();
	bootplan_free(&q);
}

/* The summary: counts on stdout, then failed and skipped with their reasons; an error
 * line on stderr when not everything went. */
static int summary(const char *cmd, const struct bootplan *p)
{
	size_t up = 0, failed = 0, skipped = 0;
	struct sbuf names;
	sb_init(&names);
	for (size_t i = 0; i < p->n; i++) {
		const struct boot_node *b = &p->v[i];
		up += b->st == BN_UP;
		failed += b->st == BN_FAILED;
		skipped += b->st == BN_SKIPPED;
		if (b->st == BN_FAILED || b->st == BN_SKIPPED)
			sb_printf(&names, "%s%s (%s)", names.len ? ", " : "", b->tag,
				  b->st == BN_FAILED ? "failed" : "skipped");
	}
	const char *verb = p->reverse ? "stopped" : "started";
	printf("%s: %zu %s, %zu failed, %zu skipped\n", cmd, up, verb, failed, skipped);
	for (size_t i = 0; i < p->n; i++) {
		const struct boot_node *b = &p->v[i];
		if (b->st == BN_FAILED || b->st == BN_SKIPPED)
			printf("  %-8s %s: %s\n", b->st == BN_FAILED ? "failed" : "skipped", b->tag,
			       b->why ? b->why : "");
	}
	fflush(stdout);
	int rc = CMD_OK;
	if (failed || skipped) {
		ioc_err("%s: %zu of %zu jails %s: %s", cmd, failed + skipped, up + failed + skipped,
			p->reverse ? "failed to stop" : "did not start", names.s);
		rc = CMD_ERR;
	}
	sb_free(&names);
	return rc;
}

/* -j N (default: the number of CPUs). */
static int parse_jobs(const char *cmd, int argc, char **argv, int *jobs)
{
	*jobs = host_ncpus();
	int c;
	while ((c = cmd_getopt(cmd, argc, argv, "j:")) != -1) {
		long long v;
		if (c != 'j')
			return c == 'h' ? CMD_OK : CMD_USAGE;
		if (!parse_int(optarg, 1, 1024, &v))
			return usage_err(cmd, "-j takes a number from 1 to 1024, not '%s'", optarg);
		*jobs = (int)v;
	}
	if (optind < argc)
		return usage_err(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

static int boot(const char *cmd, bool reverse, int argc, char **argv)
{
	int jobs;
	int opt = parse_jobs(cmd, argc, argv, &jobs);
	if (opt >= 0)
		return opt;
	struct bootplan p;
	struct bootjail *bj = NULL;
	if (load(&p, reverse, &bj) < 0)
		return CMD_ERR;
	int rc = bootplan_run(&p, jobs, work, bj) < 0 ? CMD_ERR : summary(cmd, &p);
	if (reverse)
		persist_started(&p);
	for (size_t i = 0; i < p.n; i++) {
		free(bj[i].ready_cmd);
		jail_free(bj[i].j);
	}
	free(bj);
	bootplan_free(&p);
	return rc;
}

int cmd_rcboot(int argc, char **argv) { return boot("rcboot", false, argc, argv); }

int cmd_rcshutdown(int argc, char **argv) { return boot("rcshutdown", true, argc, argv); }
