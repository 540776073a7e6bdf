/* get, set, defaults, reset, and the manual's property section: arguments and output;
 * the changes themselves are core/propset.c's. */
#include "cmd/cmd.h"
#include "core/propset.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JSON literal of a value of property p: numbers for integer properties. */
static char *value_json(const struct propdef *p, const char *v)
{
	return json_cell(p->type == PT_INT || p->type == PT_BIT ? 'v' : 't', v);
}

/* Rows PROPERTY, VALUE (or DEFAULT) of the given properties (all: NULL) in one table. */
static void add_prop_row(struct table *t, const struct propdef *p, const char *v)
{
	_cleanup_free_ char *js = value_json(p, v);
	const char *row[] = {p->name, v};
	const char *json[] = {NULL, js};
	table_add_json(t, row, json);
}

/* One value: alone on a line (the manuals' `get tag NAME`), or as JSON. */
static int emit_one(const struct propdef *p, const char *v, enum outfmt fmt, const char *col)
{
	if (fmt != OUT_JSON) {
		printf("%s\n", v);
		return CMD_OK;
	}
	struct table t;
	const char *head[] = {"PROPERTY", col, NULL};
	table_init(&t, head, NULL);
	add_prop_row(&t, p, v);
	int rc = table_emit(&t, fmt, NULL, NULL, "get");
	table_free(&t);
	return rc;
}

static int get_default(const char *prop, enum outfmt fmt, const char *cmd)
{
	_cleanup_kv_ struct kv saved = {0};
	if (defaults_load(&saved) < 0)
		return CMD_ERR;
	if (streq(prop, "all")) {
		struct table t;
		const char *head[] = {"PROPERTY", "DEFAULT", NULL};
		table_init(&t, head, NULL);
		for (size_t i = 0; i < prop_count; i++) {
			_cleanup_free_ char *tmp = NULL;
			add_prop_row(&t, &prop_table[i],
				     prop_effective_default(&prop_table[i], &saved, &tmp));
		}
		int rc = table_emit(&t, fmt, NULL, NULL, cmd);
		table_free(&t);
		return rc;
	}
	const struct propdef *p = prop_lookup(prop);
	if (!p)
		return CMD_ERR;
	_cleanup_free_ char *tmp = NULL;
	return emit_one(p, prop_effective_default(p, &saved, &tmp), fmt, "DEFAULT");
}

/* get -r PROP: one zfs call for every jail. */
static int get_recursive(const char *prop, enum outfmt fmt)
{
	_cleanup_ztable_ struct ztable zt = {0};
	if (prop_get_all_jails(prop, &zt) < 0)
		return CMD_ERR;
	const struct propdef *p = prop_find(prop);
	struct table t;
	const char *head[] = {"UUID", "TAG", "VALUE", NULL};
	table_init(&t, head, NULL);
	for (size_t i = 0; i < zt.nrows; i++) {
		_cleanup_free_ char *js = value_json(p, zt.rows[i].v[2]);
		const char *json[] = {NULL, NULL, js};
		table_add_json(&t, (const char *const *)zt.rows[i].v, json);
	}
	int rc = table_emit(&t, fmt, NULL, NULL, "get");
	table_free(&t);
	return rc;
}

int cmd_get(int argc, char **argv)
{
	int c, nfmt = 0;
	bool recursive = false;
	enum outfmt fmt = OUT_TABLE;
	while ((c = cmd_getopt("get", argc, argv, "rHj")) != -1) {
		if (outfmt_opt(c, &fmt, &nfmt))
			continue;
		if (c == 'r')
			recursive = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	int u = outfmt_check("get", nfmt);
	if (u >= 0)
		return u;
	int n = argc - optind;
	if (recursive) {
		if (n != 1)
			return usage_err("get", "get -r takes exactly one property");
		return get_recursive(argv[optind], fmt);
	}
	if (n != 2)
		return usage_err("get", "expected PROP|all and NAME|default");
	const char *prop = argv[optind], *name = argv[optind + 1];
	if (streq(name, "default"))
		return get_default(prop, fmt, "get");
	if (!streq(prop, "all") && !prop_lookup(prop))
		return CMD_ERR;
	_cleanup_jail_ struct jail *j = jail_resolve(name);
	if (!j)
		return CMD_ERR;
	if (!streq(prop, "all"))
		return emit_one(prop_find(prop), jail_prop_named(j, prop), fmt, "VALUE");
	struct table t;
	const char *head[] = {"PROPERTY", "VALUE", NULL};
	table_init(&t, head, NULL);
	for (size_t i = 0; i < prop_count; i++)
		add_prop_row(&t, &prop_table[i], jail_prop(j, (enum prop_id)i));
	int rc = table_emit(&t, fmt, NULL, NULL, "get");
	table_free(&t);
	return rc;
}

int cmd_set(int argc, char **argv)
{
	int opt = cmd_flag("set", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	int n = argc - optind;
	if (n < 2)
		return usage_err("set", "expected PROP=VALUE... and NAME|default");
	const char *name = argv[argc - 1];
	if (strchr(name, '=') != NULL)
		return usage_err(
			"set", "the last argument must be a jail name or default, not '%s'", name);
	_cleanup_kv_ struct kv set = {0};
	if (!parse_assignments("set", argv + optind, n - 1, &set))
		return CMD_USAGE;
	int rc = streq(name, "default") ? defaults_set(&set) : jail_set(name, &set);
	return rc < 0 ? CMD_ERR : CMD_OK;
}

int cmd_defaults(int argc, char **argv)
{
	int c, nfmt = 0;
	enum outfmt fmt = OUT_TABLE;
	while ((c = cmd_getopt("defaults", argc, argv, "Hj")) != -1)
		if (!outfmt_opt(c, &fmt, &nfmt))
			return c == 'h' ? CMD_OK : CMD_USAGE;
	int u = outfmt_check("defaults", nfmt);
	if (u >= 0)
		return u;
	if (optind < argc)
		return usage_err("defaults", "unexpected argument '%s'", argv[optind]);
	return get_default("all", fmt, "defaults");
}

int cmd_reset(int argc, char **argv)
{
	int c;
	while ((c = cmd_getopt("reset", argc, argv, "f")) != -1)
		if (c != 'f')
			return c == 'h' ? CMD_OK : CMD_USAGE;
	if (argc - optind != 1)
		return usage_err("reset", "expected one NAME or ALL");
	const char *name = argv[optind];
	_cleanup_kv_ struct kv saved = {0};
	if (defaults_load(&saved) < 0)
		return CMD_ERR;
	if (!streq(name, "ALL")) {
		_cleanup_jail_ struct jail *j = jail_resolve(name);
		if (!j || jail_reset(j->uuid, &saved) < 0)
			return CMD_ERR;
		printf("%s (%s): properties reset\n", j->uuid, jail_prop(j, P_TAG));
		return CMD_OK;
	}
	struct jail_brief *b;
	size_t n;
	if (jail_scan(&b, &n) < 0)
		return CMD_ERR;
	int rc = CMD_OK;
	for (size_t i = 0; i < n; i++) {
		if (jail_reset(b[i].uuid, &saved) < 0) {
			ioc_err_print();
			rc = CMD_ERR;
		} else {
			printf("%s (%s): properties reset\n", b[i].uuid, b[i].tag);
		}
	}
	jail_brief_free(b, n);
	if (rc == CMD_ERR)
		ioc_err("some jails could not be reset (see above)");
	return rc;
}

static void man_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			fputc(*s, stdout);
	}
}

/* Hidden: print the manual's property section (roff) from the table. */
int cmd_manprops(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static const char *groups[] = {
		"Identity", "Network",         "Commands run at start and stop",
		"Security", "Resource limits", "ZFS"};
	for (int g = PG_IDENTITY; g <= PG_ZFS; g++) {
		printf(".SS %s\n", groups[g]);
		for (size_t i = 0; i < prop_count; i++) {
			const struct propdef *p = &prop_table[i];
			if ((int)p->group != g)
				continue;
			printf(".TP\n.B ");
			man_escape(p->name);
			printf("\n");
			man_escape(p->help);
			printf(".\n.br\nValues: ");
			if (p->type == PT_LIMIT)
				man_escape("off | AMOUNT:ACTION");
			else
				man_escape(p->values ? p->values : "");
			printf(". Default: ");
			const char *note = prop_default_note(p);
			char *d = note ? xstrdup(note) : prop_builtin_default(p, NULL);
			man_escape(d);
			free(d);
			if (p->flags & PF_RO)
				printf(". Read-only");
			if (p->flags & PF_CREATE)
				printf(". Create time only");
			printf(".\n");
		}
	}
	return 0;
}
