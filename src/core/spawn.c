#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void run_init(struct run *r, const char *const *argv)
{
	memset(r, 0, sizeof(*r));
	r->argv = argv;
	r->stdin_fd = -1;
	r->stdout_fd = -1;
	r->keep_fd = -1;
	r->pid = -1;
	r->in_w = r->out_r = r->err_r = -1;
	sb_init(&r->out);
	sb_init(&r->err);
}

void run_free(struct run *r)
{
	if (r->pid > 0)
		run_abort(r);
	sb_free(&r->out);
	sb_free(&r->err);
}

char *argv_str(const char *const *argv)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_addc(&b, ' ');
		const char *a = argv[i];
		if (*a && strpbrk(a, " \t\n'\"\\$|&;<>()*?[]#~") == NULL) {
			sb_add(&b, a);
			continue;
		}
		sb_addc(&b, '\'');
		for (; *a; a++) {
			if (*a == '\'')
				sb_add(&b, "'\\''");
			else
				sb_addc(&b, *a);
		}
		sb_addc(&b, '\'');
	}
	return sb_steal(&b);
}

static char **build_env(const char *const *add)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	char **env = xcalloc(n + k + 1, sizeof(char *));
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		bool over = false;
		for (size_t a = 0; a < k; a++) {
			size_t kl = strcspn(add[a], "=");
			if (strncmp(environ[i], add[a], kl) == 0 && environ[i][kl] == '=')
				over = true;
		}
		if (!over)
			env[j++] = environ[i];
	}
	for (size_t a = 0; a < k; a++)
		env[j++] = (char *)add[a];
	env[j] = NULL;
	return env;
}

static pid_t do_spawn(const char *const *argv, int in_fd, int out_fd, int err_fd,
		      const char *const *env_add, const char *cwd, bool detach, int keep_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid = -1;
	int devnull = -1;

	if (ioc_debug) {
		char *s = argv_str(argv);
		fprintf(stderr, "+ %s\n", s);
		free(s);
	}
	if (in_fd < 0) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0) {
			ioc_err("cannot open /dev/null: %s", strerror(errno));
			return -1;
		}
		in_fd = devnull;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* Children start with default signal dispositions and an empty mask. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	void (*oldpipe)(int) = SIG_DFL;
	if (detach) {
		/* A session of its own (a signal to our process group does not reach it) and
		 * SIGPIPE ignored (kept across exec): when we die it fails with EPIPE and exits
		 * through its own clean-up. */
		flags |= POSIX_SPAWN_SETSID;
		sigdelset(&all, SIGPIPE);
		oldpipe = signal(SIGPIPE, SIG_IGN);
	}
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, flags);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (err_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	if (keep_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, keep_fd, SPAWN_KEEP_FD);
	char **env = env_add ? build_env(env_add) : environ;
	int rc = posix_spawnp(&pid, argv[0], &fa, &at, (char *const *)argv, env);
	if (detach)
		signal(SIGPIPE, oldpipe);
	if (env != environ)
		free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (devnull >= 0)
		close(devnull);
	if (rc != 0) {
		ioc_err("cannot run %s: %s", argv[0], strerror(rc));
		if (rc == ENOENT)
			ioc_hint("install the package that provides %s", argv[0]);
		return -1;
	}
	return pid;
}

pid_t spawn_fds(const char *const *argv, int in_fd, int out_fd, int err_fd)
{
	return do_spawn(argv, in_fd, out_fd, err_fd, NULL, NULL, false, -1);
}

pid_t spawn_detached(const char *const *argv, int in_fd, int out_fd, int err_fd,
		     const char *const *env_add, int keep_fd)
{
	return do_spawn(argv, in_fd, out_fd, err_fd, env_add, NULL, true, keep_fd);
}

int wait_pid(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			ioc_err("waitpid %d: %s", (int)pid, strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static void run_close_fds(struct run *r)
{
	int *fds[] = {&r->in_w, &r->out_r, &r->err_r};
	for (int i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int run_start(struct run *r)
{
	int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
	int in_fd = r->stdin_fd, out_fd = r->stdout_fd, err_fd = -1;
	int devnull_out = -1;

	r->pid = -1;
	r->in_w = r->out_r = r->err_r = -1;
	if (r->input) {
		if (pipe2(inp, O_CLOEXEC) < 0)
			goto pipefail;
		in_fd = inp[0];
	}
	if (out_fd < 0 && !r->pass_out) {
		if (r->capture_out) {
			if (pipe2(outp, O_CLOEXEC) < 0)
				goto pipefail;
			out_fd = outp[1];
		} else {
			devnull_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
			out_fd = devnull_out;
		}
	}
	if (!r->pass_err) {
		if (pipe2(errp, O_CLOEXEC) < 0)
			goto pipefail;
		err_fd = errp[1];
	}
	pid_t pid = do_spawn(r->argv, in_fd, out_fd, err_fd, r->env_add, r->cwd, r->detach,
			     r->keep_fd);
	if (inp[0] >= 0)
		close(inp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (devnull_out >= 0)
		close(devnull_out);
	r->in_w = inp[1];
	r->out_r = outp[0];
	r->err_r = errp[0];
	if (pid < 0) {
		run_close_fds(r);
		return -1;
	}
	r->pid = pid;
	if (r->in_w >= 0)
		fcntl(r->in_w, F_SETFL, O_NONBLOCK);
	return 0;
pipefail:
	ioc_err("cannot create pipe for %s: %s", r->argv[0], strerror(errno));
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			close(inp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return -1;
}

int run_finish(struct run *r)
{
	if (r->pid <= 0)
		return -1;
	size_t in_off = 0;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pollfd pf[3];
		int n = 0, ii = -1, oi = -1, ei = -1;
		if (r->in_w >= 0) {
			pf[n] = (struct pollfd){.fd = r->in_w, .events = POLLOUT};
			ii = n++;
		}
		if (r->out_r >= 0) {
			pf[n] = (struct pollfd){.fd = r->out_r, .events = POLLIN};
			oi = n++;
		}
		if (r->err_r >= 0) {
			pf[n] = (struct pollfd){.fd = r->err_r, .events = POLLIN};
			ei = n++;
		}
		if (n == 0)
			break;
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ii >= 0 && pf[ii].revents) {
			ssize_t w = write(r->in_w, r->input + in_off, r->input_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				in_off = r->input_len;
			if (in_off >= r->input_len) {
				close(r->in_w);
				r->in_w = -1;
			}
		}
		char buf[16384];
		if (oi >= 0 && pf[oi].revents) {
			ssize_t k = read(r->out_r, buf, sizeof(buf));
			if (k > 0)
				sb_addn(&r->out, buf, (size_t)k);
			else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(r->out_r);
				r->out_r = -1;
			}
		}
		if (ei >= 0 && pf[ei].revents) {
			ssize_t k = read(r->err_r, buf, sizeof(buf));
			if (k > 0)
				sb_addn(&r->err, buf, (size_t)k);
			else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(r->err_r);
				r->err_r = -1;
			}
		}
	}
	signal(SIGPIPE, old);
	run_close_fds(r);
	r->status = wait_pid(r->pid);
	r->pid = -1;
	return r->status < 0 ? -1 : 0;
}

void run_abort(struct run *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		run_close_fds(r);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->pid = -1;
	}
	run_close_fds(r);
}

int run_cmd(struct run *r)
{
	if (run_start(r) < 0)
		return -1;
	return run_finish(r);
}

int run_check(struct run *r, const char *what)
{
	if (run_cmd(r) < 0) {
		ioc_err_ctx("%s", what);
		return -1;
	}
	if (r->status == 0)
		return 0;
	char *cmd = argv_str(r->argv);
	char *e = xstrdup(r->err.s ? r->err.s : "");
	chomp(e);
	if (!*e)
		ioc_err("%s: '%s' exited with status %d", what, cmd, r->status);
	else
		ioc_err("%s: '%s' failed: %s", what, cmd, e);
	free(e);
	free(cmd);
	return -1;
}

int run_argv(const char *const *argv, char **out, const char *what)
{
	struct run r;
	run_init(&r, argv);
	r.capture_out = out != NULL;
	int rc = run_check(&r, what);
	if (rc == 0 && out)
		*out = sb_steal(&r.out);
	run_free(&r);
	return rc;
}
