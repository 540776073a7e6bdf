/*
 * New jails (SPEC §3 create, §8): thick (a `zfs send | zfs recv` copy of the release),
 * clone (-c, a ZFS clone of the release), basejail (-b) and empty (-e), COUNT at once.
 * Atomic: a failure removes every jail the call made; the jails become visible together,
 * in one step (core/heal.h), so that an interruption leaves all of them or none.
 */
#ifndef IOC_CREATE_H
#define IOC_CREATE_H

#include "core/jail.h"

enum create_kind { CREATE_THICK, CREATE_CLONE, CREATE_BASE, CREATE_EMPTY };

struct create_req {
	enum create_kind kind;
	const struct kv *given; /* PROP=VALUE of the command line (count= taken out) */
	int count;              /* 1..1000 jails */
	/* Told of each jail once all of them are made and committed. */
	void (*made)(const char *uuid, const char *tag, void *arg);
	void *arg;
};
/* Validate, take the global lock (and the release's), make the jails, release the locks.
 * made (initialised by the caller) receives their UUIDs.  0, or -1 with the error
 * recorded, the jails made removed and made emptied. */
int create_jails(const struct create_req *r, struct strv *made);

/* The full property set of a new jail: built-in defaults < saved defaults < given, then
 * its identity (host_hostuuid, type, release, tag; last_started none).  inspect_root: a
 * root tree the computed defaults (exec_start...) look at, or NULL. */
void create_props(struct kv *out, const char *uuid, const char *type, const char *release,
		  const char *tag, const struct kv *saved, const struct kv *given,
		  const char *inspect_root);

/* A tag for a new jail: WANT itself when it was given (explicit) for one jail (an error
 * when it is taken); otherwise the first free one of WANT, WANT_2... (count 1) or
 * WANT_IDX, WANT_IDX+1... (count > 1).  NULL with the error recorded. */
char *tag_pick(const char *want, bool explicit_tag, int idx, int count);

/* Remove the half-made jail dataset DS (recursively), keeping the pending error. */
void jail_remove_halfmade(const char *ds);

#endif
