/* Streaming SHA-256 (OpenSSL EVP) for release tarballs, packages and images. */
#ifndef IOC_SHA256_H
#define IOC_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#define SHA256_HEX_LEN 64

struct sha256 {
	void *md; /* EVP_MD_CTX */
};

/* Start a digest.  Returns 0, or -1 with an error recorded. */
int sha256_init(struct sha256 *h);
int sha256_update(struct sha256 *h, const void *buf, size_t n);
/* Finish into hex (65 bytes: 64 lowercase hex digits + NUL) and free the context. */
int sha256_final_hex(struct sha256 *h, char hex[SHA256_HEX_LEN + 1]);
/* Free a context that will not be finished (safe after final and on a zeroed struct). */
void sha256_free(struct sha256 *h);

/* Digest of a whole file. */
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1]);
/* Digest of a memory buffer. */
int sha256_buf(const void *buf, size_t n, char hex[SHA256_HEX_LEN + 1]);

/* 64 hex digits (either case). */
bool sha256_valid_hex(const char *s);
/* Case-insensitive comparison of two hex digests. */
bool sha256_equal(const char *a, const char *b);

/* Find the digest of NAME in checksum-file text: sha256sum lines ("HEX  NAME",
 * "HEX *NAME", "./NAME" too) or, when any_single is true and the text holds only one
 * bare digest, that digest.  Returns true and fills hex (lowercase) when found. */
bool sha256_lookup(const char *text, const char *name, bool any_single,
		   char hex[SHA256_HEX_LEN + 1]);

#endif
