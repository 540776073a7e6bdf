/* The one libarchive extraction loop: see extract.h. */
#include "core/extract.h"
#include "core/progress.h"
#include "core/util.h"

#include <archive.h>
#include <archive_entry.h>
#include "core/lazylib.h" /* after the library headers */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAFE_FLAGS                                                                               \
	(ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |                     \
	 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | \
	 ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR)

const char *archive_msg(struct archive *a)
{
	const char *s = archive_error_string(a);
	return s ? s : "unknown libarchive error";
}

const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

bool safe_relpath(const char *p)
{
	p = strip_dot(p);
	if (!*p || *p == '/')
		return false;
	const char *s = p;
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		while (*s == '/')
			s++;
	}
	return true;
}

/* libarchive's message with the errno it recorded ("Write failed: Disk quota exceeded"). */
static const char *write_msg(struct archive *w)
{
	static char buf[512];
	int e = archive_errno(w);
	if (e <= 0)
		return archive_msg(w);
	snprintf(buf, sizeof(buf), "%s: %s", archive_msg(w), strerror(e));
	return buf;
}

/* A warning that is a lost write: the file is not what the archive holds. */
static bool write_lost(struct archive *w)
{
	int e = archive_errno(w);
	return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG || e == EROFS;
}

static void warned(struct extract *x, struct archive *w, const char *entry)
{
	x->warnings++;
	if (!x->first_warning)
		x->first_warning = xasprintf("%s: %s", entry, archive_msg(w));
}

static void show(struct extract *x, struct archive *a, double *last)
{
	double t = now_mono();
	if (t - *last < 0.2)
		return;
	*last = t;
	la_int64_t done = archive_filter_bytes(a, -1);
	if (x->total > 0 && done >= 0)
		fprintf(stderr, "\rextracting %s: %3d%%, %llu files   ", x->label,
			(int)((unsigned long long)done * 100 / x->total), x->entries);
	else
		fprintf(stderr, "\rextracting %s: %llu files   ", x->label, x->entries);
}

/* Copy the current entry's data from a to w. */
static int copy_data(struct extract *x, struct archive *a, struct archive *w, const char *entry)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			x->fail(EXS_READ, entry, archive_msg(a), x->entries, x->arg);
			return -1;
		}
		/* libarchive reports a failed write(2) (ENOSPC, EDQUOT, EIO...) as a warning:
		 * here every write error fails the extraction (no file with holes). */
		if (archive_write_data_block(w, buf, len, off) != ARCHIVE_OK) {
			x->fail(EXS_WRITE, entry, write_msg(w), x->entries, x->arg);
			return -1;
		}
	}
}

/* One entry: 1 written, 0 skipped, -1 failed. */
static int one_entry(struct extract *x, struct archive *a, struct archive *w,
		     struct archive_entry *e)
{
	int f = x->filter ? x->filter(e, x->arg) : 1;
	if (f <= 0)
		return f;
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *entry = xstrdup(name ? name : "?");
	int r = archive_write_header(w, e);
	if (r < ARCHIVE_WARN) {
		x->fail(EXS_REFUSE, entry, archive_msg(w), x->entries, x->arg);
		return -1;
	}
	if (r == ARCHIVE_WARN)
		warned(x, w, entry);
	if (archive_entry_size(e) > 0 && copy_data(x, a, w, entry) < 0)
		return -1;
	r = archive_write_finish_entry(w);
	if (r < ARCHIVE_WARN || (r == ARCHIVE_WARN && write_lost(w))) {
		x->fail(EXS_FINISH, entry, write_msg(w), x->entries, x->arg);
		return -1;
	}
	if (r == ARCHIVE_WARN)
		warned(x, w, entry);
	return 1;
}

/* Every entry of a written by w, then w closed. */
static int extract_entries(struct archive *a, struct archive *w, struct extract *x)
{
	double last = 0;
	for (;;) {
		if (interrupt_check() < 0)
			return -1;
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			x->fail(EXS_HEADER, NULL, archive_msg(a), x->entries, x->arg);
			return -1;
		}
		r = one_entry(x, a, w, e);
		if (r < 0)
			return -1;
		x->entries += (unsigned long long)r;
		if (x->progress)
			show(x, a, &last);
	}
	int cr = archive_write_close(w);
	if (cr < ARCHIVE_WARN || (cr == ARCHIVE_WARN && write_lost(w))) {
		x->fail(EXS_CLOSE, NULL, archive_msg(w), x->entries, x->arg);
		return -1;
	}
	return 0;
}

int extract_archive(struct archive *a, struct extract *x)
{
	x->entries = x->warnings = 0;
	x->first_warning = NULL;
	struct archive *w = archive_write_disk_new();
	if (!w) {
		x->fail(EXS_NOMEM, NULL, "out of memory", 0, x->arg);
		return -1;
	}
	_cleanup_close_ int saved = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (saved < 0) {
		x->fail(EXS_CWD, NULL, strerror(errno), 0, x->arg);
		archive_write_free(w);
		return -1;
	}
	archive_write_disk_set_options(w, SAFE_FLAGS | x->extra_flags);
	int rc = -1;
	if (chdir(x->dest) < 0)
		ioc_err("cannot enter %s: %s", x->dest, strerror(errno));
	else
		rc = extract_entries(a, w, x);
	if (x->progress)
		fprintf(stderr, "\rextracting %s: %llu files%s%20s\n", x->label, x->entries,
			rc == 0 ? ", done" : "", "");
	if (fchdir(saved) < 0 && rc == 0) {
		ioc_err("cannot return to the previous directory: %s", strerror(errno));
		rc = -1;
	}
	archive_write_free(w);
	return rc;
}
