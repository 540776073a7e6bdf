/* Releases: fetching root trees into POOL/iocell/releases/REL/root and the basejail
 * masters POOL/iocell/base/REL/DIR. */
#ifndef IOC_RELEASE_H
#define IOC_RELEASE_H

#include "core/util.h"
#include "core/zfs.h"

/* System directories that basejails share read-only (where real directories). */
extern const char *const basejail_dirs[];

struct fetch_opts {
	const char *release;     /* name; default: host codename */
	const char *ftphost;     /* Debian/Ubuntu mirror URL for debootstrap */
	const char *ftpdir;      /* directory on the mirror (tarballs) */
	const char *ftpfiles;    /* space-separated tarball names */
	const char *ftplocaldir; /* local directory holding the tarballs */
	const char *url;         /* one tarball URL */
	const char *sha256;      /* expected hex digest of the (single) tarball */
};
/* Create or update a release.  On failure nothing half-made remains. */
int release_fetch(const struct fetch_opts *o);

/* What the last successful release_fetch did (for its one-line report). */
int release_fetch_summary(bool *updated, unsigned long long *files, unsigned long long *bytes);

/* Serialize work on a release (fetch/update against create): waits, saying so on a
 * terminal.  Returns an fd for unlock_fd(). */
int release_lock(const char *rel);

/* Build a basejail's root dataset ROOT_DS for release REL (the caller holds
 * release_lock(REL)): its own copy of the
 * release's non-system directories plus read-only clones of the masters. */
int release_make_basejail_root(const char *rel, const char *root_ds);

/* Releases with their snapshot time, for list -r. */
struct release_info {
	char *name;
	char *created;
	char *used;
	char *source;   /* iocell:source (debootstrap suite/mirror, tarball) */
};
int release_list(struct release_info **out, size_t *n);
void release_info_free(struct release_info *r, size_t n);

#endif
