/* get, set, defaults, reset, and the manual's property section. */
#include "cmd/cmd.h"
#include "core/lock.h"
#include "core/pool.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Effective default: saved default, else built-in (or its description). */
static const char *effective_default(const struct propdef *p, const struct kv *saved, char **tmp)
{
	const char *v = kv_get(saved, p->name);
	if (v)
		return v;
	const char *note = prop_default_note(p);
	if (note)
		return note;
	*tmp = prop_builtin_default(p, NULL);
	return *tmp;
}

static int get_default(const char *prop, bool script)
{
	struct kv saved;
	if (defaults_load(&saved) < 0) {
		kv_free(&saved);
		return CMD_ERR;
	}
	int rc = CMD_OK;
	if (streq(prop, "all")) {
		struct table t;
		const char *head[] = {"PROPERTY", "DEFAULT", NULL};
		table_init(&t, head);
		for (size_t i = 0; i < prop_count; i++) {
			char *tmp = NULL;
			const char *row[] = {prop_table[i].name, effective_default(&prop_table[i], &saved, &tmp)};
			table_add(&t, row);
			free(tmp);
		}
		table_print(&t, script);
		table_free(&t);
	} else {
		const struct propdef *p = prop_find(prop);
		if (!p) {
			char err[512];
			prop_settable(prop, false, err, sizeof(err));
			ioc_err("%s", err);
			rc = CMD_ERR;
		} else {
			char *tmp = NULL;
			printf("%s\n", effective_default(p, &saved, &tmp));
			free(tmp);
		}
	}
	kv_free(&saved);
	return rc;
}

/* get -r PROP: one zfs call for every jail. */
static int get_recursive(const char *prop, bool script)
{
	const struct propdef *p = prop_find(prop);
	if (!p || (p->flags & PF_DERIVED && !streq(prop, prop_name(P_MOUNTPOINT)))) {
		char err[512];
		if (!p)
			prop_settable(prop, false, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "%s cannot be read with get -r", prop);
		ioc_err("%s", err);
		return CMD_ERR;
	}
	char *zname = (p->flags & PF_DERIVED) ? xstrdup(prop) : prop_zfs_name(p, false);
	char *cols = xasprintf("name,iocell:active,iocell:host_hostuuid,iocell:tag,%s", zname);
	struct ztable zt;
	int rc = jails_query(&zt, cols, "iocell:tag") < 0 ? CMD_ERR : CMD_OK;
	if (rc == CMD_OK) {
		struct table t;
		const char *head[] = {"UUID", "TAG", "VALUE", NULL};
		table_init(&t, head);
		for (size_t i = 0; i < zt.nrows; i++) {
			struct strv *row = &zt.rows[i];
			if (row->n < 5 || !valid_uuid(row->v[2]))
				continue;
			const char *val = row->v[4];
			if (streq(val, "-"))
				val = p->def ? p->def : "none";
			const char *cells[] = {row->v[2], row->v[3], val};
			table_add(&t, cells);
		}
		table_print(&t, script);
		table_free(&t);
		ztable_free(&zt);
	}
	free(cols);
	free(zname);
	return rc;
}

int cmd_get(int argc, char **argv)
{
	int c;
	bool recursive = false, script = !isatty_out();
	while ((c = cmd_getopt("get", argc, argv, "rH")) != -1) {
		if (c == 'r')
			recursive = true;
		else if (c == 'H')
			script = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	int n = argc - optind;
	if (recursive) {
		if (n != 1)
			return usage_err("get", "get -r takes exactly one property");
		return get_recursive(argv[optind], script);
	}
	if (n != 2)
		return usage_err("get", "expected PROP|all and NAME|default");
	const char *prop = argv[optind], *name = argv[optind + 1];
	if (streq(name, "default"))
		return get_default(prop, script);
	if (!streq(prop, "all") && !prop_find(prop)) {
		char err[512];
		prop_settable(prop, false, err, sizeof(err));
		ioc_err("%s", err);
		return CMD_ERR;
	}
	struct jail *j = jail_resolve(name);
	if (!j)
		return CMD_ERR;
	if (streq(prop, "all")) {
		struct table t;
		const char *head[] = {"PROPERTY", "VALUE", NULL};
		table_init(&t, head);
		for (size_t i = 0; i < prop_count; i++) {
			const char *row[] = {prop_table[i].name, jail_prop(j, (enum prop_id)i)};
			table_add(&t, row);
		}
		table_print(&t, script);
		table_free(&t);
	} else {
		printf("%s\n", jail_prop_named(j, prop));
	}
	jail_free(j);
	return CMD_OK;
}

static int set_defaults(const struct kv *set)
{
	if (!validate_assignments(set, true))
		return CMD_ERR;
	char err[512];
	struct kv saved;
	if (defaults_load(&saved) < 0) {
		kv_free(&saved);
		return CMD_ERR;
	}
	for (size_t i = 0; i < set->k.n; i++)
		kv_set(&saved, set->k.v[i], set->v.v[i]);
	if (!props_check_config(&saved, err, sizeof(err))) {
		kv_free(&saved);
		ioc_err("the defaults would be inconsistent: %s", err);
		return CMD_ERR;
	}
	kv_free(&saved);
	char *ds = ds_defaults();
	int rc = CMD_OK;
	for (size_t i = 0; i < set->k.n; i++) {
		char *z = xasprintf(IOC_PROP_PREFIX "%s", set->k.v[i]);
		int r = zfs_set(ds, z, set->v.v[i]);
		free(z);
		if (r < 0) {
			rc = CMD_ERR;
			break;
		}
	}
	free(ds);
	return rc;
}

/* Apply new values to a loaded jail: all validated before; undo on failure. */
static int jail_apply(struct jail *j, const struct kv *set)
{
	struct kv done;
	kv_init(&done);
	int rc = 0;
	for (size_t i = 0; i < set->k.n; i++) {
		const struct propdef *p = prop_find(set->k.v[i]);
		const char *old = jail_prop(j, prop_id_of(p));
		if (streq(old, set->v.v[i]))
			continue;
		char *z = prop_zfs_name(p, false);
		char *oldcopy = xstrdup(old);
		int r = zfs_set(j->ds, z, set->v.v[i]);
		free(z);
		if (r < 0) {
			free(oldcopy);
			rc = -1;
			break;
		}
		kv_set(&done, p->name, oldcopy);
		free(oldcopy);
		kv_set(&j->props, p->name, set->v.v[i]);
	}
	if (rc < 0) {
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		for (size_t i = 0; i < done.k.n; i++) {
			const struct propdef *p = prop_find(done.k.v[i]);
			char *z = prop_zfs_name(p, false);
			if (zfs_set(j->ds, z, done.v.v[i]) < 0)
				ioc_warn("could not restore %s on %s", p->name, j->uuid);
			free(z);
		}
		ioc_err_restore(&keep);
	}
	kv_free(&done);
	if (rc == 0)
		jail_conf_save(j);
	else
		jail_conf_drop(j->uuid);
	return rc;
}

/* Checks that need the jail: uniqueness, state, type. */
static bool check_for_jail(const struct jail *j, const struct kv *set)
{
	char err[512];
	bool running = jail_running(j->uuid);
	for (size_t i = 0; i < set->k.n; i++) {
		const char *k = set->k.v[i], *v = set->v.v[i];
		const struct propdef *p = prop_find(k);
		if ((p->flags & PF_CREATE)) {
			ioc_err("%s applies at create time only", k);
			return false;
		}
		if ((p->flags & PF_STOPPED) && running && !streq(jail_prop_named(j, k), v)) {
			ioc_err("cannot change %s of %s while it is running", k, j->uuid);
			ioc_hint("stop it first with 'iocell stop %s'", jail_prop(j, P_TAG));
			return false;
		}
		if (streq(k, prop_name(P_TAG))) {
			char *owner = index_tag_owner(v, j->uuid);
			if (owner) {
				ioc_err("tag '%s' is already used by jail %s", v, owner);
				free(owner);
				return false;
			}
			if (ioc_err_pending())
				return false;
		}
		if (streq(k, prop_name(P_RELEASE)) && !streq(v, jail_prop(j, P_RELEASE))) {
			const char *type = jail_prop(j, P_TYPE);
			if (!streq(type, "basejail") && !streq(type, "emptyjail")) {
				ioc_err("cannot set release of a %s: its files come from %s", type,
					jail_prop(j, P_RELEASE));
				ioc_hint("use 'iocell upgrade %s release=%s'", jail_prop(j, P_TAG), v);
				return false;
			}
			char *rs = ds_release_snap(v);
			bool ok = zfs_exists(rs);
			free(rs);
			if (!ok) {
				ioc_err("release %s is not fetched", v);
				ioc_hint("fetch it with 'iocell fetch release=%s'", v);
				return false;
			}
		}
	}
	struct kv merged;
	kv_init(&merged);
	for (size_t i = 0; i < prop_count; i++)
		kv_set(&merged, prop_table[i].name, jail_prop(j, (enum prop_id)i));
	for (size_t i = 0; i < set->k.n; i++)
		kv_set(&merged, set->k.v[i], set->v.v[i]);
	bool ok = props_check_config(&merged, err, sizeof(err));
	kv_free(&merged);
	if (!ok)
		ioc_err("%s", err);
	return ok;
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
		return usage_err("set", "the last argument must be a jail name or default, not '%s'", name);
	struct kv set;
	if (!parse_assignments("set", argv + optind, n - 1, &set)) {
		kv_free(&set);
		return CMD_USAGE;
	}
	int rc;
	if (streq(name, "default")) {
		rc = set_defaults(&set);
		kv_free(&set);
		return rc;
	}
	if (!validate_assignments(&set, false)) {
		kv_free(&set);
		return CMD_ERR;
	}
	bool names = prop_kv_get(&set, P_TAG) != NULL;
	int gl = names ? lock_global() : -1;
	if (names && gl < 0) {
		kv_free(&set);
		return CMD_ERR;
	}
	struct jail *j = jail_resolve(name);
	int jl = j ? lock_jail(j->uuid, true) : -1;
	rc = CMD_ERR;
	if (j && jl >= 0 && check_for_jail(j, &set) && jail_apply(j, &set) == 0) {
		rc = CMD_OK;
		if (names)
			index_put(j->uuid, jail_prop(j, P_TAG));
	}
	unlock_fd(jl);
	unlock_fd(gl);
	jail_free(j);
	kv_free(&set);
	return rc;
}

int cmd_defaults(int argc, char **argv)
{
	int c;
	bool script = !isatty_out();
	while ((c = cmd_getopt("defaults", argc, argv, "H")) != -1) {
		if (c == 'H')
			script = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	if (optind < argc)
		return usage_err("defaults", "unexpected argument '%s'", argv[optind]);
	return get_default("all", script);
}

static int reset_one(const char *uuid, const struct kv *saved)
{
	int lk = lock_jail(uuid, true);
	if (lk < 0)
		return -1;
	struct jail *j = jail_load(uuid);
	int rc = -1;
	if (!j)
		goto out;
	if (jail_running(uuid)) {
		ioc_err("cannot reset %s while it is running", uuid);
		ioc_hint("stop it first");
		goto out;
	}
	char *root = jail_root(j);
	struct defctx dc = {.uuid = j->uuid, .host_release = jail_prop(j, P_RELEASE), .root = root};
	struct kv want;
	kv_init(&want);
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		if (p->flags & (PF_RO | PF_IDENTITY | PF_DERIVED | PF_CREATE))
			continue;
		const char *v = kv_get(saved, p->name);
		char *b = v ? xstrdup(v) : prop_builtin_default(p, &dc);
		kv_set(&want, p->name, b);
		free(b);
	}
	free(root);
	rc = jail_apply(j, &want);
	kv_free(&want);
out:
	jail_free(j);
	unlock_fd(lk);
	return rc;
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
	struct kv saved;
	if (defaults_load(&saved) < 0) {
		kv_free(&saved);
		return CMD_ERR;
	}
	int rc = CMD_OK;
	if (streq(name, "ALL")) {
		struct jail_brief *b;
		size_t n;
		if (jail_scan(&b, &n) < 0) {
			kv_free(&saved);
			return CMD_ERR;
		}
		for (size_t i = 0; i < n; i++) {
			if (reset_one(b[i].uuid, &saved) < 0) {
				ioc_err_print();
				rc = CMD_ERR;
			} else {
				printf("%s (%s): properties reset\n", b[i].uuid, b[i].tag);
			}
		}
		jail_brief_free(b, n);
		if (rc == CMD_ERR)
			ioc_err("some jails could not be reset (see above)");
	} else {
		struct jail *j = jail_resolve(name);
		if (!j || reset_one(j->uuid, &saved) < 0)
			rc = CMD_ERR;
		else
			printf("%s (%s): properties reset\n", j->uuid, jail_prop(j, P_TAG));
		jail_free(j);
	}
	kv_free(&saved);
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
	static const char *groups[] = {"Identity", "Network", "Commands run at start and stop",
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
