/* activate */
#include "cmd/cmd.h"
#include "core/idmap.h"
#include "core/pool.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_activate(int argc, char **argv)
{
	int opt = cmd_flag("activate", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc) {
		const char *name = pool_active_name();
		if (!name)
			return CMD_ERR;
		printf("%s\n", name);
		return CMD_OK;
	}
	const char *pool = argv[optind];
	struct kv opts = {0};
	if (!parse_assignments("activate", argv + optind + 1, argc - optind - 1, &opts)) {
		kv_free(&opts);
		return CMD_USAGE;
	}
	for (size_t i = 0; i < opts.k.n; i++) {
		const char *k = opts.k.v[i];
		if (!streq(k, "mountpoint") && !streq(k, "file") && !streq(k, "size")) {
			kv_free(&opts);
			return usage_err("activate",
					 "unknown setting '%s' (mountpoint=, file=, size=)", k);
		}
	}
	if (kv_get(&opts, "size") && !kv_get(&opts, "file")) {
		kv_free(&opts);
		return usage_err("activate", "size= goes with file=");
	}
	_cleanup_strv_ struct strv moved = {0};
	sv_init(&moved);
	int rc = pool_activate(pool, kv_get(&opts, "mountpoint"), kv_get(&opts, "file"),
			       kv_get(&opts, "size"), &moved);
	kv_free(&opts);
	if (rc < 0)
		return CMD_ERR;
	for (size_t i = 0; i < moved.n; i++) {
		_cleanup_free_ char *other = xstrndup(moved.v[i], strcspn(moved.v[i], "/"));
		printf("%s left %s (mountpoint=none; 'iocell activate %s' brings it back)\n",
		       moved.v[i], pool_get()->mountroot, other);
	}
	/* Build the name index, read the saved defaults and the jails' id ranges of every
	 * pool now (all cached under the runtime dir), so that the first create or lookup
	 * needs no zfs call for them. */
	defaults_cache_drop();
	_cleanup_kv_ struct kv saved = {0};
	if (index_rebuild() < 0 || defaults_load(&saved) < 0 || idmap_bases_reseed() < 0)
		return CMD_ERR;
	printf("%s is active (jails under %s)\n", pool, pool_get()->mountroot);
	return CMD_OK;
}
