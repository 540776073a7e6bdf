/* Every jail at once (SPEC §2: one zfs call whatever the number of jails), and the name
 * index: a cache under the runtime dir of every jail's UUID and tag, so a name resolves
 * without enumerating the jails (rebuilt when missing or stale). */
#ifndef IOC_JAILS_H
#define IOC_JAILS_H

#include "core/zfs.h"

/* One `zfs list` over every jail dataset (and release) with COLS (which must start with
 * "name,iocell:active,"), verifying the pool mark: rows of the visible jails only (not
 * the jails dataset's own, not staging datasets, not jails that are being created or
 * destroyed).  What an interrupted operation of a dead owner left is healed on the way
 * (core/heal.h; then the query runs once more).  sort: a column to sort by, or NULL. */
int jails_query(struct ztable *t, const char *cols, const char *sort);
/* The same with exact values (one `zfs get -Hp`: sizes in bytes, times in seconds). */
int jails_query_exact(struct ztable *t, const char *cols);

/* Every jail's UUID and tag with one zfs call (templates included); refreshes the index. */
struct jail_brief {
	char uuid[37];
	char *tag;
	bool template;
	char stamp[64]; /* a pending claim: the owner stamp (core/txn.h) of an uncommitted
			   create or rename; "" for a jail the pool has */
};
int jail_scan(struct jail_brief **out, size_t *n);
void jail_brief_free(struct jail_brief *b, size_t n);

/* start ALL, rcboot, rcshutdown: the jails (no templates; only boot=on ones when
 * only_boot), by priority then tag (one zfs call). */
struct jail_boot {
	char uuid[37];
	char *tag;
	long priority;
};
int jails_boot_order(struct jail_boot **out, size_t *n, bool only_boot);
void jail_boot_free(struct jail_boot *b, size_t n);

/* list: rows JID, UUID, BOOT, STATE, TAG, TYPE, IP4, RELEASE, PRIVILEGED, IDMAP_BASE of
 * the jails (templates: of the templates), JID and STATE from the runtime state, IP4 the
 * addresses alone (those configured, for a running jail).  Refreshes the index on the way
 * (no extra call).  stale (initialised, or NULL): the UUIDs listed whose runtime state is
 * there but which do not run (crashed, or a start or stop at work or interrupted). */
int jails_list(bool templates, struct ztable *out, struct strv *stale);
/* df: rows UUID, CRT, RES, QTA, USE, AVA, TAG of every jail, exact (CRT "1.00x", the
 * sizes in bytes, "0" for no quota or reservation). */
int jails_df(struct ztable *out);
/* "vnet0|192.0.2.10/24,vnet0|192.0.2.11/24" -> "192.0.2.10,192.0.2.11" ("-" for none). */
char *ip_column(const char *v);

/* The index file, RUNDIR/index-POOL: "UUID\tTAG\tTEMPLATE(0|1)[\tSTAMP]" lines (STAMP:
 * a pending claim, see index_claim).  index_parse keeps the well-formed lines of TEXT
 * (*out: n entries, for jail_brief_free); index_format writes them (malloc'd).  No file
 * I/O. */
void index_parse(const char *text, struct jail_brief **out, size_t *n);
char *index_format(const struct jail_brief *b, size_t n);
/* Scan every jail (one zfs call) into the index. */
int index_rebuild(void);
/* Replace the index with a complete list (e.g. what `list` has just read). */
void index_store(const struct jail_brief *b, size_t n);
int index_put(const char *uuid, const char *tag); /* add or retag */
/* Claim TAG for uuid before a change of names is committed (a new jail, a new tag): an
 * entry of its own, marked pending with this process's stamp (core/txn.h), the other
 * entries of uuid kept; index_put (or index_drop) once it is committed (or undone).  An
 * interruption leaves the index claiming too much, never too little: a pending entry of
 * a dead owner is checked against the pool when it matters. */
int index_claim(const char *uuid, const char *tag);
int index_drop(const char *uuid);
/* The index as it is, or scanned (one zfs call) when missing.  *fresh tells which. */
int index_get(struct jail_brief **b, size_t *n, bool *fresh);
/* UUID of the jail using tag (other than except_uuid), or NULL.  Uses the index; a hit
 * on a pending claim of a dead owner is checked with a scan (one zfs call). */
char *index_tag_owner(const char *tag, const char *except_uuid);
/* NAME among index entries: by exact tag, else by a UUID prefix (hex digits and dashes,
 * any case) matching one jail.  Its UUID goes to uuid ("" for none); every prefix match
 * ("UUID (tag)") to cands, when given.  NAME_NONE: not found, or ambiguous. */
enum name_hit { NAME_NONE, NAME_TAG, NAME_PREFIX };
enum name_hit index_match(const struct jail_brief *b, size_t n, const char *name, char uuid[37],
			  struct strv *cands);
/* NAME to UUID through the cached index only (no zfs call): 0 found, -1 not. */
int index_lookup(const char *name, char uuid[37]);

/* TAG for a new jail: a copy when no jail uses it; NULL with the error recorded when
 * one does ("already used by", hint: choose another) or the index cannot be read. */
char *tag_claim(const char *tag);
/* The first free tag of the series BASE_FROM, BASE_FROM+1, ... (BASE itself in place of
 * BASE_1 when bare_first), tried 10000 times; NULL when none is free (error recorded
 * only when the index cannot be read). */
char *tag_first_free(const char *base, int from, bool bare_first);

#endif
