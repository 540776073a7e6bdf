/* fetch: create or update a release. */
#include "cmd/cmd.h"
#include "core/props.h"
#include "core/fetch.h"
#include "core/release.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fetch_keys[] = {"release",     "ftphost", "ftpdir", "ftpfiles",
					 "ftplocaldir", "url",     "sha256", NULL};

int cmd_fetch(int argc, char **argv)
{
	int opt = cmd_flag("fetch", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	_cleanup_kv_ struct kv given = {0};
	if (!parse_assignments("fetch", argv + optind, argc - optind, &given))
		return CMD_USAGE;
	for (size_t i = 0; i < given.k.n; i++) {
		bool known = false;
		for (size_t k = 0; fetch_keys[k] && !known; k++)
			known = streq(given.k.v[i], fetch_keys[k]);
		if (!known)
			return usage_err("fetch",
					 "unknown setting '%s' (fetch takes release, ftphost, "
					 "ftpdir, ftpfiles, ftplocaldir, url, sha256)",
					 given.k.v[i]);
		if (!*given.v.v[i])
			return usage_err("fetch", "%s= needs a value", given.k.v[i]);
	}
	struct fetch_opts o = {
		.release = kv_get(&given, "release"),
		.ftphost = kv_get(&given, "ftphost"),
		.ftpdir = kv_get(&given, "ftpdir"),
		.ftpfiles = kv_get(&given, "ftpfiles"),
		.ftplocaldir = kv_get(&given, "ftplocaldir"),
		.url = kv_get(&given, "url"),
		.sha256 = kv_get(&given, "sha256"),
	};
	_cleanup_free_ char *name = o.release ? xstrdup(o.release) : host_codename();
	/* A tarball is no suite: naming it after the host's codename would mislead. */
	if (!o.release && fetch_wants_tarball(&o, name))
		return usage_err("fetch", "which release is this tarball?  Name it with "
					  "release=NAME (what 'create release=NAME' will use)");
	if (release_fetch(&o) < 0)
		return CMD_ERR;
	bool updated = false;
	unsigned long long files = 0, bytes = 0;
	release_fetch_summary(&updated, &files, &bytes);
	printf("release %s %s (%llu files, %.1f MiB)\n", name, updated ? "updated" : "fetched",
	       files, (double)bytes / (1024.0 * 1024.0));
	return CMD_OK;
}
