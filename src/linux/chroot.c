/* Running a command in a stopped jail's filesystem (chroot, and the package managers of
 * ops/ through it). */
#include "core/spawn.h"
#include "linux/jailfs.h"
#include "linux/rt.h"
#include "linux/security.h"
#include "linux/userns.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* PID 1 of the new namespaces: the jail's view of its root, then the command as a child,
 * reaping everything until none is left; exits with the command's status. */
static void chroot_child(const struct jailconf *c, const struct userns_fds *u, bool idmapped,
			 char *const argv[], int errfd) __attribute__((noreturn));
static void chroot_child(const struct jailconf *c, const struct userns_fds *u, bool idmapped,
			 char *const argv[], int errfd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct jailfs_opts fs = {
		.root = c->root,
		.mount_procfs = true,
		.mount_devfs = true,
		.mount_sysfs = false,
		.own_netns = false,
		.hostname = c->hostname,
		.owner = c->privileged ? 0 : c->idmap_base,
		.idmap_userfd = idmapped ? u->user : -1,
	};
	if (sethostname(fs.hostname, strlen(fs.hostname)) < 0 || jailfs_setup(&fs) < 0 ||
	    jailfs_pivot(c->root) < 0)
		child_fail(errfd);
	/* the jail's root in its user namespace, the mounts locked, as at start */
	if (u->user >= 0) {
		if (uns_become_root(u->user, true) < 0)
			child_fail(errfd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	pid_t cmd = fork();
	if (cmd < 0)
		child_fail(errfd);
	if (cmd == 0) {
		struct spawn sp = {.mode = SP_INTERACTIVE, .argv = argv};
		static const struct limits nolim; /* limits: none for chroot */
		become_jail_process(&sp, sec_caps(&c->sec), &c->sec, &nolim, -1, errfd);
	}
	close(errfd);
	int st = 0;
	for (;;) {
		int w;
		pid_t r = waitpid(-1, &w, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == cmd)
			st = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
	}
	_exit(st);
}

int plat_chroot(const struct jail *j, char *const argv[], int *status)
{
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		return -1;
	}
	_cleanup_jailconf_ struct jailconf c;
	bool idmapped = false;
	if (jailconf_from_jail(&c, j) < 0 || uns_check_files(&c, &idmapped) < 0 ||
	    seccomp_prepare(&c.sec) < 0)
		return -1;
	/* the host's network; UTS and IPC namespaces of the jail's user namespace */
	struct userns_fds u = {-1, -1, -1, -1, -1};
	if (!c.privileged && uns_make(&c, CLONE_NEWUTS | CLONE_NEWIPC, &u) < 0)
		return -1;
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		userns_fds_close(&u);
		return -1;
	}
	_cleanup_close_ int err_rd = errp[0], err_wr = errp[1];
	fflush(NULL);
	pid_t pid = c.privileged
			    ? clone_ns(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)
			    : uns_clone(&u, CLONE_NEWNS | CLONE_NEWPID);
	if (pid == 0) {
		close(err_rd);
		chroot_child(&c, &u, idmapped, argv, err_wr);
	}
	int clone_errno = errno;
	userns_fds_close(&u);
	close(TAKE_FD(err_wr));
	if (pid < 0) {
		ioc_err("cannot create namespaces: %s", strerror(clone_errno));
		return -1;
	}
	return child_wait(err_rd, pid, status);
}
