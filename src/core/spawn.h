/* Running external programs: argv arrays only (never a shell), output captured. */
#ifndef IOC_SPAWN_H
#define IOC_SPAWN_H

#include "core/util.h"
#include <sys/types.h>

struct run {
	/* in */
	const char *const *argv;
	const char *input; /* data for stdin; NULL: /dev/null unless stdin_fd >= 0 */
	size_t input_len;
	int stdin_fd;               /* -1: not used */
	int stdout_fd;              /* -1: capture into out (or discard when !capture_out) */
	bool capture_out;           /* collect stdout into out */
	bool pass_out;              /* stdout goes to our stdout */
	bool pass_err;              /* stderr goes to our stderr (not captured) */
	const char *const *env_add; /* "K=V" entries added to our environment */
	const char *cwd;
	bool detach; /* as spawn_detached: a session of its own, SIGPIPE ignored */
	int keep_fd; /* passed on to the command as SPAWN_KEEP_FD (-1: none) */
	/* out */
	struct sbuf out;
	struct sbuf err;
	int status; /* exit code, or 128+signal */
	/* private: a started, unfinished run */
	pid_t pid;
	int in_w, out_r, err_r;
};

/* Initialise r for argv (NULL-terminated). */
void run_init(struct run *r, const char *const *argv);
void run_free(struct run *r);
/* Run to completion.  Returns 0 when it ran (see r->status), -1 when it could not start. */
int run_cmd(struct run *r);
/* The same in two halves, so that the caller can work while the command runs:
 * run_start spawns it (-1: could not); run_finish feeds its input, collects its output
 * and waits (as run_cmd); run_abort kills and reaps a started run. */
int run_start(struct run *r);
int run_finish(struct run *r);
void run_abort(struct run *r);
/* Run; returns 0 on exit status 0, else records an error naming what failed and the
 * command's stderr. */
int run_check(struct run *r, const char *what);
/* Convenience: run argv, capture stdout into *out (may be NULL), error on non-zero. */
int run_argv(const char *const *argv, char **out, const char *what);
/* The command line as one printable string (for --debug and error messages). */
char *argv_str(const char *const *argv);

/* Start argv with the given fds (-1 = /dev/null for in, inherit for out/err). */
pid_t spawn_fds(const char *const *argv, int in_fd, int out_fd, int err_fd);
/* The same in a session of its own with SIGPIPE ignored: a signal to our process group
 * (a kill of iocell and its children) does not reach it, and our death makes its writes
 * fail (EPIPE) so that it exits through its own clean-up: a zfs command that changes the
 * pool finishes what it asked the daemon for (which the daemon would finish anyway), and
 * a `zfs send` releases its temporary hold (zfs-fuse keeps it for ever when the sender
 * is killed).  keep_fd (unless -1) is passed on as SPAWN_KEEP_FD (core/txn.h: the
 * in-flight lock, held until the command exits). */
pid_t spawn_detached(const char *const *argv, int in_fd, int out_fd, int err_fd,
		     const char *const *env_add, int keep_fd);
/* The descriptor number keep_fd gets in the command. */
#define SPAWN_KEEP_FD 63
/* Wait for pid; returns exit code or 128+signal, -1 on error. */
int wait_pid(pid_t pid);

#endif
