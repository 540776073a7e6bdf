/* Downloads with libcurl: see download.h. */
#include "core/download.h"
#include "core/fsat.h"
#include "core/progress.h"
#include "core/util.h"

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include "core/lazylib.h" /* after the library headers */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int download_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		ioc_err("cannot initialise libcurl");
		return -1;
	}
	return 0;
}

void download_cleanup(void) { curl_global_cleanup(); }

struct dl {
	int fd;              /* write here, or */
	struct sbuf *mem;    /* collect here (small files), bounded */
	struct sha256 *hash; /* NULL: no digest */
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
	} else if (write_all(d->fd, p, n) < 0) {
		d->werrno = errno;
		return 0;
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
		fprintf(stderr, "\rdownloading %s: %.1f MiB   ", d->label,
			mib((unsigned long long)now));
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
		ioc_err("cannot download %s: %s", url,
			errbuf[0] ? errbuf : curl_easy_strerror(res));
	return -1;
}

int download_file(const char *url, const char *path, const char *label,
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

char *download_text(const char *url, bool *absent)
{
	_cleanup_sbuf_ struct sbuf b;
	sb_init(&b);
	struct dl d = {.fd = -1, .mem = &b, .label = url};
	if (curl_get(url, &d, absent) < 0)
		return NULL;
	return sb_steal(&b);
}

char *join_url(const char *a, const char *b)
{
	size_t n = strlen(a);
	while (n && a[n - 1] == '/')
		n--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)n, a, b);
}

const char *url_basename(const char *url)
{
	const char *end = url + strcspn(url, "?#");
	const char *b = end;
	while (b > url && b[-1] != '/')
		b--;
	return b < end ? b : url;
}
