/* create, clone: arguments and output; the transactions are core/create.c's and
 * core/clone.c's. */
#include "cmd/cmd.h"
#include "core/clone.h"
#include "core/create.h"
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
	_cleanup_strv_ struct strv made = {0};
	sv_init(&made);
	struct create_req req = {
		.kind = kind, .given = &given, .count = (int)count, .made = print_made};
	if (create_jails(&req, &made) < 0)
		return CMD_ERR;
	const char *pk = prop_kv_get(&given, P_PKGLIST);
	if (!pk || streq(pk, "none"))
		return CMD_OK;
	/* Packages take long: create_jails has let other creates go on meanwhile.  A failure
	 * keeps the jails and reports each failed package by name. */
	int rc = CMD_OK;
	for (size_t k = 0; k < made.n; k++) {
		if (pkgmgr_install_pkglist(made.v[k], pk) < 0) {
			if (k + 1 < made.n)
				ioc_err_print();
			rc = CMD_ERR;
		}
	}
	return rc;
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
