/*
 * Changing properties (SPEC §4): set and reset of a jail with undo, the system-wide
 * defaults (`set P=V default`, `get P default`, `defaults`), and `get -r`.  Every value is
 * validated before any is applied; a failure part-way restores what was applied.
 */
#ifndef IOC_PROPSET_H
#define IOC_PROPSET_H

#include "core/jail.h"

/* Validate user assignments (PROP=VALUE) for a jail, or for the defaults: every name
 * settable, every value valid.  Error pending on failure. */
bool validate_assignments(const struct kv *set, bool for_default);
/* The property NAME, or NULL with the error recorded (unknown, or FreeBSD-only with the
 * Linux mechanism to use instead). */
const struct propdef *prop_lookup(const char *name);

/* Effective default of p: the saved default, else the built-in one (or its description
 * for computed defaults).  *tmp receives what the caller frees. */
const char *prop_effective_default(const struct propdef *p, const struct kv *saved, char **tmp);
/* `set P=V... default`: validated, checked as a whole with the saved defaults, stored on
 * the .defaults dataset. */
int defaults_set(const struct kv *set);

/* What applying SET to a jail changes: the properties whose value differs, with the new
 * values (set) and the values they replace (undo), in the order given. */
struct propset_plan {
	struct kv set, undo;
};
void propset_plan_build(const struct jail *j, const struct kv *set, struct propset_plan *pl);
void propset_plan_free(struct propset_plan *pl);
/* Apply a plan to the jail (its properties updated on the way); on a failure, what was
 * applied is restored and -1 returned with the error of the failure. */
int propset_apply(struct jail *j, const struct propset_plan *pl);

/* `set PROP=VALUE... NAME`: validate, resolve, lock, check against the jail (state,
 * unique tag, release), apply with undo, keep the name index. */
int jail_set(const char *name, const struct kv *set);

/* The values reset gives a jail: every property but identity, read-only, derived and
 * create-time ones, from the saved defaults, else the built-in defaults. */
void reset_values(const struct jail *j, const struct kv *saved, struct kv *want);
/* `reset` of one stopped jail by UUID (locks it). */
int jail_reset(const char *uuid, const struct kv *saved);

/* `get -r PROP`: one zfs call for every jail; rows UUID, TAG, VALUE (the default in
 * place of an unset value), in tag order. */
int prop_get_all_jails(const char *prop, struct ztable *out);

#endif
