/* snapshot, snaplist, snapremove, rollback, promote: arguments, plans shown, confirmation
 * and output.  The plans and the zfs work are core/snapshot.c's. */
#include "cmd/cmd.h"
#include "core/lock.h"
#include "core/snapshot.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tag_of(const struct jail *j) { return jail_prop(j, P_TAG); }

int cmd_snapshot(int argc, char **argv)
{
	int opt = cmd_flag("snapshot", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("snapshot", "expected one NAME[@SNAP]");
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *snap = NULL;
	bool given = split_name_snap(argv[optind], &name, &snap);
	if (given && !snapname_ok(snap))
		return CMD_ERR;
	_cleanup_unlock_ int lk = -1;
	_cleanup_jail_ struct jail *j = jail_open_locked(name, &lk);
	_cleanup_free_ char *made = NULL;
	if (!j || snap_create(j, given ? snap : NULL, &made) < 0)
		return CMD_ERR;
	printf("Snapshot: %s@%s created\n", j->uuid, made);
	return CMD_OK;
}

int cmd_snaplist(int argc, char **argv)
{
	int c, nfmt = 0;
	enum outfmt fmt = OUT_TABLE;
	while ((c = cmd_getopt("snaplist", argc, argv, "Hj")) != -1)
		if (!outfmt_opt(c, &fmt, &nfmt))
			return c == 'h' ? CMD_OK : CMD_USAGE;
	int u = outfmt_check("snaplist", nfmt);
	if (u >= 0)
		return u;
	if (argc - optind != 1)
		return usage_err("snaplist", "expected one NAME");
	_cleanup_jail_ struct jail *j = jail_resolve(argv[optind]);
	_cleanup_ztable_ struct ztable t = {0};
	if (!j || snap_list(j, &t) < 0)
		return CMD_ERR;
	struct table out;
	const char *head[] = {"NAME", "CREATED", "RSIZE", "USED", NULL};
	table_init(&out, head, "ttbb");
	for (size_t i = 0; i < t.nrows; i++)
		table_add(&out, (const char *const *)t.rows[i].v);
	int rc = table_emit(&out, fmt, NULL, NULL, "snaplist");
	table_free(&out);
	return rc;
}

/* what: "@SNAP" or "/CHILD@SNAP"; arg: the jail's UUID. */
static void print_removed(const char *what, void *arg)
{
	printf("Removed: %s%s\n", (const char *)arg, what);
}

int cmd_snapremove(int argc, char **argv)
{
	int opt = cmd_flag("snapremove", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("snapremove", "expected one NAME@SNAP or NAME@ALL");
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *snap = NULL;
	if (!split_name_snap(argv[optind], &name, &snap))
		return usage_err("snapremove", "expected NAME@SNAP or NAME@ALL, got '%s'",
				 argv[optind]);
	bool all = streq(snap, "ALL");
	if (!all && !snapname_ok(snap))
		return CMD_ERR;
	_cleanup_unlock_ int lk = -1;
	_cleanup_jail_ struct jail *j = jail_open_locked(name, &lk);
	if (!j)
		return CMD_ERR;
	struct snapremove_plan pl;
	int rc = snapremove_prepare(j, all ? NULL : snap, &pl);
	if (rc == 0 && pl.victims.n == 0)
		printf("Jail %s (%s) has no snapshots\n", j->uuid, tag_of(j));
	else if (rc == 0)
		rc = snapremove_execute(j, &pl, print_removed, j->uuid);
	snapremove_plan_free(&pl);
	return rc < 0 ? CMD_ERR : CMD_OK;
}

/* What rollback will do, and the newer snapshots it destroys, one line per name. */
static void print_rollback(const struct jail *j, const char *snap, const struct rollback_plan *pl)
{
	printf("Rolling back jail %s (%s) to snapshot %s: every change made since is lost.\n",
	       j->uuid, tag_of(j), snap);
	for (size_t i = 0; i < pl->missing.n; i++)
		printf("  not rolled back (it has no snapshot %s): %s\n", snap, pl->missing.v[i]);
	if (!pl->ngroups)
		return;
	printf("Newer snapshots, this will destroy:\n");
	for (size_t i = 0; i < pl->ngroups; i++) {
		printf("  will destroy: %s (on", pl->groups[i].snap);
		for (size_t k = 0; k < pl->groups[i].on.n; k++)
			printf("%s %s", k ? "," : "", pl->groups[i].on.v[k]);
		printf(")\n");
	}
}

static int rollback(const char *name, const char *snap, bool force, bool yes)
{
	if (!snapname_ok(snap))
		return -1;
	_cleanup_unlock_ int lk = -1;
	_cleanup_jail_ struct jail *j = jail_open_locked(name, &lk);
	if (!j)
		return -1;
	struct rollback_plan pl;
	int rc = rollback_prepare(j, snap, force, &pl);
	if (rc == 0) {
		print_rollback(j, snap, &pl);
		if (pl.newer.n && !yes && !confirm_capital_y("Are you sure ? Y[n]: ")) {
			ioc_err("rollback cancelled; nothing was changed");
			rc = -1;
		}
	}
	fflush(stdout);
	if (rc == 0 && (rc = rollback_execute(j, &pl)) == 0)
		printf("Rolled back: %s (%s) to %s\n", j->uuid, tag_of(j), snap);
	rollback_plan_free(&pl);
	return rc;
}

int cmd_rollback(int argc, char **argv)
{
	int c;
	bool force = false, yes = false;
	while ((c = cmd_getopt("rollback", argc, argv, "fy")) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'y')
			yes = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	if (argc - optind != 1)
		return usage_err("rollback", "expected one NAME@SNAP");
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *snap = NULL;
	if (!split_name_snap(argv[optind], &name, &snap))
		return usage_err("rollback", "expected NAME@SNAP, got '%s'", argv[optind]);
	return rollback(name, snap, force, yes) < 0 ? CMD_ERR : CMD_OK;
}

int cmd_promote(int argc, char **argv)
{
	int opt = cmd_flag("promote", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("promote", "expected one NAME");
	_cleanup_unlock_ int lk = -1;
	_cleanup_jail_ struct jail *j = jail_open_locked(argv[optind], &lk);
	if (!j)
		return CMD_ERR;
	struct promote_plan pl;
	int rc = jail_promote(j, &pl);
	if (rc == 0) {
		for (size_t i = 0; i < pl.kept.n; i++)
			printf("  left as it is: %s\n", pl.kept.v[i]);
		printf("Promoted: %s (%s)\n", j->uuid, tag_of(j));
	}
	promote_plan_free(&pl);
	return rc < 0 ? CMD_ERR : CMD_OK;
}
