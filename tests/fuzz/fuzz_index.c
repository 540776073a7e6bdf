/* Fuzz target: the name index (RUNDIR/index-POOL, "UUID\tTAG\tTEMPLATE" lines), which
 * resolves names without a zfs call: index_parse, its write-back round trip, and a name
 * looked up in it (index_match).  Input: NAME, a NUL, the index text. */
#include "fuzz.h"

#include "core/jails.h"
#include "core/parse.h"

#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[2];
	fuzz_parts(data, size, part, 2);
	const char *name = part[0], *text = part[1];

	struct jail_brief *b, *back;
	size_t n, nback;
	index_parse(text, &b, &n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(valid_uuid(b[i].uuid) && b[i].tag && !strchr(b[i].tag, '\t'));
	char *written = index_format(b, n);
	index_parse(written, &back, &nback);
	FUZZ_CHECK(nback == n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(b[i].uuid, back[i].uuid) == 0 &&
			   strcmp(b[i].tag, back[i].tag) == 0 && b[i].template == back[i].template);

	char uuid[37];
	struct strv cands = {0};
	sv_init(&cands);
	enum name_hit hit = index_match(b, n, name, uuid, &cands);
	if (hit == NAME_NONE) {
		FUZZ_CHECK(uuid[0] == '\0');
	} else {
		/* the jail named: by its tag, else the one whose UUID starts with NAME */
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(b[i].uuid, uuid) == 0 &&
				(hit == NAME_TAG ? strcmp(b[i].tag, name) == 0
						 : strncasecmp(b[i].uuid, name, strlen(name)) == 0);
		FUZZ_CHECK(found);
		FUZZ_CHECK(hit == NAME_TAG || cands.n == 1);
	}
	sv_free(&cands);
	free(written);
	jail_brief_free(b, n);
	jail_brief_free(back, nback);
	fuzz_parts_free(part, 2);
	return 0;
}
