/* list, df: one zfs call whatever the number of jails (core/jails.c); here the tables. */
#include "cmd/cmd.h"
#include "core/heal.h"
#include "core/pool.h"
#include "core/release.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int list_releases(bool script, bool json, const char *sortcol)
{
	struct release_info *r;
	size_t n;
	if (!pool_get() || release_list(&r, &n) < 0)
		return CMD_ERR;
	struct table t;
	const char *head[] = {"RELEASE", "CREATED", "USED", "SOURCE", NULL};
	table_init(&t, head);
	for (size_t i = 0; i < n; i++) {
		const char *row[] = {r[i].name, r[i].created, r[i].used, r[i].source};
		table_add(&t, row);
	}
	int rc = table_emit(&t, script, json, sortcol, "list");
	table_free(&t);
	release_info_free(r, n);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	int c;
	bool templates = false, releases = false, script = false, json = false;
	const char *sortcol = NULL;
	while ((c = cmd_getopt("list", argc, argv, "trHjs:")) != -1) {
		switch (c) {
		case 't': templates = true; break;
		case 'r': releases = true; break;
		case 'H': script = true; break;
		case 'j': json = true; break;
		case 's': sortcol = optarg; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (optind < argc)
		return usage_err("list", "unexpected argument '%s'", argv[optind]);
	if (templates && releases)
		return usage_err("list", "-t and -r exclude each other");
	if (script && json)
		return usage_err("list", "-H and -j exclude each other");
	if (releases)
		return list_releases(script, json, sortcol);

	_cleanup_ztable_ struct ztable zt = {0};
	_cleanup_strv_ struct strv stale = {0};
	sv_init(&stale);
	if (jails_list(templates, &zt, &stale) < 0)
		return CMD_ERR;
	/* runtime state of jails that do not run: cleaned up on the way (no zfs call) */
	for (size_t i = 0; i < stale.n; i++)
		heal_runtime(stale.v[i]);
	/* and the temporary files of writers that died (one readdir) */
	if (heal_tmp_files(true, NULL) < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
	/* SPEC §3's columns; -j adds PRIVILEGED and IDMAP_BASE (the user namespace); the
	 * table for people marks a privileged jail's TYPE (-H keeps the columns as they are) */
	struct table t;
	const char *head[] = {"JID", "UUID",    "BOOT",       "STATE",      "TAG", "TYPE",
			      "IP4", "RELEASE", "PRIVILEGED", "IDMAP_BASE", NULL};
	if (!json)
		head[8] = NULL;
	table_init(&t, head);
	for (size_t i = 0; i < zt.nrows; i++) {
		const char *row[10] = {0};
		for (size_t k = 0; k < 10 && k < zt.rows[i].n; k++)
			row[k] = zt.rows[i].v[k];
		_cleanup_free_ char *type = NULL;
		if (!json && !script && row[5] && row[8] && streq(row[8], "yes"))
			row[5] = type = xasprintf("%s,privileged", row[5]);
		table_add(&t, row);
	}
	if (!sortcol && !script && !json && t.cells.n)
		table_sort(&t, table_col(&t, "TAG"));
	int rc = table_emit(&t, script, json, sortcol, "list");
	table_free(&t);
	return rc;
}

int cmd_df(int argc, char **argv)
{
	int c;
	bool script = false, json = false;
	const char *sortcol = NULL;
	while ((c = cmd_getopt("df", argc, argv, "Hjs:")) != -1) {
		switch (c) {
		case 'H': script = true; break;
		case 'j': json = true; break;
		case 's': sortcol = optarg; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (optind < argc)
		return usage_err("df", "unexpected argument '%s'", argv[optind]);
	_cleanup_ztable_ struct ztable zt = {0};
	if (jails_df(&zt) < 0)
		return CMD_ERR;
	struct table t;
	const char *head[] = {"UUID", "CRT", "RES", "QTA", "USE", "AVA", "TAG", NULL};
	table_init(&t, head);
	for (size_t i = 0; i < zt.nrows; i++)
		table_add(&t, (const char *const *)zt.rows[i].v);
	if (!sortcol && !script && !json && t.cells.n)
		table_sort(&t, table_col(&t, "TAG"));
	int rc = table_emit(&t, script, json, sortcol, "df");
	table_free(&t);
	return rc;
}
