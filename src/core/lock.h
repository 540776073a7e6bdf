/* Per-jail and global locks: flock(2) on files in the runtime directory, so the
 * kernel releases them when iocell dies. */
#ifndef IOC_LOCK_H
#define IOC_LOCK_H

#include <stdbool.h>

/* Lock the jail (exclusive).  wait=false fails at once with a clear error when
 * another iocell holds it.  Returns an fd to pass to unlock, or -1. */
int lock_jail(const char *uuid, bool wait);
/* Does another iocell hold the jail's lock right now (e.g. a start in progress)? */
bool lock_jail_busy(const char *uuid);
/* The global lock serializes changes to names (create, clone, import, tag changes,
 * destroy) so tags stay unique. */
int lock_global(void);
/* The NAT lock serializes NAT address allocation, the check of forwarded ports against
 * the running jails and the changes to iocell's nftables table. */
int lock_nat(void);
void unlock_fd(int fd);
/* Clean-up attribute (util.h): `_cleanup_unlock_ int lk = lock_jail(...)` releases the
 * lock when lk goes out of scope (nothing when it is -1). */
static inline void cleanup_unlockp(int *fd) { unlock_fd(*fd); }
#define _cleanup_unlock_ __attribute__((cleanup(cleanup_unlockp)))

#endif
