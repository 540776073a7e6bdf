/* list, df: one zfs call whatever the number of jails. */
#include "cmd/cmd.h"
#include "core/pool.h"
#include "core/release.h"
#include "core/runstate.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "vnet0|192.0.2.10/24,vnet0|192.0.2.11/24" -> "192.0.2.10,192.0.2.11" */
static char *ip_column(const char *v)
{
	if (streq(v, "none") || streq(v, "-"))
		return xstrdup("-");
	struct strv parts = {0};
	struct sbuf b;
	sb_init(&b);
	split(&parts, v, ",", true);
	for (size_t i = 0; i < parts.n; i++) {
		const char *a = strchr(parts.v[i], '|');
		a = a ? a + 1 : parts.v[i];
		sb_printf(&b, "%s%.*s", i ? "," : "", (int)strcspn(a, "/"), a);
	}
	sv_free(&parts);
	return sb_steal(&b);
}

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

	struct ztable zt;
	if (jails_query(&zt, "name,iocell:active,iocell:host_hostuuid,iocell:boot,iocell:tag,"
			"iocell:type,iocell:ip4_addr,iocell:release,iocell:template", NULL) < 0)
		return CMD_ERR;
	struct table t;
	const char *head[] = {"JID", "UUID", "BOOT", "STATE", "TAG", "TYPE", "IP4", "RELEASE", NULL};
	table_init(&t, head);
	/* Every jail's name is at hand: refresh the name index on the way (no extra call). */
	struct jail_brief *idx = xcalloc(zt.nrows + 1, sizeof(*idx));
	size_t nidx = 0;
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *r = &zt.rows[i];
		if (r->n < 9 || !valid_uuid(r->v[2]))
			continue;
		snprintf(idx[nidx].uuid, sizeof(idx[nidx].uuid), "%s", r->v[2]);
		idx[nidx].tag = r->v[4];
		idx[nidx].template = streq(r->v[8], "yes");
		nidx++;
	}
	index_store(idx, nidx);
	free(idx);
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *r = &zt.rows[i];
		if (r->n < 9 || !valid_uuid(r->v[2]))
			continue;
		if (streq(r->v[8], "yes") != templates)
			continue;
		int jid = jail_jid(r->v[2]);
		char *ip = NULL;
		if (jid > 0) {
			/* running: the addresses actually configured (runtime state, no zfs call) */
			struct runstate rs;
			if (rs_read(r->v[2], &rs) == 1 && rs_get(&rs, "addr4"))
				ip = ip_column(rs_get(&rs, "addr4"));
			rs_free(&rs);
		}
		if (!ip)
			ip = ip_column(r->v[6]);
		char jids[16];
		snprintf(jids, sizeof(jids), "%d", jid);
		const char *row[] = {jid > 0 ? jids : "-", r->v[2], r->v[3], jid > 0 ? "up" : "down",
				     r->v[4], r->v[5], ip, r->v[7]};
		table_add(&t, row);
		free(ip);
	}
	ztable_free(&zt);
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
	struct ztable zt;
	if (jails_query(&zt, "name,iocell:active,iocell:host_hostuuid,compressratio,reservation,"
			"quota,used,available,iocell:tag", NULL) < 0)
		return CMD_ERR;
	struct table t;
	const char *head[] = {"UUID", "CRT", "RES", "QTA", "USE", "AVA", "TAG", NULL};
	table_init(&t, head);
	for (size_t i = 0; i < zt.nrows; i++) {
		struct strv *r = &zt.rows[i];
		if (r->n < 9 || !valid_uuid(r->v[2]))
			continue;
		const char *row[] = {r->v[2], r->v[3], r->v[4], r->v[5], r->v[6], r->v[7], r->v[8]};
		table_add(&t, row);
	}
	ztable_free(&zt);
	if (!sortcol && !script && !json && t.cells.n)
		table_sort(&t, table_col(&t, "TAG"));
	int rc = table_emit(&t, script, json, sortcol, "df");
	table_free(&t);
	return rc;
}
