/* create, clone: arguments and output; the transactions are core/create.c's and
 * core/clone.c's. */
#include "cmd/cmd.h"
#include "core/clone.h"
#include "core/create.h"
#include "core/destroy.h"
#include "ops/pkgmgr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_made(const char *uuid, const char *tag, void *arg)
{
	(void)arg;
	printf("%s (%s)\n", uuid, tag);
	fflush(stdout);
}

/* With a pkglist the jails are announced once their packages are in. */
static void note_made(const char *uuid, const char *tag, void *arg)
{
	sv_addf((struct strv *)arg, "%s (%s)", uuid, tag);
}

/* A failed pkglist undoes the create (atomic, as every create): the jails it made are
 * destroyed again, keeping the error that says which packages failed. */
static void remove_made(const struct strv *made)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t k = 0; k < made->n; k++) {
		_cleanup_destroy_plan_ struct destroy_plan p;
		if (destroy_prepare(&p, made->v[k], true, false) < 0 ||
		    destroy_execute(&p, NULL, NULL) < 0) {
			ioc_warn("could not remove jail %s again: %s", made->v[k], ioc_errmsg());
			ioc_err_clear();
		}
	}
	ioc_err_restore(&keep);
}

int cmd_create(int argc, char **argv)
{
	int c;
	enum create_kind kind = CREATE_THICK;
	int nflags = 0;
	while ((c = cmd_getopt("create", argc, argv, "cbe")) != -1) {
		switch (c) {
		case 'c':
			kind = CREATE_CLONE;
			nflags++;
			break;
		case 'b':
			kind = CREATE_BASE;
			nflags++;
			break;
		case 'e':
			kind = CREATE_EMPTY;
			nflags++;
			break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (nflags > 1)
		return usage_err("create", "-c, -b and -e exclude each other");
	_cleanup_kv_ struct kv given = {0};
	if (!parse_assignments("create", argv + optind, argc - optind, &given))
		return CMD_USAGE;
	long long count = 1;
	const char *cs = kv_get(&given, "count");
	if (cs) {
		if (!parse_int(cs, 1, 1000, &count))
			return usage_err("create", "count=%s is not a number from 1 to 1000", cs);
		kv_del(&given, "count");
	}
	const char *pk = prop_kv_get(&given, P_PKGLIST);
	bool packages = pk && !streq(pk, "none");
	_cleanup_strv_ struct strv made = {0}, lines = {0};
	sv_init(&made);
	sv_init(&lines);
	struct create_req req = {.kind = kind,
				 .given = &given,
				 .count = (int)count,
				 .made = packages ? note_made : print_made,
				 .arg = &lines};
	if (create_jails(&req, &made) < 0)
		return CMD_ERR;
	if (!packages)
		return CMD_OK;
	/* Packages take long: create_jails has let other creates go on meanwhile.  The first
	 * jail whose packages fail (each failure reported by name) undoes the whole create. */
	for (size_t k = 0; k < made.n; k++) {
		if (pkgmgr_install_pkglist(made.v[k], pk) < 0) {
			remove_made(&made);
			ioc_err_ctx("create undone (no jail kept)");
			return CMD_ERR;
		}
	}
	for (size_t k = 0; k < lines.n; k++)
		printf("%s\n", lines.v[k]);
	return CMD_OK;
}

int cmd_clone(int argc, char **argv)
{
	int opt = cmd_flag("clone", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("clone", "expected NAME[@SNAP]");
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *snap = NULL;
	split_name_snap(argv[optind], &name, &snap);
	_cleanup_kv_ struct kv given = {0};
	if (!parse_assignments("clone", argv + optind + 1, argc - optind - 1, &given))
		return CMD_USAGE;
	char uuid[37];
	_cleanup_free_ char *tag = NULL;
	if (clone_jail(name, snap, &given, uuid, &tag) < 0)
		return CMD_ERR;
	printf("%s (%s)\n", uuid, tag);
	return CMD_OK;
}
