/*
 * clone NAME[@SNAP] (SPEC §3, §8): a new jail as a ZFS clone of a jail or template, with a
 * new identity.  jail_reidentify() is that identity change, for every way a jail is
 * copied (clone; an imported image).
 */
#ifndef IOC_CLONE_H
#define IOC_CLONE_H

#include "core/jail.h"

/* The property changes that give a copy of SRC (its properties as loaded; its identity is
 * its host_hostuuid) the identity UUID and TAG: host_hostuuid and tag, the hostname when
 * it was the old UUID, every vnetN_mac back to none (generated again at first start),
 * jail_zfs_dataset when it was the old jail's default, last_started none.  changes:
 * initialised here. */
void jail_reidentify(const struct jail *src, const char *uuid, const char *tag, struct kv *changes);

/* The properties of a clone of SRC: SRC's own, reidentified, a stopped non-template
 * clonejail (boot off), then the given ones. */
void clone_props(const struct jail *src, const char *uuid, const char *tag, const struct kv *given,
		 struct kv *out);

/* Clone the jail NAME at its snapshot SNAP (NULL: at a new snapshot, removed again when
 * the clone fails) with the given properties (validated here).  Takes the global lock.
 * Fills uuid and *tag (malloc'd).  On failure nothing is left. */
int clone_jail(const char *name, const char *snap, const struct kv *given, char uuid[37],
	       char **tag);

#endif
