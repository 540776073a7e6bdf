/*
 * Privilege of jail processes: the capability set and the seccomp deny-list.
 * Both are computed from the jail's configuration; the seccomp program is compiled once
 * per variant and cached (BPF) under the runtime directory, never at every start.
 */
#ifndef IOC_SECURITY_H
#define IOC_SECURITY_H

#include "core/jailconf.h"

#include <stdbool.h>
#include <stdint.h>

/* struct jail_security: core/jailconf.h (built from the properties or the state). */

/* Capabilities the jail keeps: a container default set plus what the allow_*
 * properties grant.  Returned as a 64-bit mask of CAP_* numbers. */
uint64_t sec_caps(const struct jail_security *s);

/* In the calling process (still fully privileged): reduce the bounding set to caps,
 * set permitted/effective/inheritable to caps, clear ambient.  Uses libcap. */
int sec_apply_caps(uint64_t caps);

/* Install the seccomp deny-list for this variant in the calling process.  The BPF
 * program is loaded from the cache in rundir (built with libseccomp the first time a
 * variant is needed, then reused).  Must be called after sec_apply_caps and as the
 * last step before exec.  Does not set no_new_privs (jail processes may run setuid
 * binaries); the caller sets it for host hooks. */
int sec_apply_seccomp(const struct jail_security *s);

/* Compile (or find cached) the BPF program for the variant: returns the path of the
 * cached file.  Exposed for tests/benchmarks. */
char *sec_seccomp_cache(const struct jail_security *s);

/*
 * Notes on the implementation (src/linux/security.c):
 * - sec_apply_caps keeps CAP_SYS_ADMIN, when the caller had it and caps lacks it, in the
 *   permitted and effective sets only (never in the bounding or inheritable set), so that
 *   the seccomp filter can still be installed without no_new_privs; sec_apply_seccomp
 *   drops it.  An exec as root drops it as well: the new image gets exactly caps.
 * - sec_seccomp_cache also keeps the program in memory; sec_apply_seccomp for that
 *   variant then reads no file.  When sec_apply_seccomp runs after pivot_root, call
 *   sec_seccomp_cache before (on the host side): rundir() there is inside the jail.
 */

#endif
