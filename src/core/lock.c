#include "core/lock.h"
#include "core/pool.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

/* After this long waiting for a lock, say who holds it (once). */
#define LOCK_NOTICE_SEC 3

/* Is fd still the file at path p (not unlinked or replaced since it was opened)? */
static bool still_there(int fd, const char *p)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(p, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* The process holding the flock on fd (/proc/locks), 0 when not found. */
static pid_t lock_holder(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	char line[256];
	pid_t pid = 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		char type[16];
		long p;
		unsigned maj, min;
		unsigned long ino;
		/* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:567 0 EOF"; a waiter's type is "->" */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", type, &p, &maj, &min, &ino) ==
			    5 &&
		    streq(type, "FLOCK") && ino == st.st_ino && makedev(maj, min) == st.st_dev)
			pid = (pid_t)p;
	}
	fclose(f);
	return pid;
}

static void on_alarm(int sig) { (void)sig; }

/* flock(fd, LOCK_EX), waiting; after LOCK_NOTICE_SEC a line on stderr names the holder
 * (a command that seems to hang says what it waits for). */
static int flock_wait(int fd, const char *what)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK && errno != EINTR)
		return -1;
	struct sigaction sa = {.sa_handler = on_alarm}, old_sa; /* no SA_RESTART: EINTR */
	sigemptyset(&sa.sa_mask);
	struct itimerval it = {.it_value = {LOCK_NOTICE_SEC, 0}}, old_it;
	bool timer = sigaction(SIGALRM, &sa, &old_sa) == 0;
	if (timer && setitimer(ITIMER_REAL, &it, &old_it) < 0) {
		sigaction(SIGALRM, &old_sa, NULL);
		timer = false;
	}
	int r;
	bool told = false;
	while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR) {
		if (told || !timer)
			continue;
		told = true;
		pid_t pid = lock_holder(fd);
		_cleanup_free_ char *cmd = NULL;
		if (pid > 0) {
			_cleanup_free_ char *p = xasprintf("/proc/%d/cmdline", (int)pid);
			FILE *f = fopen(p, "re");
			char buf[160] = "";
			size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
			if (f)
				fclose(f);
			for (size_t i = 0; i + 1 < n; i++)
				if (!buf[i])
					buf[i] = ' ';
			buf[n] = '\0';
			cmd = xasprintf(" (held by process %d: %s)", (int)pid, buf);
		}
		fprintf(stderr, "iocell: waiting for %s%s\n", what, cmd ? cmd : "");
	}
	int e = errno;
	if (timer) {
		struct itimerval off = {0};
		setitimer(ITIMER_REAL, &off, NULL);
		sigaction(SIGALRM, &old_sa, NULL);
	}
	errno = e;
	return r;
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
		while ((wait ? flock_wait(fd, what) : flock(fd, LOCK_EX | LOCK_NB)) < 0) {
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
	int fd = lock_path("global", true,
			   "iocell's global lock (creating, renaming or destroying jails)");
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
