/*
 * Inside a release fetch (release_fetch in fetch.c): what the modules of a fetch share.
 *   sources.c   work out what to fetch; download (download.c) and verify tarballs
 *   unpack.c    fill the release's root: extract the tarballs, or run debootstrap
 *   basejail.c  make or refresh the basejail masters from the filled root
 *   fetch.c     create or update the release's datasets, undoing everything on failure
 * Not for use outside these modules.
 */
#ifndef IOC_FETCH_H
#define IOC_FETCH_H

#include "core/pool.h"
#include "core/release.h"

#define PREV_PREFIX "ioc-prev-"

struct fetch {
	const struct ioc_pool *pool;
	char *rel;
	bool debootstrap;
	/* tarballs, in extraction order */
	struct strv files;  /* local paths */
	struct strv labels; /* names for messages */
	char *tmpdir;       /* download directory under MOUNTROOT, removed at the end */
	bool curl_inited;
	/* debootstrap */
	char *suite, *mirror; /* mirror NULL: debootstrap's own default */
	char *source;         /* iocell:source */
	/* state */
	char *relds, *rootds, *baseds, *snap;
	bool exists;         /* releases/REL exists (update) */
	bool base_exists;    /* base/REL exists */
	struct strv snaps;   /* existing snapshots of root and masters (full names) */
	struct strv masters; /* existing master datasets */
};

/* What an update or a creation did, so that a failure can undo exactly that. */
struct undo {
	struct strv created; /* datasets created (destroy -r) */
	struct strv renamed; /* datasets whose @release became @PREV */
	struct strv snapped; /* datasets with a new @release */
};

/* sources.c: fill f->files/labels (tarballs downloaded and verified) or f->suite/mirror
 * (debootstrap), and f->source.  Nothing is created in the pool. */
int fetch_prepare_sources(struct fetch *f, const struct fetch_opts *o);
/* Is rel a suite debootstrap knows? */
bool fetch_is_suite(const char *rel);
/* Does the fetch unpack tarballs (url=, ftplocaldir=, ftpfiles=, or ftpdir= of a release
 * that is no suite) rather than debootstrap the suite rel? */
bool fetch_wants_tarball(const struct fetch_opts *o, const char *rel);
/* Remove the download directory (and release libcurl). */
void fetch_sources_free(struct fetch *f);
/* The first plain Debian mirror in apt's configuration text: a sources.list ("deb [opts]
 * URL ...") or a deb822 .sources file ("URIs: URL ..."); NULL when none. */
char *debian_mirror_in_list(const char *text);
char *debian_mirror_in_deb822(const char *text);
/* A plain file name: not empty, no "/", not "." or "..". */
bool safe_filename(const char *s);

/* unpack.c: fill root from the sources. */
int fetch_fill_root(struct fetch *f, const char *root);
/* The most useful line of debootstrap's output (its last "E: " line, else the last line
 * of ROOT/debootstrap/debootstrap.log, else of out), at most 600 bytes; NULL if none. */
char *debootstrap_reason(const char *out, const char *root);

/* basejail.c: make (or refresh, keeping the previous state as @prev) the basejail masters
 * POOL/iocell/base/REL/DIR@release from root, recording what was done in u. */
int fetch_make_masters(struct fetch *f, const char *root, const char *prev, struct undo *u);

/* release.c: remove the contents of directory path (the directory itself stays). */
int wipe_dir(const char *path);

#endif
