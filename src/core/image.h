/*
 * Images and lifecycle (SPEC §9, §10): recording a jail's changes, differential packages,
 * full exports as `zfs send -R` streams, imports of both, and the release's own package
 * manager inside a jail's filesystem (pkglist, update, upgrade).
 *
 * Recording (zfs-fuse has neither `zfs diff` nor .zfs/snapshot): `record start` snapshots
 * the jail's root as ROOT@ioc-record; `record stop` clones that snapshot read-only to a
 * temporary dataset POOL/iocell/.record-UUID and compares the two trees (never following
 * symlinks, never crossing into other datasets).  Added or changed files, symlinks,
 * directories and FIFOs are copied with their modes, owners and times into
 * JAILDIR/recorded/ (parents made only as needed, so no empty directories are left except
 * directories that were themselves added or changed).  Deleted paths (and paths whose type
 * changed) are listed in recorded/.iocell-deleted, one path per line, relative to the
 * jail root and starting with "/".  The clone and the baseline snapshot are then dropped.
 *
 * A package (PACKAGES/UUID.tar.xz, pax format, xz) holds first a ".iocell-package" entry
 * ("key=value" lines: format, release, release_guid, source_uuid, created), then the
 * deletion list ".iocell-deleted", then the recorded tree.  UUID.sha256 is in sha256sum
 * format.
 *
 * An image (IMAGES/UUID.zfs) is `zfs send -R JAILDS@ioc-export_DATE`.  The export snapshot
 * is removed from the exported jail afterwards and from the imported jail after receiving
 * (the jail's own snapshots travel with it and stay).
 */
#ifndef IOC_IMAGE_H
#define IOC_IMAGE_H

#include "core/jail.h"

#define RECORD_SNAP "ioc-record"
#define DELETED_LIST ".iocell-deleted"
#define PACKAGE_META ".iocell-package"
#define EXPORT_SNAP_PREFIX "ioc-export_"

/* record start / stop on a loaded jail (the caller holds its lock). */
int image_record_start(const struct jail *j);
/* Writes recorded/ and reports counts. */
struct record_stats {
	unsigned long added, changed, deleted, skipped;
};
int image_record_stop(const struct jail *j, struct record_stats *st);

/* package: PACKAGES/UUID.tar.xz (+ .sha256) from the jail's recorded/.  *out: its path. */
int image_package(const struct jail *j, char **out);

/* What a NAME given to import designates. */
enum image_kind { IK_PACKAGE, IK_IMAGE };
/* Find PACKAGES/NAME*.tar.xz or IMAGES/NAME*.zfs (exactly one, else an error listing
 * the candidates).  *path: malloc'd. */
int image_find(const char *name, enum image_kind *kind, char **path);
/* Verify FILE against FILE-without-extension.sha256 (required). */
int image_verify(const char *file);

/* Import a package as a new clone jail of its release.  given: validated properties
 * from the command line.  Prints nothing; fills uuid and tag (malloc'd). */
int image_import_package(const char *file, const struct kv *given, char uuid[37], char **tag);
/* Import an image stream: from file (verified by the caller) or from fd (file NULL). */
int image_import_stream(const char *file, int fd, const struct kv *given, char uuid[37],
			char **tag);
/* Export a stopped jail (the caller holds its lock): into IMAGES/UUID.zfs (+ .sha256)
 * when fd < 0 (then *out is the path), else to fd. */
int image_export(const struct jail *j, int fd, char **out);

/* The package manager found in a root tree. */
enum pkgmgr { PM_NONE, PM_APT, PM_APK, PM_PKG };
enum pkgmgr pkgmgr_detect(const char *root);
const char *pkgmgr_name(enum pkgmgr pm);

/* Install every package listed in FILE (one name a line, # comments) in the stopped
 * jail's filesystem with its package manager and the host's network.  Each failure is
 * reported by name; returns -1 when any failed. */
int image_install_pkglist(const char *uuid, const char *file);

/* update: back-out snapshot ioc-update_DATE, then the updater (the caller holds the
 * jail's lock).  *snap: the snapshot's full name. */
int image_update(struct jail *j, char **snap);
/* upgrade to release NEW (back-out snapshot, rolled back on failure). */
int image_upgrade(struct jail *j, const char *newrel, char **snap);

#endif
