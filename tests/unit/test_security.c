/*
 * Unit tests of the jail privilege set (src/linux/security.c): the capability mask, the
 * seccomp program cache, and — as root, in forked children confined for real — what a
 * jail process can and cannot do afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/pool.h"
#include "core/util.h"
#include "linux/security.h"

#define BIT(c) (UINT64_C(1) << (c))

static char g_dir[] = "/tmp/iocell-test-security-XXXXXX";
static uint64_t g_have; /* our own permitted ∩ bounding set */

/* ------------------------------------------------------------------ helpers */

static bool status_field(const char *name, char *out, size_t outsz)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	char line[256];
	size_t n = strlen(name);
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, outsz, "%s", v);
			chomp(out);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static uint64_t status_hex(const char *name)
{
	char v[64];
	if (!status_field(name, v, sizeof(v)))
		return UINT64_MAX;
	return strtoull(v, NULL, 16);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct jail_security base(void)
{
	struct jail_security s;
	memset(&s, 0, sizeof(s));
	s.securelevel = 2;
	s.children_max = 0;
	return s;
}

static bool is_root(void) { return geteuid() == 0; }

/* In a child: report the failing check and exit non-zero. */
#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "child check failed at line %d: %s (errno %s)\n", \
				__LINE__, #cond, strerror(errno));                        \
			_exit(1);                                                         \
		}                                                                         \
	} while (0)

#define CHECK_ERRNO(call, err)                                                        \
	do {                                                                          \
		errno = 0;                                                            \
		long r_ = (long)(call);                                               \
		if (r_ != -1 || errno != (err)) {                                     \
			fprintf(stderr,                                               \
				"child check failed at line %d: %s returned %ld "     \
				"errno %s, expected -1 %s\n",                         \
				__LINE__, #call, r_, strerror(errno), strerror(err)); \
			_exit(1);                                                     \
		}                                                                     \
	} while (0)

/* The part of a start that precedes the confinement: a private mount namespace and a
 * UTS namespace, so a failing check cannot touch the host's mounts or hostname. */
static void child_namespaces(void)
{
	CHECK(unshare(CLONE_NEWNS | CLONE_NEWUTS) == 0);
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
}

static void child_confine(const struct jail_security *s)
{
	if (sec_apply_caps(sec_caps(s)) < 0 || sec_apply_seccomp(s) < 0) {
		fprintf(stderr, "child: %s\n", ioc_errmsg());
		_exit(2);
	}
}

/* Capability sets and seccomp state after confinement. */
static void child_check_state(uint64_t expect)
{
	CHECK(status_hex("CapEff") == expect);
	CHECK(status_hex("CapPrm") == expect);
	CHECK(status_hex("CapInh") == expect);
	CHECK(status_hex("CapBnd") == expect);
	CHECK(status_hex("CapAmb") == 0);
	char v[64];
	CHECK(status_field("Seccomp", v, sizeof(v)) && streq(v, "2"));
	CHECK(status_field("NoNewPrivs", v, sizeof(v)) && streq(v, "0"));
	CHECK(getuid() == 0 && geteuid() == 0);
}

static void *thread_fn(void *arg) { return arg; }

/* What every variant with children_max 0 and no mounts must refuse or allow. */
static void child_check_common(void)
{
	char *p;
	int fd;

	/* mounts (tmpfs on the test dir: harmless even if it succeeded) */
	CHECK_ERRNO(mount("none", "/mnt", "tmpfs", 0, NULL), EPERM);
	CHECK_ERRNO(mount("none", g_dir, "tmpfs", 0, NULL), EPERM);
	CHECK_ERRNO(umount2("/proc", MNT_DETACH), EPERM);
	CHECK_ERRNO(syscall(SYS_fsopen, "tmpfs", 0), EPERM);
	CHECK_ERRNO(syscall(SYS_open_tree, AT_FDCWD, "/", 0), EPERM);
	CHECK_ERRNO(syscall(SYS_pivot_root, "/", "/"), EPERM);
	/* namespaces: unprivileged user namespaces are refused too (only seccomp can) */
	CHECK_ERRNO(unshare(CLONE_NEWNS), EPERM);
	CHECK_ERRNO(unshare(CLONE_NEWUSER), EPERM);
	CHECK_ERRNO(unshare(CLONE_NEWTIME), EPERM);
	fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_ERRNO(setns(fd, 0), EPERM);
	close(fd);
	CHECK_ERRNO(syscall(SYS_clone3, NULL, 0), ENOSYS);
	CHECK_ERRNO(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0), EPERM);
	/* fork and threads still work (glibc falls back from clone3 to clone) */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(7);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, thread_fn, NULL) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	/* kernel modules, kexec, reboot, swap, raw I/O, clock, kernel log */
	CHECK_ERRNO(syscall(SYS_init_module, NULL, 0, ""), EPERM);
	CHECK_ERRNO(syscall(SYS_finit_module, -1, "", 0), EPERM);
	CHECK_ERRNO(syscall(SYS_delete_module, "nonexistent", 0), EPERM);
	CHECK_ERRNO(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
	CHECK_ERRNO(syscall(SYS_swapoff, "/nonexistent"), EPERM);
	CHECK_ERRNO(syscall(SYS_iopl, 3), EPERM);
	CHECK_ERRNO(syscall(SYS_ioperm, 0x80, 1, 1), EPERM);
	struct timespec ts;
	CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
	CHECK_ERRNO(clock_settime(CLOCK_REALTIME, &ts), EPERM);
	CHECK_ERRNO(syscall(SYS_syslog, 10, NULL, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_keyctl, 0, -3, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_bpf, 0, NULL, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_userfaultfd, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM);
	CHECK_ERRNO(syscall(SYS_quotactl, 0, NULL, 0, NULL), EPERM);
	/* device nodes: no CAP_MKNOD */
	p = xasprintf("%s/x-%d", g_dir, (int)getpid());
	CHECK_ERRNO(mknod(p, S_IFBLK | 0600, makedev(8, 0)), EPERM);
	CHECK_ERRNO(mknod(p, S_IFCHR | 0600, makedev(1, 3)), EPERM);
	CHECK(mknod(p, S_IFIFO | 0600, 0) == 0); /* a FIFO needs no privilege */
	CHECK(chown(p, 1000, 1000) == 0);        /* CAP_CHOWN kept */
	CHECK(unlink(p) == 0);
	free(p);
	/* raw sockets: no CAP_NET_RAW */
	CHECK_ERRNO(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
	/* personality: PER_LINUX and the query only */
	CHECK(personality(0xffffffff) != -1);
	CHECK(personality(PER_LINUX) != -1);
	CHECK_ERRNO(personality(PER_LINUX | ADDR_NO_RANDOMIZE), EPERM);
	CHECK_ERRNO(personality(PER_LINUX32), EPERM);
	CHECK_ERRNO(personality(0x7fffffff), EPERM);
	CHECK_ERRNO(personality(0xfffffffe), EPERM);
	CHECK(personality(0xffffffff) == PER_LINUX);
	/* TIOCSTI, TIOCCONS, file system freeze/thaw/trim/shutdown never (EPERM instead of
	 * the kernel's ENOTTY/EBADF) */
	CHECK_ERRNO(ioctl(-1, TIOCSTI, "x"), EPERM);
	CHECK_ERRNO(ioctl(-1, TIOCCONS), EPERM);
	CHECK_ERRNO(ioctl(-1, FIFREEZE, 0), EPERM);
	CHECK_ERRNO(ioctl(-1, FITHAW, 0), EPERM);
	CHECK_ERRNO(ioctl(-1, FITRIM, NULL), EPERM);
	CHECK_ERRNO(ioctl(-1, _IOR('X', 125, uint32_t), NULL), EPERM);
	CHECK_ERRNO(ioctl(-1, TIOCGWINSZ, NULL), EBADF); /* other ioctls reach the kernel */
	CHECK_ERRNO(ioctl(-1, FIGETBSZ, NULL), EBADF);
	/* io_uring, AF_VSOCK sockets (other families work) */
	CHECK_ERRNO(syscall(SYS_io_uring_setup, 1, NULL), EPERM);
	CHECK_ERRNO(socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	close(fd);
}

typedef void (*child_fn)(const void *arg);

static void run_child(child_fn fn, const void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("child killed by signal %d", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ------------------------------------------------------------------ setup */

static void rm_dir_contents(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		if (unlink(p) < 0 && (errno != EISDIR || rmdir(p) < 0))
			fprintf(stderr, "cannot remove %s: %s\n", p, strerror(errno));
		free(p);
	}
	closedir(d);
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(g_dir))
		return -1;
	/* before the first rundir() call */
	if (setenv("IOCELL_RUNDIR", g_dir, 1) < 0)
		return -1;
	if (!streq(rundir(), g_dir))
		return -1;
	g_have = status_hex("CapPrm") & status_hex("CapBnd");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rm_dir_contents(g_dir);
	return rmdir(g_dir);
}

/* ------------------------------------------------------------------ tests */

static void test_caps_mask(void **state)
{
	(void)state;
	struct jail_security s = base();
	uint64_t def = sec_caps(&s);
	assert_int_equal(def, BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) |
				      BIT(CAP_FOWNER) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
				      BIT(CAP_SETPCAP) | BIT(CAP_SETFCAP) |
				      BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) |
				      BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE));
	assert_int_equal(def, 0xa00405fbULL);
	static const int never[] = {
		CAP_MKNOD,         CAP_SYS_MODULE,        CAP_SYS_RAWIO,  CAP_SYS_TIME,
		CAP_SYS_BOOT,      CAP_NET_ADMIN,         CAP_SYS_PTRACE, CAP_SYSLOG,
		CAP_MAC_ADMIN,     CAP_MAC_OVERRIDE,      CAP_BPF,        CAP_PERFMON,
		CAP_SYS_NICE,      CAP_IPC_LOCK,          CAP_LEASE,      CAP_WAKE_ALARM,
		CAP_BLOCK_SUSPEND, CAP_DAC_READ_SEARCH,   CAP_SYS_PACCT,  CAP_SYS_TTY_CONFIG,
		CAP_AUDIT_CONTROL, CAP_CHECKPOINT_RESTORE};
	struct jail_security all = base();
	all.allow_raw_sockets = all.allow_set_hostname = all.allow_mount = true;
	all.allow_mount_tmpfs = all.allow_mount_procfs = all.allow_mount_devfs = true;
	all.allow_mount_nullfs = all.allow_chflags = all.allow_quotas = true;
	all.securelevel = -1;
	all.children_max = 10;
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		assert_false(sec_caps(&all) & BIT(never[i]));

	s.allow_raw_sockets = true;
	assert_int_equal(sec_caps(&s), def | BIT(CAP_NET_RAW));
	s = base();
	s.allow_chflags = true;
	assert_int_equal(sec_caps(&s), def | BIT(CAP_LINUX_IMMUTABLE));
	s = base();
	s.allow_quotas = true;
	assert_int_equal(sec_caps(&s), def | BIT(CAP_SYS_RESOURCE));
	s = base();
	s.allow_set_hostname = true; /* the SPEC default */
	assert_int_equal(sec_caps(&s), def | BIT(CAP_SYS_ADMIN));
	s = base();
	s.allow_mount_tmpfs = true;
	assert_int_equal(sec_caps(&s), def | BIT(CAP_SYS_ADMIN));
	s.securelevel = 3; /* no mounts at all: no reason for CAP_SYS_ADMIN */
	assert_int_equal(sec_caps(&s), def);
	print_message("default capability mask %#llx (allow_set_hostname=1: %#llx)\n",
		      (unsigned long long)def, (unsigned long long)(def | BIT(CAP_SYS_ADMIN)));
}

static void test_cache(void **state)
{
	(void)state;
	struct jail_security s = base();
	char *p = sec_seccomp_cache(&s);
	if (!p)
		fail_msg("sec_seccomp_cache: %s", ioc_errmsg());
	char *expect = xasprintf("%s/seccomp-%s-", g_dir, IOCELL_VERSION);
	assert_true(startswith(p, expect));
	assert_true(endswith(p, "-m0q0h0n0.bpf"));
	free(expect);
	struct stat st1, st2;
	assert_int_equal(stat(p, &st1), 0);
	assert_true(S_ISREG(st1.st_mode));
	assert_int_equal(st1.st_mode & 0777, 0600);
	assert_true(st1.st_size > 0 && st1.st_size % 8 == 0);

	/* a second call reuses the file (same inode: not rewritten) */
	char *p2 = sec_seccomp_cache(&s);
	assert_non_null(p2);
	assert_string_equal(p, p2);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	free(p2);

	/* children_max only matters as zero / non-zero; securelevel only through mounts */
	struct jail_security a = base(), b = base();
	a.children_max = 1;
	b.children_max = 50;
	b.securelevel = -1;
	char *pa = sec_seccomp_cache(&a), *pb = sec_seccomp_cache(&b);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_string_equal(pa, pb);
	assert_string_not_equal(pa, p);
	free(pa);
	free(pb);
	a = base();
	a.allow_mount = true;
	pa = sec_seccomp_cache(&a);
	a.securelevel = 3;
	pb = sec_seccomp_cache(&a);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_true(endswith(pa, "-m1q0h0n0.bpf"));
	assert_string_equal(pb, p); /* securelevel 3: same program as no mounts */
	free(pa);
	free(pb);

	/* a corrupt (truncated) or empty file is rebuilt */
	assert_int_equal(write_file_atomic(p, "12345", 5, 0600), 0);
	p2 = sec_seccomp_cache(&s);
	assert_non_null(p2);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st2.st_size, st1.st_size);
	free(p2);
	assert_int_equal(write_file_atomic(p, "", 0, 0600), 0);
	p2 = sec_seccomp_cache(&s);
	assert_non_null(p2);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st2.st_size, st1.st_size);
	free(p2);
	/* a file writable by others is not trusted */
	assert_int_equal(chmod(p, 0666), 0);
	p2 = sec_seccomp_cache(&s);
	assert_non_null(p2);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st2.st_mode & 0777, 0600);
	free(p2);
	free(p);
}

/* The brief's defaults: no allow_*, children_max 0, securelevel 2. */
static void child_default(const void *arg)
{
	(void)arg;
	struct jail_security s = base();
	child_namespaces();
	child_confine(&s);
	child_check_state(sec_caps(&s) & g_have);
	child_check_common();
	CHECK_ERRNO(sethostname("jail", 4), EPERM);
	CHECK_ERRNO(setdomainname("jail", 4), EPERM);
}

static void test_confined_default(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	run_child(child_default, NULL);
}

/* SPEC's default allow_set_hostname=1: CAP_SYS_ADMIN is kept, so here only the seccomp
 * program stands between the jail and mount/unshare/setns/... */
static void child_hostname(const void *arg)
{
	(void)arg;
	struct jail_security s = base();
	s.allow_set_hostname = true;
	child_namespaces();
	child_confine(&s);
	uint64_t expect = sec_caps(&s) & g_have;
	CHECK(expect & BIT(CAP_SYS_ADMIN));
	child_check_state(expect);
	CHECK(sethostname("jailtest", 8) == 0);
	char h[64];
	CHECK(gethostname(h, sizeof(h)) == 0 && streq(h, "jailtest"));
	CHECK(setdomainname("example", 7) == 0);
	child_check_common();
}

static void test_confined_hostname(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	run_child(child_hostname, NULL);
}

static void child_mount(const void *arg)
{
	int securelevel = *(const int *)arg;
	struct jail_security s = base();
	s.allow_mount_tmpfs = true;
	s.securelevel = securelevel;
	child_namespaces();
	char *m = xasprintf("%s/mnt-%d", g_dir, (int)getpid());
	CHECK(mkdir(m, 0700) == 0);
	child_confine(&s);
	child_check_state(sec_caps(&s) & g_have);
	if (securelevel < 3) {
		CHECK(mount("none", m, "tmpfs", 0, NULL) == 0);
		CHECK(umount2(m, 0) == 0);
	} else {
		CHECK_ERRNO(mount("none", m, "tmpfs", 0, NULL), EPERM);
	}
	CHECK_ERRNO(unshare(CLONE_NEWNS), EPERM);
	CHECK_ERRNO(syscall(SYS_pivot_root, "/", "/"), EPERM);
	CHECK(rmdir(m) == 0);
	free(m);
}

static void test_confined_mount(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	int lvl = 2;
	run_child(child_mount, &lvl);
	lvl = 3;
	run_child(child_mount, &lvl);
}

/* children_max > 0: nested containers may create namespaces. */
static void child_nested(const void *arg)
{
	(void)arg;
	struct jail_security s = base();
	s.allow_set_hostname = true;
	s.children_max = 5;
	child_namespaces();
	child_confine(&s);
	CHECK(unshare(CLONE_NEWUTS) == 0);
	CHECK(sethostname("nested", 6) == 0);
	CHECK_ERRNO(syscall(SYS_init_module, NULL, 0, ""), EPERM);
	CHECK_ERRNO(mount("none", g_dir, "tmpfs", 0, NULL), EPERM);
}

static void test_confined_nested(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	run_child(child_nested, NULL);
}

/* Time of sec_apply_seccomp in a child, written to the pipe. */
static void child_time_apply(const void *arg)
{
	int fd = *(const int *)arg;
	struct jail_security s = base();
	s.allow_quotas = true; /* a variant no other test uses */
	if (sec_apply_caps(sec_caps(&s)) < 0)
		_exit(2);
	double t0 = now_ms();
	if (sec_apply_seccomp(&s) < 0) {
		fprintf(stderr, "child: %s\n", ioc_errmsg());
		_exit(2);
	}
	double dt = now_ms() - t0;
	CHECK(write(fd, &dt, sizeof(dt)) == (ssize_t)sizeof(dt));
}

/* Remove the cached files of variants whose name ends in suffix, without loading them
 * into this process (children inherit what the parent loaded). */
static void unlink_cached(const char *suffix)
{
	DIR *d = opendir(g_dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!endswith(e->d_name, suffix))
			continue;
		char *p = xasprintf("%s/%s", g_dir, e->d_name);
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	closedir(d);
}

static bool cached_exists(const char *suffix)
{
	DIR *d = opendir(g_dir);
	assert_non_null(d);
	struct dirent *e;
	bool found = false;
	while ((e = readdir(d)))
		if (endswith(e->d_name, suffix))
			found = true;
	closedir(d);
	return found;
}

static double timed_apply(bool cold)
{
	if (cold)
		unlink_cached("-m0q1h0n0.bpf");
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	run_child(child_time_apply, &pfd[1]);
	double dt;
	assert_int_equal(read(pfd[0], &dt, sizeof(dt)), (ssize_t)sizeof(dt));
	close(pfd[0]);
	close(pfd[1]);
	assert_true(cached_exists("-m0q1h0n0.bpf"));
	return dt;
}

static void test_cache_is_faster(void **state)
{
	(void)state;
	enum { N = 15 };
	double build[N], load[N];
	struct jail_security s = base();
	s.allow_set_hostname = true;
	s.allow_raw_sockets = true;
	for (int i = 0; i < N; i++) {
		char *p = sec_seccomp_cache(&s);
		assert_non_null(p);
		assert_int_equal(unlink(p), 0);
		free(p);
		double t0 = now_ms();
		p = sec_seccomp_cache(&s); /* compile + write */
		build[i] = now_ms() - t0;
		assert_non_null(p);
		free(p);
	}
	for (int i = 0; i < N; i++) {
		double t0 = now_ms();
		char *p = sec_seccomp_cache(&s); /* read + validate */
		load[i] = now_ms() - t0;
		assert_non_null(p);
		free(p);
	}
	double mb = median(build, N), ml = median(load, N);
	print_message("seccomp program: build+cache %.3f ms, load from cache %.3f ms "
		      "(median of %d, %.0fx)\n",
		      mb, ml, N, mb / ml);
	assert_true(ml < mb);

	if (!is_root())
		return;
	double cold[N], warm[N];
	for (int i = 0; i < N; i++) {
		cold[i] = timed_apply(true);
		warm[i] = timed_apply(false);
	}
	double mc = median(cold, N), mw = median(warm, N);
	print_message("sec_apply_seccomp: first start of a variant %.3f ms, "
		      "later starts %.3f ms (median of %d)\n",
		      mc, mw, N);
	assert_true(mw < mc);
}

/* A program loaded by sec_seccomp_cache before the jail's mount namespace is entered is
 * kept in memory: sec_apply_seccomp then reads no file (after pivot_root the rundir path
 * would lead into the jail). */
static void child_memo(const void *arg)
{
	(void)arg;
	struct jail_security s = base();
	s.children_max = 3;
	child_namespaces();
	child_confine(&s);
	CHECK(!cached_exists("-m0q0h0n1.bpf"));
	char v[64];
	CHECK(status_field("Seccomp", v, sizeof(v)) && streq(v, "2"));
	CHECK_ERRNO(syscall(SYS_init_module, NULL, 0, ""), EPERM);
}

static void test_memo(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	struct jail_security s = base();
	s.children_max = 3;
	char *p = sec_seccomp_cache(&s);
	assert_non_null(p);
	assert_true(endswith(p, "-m0q0h0n1.bpf"));
	free(p);
	unlink_cached("-m0q0h0n1.bpf");
	run_child(child_memo, NULL);
	assert_false(cached_exists("-m0q0h0n1.bpf"));
}

/* A jail-supplied /proc/sys/kernel/cap_last_cap (after pivot_root /proc may be any
 * directory of the jail) must not leave capabilities in the bounding set. */
static void child_fake_last_cap(const void *arg)
{
	(void)arg;
	struct jail_security s = base();
	child_namespaces();
	char *f = xasprintf("%s/fake-last-cap-%d", g_dir, (int)getpid());
	CHECK(write_file_atomic(f, "5\n", 2, 0644) == 0);
	CHECK(mount(f, "/proc/sys/kernel/cap_last_cap", NULL, MS_BIND, NULL) == 0);
	char *got = read_file("/proc/sys/kernel/cap_last_cap", NULL);
	CHECK(got && streq(got, "5\n"));
	free(got);
	child_confine(&s);
	child_check_state(sec_caps(&s) & g_have);
	CHECK(unlink(f) == 0);
	free(f);
}

static void test_fake_last_cap(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	run_child(child_fake_last_cap, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps_mask),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_confined_default),
		cmocka_unit_test(test_confined_hostname),
		cmocka_unit_test(test_confined_mount),
		cmocka_unit_test(test_confined_nested),
		cmocka_unit_test(test_memo),
		cmocka_unit_test(test_fake_last_cap),
		cmocka_unit_test(test_cache_is_faster),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
