/* list, df: one zfs call whatever the number of jails (core/jails.c); here the tables. */
#include "cmd/cmd.h"
#include "core/heal.h"
#include "core/pool.h"
#include "core/release.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int list_releases(enum outfmt fmt, const char *sortcol)
{
	struct release_info *r;
	size_t n;
	if (!pool_get() || release_list(&r, &n) < 0)
		return CMD_ERR;
	struct table t;
	const char *head[] = {"RELEASE", "CREATED", "USED", "SOURCE", NULL};
	table_init(&t, head, "ttbt");
	for (size_t i = 0; i < n; i++) {
		const char *row[] = {r[i].name, r[i].created, r[i].used, r[i].source};
		table_add(&t, row);
	}
	int rc = table_emit(&t, fmt, sortcol, "RELEASE", "list");
	table_free(&t);
	release_info_free(r, n);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	int c, nfmt = 0;
	bool templates = false, releases = false;
	enum outfmt fmt = OUT_TABLE;
	const char *sortcol = NULL;
	while ((c = cmd_getopt("list", argc, argv, "trHjs:")) != -1) {
		if (outfmt_opt(c, &fmt, &nfmt))
			continue;
		switch (c) {
		case 't': templates = true; break;
		case 'r': releases = true; break;
		case 's': sortcol = optarg; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (optind < argc)
		return usage_err("list", "unexpected argument '%s'", argv[optind]);
	if (templates && releases)
		return usage_err("list", "-t and -r exclude each other");
	int u = outfmt_check("list", nfmt);
	if (u >= 0)
		return u;
	if (releases)
		return list_releases(fmt, sortcol);

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
	/* (by tag unless told otherwise, in every format alike) */
	bool json = fmt == OUT_JSON;
	const char *head[] = {"JID", "UUID",    "BOOT",       "STATE",      "TAG", "TYPE",
			      "IP4", "RELEASE", "PRIVILEGED", "IDMAP_BASE", NULL};
	if (!json)
		head[8] = NULL;
	table_init(&t, head, "itttttttti");
	for (size_t i = 0; i < zt.nrows; i++) {
		const char *row[10] = {0};
		for (size_t k = 0; k < 10 && k < zt.rows[i].n; k++)
			row[k] = zt.rows[i].v[k];
		_cleanup_free_ char *type = NULL;
		if (fmt == OUT_TABLE && row[5] && row[8] && streq(row[8], "yes"))
			row[5] = type = xasprintf("%s,privileged", row[5]);
		table_add(&t, row);
	}
	int rc = table_emit(&t, fmt, sortcol, "TAG", "list");
	table_free(&t);
	return rc;
}

int cmd_df(int argc, char **argv)
{
	int c, nfmt = 0;
	enum outfmt fmt = OUT_TABLE;
	const char *sortcol = NULL;
	while ((c = cmd_getopt("df", argc, argv, "Hjs:")) != -1) {
		if (outfmt_opt(c, &fmt, &nfmt))
			continue;
		if (c == 's')
			sortcol = optarg;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	if (optind < argc)
		return usage_err("df", "unexpected argument '%s'", argv[optind]);
	int u = outfmt_check("df", nfmt);
	if (u >= 0)
		return u;
	_cleanup_ztable_ struct ztable zt = {0};
	if (jails_df(&zt) < 0)
		return CMD_ERR;
	struct table t;
	const char *head[] = {"UUID", "CRT", "RES", "QTA", "USE", "AVA", "TAG", NULL};
	table_init(&t, head, "tnbbbbt");
	for (size_t i = 0; i < zt.nrows; i++) {
		char **v = zt.rows[i].v;
		/* no reservation or quota: 0, shown as zfs shows it */
		const char *row[] = {v[0],
				     v[1],
				     streq(v[2], "0") ? "none" : v[2],
				     streq(v[3], "0") ? "none" : v[3],
				     v[4],
				     v[5],
				     v[6]};
		table_add(&t, row);
	}
	int rc = table_emit(&t, fmt, sortcol, "TAG", "df");
	table_free(&t);
	return rc;
}
