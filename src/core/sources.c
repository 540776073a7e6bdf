/*
 * The sources of a release fetch: one tarball URL, tarballs in a local directory or on a
 * mirror (each verified against a digest given, a NAME.sha256 beside it or a SHA256SUMS
 * list), or a Debian/Ubuntu suite for debootstrap.  Remote tarballs are downloaded into a
 * temporary directory under the pool's mountpoint.  Nothing is created in the pool here.
 */
#include "core/download.h"
#include "core/fetch.h"
#include "core/txn.h"
#include "core/dataset.h"
#include "core/progress.h"
#include "core/sha256.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEBOOTSTRAP_SCRIPTS "/usr/share/debootstrap/scripts"
#define DEFAULT_DEBIAN_MIRROR "http://deb.debian.org/debian"

bool safe_filename(const char *s)
{
	return *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

static int verify_digest(const char *label, const char *got, const char *want)
{
	if (sha256_equal(got, want))
		return 0;
	ioc_err("checksum mismatch for %s: expected sha256 %s, got %s", label, want, got);
	ioc_hint("the file is corrupt or not the one meant; nothing was changed");
	return -1;
}

/* ---- downloads ------------------------------------------------------------------------- */

static int make_tmpdir(struct fetch *f)
{
	if (f->tmpdir)
		return 0;
	_cleanup_free_ char *mp = mounted_path(f->pool->root);
	if (!mp) {
		ioc_err_ctx("cannot store downloads under %s", f->pool->mountroot);
		return -1;
	}
	/* .fetch-REL.STAMP.XXXXXX: doctor removes it when its owner is gone (core/txn.h) */
	char *tmpl = xasprintf("%s/.fetch-%s.%s.XXXXXX", mp, f->rel, txn_stamp());
	if (!mkdtemp(tmpl)) {
		ioc_err("cannot create a download directory %s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -1;
	}
	f->tmpdir = tmpl;
	if (!f->curl_inited) {
		if (download_init() < 0)
			return -1;
		f->curl_inited = true;
	}
	return 0;
}

void fetch_sources_free(struct fetch *f)
{
	if (f->tmpdir) {
		if (wipe_dir(f->tmpdir) < 0 || rmdir(f->tmpdir) < 0)
			ioc_warn("could not remove the download directory %s", f->tmpdir);
		free(f->tmpdir);
		f->tmpdir = NULL;
	}
	if (f->curl_inited)
		download_cleanup();
	f->curl_inited = false;
}

/* Download one tarball into the temp dir and verify it when a digest is known. */
static int fetch_remote(struct fetch *f, const char *url, const char *label, const char *want)
{
	if (make_tmpdir(f) < 0)
		return -1;
	_cleanup_free_ char *path = xasprintf("%s/tarball-%zu", f->tmpdir, f->files.n + 1);
	char hex[SHA256_HEX_LEN + 1];
	int rc = download_file(url, path, label, hex);
	if (rc == 0 && want)
		rc = verify_digest(label, hex, want);
	if (rc < 0) {
		unlink(path);
		return -1;
	}
	sv_add(&f->files, path);
	sv_add(&f->labels, label);
	return interrupt_check();
}

/* ---- the host's Debian mirror ---------------------------------------------------------- */

static bool debian_http(const char *x)
{
	return (startswith(x, "http://") || startswith(x, "https://")) && strstr(x, "debian") &&
	       !strstr(x, "security");
}

char *debian_mirror_in_deb822(const char *text)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	for (size_t l = 0; l < lines.n; l++) {
		if (strncasecmp(lines.v[l], "URIs:", 5) != 0)
			continue;
		_cleanup_strv_ struct strv uris = {0};
		split(&uris, lines.v[l] + 5, " \t", true);
		for (size_t u = 0; u < uris.n; u++)
			if (debian_http(uris.v[u]) && !strstr(uris.v[u], "ports"))
				return xstrdup(uris.v[u]);
	}
	return NULL;
}

char *debian_mirror_in_list(const char *text)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	for (size_t l = 0; l < lines.n; l++) {
		_cleanup_strv_ struct strv w = {0};
		split(&w, lines.v[l], " \t", true);
		if (!w.n || !streq(w.v[0], "deb"))
			continue;
		size_t k = 1;
		if (k < w.n && w.v[k][0] == '[') { /* [ options ] */
			while (k < w.n && !strchr(w.v[k], ']'))
				k++;
			k++;
		}
		if (k < w.n && debian_http(w.v[k]))
			return xstrdup(w.v[k]);
	}
	return NULL;
}

/* The first plain Debian mirror apt is configured with, else deb.debian.org. */
static char *host_debian_mirror(void)
{
	char *found = NULL;
	glob_t g;
	memset(&g, 0, sizeof(g));
	if (glob("/etc/apt/sources.list.d/*.sources", 0, NULL, &g) != 0)
		g.gl_pathc = 0;
	for (size_t i = 0; !found && i < g.gl_pathc; i++) {
		_cleanup_free_ char *txt = access(g.gl_pathv[i], R_OK) == 0
						   ? read_file(g.gl_pathv[i], NULL)
						   : NULL;
		found = debian_mirror_in_deb822(txt ? txt : "");
	}
	if (g.gl_pathv)
		globfree(&g);
	if (!found && access("/etc/apt/sources.list", R_OK) == 0) {
		_cleanup_free_ char *txt = read_file("/etc/apt/sources.list", NULL);
		found = debian_mirror_in_list(txt ? txt : "");
	}
	ioc_err_clear();
	if (!found)
		return xstrdup(DEFAULT_DEBIAN_MIRROR);
	size_t n = strlen(found);
	while (n > 1 && found[n - 1] == '/')
		found[--n] = '\0';
	return found;
}

/* ---- the kinds of sources -------------------------------------------------------------- */

/* scheme://host[:port] of url (malloc'd). */
static char *url_origin(const char *url)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	return xstrndup(url, (size_t)(h - url) + strcspn(h, "/"));
}

/* The mirror host ftpdir= is a directory on when no ftphost= is given: that of the
 * host's Debian mirror, as iocage's ftpdir is a directory on its default FTP host. */
static char *default_host(void)
{
	_cleanup_free_ char *m = host_debian_mirror();
	return url_origin(m);
}

bool fetch_is_suite(const char *rel)
{
	_cleanup_free_ char *script = xasprintf(DEBOOTSTRAP_SCRIPTS "/%s", rel);
	struct stat st;
	return stat(script, &st) == 0 && S_ISREG(st.st_mode);
}

bool fetch_wants_tarball(const struct fetch_opts *o, const char *rel)
{
	if (o->url || o->ftplocaldir || o->ftpfiles)
		return true;
	/* ftpdir= names the directory of the base files: of the suite's mirror for a
	 * Debian/Ubuntu suite, else of a rootfs.tar.xz */
	return o->ftpdir && !fetch_is_suite(rel);
}

static int prepare_debootstrap(struct fetch *f, const struct fetch_opts *o)
{
	if (o->sha256) {
		ioc_err("sha256= verifies a tarball (url= or a single ftpfiles= entry), not a debootstrap");
		return -1;
	}
	if (!fetch_is_suite(f->rel)) {
		ioc_err("cannot fetch release %s: no such Debian/Ubuntu suite known to debootstrap "
			"(%s/%s does not exist)",
			f->rel, DEBOOTSTRAP_SCRIPTS, f->rel);
		ioc_hint("give a suite name like bookworm or jammy, or a rootfs tarball with "
			 "ftplocaldir=DIR ftpfiles=FILE or url=URL");
		return -1;
	}
	_cleanup_free_ char *script = xasprintf(DEBOOTSTRAP_SCRIPTS "/%s", f->rel);
	if (o->ftphost || o->ftpdir) {
		_cleanup_free_ char *host = o->ftphost ? xstrdup(o->ftphost) : default_host();
		f->mirror = o->ftpdir ? join_url(host, o->ftpdir) : xstrdup(host);
	} else {
		/* Ubuntu suites: debootstrap's own default mirror, not the host's Debian one. */
		_cleanup_free_ char *txt = read_file(script, NULL);
		if (!txt)
			return -1;
		if (!strstr(txt, "ubuntu.com"))
			f->mirror = host_debian_mirror();
	}
	f->debootstrap = true;
	f->suite = xstrdup(f->rel);
	f->source = f->mirror ? xasprintf("debootstrap %s %s", f->suite, f->mirror)
			      : xasprintf("debootstrap %s", f->suite);
	return 0;
}

/* Expected digest of FILE in DIR from DIR/FILE.sha256 or DIR/SHA256SUMS.
 * Returns 1 (found, hex filled), 0 (no checksum file) or -1 (error). */
static int local_expected(const char *dir, const char *file, char hex[SHA256_HEX_LEN + 1])
{
	_cleanup_free_ char *side = xasprintf("%s/%s.sha256", dir, file);
	_cleanup_free_ char *sums = xasprintf("%s/SHA256SUMS", dir);
	if (access(side, F_OK) == 0) {
		_cleanup_free_ char *txt = read_file(side, NULL);
		if (!txt)
			return -1;
		if (sha256_lookup(txt, file, true, hex))
			return 1;
		ioc_err("%s holds no SHA-256 digest for %s", side, file);
		return -1;
	}
	if (access(sums, F_OK) == 0) {
		_cleanup_free_ char *txt = read_file(sums, NULL);
		if (!txt)
			return -1;
		if (sha256_lookup(txt, file, false, hex))
			return 1;
		ioc_warn("%s does not list %s: not verified", sums, file);
	}
	return 0;
}

/* A local tarball PATH (NAME in DIR) exists and matches its digest, when one is known. */
static int check_local(const char *dir, const char *name, const char *path, const char *sha256)
{
	struct stat st;
	char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
	if (stat(path, &st) < 0) {
		ioc_err("cannot fetch from %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		ioc_err("cannot fetch from %s: not a regular file", path);
		return -1;
	}
	int have = 1;
	if (sha256)
		snprintf(want, sizeof(want), "%s", sha256);
	else if ((have = local_expected(dir, name, want)) < 0)
		return -1;
	if (have == 0)
		return 0;
	if (show_progress())
		fprintf(stderr, "verifying %s\n", name);
	if (sha256_file(path, got) < 0 || verify_digest(path, got, want) < 0)
		return -1;
	return 0;
}

static int prepare_local(struct fetch *f, const struct fetch_opts *o, const struct strv *names,
			 struct sbuf *src)
{
	_cleanup_free_ char *dir = realpath(o->ftplocaldir, NULL);
	if (!dir) {
		ioc_err("cannot use ftplocaldir=%s: %s", o->ftplocaldir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < names->n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, names->v[i]);
		if (check_local(dir, names->v[i], path, o->sha256) < 0)
			return -1;
		sv_add(&f->files, path);
		sv_add(&f->labels, names->v[i]);
		sb_printf(src, "%s%s", i ? " " : "", path);
	}
	return 0;
}

/* The digest of NAME at URL from URL.sha256, else from BASE/SHA256SUMS (downloaded once
 * into *sums).  1 (found, want filled), 0 (none published) or -1 (error). */
static int remote_expected(struct fetch *f, const char *base, const char *url, const char *name,
			   char **sums, bool *sums_tried, char want[SHA256_HEX_LEN + 1])
{
	if (make_tmpdir(f) < 0)
		return -1;
	bool absent = false;
	_cleanup_free_ char *su = xasprintf("%s.sha256", url);
	_cleanup_free_ char *txt = download_text(su, &absent);
	if (txt) {
		if (sha256_lookup(txt, name, true, want))
			return 1;
		ioc_err("%s holds no SHA-256 digest for %s", su, name);
		return -1;
	}
	if (!absent)
		return -1;
	if (!*sums_tried) {
		_cleanup_free_ char *list = join_url(base, "SHA256SUMS");
		*sums = download_text(list, &absent);
		*sums_tried = true;
		if (!*sums && !absent)
			return -1;
	}
	return *sums && sha256_lookup(*sums, name, false, want) ? 1 : 0;
}

static int prepare_remote(struct fetch *f, const struct fetch_opts *o, const struct strv *names,
			  struct sbuf *src)
{
	_cleanup_free_ char *host = o->ftphost ? xstrdup(o->ftphost) : default_host();
	_cleanup_free_ char *base = o->ftpdir ? join_url(host, o->ftpdir) : xstrdup(host);
	_cleanup_free_ char *sums = NULL;
	bool sums_tried = false;
	for (size_t i = 0; i < names->n; i++) {
		_cleanup_free_ char *url = join_url(base, names->v[i]);
		char want[SHA256_HEX_LEN + 1];
		int have = 1;
		if (o->sha256)
			snprintf(want, sizeof(want), "%s", o->sha256);
		else if ((have = remote_expected(f, base, url, names->v[i], &sums, &sums_tried,
						 want)) < 0)
			return -1;
		if (fetch_remote(f, url, names->v[i], have ? want : NULL) < 0)
			return -1;
		sb_printf(src, "%s%s", i ? " " : "", url);
	}
	return 0;
}

/* Tarballs named by ftpfiles= (default rootfs.tar.xz) in ftplocaldir= or on ftphost=. */
static int prepare_tarballs(struct fetch *f, const struct fetch_opts *o)
{
	if (o->ftplocaldir && (o->ftphost || o->ftpdir)) {
		ioc_err("ftplocaldir= (local tarballs) excludes ftphost= and ftpdir=");
		return -1;
	}
	if (!o->ftplocaldir && !o->ftphost && !o->ftpdir) {
		ioc_err("ftpfiles= needs ftplocaldir=DIR (local tarballs) or ftphost=URL (remote ones)");
		return -1;
	}
	_cleanup_strv_ struct strv names = {0};
	split(&names, o->ftpfiles ? o->ftpfiles : "rootfs.tar.xz", " \t,", true);
	if (names.n == 0) {
		ioc_err("ftpfiles= names no file");
		return -1;
	}
	for (size_t i = 0; i < names.n; i++)
		if (!safe_filename(names.v[i])) {
			ioc_err("ftpfiles= entry '%s' is not a plain file name", names.v[i]);
			return -1;
		}
	if (o->sha256 && names.n != 1) {
		ioc_err("sha256= verifies a single tarball, but ftpfiles= names %zu", names.n);
		return -1;
	}
	_cleanup_sbuf_ struct sbuf src;
	sb_init(&src);
	int rc = o->ftplocaldir ? prepare_local(f, o, &names, &src)
				: prepare_remote(f, o, &names, &src);
	if (rc == 0)
		f->source = sb_steal(&src);
	return rc;
}

int fetch_prepare_sources(struct fetch *f, const struct fetch_opts *o)
{
	if (o->sha256 && !sha256_valid_hex(o->sha256)) {
		ioc_err("sha256=%s is not a SHA-256 digest (64 hex digits)", o->sha256);
		return -1;
	}
	if (o->url) {
		if (o->ftplocaldir || o->ftphost || o->ftpdir || o->ftpfiles) {
			ioc_err("url= fetches one tarball and excludes ftphost=, ftpdir=, ftpfiles= and ftplocaldir=");
			return -1;
		}
		if (!strstr(o->url, "://")) {
			ioc_err("url=%s is not a URL (http://, https://, ftp:// or file://)",
				o->url);
			return -1;
		}
		f->source = xstrdup(o->url);
		return fetch_remote(f, o->url, url_basename(o->url), o->sha256);
	}
	/* ftphost=HOST as the manuals write it: http:// assumed */
	struct fetch_opts eff = *o;
	_cleanup_free_ char *host = NULL;
	if (o->ftphost && !strstr(o->ftphost, "://"))
		eff.ftphost = host = xasprintf("http://%s", o->ftphost);
	if (!fetch_wants_tarball(&eff, f->rel))
		return prepare_debootstrap(f, &eff);
	return prepare_tarballs(f, &eff);
}
