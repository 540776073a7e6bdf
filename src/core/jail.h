/* The jail model: name resolution, loading and saving properties, the name index. */
#ifndef IOC_JAIL_H
#define IOC_JAIL_H

#include "core/jails.h"
#include "core/props.h"
#include "core/zfs.h"

struct jail {
	char uuid[37];
	char *ds;   /* POOL/iocell/jails/UUID */
	char *path; /* its mountpoint */
	bool mounted;
	struct kv props; /* table name -> value (stored values; see jail_prop) */
	char *txn;       /* its iocell:txn mark (core/txn.h), NULL when none */
};

/* Resolve NAME (UUID, unique UUID prefix, or exact tag) and load the jail.
 * Errors: not found (with a hint), ambiguous (listing the candidates).  A jail being
 * created or destroyed is not found; what a dead owner's interrupted operation left on
 * the jail is healed first (core/heal.h). */
struct jail *jail_resolve(const char *name);
/* jail_resolve, then take the jail's lock (waiting for it): *lockfd for unlock_fd.  NULL
 * with the error pending (and *lockfd -1) on failure. */
struct jail *jail_open_locked(const char *name, int *lockfd);
/* Load by exact UUID. */
struct jail *jail_load(const char *uuid);
/* Load the jail being made in dataset DS (a staging name, or a jail dataset still marked
 * "create" by this process) as jail UUID: its properties as they are, no visibility
 * check, nothing cached. */
struct jail *jail_load_staged(const char *ds, const char *uuid);
/* Every jail (templates included), each as jail_load makes it, with one zfs call
 * (rcboot).  0 with *out (free each with jail_free, then the array), or -1. */
int jails_load_all(struct jail ***out, size_t *n);
void jail_free(struct jail *j);
static inline void cleanup_jailp(struct jail **j) { jail_free(*j); }
#define _cleanup_jail_ __attribute__((cleanup(cleanup_jailp)))

/* Speculative loading, for start: the jail's configuration from the runtime dir's cache
 * (written by every jail_load) while the real `zfs get` runs in the background.
 * jail_resolve_spec: like jail_resolve, but returns the cached configuration when there is
 * one (sp->active then).  jail_spec_begin: start reading the real values (once; call it
 * when the caller has done its own use of the pool's filesystems, which a busy zfs-fuse
 * daemon slows down).  jail_spec_check: wait for them; 0 the same, 1 they differ
 * (sp->fresh holds the real jail: undo and start again with it), -1 error. */
struct jail_spec {
	bool active, running;
	char name[256];
	struct zfs_job job;
	struct jail *fresh;
	char *cached;   /* the pool's change token the cached configuration was read under */
	char *token;    /* the pool's change token read before the get (core/ztoken.h) */
	bool confirmed; /* the same token again: the cached configuration is the real one */
};
struct jail *jail_resolve_spec(const char *name, struct jail_spec *sp);
void jail_spec_begin(struct jail_spec *sp, const struct jail *j);
int jail_spec_check(struct jail_spec *sp, const struct jail *j);
void jail_spec_free(struct jail_spec *sp);
bool jail_same_config(const struct jail *a, const struct jail *b);
/* Store j as the cached configuration (after a change made through j), or forget it. */
void jail_conf_save(const struct jail *j);
void jail_conf_drop(const char *uuid);
/* A property's value: stored value, else the built-in default. Never NULL. */
const char *jail_prop(const struct jail *j, enum prop_id id);
/* The same by name, for names that come from outside the code (a user's `get NAME`,
 * runtime state keys); an unknown name gives "none". */
const char *jail_prop_named(const struct jail *j, const char *name);
/* The jail's root directory (path/root), malloc'd. */
char *jail_root(const struct jail *j);
bool jail_is_template(const struct jail *j);

/* A fresh random UUID, lower case. */
void jail_new_uuid(char out[37]);

/* Saved system-wide defaults (the .defaults dataset's local values); refreshes the
 * cache that defaults_load_cached reads. */
int defaults_load(struct kv *out);
/* The same from the runtime dir's cache when there is one (no zfs call): the cache is
 * written by every defaults_load and dropped when iocell changes the defaults or the
 * active pool; a value set with zfs(8) directly is seen after `iocell defaults`. */
int defaults_load_cached(struct kv *out);
void defaults_cache_drop(void);

/* Is the jail running?  (Reads the runtime state; false until the runtime exists.) */
bool jail_running(const char *uuid);
/* The JID of a running jail, or -1. */
int jail_jid(const char *uuid);

#endif
