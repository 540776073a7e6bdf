/*
 * What the Linux runtime's files share (start.c, startzfs.c, join.c, hooks.c, stop.c,
 * chroot.c, info.c, limitsops.c): not an interface, src/platform.h is.  Everything here
 * takes the typed configuration (core/jailconf.h), never a property by name.
 */
#ifndef IOC_LINUX_RT_H
#define IOC_LINUX_RT_H

#include "core/jailconf.h"
#include "core/runstate.h"
#include "linux/cgroup.h"

#include <stdbool.h>
#include <sys/types.h>

/* ---- processes (proc.c) ---- */

/* The PATH of every process iocell starts in a jail ("PATH=..."). */
extern const char *const jail_path_env;

long long now_ms(void);
/* Read up to n bytes, waiting at most timeout_ms (-1: no limit): what read(2) returns,
 * or -2 at the timeout. */
ssize_t read_some(int fd, char *buf, size_t n, int timeout_ms);
/* In a child: hand the pending error to the parent through errfd, _exit(1). */
void child_fail(int errfd) __attribute__((noreturn));
/* Wait for a child that reports failures through an error pipe (child_fail; the
 * caller's write end closed): 0 with *status its exit status, or -1 with its message. */
int child_wait(int err_rd, pid_t pid, int *status);
/* Has the process of pidfd exited within ms milliseconds? */
bool wait_exit(int pidfd, long long ms);
/* A child in new namespaces (clone flags CLONE_NEW*): as fork, pid 0 in the child. */
pid_t clone_ns(int flags);
/* A pidfd of the running jail's init, -1 with the error when it is gone. */
int init_pidfd(const struct runstate *rs);
/* The jail's seccomp program must be in memory before entering its mount namespace
 * (the cache lives on the host; a jail must never supply its own filter). */
int seccomp_prepare(const struct jail_security *s);

/* ---- the console log and host hooks (hooks.c) ---- */

/* MOUNTROOT/log/UUID-console.log */
char *log_path(const char *uuid);
/* Open the console log for appending.  create: created when missing, -1 with the error;
 * otherwise -1 quietly when it (or path) is missing. */
int log_open(const char *path, bool create);
/* One timestamped line "[DATE TIME] iocell: MESSAGE" (fd -1: nothing). */
void log_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One timestamped line "[DATE TIME] TEXT". */
void log_text(int fd, const char *text);

/* The environment of host hooks (IOCELL_UUID, IOCELL_TAG, IOCELL_JID, IOCELL_ROOT). */
struct hookenv {
	char uuid[64], tag[200], jid[32], root[4200];
};
void hookenv_fill(struct hookenv *e, const struct jailconf *c, int jid);
/* Run a host hook (cmd NULL: none): /bin/sh -c CMD with no_new_privs, its own process
 * group, output in the log, bounded by timeout seconds (0: none). */
int run_hook(const char *name, const char *cmd, const struct hookenv *he, long timeout, int logfd);
/* Copy lines from in to the log, each timestamped, until EOF or the deadline (ms on the
 * monotonic clock, 0 = none).  0 at EOF, 1 at the deadline. */
int relay_to_log(int in, int logfd, long long deadline);

/* ---- joining a running jail (join.c) ---- */

enum spawn_mode {
	SP_INTERACTIVE, /* exec: the caller's stdio */
	SP_LOGGED,      /* exec_start / exec_stop: output to the console log, bounded */
	SP_CONSOLE,     /* a pseudo-terminal allocated inside the jail */
	SP_KILLALL,     /* every process but the init (soft restart) */
};

struct spawn {
	enum spawn_mode mode;
	const char *user; /* NULL: root */
	char *const *argv;
	long timeout;  /* seconds for SP_LOGGED, 0 = none */
	bool jail_tty; /* fds 0-2 that are terminals are the jail's own (exec, console): the
			* user's, as login makes them (never the caller's terminal) */
};

/* Run sp in the jail of rs (c: its configuration from the state).  0 with *status. */
int jail_spawn(const struct runstate *rs, const struct jailconf *c, const struct spawn *sp,
	       int *status);
/* exec_start / exec_stop inside the jail (cmd NULL: none), output to the console log,
 * bounded by timeout seconds. */
int run_inside_logged(const struct runstate *rs, const struct jailconf *c, const char *what,
		      const char *cmd, long timeout, int logfd);
/* In the final child, inside every namespace but the user namespace (userfd, -1 for
 * none or when already in it): rlimits, the user namespace, identity, privileges, exec of
 * sp->argv. */
void become_jail_process(const struct spawn *sp, uint64_t caps, const struct jail_security *sec,
			 const struct limits *lim, int userfd, int errfd) __attribute__((noreturn));

/* ---- the jail's dataset at start (startzfs.c) ---- */

/* jail_zfs / allow_mount_zfs at start: what the set-up process mounts (freed by the
 * caller).  src: the dataset's host mountpoint (bound into the jail); ds: the delegated
 * dataset (POOL/..., mounted by name) and dev: /dev/zfs's device number. */
struct jail_zfs_plan {
	char *src, *ds;
	dev_t dev;
};
/* The jail_zfs dataset made if it went missing and owned by the jail's root; with
 * allow_mount_zfs, refused in one line where delegation is impossible, else zoned=on.
 * 0 (nothing to do when jail_zfs is off), or -1 with the error recorded. */
int jail_zfs_prepare(const struct jailconf *c, struct jail_zfs_plan *z);

/* ---- the jail's cgroup (limitsops.c) ---- */

/* The cgroup of the running jail of rs: -1 with the error when it has none. */
int jail_cgroup(const struct runstate *rs, struct cgroup *cg);

#endif
