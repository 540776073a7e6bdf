/* Small shared helpers: error reporting, growable strings and string vectors. */
#ifndef IOC_UTIL_H
#define IOC_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Error convention: a failing function records one message with ioc_err()
 * (what failed, on what, why) and optionally a hint with ioc_hint(), then
 * returns -1 (or NULL).  The command dispatcher prints the message once, on one
 * line, when the command returns an error.  A later ioc_err() replaces an
 * earlier one unless ioc_err_keep() says the first one is the real cause.
 */
void ioc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ioc_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the pending error with context: "CONTEXT: previous message". */
void ioc_err_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *ioc_errmsg(void);
const char *ioc_errhint(void);
bool ioc_err_pending(void);
void ioc_err_clear(void);
/* Keep the pending error across clean-up steps that may record their own:
 * save, clean up, restore (which records it again and frees the copy). */
struct ioc_errsave {
	char *msg, *hint;
};
void ioc_err_save(struct ioc_errsave *e);
void ioc_err_restore(struct ioc_errsave *e);
/* Print the pending error (and hint) as one line on stderr, then clear it. */
void ioc_err_print(void);
/* Print a warning line on stderr immediately. */
void ioc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Clean-up attributes (as crun and bubblewrap use them): the variable's resource is
 * released when it goes out of scope, so early returns need no goto chain.
 *   _cleanup_free_ char *s = ...;      free(s)
 *   _cleanup_close_ int fd = -1;       close(fd) when >= 0
 *   _cleanup_sbuf_ struct sbuf b;      sb_free (after sb_init)
 *   _cleanup_strv_ struct strv v = {0};  sv_free
 * TAKE_PTR(p) / TAKE_FD(fd) hand the resource on (the variable becomes NULL / -1).
 */
struct sbuf;
struct strv;
void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_sbufp(struct sbuf *b);
void cleanup_strvp(struct strv *sv);
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_sbuf_ __attribute__((cleanup(cleanup_sbufp)))
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))
#define TAKE_PTR(p)                            \
	({                                     \
		__typeof__(p) take_ptr_ = (p); \
		(p) = NULL;                    \
		take_ptr_;                     \
	})
#define TAKE_FD(fd)                  \
	({                           \
		int take_fd_ = (fd); \
		(fd) = -1;           \
		take_fd_;            \
	})

extern bool ioc_debug; /* --debug: echo every external command */
extern bool ioc_quiet; /* suppress progress output */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Growable NUL-terminated string. */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sb_init(struct sbuf *b);
void sb_add(struct sbuf *b, const char *s);
void sb_addn(struct sbuf *b, const char *s, size_t n);
void sb_addc(struct sbuf *b, char c);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap);
char *sb_steal(struct sbuf *b);
void sb_free(struct sbuf *b);
void sb_reset(struct sbuf *b);

/* Growable NULL-terminated vector of owned strings (usable as an argv). */
struct strv {
	char **v;
	size_t n, cap;
};
void sv_init(struct strv *sv);
void sv_add(struct strv *sv, const char *s); /* copies s */
void sv_addf(struct strv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_take(struct strv *sv, char *s); /* takes ownership */
void sv_free(struct strv *sv);
bool sv_contains(const struct strv *sv, const char *s);
void sv_sort(struct strv *sv);

/* Split s on any of the characters in seps; empty fields are skipped when skip_empty. */
void split(struct strv *out, const char *s, const char *seps, bool skip_empty);

bool streq(const char *a, const char *b);
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);
/* Remove trailing newline characters in place. */
char *chomp(char *s);

/* Whole-file helpers.  read_file returns a malloc'd NUL-terminated buffer. */
/* A directory stream over a duplicate of fd (fd itself stays open, and the stream
 * closes only its copy); NULL with errno set. */
DIR *opendir_dup(int fd);
char *read_file(const char *path, size_t *len);
/* The rest of fd (to its end), malloc'd and NUL-terminated; NULL with errno set and no
 * message recorded. */
char *read_fd(int fd, size_t *len);
/* Write data to path atomically (tmp + fsync + rename). */
int write_file_atomic(const char *path, const char *data, size_t len, int mode);
/* The same without fsync: for caches, which may be lost. */
int write_file_cache(const char *path, const char *data, size_t len, int mode);
/* mkdir -p with mode for missing components. */
int mkdir_p(const char *path, int mode);

/* Local time formats used throughout: "YYYY-MM-DD@HH:MM:SS" and "YYYY-MM-DD_HH:MM:SS". */
char *time_tag(void);
char *time_snapname(const char *prefix);

bool isatty_in(void);
bool isatty_out(void);
bool isatty_err(void);

/* Ask a yes/no question on the terminal (or stdin); only an exact "Y" counts as yes. */
bool confirm_capital_y(const char *question);

#endif
