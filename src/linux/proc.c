/* Process helpers of the Linux runtime (see rt.h). */
#include "linux/rt.h"
#include "core/fsat.h"
#include "core/spawn.h"
#include "linux/security.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char *const jail_path_env =
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ssize_t read_some(int fd, char *buf, size_t n, int timeout_ms)
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

void child_fail(int errfd)
{
	const char *m = ioc_errmsg();
	if (write_all(errfd, m, strlen(m)) < 0) {
		/* the parent reports a silent failure */
	}
	_exit(1);
}

int child_wait(int err_rd, pid_t pid, int *status)
{
	char msg[2048];
	ssize_t k;
	while ((k = read(err_rd, msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	*status = wait_pid(pid);
	if (k > 0) {
		msg[k] = '\0';
		ioc_err("%s", msg);
		return -1;
	}
	return 0;
}

bool wait_exit(int pidfd, long long ms)
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

pid_t clone_ns(int flags)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
}

int init_pidfd(const struct runstate *rs)
{
	pid_t pid = (pid_t)rs_num(rs, RS_PID, 0);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 || !rs_alive(rs)) {
		if (fd >= 0)
			close(fd);
		ioc_err("jail %s is not running (its init %d is gone)", rs->uuid, (int)pid);
		return -1;
	}
	return fd;
}

/* sec_seccomp_cache loads the program here, sec_apply_seccomp installs that copy in
 * the child. */
int seccomp_prepare(const struct jail_security *s)
{
	char *path = sec_seccomp_cache(s);
	free(path);
	return path ? 0 : -1;
}
