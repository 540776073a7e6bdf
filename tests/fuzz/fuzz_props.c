/* Fuzz target: prop_validate for every property (so for every property type): input
 * "NAME=VALUE".  A property added to the table (nat_forwards...) is fuzzed here with no
 * change; its seeds go to corpus/props/. */
#include "fuzz.h"

#include "core/props.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char *eq = strchr(s, '=');
	const struct propdef *p = NULL;
	if (eq) {
		*eq = '\0';
		p = prop_find(s);
	}
	if (p) {
		const char *v = eq + 1;
		char err[512] = "";
		if (prop_validate(p, v, err, sizeof(err))) {
			/* what a jail stores: one line of a `zfs get` table, never empty */
			FUZZ_CHECK(*v && !strchr(v, '\n') && !strchr(v, '\t'));
		} else {
			FUZZ_CHECK(err[0] != '\0');
		}
	}
	if (eq) {
		/* any name a user may write: settable, or why not (FreeBSD-only parameters) */
		char why[512] = "";
		for (int dflt = 0; dflt < 2; dflt++)
			if (!prop_settable(s, dflt, why, sizeof(why)))
				FUZZ_CHECK(why[0] != '\0');
	}
	ioc_err_clear();
	free(s);
	return 0;
}
