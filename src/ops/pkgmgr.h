/*
 * The release's own package manager, run inside a jail's filesystem through the
 * runtime's chroot with the host's network (SPEC §10): apt-get for Debian/Ubuntu trees,
 * apk for Alpine, pkg for FreeBSD trees.  This layer sits above the model (core/) and
 * the platform: it needs both a jail's datasets and a process in its root.
 *   pkglist=FILE at create  install each package listed, reporting failures by name
 *   update                  back-out snapshot ioc-update_DATE, then the updater; a
 *                           basejail updates its release instead (a fetch again)
 *   upgrade release=NEW     back-out snapshot ioc-upgrade_DATE, then a basejail switches
 *                           its release, a Debian tree its apt suite and dist-upgrades;
 *                           rolled back on failure
 */
#ifndef IOC_OPS_PKGMGR_H
#define IOC_OPS_PKGMGR_H

#include "core/jail.h"

/* The package manager found in a root tree. */
enum pkgmgr { PM_NONE, PM_APT, PM_APK, PM_PKG };
enum pkgmgr pkgmgr_detect(const char *root);
const char *pkgmgr_name(enum pkgmgr pm);

/* Install every package listed in FILE (one name a line, # comments) in the stopped
 * jail's filesystem with its package manager and the host's network.  Each failure is
 * reported by name; returns -1 when any failed. */
int pkgmgr_install_pkglist(const char *uuid, const char *file);

/* update: back-out snapshot ioc-update_DATE, then the updater (the caller holds the
 * jail's lock).  *snap: the snapshot's full name (NULL for a basejail). */
int pkgmgr_update(struct jail *j, char **snap);
/* upgrade to release NEW (back-out snapshot, rolled back on failure).  A running
 * basejail is upgraded under the running jail (ops/baseswap.h): 1. */
int pkgmgr_upgrade(struct jail *j, const char *newrel, char **snap);

/* ---- text helpers ---- */

/* The package names of a pkglist: words separated by blanks and newlines, "#" to the end
 * of a line a comment.  Appended to names (initialised). */
void pkglist_parse(const char *text, struct strv *names);
/* A name a package manager may be given: letters, digits and + - . _ : = ~ / @, not
 * starting with "-". */
bool valid_pkgname(const char *s);
/* Replace the apt suite OLD (and OLD-updates, OLD-security, OLD/updates...) by NEW in
 * the sources text; *out: the new text.  Returns the number of replacements (none for an
 * empty OLD). */
int swap_suite(const char *text, const char *old, const char *new, char **out);

#endif
