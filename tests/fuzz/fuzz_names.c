/* Fuzz target: the name validators, all on each input: tags, hostnames, release /
 * snapshot components, interface names, UUIDs, NAME@SNAP, dataset names (jail_zfs_dataset),
 * relative paths of archives and file names of downloads. */
#include "fuzz.h"

#include "core/extract.h"
#include "core/fetch.h"
#include "core/parse.h"
#include "core/props.h"
#include "core/snapshot.h"

#include <ctype.h>

static bool has_component(const char *s, const char *c)
{
	size_t n = strlen(c);
	for (const char *p = s; p; p = strchr(p, '/')) {
		p += *p == '/';
		if (strncmp(p, c, n) == 0 && (p[n] == '/' || !p[n]))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	size_t len = strlen(s);

	const char *why = NULL;
	if (valid_tag(s, &why)) {
		FUZZ_CHECK(len >= 1 && len <= 128 && !valid_uuid(s) &&
			   isalnum((unsigned char)s[0]));
		FUZZ_CHECK(!strchr(s, '/') && !strchr(s, ' ') && strcmp(s, "ALL") != 0);
	} else {
		FUZZ_CHECK(why && *why);
	}
	if (valid_hostname(s))
		FUZZ_CHECK(len <= 253 && s[0] != '-' && s[0] != '.' && s[len - 1] != '.');
	if (valid_component(s))
		FUZZ_CHECK(!strchr(s, '/') && !strchr(s, '@') && strcmp(s, "..") != 0);
	if (valid_ifname(s))
		FUZZ_CHECK(len >= 1 && len <= 15 && !strchr(s, '/') && strcmp(s, "..") != 0);
	if (valid_uuid(s))
		FUZZ_CHECK(len == 36);
	size_t dl = date_tag_len(s);
	FUZZ_CHECK(dl == 0 || dl == 19);

	char *name, *snap;
	bool given = split_name_snap(s, &name, &snap);
	FUZZ_CHECK(given == (snap != NULL));
	if (given) {
		FUZZ_CHECK(strlen(name) + 1 + strlen(snap) == len && s[strlen(name)] == '@');
		FUZZ_CHECK(strncmp(s, name, strlen(name)) == 0 &&
			   strcmp(s + strlen(name) + 1, snap) == 0);
	} else {
		FUZZ_CHECK(strcmp(name, s) == 0);
	}
	free(name);
	free(snap);
	if (snapname_ok(s))
		FUZZ_CHECK(valid_component(s));

	char err[512];
	if (prop_validate(&prop_table[P_JAIL_ZFS_DATASET], s, err, sizeof(err)))
		FUZZ_CHECK(s[0] != '/' && !strchr(s, '@') && !has_component(s, "..") &&
			   !has_component(s, ".") && !has_component(s, ""));
	if (safe_relpath(s))
		FUZZ_CHECK(s[0] != '/' && !has_component(s, ".."));
	if (safe_filename(s))
		FUZZ_CHECK(!strchr(s, '/') && strcmp(s, "..") != 0 && strcmp(s, ".") != 0);

	ioc_err_clear();
	free(s);
	return 0;
}
