/* Fuzz target: the text of sources and lists iocell reads from outside: a jail's apt
 * sources switched to another suite (swap_suite, at upgrade), SHA256SUMS and NAME.sha256
 * files from a mirror (sha256_lookup), the host's apt sources (debian_mirror_in_list,
 * debian_mirror_in_deb822), a pkglist file (pkglist_parse, valid_pkgname), os-release
 * (keyval_get) and URLs (join_url, url_basename).  Input: TEXT, a NUL, OLD, a NUL, NEW. */
#include "fuzz.h"

#include "core/download.h"
#include "core/fetch.h"
#include "core/package.h"
#include "core/sha256.h"
#include "ops/pkgmgr.h"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[3];
	fuzz_parts(data, size, part, 3);
	const char *text = part[0], *old = part[1], *new = part[2];

	char *out = NULL;
	int n = swap_suite(text, old, new, &out);
	FUZZ_CHECK(n >= 0 && out);
	if (n == 0)
		FUZZ_CHECK(strcmp(out, text) == 0);
	FUZZ_CHECK(strlen(out) == strlen(text) + (size_t)n * strlen(new) - (size_t)n * strlen(old));
	free(out);

	char hex[SHA256_HEX_LEN + 1];
	for (int any = 0; any < 2; any++)
		if (sha256_lookup(text, *old ? old : NULL, any, hex)) {
			FUZZ_CHECK(strlen(hex) == SHA256_HEX_LEN && sha256_valid_hex(hex));
			for (size_t i = 0; i < SHA256_HEX_LEN; i++)
				FUZZ_CHECK(!isupper((unsigned char)hex[i]));
		}

	char *m = debian_mirror_in_list(text);
	FUZZ_CHECK(!m || strncmp(m, "http", 4) == 0);
	free(m);
	m = debian_mirror_in_deb822(text);
	FUZZ_CHECK(!m || strncmp(m, "http", 4) == 0);
	free(m);

	struct strv names;
	sv_init(&names);
	pkglist_parse(text, &names);
	for (size_t i = 0; i < names.n; i++) {
		FUZZ_CHECK(*names.v[i] && !strpbrk(names.v[i], " \t\r\n#"));
		(void)valid_pkgname(names.v[i]);
	}
	sv_free(&names);

	char *codename = keyval_get(text, "VERSION_CODENAME");
	free(codename);

	char *url = join_url(old, new);
	const char *base = url_basename(url);
	FUZZ_CHECK(base >= url && base <= url + strlen(url));
	free(url);

	ioc_err_clear();
	fuzz_parts_free(part, 3);
	return 0;
}
