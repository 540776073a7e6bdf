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

/* Resolve NAME and take the jail's lock. */
static struct jail *open_locked(const char *name, int *lk)
{
	*lk = -1;
	struct jail *j = jail_resolve(name);
	if (!j)
		return NULL;
	if ((*lk = lock_jail(j->uuid, true)) < 0) {
		jail_free(j);
		return NULL;
	}
	return j;
}

int cmd_record(int argc, char **argv)
{
	int opt = cmd_flag("record", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 2 || !(streq(argv[optind], "start") || streq(argv[optind], "stop")))
		return usage_err("record", "expected start|stop NAME");
	bool start = streq(argv[optind], "start");
	int lk;
	struct jail *j = open_locked(argv[optind + 1], &lk);
	if (!j)
		return CMD_ERR;
	int rc = CMD_ERR;
	const char *tag = jail_prop(j, P_TAG);
	if (start) {
		if (record_start(j) == 0) {
			printf("recording changes of %s (%s); stop with 'iocell record stop %s'\n", j->uuid,
			       tag, tag);
			rc = CMD_OK;
		}
	} else {
		struct record_stats st;
		if (record_stop(j, &st) == 0) {
			printf("recorded %lu added, %lu changed, %lu deleted into %s/recorded "
			       "(deleted paths in %s)\n", st.added, st.changed, st.deleted, j->path,
			       DELETED_LIST);
			if (st.skipped)
				printf("%lu entries not recorded (see the warnings)\n", st.skipped);
			rc = CMD_OK;
		}
	}
	unlock_fd(lk);
	jail_free(j);
	return rc;
}

int cmd_package(int argc, char **argv)
{
	int opt = cmd_flag("package", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("package", "expected NAME");
	int lk;
	struct jail *j = open_locked(argv[optind], &lk);
	if (!j)
		return CMD_ERR;
	char *out = NULL;
	int rc = CMD_ERR;
	if (package_create(j, &out) == 0) {
		printf("%s\n", out);
		rc = CMD_OK;
	}
	free(out);
	unlock_fd(lk);
	jail_free(j);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	int opt = cmd_flag("import", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("import", "expected NAME|- [PROP=VALUE ...]");
	const char *name = argv[optind];
	struct kv given;
	if (!parse_assignments("import", argv + optind + 1, argc - optind - 1, &given)) {
		kv_free(&given);
		return CMD_USAGE;
	}
	int rc = CMD_ERR, gl = -1;
	char *path = NULL, *tag = NULL;
	char uuid[37];
	enum artifact_kind kind = AK_IMAGE;
	if (prop_kv_get(&given, P_TYPE) || prop_kv_get(&given, P_HOST_HOSTUUID)) {
		ioc_err("import sets type and host_hostuuid itself");
		goto out;
	}
	if (!validate_assignments(&given, false) || !pool_get())
		goto out;
	if (!streq(name, "-")) {
		if (artifact_find(name, &kind, &path) < 0 || artifact_verify(path) < 0)
			goto out;
	} else if (isatty_in()) {
		ioc_err("import -: standard input is a terminal, not an image stream");
		ioc_hint("pipe one in: 'iocell export NAME - | iocell import -'");
		goto out;
	}
	if (kind == AK_IMAGE && prop_kv_get(&given, P_RELEASE)) {
		ioc_err("an image keeps its release; release= is for packages");
		goto out;
	}
	if ((gl = lock_global()) < 0)
		goto out;
	int r = kind == AK_PACKAGE ? image_import_package(path, &given, uuid, &tag)
				   : image_import_stream(path, path ? -1 : STDIN_FILENO, &given, uuid, &tag);
	if (r < 0)
		goto out;
	index_put(uuid, tag);
	printf("%s (%s)\n", uuid, tag);
	rc = CMD_OK;
out:
	unlock_fd(gl);
	free(path);
	free(tag);
	kv_free(&given);
	return rc;
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
	int lk;
	struct jail *j = open_locked(argv[optind], &lk);
	if (!j)
		return CMD_ERR;
	char *out = NULL;
	int rc = CMD_ERR;
	if (image_export(j, to_stdout ? STDOUT_FILENO : -1, &out) == 0) {
		if (out)
			printf("%s\n", out);
		rc = CMD_OK;
	}
	free(out);
	unlock_fd(lk);
	jail_free(j);
	return rc;
}

int cmd_update(int argc, char **argv)
{
	int opt = cmd_flag("update", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("update", "expected NAME");
	int lk;
	struct jail *j = open_locked(argv[optind], &lk);
	if (!j)
		return CMD_ERR;
	char *snap = NULL;
	int rc = CMD_ERR;
	if (pkgmgr_update(j, &snap) == 0) {
		if (snap) {
			const char *at = strchr(snap, '@');
			const char *tag = jail_prop(j, P_TAG);
			printf("jail %s updated; when it works, remove the back-out snapshot with "
			       "'iocell snapremove %s%s', or undo the update with 'iocell rollback %s%s'\n",
			       tag, tag, at, tag, at);
		}
		rc = CMD_OK;
	}
	free(snap);
	unlock_fd(lk);
	jail_free(j);
	return rc;
}

int cmd_upgrade(int argc, char **argv)
{
	int opt = cmd_flag("upgrade", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("upgrade", "expected NAME [release=REL]");
	struct kv given;
	if (!parse_assignments("upgrade", argv + optind + 1, argc - optind - 1, &given)) {
		kv_free(&given);
		return CMD_USAGE;
	}
	for (size_t i = 0; i < given.k.n; i++) {
		if (!streq(given.k.v[i], "release")) {
			kv_free(&given);
			return usage_err("upgrade", "unknown setting '%s' (upgrade takes release=REL)",
					 given.k.v[i]);
		}
	}
	char *rel = prop_kv_get(&given, P_RELEASE) ? xstrdup(prop_kv_get(&given, P_RELEASE)) : host_codename();
	kv_free(&given);
	int rc = CMD_ERR, lk = -1;
	struct jail *j = NULL;
	char *snap = NULL;
	if (!valid_component(rel)) {
		ioc_err("invalid release name '%s'", rel);
		goto out;
	}
	if (!(j = open_locked(argv[optind], &lk)))
		goto out;
	if (pkgmgr_upgrade(j, rel, &snap) == 0) {
		const char *at = strchr(snap, '@');
		const char *tag = jail_prop(j, P_TAG);
		printf("jail %s upgraded to %s%s; remove the back-out snapshot with 'iocell snapremove "
		       "%s%s' when it works, or go back with 'iocell rollback %s%s'\n", tag, rel,
		       streq(jail_prop(j, P_TYPE), "basejail") ? " (takes effect at its next start)" : "",
		       tag, at, tag, at);
		rc = CMD_OK;
	}
out:
	free(snap);
	free(rel);
	unlock_fd(lk);
	jail_free(j);
	return rc;
}
