/*
 * Exports and imports of jails (SPEC §9).  An image (IMAGES/UUID.zfs, with UUID.sha256,
 * see artifact.h) is `zfs send -R JAILDS@ioc-export_DATE` of a stopped jail: all its
 * datasets and properties.  The export snapshot is removed from the exported jail
 * afterwards and from the imported jail after receiving (the jail's own snapshots travel
 * with it and stay).  An imported image becomes a new jail with a new UUID and a free tag;
 * an imported package (package.h) is applied on a new clone jail of its release.
 * Recording and packaging are record.h and package.h.
 */
#ifndef IOC_IMAGE_H
#define IOC_IMAGE_H

#include "core/jail.h"

#define EXPORT_SNAP_PREFIX "ioc-export_"

/* Import a package (verified by the caller) as a new clone jail of its release.  given:
 * validated properties from the command line.  Prints nothing; fills uuid and tag
 * (malloc'd).  On failure nothing remains. */
int image_import_package(const char *file, const struct kv *given, char uuid[37], char **tag);
/* Import an image stream: from file (verified by the caller) or from fd (file NULL). */
int image_import_stream(const char *file, int fd, const struct kv *given, char uuid[37],
			char **tag);
/* Export a stopped jail (the caller holds its lock): into IMAGES/UUID.zfs (+ .sha256)
 * when fd < 0 (then *out is the path), else to fd. */
int image_export(const struct jail *j, int fd, char **out);

#endif
