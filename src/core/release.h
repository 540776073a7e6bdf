/*
 * Releases: root trees POOL/iocell/releases/REL/root (snapshot @release) fetched from
 * rootfs tarballs or by debootstrap, and the basejail masters POOL/iocell/base/REL/DIR
 * made from them (basejail.h).  The modules: fetch.c (create or update, with undo),
 * sources.c and download.c (what to fetch, downloads, checksums), unpack.c (extraction,
 * debootstrap), basejail.c (masters and basejail roots), release.c (lock, listing).
 */
#ifndef IOC_RELEASE_H
#define IOC_RELEASE_H

#include "core/basejail.h"
#include "core/util.h"
#include "core/zfs.h"

/* The user properties of POOL/iocell/releases/REL: where it came from ("debootstrap SUITE
 * [MIRROR]", or the tarballs' paths or URLs) and when it was last fetched. */
#define RELEASE_PROP_SOURCE "iocell:source"
#define RELEASE_PROP_FETCHED "iocell:fetched"

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

/* Releases with their snapshot time, for list -r. */
struct release_info {
	char *name;
	char *created;
	char *used;   /* bytes */
	char *source; /* iocell:source (debootstrap suite/mirror, tarball) */
};
int release_list(struct release_info **out, size_t *n);
void release_info_free(struct release_info *r, size_t n);

#endif
