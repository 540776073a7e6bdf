/* record, package, import, export, update, upgrade (SPEC §9, §10). */
#include "cmd/cmd.h"
#include "core/artifact.h"
#include "core/image.h"
#include "core/lock.h"
#include "core/parse.h"
#include "core/pool.h"
#include "core/package.h"
#include "core/props.h"
#include "core/record.h"
#include "ops/pkgmgr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A jail resolved by name and locked; both released when it goes out of scope. */
struct locked {
	struct jail *j;
	int lk;
};

static void locked_release(struct locked *l)
{
	unlock_fd(l->lk);
	jail_free(l->j);
}
#define _cleanup_locked_ __attribute__((cleanup(locked_release)))

/* Resolve NAME and take the jail's lock. */
static bool open_locked(const char *name, struct locked *l)
{
	l->lk = -1;
	l->j = jail_resolve(name);
	if (!l->j)
		return false;
	l->lk = lock_jail(l->j->uuid, true);
	return l->lk >= 0;
}

int cmd_record(int argc, char **argv)
{
	int opt = cmd_flag("record", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 2 || !(streq(argv[optind], "start") || streq(argv[optind], "stop")))
		return usage_err("record", "expected start|stop NAME");
	bool start = streq(argv[optind], "start");
	_cleanup_locked_ struct locked l = {.lk = -1};
	if (!open_locked(argv[optind + 1], &l))
		return CMD_ERR;
	const struct jail *j = l.j;
	const char *tag = jail_prop(j, P_TAG);
	if (start) {
		if (record_start(j) < 0)
			return CMD_ERR;
		printf("recording changes of %s (%s); stop with 'iocell record stop %s'\n", j->uuid,
		       tag, tag);
		return CMD_OK;
	}
	struct record_stats st;
	if (record_stop(j, &st) < 0)
		return CMD_ERR;
	printf("recorded %lu added, %lu changed, %lu deleted into %s/recorded "
	       "(deleted paths in %s)\n",
	       st.added, st.changed, st.deleted, j->path, DELETED_LIST);
	if (st.skipped)
		printf("%lu entries not recorded (see the warnings)\n", st.skipped);
	return CMD_OK;
}

int cmd_package(int argc, char **argv)
{
	int opt = cmd_flag("package", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("package", "expected NAME");
	_cleanup_locked_ struct locked l = {.lk = -1};
	if (!open_locked(argv[optind], &l))
		return CMD_ERR;
	_cleanup_free_ char *out = NULL;
	if (package_create(l.j, &out) < 0)
		return CMD_ERR;
	printf("%s\n", out);
	return CMD_OK;
}

/* What NAME ("-": standard input) designates, verified; *path NULL for "-". */
static int import_source(const char *name, const struct kv *given, enum artifact_kind *kind,
			 char **path)
{
	*kind = AK_IMAGE;
	if (!streq(name, "-")) {
		if (artifact_find(name, kind, path) < 0 || artifact_verify(*path) < 0)
			return -1;
	} else if (isatty_in()) {
		ioc_err("import -: standard input is a terminal, not an image stream");
		ioc_hint("pipe one in: 'iocell export NAME - | iocell import -'");
		return -1;
	}
	if (*kind == AK_IMAGE && prop_kv_get(given, P_RELEASE)) {
		ioc_err("an image keeps its release; release= is for packages");
		return -1;
	}
	return 0;
}

int cmd_import(int argc, char **argv)
{
	int opt = cmd_flag("import", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("import", "expected NAME|- [PROP=VALUE ...]");
	const char *name = argv[optind];
	_cleanup_kv_ struct kv given = {0};
	if (!parse_assignments("import", argv + optind + 1, argc - optind - 1, &given))
		return CMD_USAGE;
	if (prop_kv_get(&given, P_TYPE) || prop_kv_get(&given, P_HOST_HOSTUUID)) {
		ioc_err("import sets type and host_hostuuid itself");
		return CMD_ERR;
	}
	if (!validate_assignments(&given, false) || !pool_get())
		return CMD_ERR;
	_cleanup_free_ char *path = NULL, *tag = NULL;
	enum artifact_kind kind;
	if (import_source(name, &given, &kind, &path) < 0)
		return CMD_ERR;
	int gl = lock_global();
	if (gl < 0)
		return CMD_ERR;
	char uuid[37];
	int r = kind == AK_PACKAGE
			? image_import_package(path, &given, uuid, &tag)
			: image_import_stream(path, path ? -1 : STDIN_FILENO, &given, uuid, &tag);
	if (r == 0) {
		index_put(uuid, tag);
		printf("%s (%s)\n", uuid, tag);
	}
	unlock_fd(gl);
	return r == 0 ? CMD_OK : CMD_ERR;
}

int cmd_export(int argc, char **argv)
{
	int opt = cmd_flag("export", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	int n = argc - optind;
	if (n < 1 || n > 2 || (n == 2 && !streq(argv[optind + 1], "-")))
		return usage_err("export", "expected NAME [-]");
	bool to_stdout = n == 2;
	if (to_stdout && isatty_out()) {
		ioc_err("export %s -: standard output is a terminal", argv[optind]);
		ioc_hint("pipe it: 'iocell export NAME - | ssh HOST iocell import -'");
		return CMD_ERR;
	}
	_cleanup_locked_ struct locked l = {.lk = -1};
	if (!open_locked(argv[optind], &l))
		return CMD_ERR;
	_cleanup_free_ char *out = NULL;
	if (image_export(l.j, to_stdout ? STDOUT_FILENO : -1, &out) < 0)
		return CMD_ERR;
	if (out)
		printf("%s\n", out);
	return CMD_OK;
}

int cmd_update(int argc, char **argv)
{
	int opt = cmd_flag("update", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("update", "expected NAME");
	_cleanup_locked_ struct locked l = {.lk = -1};
	if (!open_locked(argv[optind], &l))
		return CMD_ERR;
	_cleanup_free_ char *snap = NULL;
	if (pkgmgr_update(l.j, &snap) < 0)
		return CMD_ERR;
	if (snap) {
		const char *at = strchr(snap, '@');
		const char *tag = jail_prop(l.j, P_TAG);
		printf("jail %s updated; when it works, remove the back-out snapshot with "
		       "'iocell snapremove %s%s', or undo the update with 'iocell rollback %s%s'\n",
		       tag, tag, at, tag, at);
	}
	return CMD_OK;
}

int cmd_upgrade(int argc, char **argv)
{
	int opt = cmd_flag("upgrade", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("upgrade", "expected NAME [release=REL]");
	_cleanup_kv_ struct kv given = {0};
	if (!parse_assignments("upgrade", argv + optind + 1, argc - optind - 1, &given))
		return CMD_USAGE;
	for (size_t i = 0; i < given.k.n; i++)
		if (!streq(given.k.v[i], "release"))
			return usage_err("upgrade",
					 "unknown setting '%s' (upgrade takes release=REL)",
					 given.k.v[i]);
	const char *r = prop_kv_get(&given, P_RELEASE);
	_cleanup_free_ char *rel = r ? xstrdup(r) : host_codename();
	if (!valid_component(rel)) {
		ioc_err("invalid release name '%s'", rel);
		return CMD_ERR;
	}
	_cleanup_locked_ struct locked l = {.lk = -1};
	if (!open_locked(argv[optind], &l))
		return CMD_ERR;
	_cleanup_free_ char *snap = NULL;
	int live = pkgmgr_upgrade(l.j, rel, &snap);
	if (live < 0)
		return CMD_ERR;
	const char *at = strchr(snap, '@');
	const char *tag = jail_prop(l.j, P_TAG);
	const char *when = !streq(jail_prop(l.j, P_TYPE), "basejail") ? ""
			   : live ? " (under the running jail: what runs keeps the old files "
				    "until it restarts)"
				  : " (takes effect at its next start)";
	printf("jail %s upgraded to %s%s; remove the back-out snapshot with 'iocell snapremove "
	       "%s%s' when it works, or go back with 'iocell rollback %s%s'\n",
	       tag, rel, when, tag, at, tag, at);
	return CMD_OK;
}
