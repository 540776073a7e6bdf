/*
 * The standard descriptors of a command iocell runs in a jail for its caller (exec,
 * console), and the relay between them and the caller's own.
 *
 * The jail never gets a descriptor of the caller: a terminal of the caller's is
 * replaced by a pseudo-terminal allocated in the jail's own devpts instance (its
 * /dev/pts), anything else (a pipe, a file, a socket, /dev/null) by a pipe.  iocell
 * copies between them while the command runs, and when the command has exited it
 * drains what the command wrote and closes its ends: a process the command left behind
 * then holds a hung-up terminal and pipes nobody reads, never the caller's input.
 * The command runs in a session of its own (no controlling terminal of the host's);
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to iocell go to its process
 * group, a window size change to its terminal.
 */
#include "core/fsat.h"
#include "linux/rt.h"
#include "linux/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

#define RELAY_BUF 65536
#define DRAIN_MAX (1 << 20) /* per descriptor, after the command exited */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void forwarded_set(sigset_t *s)
{
	sigemptyset(s);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(s, forwarded[i]);
}

/* fds 0-2 open (on /dev/null when the caller closed one), so that every descriptor made
 * here is above them. */
static void stdio_fill(void)
{
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0 && errno == EBADF) {
			int fd = open("/dev/null", i ? O_WRONLY : O_RDONLY);
			if (fd >= 0 && fd != i) /* never: the lowest free number is i */
				close(fd);
		}
}

/* A pseudo-terminal of the jail's devpts instance: the master (ours), *slave the peer
 * (the command's).  Opened beneath the jail's root (rootfd, its init's /proc/PID/root)
 * through no symlink, and only when it really is a devpts ptmx. */
static int jail_pty(int rootfd, int *slave)
{
	int m = open_nofollow(rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK, 0);
	if (m < 0)
		return -1;
	struct statfs sf;
	struct stat st;
	int unlock = 0;
	if (fstatfs(m, &sf) < 0 || sf.f_type != DEVPTS_SUPER_MAGIC || fstat(m, &st) < 0 ||
	    !S_ISCHR(st.st_mode)) {
		close(m);
		errno = ENODEV;
		return -1;
	}
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 ||
	    (*slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int e = errno;
		close(m);
		errno = e;
		return -1;
	}
	return m;
}

static int pipe_ends(int *ours, int *theirs, bool ours_reads)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		ioc_err("cannot create a pipe for the command's %s: %s",
			ours_reads ? "output" : "input", strerror(errno));
		return -1;
	}
	*ours = ours_reads ? p[0] : p[1];
	*theirs = ours_reads ? p[1] : p[0];
	fcntl(*ours, F_SETFL, O_NONBLOCK);
	return 0;
}

void jstdio_init(struct jstdio *io)
{
	memset(io, 0, sizeof(*io));
	io->child[0] = io->child[1] = io->child[2] = -1;
	io->slave = io->master = io->in_w = io->out_r = io->err_r = -1;
	io->tty_out = -1;
}

int jstdio_open(struct jstdio *io, int rootfd, bool console)
{
	jstdio_init(io);
	stdio_fill();
	for (int i = 0; i < 3; i++)
		io->tty[i] = console || isatty(i);
	/* in the background of the caller's shell: the terminal is not ours to read or to
	 * put in raw mode (that would stop us, SIGTTIN/SIGTTOU); the command's stdin is then
	 * an empty pipe */
	pid_t fg = io->tty[0] && !console ? tcgetpgrp(0) : -1; /* -1: not our controlling tty */
	bool background = fg > 0 && fg != getpgrp();
	if (background)
		io->tty[0] = false;
	bool want_pty = io->tty[0] || io->tty[1] || io->tty[2];
	if (want_pty) {
		io->master = rootfd >= 0 ? jail_pty(rootfd, &io->slave) : -1;
		if (io->master < 0) {
			if (console) {
				ioc_err("cannot allocate a pseudo-terminal in the jail (its "
					"/dev/pts/ptmx): %s",
					strerror(rootfd >= 0 ? errno : ENOENT));
				ioc_hint("the jail needs mount_devfs=1 for a console");
				return -1;
			}
			/* no devpts of its own (mount_devfs=0): plain pipes */
			io->tty[0] = io->tty[1] = io->tty[2] = false;
		}
	}
	if (io->master >= 0) {
		/* where the terminal's output goes: the caller's terminal (its stdout, else its
		 * stderr, else its stdin when that is open for writing: the echo of what is
		 * typed), nowhere when there is none */
		int acc = fcntl(0, F_GETFL) & O_ACCMODE;
		io->tty_out = console || io->tty[1] ? 1 : io->tty[2] ? 2 : acc != O_RDONLY ? 0 : -1;
		struct winsize ws;
		for (int i = 0; i < 3; i++)
			if (isatty(i) && ioctl(i, TIOCGWINSZ, &ws) == 0) {
				ioctl(io->master, TIOCSWINSZ, &ws);
				break;
			}
	}
	for (int i = 0; i < 3; i++) {
		if (io->tty[i]) {
			io->child[i] = io->slave;
			continue;
		}
		int *ours = i == 0 ? &io->in_w : i == 1 ? &io->out_r : &io->err_r;
		if (pipe_ends(ours, &io->child[i], i != 0) < 0)
			return -1;
	}
	if (background) {
		close(io->in_w); /* EOF at once */
		io->in_w = -1;
	}
	/* The caller's terminal goes raw: line editing, echo and signal keys are the
	 * jail's terminal's business. */
	if (io->tty[0] && io->master >= 0 && isatty(0) && tcgetattr(0, &io->saved) == 0) {
		struct termios t = io->saved;
		cfmakeraw(&t);
		if (tcsetattr(0, TCSANOW, &t) == 0)
			io->raw = true;
	}
	/* Blocked until the relay reads them from a signalfd; the child unblocks them
	 * (become_jail_process) before it executes the command. */
	sigset_t fwd;
	forwarded_set(&fwd);
	if (sigprocmask(SIG_BLOCK, &fwd, &io->oldmask) == 0)
		io->sigs_blocked = true;
	return 0;
}

void jstdio_child(const struct jstdio *io)
{
	setsid();
	if (io->slave >= 0)
		ioctl(io->slave, TIOCSCTTY, 0);
	for (int i = 0; i < 3; i++)
		if (io->child[i] >= 0)
			dup2(io->child[i], i);
}

void jstdio_close_child(struct jstdio *io)
{
	for (int i = 0; i < 3; i++) {
		if (io->child[i] >= 0 && io->child[i] != io->slave)
			close(io->child[i]);
		io->child[i] = -1;
	}
	if (io->slave >= 0)
		close(io->slave);
	io->slave = -1;
}

void jstdio_close(struct jstdio *io)
{
	jstdio_close_child(io);
	int *fds[] = {&io->master, &io->in_w, &io->out_r, &io->err_r};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (io->raw)
		tcsetattr(0, TCSANOW, &io->saved);
	io->raw = false;
	if (io->sigs_blocked) {
		/* one that came after the command ended acts on us now (SIGINT: we end) */
		sigprocmask(SIG_SETMASK, &io->oldmask, NULL);
		io->sigs_blocked = false;
	}
}

/* ---- the relay ---------------------------------------------------------------------------- */

/* Bytes read from the caller's stdin, waiting to go to the command. */
struct inq {
	char buf[RELAY_BUF];
	size_t off, len;
};

/* write_all to a descriptor of the caller's, which may be non-blocking (a file
 * description shared with a program that set O_NONBLOCK): wait for room then. */
static int write_caller(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (poll(&pf, 1, -1) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy what is there on from (non-blocking) to the caller's descriptor to, at most max
 * bytes.  0: more may come; 1: from is at its end (or to failed: *to_failed). */
static int pump(int from, int to, size_t max, bool *to_failed)
{
	char buf[RELAY_BUF];
	size_t done = 0;
	while (done < max) {
		ssize_t k = read(from, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 0;
		if (k <= 0)
			return 1; /* EOF, or EIO: the pty's last slave is closed */
		if (to >= 0 && write_caller(to, buf, (size_t)k) < 0) {
			*to_failed = true;
			return 1;
		}
		done += (size_t)k;
	}
	return 0;
}

static void forward(pid_t child, int sig)
{
	if (kill(-child, sig) < 0)
		kill(child, sig);
}

static void resize(const struct jstdio *io)
{
	struct winsize ws;
	for (int i = 0; i < 3; i++)
		if (isatty(i) && ioctl(i, TIOCGWINSZ, &ws) == 0) {
			ioctl(io->master, TIOCSWINSZ, &ws);
			return;
		}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The end of an output: after a failed write to the caller (EPIPE), the command's next
 * write fails (SIGPIPE), as it would have with the caller's descriptor; a terminal the
 * caller no longer has hangs up. */
static void output_done(struct jstdio *io, int *fd, bool to_failed, pid_t child)
{
	if (fd == &io->master && to_failed)
		forward(child, SIGHUP);
	close_fd(fd);
}

int jstdio_relay(struct jstdio *io, pid_t child)
{
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	sigset_t fwd;
	forwarded_set(&fwd);
	_cleanup_close_ int sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	struct sigaction ign = {.sa_handler = SIG_IGN}, oldpipe;
	sigaction(SIGPIPE, &ign, &oldpipe);
	struct inq *q = xmalloc(sizeof(*q));
	q->off = q->len = 0;
	/* where the caller's input goes: the jail's terminal or the stdin pipe */
	int *in_dst = io->tty[0] ? &io->master : &io->in_w;
	bool in_open = *in_dst >= 0;
	bool exited = pidfd < 0; /* without a pidfd: no relay, the command sees EOF */
	while (!exited) {
		if (*in_dst < 0) {
			in_open = false;
			q->len = 0;
		}
		struct pollfd pf[7];
		int *fdp[7];
		int n = 0;
		pf[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		fdp[n++] = NULL;
		if (sfd >= 0) {
			pf[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
			fdp[n++] = &sfd;
		}
		if (in_open && q->len == 0) {
			pf[n] = (struct pollfd){.fd = 0, .events = POLLIN};
			fdp[n++] = NULL;
		}
		if (q->len > 0 && *in_dst >= 0) {
			pf[n] = (struct pollfd){.fd = *in_dst, .events = POLLOUT};
			fdp[n++] = in_dst;
		}
		int *outs[] = {&io->out_r, &io->err_r, &io->master};
		for (int k = 0; k < 3; k++)
			if (*outs[k] >= 0) {
				pf[n] = (struct pollfd){.fd = *outs[k], .events = POLLIN};
				fdp[n++] = outs[k];
			}
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < n; k++) {
			short re = pf[k].revents;
			if (!re)
				continue;
			if (pf[k].fd == pidfd) {
				exited = true;
			} else if (fdp[k] == &sfd) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if ((int)si.ssi_signo == SIGWINCH) {
						if (io->master >= 0)
							resize(io);
					} else {
						forward(child, (int)si.ssi_signo);
					}
				}
			} else if (pf[k].fd == 0 && !fdp[k]) {
				ssize_t r = read(0, q->buf, sizeof(q->buf));
				if (r < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (r <= 0) {
					/* EOF: the command's stdin ends too (not a terminal's) */
					in_open = false;
					if (in_dst == &io->in_w)
						close_fd(&io->in_w);
				} else {
					q->off = 0;
					q->len = (size_t)r;
				}
			} else if (fdp[k] == in_dst && (pf[k].events & POLLOUT)) {
				ssize_t w = write(*in_dst, q->buf + q->off, q->len);
				if (w < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (w < 0) {
					/* the command closed its stdin: take no more of ours */
					q->len = 0;
					in_open = false;
					if (in_dst == &io->in_w)
						close_fd(&io->in_w);
					continue;
				}
				q->off += (size_t)w;
				q->len -= (size_t)w;
				if (q->len == 0 && !in_open && in_dst == &io->in_w)
					close_fd(&io->in_w);
			} else if (fdp[k]) {
				int to = fdp[k] == &io->out_r   ? 1
					 : fdp[k] == &io->err_r ? 2
								: io->tty_out;
				bool failed = false;
				if (pump(*fdp[k], to, RELAY_BUF * 4, &failed))
					output_done(io, fdp[k], failed, child);
			}
		}
	}
	/* The command is gone: what it wrote is still in the pipes and the terminal; what
	 * it left behind may write on, so at most DRAIN_MAX more of each. */
	int *outs[] = {&io->out_r, &io->err_r, &io->master};
	for (int k = 0; k < 3; k++)
		if (*outs[k] >= 0) {
			bool failed = false;
			int to = k == 0 ? 1 : k == 1 ? 2 : io->tty_out;
			pump(*outs[k], to, DRAIN_MAX, &failed);
		}
	free(q);
	sigaction(SIGPIPE, &oldpipe, NULL);
	if (pidfd >= 0)
		close(pidfd);
	/* Our ends closed: a process left behind has a hung-up terminal and dead pipes. */
	jstdio_close(io);
	return wait_pid(child);
}
