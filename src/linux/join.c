/*
 * Joining a running jail: exec, console, and the commands the runtime runs inside it
 * (exec_start, exec_stop, the soft restart's kill).  The process joins the jail's cgroup
 * and namespaces, takes its capability set, seccomp filter and rlimits, and becomes a
 * user of the jail's own /etc/passwd.
 */
#include "core/accounts.h"
#include "core/fsat.h"
#include "core/spawn.h"
#include "linux/initproto.h"
#include "linux/jaillimits.h"
#include "linux/relay.h"
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
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- becoming a jail process ------------------------------------------------------------ */

/* The jail's /etc/passwd and /etc/group (core/accounts.h parses them).  iocell reads them
 * as the host's root: as every file of a jail's it reads, a regular file only, never
 * through a symlink, without blocking on a FIFO or opening a device, at most ACCOUNTS_MAX
 * bytes.  The caller may be a vfork child: every allocation here is freed before it
 * returns. */
#define ACCOUNTS_MAX (16u << 20)

/* The jail's /etc/NAME (we are in its mount namespace: / is its root). */
static char *read_accounts(const char *name)
{
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char rel[32];
	snprintf(rel, sizeof(rel), "etc/%s", name);
	char *t = rootfd < 0 ? NULL : read_regular_at(rootfd, rel, ACCOUNTS_MAX, NULL);
	if (!t)
		ioc_err("cannot read /etc/%s in the jail: %s", name, read_regular_why(errno));
	return t;
}

static int lookup_user(const char *name, struct jailuser *u)
{
	char *text = read_accounts("passwd");
	if (!text)
		return -1;
	bool found = accounts_passwd(text, name, u);
	free(text);
	if (!found) {
		ioc_err("no user %s in the jail's /etc/passwd", name);
		return -1;
	}
	/* supplementary groups: none when /etc/group is missing or not a plain file */
	text = read_accounts("group");
	if (text)
		accounts_groups(text, name, u);
	free(text);
	ioc_err_clear();
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

/* Only 0, 1 and 2 reach the command: every other descriptor (the caller's, iocell's
 * lock, pipes and pidfds) is closed when it executes (errfd stays usable until then). */
static void close_above_stdio(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
				  rl.rlim_cur < (1u << 20)
			  ? (int)rl.rlim_cur
			  : 1 << 20;
	for (int fd = 3; fd < max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
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
	/* the jail's terminal becomes the user's (programs open /dev/tty; in a user namespace
	 * it was given to the jail's root before, see spawn_relayed) */
	for (int i = 0; sp->jail_tty && u.uid != 0 && i < 3; i++)
		if (isatty(i) && fchown(i, u.uid, (gid_t)-1) == 0)
			break;
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
	/* every signal back to its default: one ignored where iocell ran (nohup, a shell's
	 * '&' ignores SIGINT and SIGQUIT) would stay ignored across exec, and Ctrl-C on the
	 * jail's terminal would not interrupt the command */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	close_above_stdio();
	exec_in_path(sp->argv, envp);
	ioc_err("cannot execute %s in the jail: %s", sp->argv[0], strerror(errno));
	child_fail(errfd);
}

/* ---- spawning into the jail ---------------------------------------------------------------- */

/* What the joining processes need, prepared before any fork. */
struct joining {
	const struct spawn *sp;
	const struct jailconf *c;
	uint64_t caps;
	struct cgroup cg;
	int pidfd, nsflags, relay, err_wr;
	const struct jstdio *io; /* exec and console: the command's descriptors */
	bool userns;             /* the jail has a user namespace, entered after the others */
};

/* The command's own process, forked inside the jail's PID namespace (exec_start,
 * exec_stop, the soft restart's kill). */
static void command_child(const struct joining *jn) __attribute__((noreturn));
static void command_child(const struct joining *jn)
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
	if (sp->mode == SP_LOGGED)
		setsid();
	become_jail_process(sp, jn->caps, &jn->c->sec, &jn->c->lim, -1, jn->err_wr);
}

/* exec_start, exec_stop, the soft restart's kill: a child joins the cgroup and every
 * namespace, forks the command (which so enters the PID namespace) and waits for it. */
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
	if (jn->cg.n && cg_attach_self(&jn->cg) < 0)
		child_fail(jn->err_wr);
	if (setns(jn->pidfd, jn->nsflags) < 0) {
		ioc_err("cannot enter the jail's namespaces: %s", strerror(errno));
		child_fail(jn->err_wr);
	}
	/* The jail's root from here on; the rlimits first, as host root
	 * (become_jail_process sets them again, unchanged). */
	if (jn->userns &&
	    (lim_rlimits_self(&jn->c->lim) < 0 || uns_become_root(jn->pidfd, false) < 0))
		child_fail(jn->err_wr);
	pid_t c2 = fork();
	if (c2 < 0)
		child_fail(jn->err_wr);
	if (c2 == 0)
		command_child(jn);
	close(jn->err_wr);
	if (sp->mode == SP_LOGGED && sp->timeout > 0) {
		/* bounded: kill the command's session when the time is up */
		for (long long end = now_ms() + sp->timeout * 1000; now_ms() < end;) {
			int st;
			if (waitpid(c2, &st, WNOHANG) == c2)
				_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
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

/* Exec and console, like nsenter: we join the cgroup and every namespace but the mount
 * one (our /proc stays the host's), and the one child, which enters the jail's PID
 * namespace by being forked, takes its descriptors (jstdio: never ours), joins the mount
 * namespace and becomes the command.  vfork: no copy of our page tables (the largest
 * part of this command's time on a virtual machine), and we sleep until the command is
 * executed.  The child shares our memory: it only calls what leaves our state as it was
 * (balanced allocations, static error text) and ends in execve or _exit. */
static pid_t exec_vfork(const struct joining *jn)
{
	prctl(PR_SET_DUMPABLE, 0);
	_cleanup_close_ int ownpid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (ownpid < 0 || (jn->cg.n && cg_attach_self(&jn->cg) < 0) ||
	    setns(jn->pidfd, jn->nsflags & ~CLONE_NEWNS) < 0) {
		if (!ioc_err_pending())
			ioc_err("cannot enter the jail's namespaces: %s", strerror(errno));
		return -2;
	}
	pid_t c1 = vfork();
	if (c1 == 0) {
		jstdio_child(jn->io);
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

/* The jail's root as its init sees it (for its /dev/pts), -1 when it has none. */
static int init_root(const struct runstate *rs, int pidfd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%lld/root", rs_num(rs, RS_PID, 0));
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* still the init of the pidfd (not a new process with its number) */
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};
	if (fd >= 0 && poll(&pf, 1, 0) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Exec and console: the command with its own descriptors, relayed to ours. */
static int spawn_relayed(const struct runstate *rs, struct joining *jn, int err_rd, int *status)
{
	_cleanup_close_ int rootfd = init_root(rs, jn->pidfd);
	struct jstdio io;
	if (jstdio_open(&io, rootfd, jn->sp->mode == SP_CONSOLE) < 0) {
		jstdio_close(&io);
		return -1;
	}
	jn->io = &io;
	/* in a user namespace the terminal is given to the jail's root (host root made it),
	 * which then gives it to the user (become_jail_process) or login does */
	if (io.slave >= 0 && jn->userns && fchown(io.slave, jn->c->idmap_base, (gid_t)-1) < 0) {
		ioc_err("cannot give the jail's terminal to its root: %s", strerror(errno));
		jstdio_close(&io);
		return -1;
	}
	struct spawn sp = *jn->sp;
	sp.jail_tty = io.master >= 0;
	jn->sp = &sp;
	pid_t c1 = exec_vfork(jn);
	jstdio_close_child(&io);
	if (c1 < 0) {
		if (c1 == -1)
			ioc_err("fork failed: %s", strerror(errno));
		jstdio_close(&io);
		return -1;
	}
	close(jn->err_wr);
	jn->err_wr = -1;
	/* vfork: the child has executed the command (the pipe closed) or failed (a message) */
	char msg[2048];
	ssize_t k;
	while ((k = read(err_rd, msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	if (k > 0) {
		jstdio_close(&io);
		*status = wait_pid(c1);
		msg[k] = '\0';
		ioc_err("%s", msg);
		return -1;
	}
	*status = jstdio_relay(&io, c1);
	return *status < 0 ? -1 : 0;
}

int jail_spawn(const struct runstate *rs, const struct jailconf *c, const struct spawn *sp,
	       int *status)
{
	struct joining jn = {.sp = sp, .c = c, .caps = sec_caps(&c->sec), .userns = !c->privileged};
	if (seccomp_prepare(&c->sec) < 0)
		return -1;
	_cleanup_cgroup_ struct cgroup cg = {0};
	cg_of_state(&cg, rs);
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
	_cleanup_close_ int err_rd = errp[0];
	jn.err_wr = errp[1];
	tzset(); /* timestamps use the host's zone, never the jail's files */
	fflush(NULL);
	if (sp->mode == SP_INTERACTIVE || sp->mode == SP_CONSOLE) {
		int rc = spawn_relayed(rs, &jn, err_rd, status);
		if (jn.err_wr >= 0)
			close(jn.err_wr);
		return rc;
	}
	pid_t c1 = fork();
	if (c1 < 0) {
		ioc_err("fork failed: %s", strerror(errno));
		close(jn.err_wr);
		return -1;
	}
	if (c1 == 0)
		joining_child(&jn);
	close(jn.err_wr);
	return child_wait(err_rd, c1, status);
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
