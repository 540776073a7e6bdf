/*
 * The console log (MOUNTROOT/log/UUID-console.log: timestamped lines of iocell, the
 * hooks and the jail's exec_* commands) and the hooks: exec_prestart, exec_poststart,
 * exec_prestop, exec_poststop on the host, exec_start / exec_stop inside the jail.
 */
#include "core/fsat.h"
#include "core/pool.h"
#include "core/spawn.h"
#include "linux/rt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* ---- the console log ---------------------------------------------------------------- */

static void stamp(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, n, "[%Y-%m-%d %H:%M:%S] ", &tm);
}

void log_text(int fd, const char *text)
{
	if (fd < 0)
		return;
	char ts[40];
	stamp(ts, sizeof(ts));
	_cleanup_free_ char *line = xasprintf("%s%s\n", ts, text);
	if (write_all(fd, line, strlen(line)) < 0) {
		/* a full disk does not stop a jail */
	}
}

void log_line(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	_cleanup_free_ char *text = xasprintf("iocell: %s", msg);
	log_text(fd, text);
}

char *log_path(const char *uuid)
{
	_cleanup_free_ char *rel = xasprintf("log/%s-console.log", uuid);
	return path_in_root(rel);
}

int log_open(const char *path, bool create)
{
	if (!path)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
		      0600);
	if (fd < 0 && create)
		ioc_err("cannot open the console log %s: %s", path, strerror(errno));
	return fd;
}

int relay_to_log(int in, int logfd, long long deadline)
{
	char buf[4096], line[4200];
	size_t ll = 0;
	int rc = 0;
	for (;;) {
		int to = -1;
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				rc = 1;
				break;
			}
			to = (int)(left > 1000000 ? 1000000 : left);
		}
		struct pollfd pf = {.fd = in, .events = POLLIN};
		int r = poll(&pf, 1, to);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;
		ssize_t k = read(in, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (ssize_t i = 0; i < k; i++) {
			if (ll == 0) {
				stamp(line, sizeof(line));
				ll = strlen(line);
			}
			line[ll++] = buf[i];
			if (buf[i] == '\n' || ll >= sizeof(line) - 2) {
				if (line[ll - 1] != '\n')
					line[ll++] = '\n';
				if (logfd >= 0 && write_all(logfd, line, ll) < 0) {
					/* keep draining the command's output */
				}
				ll = 0;
			}
		}
	}
	if (ll) {
		line[ll++] = '\n';
		if (logfd >= 0 && write_all(logfd, line, ll) < 0) {
			/* as above */
		}
	}
	return rc;
}

/* ---- host hooks --------------------------------------------------------------------- */

/* A hook's outcome, in the log too: an error unless it exited 0 in time.  A host hook's
 * timeout is exec_timeout, and its output is in the console log. */
static int hook_outcome(const char *name, const char *cmd, bool host, bool timed_out, long timeout,
			int st, int logfd)
{
	if (timed_out) {
		log_line(logfd, "%s: killed after %ld seconds", name, timeout);
		ioc_err("%s '%s' did not finish within %ld seconds%s", name, cmd, timeout,
			host ? " (exec_timeout)" : "");
		return -1;
	}
	if (st != 0) {
		log_line(logfd, "%s: exit status %d", name, st);
		ioc_err("%s '%s' failed with status %d", name, cmd, st);
		if (host)
			ioc_hint("see the console log");
		return -1;
	}
	return 0;
}

void hookenv_fill(struct hookenv *e, const struct jailconf *c, int jid)
{
	snprintf(e->uuid, sizeof(e->uuid), "IOCELL_UUID=%s", c->uuid);
	snprintf(e->tag, sizeof(e->tag), "IOCELL_TAG=%s", c->tag ? c->tag : "");
	snprintf(e->jid, sizeof(e->jid), "IOCELL_JID=%d", jid);
	snprintf(e->root, sizeof(e->root), "IOCELL_ROOT=%s", c->root ? c->root : "");
}

/* The hook's process: its own group, no new privileges, stdout/stderr to out. */
static void hook_child(const char *cmd, const struct hookenv *he, int out)
	__attribute__((noreturn));
static void hook_child(const char *cmd, const struct hookenv *he, int out)
{
	setpgid(0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	int nul = open("/dev/null", O_RDONLY);
	if (nul >= 0)
		dup2(nul, 0);
	dup2(out, 1);
	dup2(out, 2);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 5, sizeof(char *));
	if (!env)
		_exit(127);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "IOCELL_", 7) != 0)
			env[k++] = environ[i];
	env[k++] = (char *)he->uuid;
	env[k++] = (char *)he->tag;
	env[k++] = (char *)he->jid;
	env[k++] = (char *)he->root;
	execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, env);
	_exit(127);
}

int run_hook(const char *name, const char *cmd, const struct hookenv *he, long timeout, int logfd)
{
	if (!cmd)
		return 0;
	log_line(logfd, "%s: %s", name, cmd);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		ioc_err("%s: cannot create pipe: %s", name, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		ioc_err("%s: fork failed: %s", name, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0)
		hook_child(cmd, he, p[1]);
	close(p[1]);
	setpgid(pid, pid);
	long long deadline = timeout > 0 ? now_ms() + timeout * 1000 : 0;
	int timed_out = relay_to_log(p[0], logfd, deadline);
	close(p[0]);
	if (timed_out)
		kill(-pid, SIGKILL);
	int st = wait_pid(pid);
	return hook_outcome(name, cmd, true, timed_out, timeout, st, logfd);
}

/* ---- exec_start / exec_stop inside the jail -------------------------------------------- */

int run_inside_logged(const struct runstate *rs, const struct jailconf *c, const char *what,
		      const char *cmd, long timeout, int logfd)
{
	if (!cmd)
		return 0;
	log_line(logfd, "%s: %s", what, cmd);
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct spawn sp = {.mode = SP_LOGGED, .argv = argv, .timeout = timeout};
	int st;
	if (jail_spawn(rs, c, &sp, &st) < 0)
		return -1;
	return hook_outcome(what, cmd, false, st == 124 && timeout > 0, timeout, st, logfd);
}
