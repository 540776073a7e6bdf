/* rcboot's readiness wait (platform.h: plat_ready_wait). */
#include "linux/rt.h"
#include "platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* 1 ready, 0 not yet, -1 error (e.g. the jail is gone). */
static int ready_cmd(const struct runstate *rs, const char *cmd, long timeout)
{
	if (!rs_alive(rs)) {
		ioc_err("jail %s is not running", rs->uuid);
		return -1;
	}
	_cleanup_jailconf_ struct jailconf c;
	if (jailconf_from_state(&c, rs) < 0)
		return -1;
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct spawn sp = {.mode = SP_LOGGED, .argv = argv, .timeout = timeout > 0 ? timeout : 1};
	int st;
	if (jail_spawn(rs, &c, &sp, &st) < 0)
		return -1;
	return st == 0 ? 1 : 0;
}

/* A listening TCP socket on port in /proc/PID/net/tcp or tcp6: its address (a wildcard
 * as loopback) in *sa.  1 found, 0 none. */
static int listener(pid_t pid, int port, struct sockaddr_storage *sa, socklen_t *len)
{
	for (int v6 = 0; v6 < 2; v6++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net/tcp%s", (int)pid, v6 ? "6" : "");
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		char line[512];
		int found = 0;
		while (!found && fgets(line, sizeof(line), f)) {
			char addr[40];
			unsigned p, st;
			if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", addr, &p,
				   &st) != 3 ||
			    st != 0x0A || (int)p != port)
				continue;
			memset(sa, 0, sizeof(*sa));
			if (!v6) {
				struct sockaddr_in *in = (struct sockaddr_in *)sa;
				in->sin_family = AF_INET;
				in->sin_port = htons((uint16_t)port);
				in->sin_addr.s_addr = (uint32_t)strtoul(addr, NULL, 16);
				if (in->sin_addr.s_addr == 0)
					in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
				*len = sizeof(*in);
			} else {
				struct sockaddr_in6 *in = (struct sockaddr_in6 *)sa;
				in->sin6_family = AF_INET6;
				in->sin6_port = htons((uint16_t)port);
				/* four 32-bit words in host order */
				for (int w = 0; w < 4; w++) {
					char word[9];
					memcpy(word, addr + 8 * w, 8);
					word[8] = '\0';
					uint32_t x = (uint32_t)strtoul(word, NULL, 16);
					memcpy(&in->sin6_addr.s6_addr[4 * w], &x, 4);
				}
				if (IN6_IS_ADDR_UNSPECIFIED(&in->sin6_addr))
					in->sin6_addr = in6addr_loopback;
				*len = sizeof(*in);
			}
			found = 1;
		}
		fclose(f);
		if (found)
			return 1;
	}
	return 0;
}

/* A TCP socket of family in the network namespace of pidfd (this thread returns to its
 * own namespace). */
static int socket_in(int pidfd, int family)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(pidfd, CLONE_NEWNET) < 0)
		return -1;
	int s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (setns(self, CLONE_NEWNET) < 0) {
		ioc_err("cannot return to the host's network namespace: %s", strerror(errno));
		if (s >= 0)
			close(s);
		return -2;
	}
	return s;
}

static int ready_port(const struct runstate *rs, int port)
{
	pid_t pid = (pid_t)rs_num(rs, RS_PID, 0);
	_cleanup_close_ int pidfd = init_pidfd(rs);
	if (pidfd < 0)
		return -1;
	struct sockaddr_storage sa;
	socklen_t len = 0;
	if (listener(pid, port, &sa, &len) == 0)
		return 0;
	_cleanup_close_ int s = socket_in(pidfd, sa.ss_family);
	if (s == -2)
		return -1;
	if (s < 0)
		return 0;
	if (connect(s, (struct sockaddr *)&sa, len) == 0)
		return 1;
	if (errno != EINPROGRESS)
		return 0;
	struct pollfd pf = {.fd = s, .events = POLLOUT};
	if (poll(&pf, 1, 1000) != 1)
		return 0;
	int err = 0;
	socklen_t el = sizeof(err);
	return getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0 ? 1 : 0;
}

int plat_ready_wait(const char *uuid, const char *tag, const char *cmd, int port, long timeout,
		    long long *ms, char *why, size_t n)
{
	long long start = now_ms(), now = start, end = start + timeout * 1000LL;
	long delay = 20;
	for (;;) {
		struct runstate rs;
		int r = rs_read(uuid, &rs);
		int ok = -1;
		if (r == 1) {
			long left = (long)((end - now + 999) / 1000);
			ok = port ? ready_port(&rs, port) : 1;
			if (ok == 1 && cmd)
				ok = ready_cmd(&rs, cmd, left > 0 ? left : 1);
		} else if (r == 0) {
			ioc_err("jail %s stopped while iocell waited for it to be ready", tag);
		}
		rs_free(&rs);
		if (ok < 0) {
			snprintf(why, n, "%s", ioc_errmsg());
			return -1;
		}
		if (ok == 1) {
			*ms = now_ms() - start;
			return 0;
		}
		now = now_ms();
		if (now >= end)
			break;
		struct timespec ts = {0,
				      (delay < end - now ? delay : (long)(end - now)) * 1000000L};
		nanosleep(&ts, NULL);
		delay = delay * 3 / 2 > 500 ? 500 : delay * 3 / 2;
	}
	char what[128];
	if (port && cmd)
		snprintf(what, sizeof(what), "port %d and ready_cmd", port);
	else if (port)
		snprintf(what, sizeof(what), "no TCP port %d accepting", port);
	else
		snprintf(what, sizeof(what), "ready_cmd did not succeed");
	snprintf(why, n, "started, but not ready within %ld s (%s)", timeout, what);
	ioc_err("jail %s %s", tag, why);
	ioc_hint("see its console log; ready_timeout sets the wait");
	return -1;
}
