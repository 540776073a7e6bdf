/*
 * Starting a jail (SPEC §5), in named phases: plat_start runs them in order and undoes
 * everything done so far when one fails.
 *
 * A set-up process is cloned into the jail's new namespaces early and prepares the jail
 * (mounts, hostname, the jail's root) while iocell creates the cgroup and the network and
 * `zfs get` confirms a speculative configuration (jail_spec_*).  It waits at three steps
 * for a byte on its sync pipe (sync_byte), then becomes the jail's init (initproto.h).
 */
#include "config.h"
#include "core/basejail.h"
#include "core/fsat.h"
#include "core/jailzfs.h"
#include "core/lock.h"
#include "core/pool.h"
#include "linux/initproto.h"
#include "linux/jailfs.h"
#include "linux/jaillimits.h"
#include "linux/jailnet.h"
#include "linux/rt.h"
#include "linux/security.h"
#include "linux/userns.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* What iocell writes on the set-up process's sync pipe, in this order. */
enum sync_byte {
	SYNC_IN_CGROUP = 'a', /* it is in the jail's cgroup: unshare the cgroup namespace, mount */
	SYNC_CONFIRMED = 'c', /* the configuration is confirmed: it may write into the jail's root */
	SYNC_GO = 'g',        /* network and runtime state are in place: exec the init */
};

/* The jail's user namespace while the set-up process enters it (enter_jail). */
#define SETUP_FD_USERNS (SETUP_FD_SYNC + 1)

/* What the set-up process works from (its own copy after the clone). */
struct setup {
	const struct jailconf *c;
	struct jailfs_opts fs;
	const char *resolv; /* resolv.conf content, NULL to leave it */
	bool speculative;   /* the configuration is not confirmed yet (jail_spec) */
	bool cg_self;       /* cgroup v1: it moves itself into the jail's cgroup */
	int sync_rd, err_wr, log_fd, status_wr, init_fd;
	int userns_fd; /* the jail's user namespace, -1 for a privileged jail */
	uint64_t caps;
	char timeout[32];   /* the init's TIMEOUT argument (exec_timeout) */
	char wallclock[48]; /* limits: the init's optional deadline argument */
};

/* One start in progress. */
struct start {
	struct jail *j;
	struct jail_spec *sp;
	struct jailconf c;
	struct runstate st;
	struct cgroup cg;
	struct hookenv he;
	struct setup su;
	struct userns_fds uns; /* the jail's user namespace and those it owns */
	bool idmapped;         /* its root is mounted idmapped */
	bool range_claimed;    /* idrange_claim */
	char *resolv;
	int logfd, jid;
	pid_t pid;
	int sync_wr, err_rd, status_rd;
	int respec;               /* the configuration changed meanwhile (1) */
	struct jail_zfs_plan zfs; /* jail_zfs, allow_mount_zfs */
	bool zoned;               /* `zfs zone` was run for it (undone by start_fail) */
	bool go_sent;             /* SYNC_GO written: the set-up process became the init */
};

/* ---- the set-up process ------------------------------------------------------------------ */

static int lo_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
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
	return rc;
}

/* Become the jail's future init: pivot into the root, fds 0-2 /dev/null and the others
 * of initproto.h, the jail's rlimits, its user namespace (as its root, the mounts made so
 * far locked), reduced capabilities, the seccomp filter. */
static void enter_jail(struct setup *u)
{
	if (jailfs_pivot(u->c->root) < 0)
		child_fail(u->err_wr);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0) {
		ioc_err("cannot open /dev/null in the jail: %s", strerror(errno));
		child_fail(u->err_wr);
	}
	bool uns = u->userns_fd >= 0;
	int want[] = {u->log_fd, u->status_wr, u->init_fd, u->err_wr, u->sync_rd, u->userns_fd};
	int n = uns ? 6 : 5, moved[6];
	for (int i = 0; i < n; i++) {
		moved[i] = fcntl(want[i], F_DUPFD_CLOEXEC, SETUP_FD_USERNS + 1);
		if (moved[i] < 0)
			_exit(1);
	}
	if (dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
	    dup2(moved[0], INIT_FD_LOG) < 0 || dup2(moved[1], INIT_FD_STATUS) < 0 ||
	    dup3(moved[2], SETUP_FD_INIT_BINARY, O_CLOEXEC) < 0 ||
	    dup3(moved[3], SETUP_FD_ERROR, O_CLOEXEC) < 0 ||
	    dup3(moved[4], SETUP_FD_SYNC, O_CLOEXEC) < 0 ||
	    (uns && dup3(moved[5], SETUP_FD_USERNS, O_CLOEXEC) < 0))
		_exit(1);
	u->err_wr = SETUP_FD_ERROR;
	u->sync_rd = SETUP_FD_SYNC;
	syscall(SYS_close_range, uns ? SETUP_FD_USERNS + 1 : SETUP_FD_SYNC + 1, ~0U, 0);
	/* limits: rlimits of the init, inherited by every process it starts (set as host
	 * root: raising a hard limit needs CAP_SYS_RESOURCE of the host) */
	if (lim_rlimits_self(&u->c->lim) < 0)
		child_fail(u->err_wr);
	if (uns) {
		if (uns_become_root(SETUP_FD_USERNS, true) < 0)
			child_fail(u->err_wr);
		close(SETUP_FD_USERNS);
		u->userns_fd = -1;
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* (a change of credentials cleared it) */
		prctl(PR_SET_DUMPABLE, 0);
	}
	/* sec_apply_caps keeps CAP_SYS_ADMIN just long enough to install the filter
	 * without no_new_privs; sec_apply_seccomp then drops it. */
	if (sec_apply_caps(u->caps) < 0 || sec_apply_seccomp(&u->c->sec) < 0)
		child_fail(u->err_wr);
}

static void await(const struct setup *u, enum sync_byte want)
{
	char b;
	if (read_some(u->sync_rd, &b, 1, -1) != 1 || b != (char)want)
		_exit(1);
}

static void setup_child(struct setup *u) __attribute__((noreturn));
static void setup_child(struct setup *u)
{
	const struct jailconf *c = u->c;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 0);
	await(u, SYNC_IN_CGROUP);
	if (u->cg_self) {
		/* made by iocell (phase_cgroup); moving itself is the fast way (cgroup.h) */
		_cleanup_cgroup_ struct cgroup cg;
		cg_paths(&cg, c->uuid);
		if (cg_attach_self(&cg) < 0)
			child_fail(u->err_wr);
	}
	if (unshare(CLONE_NEWCGROUP) < 0) {
		ioc_err("cannot create the cgroup namespace: %s", strerror(errno));
		child_fail(u->err_wr);
	}
	if (sethostname(c->hostname, strlen(c->hostname)) < 0) {
		ioc_err("cannot set the hostname: %s", strerror(errno));
		child_fail(u->err_wr);
	}
	if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0) {
		ioc_err("cannot set the domainname: %s", strerror(errno));
		child_fail(u->err_wr);
	}
	if (c->own_net && lo_up() < 0)
		child_fail(u->err_wr);
	/* On a configuration not yet confirmed (speculative start) this only mounts, in our
	 * own mount namespace: creating a missing mount point in the jail's dataset waits. */
	u->fs.no_create = u->speculative;
	int fsr = jailfs_setup(&u->fs);
	if (fsr < 0)
		child_fail(u->err_wr);
	/* resolv.conf: compared now, written (if it differs) once confirmed */
	int resolv = u->resolv
			     ? jailfs_write_resolv(c->root, u->resolv, u->speculative, u->fs.owner)
			     : 0;
	if (resolv < 0)
		child_fail(u->err_wr);
	/* Nothing left to write into the jail's root: enter it now (pivot, privileges,
	 * filter; all of it our own), so that only the exec waits for the go. */
	bool entered = fsr == 0 && resolv == 0;
	if (entered)
		enter_jail(u);
	await(u, SYNC_CONFIRMED);
	u->fs.no_create = false;
	if (fsr == JAILFS_DEFERRED && jailfs_setup(&u->fs) < 0)
		child_fail(u->err_wr);
	if (resolv == 1 && jailfs_write_resolv(c->root, u->resolv, false, u->fs.owner) < 0)
		child_fail(u->err_wr);
	await(u, SYNC_GO);
	if (!entered)
		enter_jail(u);
	prctl(PR_SET_PDEATHSIG, 0);
	char *argv[] = {"iocell-init", u->timeout, c->exec_start ? c->exec_start : "none",
			u->wallclock[0] ? u->wallclock : NULL, NULL};
	char *envp[] = {(char *)jail_path_env, "TERM=linux", "container=iocell", NULL};
	syscall(SYS_execveat, SETUP_FD_INIT_BINARY, "", argv, envp, AT_EMPTY_PATH);
	ioc_err("cannot execute iocell-init in the jail: %s", strerror(errno));
	child_fail(u->err_wr);
}

/* ---- helpers of the phases ------------------------------------------------------------------ */

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

/* The jail's resolv.conf: the resolver lines, or the host's file (NULL without one). */
static char *resolv_content(const char *resolver)
{
	if (!resolver) {
		size_t n;
		char *host = read_file("/etc/resolv.conf", &n);
		if (!host)
			ioc_err_clear();
		return host;
	}
	struct sbuf b;
	sb_init(&b);
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, resolver, ";", true);
	for (size_t i = 0; i < lines.n; i++)
		sb_printf(&b, "%s\n", lines.v[i]);
	return sb_steal(&b);
}

/* Speculative start (jail_spec): is the configuration we are running on stale?
 * 0 no (or not speculative), 1 yes (start again from sp->fresh), -1 error.  A failure
 * being reported stands when the configuration was right. */
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
		ioc_err_restore(&keep);
	} else {
		free(keep.msg);
		free(keep.hint);
	}
	return v;
}

static int sync_send(struct start *s, enum sync_byte b)
{
	/* The set-up process may have failed and exited already: EPIPE, and start_fail
	 * reports its message, rather than SIGPIPE killing iocell half-way (no undo). */
	char c = (char)b;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int rc = write_all(s->sync_wr, &c, 1);
	if (rc < 0)
		ioc_err("the jail's set-up process is gone: %s", strerror(errno));
	signal(SIGPIPE, old);
	return rc;
}

/* ---- the phases ----------------------------------------------------------------------------- */

/* Refuse a running jail, clean the leftovers of a crashed one, refuse templates (unless
 * force) and unmounted datasets; then the configuration, parsed once. */
static int phase_check(struct start *s, bool force)
{
	struct jail *j = s->j;
	const char *tag = jail_prop(j, P_TAG);
	struct runstate rs;
	int found = rs_read(j->uuid, &rs);
	if (found < 0)
		return -1;
	const char *phase = found ? rs_get(&rs, RS_PHASE) : NULL;
	if (found && rs_alive(&rs) && !(phase && streq(phase, RS_PHASE_STOPPING))) {
		ioc_err("jail %s (%s) is already running (JID %lld)", j->uuid, tag,
			rs_num(&rs, RS_JID, 0));
		rs_free(&rs);
		return -1;
	}
	int rc = found ? plat_stop(&rs, true) : 0;
	rs_free(&rs);
	if (rc < 0)
		return -1;
	if (jail_is_template(j) && !force) {
		ioc_err("%s (%s) is a template and is not started", j->uuid, tag);
		ioc_hint("clone it with 'iocell clone %s tag=NAME', or use start -f to edit it",
			 tag);
		return spec_stale(s->sp, j) == 1 ? PLAT_RESTART : -1;
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		ioc_hint("run 'zfs mount -a'");
		return spec_stale(s->sp, j) == 1 ? PLAT_RESTART : -1;
	}
	if (jailconf_from_jail(&s->c, j) < 0 || uns_check_files(&s->c, &s->idmapped) < 0 ||
	    (s->c.own_net && net_precheck(&s->c) < 0))
		return spec_stale(s->sp, j) == 1 ? PLAT_RESTART : -1;
	/* The jail's directory closed to host users (jails made before iocell did it). */
	return dir_close_to_others(j->path);
}

/* The console log, a JID, and the runtime state first: whatever happens next, stop can
 * clean it up. */
static int phase_prepare(struct start *s)
{
	struct jailconf *c = &s->c;
	c->log = log_path(c->uuid);
	s->logfd = log_open(c->log, true);
	if (s->logfd < 0)
		return -1;
	s->jid = jid_alloc(c->uuid);
	if (s->jid < 0)
		return -1;
	if (!c->privileged) {
		if (idrange_claim(c->idmap_base, c->uuid) < 0)
			return -1;
		s->range_claimed = true;
	}
	hookenv_fill(&s->he, c, s->jid);
	log_line(s->logfd, "starting %s (%s), JID %d", c->uuid, c->tag, s->jid);
	jail_spec_begin(s->sp, s->j); /* after the log's writes through the pool's filesystem */
	rs_set(&s->st, RS_PHASE, RS_PHASE_STARTING);
	rs_setn(&s->st, RS_JID, s->jid);
	const struct ioc_pool *pool = pool_get();
	if (pool)
		rs_set(&s->st, RS_POOL, pool->name);
	jailconf_to_state(c, &s->st);
	return rs_write(&s->st);
}

/* `zfs zone` (attach) or `zfs unzone` of the delegated dataset and the jail's user
 * namespace, named by iocell's own descriptor of it. */
static int zone(const struct start *s, bool attach)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/fd/%d", (int)getpid(), s->uns.user);
	return jailzfs_delegate(ns, s->zfs.ds, attach);
}

/* allow_mount_zfs: the dataset delegated to the jail's user namespace (`zfs zone`),
 * recorded first: stop (or the next command's clean-up) takes it back. */
static int phase_delegate(struct start *s)
{
	if (!s->zfs.ds)
		return 0;
	rs_set(&s->st, RS_ZONED, s->zfs.ds);
	if (rs_write(&s->st) < 0 || zone(s, true) < 0)
		return -1;
	s->zoned = true;
	return 0;
}

/* What acts outside the jail's own new namespaces and cgroup waits for a confirmed
 * configuration: exec_prestart, the basejail's re-clone, jail_zfs's dataset. */
static int phase_prestart(struct start *s)
{
	const struct jailconf *c = &s->c;
	bool outside = c->exec_prestart || c->basejail || c->jail_zfs || c->sec.allow_mount_zfs;
	if (outside && (s->respec = spec_stale(s->sp, s->j)) != 0)
		return -1;
	if (jail_zfs_prepare(&s->c, &s->zfs) < 0)
		return -1;
	if (run_hook("exec_prestart", c->exec_prestart, &s->he, c->exec_timeout, s->logfd) < 0)
		return -1;
	return c->basejail ? basejail_reclone(s->j) : 0;
}

/* The jail's cgroup with the set-up process in it (it waits for SYNC_IN_CGROUP before it
 * does anything; on cgroup v1 it moves itself in then), its limits (SPEC §7) and device
 * list. */
static int phase_cgroup(struct start *s)
{
	_cleanup_free_ char *desc = xasprintf("iocell jail %s (%s)", s->c.tag, s->c.uuid);
	int rc = cg_create(&s->cg, s->c.uuid, s->su.cg_self ? 0 : s->pid, desc);
	if (s->cg.n || s->cg.unit) {
		/* recorded even half made: stop cleans it up */
		cg_to_state(&s->cg, &s->st);
		if (rs_write(&s->st) < 0)
			rc = -1;
	}
	if (rc < 0)
		return -1;
	if (lim_cg_apply(&s->cg, &s->c.lim, s->c.uuid, true) < 0)
		return -1;
	/* devices: the minimal set, and those fstab entries with "dev" bring */
	struct jailfs_opts fo = {
		.root = s->c.root, .fstab = s->c.fstab, .mount_devfs = s->c.mount_devfs};
	_cleanup_free_ struct devrule *extra = NULL;
	size_t nextra = 0;
	if (jailfs_fstab_devices(&fo, &extra, &nextra) < 0)
		return -1;
	if (s->zfs.dev) { /* allow_mount_zfs: /dev/zfs */
		extra = xrealloc(extra, (nextra + 1) * sizeof(*extra));
		extra[nextra++] = (struct devrule){.type = 'c',
						   .major_lo = major(s->zfs.dev),
						   .major_hi = major(s->zfs.dev),
						   .minor = (int)minor(s->zfs.dev)};
	}
	if (dev_cg_apply(&s->cg, extra, nextra) < 0)
		return -1;
	return 0;
}

/* The set-up process, cloned into the jail's new namespaces. */
static int phase_spawn(struct start *s)
{
	const struct jailconf *c = &s->c;
	struct setup *u = &s->su;
	u->c = c;
	u->caps = sec_caps(&c->sec);
	if (seccomp_prepare(&c->sec) < 0)
		return -1;
	u->init_fd = open_init_binary();
	if (u->init_fd < 0)
		return -1;
	/* the user namespace and the namespaces it owns (the set-up process is born in
	 * them); mount and PID namespaces of the host's user namespace */
	int nsflags = CLONE_NEWUTS | (c->own_net ? CLONE_NEWNET : 0) |
		      (c->own_ipc ? CLONE_NEWIPC : 0);
	if (!c->privileged && uns_make(c, nsflags, &s->uns) < 0)
		return -1;
	u->userns_fd = s->uns.user;
	int syncp[2], errp[2], statp[2];
	int *pipes[] = {syncp, errp, statp};
	for (size_t i = 0; i < 3; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0) {
			ioc_err("cannot create pipes: %s", strerror(errno));
			while (i-- > 0) {
				close(pipes[i][0]);
				close(pipes[i][1]);
			}
			return -1;
		}
	s->sync_wr = syncp[1];
	s->err_rd = errp[0];
	s->status_rd = statp[0];
	s->resolv = resolv_content(c->resolver);
	u->fs = (struct jailfs_opts){
		.root = c->root,
		.fstab = c->fstab,
		.mount_procfs = c->mount_procfs,
		.mount_devfs = c->mount_devfs,
		.mount_sysfs = c->mount_sysfs,
		.own_netns = c->own_net,
		.proc_net_writable = c->sec.securelevel <= 0 && c->own_net,
		.hostname = c->hostname,
		.domainname = c->domainname,
		.pts_max = c->lim.v[LIM_PSEUDOTERMINALS].action
				   ? c->lim.v[LIM_PSEUDOTERMINALS].amount
				   : 0,
		.zfs_src = s->zfs.src,
		.zfs_dst = s->zfs.src || s->zfs.ds ? c->jail_zfs_mountpoint : NULL,
		.zfs_ds = s->zfs.ds,
		.zfs_disk_owner = c->idmap_shift,
		.zfs_dev = s->zfs.dev,
		.owner = c->privileged ? 0 : c->idmap_base,
		.idmap_userfd = s->idmapped ? s->uns.user : -1,
	};
	u->resolv = s->resolv;
	u->speculative = s->sp && s->sp->active;
	u->cg_self = cg_is_v1();
	u->sync_rd = syncp[0];
	u->err_wr = errp[1];
	u->log_fd = s->logfd;
	u->status_wr = statp[1];
	snprintf(u->timeout, sizeof(u->timeout), "%ld", c->exec_timeout);
	lim_wallclock_arg(&s->c.lim, u->wallclock, sizeof(u->wallclock));
	fflush(NULL);
	s->pid = c->privileged ? clone_ns(CLONE_NEWNS | CLONE_NEWPID | nsflags)
			       : uns_clone(&s->uns, CLONE_NEWNS | CLONE_NEWPID);
	if (s->pid == 0) {
		/* Only iocell writes the sync pipe: without our copy of its write end, an
		 * iocell killed before its PDEATHSIG is armed (or while it is cleared by a
		 * change of credentials) ends the set-up process at its next await (EOF),
		 * which would otherwise wait forever, holding the jail's lock. */
		close(syncp[1]);
		close(errp[0]);
		close(statp[0]);
		setup_child(u);
	}
	int clone_errno = errno;
	close(syncp[0]);
	close(errp[1]);
	close(statp[1]);
	if (s->pid < 0) {
		ioc_err("cannot create the jail's namespaces: %s", strerror(clone_errno));
		return -1;
	}
	rs_setn(&s->st, RS_PID, s->pid);
	char tbuf[32];
	snprintf(tbuf, sizeof(tbuf), "%llu", proc_starttime(s->pid));
	rs_set(&s->st, RS_STARTTIME, tbuf);
	return rs_write(&s->st);
}

/* The set-up process is in its cgroup: mounting meanwhile, it waits for the confirmed
 * configuration before it writes into the jail's root. */
static int phase_confirm(struct start *s)
{
	if (sync_send(s, SYNC_IN_CGROUP) < 0)
		return -1;
	if ((s->respec = spec_stale(s->sp, s->j)) != 0)
		return -1;
	return sync_send(s, SYNC_CONFIRMED);
}

/* Network (SPEC §6): the MACs derived at the first start stored, interfaces created. */
static int phase_network(struct start *s)
{
	if (!s->c.own_net)
		return 0;
	jailconf_store_macs(&s->c, s->j);
	if (!s->c.nat)
		return net_setup(&s->c, s->pid, s->jid, &s->st);
	/* NAT: address allocation, checks against running jails and the nftables changes
	 * under the NAT lock (linux/jailnat.h). */
	_cleanup_unlock_ int lk = lock_nat();
	if (lk < 0 || jailconf_nat_alloc(&s->c, s->j) < 0)
		return -1;
	return net_setup(&s->c, s->pid, s->jid, &s->st);
}

/* Go: the set-up process execs the init, which runs exec_start and reports its status. */
static int phase_init(struct start *s)
{
	const struct jailconf *c = &s->c;
	s->go_sent = true;
	if (sync_send(s, SYNC_GO) < 0) {
		ioc_err("the jail's set-up process died");
		return -1;
	}
	/* The error pipe closes on exec of the init: a message means the set-up failed. */
	char msg[2048];
	ssize_t k = read_some(s->err_rd, msg, sizeof(msg) - 1, (int)(c->exec_timeout + 30) * 1000);
	if (k != 0) {
		if (k > 0) {
			msg[k] = '\0';
			ioc_err("%s", msg);
		} else {
			ioc_err("the jail's set-up process failed without a message");
		}
		return -1;
	}
	const char *cmd = c->exec_start ? c->exec_start : "none";
	log_line(s->logfd, "exec_start: %s", cmd);
	char status[256];
	k = read_some(s->status_rd, status, sizeof(status) - 1,
		      c->exec_timeout > 0 ? (int)(c->exec_timeout + 5) * 1000 : -1);
	if (k <= 0) {
		ioc_err("the jail's init died before exec_start finished");
		return -1;
	}
	status[k] = '\0';
	chomp(status);
	if (!streq(status, "exit 0")) {
		log_line(s->logfd, "exec_start failed: %s", status);
		ioc_err("exec_start '%s' failed (%s)", cmd, status);
		ioc_hint("see %s", c->log);
		return -1;
	}
	return 0;
}

/* exec_poststart, then the state says running; last_started (SPEC §5 step 6). */
static int phase_finish(struct start *s)
{
	const struct jailconf *c = &s->c;
	if (run_hook("exec_poststart", c->exec_poststart, &s->he, c->exec_timeout, s->logfd) < 0)
		return -1;
	rs_set(&s->st, RS_PHASE, RS_PHASE_RUNNING);
	_cleanup_free_ char *started = time_tag();
	rs_set(&s->st, RS_STARTED, started);
	if (rs_write(&s->st) < 0)
		return -1;
	/* last_started in the runtime dir: a ZFS property write costs a pool sync, which
	 * would double the time of a start.  `get` reads it from there; rcshutdown copies it
	 * into the property. */
	if (rs_started_write(c->uuid, started) < 0)
		ioc_warn("%s", ioc_errmsg());
	ioc_err_clear();
	log_line(s->logfd, "started %s (%s), JID %d, init PID %d", c->uuid, c->tag, s->jid,
		 (int)s->pid);
	return 0;
}

/* The set-up process (or the init it became) ended and reaped.  Before the go it is let go
 * first: with the sync pipe closed it exits at its next wait for iocell, between two of
 * its requests to the pool's file system rather than in one (a SIGKILL there has the
 * kernel send zfs-fuse an interrupt for a request it is serving; zfs-fuse hung twice just
 * after such a rollback, in CI and here, the cause not proven).  SIGKILL when it has not
 * exited within 2 s, or is the init. */
static void setup_end(struct start *s)
{
	if (!s->go_sent && s->sync_wr >= 0) {
		close(s->sync_wr);
		s->sync_wr = -1;
		_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
		if (pidfd >= 0 && wait_exit(pidfd, 2000)) {
			int status;
			if (waitpid(s->pid, &status, 0) == s->pid && WIFEXITED(status))
				log_line(s->logfd, "the set-up process ended at its next wait");
			return;
		}
		if (pidfd >= 0)
			log_line(s->logfd, "the set-up process did not end within 2 s: killed");
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

/* Undo a failed start: kill the init, remove network, cgroup, state and JID.  Returns
 * PLAT_RESTART when the configuration changed meanwhile, else -1. */
static int start_fail(struct start *s)
{
	/* A set-up process that failed first explains any later failure (e.g. the network
	 * set-up finding its namespace gone): its message, written before it exits, is the
	 * cause to report. */
	if (s->pid > 0 && s->err_rd >= 0) {
		char cmsg[2048];
		ssize_t ck = read_some(s->err_rd, cmsg, sizeof(cmsg) - 1, 0);
		if (ck > 0) {
			cmsg[ck] = '\0';
			ioc_err("%s", cmsg);
		}
	}
	if (s->respec == 0)
		s->respec = spec_stale(s->sp, s->j);
	if (s->respec == 1)
		log_line(s->logfd, "the configuration changed while starting: starting again");
	else
		log_line(s->logfd, "start failed: %s", ioc_errmsg());
	struct ioc_errsave keep;
	ioc_err_save(&keep);
	if (s->zoned && zone(s, false) < 0) /* allow_mount_zfs: the delegation taken back */
		ioc_warn("%s", ioc_errmsg());
	int nethold = s->pid > 0 ? net_hold(&s->st) : -1; /* network: the jail's namespace */
	if (s->pid > 0)
		setup_end(s);
	if (net_teardown(&s->st, nethold) < 0) /* network: interfaces created */
		ioc_warn("%s", ioc_errmsg());
	if ((s->cg.n || s->cg.unit) && cg_destroy(&s->cg) < 0)
		ioc_warn("%s", ioc_errmsg());
	jid_release(s->jid, s->c.uuid);
	if (s->range_claimed)
		idrange_release(s->c.idmap_base, s->c.uuid);
	rs_remove(s->c.uuid); /* last: until then the next command sees what to clean */
	ioc_err_restore(&keep);
	if (s->respec == 1) {
		ioc_err_clear();
		return PLAT_RESTART;
	}
	return -1;
}

static void start_free(struct start *s)
{
	int fds[] = {s->sync_wr, s->err_rd, s->status_rd, s->su.init_fd, s->logfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(s->resolv);
	free(s->zfs.src);
	free(s->zfs.ds);
	userns_fds_close(&s->uns);
	cg_free(&s->cg);
	rs_free(&s->st);
	jailconf_free(&s->c);
}

int plat_start(struct jail *j, bool force, int *jid, struct jail_spec *sp)
{
	struct start s = {.j = j,
			  .sp = sp,
			  .logfd = -1,
			  .jid = -1,
			  .pid = -1,
			  .sync_wr = -1,
			  .err_rd = -1,
			  .status_rd = -1,
			  .uns = {-1, -1, -1, -1, -1},
			  .su.init_fd = -1,
			  .su.userns_fd = -1};
	snprintf(s.st.uuid, sizeof(s.st.uuid), "%s", j->uuid);
	kv_init(&s.st.kv);
	int rc = phase_check(&s, force);
	if (rc == 0 && phase_prepare(&s) < 0)
		rc = s.jid < 0 ? -1 : start_fail(&s);
	if (rc == 0) {
		if (phase_prestart(&s) < 0 || phase_spawn(&s) < 0 || phase_delegate(&s) < 0 ||
		    phase_cgroup(&s) < 0 || phase_confirm(&s) < 0 || phase_network(&s) < 0 ||
		    phase_init(&s) < 0 || phase_finish(&s) < 0)
			rc = start_fail(&s);
		else
			*jid = s.jid;
	}
	start_free(&s);
	return rc;
}
