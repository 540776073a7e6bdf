/*
 * Releases: POOL/iocell/releases/REL/root (snapshot @release) filled from rootfs
 * tarballs (local, downloaded with libcurl) or by debootstrap, and the basejail masters
 * POOL/iocell/base/REL/DIR (snapshot @release) copied from the release's system
 * directories.  A fetch either completes or leaves the pool exactly as it found it.
 */
#include "core/release.h"
#include "core/extract.h"
#include "core/fsat.h"
#include "core/progress.h"
#include "core/lock.h"
#include "core/parse.h"
#include "core/pool.h"
#include "core/props.h"
#include "core/sha256.h"
#include "core/spawn.h"

#include <archive.h>
#include <archive_entry.h>
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include "core/lazylib.h" /* after the library headers */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

const char *const basejail_dirs[] = {"usr", "bin", "lib", "lib32", "lib64", "libx32", "sbin", NULL};

/* Summary of the last successful release_fetch (for the command's one-line report).
 * Declared here and in src/cmd/release.c until release.h carries it. */

#define DEBOOTSTRAP_SCRIPTS "/usr/share/debootstrap/scripts"
#define DEFAULT_DEBIAN_MIRROR "http://deb.debian.org/debian"
#define PREV_PREFIX "ioc-prev-"

static struct {
	bool updated;
	unsigned long long files, bytes;
} g_summary;

/* The mountpoint of DS, which must be mounted (zfs-fuse mounts nothing after a restart:
 * writing into an unmounted mountpoint would land on the host's disk). */
static char *mounted_path(const char *ds)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct ztable t;
		const char *dss[] = {ds, NULL};
		if (zfs_get(&t, "mounted,mountpoint", dss, NULL, false, false, -1) < 0)
			return NULL;
		const char *mounted = NULL, *mp = NULL;
		for (size_t i = 0; i < t.nrows; i++) {
			struct strv *r = &t.rows[i];
			if (r->n < 3)
				continue;
			if (streq(r->v[1], "mounted"))
				mounted = r->v[2];
			else if (streq(r->v[1], "mountpoint"))
				mp = r->v[2];
		}
		char *res = NULL;
		if (streq(mounted, "yes") && mp && mp[0] == '/')
			res = xstrdup(mp);
		bool absolute = mp && mp[0] == '/';
		ztable_free(&t);
		if (res)
			return res;
		if (!absolute) {
			ioc_err("dataset %s has no mountpoint directory", ds);
			return NULL;
		}
		if (attempt == 0 && zfs_mount(ds) < 0)
			break;
	}
	ioc_err("dataset %s is not mounted: refusing to write into its mountpoint", ds);
	ioc_hint("mount it with 'zfs mount %s' (zfs-fuse mounts nothing after a restart: 'zfs mount -a')",
		 ds);
	return NULL;
}

/* One-line value for a ZFS user property: no tabs/newlines, non-empty, bounded. */
static char *prop_value(const char *s)
{
	size_t n = strlen(s);
	if (n > 1000)
		n = 1000;
	char *v = xstrndup(s, n);
	for (char *p = v; *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	if (!*v) {
		free(v);
		v = xstrdup("-");
	}
	return v;
}

static char *fetch_time(void)
{
	char buf[64];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	return xstrdup(buf);
}

/* ---- filesystem walking ------------------------------------------------------------ */

/* Remove the contents of directory path (the directory itself stays). */
static int wipe_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ioc_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = empty_dir_at(fd, path);
	close(fd);
	return rc;
}

static unsigned long long g_count_files, g_count_bytes;

static int count_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)p;
	(void)type;
	if (f->level > 0)
		g_count_files++;
	if (S_ISREG(st->st_mode))
		g_count_bytes += (unsigned long long)st->st_size;
	return 0;
}

/* Number of entries and bytes of regular files below path (one file system). */
static void count_tree(const char *path, unsigned long long *files, unsigned long long *bytes)
{
	g_count_files = g_count_bytes = 0;
	if (nftw(path, count_cb, 32, FTW_PHYS | FTW_MOUNT) != 0)
		ioc_err_clear(); /* only statistics */
	*files = g_count_files;
	*bytes = g_count_bytes;
}

/* Unmount whatever is mounted at or below path (deepest first).  debootstrap mounts
 * /proc and /sys in its target and may leave them behind when it fails. */
static void unmount_below(const char *path)
{
	char *txt = read_file("/proc/self/mountinfo", NULL);
	if (!txt) {
		ioc_err_clear();
		return;
	}
	size_t plen = strlen(path);
	struct strv lines = {0}, hits = {0};
	split(&lines, txt, "\n", true);
	sv_init(&hits);
	for (size_t i = 0; i < lines.n; i++) {
		struct strv f = {0};
		split(&f, lines.v[i], " ", true);
		if (f.n > 4) {
			const char *mp = f.v[4];
			if (strncmp(mp, path, plen) == 0 && mp[plen] == '/')
				sv_add(&hits, mp);
		}
		sv_free(&f);
	}
	/* mountinfo lists parents before children: unmount in reverse. */
	for (size_t i = hits.n; i-- > 0;) {
		if (umount2(hits.v[i], MNT_DETACH) < 0)
			ioc_warn("cannot unmount %s left below %s: %s", hits.v[i], path, strerror(errno));
	}
	sv_free(&hits);
	sv_free(&lines);
	free(txt);
}

/* ---- checksums --------------------------------------------------------------------- */

static int verify_digest(const char *label, const char *got, const char *want)
{
	if (sha256_equal(got, want))
		return 0;
	ioc_err("checksum mismatch for %s: expected sha256 %s, got %s", label, want, got);
	ioc_hint("the file is corrupt or not the one meant; nothing was changed");
	return -1;
}

/* Expected digest of FILE in DIR from DIR/FILE.sha256 or DIR/SHA256SUMS.
 * Returns 1 (found, hex filled), 0 (no checksum file) or -1 (error). */
static int local_expected(const char *dir, const char *file, char hex[SHA256_HEX_LEN + 1])
{
	char *side = xasprintf("%s/%s.sha256", dir, file);
	char *sums = xasprintf("%s/SHA256SUMS", dir);
	int rc = 0;
	if (access(side, F_OK) == 0) {
		char *txt = read_file(side, NULL);
		if (!txt)
			rc = -1;
		else if (sha256_lookup(txt, file, true, hex))
			rc = 1;
		else {
			ioc_err("%s holds no SHA-256 digest for %s", side, file);
			rc = -1;
		}
		free(txt);
	} else if (access(sums, F_OK) == 0) {
		char *txt = read_file(sums, NULL);
		if (!txt)
			rc = -1;
		else if (sha256_lookup(txt, file, false, hex))
			rc = 1;
		else
			ioc_warn("%s does not list %s: not verified", sums, file);
		free(txt);
	}
	free(side);
	free(sums);
	return rc;
}

/* ---- downloads --------------------------------------------------------------------- */

struct dl {
	int fd;               /* write here, or */
	struct sbuf *mem;     /* collect here (small files), bounded */
	struct sha256 *hash;  /* NULL: no digest */
	const char *label;
	bool progress;
	double last;
	int werrno;
	bool too_big;
};

static size_t dl_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct dl *d = arg;
	size_t n = sz * nm;
	if (d->mem) {
		if (d->mem->len + n > (1u << 20)) {
			d->too_big = true;
			return 0;
		}
		sb_addn(d->mem, p, n);
	} else {
		for (size_t off = 0; off < n;) {
			ssize_t w = write(d->fd, p + off, n - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				d->werrno = errno;
				return 0;
			}
			off += (size_t)w;
		}
	}
	if (d->hash && sha256_update(d->hash, p, n) < 0)
		return 0;
	return n;
}

static int dl_progress(void *arg, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
	(void)ut;
	(void)un;
	struct dl *d = arg;
	if (interrupt_pending())
		return 1;
	if (!d->progress)
		return 0;
	double t = now_mono();
	if (t - d->last < 0.2)
		return 0;
	d->last = t;
	if (total > 0)
		fprintf(stderr, "\rdownloading %s: %.1f / %.1f MiB (%d%%)   ", d->label,
			mib((unsigned long long)now), mib((unsigned long long)total),
			(int)(now * 100 / total));
	else
		fprintf(stderr, "\rdownloading %s: %.1f MiB   ", d->label, mib((unsigned long long)now));
	return 0;
}

/* GET url into d.  *absent (when not NULL) is set instead of an error when the server
 * says the file does not exist.  Returns 0, or -1 (error recorded unless *absent). */
static int curl_get(const char *url, struct dl *d, bool *absent)
{
	if (absent)
		*absent = false;
	CURL *c = curl_easy_init();
	if (!c) {
		ioc_err("cannot download %s: libcurl failed to initialise", url);
		return -1;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,ftp,file");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FTP | CURLPROTO_FILE));
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FTP));
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "iocell/" IOCELL_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, dl_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	if (ioc_debug)
		fprintf(stderr, "+ GET %s\n", url);
	CURLcode res = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_off_t got = 0;
	curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &got);
	curl_easy_cleanup(c);
	if (d->progress && d->last > 0)
		fprintf(stderr, "\rdownloading %s: %.1f MiB, done%20s\n", d->label,
			mib((unsigned long long)got), "");
	if (res == CURLE_OK)
		return 0;
	bool missing = (res == CURLE_HTTP_RETURNED_ERROR && (code == 404 || code == 410)) ||
		       res == CURLE_FILE_COULDNT_READ_FILE || res == CURLE_REMOTE_FILE_NOT_FOUND;
	if (absent && missing) {
		*absent = true;
		return -1;
	}
	if (res == CURLE_ABORTED_BY_CALLBACK && interrupt_pending())
		return interrupt_check();
	if (d->werrno)
		ioc_err("cannot download %s: writing the local copy failed: %s", url,
			strerror(d->werrno));
	else if (d->too_big)
		ioc_err("cannot download %s: larger than a checksum file should be", url);
	else
		ioc_err("cannot download %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(res));
	return -1;
}

/* Download url into path, computing its SHA-256 (hex).  Progress on a terminal. */
static int download_file(const char *url, const char *path, const char *label,
			 char hex[SHA256_HEX_LEN + 1])
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ioc_err("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	struct sha256 h;
	if (sha256_init(&h) < 0) {
		close(fd);
		return -1;
	}
	struct dl d = {.fd = fd, .hash = &h, .label = label, .progress = show_progress()};
	int rc = curl_get(url, &d, NULL);
	if (rc == 0 && fsync(fd) < 0 && errno != EINVAL) {
		ioc_err("cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (close(fd) < 0 && rc == 0) {
		ioc_err("cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = sha256_final_hex(&h, hex);
	else
		sha256_free(&h);
	return rc;
}

/* A small remote text file; *absent when it does not exist. */
static char *download_text(const char *url, bool *absent)
{
	struct sbuf b;
	sb_init(&b);
	struct dl d = {.fd = -1, .mem = &b, .label = url};
	if (curl_get(url, &d, absent) < 0) {
		sb_free(&b);
		return NULL;
	}
	return sb_steal(&b);
}

/* ---- the sources of a fetch -------------------------------------------------------- */

struct fetch {
	const struct ioc_pool *pool;
	char *rel;
	bool debootstrap;
	/* tarballs, in extraction order */
	struct strv files;   /* local paths */
	struct strv labels;  /* names for messages */
	char *tmpdir;        /* download directory under MOUNTROOT, removed at the end */
	bool curl_inited;
	/* debootstrap */
	char *suite, *mirror; /* mirror NULL: debootstrap's own default */
	char *source;         /* iocell:source */
	/* state */
	char *relds, *rootds, *baseds, *snap;
	bool exists;           /* releases/REL exists (update) */
	bool base_exists;      /* base/REL exists */
	struct strv snaps;     /* existing snapshots of root and masters (full names) */
	struct strv masters;   /* existing master datasets */
};

static void fetch_free(struct fetch *f)
{
	if (f->tmpdir) {
		if (wipe_dir(f->tmpdir) < 0 || rmdir(f->tmpdir) < 0)
			ioc_warn("could not remove the download directory %s", f->tmpdir);
		free(f->tmpdir);
	}
	if (f->curl_inited)
		curl_global_cleanup();
	sv_free(&f->files);
	sv_free(&f->labels);
	sv_free(&f->snaps);
	sv_free(&f->masters);
	free(f->rel);
	free(f->suite);
	free(f->mirror);
	free(f->source);
	free(f->relds);
	free(f->rootds);
	free(f->baseds);
	free(f->snap);
}

static bool safe_filename(const char *s)
{
	return *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

static char *join_url(const char *a, const char *b)
{
	size_t n = strlen(a);
	while (n && a[n - 1] == '/')
		n--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)n, a, b);
}

static int make_tmpdir(struct fetch *f)
{
	if (f->tmpdir)
		return 0;
	char *mp = mounted_path(f->pool->root);
	if (!mp) {
		ioc_err_ctx("cannot store downloads under %s", f->pool->mountroot);
		return -1;
	}
	char *tmpl = xasprintf("%s/.fetch-%s.XXXXXX", mp, f->rel);
	free(mp);
	if (!mkdtemp(tmpl)) {
		ioc_err("cannot create a download directory %s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -1;
	}
	f->tmpdir = tmpl;
	if (!f->curl_inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			ioc_err("cannot initialise libcurl");
			return -1;
		}
		f->curl_inited = true;
	}
	return 0;
}

/* Download one tarball into the temp dir and verify it when a digest is known. */
static int fetch_remote(struct fetch *f, const char *url, const char *label, const char *want)
{
	if (make_tmpdir(f) < 0)
		return -1;
	char *path = xasprintf("%s/tarball-%zu", f->tmpdir, f->files.n + 1);
	char hex[SHA256_HEX_LEN + 1];
	int rc = download_file(url, path, label, hex);
	if (rc == 0 && want)
		rc = verify_digest(label, hex, want);
	if (rc == 0) {
		sv_add(&f->files, path);
		sv_add(&f->labels, label);
	} else {
		unlink(path);
	}
	free(path);
	return rc == 0 ? interrupt_check() : -1;
}

static const char *url_basename(const char *url)
{
	const char *end = url + strcspn(url, "?#");
	const char *b = end;
	while (b > url && b[-1] != '/')
		b--;
	return b < end ? b : url;
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
		char *txt = access(g.gl_pathv[i], R_OK) == 0 ? read_file(g.gl_pathv[i], NULL) : NULL;
		struct strv lines = {0};
		split(&lines, txt ? txt : "", "\n", true);
		for (size_t l = 0; !found && l < lines.n; l++) {
			if (strncasecmp(lines.v[l], "URIs:", 5) != 0)
				continue;
			struct strv uris = {0};
			split(&uris, lines.v[l] + 5, " \t", true);
			for (size_t u = 0; !found && u < uris.n; u++) {
				const char *x = uris.v[u];
				if ((startswith(x, "http://") || startswith(x, "https://")) &&
				    strstr(x, "debian") && !strstr(x, "security") && !strstr(x, "ports"))
					found = xstrdup(x);
			}
			sv_free(&uris);
		}
		sv_free(&lines);
		free(txt);
	}
	if (g.gl_pathv)
		globfree(&g);
	if (!found && access("/etc/apt/sources.list", R_OK) == 0) {
		char *txt = read_file("/etc/apt/sources.list", NULL);
		struct strv lines = {0};
		split(&lines, txt ? txt : "", "\n", true);
		for (size_t l = 0; !found && l < lines.n; l++) {
			struct strv w = {0};
			split(&w, lines.v[l], " \t", true);
			size_t k = 1;
			if (w.n && streq(w.v[0], "deb")) {
				if (k < w.n && w.v[k][0] == '[') { /* [ options ] */
					while (k < w.n && !strchr(w.v[k], ']'))
						k++;
					k++;
				}
				if (k < w.n) {
					const char *x = w.v[k];
					if ((startswith(x, "http://") || startswith(x, "https://")) &&
					    strstr(x, "debian") && !strstr(x, "security"))
						found = xstrdup(x);
				}
			}
			sv_free(&w);
		}
		sv_free(&lines);
		free(txt);
	}
	ioc_err_clear();
	if (found) {
		size_t n = strlen(found);
		while (n > 1 && found[n - 1] == '/')
			found[--n] = '\0';
		return found;
	}
	return xstrdup(DEFAULT_DEBIAN_MIRROR);
}

/* Work out what to fetch, download and verify it: nothing is created in the pool yet. */
static int prepare_sources(struct fetch *f, const struct fetch_opts *o)
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
			ioc_err("url=%s is not a URL (http://, https://, ftp:// or file://)", o->url);
			return -1;
		}
		f->source = xstrdup(o->url);
		return fetch_remote(f, o->url, url_basename(o->url), o->sha256);
	}
	bool tarballs = o->ftplocaldir || o->ftpfiles;
	if (!tarballs) {
		if (o->ftpdir) {
			ioc_err("ftpdir= names a directory of tarballs on ftphost=: give ftpfiles= too");
			return -1;
		}
		if (o->sha256) {
			ioc_err("sha256= verifies a tarball (url= or a single ftpfiles= entry), not a debootstrap");
			return -1;
		}
		char *script = xasprintf(DEBOOTSTRAP_SCRIPTS "/%s", f->rel);
		struct stat st;
		int rc = 0;
		if (stat(script, &st) < 0 || !S_ISREG(st.st_mode)) {
			ioc_err("cannot fetch release %s: no such Debian/Ubuntu suite known to debootstrap "
				"(%s does not exist)", f->rel, script);
			ioc_hint("give a suite name like bookworm or jammy, or a rootfs tarball with "
				 "ftplocaldir=DIR ftpfiles=FILE or url=URL");
			rc = -1;
		} else if (o->ftphost) {
			if (!strstr(o->ftphost, "://")) {
				ioc_err("ftphost=%s is not a mirror URL (http://... or https://...)", o->ftphost);
				rc = -1;
			} else {
				f->mirror = xstrdup(o->ftphost);
			}
		} else {
			/* Ubuntu suites: debootstrap's own default mirror, not the host's Debian one. */
			char *txt = read_file(script, NULL);
			if (!txt)
				rc = -1;
			else if (!strstr(txt, "ubuntu.com"))
				f->mirror = host_debian_mirror();
			free(txt);
		}
		free(script);
		if (rc < 0)
			return -1;
		f->debootstrap = true;
		f->suite = xstrdup(f->rel);
		f->source = f->mirror ? xasprintf("debootstrap %s %s", f->suite, f->mirror)
				      : xasprintf("debootstrap %s", f->suite);
		return 0;
	}
	if (o->ftplocaldir && (o->ftphost || o->ftpdir)) {
		ioc_err("ftplocaldir= (local tarballs) excludes ftphost= and ftpdir=");
		return -1;
	}
	if (!o->ftplocaldir && !o->ftphost) {
		ioc_err("ftpfiles= needs ftplocaldir=DIR (local tarballs) or ftphost=URL (remote ones)");
		return -1;
	}
	struct strv names = {0};
	split(&names, o->ftpfiles ? o->ftpfiles : "rootfs.tar.xz", " \t,", true);
	int rc = 0;
	if (names.n == 0) {
		ioc_err("ftpfiles= names no file");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < names.n; i++)
		if (!safe_filename(names.v[i])) {
			ioc_err("ftpfiles= entry '%s' is not a plain file name", names.v[i]);
			rc = -1;
		}
	if (rc == 0 && o->sha256 && names.n != 1) {
		ioc_err("sha256= verifies a single tarball, but ftpfiles= names %zu", names.n);
		rc = -1;
	}
	struct sbuf src;
	sb_init(&src);
	if (rc == 0 && o->ftplocaldir) {
		char *dir = realpath(o->ftplocaldir, NULL);
		if (!dir) {
			ioc_err("cannot use ftplocaldir=%s: %s", o->ftplocaldir, strerror(errno));
			rc = -1;
		}
		for (size_t i = 0; rc == 0 && i < names.n; i++) {
			char *path = xasprintf("%s/%s", dir, names.v[i]);
			struct stat st;
			char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
			int have = 0;
			if (stat(path, &st) < 0) {
				ioc_err("cannot fetch from %s: %s", path, strerror(errno));
				rc = -1;
			} else if (!S_ISREG(st.st_mode)) {
				ioc_err("cannot fetch from %s: not a regular file", path);
				rc = -1;
			} else if (o->sha256) {
				snprintf(want, sizeof(want), "%s", o->sha256);
				have = 1;
			} else {
				have = local_expected(dir, names.v[i], want);
				if (have < 0)
					rc = -1;
			}
			if (rc == 0 && have == 1) {
				if (show_progress())
					fprintf(stderr, "verifying %s\n", names.v[i]);
				if (sha256_file(path, got) < 0 || verify_digest(path, got, want) < 0)
					rc = -1;
			}
			if (rc == 0) {
				sv_add(&f->files, path);
				sv_add(&f->labels, names.v[i]);
				sb_printf(&src, "%s%s", i ? " " : "", path);
			}
			free(path);
		}
		free(dir);
	} else if (rc == 0) {
		if (!strstr(o->ftphost, "://")) {
			ioc_err("ftphost=%s is not a URL", o->ftphost);
			rc = -1;
		}
		char *base = rc == 0 ? (o->ftpdir ? join_url(o->ftphost, o->ftpdir) : xstrdup(o->ftphost))
				     : NULL;
		char *sums = NULL;
		bool sums_tried = false;
		for (size_t i = 0; rc == 0 && i < names.n; i++) {
			char *url = join_url(base, names.v[i]);
			char want[SHA256_HEX_LEN + 1];
			bool have = false, absent = false;
			if (o->sha256) {
				snprintf(want, sizeof(want), "%s", o->sha256);
				have = true;
			}
			if (!have && rc == 0 && make_tmpdir(f) < 0)
				rc = -1;
			if (!have && rc == 0) {
				char *su = xasprintf("%s.sha256", url);
				char *txt = download_text(su, &absent);
				if (txt) {
					if (!sha256_lookup(txt, names.v[i], true, want)) {
						ioc_err("%s holds no SHA-256 digest for %s", su, names.v[i]);
						rc = -1;
					}
					have = rc == 0;
				} else if (!absent) {
					rc = -1;
				}
				free(txt);
				free(su);
			}
			if (!have && rc == 0) {
				if (!sums_tried) {
					char *su = join_url(base, "SHA256SUMS");
					sums = download_text(su, &absent);
					if (!sums && !absent)
						rc = -1;
					free(su);
					sums_tried = true;
				}
				if (sums && sha256_lookup(sums, names.v[i], false, want))
					have = true;
			}
			if (rc == 0)
				rc = fetch_remote(f, url, names.v[i], have ? want : NULL);
			if (rc == 0)
				sb_printf(&src, "%s%s", i ? " " : "", url);
			free(url);
		}
		free(sums);
		free(base);
	}
	sv_free(&names);
	if (rc == 0)
		f->source = sb_steal(&src);
	sb_free(&src);
	return rc;
}

/* ---- filling a root ---------------------------------------------------------------- */

static void tarball_fail(enum extract_step step, const char *entry, const char *why,
			 unsigned long long entries, void *arg)
{
	const char *label = arg;
	switch (step) {
	case EXS_NOMEM:
		ioc_err("cannot extract %s: libarchive out of memory", label);
		break;
	case EXS_CWD:
		ioc_err("cannot remember the current directory: %s", why);
		break;
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
	case EXS_CLOSE:
		ioc_err("cannot extract %s: %s", label, why);
		break;
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

/* A useful line from debootstrap's output for the error message. */
static char *debootstrap_reason(const char *out, const char *root)
{
	struct strv lines = {0};
	split(&lines, out ? out : "", "\n", true);
	char *res = NULL;
	for (size_t i = lines.n; i-- > 0 && !res;)
		if (startswith(lines.v[i], "E: "))
			res = xstrdup(lines.v[i] + 3);
	sv_free(&lines);
	if (!res) {
		char *log = xasprintf("%s/debootstrap/debootstrap.log", root);
		char *txt = access(log, R_OK) == 0 ? read_file(log, NULL) : NULL;
		split(&lines, txt ? txt : out ? out : "", "\n", true);
		if (lines.n)
			res = xstrdup(lines.v[lines.n - 1]);
		sv_free(&lines);
		free(txt);
		free(log);
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
				f->mirror ? f->mirror : "its default mirror", r.status, why ? ": " : "",
				why ? why : "");
		if (!interrupt_pending())
			ioc_hint("check the suite name and the mirror (ftphost=URL); --debug shows the command");
		free(why);
		rc = -1;
	}
	run_free(&r);
	if (rc < 0)
		unmount_below(root);
	return rc;
}

static int fill_root(struct fetch *f, const char *root)
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

/* ---- creating / updating ----------------------------------------------------------- */

static bool is_real_dir(const char *root, const char *name)
{
	char *p = xasprintf("%s/%s", root, name);
	struct stat st;
	bool ok = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return ok;
}

static int copy_tree(const char *src_dir, const char *dest)
{
	char *src = xasprintf("%s/.", src_dir);
	char *dst = xasprintf("%s/", dest);
	const char *argv[] = {"cp", "-a", "--", src, dst, NULL};
	char *what = xasprintf("cannot copy %s to %s", src_dir, dest);
	int rc = run_argv(argv, NULL, what);
	free(what);
	free(src);
	free(dst);
	return rc;
}

/* What an update or a creation did, so that a failure can undo exactly that. */
struct undo {
	struct strv created;  /* datasets created (destroy -r) */
	struct strv renamed;  /* datasets whose @release became @PREV */
	struct strv snapped;  /* datasets with a new @release */
};

static void undo_init(struct undo *u)
{
	sv_init(&u->created);
	sv_init(&u->renamed);
	sv_init(&u->snapped);
}

static void undo_free(struct undo *u)
{
	sv_free(&u->created);
	sv_free(&u->renamed);
	sv_free(&u->snapped);
}

/* Bring back the state before the fetch.  The pending error stays the reported one. */
static void undo_run(struct undo *u, const char *prev)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	for (size_t i = u->created.n; i-- > 0;) {
		if (zfs_destroy(u->created.v[i], "-r") < 0 && zfs_lasterr != ZE_NOENT)
			ioc_warn("could not remove the half-made %s: %s", u->created.v[i], ioc_errmsg());
	}
	for (size_t i = u->renamed.n; i-- > 0;) {
		const char *ds = u->renamed.v[i];
		char *cur = xasprintf("%s@" RELEASE_SNAP, ds);
		char *old = xasprintf("%s@%s", ds, prev);
		bool ok = true;
		if (sv_contains(&u->snapped, ds) && zfs_destroy(cur, NULL) < 0) {
			ioc_warn("could not remove the new snapshot %s: %s", cur, ioc_errmsg());
			ok = false;
		}
		if (ok && zfs_rollback(old, false) < 0) {
			ioc_warn("could not roll %s back: %s", ds, ioc_errmsg());
			ok = false;
		}
		if (ok && zfs_rename(old, cur) < 0) {
			ioc_warn("could not rename %s back to %s: %s", old, cur, ioc_errmsg());
			ok = false;
		}
		if (!ok)
			ioc_warn("restore %s by hand: zfs rollback -r %s && zfs rename %s %s", ds, old, old,
				 cur);
		free(cur);
		free(old);
	}
	ioc_err_restore(&keep);
}

/* Fill (or refresh) the basejail masters from root. */
static int make_masters(struct fetch *f, const char *root, const char *prev, struct undo *u)
{
	for (size_t i = 0; basejail_dirs[i]; i++) {
		const char *name = basejail_dirs[i];
		if (!is_real_dir(root, name))
			continue;
		if (interrupt_check() < 0)
			return -1;
		char *mds = xasprintf("%s/%s", f->baseds, name);
		char *msnap = xasprintf("%s@" RELEASE_SNAP, mds);
		char *src = xasprintf("%s/%s", root, name);
		char *path = NULL;
		int rc = -1;
		bool exists = sv_contains(&f->masters, mds);
		if (exists && !sv_contains(&f->snaps, msnap)) {
			ioc_err("basejail master %s has no @%s snapshot (left by an interrupted fetch?)",
				mds, RELEASE_SNAP);
			ioc_hint("remove it with 'zfs destroy -r %s' if no basejail uses it, then fetch again",
				 mds);
			goto next;
		}
		if (exists) {
			char *to = xasprintf("%s@%s", mds, prev);
			rc = zfs_rename(msnap, to);
			free(to);
			if (rc < 0)
				goto next;
			sv_add(&u->renamed, mds);
			rc = -1;
		} else {
			if (zfs_create(mds, NULL, true) < 0)
				goto next;
			if (!f->base_exists) {
				/* -p made base/REL too: remove it with the rest on failure. */
				if (!sv_contains(&u->created, f->baseds))
					sv_add(&u->created, f->baseds);
			} else {
				sv_add(&u->created, mds);
			}
		}
		if (!(path = mounted_path(mds)))
			goto next;
		if (show_progress())
			fprintf(stderr, "%s basejail master %s\n", exists ? "refreshing" : "making", name);
		if (exists && wipe_dir(path) < 0)
			goto next;
		if (copy_tree(src, path) < 0 || interrupt_check() < 0)
			goto next;
		if (zfs_snapshot(msnap, false) < 0)
			goto next;
		sv_add(&u->snapped, mds);
		rc = 0;
	next:
		free(path);
		free(src);
		free(msnap);
		free(mds);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int set_fetch_props(struct fetch *f)
{
	char *src = prop_value(f->source);
	char *when = fetch_time();
	int rc = zfs_set(f->relds, "iocell:source", src);
	if (rc == 0)
		rc = zfs_set(f->relds, "iocell:fetched", when);
	free(src);
	free(when);
	return rc;
}

static int create_release(struct fetch *f)
{
	struct undo u;
	undo_init(&u);
	char *root = NULL;
	int rc = -1;
	struct kv props;
	kv_init(&props);
	char *src = prop_value(f->source);
	char *when = fetch_time();
	kv_set(&props, "iocell:source", src);
	kv_set(&props, "iocell:fetched", when);
	free(src);
	free(when);
	if (zfs_create(f->relds, &props, true) < 0)
		goto out;
	sv_add(&u.created, f->relds);
	if (zfs_create(f->rootds, NULL, false) < 0 || !(root = mounted_path(f->rootds)))
		goto out;
	if (interrupt_check() < 0 || fill_root(f, root) < 0)
		goto out;
	if (zfs_snapshot(f->snap, false) < 0)
		goto out;
	if (make_masters(f, root, "-", &u) < 0)
		goto out;
	count_tree(root, &g_summary.files, &g_summary.bytes);
	rc = interrupt_check();
out:
	if (rc < 0)
		undo_run(&u, "-");
	kv_free(&props);
	free(root);
	undo_free(&u);
	return rc;
}

/* A snapshot name PREFIX+time not used on any of the datasets involved. */
static char *unique_prev(struct fetch *f)
{
	char *base = time_snapname(PREV_PREFIX);
	char *name = xstrdup(base);
	for (int n = 2;; n++) {
		char *suffix = xasprintf("@%s", name);
		bool used = false;
		for (size_t i = 0; i < f->snaps.n && !used; i++)
			used = endswith(f->snaps.v[i], suffix);
		free(suffix);
		if (!used)
			break;
		free(name);
		name = xasprintf("%s.%d", base, n);
	}
	free(base);
	return name;
}

/* Drop the previous snapshots unless clones (jails) still depend on them. */
static void drop_prev(struct undo *u, const char *prev)
{
	for (size_t i = 0; i < u->renamed.n; i++) {
		char *s = xasprintf("%s@%s", u->renamed.v[i], prev);
		if (zfs_destroy(s, NULL) < 0 && zfs_lasterr != ZE_CLONES)
			ioc_warn("could not remove the previous snapshot %s: %s", s, ioc_errmsg());
		ioc_err_clear();
		free(s);
	}
}

static int update_release(struct fetch *f)
{
	if (!sv_contains(&f->snaps, f->snap)) {
		ioc_err("release %s is incomplete: %s does not exist (an interrupted fetch?)", f->rel,
			f->snap);
		ioc_hint("roll it back to its newest %s snapshot and rename that to @%s, or destroy it "
			 "with 'zfs destroy -r %s' when no jail uses it", PREV_PREFIX, RELEASE_SNAP,
			 f->relds);
		return -1;
	}
	struct undo u;
	undo_init(&u);
	char *prev = unique_prev(f);
	char *prevsnap = xasprintf("%s@%s", f->rootds, prev);
	char *root = NULL;
	int rc = -1;
	if (!(root = mounted_path(f->rootds)))
		goto out;
	if (zfs_rename(f->snap, prevsnap) < 0)
		goto out;
	sv_add(&u.renamed, f->rootds);
	if (show_progress())
		fprintf(stderr, "updating release %s (previous state kept as @%s until done)\n", f->rel,
			prev);
	if (wipe_dir(root) < 0 || interrupt_check() < 0 || fill_root(f, root) < 0)
		goto out;
	if (zfs_snapshot(f->snap, false) < 0)
		goto out;
	sv_add(&u.snapped, f->rootds);
	if (make_masters(f, root, prev, &u) < 0 || set_fetch_props(f) < 0)
		goto out;
	count_tree(root, &g_summary.files, &g_summary.bytes);
	if (interrupt_check() < 0)
		goto out;
	rc = 0;
	drop_prev(&u, prev);
out:
	if (rc < 0)
		undo_run(&u, prev);
	free(root);
	free(prevsnap);
	free(prev);
	undo_free(&u);
	return rc;
}

/* Existing datasets and snapshots of the release and its masters (two zfs calls). */
static int load_state(struct fetch *f)
{
	struct ztable t;
	const char *rd[] = {f->relds, NULL};
	if (zfs_list(&t, "name", rd, 2, "filesystem,snapshot", NULL) < 0) {
		if (zfs_lasterr != ZE_NOENT)
			return -1;
		ioc_err_clear();
		f->exists = false;
	} else {
		f->exists = true;
		bool root = false;
		for (size_t i = 0; i < t.nrows; i++) {
			const char *n = t.rows[i].n ? t.rows[i].v[0] : "";
			if (strchr(n, '@'))
				sv_add(&f->snaps, n);
			else if (streq(n, f->rootds))
				root = true;
		}
		ztable_free(&t);
		if (!root) {
			ioc_err("release %s is incomplete: %s has no root dataset", f->rel, f->relds);
			ioc_hint("remove it with 'zfs destroy -r %s' and fetch again", f->relds);
			return -1;
		}
	}
	const char *bd[] = {f->baseds, NULL};
	if (zfs_list(&t, "name", bd, 2, "filesystem,snapshot", NULL) < 0) {
		if (zfs_lasterr != ZE_NOENT)
			return -1;
		ioc_err_clear();
		f->base_exists = false;
	} else {
		f->base_exists = true;
		for (size_t i = 0; i < t.nrows; i++) {
			const char *n = t.rows[i].n ? t.rows[i].v[0] : "";
			if (strchr(n, '@'))
				sv_add(&f->snaps, n);
			else if (!streq(n, f->baseds))
				sv_add(&f->masters, n);
		}
		ztable_free(&t);
	}
	if (!f->exists && f->base_exists) {
		ioc_err("%s exists but release %s does not (left from an earlier release?)", f->baseds,
			f->rel);
		ioc_hint("remove it with 'zfs destroy -r %s' if no basejail uses it", f->baseds);
		return -1;
	}
	return 0;
}

/* Serialize fetches of a release with each other and with basejail creation from it:
 * wait for the other one, saying so on a terminal. */
int release_lock(const char *rel)
{
	char *name = xasprintf("release-%s", rel);
	int fd = lock_jail(name, false);
	if (fd < 0 && strstr(ioc_errmsg(), "busy")) {
		ioc_err_clear();
		if (show_progress())
			fprintf(stderr, "waiting for another iocell working on release %s\n", rel);
		fd = lock_jail(name, true);
	}
	free(name);
	return fd;
}

int release_fetch_summary(bool *updated, unsigned long long *files, unsigned long long *bytes)
{
	*updated = g_summary.updated;
	*files = g_summary.files;
	*bytes = g_summary.bytes;
	return 0;
}

int release_fetch(const struct fetch_opts *o)
{
	memset(&g_summary, 0, sizeof(g_summary));
	struct fetch f;
	memset(&f, 0, sizeof(f));
	sv_init(&f.files);
	sv_init(&f.labels);
	sv_init(&f.snaps);
	sv_init(&f.masters);
	int rc = -1, lk = -1;
	struct sigsave ss;
	interrupt_catch(&ss);
	f.pool = pool_get();
	if (!f.pool)
		goto out;
	f.rel = o->release ? xstrdup(o->release) : host_codename();
	if (!o->release && streq(f.rel, "unknown")) {
		ioc_err("cannot tell this host's distribution codename (no VERSION_CODENAME in /etc/os-release)");
		ioc_hint("name the release: iocell fetch release=NAME ...");
		goto out;
	}
	if (!valid_component(f.rel)) {
		ioc_err("invalid release name '%s': use letters, digits and . _ : - (not first)", f.rel);
		goto out;
	}
	f.relds = ds_release(f.rel);
	f.rootds = ds_release_root(f.rel);
	f.baseds = ds_base(f.rel);
	f.snap = ds_release_snap(f.rel);
	if ((lk = release_lock(f.rel)) < 0)
		goto out;
	if (load_state(&f) < 0 || prepare_sources(&f, o) < 0)
		goto out;
	g_summary.updated = f.exists;
	rc = f.exists ? update_release(&f) : create_release(&f);
out:
	if (rc < 0) {
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		fetch_free(&f);
		ioc_err_restore(&keep);
	} else {
		fetch_free(&f);
	}
	unlock_fd(lk);
	interrupt_restore(&ss);
	return rc;
}

/* ---- basejails --------------------------------------------------------------------- */

int release_make_basejail_root(const char *rel, const char *root_ds)
{
	if (!pool_get())
		return -1;
	if (!valid_component(rel)) {
		ioc_err("invalid release name '%s'", rel);
		return -1;
	}
	char *relroot_ds = ds_release_root(rel);
	char *baseds = ds_base(rel);
	char *relroot = NULL, *dest = NULL;
	struct strv copy = {0}, sys = {0}, clones = {0};
	sv_init(&copy);
	sv_init(&sys);
	sv_init(&clones);
	bool made_root = false;
	int rc = -1;
	/* The caller (create) holds release_lock(rel). */
	if (!zfs_exists(relroot_ds)) {
		if (zfs_lasterr == ZE_NOENT) {
			ioc_err("release %s is not fetched", rel);
			ioc_hint("iocell fetch release=%s", rel);
		}
		goto out;
	}
	if (!(relroot = mounted_path(relroot_ds)))
		goto out;
	DIR *d = opendir(relroot);
	if (!d) {
		ioc_err("cannot read release %s at %s: %s", rel, relroot, strerror(errno));
		goto out;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		bool system = false;
		for (size_t i = 0; basejail_dirs[i] && !system; i++)
			system = streq(e->d_name, basejail_dirs[i]);
		if (system && is_real_dir(relroot, e->d_name))
			sv_add(&sys, e->d_name);
		else
			sv_addf(&copy, "%s/%s", relroot, e->d_name);
	}
	closedir(d);
	sv_sort(&copy);
	if (zfs_create(root_ds, NULL, false) < 0)
		goto out;
	made_root = true;
	if (!(dest = mounted_path(root_ds)))
		goto out;
	if (copy.n) {
		struct strv argv;
		sv_init(&argv);
		sv_add(&argv, "cp");
		sv_add(&argv, "-a");
		sv_add(&argv, "--");
		for (size_t i = 0; i < copy.n; i++)
			sv_add(&argv, copy.v[i]);
		sv_addf(&argv, "%s/", dest);
		char *what = xasprintf("cannot copy release %s into %s", rel, dest);
		int r = run_argv((const char *const *)argv.v, NULL, what);
		free(what);
		sv_free(&argv);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < sys.n; i++) {
		char *src = xasprintf("%s/%s", relroot, sys.v[i]);
		char *dir = xasprintf("%s/%s", dest, sys.v[i]);
		struct stat st;
		int r = 0;
		if (stat(src, &st) < 0) {
			ioc_err("cannot stat %s: %s", src, strerror(errno));
			r = -1;
		} else if (mkdir(dir, st.st_mode & 07777) < 0) {
			ioc_err("cannot create %s: %s", dir, strerror(errno));
			r = -1;
		} else if (chown(dir, st.st_uid, st.st_gid) < 0 || chmod(dir, st.st_mode & 07777) < 0) {
			ioc_err("cannot set the owner and mode of %s: %s", dir, strerror(errno));
			r = -1;
		}
		free(src);
		free(dir);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < sys.n; i++) {
		char *snap = xasprintf("%s/%s@" RELEASE_SNAP, baseds, sys.v[i]);
		char *clone = xasprintf("%s/%s", root_ds, sys.v[i]);
		struct kv props;
		kv_init(&props);
		kv_set(&props, "readonly", "on");
		int r = zfs_clone(snap, clone, &props);
		if (r < 0 && zfs_lasterr == ZE_NOENT) {
			ioc_err("release %s has no basejail master for /%s (%s)", rel, sys.v[i], snap);
			ioc_hint("fetch the release again: iocell fetch release=%s", rel);
		}
		if (r == 0)
			sv_add(&clones, clone);
		kv_free(&props);
		free(snap);
		free(clone);
		if (r < 0)
			goto out;
	}
	/* zfs-fuse mounts the clones itself: make sure they are there. */
	for (size_t i = 0; i < clones.n; i++) {
		char *p = mounted_path(clones.v[i]);
		if (!p)
			goto out;
		free(p);
	}
	rc = 0;
out:
	if (rc < 0 && made_root) {
		struct ioc_errsave keep;
		ioc_err_save(&keep);
		if (zfs_destroy(root_ds, "-r") < 0 && zfs_lasterr != ZE_NOENT)
			ioc_warn("could not remove the half-made %s: %s", root_ds, ioc_errmsg());
		ioc_err_restore(&keep);
	}
		sv_free(&copy);
	sv_free(&sys);
	sv_free(&clones);
	free(relroot);
	free(dest);
	free(relroot_ds);
	free(baseds);
	return rc;
}

/* ---- listing ----------------------------------------------------------------------- */

int release_list(struct release_info **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!pool_get())
		return -1;
	char *top = ds_releases();
	struct ztable t;
	const char *dss[] = {top, NULL};
	int rc = zfs_list(&t, "name,iocell:source,iocell:fetched,used", dss, 1, "filesystem", "name");
	if (rc < 0 && zfs_lasterr == ZE_NOENT) {
		ioc_err_clear();
		free(top);
		return 0;
	}
	if (rc < 0) {
		free(top);
		return -1;
	}
	struct release_info *r = xcalloc(t.nrows ? t.nrows : 1, sizeof(*r));
	size_t k = 0;
	size_t plen = strlen(top);
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *row = &t.rows[i];
		if (row->n < 4 || strncmp(row->v[0], top, plen) != 0 || row->v[0][plen] != '/')
			continue;
		r[k].name = xstrdup(row->v[0] + plen + 1);
		r[k].source = xstrdup(row->v[1]);
		r[k].created = xstrdup(row->v[2]);
		r[k].used = xstrdup(row->v[3]);
		k++;
	}
	ztable_free(&t);
	free(top);
	*out = r;
	*n = k;
	return 0;
}

void release_info_free(struct release_info *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].name);
		free(r[i].created);
		free(r[i].used);
		free(r[i].source);
	}
	free(r);
}
