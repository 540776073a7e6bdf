/* Stopping a jail (SPEC §5) and its soft restart. */
#include "core/jailzfs.h"
#include "core/zfs.h"
#include "linux/jaillimits.h"
#include "linux/jailnet.h"
#include "linux/rt.h"
#include "platform.h"

#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* SIGTERM to the init (unless force), SIGKILL after the timeout: a PID namespace's init
 * takes every process in it along. */
static void kill_jail(const struct runstate *rs, bool force, long timeout, int logfd)
{
	pid_t pid = (pid_t)rs_num(rs, RS_PID, 0);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0 && rs_alive(rs)) {
		if (!force) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
			if (!wait_exit(pidfd, timeout * 1000))
				log_line(logfd, "processes still running after %ld s: SIGKILL",
					 timeout);
		}
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		wait_exit(pidfd, 5000);
		waitpid(pid, NULL, WNOHANG);
	}
	if (pidfd >= 0)
		close(pidfd);
}

/* The jail's cgroup, after a last check of its log limits.  A start interrupted while it
 * made the cgroup has not recorded it yet: its directories go all the same (cg_destroy
 * takes missing ones in its stride). */
static int remove_cgroup(const struct runstate *rs, const struct jailconf *c, bool limits_ok)
{
	_cleanup_cgroup_ struct cgroup cg;
	if (!rs_get(rs, RS_CGROUP)) {
		cg_paths(&cg, rs->uuid);
		if (rs_running(rs))
			return 0;
		(void)cg_destroy(&cg); /* best effort: nothing was recorded */
		ioc_err_clear();
		return 0;
	}
	cg_of_state(&cg, rs);
	if (limits_ok)
		lim_check_log(rs->uuid, &cg, &c->lim, c->log);
	ioc_err_clear();
	return cg_destroy(&cg);
}

static void warn_on_error(int rc)
{
	if (rc < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
}

/* allow_mount_zfs: the delegated dataset taken back from the jail's user namespace while
 * its init still names it (`zfs unzone`; OpenZFS holds the namespace while a dataset is
 * delegated to it).  With the init gone nothing names it any more: the next start
 * delegates the dataset to the new namespace all the same. */
static void undelegate(const struct runstate *rs, bool alive, int logfd)
{
	const char *ds = rs_get(rs, RS_ZONED);
	if (!ds)
		return;
	if (!alive) {
		log_line(logfd, "%s stays delegated to the user namespace of an init that is gone",
			 ds);
		return;
	}
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%lld/ns/user", rs_num(rs, RS_PID, 0));
	if (jailzfs_delegate(ns, ds, false) < 0) {
		/* never delegated (a start killed before its `zfs zone`) */
		if (zfs_lasterr != ZE_NOENT)
			ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
}

int plat_stop(struct runstate *rs, bool force)
{
	_cleanup_jailconf_ struct jailconf c;
	/* A state it cannot read entirely still says what to clean up. */
	bool limits_ok = jailconf_from_state(&c, rs) == 0;
	ioc_err_clear();
	const char *uuid = rs->uuid;
	int jid = (int)rs_num(rs, RS_JID, -1);
	_cleanup_close_ int logfd = log_open(c.log, false);
	struct hookenv he;
	hookenv_fill(&he, &c, jid);
	bool alive = rs_alive(rs);
	bool running = rs_running(rs);
	int rc = 0;
	const char *phase = rs_get(rs, RS_PHASE);
	if (alive && !(phase && streq(phase, RS_PHASE_STOPPING))) {
		/* From here on the jail is stopping: if this process dies, the next command
		 * finishes the stop (runstate.h) rather than take a dying jail for running. */
		rs_set(rs, RS_PHASE, RS_PHASE_STOPPING);
		if (rs_write(rs) < 0)
			return -1;
	}
	log_line(logfd, "stopping %s (%s)%s", uuid, c.tag, running ? "" : " (cleaning up)");
	if (running) {
		warn_on_error(run_hook("exec_prestop", c.exec_prestop, &he, c.exec_timeout, logfd));
		if (!force)
			warn_on_error(run_inside_logged(rs, &c, "exec_stop", c.exec_stop,
							c.stop_timeout, logfd));
	}
	undelegate(rs, alive, logfd);
	int nethold = alive ? net_hold(rs) : -1; /* network: the jail's namespace */
	if (alive)
		kill_jail(rs, force, c.stop_timeout, logfd);
	if (net_teardown(rs, nethold) < 0) { /* network: interfaces */
		ioc_warn("%s", ioc_errmsg());
		rc = -1;
	}
	if (remove_cgroup(rs, &c, limits_ok) < 0)
		rc = -1;
	if (running)
		warn_on_error(
			run_hook("exec_poststop", c.exec_poststop, &he, c.exec_timeout, logfd));
	if (rc == 0) {
		/* The state file goes last: until then it tells the next command (stop,
		 * start, list) that there is something to clean up. */
		lim_forget(uuid); /* limits: crossing records */
		jid_release(jid, uuid);
		if (!c.privileged)
			idrange_release(c.idmap_base, uuid);
		if (rs_remove(uuid) < 0)
			rc = -1;
		log_line(logfd, "stopped %s (%s)", uuid, c.tag);
	}
	return rc;
}

int plat_restart_soft(struct runstate *rs)
{
	_cleanup_jailconf_ struct jailconf c;
	if (jailconf_from_state(&c, rs) < 0)
		return -1;
	_cleanup_close_ int logfd = log_open(c.log, false);
	log_line(logfd, "soft restart of %s", rs->uuid);
	warn_on_error(run_inside_logged(rs, &c, "exec_stop", c.exec_stop, c.stop_timeout, logfd));
	char *none[] = {"true", NULL};
	struct spawn sp = {.mode = SP_KILLALL, .argv = none};
	int st;
	if (jail_spawn(rs, &c, &sp, &st) < 0)
		return -1;
	return run_inside_logged(rs, &c, "exec_start", c.exec_start, c.exec_timeout, logfd);
}
