#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool ioc_debug;
bool ioc_quiet;

static char errbuf[2048];
static char hintbuf[512];

static void oom(void)
{
	static const char msg[] = "iocell: out of memory\n";
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more we can do */
	}
	abort();
}

void ioc_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	hintbuf[0] = '\0';
	/* One line: fold any newline a wrapped command's stderr brought in. */
	for (char *p = errbuf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t n = strlen(errbuf);
	while (n && errbuf[n - 1] == ' ')
		errbuf[--n] = '\0';
}

void ioc_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(hintbuf, sizeof(hintbuf), fmt, ap);
	va_end(ap);
}

void ioc_err_ctx(const char *fmt, ...)
{
	char ctx[512], old[sizeof(errbuf)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof(old));
	struct sbuf b;
	sb_init(&b);
	sb_add(&b, ctx);
	if (old[0]) {
		sb_add(&b, ": ");
		sb_add(&b, old);
	}
	size_t n = b.len < sizeof(errbuf) - 1 ? b.len : sizeof(errbuf) - 1;
	memcpy(errbuf, b.s, n);
	errbuf[n] = '\0';
	sb_free(&b);
}

const char *ioc_errmsg(void) { return errbuf; }
const char *ioc_errhint(void) { return hintbuf; }
bool ioc_err_pending(void) { return errbuf[0] != '\0'; }
void ioc_err_clear(void) { errbuf[0] = hintbuf[0] = '\0'; }

void ioc_err_save(struct ioc_errsave *e)
{
	e->msg = xstrdup(errbuf);
	e->hint = xstrdup(hintbuf);
}

void ioc_err_restore(struct ioc_errsave *e)
{
	ioc_err("%s", e->msg);
	if (*e->hint)
		ioc_hint("%s", e->hint);
	free(e->msg);
	free(e->hint);
	e->msg = e->hint = NULL;
}

void ioc_err_print(void)
{
	if (!errbuf[0])
		snprintf(errbuf, sizeof(errbuf), "failed (no further detail)");
	if (hintbuf[0])
		fprintf(stderr, "iocell: %s (hint: %s)\n", errbuf, hintbuf);
	else
		fprintf(stderr, "iocell: %s\n", errbuf);
	ioc_err_clear();
}

void ioc_warn(const char *fmt, ...)
{
	va_list ap;
	fputs("iocell: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void sb_init(struct sbuf *b)
{
	b->cap = 64;
	b->len = 0;
	b->s = xmalloc(b->cap);
	b->s[0] = '\0';
}

static void sb_grow(struct sbuf *b, size_t add)
{
	if (!b->s)
		sb_init(b);
	if (b->len + add + 1 > b->cap) {
		while (b->len + add + 1 > b->cap)
			b->cap *= 2;
		b->s = xrealloc(b->s, b->cap);
	}
}

void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_add(struct sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }
void sb_addc(struct sbuf *b, char c) { sb_addn(b, &c, 1); }

void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sb_addn(b, small, (size_t)n);
		return;
	}
	sb_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(b, fmt, ap);
	va_end(ap);
}

char *sb_steal(struct sbuf *b)
{
	if (!b->s)
		sb_init(b);
	char *s = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void sb_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void sb_reset(struct sbuf *b)
{
	if (!b->s)
		sb_init(b);
	b->len = 0;
	b->s[0] = '\0';
}

void sv_init(struct strv *sv)
{
	sv->n = 0;
	sv->cap = 8;
	sv->v = xcalloc(sv->cap, sizeof(char *));
}

void sv_take(struct strv *sv, char *s)
{
	if (!sv->v)
		sv_init(sv);
	if (sv->n + 2 > sv->cap) {
		sv->cap *= 2;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(char *));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void sv_add(struct strv *sv, const char *s) { sv_take(sv, xstrdup(s)); }

void sv_addf(struct strv *sv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sv_take(sv, xvasprintf(fmt, ap));
	va_end(ap);
}

void sv_free(struct strv *sv)
{
	if (sv->v)
		for (size_t i = 0; i < sv->n; i++)
			free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

bool sv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (streq(sv->v[i], s))
			return true;
	return false;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sv_sort(struct strv *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(char *), cmpstr);
}

void split(struct strv *out, const char *s, const char *seps, bool skip_empty)
{
	if (!out->v)
		sv_init(out);
	const char *p = s;
	for (;;) {
		size_t n = strcspn(p, seps);
		if (n || !skip_empty)
			sv_take(out, xstrndup(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
}

bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

char *chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

DIR *opendir_dup(int fd)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return NULL;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		errno = e;
	}
	return d;
}

char *read_fd(int fd, size_t *lenp)
{
	struct sbuf b;
	sb_init(&b);
	char tmp[8192];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			sb_free(&b);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		sb_addn(&b, tmp, (size_t)r);
	}
	if (lenp)
		*lenp = b.len;
	return sb_steal(&b);
}

char *read_file(const char *path, size_t *lenp)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ioc_err("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	char *s = read_fd(fd, lenp);
	if (!s)
		ioc_err("cannot read %s: %s", path, strerror(errno));
	return s;
}

static int write_file_replace(const char *path, const char *data, size_t len, int mode, bool sync);

int write_file_atomic(const char *path, const char *data, size_t len, int mode)
{
	return write_file_replace(path, data, len, mode, true);
}

int write_file_cache(const char *path, const char *data, size_t len, int mode)
{
	return write_file_replace(path, data, len, mode, false);
}

static int write_file_replace(const char *path, const char *data, size_t len, int mode, bool sync)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		ioc_err("cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ioc_err("cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (sync && fsync(fd) < 0) {
		ioc_err("cannot fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ioc_err("cannot close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ioc_err("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int mkdir_p(const char *path, int mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
			ioc_err("cannot create directory %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
		ioc_err("cannot create directory %s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

static char *fmt_now(const char *fmt)
{
	char buf[64];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), fmt, &tm);
	return xstrdup(buf);
}

char *time_tag(void) { return fmt_now("%Y-%m-%d@%H:%M:%S"); }

char *time_snapname(const char *prefix)
{
	char *t = fmt_now("%Y-%m-%d_%H:%M:%S");
	char *s = xasprintf("%s%s", prefix, t);
	free(t);
	return s;
}

bool isatty_in(void) { return isatty(STDIN_FILENO) == 1; }
bool isatty_out(void) { return isatty(STDOUT_FILENO) == 1; }
bool isatty_err(void) { return isatty(STDERR_FILENO) == 1; }

bool confirm_capital_y(const char *question)
{
	fputs(question, stdout);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin)) {
		fputc('\n', stdout);
		return false;
	}
	chomp(line);
	return strcmp(line, "Y") == 0;
}

/* ---- clean-up attributes ---- */

void cleanup_freep(void *p) { free(*(void **)p); }

void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int e = errno;
		close(*fd);
		errno = e;
	}
}

void cleanup_sbufp(struct sbuf *b) { sb_free(b); }
void cleanup_strvp(struct strv *sv) { sv_free(sv); }
