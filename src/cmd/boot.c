/* rcboot and rcshutdown: the order of core/bootplan.h, run by up to -j N worker processes
 * at a time, each starting (and waiting for the readiness of) or stopping one jail. */
#include "cmd/cmd.h"
#include "core/bootplan.h"
#include "core/jails.h"
#include "core/runstate.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a node needs besides the plan. */
struct bootjail {
	char *ready_cmd; /* NULL: none */
	int ready_port;  /* 0: none */
	long ready_timeout;
	pid_t pid; /* its worker */
	int rd;    /* the worker's reason pipe */
};

#define W_OK_ 0
#define W_FAILED 1
#define W_NOT_READY 2

static const char *cell(const struct strv *r, size_t i, const char *dflt)
{
	return i < r->n && !streq(r->v[i], "-") && r->v[i][0] ? r->v[i] : dflt;
}

/* Every jail with one zfs call; boot: wanted = boot=on (not templates); shutdown: wanted =
 * has a runtime state, and running jails the query does not show are added. */
static int load(struct bootplan *p, bool reverse, struct bootjail **bj)
{
	struct ztable t;
	if (jails_query(&t,
			"name,iocell:active,iocell:host_hostuuid,iocell:tag,iocell:boot,"
			"iocell:priority,iocell:template,iocell:depends,iocell:ready_cmd,"
			"iocell:ready_port,iocell:ready_timeout",
			"iocell:tag") < 0)
		return -1;
	_cleanup_strv_ struct strv running = {0};
	if (reverse && rs_list(&running) < 0) {
		ztable_free(&t);
		return -1;
	}
	*bj = xcalloc(t.nrows + running.n + 1, sizeof(**bj));
	bootplan_init(p, reverse);
	for (size_t i = 0; i < t.nrows; i++) {
		const struct strv *r = &t.rows[i];
		if (r->n < 11 || !valid_uuid(r->v[2]))
			continue;
		long long prio = 99, port = 0, tmo = 60;
		parse_int(cell(r, 5, "99"), 0, 99, &prio);
		parse_int(cell(r, 9, "none"), 1, 65535, &port);
		parse_int(cell(r, 10, "60"), 1, 86400, &tmo);
		bool wanted = reverse ? sv_contains(&running, r->v[2])
				      : streq(r->v[4], "on") && !streq(r->v[6], "yes");
		struct bootjail *b = &(*bj)[p->n];
		const char *rc = cell(r, 8, "none");
		b->ready_cmd = streq(rc, "none") ? NULL : xstrdup(rc);
		b->ready_port = (int)port;
		b->ready_timeout = (long)tmo;
		bootplan_add(p, r->v[2], r->v[3], (int)prio, cell(r, 7, "none"), wanted);
	}
	for (size_t i = 0; i < running.n; i++) {
		bool known = false;
		for (size_t k = 0; k < p->n && !known; k++)
			known = streq(p->v[k].uuid, running.v[i]);
		if (!known) {
			(*bj)[p->n].ready_timeout = 60;
			bootplan_add(p, running.v[i], running.v[i], 99, "none", true);
		}
	}
	ztable_free(&t);
	bootplan_resolve(p);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait for the readiness of a started jail: W_OK_, or W_NOT_READY with why. */
static int await_ready(const char *uuid, const char *tag, const struct bootjail *b, char *why,
		       size_t n)
{
	if (!b->ready_cmd && !b->ready_port)
		return W_OK_;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long long start = t0.tv_sec * 1000LL + t0.tv_nsec / 1000000, now = start;
	long long end = start + b->ready_timeout * 1000LL;
	long delay = 20;
	for (;;) {
		struct runstate rs;
		int r = rs_read(uuid, &rs);
		int ok = -1;
		if (r == 1) {
			long left = (long)((end - now + 999) / 1000);
			ok = b->ready_port ? plat_ready_port(&rs, b->ready_port) : 1;
			if (ok == 1 && b->ready_cmd)
				ok = plat_ready_cmd(&rs, b->ready_cmd, left > 0 ? left : 1);
		} else if (r == 0) {
			ioc_err("jail %s stopped while iocell waited for it to be ready", tag);
		}
		rs_free(&rs);
		if (ok < 0) {
			snprintf(why, n, "%s", ioc_errmsg());
			return W_NOT_READY;
		}
		if (ok == 1) {
			struct timespec t1;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long long ms = t1.tv_sec * 1000LL + t1.tv_nsec / 1000000 - start;
			printf("%s (%s) ready after %lld.%03lld s\n", uuid, tag, ms / 1000,
			       ms % 1000);
			return W_OK_;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		now = t0.tv_sec * 1000LL + t0.tv_nsec / 1000000;
		if (now >= end)
			break;
		sleep_ms(delay < end - now ? delay : (long)(end - now));
		delay = delay * 3 / 2 > 500 ? 500 : delay * 3 / 2;
	}
	char what[128];
	if (b->ready_port && b->ready_cmd)
		snprintf(what, sizeof(what), "port %d and ready_cmd", b->ready_port);
	else if (b->ready_port)
		snprintf(what, sizeof(what), "no TCP port %d accepting", b->ready_port);
	else
		snprintf(what, sizeof(what), "ready_cmd did not succeed");
	snprintf(why, n, "started, but not ready within %ld s (%s)", b->ready_timeout, what);
	ioc_err("jail %s %s", tag, why);
	ioc_hint("see its console log; ready_timeout sets the wait");
	return W_NOT_READY;
}

/* One worker: start (and await) or stop node i; its reason on fd wr. */
static void worker(const struct bootplan *p, size_t i, const struct bootjail *b, int wr)
	__attribute__((noreturn));
static void worker(const struct bootplan *p, size_t i, const struct bootjail *b, int wr)
{
	const struct boot_node *nd = &p->v[i];
	char why[1024] = "";
	int code = W_OK_;
	if (p->reverse) {
		if (cmd_stop_jail(nd->uuid) < 0) {
			snprintf(why, sizeof(why), "%s", ioc_errmsg());
			code = W_FAILED;
		}
	} else if (cmd_start_jail(nd->uuid) < 0) {
		snprintf(why, sizeof(why), "%s", ioc_errmsg());
		code = W_FAILED;
	} else {
		fflush(stdout);
		code = await_ready(nd->uuid, nd->tag, b, why, sizeof(why));
	}
	if (code != W_OK_)
		ioc_err_print();
	fflush(stdout);
	fflush(stderr);
	if (why[0])
		(void)!write(wr, why, strlen(why));
	_exit(code);
}

static int run_plan(struct bootplan *p, struct bootjail *bj, int jobs)
{
	int nrun = 0;
	while (!bootplan_finished(p)) {
		long i;
		while (nrun < jobs && (i = bootplan_next(p)) >= 0) {
			int fds[2];
			if (pipe2(fds, O_CLOEXEC) < 0) {
				ioc_err("cannot create a pipe: %s", strerror(errno));
				bootplan_done(p, (size_t)i, false, ioc_errmsg());
				ioc_err_print();
				continue;
			}
			fflush(stdout);
			fflush(stderr);
			pid_t pid = fork();
			if (pid == 0) {
				close(fds[0]);
				worker(p, (size_t)i, &bj[i], fds[1]);
			}
			close(fds[1]);
			if (pid < 0) {
				close(fds[0]);
				ioc_err("cannot fork: %s", strerror(errno));
				bootplan_done(p, (size_t)i, false, ioc_errmsg());
				ioc_err_print();
				continue;
			}
			bj[i].pid = pid;
			bj[i].rd = fds[0];
			nrun++;
		}
		if (nrun == 0) {
			/* nothing can go and nothing runs: never expected; say so, end */
			for (size_t k = 0; k < p->n; k++)
				if (p->v[k].st == BN_WAITING)
					bootplan_done(p, k, false, "could not be ordered");
			break;
		}
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			ioc_err("waitpid: %s", strerror(errno));
			return -1;
		}
		for (size_t k = 0; k < p->n; k++) {
			if (bj[k].pid != pid || p->v[k].st != BN_RUNNING)
				continue;
			char why[1024];
			ssize_t n = read(bj[k].rd, why, sizeof(why) - 1);
			why[n > 0 ? n : 0] = '\0';
			close(bj[k].rd);
			bool ok = WIFEXITED(status) && WEXITSTATUS(status) == W_OK_;
			if (!ok && !why[0])
				snprintf(why, sizeof(why), "its worker %s %d",
					 WIFSIGNALED(status) ? "was killed by signal" : "exited",
					 WIFSIGNALED(status) ? WTERMSIG(status)
							     : WEXITSTATUS(status));
			bootplan_done(p, k, ok, why);
			nrun--;
		}
	}
	return 0;
}

/* The summary: counts on stdout, then failed and skipped with their reasons; an error
 * line on stderr when not everything went. */
static int summary(const char *cmd, const struct bootplan *p)
{
	size_t up = 0, failed = 0, skipped = 0;
	struct sbuf names;
	sb_init(&names);
	for (size_t i = 0; i < p->n; i++) {
		const struct boot_node *b = &p->v[i];
		up += b->st == BN_UP;
		failed += b->st == BN_FAILED;
		skipped += b->st == BN_SKIPPED;
		if (b->st == BN_FAILED || b->st == BN_SKIPPED)
			sb_printf(&names, "%s%s (%s)", names.len ? ", " : "", b->tag,
				  b->st == BN_FAILED ? "failed" : "skipped");
	}
	const char *verb = p->reverse ? "stopped" : "started";
	printf("%s: %zu %s, %zu failed, %zu skipped\n", cmd, up, verb, failed, skipped);
	for (size_t i = 0; i < p->n; i++) {
		const struct boot_node *b = &p->v[i];
		if (b->st == BN_FAILED || b->st == BN_SKIPPED)
			printf("  %-8s %s: %s\n", b->st == BN_FAILED ? "failed" : "skipped", b->tag,
			       b->why ? b->why : "");
	}
	fflush(stdout);
	int rc = CMD_OK;
	if (failed || skipped) {
		ioc_err("%s: %zu of %zu jails %s: %s", cmd, failed + skipped, up + failed + skipped,
			p->reverse ? "failed to stop" : "did not start", names.s);
		rc = CMD_ERR;
	}
	sb_free(&names);
	return rc;
}

/* -j N (default: the number of CPUs). */
static int parse_jobs(const char *cmd, int argc, char **argv, int *jobs)
{
	*jobs = host_ncpus();
	int c;
	while ((c = cmd_getopt(cmd, argc, argv, "j:")) != -1) {
		long long v;
		if (c != 'j')
			return c == 'h' ? CMD_OK : CMD_USAGE;
		if (!parse_int(optarg, 1, 1024, &v))
			return usage_err(cmd, "-j takes a number from 1 to 1024, not '%s'", optarg);
		*jobs = (int)v;
	}
	if (optind < argc)
		return usage_err(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

static int boot(const char *cmd, bool reverse, int argc, char **argv)
{
	int jobs;
	int opt = parse_jobs(cmd, argc, argv, &jobs);
	if (opt >= 0)
		return opt;
	struct bootplan p;
	struct bootjail *bj = NULL;
	if (load(&p, reverse, &bj) < 0)
		return CMD_ERR;
	int rc = run_plan(&p, bj, jobs) < 0 ? CMD_ERR : summary(cmd, &p);
	/* last_started lives in the runtime dir while the host runs: keep it across the
	 * reboot in the property. */
	for (size_t i = 0; reverse && i < p.n; i++)
		if (rs_started_persist(p.v[i].uuid) < 0)
			ioc_err_print();
	for (size_t i = 0; i < p.n; i++)
		free(bj[i].ready_cmd);
	free(bj);
	bootplan_free(&p);
	return rc;
}

int cmd_rcboot(int argc, char **argv) { return boot("rcboot", false, argc, argv); }

int cmd_rcshutdown(int argc, char **argv) { return boot("rcshutdown", true, argc, argv); }
