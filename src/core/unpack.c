/*
 * Filling a release's root: the tarballs extracted in order (core/extract.c), or
 * debootstrap run into it.  A failed debootstrap may leave /proc and /sys mounted in its
 * target: they are unmounted before the caller undoes the dataset.
 */
#include "core/extract.h"
#include "core/fetch.h"
#include "core/progress.h"
#include "core/spawn.h"

#include <archive.h>
#include <archive_entry.h>
#include "core/lazylib.h" /* after the library headers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void tarball_fail(enum extract_step step, const char *entry, const char *why,
			 unsigned long long entries, void *arg)
{
	const char *label = arg;
	switch (step) {
	case EXS_NOMEM: ioc_err("cannot extract %s: libarchive out of memory", label); break;
	case EXS_CWD: ioc_err("cannot remember the current directory: %s", why); break;
	case EXS_HEADER:
		ioc_err("cannot extract %s: corrupt or unreadable archive after %llu entries: %s",
			label, entries, why);
		break;
	case EXS_REFUSE:
		ioc_err("cannot extract %s: refusing entry '%s': %s", label, entry, why);
		break;
	case EXS_READ:
		ioc_err("cannot extract %s: corrupt data in '%s': %s", label, entry, why);
		break;
	case EXS_WRITE:
		ioc_err("cannot extract %s: writing '%s' failed: %s", label, entry, why);
		break;
	case EXS_FINISH:
		ioc_err("cannot extract %s: finishing '%s' failed: %s", label, entry, why);
		break;
	case EXS_CLOSE: ioc_err("cannot extract %s: %s", label, why); break;
	}
}

/* Extract one tarball into dest. */
static int extract_tarball(const char *file, const char *label, const char *dest,
			   unsigned long long *entries)
{
	struct stat fst;
	struct archive *a = archive_read_new();
	if (!a) {
		ioc_err("cannot extract %s: libarchive out of memory", label);
		return -1;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, file, 1 << 16) != ARCHIVE_OK) {
		ioc_err("cannot read %s: %s", label, archive_msg(a));
		archive_read_free(a);
		return -1;
	}
	struct extract x = {
		.dest = dest,
		.extra_flags = ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS,
		.label = label,
		.progress = show_progress(),
		.total = stat(file, &fst) == 0 ? (unsigned long long)fst.st_size : 0,
		.fail = tarball_fail,
		.arg = (void *)label,
	};
	int rc = extract_archive(a, &x);
	archive_read_free(a);
	if (rc == 0 && x.warnings)
		ioc_warn("%s: %llu entries extracted with warnings (first: %s)", label, x.warnings,
			 x.first_warning);
	free(x.first_warning);
	*entries += x.entries;
	return rc;
}

/* Unmount whatever is mounted at or below path (deepest first).  debootstrap mounts
 * /proc and /sys in its target and may leave them behind when it fails. */
static void unmount_below(const char *path)
{
	_cleanup_free_ char *txt = read_file("/proc/self/mountinfo", NULL);
	if (!txt) {
		ioc_err_clear();
		return;
	}
	size_t plen = strlen(path);
	_cleanup_strv_ struct strv lines = {0}, hits = {0};
	split(&lines, txt, "\n", true);
	sv_init(&hits);
	for (size_t i = 0; i < lines.n; i++) {
		_cleanup_strv_ struct strv f = {0};
		split(&f, lines.v[i], " ", true);
		if (f.n > 4 && strncmp(f.v[4], path, plen) == 0 && f.v[4][plen] == '/')
			sv_add(&hits, f.v[4]);
	}
	/* mountinfo lists parents before children: unmount in reverse. */
	for (size_t i = hits.n; i-- > 0;) {
		if (umount2(hits.v[i], MNT_DETACH) < 0)
			ioc_warn("cannot unmount %s left below %s: %s", hits.v[i], path,
				 strerror(errno));
	}
}

char *debootstrap_reason(const char *out, const char *root)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, out ? out : "", "\n", true);
	char *res = NULL;
	for (size_t i = lines.n; i-- > 0 && !res;)
		if (startswith(lines.v[i], "E: "))
			res = xstrdup(lines.v[i] + 3);
	if (!res) {
		_cleanup_free_ char *log = xasprintf("%s/debootstrap/debootstrap.log", root);
		_cleanup_free_ char *txt = access(log, R_OK) == 0 ? read_file(log, NULL) : NULL;
		sv_free(&lines);
		split(&lines, txt ? txt : out ? out : "", "\n", true);
		if (lines.n)
			res = xstrdup(lines.v[lines.n - 1]);
		ioc_err_clear();
	}
	if (res && strlen(res) > 600)
		res[600] = '\0';
	return res;
}

static int run_debootstrap(struct fetch *f, const char *root)
{
	const char *argv[] = {"debootstrap", "--variant=minbase", f->suite, root, f->mirror, NULL};
	struct run r;
	run_init(&r, argv);
	bool tty = show_progress();
	if (tty) {
		r.stdout_fd = STDERR_FILENO; /* its I: lines are the progress display */
		r.pass_err = true;
		fprintf(stderr, "debootstrap %s from %s (this takes a while)\n", f->suite,
			f->mirror ? f->mirror : "its default mirror");
	} else {
		r.capture_out = true;
	}
	int rc = run_cmd(&r);
	if (rc < 0) {
		ioc_err_ctx("cannot debootstrap %s", f->suite);
	} else if (r.status != 0) {
		struct sbuf all;
		sb_init(&all);
		sb_add(&all, r.out.s ? r.out.s : "");
		sb_add(&all, "\n");
		sb_add(&all, r.err.s ? r.err.s : "");
		char *why = debootstrap_reason(all.s, root);
		sb_free(&all);
		if (interrupt_pending())
			interrupt_check();
		else
			ioc_err("debootstrap of %s from %s failed (exit status %d)%s%s", f->suite,
				f->mirror ? f->mirror : "its default mirror", r.status,
				why ? ": " : "", why ? why : "");
		if (!interrupt_pending())
			ioc_hint(
				"check the suite name and the mirror (ftphost=URL); --debug shows the command");
		free(why);
		rc = -1;
	}
	run_free(&r);
	if (rc < 0)
		unmount_below(root);
	return rc;
}

int fetch_fill_root(struct fetch *f, const char *root)
{
	if (f->debootstrap)
		return run_debootstrap(f, root) < 0 ? -1 : interrupt_check();
	unsigned long long entries = 0;
	for (size_t i = 0; i < f->files.n; i++)
		if (extract_tarball(f->files.v[i], f->labels.v[i], root, &entries) < 0)
			return -1;
	if (entries == 0) {
		ioc_err("cannot fetch release %s: the tarball%s contained no files", f->rel,
			f->files.n > 1 ? "s" : "");
		return -1;
	}
	return 0;
}
