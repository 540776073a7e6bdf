/*
 * iocell-init: PID 1 of a running jail.  The protocol (argv, fds 3 and 4) is described in
 * initproto.h.  Plain libc, statically linked, no allocation: this program stays resident
 * in every running jail, so it is kept small and must never die by accident.
 *
 *   - all signals are blocked; the ones we care about are read from a signalfd;
 *   - COMMAND runs as /bin/sh -c COMMAND in its own session, stdin /dev/null, stdout and
 *     stderr into a pipe whose lines are copied to fd 3 with a timestamp prefix;
 *   - when COMMAND's process ends (or TIMEOUT elapses) one status line goes to fd 4;
 *   - every child is reaped; SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 are forwarded
 *     to every process of the jail with kill(-1, sig); after SIGTERM or SIGINT the init
 *     exits as soon as it has no children left.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linux/initproto.h"

#define LINE_MAX_LEN 4096 /* longer lines are split */
#define PREFIX_LEN 22     /* "[YYYY-MM-DD HH:MM:SS] " */

static char line[LINE_MAX_LEN]; /* the current, incomplete output line */
static size_t line_len;
static char outbuf[64 + LINE_MAX_LEN + 1]; /* prefix + line + '\n' */
static char rbuf[4096];

static int out_fd = -1;         /* read end of COMMAND's output pipe, -1 when closed */
static pid_t cmd_pid = -1;      /* COMMAND's process while it runs */
static bool status_open = true; /* fd 4 still open */
static bool terminating;        /* SIGTERM or SIGINT received */
static bool have_deadline;
static struct timespec deadline; /* CLOCK_MONOTONIC */
static int wall_state;           /* wallclock: 0 none, 1 armed, 2 SIGTERM sent, 3 done */
static int wall_signo;           /* 0: stop the jail; else send this signal */
static struct timespec wall;     /* CLOCK_MONOTONIC */
#define WALL_GRACE 10            /* seconds from SIGTERM to SIGKILL */

/* Write all of buf to fd; false on any error (the caller drops the data). */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* One status line to fd 4, then close it.  Only the first call does anything. */
static void report_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (!status_open)
		return;
	status_open = false;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)write_all(INIT_FD_STATUS, buf, (size_t)n);
	if (close(INIT_FD_STATUS) < 0) {
		/* nothing sensible to do: the descriptor is gone either way */
	}
}

/* Emit the buffered line (even when empty) to the log with a timestamp. */
static void flush_line(void)
{
	struct timespec ts;
	struct tm tm;
	size_t plen = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && localtime_r(&ts.tv_sec, &tm) != NULL)
		plen = strftime(outbuf, 64, "[%Y-%m-%d %H:%M:%S] ", &tm);
	if (plen == 0) {
		memcpy(outbuf, "[0000-00-00 00:00:00] ", PREFIX_LEN);
		plen = PREFIX_LEN;
	}
	memcpy(outbuf + plen, line, line_len);
	outbuf[plen + line_len] = '\n';
	/* A failing log must never stop the init: the line is dropped. */
	(void)write_all(INIT_FD_LOG, outbuf, plen + line_len + 1);
	line_len = 0;
}

static void close_output(void)
{
	if (out_fd < 0)
		return;
	if (close(out_fd) < 0) {
		/* the descriptor is released anyway */
	}
	out_fd = -1;
}

/*
 * Read what COMMAND's pipe holds right now (it is non-blocking) and log complete lines.
 * At EOF (every writer gone) the partial line is logged too and the pipe closed.  At most
 * DRAIN_READS reads per call, so that a process printing without pause cannot keep the
 * init from its signals and timeout (the main loop comes back here at once).
 */
#define DRAIN_READS 16
static void drain_output(void)
{
	for (int reads = 0; reads < DRAIN_READS && out_fd >= 0; reads++) {
		ssize_t n = read(out_fd, rbuf, sizeof(rbuf));
		if (n < 0) {
			if (errno == EINTR)
				continue; /* cannot happen: every signal is blocked */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			n = 0; /* treat a read error like EOF */
		}
		if (n == 0) {
			if (line_len > 0)
				flush_line();
			close_output();
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = rbuf[i];
			if (c == '\n') {
				flush_line();
				continue;
			}
			line[line_len++] = c;
			if (line_len == sizeof(line))
				flush_line();
		}
	}
}

static void cmd_finished(int status)
{
	/* COMMAND is gone, so whatever it printed is in the pipe: log it before the status
	 * (a last line without its newline too: the pipe never reaches EOF, we hold it). */
	drain_output();
	if (line_len > 0)
		flush_line();
	if (WIFEXITED(status))
		report_status("exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		report_status("signal %d", WTERMSIG(status));
	else
		report_status("error unexpected wait status %#x", (unsigned)status);
	cmd_pid = -1;
	have_deadline = false;
}

static void reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			if (pid == cmd_pid)
				cmd_finished(status);
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno == ECHILD && terminating) {
			drain_output();
			if (line_len > 0)
				flush_line();
			_exit(0);
		}
		return; /* 0: children left, none exited; or ECHILD while not stopping */
	}
}

static void forward(int sig)
{
	if (kill(-1, sig) < 0 && errno != ESRCH) {
		/* nothing else to do: the signal reached whom it could */
	}
	if (sig == SIGTERM || sig == SIGINT) {
		terminating = true;
		reap(); /* no children at all: exit right away */
	}
}

/* In the child: become COMMAND.  Never returns. */
static void __attribute__((noreturn)) exec_command(const char *command, int pipe_w)
{
	sigset_t empty;
	int null;
	const char *what;

	what = "setsid";
	if (setsid() < 0)
		goto fail;
	what = "dup2";
	if (pipe_w != STDOUT_FILENO && dup2(pipe_w, STDOUT_FILENO) < 0)
		goto fail;
	if (pipe_w != STDERR_FILENO && dup2(pipe_w, STDERR_FILENO) < 0)
		goto fail;
	if (pipe_w > STDERR_FILENO && close(pipe_w) < 0)
		goto fail;
	what = "open /dev/null";
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0)
		goto fail;
	what = "dup2";
	if (null != STDIN_FILENO) {
		if (dup2(null, STDIN_FILENO) < 0)
			goto fail;
		if (close(null) < 0)
			goto fail;
	} else {
		/* /dev/null landed on fd 0 itself (fd 0 was closed): keep it across exec */
		if (fcntl(STDIN_FILENO, F_SETFD, 0) < 0)
			goto fail;
	}
	/* only 0-2 reach COMMAND, whatever the init may hold (its own are close-on-exec) */
	(void)syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
	what = "signal setup";
	if (signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		goto fail;
	if (sigemptyset(&empty) < 0 || sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
		goto fail;
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	what = "exec /bin/sh";
fail : {
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "iocell-init: %s: %s\n", what, strerror(errno));
	if (n > 0)
		(void)write_all(STDERR_FILENO, msg,
				(size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}
	_exit(127);
}

static void set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
		/* a leak into COMMAND is harmless compared with not starting */
	}
}

/* The relay pipe: read end ours (non-blocking), write end kept at INIT_FD_RELAY for the
 * init's whole life, so iocell can hand it to later commands (see initproto.h). */
static int open_relay(void)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	if (p[1] != INIT_FD_RELAY) {
		if (dup2(p[1], INIT_FD_RELAY) < 0)
			return -1;
		(void)close(p[1]);
	}
	set_cloexec(INIT_FD_RELAY);
	out_fd = p[0];
	return 0;
}

static void start_command(const char *command, unsigned long timeout)
{
	pid_t pid = fork();
	if (pid < 0) {
		report_status("error fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		exec_command(command, INIT_FD_RELAY);
	cmd_pid = pid;
	if (timeout > 0) {
		if (clock_gettime(CLOCK_MONOTONIC, &deadline) == 0) {
			deadline.tv_sec += (time_t)timeout;
			have_deadline = true;
		}
	}
}

/* Milliseconds until when (CLOCK_MONOTONIC) for poll(), 0 when it has passed. */
static int until(const struct timespec *when)
{
	struct timespec now;
	int64_t ms;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 100; /* cannot tell: look again soon */
	ms = (int64_t)(when->tv_sec - now.tv_sec) * 1000 + (when->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0) {
		/* round up so that we never wake before the deadline */
		if (when->tv_sec > now.tv_sec ||
		    (when->tv_sec == now.tv_sec && when->tv_nsec > now.tv_nsec))
			return 1;
		return 0;
	}
	if (ms > INT_MAX)
		return INT_MAX;
	return (int)ms + 1;
}

/* Milliseconds until the nearest deadline for poll(): -1 without one, 0 when passed. */
static int poll_timeout(void)
{
	int a = have_deadline ? until(&deadline) : -1;
	int b = (wall_state == 1 || wall_state == 2) ? until(&wall) : -1;
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* One timestamped line to the console log. */
static void log_msg(const char *msg)
{
	size_t save = line_len;
	char keep[128];
	size_t k = save < sizeof(keep) ? save : sizeof(keep);
	memcpy(keep, line, k); /* a pending partial output line stays pending */
	line_len = strlen(msg) < sizeof(line) ? strlen(msg) : sizeof(line) - 1;
	memcpy(line, msg, line_len);
	flush_line();
	memcpy(line, keep, k);
	line_len = k;
}

/* wallclock (initproto.h): at the deadline stop the jail (SIGTERM to every process, then
 * SIGKILL after WALL_GRACE seconds), or send the chosen signal once. */
static void check_wallclock(void)
{
	if ((wall_state != 1 && wall_state != 2) || until(&wall) != 0)
		return;
	if (wall_state == 2) {
		log_msg("iocell-init: wallclock grace over: SIGKILL to every process");
		(void)kill(-1, SIGKILL);
		wall_state = 3;
		return;
	}
	if (wall_signo != 0 && wall_signo != SIGTERM && wall_signo != SIGINT) {
		char msg[96];
		snprintf(msg, sizeof(msg),
			 "iocell-init: wallclock limit reached: signal %d to every process",
			 wall_signo);
		log_msg(msg);
		(void)kill(-1, wall_signo);
		if (wall_signo == SIGKILL)
			terminating = true;
		wall_state = 3;
		return;
	}
	log_msg("iocell-init: wallclock limit reached: stopping the jail");
	forward(SIGTERM);
	wall.tv_sec += WALL_GRACE;
	wall_state = 2;
}

static void check_timeout(void)
{
	if (!have_deadline || cmd_pid <= 0 || until(&deadline) != 0)
		return;
	have_deadline = false;
	if (kill(-cmd_pid, SIGKILL) < 0 && kill(cmd_pid, SIGKILL) < 0) {
		/* already gone: it is reaped like any other child */
	}
	drain_output();
	report_status("timeout");
	cmd_pid = -1; /* its exit status no longer matters */
}

/* fds 0-5 must exist so that the relay pipe and /dev/null never land on them by accident. */
static void ensure_fds(void)
{
	for (int fd = 0; fd <= INIT_FD_RELAY; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n >= 0 && n != fd) {
			/* cannot happen (lowest free descriptor), but never keep a stray one */
			(void)close(n);
		}
	}
}

static int usage(const char *msg)
{
	static const char text[] = "usage: iocell-init TIMEOUT COMMAND|none [WALLCLOCK[:SIGNO]]\n";
	(void)write_all(STDERR_FILENO, text, sizeof(text) - 1);
	report_status("error %s", msg);
	return 2;
}

int main(int argc, char **argv)
{
	sigset_t all, wanted;
	struct sigaction sa;
	unsigned long timeout;
	char *end;
	int sfd;

	/* Not dumpable: jail processes (same uid, same capabilities) must not reach our
	 * /proc/1/exe (the host's binary: CVE-2019-5736) or /proc/1/fd (the console log). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return 1;
	ensure_fds();
	set_cloexec(INIT_FD_LOG);
	set_cloexec(INIT_FD_STATUS);

	if (argc != 3 && argc != 4)
		return usage("usage: iocell-init TIMEOUT COMMAND|none [WALLCLOCK[:SIGNO]]");
	errno = 0;
	timeout = strtoul(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || argv[1][0] == '-' ||
	    timeout > 100UL * 365 * 24 * 3600)
		return usage("bad TIMEOUT (seconds, 0 = unbounded)");
	if (argc == 4) {
		unsigned long secs, sig = 0;
		errno = 0;
		secs = strtoul(argv[3], &end, 10);
		if (errno == 0 && end != argv[3] && *end == ':') {
			char *e2;
			sig = strtoul(end + 1, &e2, 10);
			end = (e2 != end + 1 && sig > 0 && sig < 65) ? e2 : end;
		}
		if (errno != 0 || end == argv[3] || *end != '\0' || argv[3][0] == '-' ||
		    secs == 0 || secs > 100UL * 365 * 24 * 3600)
			return usage("bad WALLCLOCK (seconds > 0, optionally :SIGNO)");
		if (clock_gettime(CLOCK_MONOTONIC, &wall) == 0) {
			wall.tv_sec += (time_t)secs;
			wall_signo = (int)sig;
			wall_state = 1;
		}
	}
	/* kill(-1, sig) outside a PID namespace would signal the whole host. */
	if (getpid() != 1)
		return usage("iocell-init must be PID 1 of a PID namespace");

	/* Every signal blocked before any goes back to its default: a SIGTERM from the host
	 * (stop) arriving in between would otherwise end the init by its default action;
	 * blocked, it waits for the signalfd. */
	if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, NULL) < 0) {
		report_status("error sigprocmask: %s", strerror(errno));
		return 1;
	}
	/* Signals ignored where iocell ran (nohup, a shell's '&', systemd's IgnoreSIGPIPE)
	 * stay ignored across exec: an ignored signal never reaches the signalfd, so the init
	 * could not forward it, and the jail's processes would inherit it.  All back to
	 * their defaults. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGPIPE, &sa, NULL) < 0) {
		report_status("error sigaction: %s", strerror(errno));
		return 1;
	}
	if (sigemptyset(&wanted) < 0 || sigaddset(&wanted, SIGCHLD) < 0 ||
	    sigaddset(&wanted, SIGTERM) < 0 || sigaddset(&wanted, SIGINT) < 0 ||
	    sigaddset(&wanted, SIGHUP) < 0 || sigaddset(&wanted, SIGQUIT) < 0 ||
	    sigaddset(&wanted, SIGUSR1) < 0 || sigaddset(&wanted, SIGUSR2) < 0) {
		report_status("error sigaddset: %s", strerror(errno));
		return 1;
	}
	sfd = signalfd(-1, &wanted, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		report_status("error signalfd: %s", strerror(errno));
		return 1;
	}

	if (open_relay() < 0) {
		report_status("error relay pipe: %s", strerror(errno));
		return 1;
	}
	if (strcmp(argv[2], "none") == 0)
		report_status("exit 0");
	/* The log's timestamps are in the jail's zone (a file read through the jail's
	 * file system: not before start has its answer when there is no command). */
	tzset();
	if (strcmp(argv[2], "none") != 0)
		start_command(argv[2], timeout);

	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int r;

		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
		if (out_fd >= 0) {
			pfd[n].fd = out_fd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		r = poll(pfd, n, poll_timeout());
		if (r < 0) {
			if (errno != EINTR) {
				/* should not happen; avoid spinning */
				struct timespec ts = {0, 100 * 1000 * 1000};
				(void)nanosleep(&ts, NULL);
			}
			continue;
		}
		if (n > 1 && pfd[1].revents != 0)
			drain_output();
		if (pfd[0].revents != 0) {
			struct signalfd_siginfo si;
			bool child = false;
			for (;;) {
				ssize_t got = read(sfd, &si, sizeof(si));
				if (got < 0 && errno == EINTR)
					continue;
				if (got != (ssize_t)sizeof(si))
					break;
				if (si.ssi_signo == SIGCHLD)
					child = true;
				else
					forward((int)si.ssi_signo);
			}
			if (child)
				reap();
		}
		check_timeout();
		check_wallclock();
		if (terminating)
			reap();
	}
}
