/*
 * The forced upgrade of a running basejail (the iocell manual: "re-clone the basejail
 * filesystems while the jail is running (no downtime)"): each system directory the jail
 * has is cloned from the new release's master as JAIL/.liveN-DIR and swapped in under the
 * running jail (plat_replace_mount); the old clones stay until the jail stops (its
 * processes may use their files), and the next start re-clones as always, removing the
 * .live clones.
 */
#ifndef IOC_OPS_BASESWAP_H
#define IOC_OPS_BASESWAP_H

#include "core/jail.h"
#include "core/runstate.h"

/* Swap the system directories of the running basejail j (state rs) to release newrel's
 * masters.  On failure what was swapped is swapped back and the new clones removed
 * (-1, error recorded).  The caller holds the jail's lock and sets release= after. */
int basejail_swap_live(const struct jail *j, const struct runstate *rs, const char *newrel);

#endif
