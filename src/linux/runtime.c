#include "linux/runtime.h"
#include "config.h"
#include "core/basejail.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/spawn.h"
#include "linux/cgroup.h"
#include "linux/jaillimits.h"
#include "linux/initproto.h"
#include "linux/jailfs.h"
#include "linux/jailnet.h"
#include "linux/security.h"

#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static const char *const jail_path_env =
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* ---- time, logs ------------------------------------------------------------------ */

static void stamp(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, n, "[%Y-%m-%d %H:%M:%S] ", &tm);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_write(int fd, const char *s, size_t n)
{
	while (fd >= 0 && n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void log_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char ts[40], msg[1024];
	stamp(ts, sizeof(ts));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "%siocell: %s\n", ts, msg);
	log_write(fd, b.s, b.len);
	sb_free(&b);
}

static char *log_path(const char *uuid)
{
	char *rel = xasprintf("log/%s-console.log", uuid);
	char *p = path_in_root(rel);
	free(rel);
	return p;
}

static int log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		ioc_err("cannot open the console log %s: %s", path, strerror(errno));
	return fd;
}

/* Copy lines from in to the log, each timestamped, until EOF or the deadline (ms on the
 * monotonic clock, 0 = none).  Returns 0 at EOF, 1 at the deadline. */
static int relay_to_log(int in, int logfd, long long deadline)
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
				log_write(logfd, line, ll);
				ll = 0;
			}
		}
	}
	if (ll) {
		line[ll++] = '\n';
		log_write(logfd, line, ll);
	}
	return rc;
}

/* ---- host hooks ------------------------------------------------------------------ */

struct hookenv {
	char uuid[64], tag[200], jid[32], root[4200];
};

static void hookenv_fill(struct hookenv *e, const char *uuid, const char *tag, int jid,
			 const char *root)
{
	snprintf(e->uuid, sizeof(e->uuid), "IOCELL_UUID=%s", uuid);
	snprintf(e->tag, sizeof(e->tag), "IOCELL_TAG=%s", tag);
	snprintf(e->jid, sizeof(e->jid), "IOCELL_JID=%d", jid);
	snprintf(e->root, sizeof(e->root), "IOCELL_ROOT=%s", root);
}

/* Run a host hook: /bin/sh -c CMD with no_new_privs, its own process group, output in
 * the log, bounded by timeout seconds (0: none). */
static int run_hook(const char *name, const char *cmd, const struct hookenv *he, long timeout,
		    int logfd)
{
	if (!cmd || streq(cmd, "none"))
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
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
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
	close(p[1]);
	setpgid(pid, pid);
	long long deadline = timeout > 0 ? now_ms() + timeout * 1000 : 0;
	int timed_out = relay_to_log(p[0], logfd, deadline);
	close(p[0]);
	if (timed_out)
		kill(-pid, SIGKILL);
	int st = wait_pid(pid);
	if (timed_out) {
		log_line(logfd, "%s: killed after %ld seconds", name, timeout);
		ioc_err("%s '%s' did not finish within %ld seconds (exec_timeout)", name, cmd, timeout);
		return -1;
	}
	if (st != 0) {
		log_line(logfd, "%s: exit status %d", name, st);
		ioc_err("%s '%s' failed with status %d", name, cmd, st);
		ioc_hint("see the console log");
		return -1;
	}
	return 0;
}

/* ---- security from properties / state ------------------------------------------------ */

static const char *const sec_keys[] = {"allow_raw_sockets", "allow_set_hostname", "allow_mount",
	"allow_mount_tmpfs", "allow_mount_procfs", "allow_mount_devfs", "allow_mount_nullfs",
	"allow_chflags", "allow_quotas", "securelevel", "children_max", NULL};

typedef const char *(*getter)(const void *obj, const char *key);

static void sec_from(struct jail_security *s, getter get, const void *obj)
{
	memset(s, 0, sizeof(*s));
	s->allow_raw_sockets = streq(get(obj, "allow_raw_sockets"), "1");
	s->allow_set_hostname = streq(get(obj, "allow_set_hostname"), "1");
	s->allow_mount = streq(get(obj, "allow_mount"), "1");
	s->allow_mount_tmpfs = streq(get(obj, "allow_mount_tmpfs"), "1");
	s->allow_mount_procfs = streq(get(obj, "allow_mount_procfs"), "1");
	s->allow_mount_devfs = streq(get(obj, "allow_mount_devfs"), "1");
	s->allow_mount_nullfs = streq(get(obj, "allow_mount_nullfs"), "1");
	s->allow_chflags = streq(get(obj, "allow_chflags"), "1");
	s->allow_quotas = streq(get(obj, "allow_quotas"), "1");
	const char *sl = get(obj, "securelevel");
	s->securelevel = sl ? atoi(sl) : 2;
	const char *cm = get(obj, "children_max");
	s->children_max = cm ? atol(cm) : 0;
}

static const char *get_jail(const void *j, const char *k) { return jail_prop_named(j, k); }
static const char *get_rs(const void *rs, const char *k) { return rs_get(rs, k); }

/* The jail's seccomp program must be in memory before entering its mount namespace
 * (the cache lives on the host; a jail must never supply its own filter):
 * sec_seccomp_cache loads it here, sec_apply_seccomp installs that copy in the child. */
static int seccomp_prepare(const struct jail_security *s)
{
	char *path = sec_seccomp_cache(s);
	free(path);
	return path ? 0 : -1;
}

/* ---- the init binary ------------------------------------------------------------- */

static int open_init_binary(void)
{
	const char *env = getenv("IOCELL_INIT");
	char self[4096];
	char *cand[3] = {NULL, NULL, NULL};
	int n = 0;
	if (env && *env)
		cand[n++] = xstrdup(env);
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k > 0) {
		self[k] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			cand[n++] = xasprintf("%s/iocell-init", self);
		}
	}
	cand[n++] = xstrdup(IOCELL_LIBEXECDIR "/iocell-init");
	int fd = -1;
	for (int i = 0; i < n; i++) {
		if (fd < 0)
			fd = open(cand[i], O_RDONLY | O_CLOEXEC);
		free(cand[i]);
	}
	if (fd < 0) {
		ioc_err("cannot find iocell-init (looked beside iocell and in %s): %s",
			IOCELL_LIBEXECDIR, strerror(errno));
		ioc_hint("reinstall iocell");
	}
	return fd;
}

/* ---- helpers ------------------------------------------------------------------------ */

static ssize_t read_some(int fd, char *buf, size_t n, int timeout_ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	for (;;) {
		int r = poll(&pf, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -2; /* timeout */
		break;
	}
	for (;;) {
		ssize_t k = read(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		return k;
	}
}

static void child_fail(int errfd) __attribute__((noreturn));
static void child_fail(int errfd)
{
	const char *m = ioc_errmsg();
	if (write_all(errfd, m, strlen(m)) < 0) {
		/* the parent reports a silent failure */
	}
	_exit(1);
}

static int lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		ioc_err("cannot create a socket to bring up lo: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		ioc_err("cannot bring up lo in the jail: %s", strerror(errno));
	close(s);
	return rc;
}

static char *resolv_content(const char *resolver)
{
	if (!resolver || streq(resolver, "none")) {
		size_t n;
		char *host = read_file("/etc/resolv.conf", &n);
		if (!host)
			ioc_err_clear();
		return host;
	}
	struct sbuf b;
	sb_init(&b);
	struct strv lines = {0};
	split(&lines, resolver, ";", true);
	for (size_t i = 0; i < lines.n; i++)
		sb_printf(&b, "%s\n", lines.v[i]);
	sv_free(&lines);
	return sb_steal(&b);
}

static int ns_flags_for(bool own_net, bool own_ipc)
{
	int f = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS;
	if (own_net)
		f |= CLONE_NEWNET;
	if (own_ipc)
		f |= CLONE_NEWIPC;
	return f;
}

/* ---- start ------------------------------------------------------------------------ */

struct startctx {
	struct jailfs_opts fs;
	const char *resolv;     /* resolv.conf content, NULL to leave it */
	bool speculative;       /* the configuration is not confirmed yet (jail_spec) */
	char *root;
	int sync_rd, err_wr, log_fd, status_wr, init_fd;
	uint64_t caps;
	struct jail_security sec;
	const char *exec_start;
	char timeout[32];
	bool own_net;
	struct limits lim;      /* limits: rlimits set before exec of the init */
	char wallclock[48];     /* limits: the init's optional deadline argument */
};

/* Become the jail's future init: pivot into the root, fds 0-2 /dev/null, 3 log,
 * 4 status, 5 init binary, 6 error pipe (7 the sync pipe, closed at exec), reduced
 * capabilities, the seccomp filter, the jail's rlimits. */
static void enter_jail(struct startctx *c)
{
	if (jailfs_pivot(c->root) < 0)
		child_fail(c->err_wr);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0) {
		ioc_err("cannot open /dev/null in the jail: %s", strerror(errno));
		child_fail(c->err_wr);
	}
	int want[] = {c->log_fd, c->status_wr, c->init_fd, c->err_wr, c->sync_rd};
	int moved[5];
	for (int i = 0; i < 5; i++) {
		moved[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 10);
		if (moved[i] < 0)
			_exit(1);
	}
	if (dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
	    dup2(moved[0], INIT_FD_LOG) < 0 || dup2(moved[1], INIT_FD_STATUS) < 0 ||
	    dup3(moved[2], 5, O_CLOEXEC) < 0 || dup3(moved[3], 6, O_CLOEXEC) < 0 ||
	    dup3(moved[4], 7, O_CLOEXEC) < 0)
		_exit(1);
	c->err_wr = 6;
	c->sync_rd = 7;
	syscall(SYS_close_range, 8, ~0U, 0);
	/* sec_apply_caps keeps CAP_SYS_ADMIN just long enough to install the filter
	 * without no_new_privs; sec_apply_seccomp then drops it. */
	if (sec_apply_caps(c->caps) < 0 || sec_apply_seccomp(&c->sec) < 0)
		child_fail(c->err_wr);
	/* limits: rlimits of the init, inherited by every process it starts */
	if (lim_rlimits_self(&c->lim) < 0)
		child_fail(c->err_wr);
}

static void start_child(struct startctx *c) __attribute__((noreturn));
static void start_child(struct startctx *c)
{
	char b;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 0);
	/* 1. wait until the parent has put us into the jail's cgroup */
	if (read_some(c->sync_rd, &b, 1, -1) != 1)
		_exit(1);
	if (unshare(CLONE_NEWCGROUP) < 0) {
		ioc_err("cannot create the cgroup namespace: %s", strerror(errno));
		child_fail(c->err_wr);
	}
	if (sethostname(c->fs.hostname, strlen(c->fs.hostname)) < 0) {
		ioc_err("cannot set the hostname: %s", strerror(errno));
		child_fail(c->err_wr);
	}
	if (c->fs.domainname && !streq(c->fs.domainname, "none") &&
	    setdomainname(c->fs.domainname, strlen(c->fs.domainname)) < 0) {
		ioc_err("cannot set the domainname: %s", strerror(errno));
		child_fail(c->err_wr);
	}
	if (c->own_net && lo_up() < 0)
		child_fail(c->err_wr);
	/* On a configuration not yet confirmed (speculative start) this only mounts, in our
	 * own mount namespace: creating a missing mount point in the jail's dataset waits. */
	c->fs.no_create = c->speculative;
	int fsr = jailfs_setup(&c->fs);
	if (fsr < 0)
		child_fail(c->err_wr);
	/* resolv.conf: compared now, written (if it differs) once confirmed */
	int resolv = c->resolv ? jailfs_write_resolv(c->root, c->resolv, c->speculative) : 0;
	if (resolv < 0)
		child_fail(c->err_wr);
	/* Nothing left to write into the jail's root: enter it now (pivot, privileges,
	 * filter; all of it our own), so that only the exec waits for the go. */
	bool entered = fsr == 0 && resolv == 0;
	if (entered)
		enter_jail(c);
	/* 2. the configuration is confirmed: now we may write into the jail's root */
	if (read_some(c->sync_rd, &b, 1, -1) != 1)
		_exit(1);
	c->fs.no_create = false;
	if (fsr == JAILFS_DEFERRED && jailfs_setup(&c->fs) < 0)
		child_fail(c->err_wr);
	if (resolv == 1 && jailfs_write_resolv(c->root, c->resolv, false) < 0)
		child_fail(c->err_wr);
	/* 3. wait for the go: network and runtime state are in place */
	if (read_some(c->sync_rd, &b, 1, -1) != 1)
		_exit(1);
	if (!entered)
		enter_jail(c);
	prctl(PR_SET_PDEATHSIG, 0);
	char *argv[] = {"iocell-init", c->timeout, (char *)c->exec_start,
			c->wallclock[0] ? c->wallclock : NULL, NULL};
	char *envp[] = {(char *)jail_path_env, "TERM=linux", "container=iocell", NULL};
	syscall(SYS_execveat, 5, "", argv, envp, AT_EMPTY_PATH);
	ioc_err("cannot execute iocell-init in the jail: %s", strerror(errno));
	child_fail(c->err_wr);
}

static pid_t clone_ns(int flags)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
}

/* Undo a failed or crashed start: kill the init, remove cgroup, state and JID. */
static void start_cleanup(const char *uuid, pid_t pid, struct cgroup *cg, int jid,
			  const struct runstate *st)
{
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	int nethold = pid > 0 ? net_hold(st) : -1; /* network: the jail's namespace */
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (net_teardown(st, nethold) < 0) /* network: interfaces created */
		ioc_warn("%s", ioc_errmsg());
	if (cg && cg->n && cg_destroy(cg) < 0)
		ioc_warn("%s", ioc_errmsg());
	rs_remove(uuid);
	jid_release(jid, uuid);
	ioc_err_restore(&keep);
}

/* Speculative start (jail_spec): is the configuration we are running on stale?
 * 0 no (or not speculative), 1 yes (start again from sp->fresh), -1 error. */
static int spec_stale(struct jail_spec *sp, const struct jail *j)
{
	if (!sp || !sp->active)
		return 0;
	bool failing = ioc_err_pending();
	struct ioc_errsave keep = {0};
	if (failing)
		ioc_err_save(&keep);
	int v = jail_spec_check(sp, j);
	if (failing && v == 0) {
		ioc_err_restore(&keep); /* the failure being reported stands */
	} else {
		free(keep.msg);
		free(keep.hint);
	}
	return v;
}

int rt_start(struct jail *j, bool force, int *jidp, struct jail_spec *sp)
{
	struct runstate rs;
	int found = rs_read(j->uuid, &rs);
	if (found < 0)
		return -1;
	if (found && rs_alive(&rs)) {
		ioc_err("jail %s (%s) is already running (JID %lld)", j->uuid, jail_prop(j, P_TAG),
			rs_num(&rs, "jid", 0));
		rs_free(&rs);
		return -1;
	}
	if (found) {
		/* Leftovers of a crash: clean them first. */
		if (rt_stop(&rs, true) < 0) {
			rs_free(&rs);
			return -1;
		}
	}
	rs_free(&rs);
	if (jail_is_template(j) && !force) {
		ioc_err("%s (%s) is a template and is not started", j->uuid, jail_prop(j, P_TAG));
		ioc_hint("clone it with 'iocell clone %s tag=NAME', or use start -f to edit it",
			 jail_prop(j, P_TAG));
		return spec_stale(sp, j) == 1 ? RT_RESTART : -1;
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		ioc_hint("run 'zfs mount -a'");
		return spec_stale(sp, j) == 1 ? RT_RESTART : -1;
	}
	bool own_net = !(streq(jail_prop(j, P_IP4), "inherit") || streq(jail_prop(j, P_IP6), "inherit"));
	bool own_ipc = !(streq(jail_prop(j, P_ALLOW_SYSVIPC), "1") ||
			 (streq(jail_prop(j, P_SYSVMSG), "inherit") && streq(jail_prop(j, P_SYSVSEM), "inherit") &&
			  streq(jail_prop(j, P_SYSVSHM), "inherit")));
	long exec_timeout = atol(jail_prop(j, P_EXEC_TIMEOUT));
	const char *tag = jail_prop(j, P_TAG);
	char *root = jail_root(j);
	char *logp = log_path(j->uuid);
	char *fstab = xasprintf("%s/fstab", j->path);
	int logfd = log_open(logp);
	int rc = -1, jid = -1, respec = 0;
	pid_t pid = -1;
	struct cgroup cg = {0};
	struct startctx c;
	memset(&c, 0, sizeof(c));
	int syncp[2] = {-1, -1}, errp[2] = {-1, -1}, statp[2] = {-1, -1};
	c.init_fd = -1;
	if (logfd < 0)
		goto out;
	jid = jid_alloc(j->uuid);
	if (jid < 0)
		goto out;
	struct hookenv he;
	hookenv_fill(&he, j->uuid, tag, jid, root);
	log_line(logfd, "starting %s (%s), JID %d", j->uuid, tag, jid);
	jail_spec_begin(sp, j); /* after the log's writes through the pool's filesystem */

	/* Runtime state first: whatever happens next, stop can clean it up. */
	struct runstate st;
	memset(&st, 0, sizeof(st));
	snprintf(st.uuid, sizeof(st.uuid), "%s", j->uuid);
	kv_init(&st.kv);
	rs_set(&st, "phase", "starting");
	rs_set(&st, "tag", tag);
	rs_setn(&st, "jid", jid);
	rs_set(&st, "root", root);
	rs_set(&st, "log", logp);
	rs_set(&st, "netns", own_net ? "own" : "host");
	rs_set(&st, "ipcns", own_ipc ? "own" : "host");
	static const char *keep_props[] = {"exec_stop", "exec_start", "exec_prestop", "exec_poststop",
		"stop_timeout", "exec_timeout", "login_flags", "host_hostname", NULL};
	for (int i = 0; keep_props[i]; i++)
		rs_set(&st, keep_props[i], jail_prop_named(j, keep_props[i]));
	for (int i = 0; sec_keys[i]; i++)
		rs_set(&st, sec_keys[i], jail_prop_named(j, sec_keys[i]));
	lim_to_state(&st, get_jail, j);   /* limits: what exec and console apply */
	if (lim_load(&c.lim, get_jail, j) < 0)
		goto out_state;
	if (rs_write(&st) < 0)
		goto out_state;

	/* Speculating on the cached configuration: what acts outside the jail's own new
	 * namespaces and cgroup (hooks, basejail re-clone, network) waits for the real one. */
	bool basejail = streq(jail_prop(j, P_TYPE), "basejail");
	if ((!streq(jail_prop(j, P_EXEC_PRESTART), "none") || basejail) &&
	    (respec = spec_stale(sp, j)) != 0)
		goto out_state;
	if (run_hook("exec_prestart", jail_prop(j, P_EXEC_PRESTART), &he, exec_timeout, logfd) < 0)
		goto out_state;
	if (basejail && basejail_reclone(j) < 0)
		goto out_state;
	if (cg_create(&cg, j->uuid) < 0)
		goto out_state;
	rs_set(&st, "cgroup", cg_mode_name(cg.mode));
	if (lim_cg_apply(&cg, &c.lim, j->uuid, true) < 0)   /* limits (SPEC §7) */
		goto out_state;
	lim_wallclock_arg(&c.lim, c.wallclock, sizeof(c.wallclock));

	struct jail_security sec;
	sec_from(&sec, get_jail, j);
	c.caps = sec_caps(&sec);
	c.sec = sec;
	if (seccomp_prepare(&sec) < 0)
		goto out_state;
	c.init_fd = open_init_binary();
	if (c.init_fd < 0)
		goto out_state;
	if (pipe2(syncp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(statp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipes: %s", strerror(errno));
		goto out_state;
	}
	char *resolv = resolv_content(jail_prop(j, P_RESOLVER));
	c.fs = (struct jailfs_opts){
		.root = root,
		.fstab = fstab,
		.mount_procfs = streq(jail_prop(j, P_MOUNT_PROCFS), "1"),
		.mount_devfs = streq(jail_prop(j, P_MOUNT_DEVFS), "1"),
		.mount_sysfs = streq(jail_prop(j, P_MOUNT_SYSFS), "1"),
		.own_netns = own_net,
		.proc_net_writable = sec.securelevel <= 0 && own_net,
		.hostname = jail_prop(j, P_HOST_HOSTNAME),
		.domainname = jail_prop(j, P_HOST_DOMAINNAME),
		.pts_max = c.lim.v[LIM_PSEUDOTERMINALS].action ? c.lim.v[LIM_PSEUDOTERMINALS].amount : 0,
	};
	c.resolv = resolv;
	c.speculative = sp && sp->active;
	c.root = root;
	c.sync_rd = syncp[0];
	c.err_wr = errp[1];
	c.log_fd = logfd;
	c.status_wr = statp[1];
	c.own_net = own_net;
	c.exec_start = jail_prop(j, P_EXEC_START);
	snprintf(c.timeout, sizeof(c.timeout), "%ld", exec_timeout);

	fflush(NULL);
	pid = clone_ns(ns_flags_for(own_net, own_ipc));
	if (pid == 0)
		start_child(&c);
	int clone_errno = errno;
	free(resolv);
	close(syncp[0]);
	close(errp[1]);
	close(statp[1]);
	syncp[0] = errp[1] = statp[1] = -1;
	if (pid < 0) {
		ioc_err("cannot create the jail's namespaces: %s", strerror(clone_errno));
		goto out_state;
	}
	rs_setn(&st, "pid", pid);
	char tbuf[32];
	snprintf(tbuf, sizeof(tbuf), "%llu", proc_starttime(pid));
	rs_set(&st, "starttime", tbuf);
	if (rs_write(&st) < 0)
		goto out_state;
	if (cg_attach(&cg, pid) < 0 || write_all(syncp[1], "a", 1) < 0)
		goto out_state;
	/* The child sets up its mounts meanwhile; what it would write into the jail's root
	 * waits until the configuration is confirmed. */
	if ((respec = spec_stale(sp, j)) != 0)
		goto out_state;
	if (write_all(syncp[1], "c", 1) < 0)
		goto out_state;
	if (own_net && net_setup(j, pid, jid, &st) < 0)
		goto out_state;
	if (write_all(syncp[1], "g", 1) < 0) {
		ioc_err("the jail's set-up process died");
		goto out_state;
	}
	/* The error pipe closes on exec of the init: a message means the set-up failed. */
	char msg[2048];
	ssize_t k = read_some(errp[0], msg, sizeof(msg) - 1, (int)(exec_timeout + 30) * 1000);
	if (k != 0) {
		if (k > 0) {
			msg[k] = '\0';
			ioc_err("%s", msg);
		} else {
			ioc_err("the jail's set-up process failed without a message");
		}
		goto out_state;
	}
	log_line(logfd, "exec_start: %s", c.exec_start);
	char status[256];
	k = read_some(statp[0], status, sizeof(status) - 1,
		      exec_timeout > 0 ? (int)(exec_timeout + 5) * 1000 : -1);
	if (k <= 0) {
		ioc_err("the jail's init died before exec_start finished");
		goto out_state;
	}
	status[k] = '\0';
	chomp(status);
	if (!streq(status, "exit 0")) {
		log_line(logfd, "exec_start failed: %s", status);
		ioc_err("exec_start '%s' failed (%s)", c.exec_start, status);
		ioc_hint("see %s", logp);
		goto out_state;
	}
	if (run_hook("exec_poststart", jail_prop(j, P_EXEC_POSTSTART), &he, exec_timeout, logfd) < 0)
		goto out_state;
	rs_set(&st, "phase", "running");
	char *started = time_tag();
	rs_set(&st, "started", started);
	if (rs_write(&st) < 0) {
		free(started);
		goto out_state;
	}
	/* last_started (SPEC §5 step 6) in the runtime dir: a ZFS property write costs a
	 * pool sync, which would double the time of a start.  `get` reads it from there;
	 * rcshutdown copies it into the property. */
	if (rs_started_write(j->uuid, started) < 0)
		ioc_warn("%s", ioc_errmsg());
	ioc_err_clear();
	free(started);
	log_line(logfd, "started %s (%s), JID %d, init PID %d", j->uuid, tag, jid, (int)pid);
	*jidp = jid;
	rc = 0;
	goto out_ok;
out_state:
	/* A set-up child that died first explains any later failure (e.g. the network
	 * set-up finding its namespace gone): its message is the cause to report. */
	if (pid > 0 && errp[0] >= 0 && waitpid(pid, NULL, WNOHANG) == pid) {
		char cmsg[2048];
		ssize_t ck = read_some(errp[0], cmsg, sizeof(cmsg) - 1, 0);
		if (ck > 0) {
			cmsg[ck] = '\0';
			ioc_err("%s", cmsg);
		}
		pid = -1; /* reaped */
	}
	if (respec == 0)
		respec = spec_stale(sp, j);
	if (respec == 1)
		log_line(logfd, "the configuration changed while starting: starting again");
	else
		log_line(logfd, "start failed: %s", ioc_errmsg());
	start_cleanup(j->uuid, pid, &cg, jid, &st);
	jid = -1;
	if (respec == 1) {
		ioc_err_clear();
		rc = RT_RESTART;
	}
out_ok:
	rs_free(&st);
out:
	for (int i = 0; i < 2; i++) {
		if (syncp[i] >= 0)
			close(syncp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (statp[i] >= 0)
			close(statp[i]);
	}
	if (c.init_fd >= 0)
		close(c.init_fd);
	cg_free(&cg);
	if (logfd >= 0)
		close(logfd);
	free(fstab);
	free(logp);
	free(root);
	return rc;
}

/* ---- joining a running jail ------------------------------------------------------------ */

enum spawn_mode { SP_INTERACTIVE, SP_LOGGED, SP_CONSOLE, SP_KILLALL };

struct spawn {
	enum spawn_mode mode;
	const char *user;       /* NULL: root */
	char *const *argv;
	long timeout;           /* seconds for SP_LOGGED, 0 = none */
	int logfd;
};

static int pidfd_of(const struct runstate *rs)
{
	pid_t pid = (pid_t)rs_num(rs, "pid", 0);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 || !rs_alive(rs)) {
		if (fd >= 0)
			close(fd);
		ioc_err("jail %s is not running (its init %d is gone)", rs->uuid, (int)pid);
		return -1;
	}
	return fd;
}

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
			if (parse_int(fl.v[2], 0, 4294967294LL, &uid) && parse_int(fl.v[3], 0, 4294967294LL, &gid)) {
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

/* In the final child, inside every namespace: identity, privileges, exec. */
static void become_jail_process(const struct spawn *sp, uint64_t caps,
				const struct jail_security *sec, const struct limits *lim,
				int errfd) __attribute__((noreturn));
static void become_jail_process(const struct spawn *sp, uint64_t caps,
				const struct jail_security *sec, const struct limits *lim, int errfd)
{
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
	if (lim_rlimits_self(lim) < 0)   /* limits: the jail's rlimits */
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
		struct pollfd pf[2] = {{.fd = master, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
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

/* Fork into the jail: a child joins the cgroup and every namespace, and its child (inside
 * the jail's PID namespace) becomes the command; for a plain exec we join all but the
 * mount namespace ourselves and fork the command directly.  Returns its status. */
static int jail_spawn(const struct runstate *rs, const struct spawn *sp, int *status)
{
	struct jail_security sec;
	sec_from(&sec, get_rs, rs);
	uint64_t caps = sec_caps(&sec);
	struct limits lim;   /* limits: from the runtime state, no zfs call */
	if (lim_load(&lim, get_rs, rs) < 0)
		return -1;
	if (seccomp_prepare(&sec) < 0)
		return -1;
	struct cgroup cg;
	const char *cgm = rs_get(rs, "cgroup");
	memset(&cg, 0, sizeof(cg));
	if (cgm)
		cg_paths(&cg, rs->uuid);
	int pidfd = pidfd_of(rs);
	if (pidfd < 0) {
		cg_free(&cg);
		return -1;
	}
	int nsflags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWCGROUP;
	if (streq(rs_get(rs, "netns"), "own"))
		nsflags |= CLONE_NEWNET;
	if (!streq(rs_get(rs, "ipcns"), "host"))
		nsflags |= CLONE_NEWIPC;
	int errp[2], relay = -1;
	if (sp->mode == SP_LOGGED) {
		/* The init's relay pipe: timestamped into the console log, for as long as the
		 * jail lives (daemons the command leaves behind keep a working stdout). */
		char rp[64];
		snprintf(rp, sizeof(rp), "/proc/%lld/fd/%d", rs_num(rs, "pid", 0), INIT_FD_RELAY);
		relay = open(rp, O_WRONLY | O_CLOEXEC);
		if (relay < 0 || !rs_alive(rs)) {
			ioc_err("cannot open the jail's console relay %s: %s", rp, strerror(errno));
			if (relay >= 0)
				close(relay);
			close(pidfd);
			cg_free(&cg);
			return -1;
		}
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		if (relay >= 0)
			close(relay);
		close(pidfd);
		cg_free(&cg);
		return -1;
	}
	tzset(); /* timestamps use the host's zone, never the jail's files */
	if (sp->mode == SP_CONSOLE)
		tty_raw();
	fflush(NULL);
	pid_t c1;
	if (sp->mode == SP_INTERACTIVE) {
		/* Like nsenter: we join the cgroup and every namespace but the mount one (our
		 * /proc stays the host's), and the one child, which enters the jail's PID
		 * namespace by being forked, joins the mount namespace and becomes the
		 * command. */
		prctl(PR_SET_DUMPABLE, 0);
		int ownpid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (ownpid < 0 || (cg.n && cg_attach(&cg, getpid()) < 0) ||
		    setns(pidfd, nsflags & ~CLONE_NEWNS) < 0) {
			if (!ioc_err_pending())
				ioc_err("cannot enter the jail's namespaces: %s", strerror(errno));
			if (ownpid >= 0)
				close(ownpid);
			close(errp[0]);
			close(errp[1]);
			close(pidfd);
			cg_free(&cg);
			return -1;
		}
		/* vfork: no copy of our page tables (the largest part of this command's time on
		 * a virtual machine), and we sleep until the command is executed.  The child
		 * shares our memory: it only calls what leaves our state as it was (balanced
		 * allocations, static error text) and ends in execve or _exit. */
		c1 = vfork();
		if (c1 == 0) {
			close(errp[0]);
			if (setns(pidfd, CLONE_NEWNS) < 0) {
				ioc_err("cannot enter the jail's mount namespace: %s", strerror(errno));
				child_fail(errp[1]);
			}
			become_jail_process(sp, caps, &sec, &lim, errp[1]);
		}
		/* Children we may start later (none; a sanitizer's helper) stay on the host. */
		if (setns(ownpid, CLONE_NEWPID) < 0)
			ioc_warn("cannot return to the host's PID namespace: %s", strerror(errno));
		close(ownpid);
	} else {
		c1 = fork();
	}
	if (c1 < 0) {
		ioc_err("fork failed: %s", strerror(errno));
		tty_restore();
		close(pidfd);
		cg_free(&cg);
		return -1;
	}
	if (c1 == 0) { /* not SP_INTERACTIVE: this child joins and then forks the command */
		close(errp[0]);
		prctl(PR_SET_DUMPABLE, 0);
		if (sp->mode == SP_LOGGED) {
			int nul = open("/dev/null", O_RDONLY);
			if (nul >= 0)
				dup2(nul, 0);
			dup2(relay, 1);
			dup2(relay, 2);
		}
		if (cg.n && cg_attach(&cg, getpid()) < 0)
			child_fail(errp[1]);
		if (setns(pidfd, nsflags) < 0) {
			ioc_err("cannot enter the jail's namespaces: %s", strerror(errno));
			child_fail(errp[1]);
		}
		int master = -1;
		char slave[128] = "";
		if (sp->mode == SP_CONSOLE) {
			master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, slave, sizeof(slave)) != 0) {
				ioc_err("cannot allocate a pseudo-terminal in the jail: %s", strerror(errno));
				child_fail(errp[1]);
			}
		}
		pid_t c2 = fork();
		if (c2 < 0)
			child_fail(errp[1]);
		if (c2 == 0) {
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
					child_fail(errp[1]);
				}
				dup2(s, 0);
				dup2(s, 1);
				dup2(s, 2);
			} else if (sp->mode == SP_LOGGED) {
				setsid();
			}
			become_jail_process(sp, caps, &sec, &lim, errp[1]);
		}
		close(errp[1]);
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
	close(errp[1]);
	close(pidfd);
	if (relay >= 0)
		close(relay);
	int rc = 0;
	char msg[2048];
	ssize_t k;
	while ((k = read(errp[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(errp[0]);
	int st = wait_pid(c1);
	tty_restore();
	if (k > 0) {
		msg[k] = '\0';
		ioc_err("%s", msg);
		rc = -1;
	}
	*status = st;
	cg_free(&cg);
	return rc;
}

int rt_exec(const struct runstate *rs, const char *user, char *const argv[], int *status)
{
	struct spawn sp = {.mode = SP_INTERACTIVE, .user = user, .argv = argv, .logfd = -1};
	return jail_spawn(rs, &sp, status);
}

int rt_console(const struct runstate *rs, int *status)
{
	if (!isatty(0)) {
		ioc_err("console needs a terminal on standard input");
		ioc_hint("use 'iocell exec NAME CMD' from scripts");
		return -1;
	}
	struct strv args = {0};
	sv_add(&args, "login");
	split(&args, rs_get(rs, "login_flags") ? rs_get(rs, "login_flags") : "-f root", " ", true);
	struct spawn sp = {.mode = SP_CONSOLE, .argv = args.v, .logfd = -1};
	int rc = jail_spawn(rs, &sp, status);
	sv_free(&args);
	return rc;
}

/* exec_start / exec_stop inside the jail, output to the console log, bounded. */
static int run_inside_logged(const struct runstate *rs, const char *what, const char *cmd,
			     long timeout, int logfd)
{
	if (!cmd || streq(cmd, "none"))
		return 0;
	log_line(logfd, "%s: %s", what, cmd);
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct spawn sp = {.mode = SP_LOGGED, .argv = argv, .timeout = timeout, .logfd = logfd};
	int st;
	if (jail_spawn(rs, &sp, &st) < 0)
		return -1;
	if (st == 124 && timeout > 0) {
		log_line(logfd, "%s: killed after %ld seconds", what, timeout);
		ioc_err("%s '%s' did not finish within %ld seconds", what, cmd, timeout);
		return -1;
	}
	if (st != 0) {
		log_line(logfd, "%s: exit status %d", what, st);
		ioc_err("%s '%s' failed with status %d", what, cmd, st);
		return -1;
	}
	return 0;
}

/* ---- stop ------------------------------------------------------------------------------ */

static bool wait_exit(int pidfd, long long ms)
{
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};
	long long end = now_ms() + ms;
	for (;;) {
		long long left = end - now_ms();
		if (left < 0)
			left = 0;
		int r = poll(&pf, 1, (int)left);
		if (r > 0)
			return true;
		if (r == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

int rt_stop(struct runstate *rs, bool force)
{
	const char *uuid = rs->uuid;
	const char *tag = rs_get(rs, "tag") ? rs_get(rs, "tag") : "";
	int jid = (int)rs_num(rs, "jid", -1);
	long stop_timeout = (long)rs_num(rs, "stop_timeout", 30);
	long exec_timeout = (long)rs_num(rs, "exec_timeout", 60);
	const char *root = rs_get(rs, "root") ? rs_get(rs, "root") : "";
	int logfd = -1;
	if (rs_get(rs, "log"))
		logfd = open(rs_get(rs, "log"), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	struct hookenv he;
	hookenv_fill(&he, uuid, tag, jid, root);
	bool alive = rs_alive(rs);
	bool running = alive && streq(rs_get(rs, "phase"), "running");
	int rc = 0;
	log_line(logfd, "stopping %s (%s)%s", uuid, tag, running ? "" : " (cleaning up)");
	if (running) {
		if (run_hook("exec_prestop", rs_get(rs, "exec_prestop"), &he, exec_timeout, logfd) < 0) {
			ioc_warn("%s", ioc_errmsg());
			ioc_err_clear();
		}
		if (!force && run_inside_logged(rs, "exec_stop", rs_get(rs, "exec_stop"), stop_timeout,
						logfd) < 0) {
			ioc_warn("%s", ioc_errmsg());
			ioc_err_clear();
		}
	}
	int nethold = alive ? net_hold(rs) : -1; /* network: the jail's namespace */
	if (alive) {
		pid_t pid = (pid_t)rs_num(rs, "pid", 0);
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd >= 0 && rs_alive(rs)) {
			if (!force) {
				syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
				if (!wait_exit(pidfd, stop_timeout * 1000))
					log_line(logfd, "processes still running after %ld s: SIGKILL",
						 stop_timeout);
			}
			/* SIGKILL to a PID namespace's init ends every process in it. */
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			wait_exit(pidfd, 5000);
			waitpid(pid, NULL, WNOHANG);
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	if (net_teardown(rs, nethold) < 0) { /* network: interfaces */
		ioc_warn("%s", ioc_errmsg());
		rc = -1;
	}
	if (rs_get(rs, "cgroup")) {
		struct cgroup cg;
		memset(&cg, 0, sizeof(cg));
		cg_paths(&cg, uuid);
		struct limits lim;   /* limits: last check of the log limits */
		if (lim_load(&lim, get_rs, rs) == 0)
			lim_check_log(uuid, &cg, &lim, rs_get(rs, "log"));
		ioc_err_clear();
		if (cg_destroy(&cg) < 0) {
			rc = -1;
		}
		cg_free(&cg);
	}
	if (running && run_hook("exec_poststop", rs_get(rs, "exec_poststop"), &he, exec_timeout,
				logfd) < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
	if (rc == 0) {
		if (rs_remove(uuid) < 0)
			rc = -1;
		lim_forget(uuid);   /* limits: crossing records */
		jid_release(jid, uuid);
		log_line(logfd, "stopped %s (%s)", uuid, tag);
	}
	if (logfd >= 0)
		close(logfd);
	return rc;
}

int rt_restart_soft(struct runstate *rs)
{
	long stop_timeout = (long)rs_num(rs, "stop_timeout", 30);
	long exec_timeout = (long)rs_num(rs, "exec_timeout", 60);
	int logfd = rs_get(rs, "log") ? open(rs_get(rs, "log"), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW) : -1;
	log_line(logfd, "soft restart of %s", rs->uuid);
	int rc = 0, st;
	if (run_inside_logged(rs, "exec_stop", rs_get(rs, "exec_stop"), stop_timeout, logfd) < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
	char *none[] = {"true", NULL};
	struct spawn sp = {.mode = SP_KILLALL, .argv = none, .logfd = -1};
	if (jail_spawn(rs, &sp, &st) < 0)
		rc = -1;
	if (rc == 0)
		rc = run_inside_logged(rs, "exec_start", rs_get(rs, "exec_start"), exec_timeout, logfd);
	if (logfd >= 0)
		close(logfd);
	return rc;
}

/* ---- chroot ---------------------------------------------------------------------- */

int rt_chroot(struct jail *j, char *const argv[], int *status)
{
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		return -1;
	}
	char *root = jail_root(j);
	struct jail_security sec;
	sec_from(&sec, get_jail, j);
	uint64_t caps = sec_caps(&sec);
	if (seccomp_prepare(&sec) < 0) {
		free(root);
		return -1;
	}
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		free(root);
		return -1;
	}
	fflush(NULL);
	pid_t pid = clone_ns(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS);
	if (pid == 0) {
		close(errp[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct jailfs_opts fs = {
			.root = root, .mount_procfs = true, .mount_devfs = true, .mount_sysfs = false,
			.own_netns = false, .hostname = jail_prop(j, P_HOST_HOSTNAME),
		};
		if (sethostname(fs.hostname, strlen(fs.hostname)) < 0 || jailfs_setup(&fs) < 0 ||
		    jailfs_pivot(root) < 0)
			child_fail(errp[1]);
		/* PID 1 of the namespace: run the command as a child and reap. */
		pid_t c = fork();
		if (c < 0)
			child_fail(errp[1]);
		if (c == 0) {
			struct spawn sp = {.mode = SP_INTERACTIVE, .argv = argv};
			static const struct limits nolim;   /* limits: none for chroot */
			become_jail_process(&sp, caps, &sec, &nolim, errp[1]);
		}
		close(errp[1]);
		int st = 0;
		for (;;) {
			int w;
			pid_t r = waitpid(-1, &w, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			if (r == c)
				st = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
		}
		_exit(st);
	}
	close(errp[1]);
	int rc = 0;
	if (pid < 0) {
		ioc_err("cannot create namespaces: %s", strerror(errno));
		rc = -1;
	} else {
		char msg[2048];
		ssize_t k;
		while ((k = read(errp[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
			;
		*status = wait_pid(pid);
		if (k > 0) {
			msg[k] = '\0';
			ioc_err("%s", msg);
			rc = -1;
		}
	}
	close(errp[0]);
	free(root);
	return rc;
}

/* ---- lookup and info -------------------------------------------------------------------- */

int rt_lookup(const char *name, struct runstate *rs, char uuid_out[37])
{
	memset(rs, 0, sizeof(*rs));
	kv_init(&rs->kv);
	char uuid[37] = "";
	if (valid_uuid(name)) {
		snprintf(uuid, sizeof(uuid), "%s", name);
	} else {
		/* Running jails: match tag or prefix among the state files (no zfs call). */
		struct strv ids;
		if (rs_list(&ids) == 0) {
			int hits = 0;
			for (size_t i = 0; i < ids.n; i++) {
				struct runstate t;
				if (rs_read(ids.v[i], &t) == 1) {
					if (streq(rs_get(&t, "tag"), name)) {
						snprintf(uuid, sizeof(uuid), "%s", ids.v[i]);
						hits = 1;
						rs_free(&t);
						break;
					}
					if (strncasecmp(ids.v[i], name, strlen(name)) == 0) {
						snprintf(uuid, sizeof(uuid), "%s", ids.v[i]);
						hits++;
					}
				}
				rs_free(&t);
			}
			if (hits != 1)
				uuid[0] = '\0';
			sv_free(&ids);
		}
		if (!uuid[0]) {
			/* Not a (unique) running jail: resolve properly for the right message. */
			struct jail *j = jail_resolve(name);
			if (!j)
				return -1;
			snprintf(uuid, sizeof(uuid), "%s", j->uuid);
			jail_free(j);
		}
	}
	snprintf(uuid_out, 37, "%s", uuid);
	rs_free(rs);
	int r = rs_read(uuid, rs);
	if (r < 0)
		return -1;
	if (r == 0 || !rs_alive(rs) || !streq(rs_get(rs, "phase"), "running"))
		return 0;
	return 1;
}

int rt_print_info(const struct runstate *rs)
{
	pid_t pid = (pid_t)rs_num(rs, "pid", 0);
	printf("UUID:     %s\n", rs->uuid);
	printf("TAG:      %s\n", rs_get(rs, "tag"));
	printf("JID:      %lld\n", rs_num(rs, "jid", 0));
	printf("INIT PID: %d\n", (int)pid);
	printf("STARTED:  %s\n", rs_get(rs, "started") ? rs_get(rs, "started") : "-");
	printf("ROOT:     %s\n", rs_get(rs, "root"));
	static const char *ns[] = {"mnt", "pid", "uts", "ipc", "net", "cgroup"};
	printf("NAMESPACES:\n");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char p[64], t[128];
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, ns[i]);
		ssize_t k = readlink(p, t, sizeof(t) - 1);
		t[k > 0 ? k : 0] = '\0';
		char h[64], ht[128];
		snprintf(h, sizeof(h), "/proc/self/ns/%s", ns[i]);
		ssize_t hk = readlink(h, ht, sizeof(ht) - 1);
		ht[hk > 0 ? hk : 0] = '\0';
		printf("  %-7s %s%s\n", ns[i], t, streq(t, ht) ? " (shared with the host)" : "");
	}
	struct cgroup cg;
	memset(&cg, 0, sizeof(cg));
	cg_paths(&cg, rs->uuid);
	printf("CGROUP:   %s /iocell/%s\n", rs_get(rs, "cgroup") ? rs_get(rs, "cgroup") : "-", rs->uuid);
	for (size_t i = 0; i < cg.n; i++)
		printf("  %s\n", cg.dirs[i]);
	cg_free(&cg);
	net_print_info(rs);
	return 0;
}
