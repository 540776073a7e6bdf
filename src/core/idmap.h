/*
 * A jail's id range (issue 14).  Every jail owns a range of IDMAP_COUNT (65536) host ids,
 * idmap_base.., allocated once (at create, clone, import) and never handed to another
 * jail while it exists.  Its user namespace maps its uids and gids 0..65535 there.
 *
 * Ranges start at IDMAP_FIRST (1,000,000) in steps of 65536: above the ids a host hands to
 * its users (UID_MAX 60000), to systemd's dynamic users (61184-65519) and to nobody
 * (65534); a range that overlaps one delegated in /etc/subuid or /etc/subgid is skipped.
 *
 * Its files (core/idshift.h) keep the jail's own ids on disk when the file system takes
 * idmapped mounts, and are shifted to its range otherwise: idmap_shift records the base
 * they are shifted to (0: not shifted), so a shift is never applied twice and a clone or
 * an import with a new range shifts from the old one.  A privileged jail (privileged=yes,
 * the documented exception) runs without a user namespace: its files are never shifted.
 */
#ifndef IOC_IDMAP_H
#define IOC_IDMAP_H

#include "core/jail.h"

#include <stdbool.h>
#include <stdint.h>

/* What a jail's properties say. */
struct idmap {
	uint32_t base;  /* 0: none (a jail made before user namespaces) */
	uint32_t shift; /* the base its files on disk are shifted to; 0: the jail's own ids */
	bool privileged;
};
/* From a property list (a jail's, or a new jail's). */
int idmap_from_props(const struct kv *props, struct idmap *m);
int idmap_of_jail(const struct jail *j, struct idmap *m);

/* The ranges in use (see idmap_alloc_load). */
struct idmap_alloc {
	uint32_t *used;
	size_t n;
	uint32_t next;   /* no free range below */
	uint32_t *bases; /* RUNDIR/idbases as loaded, and the ranges taken since */
	size_t nbases;
};
/* Every range in use: the jails' (RUNDIR/idbases, made with one zfs list of every pool
 * when missing), those claimed by running jails, /etc/subuid, /etc/subgid.  The caller
 * holds the global lock. */
int idmap_alloc_load(struct idmap_alloc *a);
/* RUNDIR/idbases made anew from every pool (one zfs list; at activation: a pool imported
 * since is covered), under the global lock. */
int idmap_bases_reseed(void);
/* Ranges a query of the active pool saw (list): added to RUNDIR/idbases when it exists
 * and lacks them (a range given outside iocell).  The caller holds the global lock
 * (shared will do: allocations hold it exclusively). */
void idmap_bases_seen(const uint32_t *bases, size_t n);
/* (What idmap_alloc_load does, for tests:) a range in use; the ranges of a subuid/subgid
 * file's text (NAME:START:COUNT lines) avoided. */
void idmap_alloc_use(struct idmap_alloc *a, uint32_t base);
void idmap_alloc_avoid(struct idmap_alloc *a, const char *subid_text);
/* The lowest free range (then in use, and recorded in RUNDIR/idbases): its base, or 0
 * with the error recorded. */
uint32_t idmap_alloc_take(struct idmap_alloc *a);
void idmap_alloc_free(struct idmap_alloc *a);

/* A new jail's range taken from a, and where its files go (from its privileged value and
 * the pool's file system), into props (idmap_base, idmap_shift) and m. */
int idmap_assign(struct kv *props, struct idmap_alloc *a, struct idmap *m);

/* Where the files of a jail with range base go: 0 for a privileged jail or where the
 * pool's file system takes idmapped mounts (idmapped: the answer of
 * idmap_mount_supported), else base. */
uint32_t idmap_want_shift(uint32_t base, bool privileged, bool idmapped);
/* Does the active pool's file system take idmapped mounts?  (Probed once per process.)
 * 1, 0, or -1 with the error recorded. */
int idmap_pool_idmapped(void);

/* Shift the jail root directory root (the mounted root dataset of a stopped or new jail)
 * to the range at `to` (core/idshift.h).  Without force only when its top level shows
 * ids of another range (a clone or a rollback of a snapshot older than the last shift).
 * A root that is not a mount point of its own is refused (writing into an unmounted
 * mountpoint would change the host's directory).  Warns about files owned by host ids.
 * 0 or -1 with the error recorded. */
int idmap_shift_root(const char *root, uint32_t to, bool force);

/* A loaded, stopped jail's files moved to where they belong now (see idmap_want_shift),
 * its idmap_base and idmap_shift stored.  privileged: the value it is about to get.  A
 * jail without a range (made before user namespaces) gets one when may_alloc (the caller
 * holds the global lock), else that is an error. */
int idmap_settle(struct jail *j, bool privileged, bool may_alloc);

#endif
