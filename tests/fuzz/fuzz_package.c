/* Fuzz target: what a package (an untrusted file given to `import`) says before its
 * files: the metadata keys (keyval_get) and the deletion list, each line made into the
 * place to delete beneath the jail root (deletion_split).  Input: the metadata text, a
 * NUL, the deletion list. */
#include "fuzz.h"

#include "core/extract.h"
#include "core/package.h"
#include "core/parse.h"

static void check_deletion(const char *line)
{
	char *parent, *leaf;
	if (!deletion_split(line, &parent, &leaf)) {
		FUZZ_CHECK(!parent && !leaf);
		return;
	}
	/* one name in a directory beneath the root: never the root itself or above it */
	FUZZ_CHECK(*leaf && !strchr(leaf, '/'));
	FUZZ_CHECK(strcmp(leaf, ".") != 0 && strcmp(leaf, "..") != 0);
	FUZZ_CHECK(parent[0] != '/' && (!*parent || safe_relpath(parent)));
	free(parent);
	free(leaf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[2];
	fuzz_parts(data, size, part, 2);
	static const char *const keys[] = {"format",      "release",    "release_guid",
					   "source_uuid", "source_tag", "created"};
	for (size_t i = 0; i < FUZZ_N(keys); i++) {
		char *v = keyval_get(part[0], keys[i]);
		if (v)
			FUZZ_CHECK(!strchr(v, '\n'));
		if (i == 1 && v)
			(void)valid_component(v); /* what import checks the release with */
		free(v);
	}
	/* apply_deletions' walk over the list: each non-empty line */
	for (const char *l = part[1]; *l;) {
		size_t n = strcspn(l, "\n");
		if (n) {
			char *line = xstrndup(l, n);
			check_deletion(line);
			free(line);
		}
		l += n;
		if (*l)
			l++;
	}
	ioc_err_clear();
	fuzz_parts_free(part, 2);
	return 0;
}
