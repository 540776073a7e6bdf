/* libnftables through its JSON API (see nft.h). */
#include "linux/nft.h"
#include "core/util.h"

#include <nftables/libnftables.h>
#include "core/lazylib.h" /* after the library's header */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A context with buffered output and errors, JSON in and out. */
static struct nft_ctx *ctx_new(const struct lazy_nft *L)
{
	struct nft_ctx *x = L->nft_ctx_new(NFT_CTX_DEFAULT);
	if (!x) {
		ioc_err("cannot create a libnftables context");
		return NULL;
	}
	L->nft_ctx_output_set_flags(x, NFT_CTX_OUTPUT_JSON);
	if (L->nft_ctx_buffer_output(x) < 0 || L->nft_ctx_buffer_error(x) < 0) {
		L->nft_ctx_free(x);
		ioc_err("cannot set up a libnftables context");
		return NULL;
	}
	return x;
}

/* libnftables' error text on one line. */
static char *one_line(const char *e)
{
	char *s = xstrdup(e && *e ? e : "no message");
	chomp(s);
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return s;
}

static int run(const struct lazy_nft *L, struct nft_ctx *x, const char *json, const char *what)
{
	if (L->nft_run_cmd_from_buffer(x, json) == 0)
		return 0;
	_cleanup_free_ char *msg = one_line(L->nft_ctx_get_error_buffer(x));
	ioc_err("cannot %s in nftables table inet " NFT_TABLE ": %s", what, msg);
	return -1;
}

int nft_batch(const char *json, const char *what)
{
	const struct lazy_nft *L = lazy_nft_try();
	if (!L)
		return -1;
	struct nft_ctx *x = ctx_new(L);
	if (!x)
		return -1;
	if (ioc_debug)
		fprintf(stderr, "+ nft -j -f - <<< %s\n", json);
	int rc = run(L, x, json, what);
	L->nft_ctx_free(x);
	return rc;
}

char *nft_list_table(bool *absent)
{
	*absent = false;
	const struct lazy_nft *L = lazy_nft_try();
	if (!L)
		return NULL;
	struct nft_ctx *x = ctx_new(L);
	if (!x)
		return NULL;
	static const char req[] =
		"{\"nftables\":[{\"list\":{\"table\":{\"family\":\"inet\",\"name\":\"" NFT_TABLE
		"\"}}}]}";
	char *out = NULL;
	if (L->nft_run_cmd_from_buffer(x, req) == 0) {
		out = xstrdup(L->nft_ctx_get_output_buffer(x));
	} else {
		const char *e = L->nft_ctx_get_error_buffer(x);
		if (e && strstr(e, "No such file or directory")) {
			*absent = true;
		} else {
			_cleanup_free_ char *msg = one_line(e);
			ioc_err("cannot list nftables table inet " NFT_TABLE ": %s", msg);
		}
	}
	L->nft_ctx_free(x);
	return out;
}
