/*
 * Basejails: their system directories (basejail_dirs, where real directories in the
 * release) are read-only ZFS clones of the release's masters POOL/iocell/base/REL/DIR,
 * which a fetch makes and refreshes (snapshot @release); the rest of the release is the
 * jail's own copy.  The clones are re-made from the jail's current release at every
 * start, so all basejails of a release pick up its update.
 */
#ifndef IOC_BASEJAIL_H
#define IOC_BASEJAIL_H

#include "core/jail.h"

#include <stdint.h>

/* System directories that basejails share read-only (where real directories). */
extern const char *const basejail_dirs[];

/* Build a basejail's root dataset ROOT_DS for release REL (the caller holds
 * release_lock(REL)): its own copy of the release's non-system directories plus
 * read-only clones of the masters.  Its own files are shifted to shift (core/idmap.h)
 * before the clones are mounted; the clones keep the release's ids (where the file system
 * has no idmapped mounts the jail sees their files as owned by nobody).  On failure
 * ROOT_DS is gone again. */
int release_make_basejail_root(const char *rel, const char *root_ds, uint32_t shift);

/* At start: replace the jail's system-directory clones by clones of its release's
 * current masters. */
int basejail_reclone(const struct jail *j);

#endif
