/*
 * Joining a running jail: exec, console, and the commands the runtime runs inside it
 * (exec_start, exec_stop, the soft restart's kill).  The process joins the jail's cgroup
 * and namespaces, takes its capability set, seccomp filter and rlimits, and becomes a
 * user of the jail's own /etc/passwd.
 */
#include "core/fsat.h"
#include "core/spawn.h"
#include "linux/initproto.h"
#include "linux/jaillimits.h"
#include "linux/rt.h"
#include "linux/security.h"
#include "linux/userns.h"
#include "platform.h"

#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- becoming a jail process ------------------------------------------------------------ */

/* Minimal /etc/passwd and /etc/group parsing inside the jail (no NSS: the jail's
 * libraries are never loaded into iocell). */
struct jailuser {
	uid_t uid;
	gid_t gid;
	char home[512], shell[256], name[64];
	gid_t groups[64];
	int ngroups;
};

static int lookup_user(const char *name, struct jailuser *u)
{
	memset(u, 0, sizeof(*u));
	FILE *f = fopen("/etc/passwd", "re");
	if (!f) {
		ioc_err("cannot read /etc/passwd in the jail: %s", strerror(errno));
		return -1;
	}
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		struct strv fl = {0};
		split(&fl, chomp(line), ":", false);
		if (fl.n >= 7 && streq(fl.v[0], name)) {
			long long uid, gid;
			if (parse_int(fl.v[2], 0, 4294967294LL, &uid) &&
			    parse_int(fl.v[3], 0, 4294967294LL, &gid)) {
				u->uid = (uid_t)uid;
				u->gid = (gid_t)gid;
				snprintf(u->name, sizeof(u->name), "%s", fl.v[0]);
				snprintf(u->home, sizeof(u->home), "%s", fl.v[5]);
				snprintf(u->shell, sizeof(u->shell), "%s", fl.v[6]);
				found = true;
			}
		}
		sv_free(&fl);
	}
	fclose(f);
	if (!found) {
		ioc_err("no user %s in the jail's /etc/passwd", name);
		return -1;
	}
	u->groups[u->ngroups++] = u->gid;
	f = fopen("/etc/group", "re");
	while (f && fgets(line, sizeof(line), f) && u->ngroups < 64) {
		struct strv fl = {0};
		split(&fl, chomp(line), ":", false);
		if (fl.n >= 4) {
			struct strv mem = {0};
			split(&mem, fl.v[3], ",", true);
			long long gid;
			if (sv_contains(&mem, name) && parse_int(fl.v[2], 0, 4294967294LL, &gid))
				u->groups[u->ngroups++] = (gid_t)gid;
			sv_free(&mem);
		}
		sv_free(&fl);
	}
	if (f)
		fclose(f);
	return 0;
}

/* execve, and a file without "#!" or ELF header run by /bin/sh (as execvpe does). */
static void exec_file(const char *path, char *const argv[], char *const envp[])
{
	execve(path, argv, envp);
	if (errno != ENOEXEC)
		return;
	size_t n = 0;
	while (argv[n])
		n++;
	char **sh = alloca((n + 2) * sizeof(*sh));
	sh[0] = "/bin/sh";
	sh[1] = (char *)path;
	for (size_t i = 1; i <= n; i++)
		sh[i + 1] = argv[i];
	execve(sh[0], sh, envp);
	errno = ENOEXEC;
}

/* execvpe over the jail's PATH, without touching our environment (the caller may be a
 * vfork child sharing our memory): a name with a slash is executed as it is; otherwise
 * each PATH directory in turn, the first EACCES remembered as execvpe does. */
static void exec_in_path(char *const argv[], char *const envp[])
{
	const char *name = argv[0];
	if (!*name) {
		errno = ENOENT;
		return;
	}
	if (strchr(name, '/')) {
		exec_file(name, argv, envp);
		return;
	}
	size_t nlen = strlen(name);
	bool denied = false;
	for (const char *p = jail_path_env + 5; *p;) {
		const char *e = strchrnul(p, ':');
		size_t dlen = (size_t)(e - p);
		char path[PATH_MAX];
		if (dlen + 1 + nlen < sizeof(path)) {
			memcpy(path, p, dlen);
			path[dlen] = '/';
			memcpy(path + dlen + 1, name, nlen + 1);
			exec_file(path, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
				return;
		}
		p = *e ? e + 1 : e;
	}
	errno = denied ? EACCES : ENOENT;
}

void become_jail_process(const struct spawn *sp, uint64_t caps, const struct jail_security *sec,
			 const struct limits *lim, int userfd, int errfd)
{
	/* limits: the jail's rlimits (raising a hard limit needs the host's
	 * CAP_SYS_RESOURCE: before the user namespace) */
	if (lim_rlimits_self(lim) < 0)
		child_fail(errfd);
	/* the user namespace last: every other namespace is joined as host root; the jail's
	 * files are then read as the jail's root */
	if (userfd >= 0 && uns_become_root(userfd, false) < 0)
		child_fail(errfd);
	struct jailuser u;
	const char *who = sp->user ? sp->user : "root";
	if (lookup_user(who, &u) < 0) {
		if (sp->user)
			child_fail(errfd);
		ioc_err_clear(); /* root without a passwd entry: the defaults below */
		memset(&u, 0, sizeof(u));
		snprintf(u.home, sizeof(u.home), "/root");
		snprintf(u.shell, sizeof(u.shell), "/bin/sh");
		snprintf(u.name, sizeof(u.name), "root");
		u.ngroups = 1;
	}
	/* sec_apply_caps keeps CAP_SYS_ADMIN just long enough to install the filter
	 * without no_new_privs; sec_apply_seccomp then drops it. */
	if (sec_apply_caps(caps) < 0 || sec_apply_seccomp(sec) < 0)
		child_fail(errfd);
	if (setgroups((size_t)u.ngroups, u.groups) < 0 || setresgid(u.gid, u.gid, u.gid) < 0 ||
	    setresuid(u.uid, u.uid, u.uid) < 0) {
		ioc_err("cannot become user %s in the jail: %s", who, strerror(errno));
		child_fail(errfd);
	}
	if (chdir(u.home) < 0 && chdir("/") < 0)
		child_fail(errfd);
	char home[600], user[100], logname[100], shell[300], term[128];
	snprintf(home, sizeof(home), "HOME=%s", u.home);
	snprintf(user, sizeof(user), "USER=%s", u.name);
	snprintf(logname, sizeof(logname), "LOGNAME=%s", u.name);
	snprintf(shell, sizeof(shell), "SHELL=%s", u.shell);
	const char *t = getenv("TERM");
	snprintf(term, sizeof(term), "TERM=%s", t ? t : "dumb");
	char *envp[] = {(char *)jail_path_env, home, user, logname, shell, term, NULL};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	exec_in_path(sp->argv, envp);
	ioc_err("cannot execute %s in the jail: %s", sp->argv[0], strerror(errno));
	child_fail(errfd);
}

/* ---- the console's terminal --------------------------------------------------------------- */

static struct termios saved_tio;
static bool tio_saved;

static void tty_raw(void)
{
	struct termios t;
	if (tcgetattr(0, &saved_tio) < 0)
		return;
	tio_saved = true;
	t = saved_tio;
	cfmakeraw(&t);
	tcsetattr(0, TCSANOW, &t);
}

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(0, TCSANOW, &saved_tio);
}

static volatile sig_atomic_t winch;
static void on_winch(int s)
{
	(void)s;
	winch = 1;
}

/* Relay between our terminal and the pty master until the child exits. */
static void console_relay(int master, pid_t child)
{
	struct sigaction sa = {.sa_handler = on_winch};
	sigaction(SIGWINCH, &sa, NULL);
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
	char buf[8192];
	bool in_open = true;
	for (;;) {
		if (winch) {
			winch = 0;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
		}
		struct pollfd pf[2] = {{.fd = master, .events = POLLIN},
				       {.fd = 0, .events = POLLIN}};
		int r = poll(pf, in_open ? 2 : 1, 200);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t k = read(master, buf, sizeof(buf));
			if (k <= 0)
				break;
			if (write_all(1, buf, (size_t)k) < 0)
				break;
		}
		if (r > 0 && in_open && (pf[1].revents & (POLLIN | POLLHUP))) {
			ssize_t k = read(0, buf, sizeof(buf));
			if (k <= 0)
				in_open = false;
			else if (write_all(master, buf, (size_t)k) < 0)
				break;
		}
		if (waitpid(child, NULL, WNOHANG) == child) {
			/* drain what is left */
			ssize_t k;
			fcntl(master, F_SETFL, O_NONBLOCK);
			while ((k = read(master, buf, sizeof(buf))) > 0)
				if (write_all(1, buf, (size_t)k) < 0)
					break;
			_exit(0);
		}
	}
}

/* ---- spawning into the jail ---------------------------------------------------------------- */

/* What the joining processes need, prepared before any fork. */
struct joining {
	const struct spawn *sp;
	const struct jailconf *c;
	uint64_t caps;
	struct cgroup cg;
	int pidfd, nsflags, relay, err_wr;
	bool userns; /* the jail has a user namespace, entered after the others */
};

/* The command's own process, forked inside the jail's PID namespace (not for exec). */
static void command_child(const struct joining *jn, const char *slave) __attribute__((noreturn));
static void command_child(const struct joining *jn, const char *slave)
{
	const struct spawn *sp = jn->sp;
	if (sp->mode == SP_KILLALL) {
		/* From inside the PID namespace: everything but init (and us). */
		kill(-1, SIGTERM);
		for (int i = 0; i < 50; i++) {
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
			if (kill(-1, 0) < 0 && errno == ESRCH)
				_exit(0);
		}
		kill(-1, SIGKILL);
		_exit(0);
	}
	if (sp->mode == SP_CONSOLE) {
		setsid();
		int s = open(slave, O_RDWR | O_CLOEXEC);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0) {
			ioc_err("cannot open the jail's terminal %s: %s", slave, strerror(errno));
			child_fail(jn->err_wr);
		}
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
	} else if (sp->mode == SP_LOGGED) {
		setsid();
	}
	become_jail_process(sp, jn->caps, &jn->c->sec, &jn->c->lim, -1, jn->err_wr);
}

/* Not exec: a child joins the cgroup and every namespace, forks the command (which so
 * enters the PID namespace) and waits for it. */
static void joining_child(const struct joining *jn) __attribute__((noreturn));
static void joining_child(const struct joining *jn)
{
	const struct spawn *sp = jn->sp;
	prctl(PR_SET_DUMPABLE, 0);
	if (sp->mode == SP_LOGGED) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(jn->relay, 1);
		dup2(jn->relay, 2);
	}
	if (jn->cg.n && cg_attach(&jn->cg, getpid()) < 0)
		child_fail(jn->err_wr);
	if (setns(jn->pidfd, jn->nsflags) < 0) {
		ioc_err("cannot enter the jail's namespaces: %s", strerror(errno));
		child_fail(jn->err_wr);
	}
	/* The jail's root from here on (the pseudo-terminal is then the jail's own); the
	 * rlimits first, as host root (become_jail_process sets them again, unchanged). */
	if (jn->userns &&
	    (lim_rlimits_self(&jn->c->lim) < 0 || uns_become_root(jn->pidfd, false) < 0))
		child_fail(jn->err_wr);
	int master = -1;
	char slave[128] = "";
	if (sp->mode == SP_CONSOLE) {
		master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || unlockpt(master) < 0 ||
		    ptsname_r(master, slave, sizeof(slave)) != 0) {
			ioc_err("cannot allocate a pseudo-terminal in the jail: %s",
				strerror(errno));
			child_fail(jn->err_wr);
		}
	}
	pid_t c2 = fork();
	if (c2 < 0)
		child_fail(jn->err_wr);
	if (c2 == 0)
		command_child(jn, slave);
	close(jn->err_wr);
	if (sp->mode == SP_CONSOLE)
		console_relay(master, c2);
	if (sp->mode == SP_LOGGED && sp->timeout > 0) {
		/* bounded: kill the command's session when the time is up */
		for (long long end = now_ms() + sp->timeout * 1000; now_ms() < end;) {
			if (waitpid(c2, NULL, WNOHANG) == c2)
				_exit(0);
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
		}
		kill(-c2, SIGKILL);
		waitpid(c2, NULL, 0);
		_exit(124);
	}
	int st = wait_pid(c2);
	_exit(st < 0 ? 1 : st);
}

/* Exec, like nsenter: we join the cgroup and every namespace but the mount one (our
 * /proc stays the host's), and the one child, which enters the jail's PID namespace by
 * being forked, joins the mount namespace and becomes the command.  vfork: no copy of
 * our page tables (the largest part of this command's time on a virtual machine), and
 * we sleep until the command is executed.  The child shares our memory: it only calls
 * what leaves our state as it was (balanced allocations, static error text) and ends in
 * execve or _exit. */
static pid_t exec_vfork(const struct joining *jn)
{
	prctl(PR_SET_DUMPABLE, 0);
	_cleanup_close_ int ownpid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (ownpid < 0 || (jn->cg.n && cg_attach(&jn->cg, getpid()) < 0) ||
	    setns(jn->pidfd, jn->nsflags & ~CLONE_NEWNS) < 0) {
		if (!ioc_err_pending())
			ioc_err("cannot enter the jail's namespaces: %s", strerror(errno));
		return -2;
	}
	pid_t c1 = vfork();
	if (c1 == 0) {
		if (setns(jn->pidfd, CLONE_NEWNS) < 0) {
			ioc_err("cannot enter the jail's mount namespace: %s", strerror(errno));
			child_fail(jn->err_wr);
		}
		become_jail_process(jn->sp, jn->caps, &jn->c->sec, &jn->c->lim,
				    jn->userns ? jn->pidfd : -1, jn->err_wr);
	}
	/* Children we may start later (none; a sanitizer's helper) stay on the host. */
	if (setns(ownpid, CLONE_NEWPID) < 0)
		ioc_warn("cannot return to the host's PID namespace: %s", strerror(errno));
	return c1;
}

int jail_spawn(const struct runstate *rs, const struct jailconf *c, const struct spawn *sp,
	       int *status)
{
	struct joining jn = {.sp = sp, .c = c, .caps = sec_caps(&c->sec), .userns = !c->privileged};
	if (seccomp_prepare(&c->sec) < 0)
		return -1;
	_cleanup_cgroup_ struct cgroup cg = {0};
	if (rs_get(rs, RS_CGROUP))
		cg_paths(&cg, rs->uuid);
	jn.cg = cg;
	_cleanup_close_ int pidfd = init_pidfd(rs);
	if (pidfd < 0)
		return -1;
	jn.pidfd = pidfd;
	jn.nsflags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWCGROUP |
		     (c->own_net ? CLONE_NEWNET : 0) | (c->own_ipc ? CLONE_NEWIPC : 0);
	_cleanup_close_ int relay = -1;
	if (sp->mode == SP_LOGGED) {
		/* The init's relay pipe: timestamped into the console log, for as long as the
		 * jail lives (daemons the command leaves behind keep a working stdout). */
		char rp[64];
		snprintf(rp, sizeof(rp), "/proc/%lld/fd/%d", rs_num(rs, RS_PID, 0), INIT_FD_RELAY);
		relay = open(rp, O_WRONLY | O_CLOEXEC);
		if (relay < 0 || !rs_alive(rs)) {
			ioc_err("cannot open the jail's console relay %s: %s", rp, strerror(errno));
			return -1;
		}
	}
	jn.relay = relay;
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	_cleanup_close_ int err_rd = errp[0], err_wr = errp[1];
	jn.err_wr = err_wr;
	tzset(); /* timestamps use the host's zone, never the jail's files */
	if (sp->mode == SP_CONSOLE)
		tty_raw();
	fflush(NULL);
	pid_t c1 = sp->mode == SP_INTERACTIVE ? exec_vfork(&jn) : fork();
	if (c1 == -2)
		return -1;
	if (c1 < 0) {
		ioc_err("fork failed: %s", strerror(errno));
		tty_restore();
		return -1;
	}
	if (c1 == 0)
		joining_child(&jn);
	close(TAKE_FD(err_wr));
	int rc = child_wait(err_rd, c1, status);
	tty_restore();
	return rc;
}

int plat_exec(const struct runstate *rs, const char *user, char *const argv[], int *status)
{
	_cleanup_jailconf_ struct jailconf c;
	if (jailconf_from_state(&c, rs) < 0)
		return -1;
	struct spawn sp = {.mode = SP_INTERACTIVE, .user = user, .argv = argv};
	return jail_spawn(rs, &c, &sp, status);
}

int plat_console(const struct runstate *rs, int *status)
{
	if (!isatty(0)) {
		ioc_err("console needs a terminal on standard input");
		ioc_hint("use 'iocell exec NAME CMD' from scripts");
		return -1;
	}
	_cleanup_jailconf_ struct jailconf c;
	if (jailconf_from_state(&c, rs) < 0)
		return -1;
	_cleanup_strv_ struct strv args = {0};
	sv_add(&args, "login");
	split(&args, c.login_flags, " ", true);
	struct spawn sp = {.mode = SP_CONSOLE, .argv = args.v};
	return jail_spawn(rs, &c, &sp, status);
}
