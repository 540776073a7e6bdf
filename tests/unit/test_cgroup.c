/*
 * Tests of the per-jail cgroups (src/linux/cgroup.c).  The lifecycle tests create real
 * cgroups, so they run only as root with a writable cgroup hierarchy and skip otherwise.
 * Whichever layout the host has is tested (v1 or hybrid here; to exercise v2 on such a
 * host: unshare -m sh -c 'mount -t cgroup2 none /sys/fs/cgroup && ./test_cgroup').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "linux/cgroup.h"

static char *test_uuid(void)
{
	return xasprintf("00000000-0000-4000-8000-cgtest%06d", (int)getpid());
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* Skip unless root and every hierarchy root (the parent of "iocell") is writable. */
static void need_root_cgroups(void)
{
	if (geteuid() != 0) {
		print_message("not root: skipped\n");
		skip();
	}
	struct cgroup cg;
	char *uuid = test_uuid();
	cg_paths(&cg, uuid);
	free(uuid);
	bool ok = cg.n > 0;
	for (size_t i = 0; ok && i < cg.n; i++) {
		char *root = xstrdup(cg.dirs[i]);
		for (int k = 0; k < 2; k++)
			*strrchr(root, '/') = '\0';
		ok = access(root, W_OK) == 0;
		free(root);
	}
	cg_free(&cg);
	if (!ok) {
		print_message("no writable cgroup hierarchy: skipped\n");
		skip();
	}
}

/* A child that waits for a byte on fd, then forks a grandchild (reporting its pid on
 * out) and both sleep until killed. */
static pid_t spawn_sleeper(int *go, int *out)
{
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		char c;
		if (read(a[0], &c, 1) != 1)
			_exit(1);
		if (c == 'x')
			_exit(0);
		pid_t g = fork();
		if (g < 0)
			_exit(1);
		if (g == 0) {
			for (;;)
				pause();
		}
		if (write(b[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
			_exit(1);
		for (;;)
			pause();
	}
	close(a[0]);
	close(b[1]);
	*go = a[1];
	*out = b[0];
	return pid;
}

/* /proc/PID/cgroup shows "/iocell/UUID" for every controller hierarchy (v1, memory and
 * pids among them) or for the unified one (v2). */
static void check_proc_cgroup(pid_t pid, const char *uuid, enum cg_mode mode)
{
	char *p = xasprintf("/proc/%d/cgroup", (int)pid);
	char *text = read_file(p, NULL);
	assert_non_null(text);
	char *want = xasprintf("/iocell/%s", uuid);
	struct strv lines = {0};
	split(&lines, text, "\n", true);
	size_t hits = 0;
	bool memory = false, pids = false;
	for (size_t i = 0; i < lines.n; i++) {
		struct strv f = {0};
		split(&f, lines.v[i], ":", false);
		assert_int_equal(f.n, 3);
		bool v2line = f.v[1][0] == '\0';
		if ((mode == CG_V2) == v2line && !startswith(f.v[1], "name=")) {
			assert_string_equal(f.v[2], want);
			hits++;
			struct strv c = {0};
			split(&c, f.v[1], ",", true);
			memory |= sv_contains(&c, "memory");
			pids |= sv_contains(&c, "pids");
			sv_free(&c);
		}
		sv_free(&f);
	}
	assert_true(hits > 0);
	if (mode == CG_V1) {
		assert_true(memory);
		assert_true(pids);
	}
	sv_free(&lines);
	free(want);
	free(text);
	free(p);
}

static void test_mode_name(void **state)
{
	(void)state;
	assert_string_equal(cg_mode_name(CG_V2), "cgroup2");
	assert_string_equal(cg_mode_name(CG_V1), "cgroup-v1");
}

static void test_paths(void **state)
{
	(void)state;
	enum cg_mode mode;
	if (cg_detect(&mode) < 0) {
		print_message("no cgroups here (%s): skipped\n", ioc_errmsg());
		ioc_err_clear();
		skip();
	}
	struct cgroup cg;
	cg_paths(&cg, "abc");
	assert_int_equal(cg.mode, mode);
	assert_true(cg.n > 0);
	if (mode == CG_V2)
		assert_int_equal(cg.n, 1);
	for (size_t i = 0; i < cg.n; i++) {
		assert_true(cg.dirs[i][0] == '/');
		assert_true(endswith(cg.dirs[i], "/iocell/abc"));
		assert_false(exists(cg.dirs[i]));
	}
	cg_free(&cg);
	assert_int_equal(cg.n, 0);
	cg_free(&cg); /* twice is fine */

	/* Not one path component: nothing, and cg_create says why. */
	const char *bad[] = {"", ".", "..", "a/b", "../x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cg_paths(&cg, bad[i]);
		assert_int_equal(cg.n, 0);
		assert_int_equal(cg_create(&cg, bad[i], 0, "test"), -1);
		assert_non_null(strstr(ioc_errmsg(), "not a valid jail id"));
		ioc_err_clear();
		assert_int_equal(cg_destroy(&cg), 0);
	}
}

static void test_lifecycle(void **state)
{
	(void)state;
	need_root_cgroups();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0); /* to reap the grandchild */
	char *uuid = test_uuid();
	struct cgroup cg;
	assert_int_equal(cg_create(&cg, uuid, 0, "test"), 0);
	assert_false(ioc_err_pending());
	for (size_t i = 0; i < cg.n; i++)
		assert_true(exists(cg.dirs[i]));

	int go, out;
	pid_t child = spawn_sleeper(&go, &out);
	assert_int_equal(cg_attach(&cg, child), 0);
	check_proc_cgroup(child, uuid, cg.mode);

	/* A grandchild forked inside, moved into a nested cgroup of the first hierarchy. */
	assert_int_equal(write(go, "g", 1), 1);
	pid_t grand;
	assert_int_equal(read(out, &grand, sizeof(grand)), (ssize_t)sizeof(grand));
	char *sub = xasprintf("%s/nested", cg.dirs[0]);
	assert_int_equal(mkdir(sub, 0755), 0);
	char *procs = xasprintf("%s/cgroup.procs", sub);
	FILE *f = fopen(procs, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)grand);
	assert_int_equal(fclose(f), 0);

	pid_t *pids;
	size_t n;
	assert_int_equal(cg_pids(&cg, &pids, &n), 0);
	assert_int_equal(n, 2);
	assert_true((pids[0] == child && pids[1] == grand) ||
		    (pids[0] == grand && pids[1] == child));
	free(pids);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cg_destroy(&cg), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("cg_destroy (%s, %zu hierarchies, 2 processes): %.1f ms\n",
		      cg_mode_name(cg.mode), cg.n,
		      (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(waitpid(grand, &st, 0), grand);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (size_t i = 0; i < cg.n; i++) {
		assert_false(exists(cg.dirs[i]));
		char *parent = xstrdup(cg.dirs[i]);
		*strrchr(parent, '/') = '\0';
		assert_true(exists(parent)); /* the shared parent stays */
		free(parent);
	}
	assert_false(exists(sub));

	/* Idempotent; cg_pids of a gone cgroup is an error. */
	assert_int_equal(cg_destroy(&cg), 0);
	assert_int_equal(cg_pids(&cg, &pids, &n), -1);
	assert_non_null(strstr(ioc_errmsg(), "No such file"));
	ioc_err_clear();

	close(go);
	close(out);
	free(procs);
	free(sub);
	cg_free(&cg);
	free(uuid);
}

static void test_reuse_and_busy(void **state)
{
	(void)state;
	need_root_cgroups();
	char *uuid = test_uuid();
	struct cgroup cg, again;
	assert_int_equal(cg_create(&cg, uuid, 0, "test"), 0);
	assert_int_equal(cg_create(&again, uuid, 0, "test"), 0); /* empty leftover: reused */
	cg_free(&again);

	int go, out;
	pid_t child = spawn_sleeper(&go, &out);
	assert_int_equal(cg_attach(&cg, child), 0);
	assert_int_equal(cg_create(&again, uuid, 0, "test"), -1); /* in use: refused, left alone */
	assert_non_null(strstr(ioc_errmsg(), "process"));
	ioc_err_clear();
	assert_int_equal(again.n, 0);
	for (size_t i = 0; i < cg.n; i++)
		assert_true(exists(cg.dirs[i]));
	check_proc_cgroup(child, uuid, cg.mode);

	/* Attaching a process that does not exist says which and why. */
	pid_t gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		_exit(0);
	int st;
	assert_int_equal(waitpid(gone, &st, 0), gone);
	assert_int_equal(cg_attach(&cg, gone), -1);
	assert_non_null(strstr(ioc_errmsg(), "cannot move process"));
	ioc_err_clear();

	assert_int_equal(cg_destroy(&cg), 0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (size_t i = 0; i < cg.n; i++)
		assert_false(exists(cg.dirs[i]));
	close(go);
	close(out);
	cg_free(&cg);
	free(uuid);
}

/* A process that exited but is not reaped yet (the jail's init, before the starter
 * waits for it) does not keep the cgroup busy. */
static void test_zombie(void **state)
{
	(void)state;
	need_root_cgroups();
	char *uuid = test_uuid();
	struct cgroup cg;
	assert_int_equal(cg_create(&cg, uuid, 0, "test"), 0);
	int go, out;
	pid_t child = spawn_sleeper(&go, &out);
	assert_int_equal(cg_attach(&cg, child), 0);
	assert_int_equal(write(go, "x", 1), 1);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(cg_destroy(&cg), 0);
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (size_t i = 0; i < cg.n; i++)
		assert_false(exists(cg.dirs[i]));
	close(go);
	close(out);
	cg_free(&cg);
	free(uuid);
}

/* After a failed assertion: kill what is left in the test's cgroup, reap children. */
static int cleanup(void **state)
{
	(void)state;
	if (geteuid() == 0) {
		struct cgroup cg;
		char *uuid = test_uuid();
		cg_paths(&cg, uuid);
		if (cg_destroy(&cg) < 0) {
			print_message("cleanup: %s\n", ioc_errmsg());
			ioc_err_clear();
		}
		cg_free(&cg);
		free(uuid);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_name),
		cmocka_unit_test(test_paths),
		cmocka_unit_test_teardown(test_lifecycle, cleanup),
		cmocka_unit_test_teardown(test_reuse_and_busy, cleanup),
		cmocka_unit_test_teardown(test_zombie, cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
