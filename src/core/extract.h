/*
 * The one libarchive extraction loop: release tarballs into a release's root and
 * packages into a new jail's root.  Nothing is written outside the destination: libarchive
 * refuses ".." components and absolute paths and never writes through a symlink
 * (ARCHIVE_EXTRACT_SECURE_*, which work on relative paths: the loop changes the current
 * directory to the destination for its duration).  Owners are numeric (no name lookup:
 * names would map to the host's ids); modes are kept, set-id bits included.  What more a
 * caller refuses (device nodes in packages) its filter decides.
 */
#ifndef IOC_EXTRACT_H
#define IOC_EXTRACT_H

#include <stdbool.h>

struct archive;
struct archive_entry;

/* Where the loop failed, for the caller's message. */
enum extract_step {
	EXS_NOMEM,  /* the disk writer could not be made */
	EXS_CWD,    /* the current directory could not be remembered (why) */
	EXS_HEADER, /* reading the next entry's header (why: libarchive's message) */
	EXS_REFUSE, /* writing the entry's header: refused or failed */
	EXS_READ,   /* reading the entry's data */
	EXS_WRITE,  /* writing the entry's data */
	EXS_FINISH, /* finishing the entry */
	EXS_CLOSE,  /* closing the disk writer */
};

struct extract {
	const char *dest;         /* directory to extract into */
	int extra_flags;          /* ARCHIVE_EXTRACT_* flags beyond the safe, owner/mode/time set */
	const char *label;        /* with progress: the name on the progress line */
	bool progress;            /* "extracting LABEL: N% , M files" on stderr */
	unsigned long long total; /* the archive's size, for the percentage (0: unknown) */
	/* Called for every entry before it is written: 1 write it, 0 skip it, -1 refuse it
	 * (the error recorded).  May rewrite the entry's path.  NULL: write every entry. */
	int (*filter)(struct archive_entry *e, void *arg);
	/* Records the error for a failure at STEP (entry: the entry's path or NULL; why:
	 * the reason; entries: how many were extracted before). */
	void (*fail)(enum extract_step step, const char *entry, const char *why,
		     unsigned long long entries, void *arg);
	void *arg;
	/* Results: entries written; entries libarchive warned about, and the first warning
	 * ("ENTRY: why", malloc'd, the caller frees it). */
	unsigned long long entries, warnings;
	char *first_warning;
};

/* Extract every entry of the opened archive a into x->dest.  Stops at the first failure
 * (or interruption, see progress.h).  0 or -1 with the error recorded. */
int extract_archive(struct archive *a, struct extract *x);

/* libarchive's message for a, never NULL. */
const char *archive_msg(struct archive *a);

/* A relative path from an archive or a deletion list is safe: after leading "./", not
 * absolute, not empty, no ".." component. */
bool safe_relpath(const char *p);
/* p without its leading "./" components. */
const char *strip_dot(const char *p);

#endif
