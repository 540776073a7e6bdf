#include "core/lock.h"
#include "core/pool.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is fd still the file at path p (not unlinked or replaced since it was opened)? */
static bool still_there(int fd, const char *p)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(p, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int lock_path(const char *name, bool wait, const char *what)
{
	_cleanup_free_ char *p = xasprintf("%s/%s.lock", rundir(), name);
	/* A jail's lock file is removed by destroy while it holds the lock: whoever waited
	 * on it then holds a lock on a removed file, and locks the new one instead. */
	for (;;) {
		int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			ioc_err("cannot open lock %s: %s", p, strerror(errno));
			return -1;
		}
		while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EWOULDBLOCK)
				ioc_err("%s is busy: another iocell command is working on it",
					what);
			else
				ioc_err("cannot lock %s: %s", p, strerror(errno));
			close(fd);
			return -1;
		}
		if (still_there(fd, p))
			return fd;
		close(fd);
	}
}

int lock_jail(const char *uuid, bool wait)
{
	char *what = xasprintf("jail %s", uuid);
	int fd = lock_path(uuid, wait, what);
	free(what);
	return fd;
}

bool lock_jail_busy(const char *uuid)
{
	char *p = xasprintf("%s/%s.lock", rundir(), uuid);
	int fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	free(p);
	if (fd < 0)
		return false; /* never locked since the host booted */
	int r;
	while ((r = flock(fd, LOCK_SH | LOCK_NB)) < 0 && errno == EINTR)
		;
	bool busy = r < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

static int g_global = -1; /* our exclusive global lock, while held */

int lock_global(void)
{
	int fd = lock_path("global", true, "iocell");
	if (fd >= 0 && g_global < 0)
		g_global = fd;
	return fd;
}

bool lock_global_held(void) { return g_global >= 0; }

int lock_global_shared_try(void)
{
	_cleanup_free_ char *p = xasprintf("%s/global.lock", rundir());
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		return -1;
	}
	return fd;
}

int lock_nat(void) { return lock_path("nat", true, "the NAT configuration"); }

void unlock_fd(int fd)
{
	if (fd < 0)
		return;
	if (fd == g_global)
		g_global = -1;
	close(fd);
}
