/*
 * The files packages and exports make: PACKAGES/UUID.tar.xz and IMAGES/UUID.zfs
 * (PACKAGES and IMAGES are MOUNTROOT/packages and MOUNTROOT/images), each with a
 * UUID.sha256 beside it in sha256sum format.  An import finds one by the start of its
 * name and verifies it before anything is created.
 */
#ifndef IOC_ARTIFACT_H
#define IOC_ARTIFACT_H

#include "core/sha256.h"

/* What a NAME given to import designates. */
enum artifact_kind { AK_PACKAGE, AK_IMAGE };
/* Find PACKAGES/NAME*.tar.xz or IMAGES/NAME*.zfs (exactly one, or the one named exactly,
 * else an error listing the candidates).  *path: malloc'd. */
int artifact_find(const char *name, enum artifact_kind *kind, char **path);
/* Verify FILE against its checksum file (required). */
int artifact_verify(const char *file);
/* Write FILE's checksum file with the digest hex. */
int artifact_write_sha(const char *file, const char *hex);
/* The finished TMP becomes FILE, with its checksum file (FILE is removed again when that
 * cannot be written). */
int artifact_publish(const char *tmp, const char *file, const char *hex);
/* FILE's checksum file: FILE without ".tar.xz" (or its last extension) + ".sha256". */
char *artifact_sha_path(const char *file);
/* Where artifact_publish writes the checksum before it is complete: DIR/.NAME.sha256.partial. */
char *artifact_sha_partial(const char *file);
/* The last component of path p. */
const char *path_base(const char *p);

#endif
