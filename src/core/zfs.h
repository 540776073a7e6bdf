/*
 * The ZFS module: the only code that runs zfs(8)/zpool(8).  argv arrays, -H output,
 * the command's stderr carried into the error message, --debug echoes each call.
 * Works with OpenZFS and zfs-fuse (see DESIGN.md for the differences handled here).
 */
#ifndef IOC_ZFS_H
#define IOC_ZFS_H

#include "core/util.h"
#include "core/spawn.h"

enum zfs_errkind { ZE_NONE, ZE_NOENT, ZE_EXISTS, ZE_BUSY, ZE_CLONES, ZE_OTHER };

/* Which ZFS runs the pools: detected once per process without running anything (the
 * OpenZFS kernel module shows as /sys/module/zfs and /dev/zfs; zfs-fuse is a daemon with
 * a socket).  IOCELL_ZFS_IMPL=openzfs|zfs-fuse overrides it (tests and bench/ compare
 * the two plans on one host; zfs-fuse's plan works on OpenZFS too, not the reverse). */
enum zfs_impl { ZFS_IMPL_ZFS_FUSE, ZFS_IMPL_OPENZFS };
enum zfs_impl zfs_impl(void);
static inline bool zfs_is_openzfs(void) { return zfs_impl() == ZFS_IMPL_OPENZFS; }
const char *zfs_impl_name(void);
/* What kind of failure the last failing zfs call reported. */
extern enum zfs_errkind zfs_lasterr;

/* A tab-separated table as printed by zfs -H. */
struct ztable {
	size_t nrows;
	struct strv *rows; /* each row's fields */
};
void ztable_parse(struct ztable *t, const char *text);
/* Append a row of n cells (copied) to an initialised table. */
void ztable_add(struct ztable *t, const char *const *cells, size_t n);
void ztable_free(struct ztable *t);

/* Simple ordered key/value list (properties). */
struct kv {
	struct strv k, v;
};
void kv_init(struct kv *kv);
void kv_free(struct kv *kv);
void kv_set(struct kv *kv, const char *k, const char *v); /* replace or append */
const char *kv_get(const struct kv *kv, const char *k);
bool kv_del(struct kv *kv, const char *k);
/* Clean-up attributes (util.h): for a zero-initialised or initialised list / table. */
static inline void cleanup_kvp(struct kv *kv) { kv_free(kv); }
static inline void cleanup_ztablep(struct ztable *t) { ztable_free(t); }
#define _cleanup_kv_ __attribute__((cleanup(cleanup_kvp)))
#define _cleanup_ztable_ __attribute__((cleanup(cleanup_ztablep)))

/* Run "zfs ARGS..." (or zpool when args->v[0] is "zpool").  out may be NULL. */
int zfs_run(const struct strv *args, char **out, const char *what);
/* Same with a NULL-terminated list of arguments. */
int zfs_runl(char **out, const char *what, ...) __attribute__((sentinel));

/* `zfs create [-p] -o k=v... DS`; props keys are full ZFS names (iocell:x, quota). */
int zfs_create(const char *ds, const struct kv *props, bool parents);
int zfs_clone(const char *snap, const char *ds, const struct kv *props);
int zfs_snapshot(const char *snap, bool recursive);
/* Destroy a dataset or snapshot.  flags: "-r", "-R", "-rR" or NULL.  Retries on busy. */
int zfs_destroy(const char *name, const char *flags);
int zfs_set(const char *ds, const char *prop, const char *value);
/* Set every property of props (full ZFS names) on ds: one `zfs set A=1 B=2 DS` on
 * OpenZFS, one call per property on zfs-fuse (which takes one a call; there a failure
 * leaves the properties before it set).  Nothing to set is no call. */
int zfs_set_many(const char *ds, const struct kv *props);
int zfs_inherit(const char *ds, const char *prop);
int zfs_rename(const char *from, const char *to);
int zfs_promote(const char *ds);
/* rollback; destroy_newer adds -r (destroys later snapshots). */
int zfs_rollback(const char *snap, bool destroy_newer);
int zfs_mount(const char *ds);
/* Mount every file system of NAME and below that can be mounted and is not (parents
 * first; one `zfs list`, then a `zfs mount` for each).  0, or -1 with the first error. */
int zfs_mount_tree(const char *name);
int zfs_unmount(const char *ds);

/* `zfs get -H -p? -o name,property,value,source PROPS DS...` parsed as a table. */
int zfs_get(struct ztable *t, const char *props, const char *const *datasets, const char *sources,
	    bool parsable, bool recursive, int depth);
/* One property's value (NULL and ZE_NOENT when the dataset does not exist). */
char *zfs_get1(const char *ds, const char *prop);

/* `zfs get -H -o name,property,value,source PROPS DS` running while the caller works:
 * begin starts it, end waits and parses (errors as zfs_get), cancel kills it. */
struct zfs_job {
	struct run r;
	struct strv argv;
};
int zfs_get_begin(struct zfs_job *job, const char *props, const char *ds);
int zfs_get_end(struct zfs_job *job, struct ztable *t);
void zfs_job_cancel(struct zfs_job *job);
/* `zfs destroy NAME` (a snapshot) running while the caller works: begin starts it (as a
 * change of the pool: in a session of its own, holding the in-flight lock), end waits for
 * it and, when it met zfs-fuse's "busy" (or could not start), destroys NAME as
 * zfs_destroy does.  end must follow begin: the job is never killed. */
void zfs_destroy_begin(struct zfs_job *job, const char *name);
int zfs_destroy_end(struct zfs_job *job, const char *name);
/* `zfs list -H -o COLS [-r] [-d N] [-t TYPE] [-s SORT] DS...` parsed as a table. */
int zfs_list(struct ztable *t, const char *cols, const char *const *datasets, int depth,
	     const char *type, const char *sort);
/* The same with -p (exact numbers).  OpenZFS only: zfs-fuse has no `zfs list -p` (use
 * zfs_get's parsable form there). */
int zfs_list_exact(struct ztable *t, const char *cols, const char *const *datasets, int depth,
		   const char *type, const char *sort);
/* `zfs diff -H -F SNAP DS` (OpenZFS only: zfs-fuse has no diff): its output in *out. */
int zfs_diff(const char *snap, const char *ds, char **out);
bool zfs_exists(const char *ds);

/* Copy snapshot SNAP into new dataset DEST: zfs send SNAP | zfs recv DEST, bytes
 * relayed through this process (progress on a terminal).  recv_flags e.g. "-u". */
int zfs_send_recv(const char *snap, const char *dest, bool replicate, const char *label);
/* zfs send [-R] SNAP into fd; hashing/progress is the caller's business through cb. */
typedef int (*zfs_chunk_cb)(const void *buf, size_t n, void *arg);
int zfs_send_to(const char *snap, bool replicate, zfs_chunk_cb cb, void *arg);
/* zfs recv DEST with its stdin fed by the reader cb (returns bytes, 0 at EOF, -1 error). */
typedef long (*zfs_read_cb)(void *buf, size_t n, void *arg);
/* What a receive sets (-o PROP=VALUE, full ZFS names) and leaves out of the stream (-x
 * PROP) on the received dataset; OpenZFS only (NULL for nothing). */
struct zfs_recv_props {
	const struct kv *set;
	const struct strv *exclude;
};
int zfs_recv_from(const char *dest, zfs_read_cb rd, void *arg, bool force,
		  const struct zfs_recv_props *props);
/* `zfs recv DEST` reading the stream straight from fd (a file: no relay).  received:
 * if not NULL (initialised), gets the snapshots made (DS@SNAP, from `zfs recv -v`). */
int zfs_recv_fd(const char *dest, int fd, struct strv *received,
		const struct zfs_recv_props *props);

/* zpool */
int zpool_names(struct strv *names);
int zpool_create_file(const char *pool, const char *file, const char *mountpoint);

#endif
