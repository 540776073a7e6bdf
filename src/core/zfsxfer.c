/* zfs send and zfs recv: streams relayed through iocell (progress, hashing), or handed
 * over directly (see zfs.h). */
#include "core/zfs.h"
#include "core/spawn.h"
#include "core/txn.h"
#include "core/zfsint.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void progress(const char *label, unsigned long long bytes, bool final)
{
	if (ioc_quiet || !label || !isatty_err())
		return;
	fprintf(stderr, "\r%s: %.1f MiB%s", label, (double)bytes / (1024.0 * 1024.0),
		final ? "\n" : "");
}

static int relay(int in, int out, zfs_chunk_cb cb, void *arg, const char *label,
		 unsigned long long *total)
{
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	unsigned long long n = 0;
	time_t last = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(in, buf, cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ioc_err("read of ZFS stream failed: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		if (cb && cb(buf, (size_t)r, arg) < 0) {
			rc = -1;
			break;
		}
		for (ssize_t off = 0; out >= 0 && off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				ioc_err("write of ZFS stream failed: %s", strerror(errno));
				rc = -1;
				goto done;
			}
			off += w;
		}
		n += (unsigned long long)r;
		time_t now = time(NULL);
		if (now != last) {
			progress(label, n, false);
			last = now;
		}
	}
done:
	if (label && n)
		progress(label, n, true);
	free(buf);
	if (total)
		*total = n;
	return rc;
}

static int wait_zfs(pid_t pid, int errfd, const char *what)
{
	char buf[4096];
	ssize_t k = 0, r;
	while (errfd >= 0 && (r = read(errfd, buf + k, sizeof(buf) - 1 - (size_t)k)) > 0)
		k += r;
	buf[k > 0 ? k : 0] = '\0';
	int st = wait_pid(pid);
	if (st != 0) {
		chomp(buf);
		zfs_lasterr = zfs_classify(buf);
		ioc_err("%s: %s", what, buf[0] ? buf : "exited with non-zero status");
		return -1;
	}
	return 0;
}

int zfs_send_recv(const char *snap, const char *dest, bool replicate, const char *label)
{
	int sp[2], se[2], re[2], rp[2];
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(se, O_CLOEXEC) < 0 || pipe2(re, O_CLOEXEC) < 0 ||
	    pipe2(rp, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	const char *sendv[] = {"zfs", "send", replicate ? "-R" : snap, replicate ? snap : NULL,
			       NULL};
	const char *recvv[] = {"zfs", "recv", dest, NULL};
	/* With no progress to show, send writes straight into recv: no copy through us. */
	bool direct = ioc_quiet || !label || !isatty_err();
	(void)fcntl(sp[1], F_SETPIPE_SZ, 1 << 20); /* hints: fewer, larger transfers */
	(void)fcntl(rp[1], F_SETPIPE_SZ, 1 << 20);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int hold = txn_inflight_fd();
	pid_t s = spawn_detached(sendv, -1, sp[1], se[1], zfs_env, hold);
	pid_t r = s > 0 ? spawn_detached(recvv, direct ? sp[0] : rp[0], -1, re[1], zfs_env, hold)
			: -1;
	close(sp[1]);
	close(se[1]);
	close(re[1]);
	close(rp[0]);
	int rc = 0;
	if (s > 0 && r > 0 && !direct)
		rc = relay(sp[0], rp[1], NULL, NULL, label, NULL);
	close(rp[1]);
	close(sp[0]);
	char *ws = xasprintf("zfs send %s failed", snap);
	char *wr = xasprintf("zfs recv %s failed", dest);
	int a = s > 0 ? wait_zfs(s, se[0], ws) : -1;
	char *keep = a < 0 ? xstrdup(ioc_errmsg()) : NULL;
	int b = r > 0 ? wait_zfs(r, re[0], wr) : -1;
	if (keep) {
		ioc_err("%s", keep); /* the sender's failure is the cause */
		free(keep);
	}
	close(se[0]);
	close(re[0]);
	free(ws);
	free(wr);
	signal(SIGPIPE, old);
	return (rc < 0 || a < 0 || b < 0) ? -1 : 0;
}

int zfs_send_to(const char *snap, bool replicate, zfs_chunk_cb cb, void *arg)
{
	int sp[2], se[2];
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(se, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	const char *sendv[] = {"zfs", "send", replicate ? "-R" : snap, replicate ? snap : NULL,
			       NULL};
	/* A 1 MB pipe: fewer, larger reads here and writes downstream (a hint only). */
	(void)fcntl(sp[1], F_SETPIPE_SZ, 1 << 20);
	pid_t s = spawn_detached(sendv, -1, sp[1], se[1], zfs_env, txn_inflight_fd());
	close(sp[1]);
	close(se[1]);
	int rc = s > 0 ? relay(sp[0], -1, cb, arg, NULL, NULL) : -1;
	/* On a failure here the closed pipe stops it (EPIPE): a signal would leave its
	 * hold on the snapshot with zfs-fuse. */
	close(sp[0]);
	char *ws = xasprintf("zfs send %s failed", snap);
	char *keep = rc < 0 ? xstrdup(ioc_errmsg()) : NULL;
	int a = s > 0 ? wait_zfs(s, se[0], ws) : -1;
	if (keep) {
		ioc_err("%s", keep);
		free(keep);
	}
	close(se[0]);
	free(ws);
	return (rc < 0 || a < 0) ? -1 : 0;
}

/* -o PROP=VALUE and -x PROP of a receive. */
static void recv_props(struct strv *a, const struct zfs_recv_props *props)
{
	if (!props)
		return;
	for (size_t i = 0; props->set && props->set->k.v && i < props->set->k.n; i++) {
		sv_add(a, "-o");
		sv_addf(a, "%s=%s", props->set->k.v[i], props->set->v.v[i]);
	}
	for (size_t i = 0; props->exclude && i < props->exclude->n; i++) {
		sv_add(a, "-x");
		sv_add(a, props->exclude->v[i]);
	}
}

int zfs_recv_from(const char *dest, zfs_read_cb rd, void *arg, bool force,
		  const struct zfs_recv_props *props)
{
	int rp[2], re[2];
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(re, O_CLOEXEC) < 0) {
		ioc_err("cannot create pipe: %s", strerror(errno));
		return -1;
	}
	_cleanup_strv_ struct strv rv = {0};
	sv_init(&rv);
	sv_add(&rv, "zfs");
	sv_add(&rv, "recv");
	if (force)
		sv_add(&rv, "-F");
	recv_props(&rv, props);
	sv_add(&rv, dest);
	const char *const *recvv = (const char *const *)rv.v;
	(void)fcntl(rp[1], F_SETPIPE_SZ, 1 << 20); /* as in zfs_send_to */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	pid_t r = spawn_detached(recvv, rp[0], -1, re[1], zfs_env, txn_inflight_fd());
	close(rp[0]);
	close(re[1]);
	int rc = 0;
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	while (r > 0) {
		long n = rd(buf, cap, arg);
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			ssize_t w = write(rp[1], buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				ioc_err("write to zfs recv failed: %s", strerror(errno));
				rc = -1;
				goto done;
			}
			off += w;
		}
	}
done:
	free(buf);
	close(rp[1]);
	char *keep = rc < 0 ? xstrdup(ioc_errmsg()) : NULL;
	char *wr = xasprintf("zfs recv %s failed", dest);
	int b = r > 0 ? wait_zfs(r, re[0], wr) : -1;
	if (keep) {
		ioc_err("%s", keep);
		free(keep);
	}
	free(wr);
	close(re[0]);
	signal(SIGPIPE, old);
	return (rc < 0 || b < 0) ? -1 : 0;
}

int zfs_recv_fd(const char *dest, int fd, struct strv *received, const struct zfs_recv_props *props)
{
	struct strv a;
	sv_init(&a);
	sv_add(&a, "recv");
	if (received)
		sv_add(&a, "-v");
	recv_props(&a, props);
	sv_add(&a, dest);
	char *what = xasprintf("zfs recv %s failed", dest);
	char *out = NULL;
	int rc = zfs_run_in(&a, received ? &out : NULL, what, fd);
	free(what);
	sv_free(&a);
	if (received) {
		/* -v: "receiving full|incremental stream of SRC@S into DEST@S" per snapshot */
		struct strv lines = {0};
		split(&lines, out ? out : "", "\n", true);
		for (size_t i = 0; i < lines.n; i++) {
			const char *into = strstr(lines.v[i], " into ");
			if (startswith(lines.v[i], "receiving ") && into && strchr(into, '@'))
				sv_add(received, into + 6);
		}
		sv_free(&lines);
		free(out);
	}
	return rc;
}
