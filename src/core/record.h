/*
 * Recording a jail's changes (SPEC §9).  `record start` snapshots the jail's root as
 * ROOT@ioc-record.  On zfs-fuse (no `zfs diff`, no .zfs/snapshot) `record stop` clones
 * that snapshot read-only to a temporary dataset POOL/iocell/.record-UUID and compares the
 * two trees (never following symlinks, never crossing into other datasets); on OpenZFS it
 * asks `zfs diff` which paths changed and compares only those, against the snapshot's own
 * directory ROOT/.zfs/snapshot/ioc-record (no clone: one zfs call instead of five).
 * Added or changed files, symlinks, directories and FIFOs are copied with their modes,
 * owners and times into JAILDIR/recorded/ (parents made only as needed, so no empty
 * directories are left except directories that were themselves added or changed).
 * Deleted paths (and paths whose type changed) are listed in recorded/.iocell-deleted, one
 * path per line, relative to the jail root and starting with "/".  The clone and the
 * baseline snapshot are then dropped.
 */
#ifndef IOC_RECORD_H
#define IOC_RECORD_H

#include "core/jail.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define RECORD_SNAP "ioc-record"
#define DELETED_LIST ".iocell-deleted"

/* record start / stop on a loaded jail (the caller holds its lock). */
int record_start(const struct jail *j);
/* Writes recorded/ and reports counts. */
struct record_stats {
	unsigned long added, changed, deleted, skipped;
};
int record_stop(const struct jail *j, struct record_stats *st);

/* ---- the walk (the comparison itself, on open directories) ---- */

/* How an entry of the current tree compares with the baseline's entry of the same path
 * (base NULL: there is none): a directory counts as changed when its mode or owner
 * changed; anything else also when its inode, size, mtime or ctime did (the baseline is a
 * clone of the same file system: an untouched file keeps all of them). */
enum record_change { RC_SAME, RC_ADDED, RC_CHANGED };
enum record_change record_change(const struct stat *cur, const struct stat *base);
/* A baseline entry is listed as deleted: gone from the current tree (cur NULL) or of
 * another type there. */
bool record_gone(const struct stat *base, const struct stat *cur);

/* Call fn for every entry of the directory dirfd but "." and ".." with its lstat (entries
 * that vanish meanwhile are passed over), while fn returns 0.  Returns what fn returned
 * last (0 when it was never called), or DIR_UNREADABLE with errno set, nothing recorded,
 * when the directory cannot be read.  (The walks here and packaging's.) */
#define DIR_UNREADABLE (-2)
int dir_each(int dirfd, int (*fn)(int dirfd, const char *name, const struct stat *st, void *arg),
	     void *arg);

/* Compare the current tree curfd with the baseline basefd: changes copied beneath outfd,
 * deleted paths written to del, counts added to st.  The trees' files are owned by shift
 * plus their jail id (idmap_shift); the copies get the jail ids themselves (an owner
 * outside the range becomes nobody, 65534).  0 or -1 with the error recorded. */
int record_walk(int curfd, int basefd, int outfd, FILE *del, uint32_t shift,
		struct record_stats *st);

/* OpenZFS: the same outcome from the paths `zfs diff -H -F` named instead of a walk of
 * both trees.  record_diff_paths turns its output (paths below the mount point mnt) into
 * the paths that may hold something new (created, modified, renamed to) and those that
 * may be gone (removed, renamed from), relative, sorted, each once; -1 with the error
 * recorded on a line it cannot read.  record_paths records them as record_walk would:
 * an added directory with its whole tree (zfs diff names a renamed directory, not what
 * moved with it), a directory listed for its entries only is passed over, and below a
 * path listed as deleted nothing more is listed. */
int record_diff_paths(const char *diff, const char *mnt, struct strv *changed, struct strv *gone);
int record_paths(int curfd, int basefd, int outfd, FILE *del, uint32_t shift,
		 struct record_stats *st, const struct strv *changed, const struct strv *gone);

#endif
