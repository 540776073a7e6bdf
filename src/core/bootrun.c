/* Running a boot plan: worker processes, up to N at a time (see bootplan.h). */
#include "core/bootplan.h"
#include "core/txn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WHY_MAX 1024

/* The worker of node i: work's outcome as its exit status (0 ok, 1 failed), its reason
 * written to wr. */
static void worker(const struct bootplan *p, size_t i, bootplan_work_fn work, void *ctx, int wr)
	__attribute__((noreturn));
static void worker(const struct bootplan *p, size_t i, bootplan_work_fn work, void *ctx, int wr)
{
	char why[WHY_MAX] = "";
	int rc = work(p, i, ctx, why, sizeof(why));
	if (rc < 0) {
		if (!why[0])
			snprintf(why, sizeof(why), "%s", ioc_errmsg());
		ioc_err_print();
	}
	fflush(stdout);
	fflush(stderr);
	if (why[0])
		(void)!write(wr, why, strlen(why));
	txn_inflight_release(); /* _exit runs no atexit handler */
	_exit(rc < 0 ? 1 : 0);
}

/* Start node i in a worker: its pid and reason pipe, or -1 (the node failed). */
static pid_t spawn(struct bootplan *p, size_t i, bootplan_work_fn work, void *ctx, int *rd)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ioc_err("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		worker(p, i, work, ctx, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		ioc_err("cannot fork: %s", strerror(errno));
		close(fds[0]);
		return -1;
	}
	*rd = fds[0];
	return pid;
}

/* A worker ended with status: its node done, with the reason it wrote. */
static void reap(struct bootplan *p, size_t k, int rd, int status)
{
	char why[WHY_MAX];
	ssize_t n = read(rd, why, sizeof(why) - 1);
	why[n > 0 ? n : 0] = '\0';
	close(rd);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok && !why[0])
		snprintf(why, sizeof(why), "its worker %s %d",
			 WIFSIGNALED(status) ? "was killed by signal" : "exited",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	bootplan_done(p, k, ok, why);
}

int bootplan_run(struct bootplan *p, int jobs, bootplan_work_fn work, void *ctx)
{
	_cleanup_free_ pid_t *pids = xcalloc(p->n + 1, sizeof(pid_t));
	_cleanup_free_ int *rds = xcalloc(p->n + 1, sizeof(int));
	int nrun = 0;
	while (!bootplan_finished(p)) {
		long i;
		while (nrun < jobs && (i = bootplan_next(p)) >= 0) {
			pid_t pid = spawn(p, (size_t)i, work, ctx, &rds[i]);
			if (pid < 0) {
				bootplan_done(p, (size_t)i, false, ioc_errmsg());
				ioc_err_print();
				continue;
			}
			pids[i] = pid;
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
			ioc_err("cannot wait for rcboot's workers: %s", strerror(errno));
			return -1;
		}
		for (size_t k = 0; k < p->n; k++)
			if (pids[k] == pid && p->v[k].st == BN_RUNNING) {
				pids[k] = 0;
				reap(p, k, rds[k], status);
				nrun--;
			}
	}
	return 0;
}
