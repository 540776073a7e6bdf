/*
 * Packages (SPEC §9): a jail's recorded changes (record.h) as PACKAGES/UUID.tar.xz (pax
 * format, xz) with UUID.sha256 (artifact.h).  The archive holds first a ".iocell-package"
 * entry ("key=value" lines: format, release, release_guid, source_uuid, source_tag,
 * created), then the deletion list ".iocell-deleted", then the recorded tree.  Applied on
 * a jail root, the deletions come first (a path whose type changed is deleted, then
 * extracted anew), then the tree.
 */
#ifndef IOC_PACKAGE_H
#define IOC_PACKAGE_H

#include "core/jail.h"
#include "core/record.h"

#include <stdint.h>

#define PACKAGE_META ".iocell-package"

/* PACKAGES/UUID.tar.xz (+ .sha256) from the jail's recorded/.  *out: its path. */
int package_create(const struct jail *j, char **out);

/* What a package says before its files: the metadata text and the deletion list (NULL
 * when the package has none). */
struct package_head {
	char *meta, *deleted;
};
int package_read_head(const char *file, struct package_head *h);
void package_head_free(struct package_head *h);

/* Apply the package FILE (its head already read into h) on the jail root ROOT: the
 * deletions, never following a symlink, then the files, never outside ROOT (extract.h);
 * device nodes, entries outside the root and owners outside the jail's ids (0-65535) are
 * refused, xattrs dropped.  Owners are shifted by shift (the jail's idmap_shift). */
int package_apply(const char *file, const struct package_head *h, const char *root, uint32_t shift);

/* A deletion-list line as the place to delete beneath a jail root: *parent (a relative
 * path, "" for the root itself) and *leaf, the name to remove there (both malloc'd).
 * false (nothing allocated) for a line that is no plain path beneath the root (absolute
 * after its leading slashes, with a ".." component, or naming a directory as "."). */
bool deletion_split(const char *line, char **parent, char **leaf);

/* The value of KEY in TEXT of "key=value" lines (a package's metadata, os-release),
 * malloc'd; NULL when there is no such line. */
char *keyval_get(const char *text, const char *key);

#endif
