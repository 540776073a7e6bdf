/* Downloads with libcurl (http, https, ftp, file): tarballs with their SHA-256 computed
 * on the way, small checksum files into memory.  A signal caught by a fetch
 * (progress.h) aborts a transfer. */
#ifndef IOC_DOWNLOAD_H
#define IOC_DOWNLOAD_H

#include "core/sha256.h"

#include <stdbool.h>

/* libcurl's global state, once per fetch that downloads. */
int download_init(void);
void download_cleanup(void);

/* Download url into the new file path (fsync'ed), computing its SHA-256 (hex).  A
 * progress line "downloading LABEL" on a terminal.  0 or -1 with the error recorded. */
int download_file(const char *url, const char *path, const char *label,
		  char hex[SHA256_HEX_LEN + 1]);
/* A small remote text file (at most 1 MiB), malloc'd.  When absent is not NULL and the
 * server says the file does not exist, *absent is set and no error is recorded. */
char *download_text(const char *url, bool *absent);

/* a "/" b, with the slashes between them folded into one. */
char *join_url(const char *a, const char *b);
/* The last path component of url (query and fragment left out); url itself when the
 * path ends in "/". */
const char *url_basename(const char *url);

#endif
