/*
 * Tests of the device allow-list (src/linux/devices.c).  The BPF program's logic is
 * checked in the small interpreter of devices.c for every rule kind; as root with a
 * cgroup2 hierarchy somewhere (/sys/fs/cgroup itself on v2 hosts, /sys/fs/cgroup/unified
 * on hybrid ones) the program is also loaded by the kernel (its verifier), attached to a
 * cgroup of the test's and a process in that cgroup opens devices for real.  The cgroup
 * v1 devices controller is tested through real jails (tests/integration).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "linux/devices.h"
#include "linux/jailfs.h"

#define CHAR(access) (((unsigned)(access) << 16) | BPF_DEVCG_DEV_CHAR)
#define BLOCK(access) (((unsigned)(access) << 16) | BPF_DEVCG_DEV_BLOCK)
#define RW (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

static int eval_default(unsigned type, unsigned major, unsigned minor)
{
	struct bpf_insn prog[256];
	size_t n = dev_bpf_build(dev_default_rules, dev_default_nrules, prog, 256);
	assert_true(n > 0);
	return dev_bpf_eval(prog, n, type, major, minor);
}

static void test_default_list(void **state)
{
	(void)state;
	/* null zero full random urandom tty ptmx: every access, mknod too */
	static const unsigned ok[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(eval_default(CHAR(RW), ok[i][0], ok[i][1]), 1);
		assert_int_equal(eval_default(CHAR(BPF_DEVCG_ACC_MKNOD), ok[i][0], ok[i][1]), 1);
		/* the same numbers as a block device are another device */
		assert_int_equal(eval_default(BLOCK(RW), ok[i][0], ok[i][1]), 0);
	}
	/* the pseudo-terminals: majors 136-143, any minor */
	for (unsigned m = 136; m <= 143; m++) {
		assert_int_equal(eval_default(CHAR(RW), m, 0), 1);
		assert_int_equal(eval_default(CHAR(RW), m, 4095), 1);
	}
	assert_int_equal(eval_default(CHAR(RW), 135, 0), 0);
	assert_int_equal(eval_default(CHAR(RW), 144, 0), 0);
	/* what must never open: mem, kmem, port, kmsg, the console, tty0, a disk, fuse */
	static const unsigned no[][2] = {{1, 1}, {1, 2}, {1, 4},    {1, 11}, {5, 1},
					 {4, 0}, {1, 0}, {10, 229}, {0, 0},  {1, 6}};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_int_equal(eval_default(CHAR(RW), no[i][0], no[i][1]), 0);
	assert_int_equal(eval_default(BLOCK(RW), 8, 0), 0);
	assert_int_equal(eval_default(BLOCK(BPF_DEVCG_ACC_READ), 259, 1), 0);
	assert_int_equal(eval_default(BLOCK(RW), 7, 0), 0);
}

static void test_extra_rules(void **state)
{
	(void)state;
	/* a block device and a whole character major, as fstab "dev" entries add */
	struct devrule r[] = {{'b', 8, 8, 16}, {'c', 226, 226, -1}};
	struct bpf_insn prog[64];
	size_t n = dev_bpf_build(r, 2, prog, 64);
	assert_true(n > 0);
	assert_int_equal(dev_bpf_eval(prog, n, BLOCK(RW), 8, 16), 1);
	assert_int_equal(dev_bpf_eval(prog, n, BLOCK(RW), 8, 0), 0);
	assert_int_equal(dev_bpf_eval(prog, n, CHAR(RW), 8, 16), 0);
	assert_int_equal(dev_bpf_eval(prog, n, CHAR(RW), 226, 0), 1);
	assert_int_equal(dev_bpf_eval(prog, n, CHAR(RW), 226, 128), 1);
	assert_int_equal(dev_bpf_eval(prog, n, CHAR(RW), 227, 0), 0);
	/* no rule: nothing at all */
	n = dev_bpf_build(r, 0, prog, 64);
	assert_true(n > 0);
	assert_int_equal(dev_bpf_eval(prog, n, CHAR(RW), 1, 3), 0);
	/* too small an output: 0, never a truncated program */
	assert_int_equal(dev_bpf_build(dev_default_rules, dev_default_nrules, prog, 8), 0);
}

/* A writable cgroup2 hierarchy, or NULL. */
static const char *cgroup2_root(void)
{
	static const char *const cands[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified", NULL};
	for (int i = 0; cands[i]; i++) {
		struct statfs sf;
		if (statfs(cands[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC &&
		    access(cands[i], W_OK) == 0)
			return cands[i];
	}
	return NULL;
}

static char *g_cg;

static int cleanup(void **state)
{
	(void)state;
	if (g_cg) {
		rmdir(g_cg);
		free(g_cg);
		g_cg = NULL;
	}
	return 0;
}

/* In a process moved into dir: can it open these devices?  One bit per device. */
static int opens_in(const char *dir, const char *const *paths)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		char *procs = xasprintf("%s/cgroup.procs", dir);
		int r = cg_put(procs, "0");
		int bits = r < 0 ? -1 : 0;
		for (int i = 0; r == 0 && paths[i]; i++) {
			int fd = open(paths[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0) {
				bits |= 1 << i;
				close(fd);
			}
		}
		(void)!write(p[1], &bits, sizeof(bits));
		_exit(0);
	}
	close(p[1]);
	int bits = -2;
	assert_int_equal(read(p[0], &bits, sizeof(bits)), (ssize_t)sizeof(bits));
	close(p[0]);
	waitpid(pid, NULL, 0);
	return bits;
}

static void test_kernel_attach(void **state)
{
	(void)state;
	const char *root = cgroup2_root();
	if (geteuid() != 0 || !root) {
		print_message("not root or no writable cgroup2 hierarchy: skipped\n");
		skip();
	}
	g_cg = xasprintf("%s/iocell-test-devices-%d", root, (int)getpid());
	assert_int_equal(mkdir(g_cg, 0755), 0);
	/* /dev/kmsg (1:11) is opened read-only and non-blocking: never read */
	static const char *const paths[] = {"/dev/null", "/dev/urandom", "/dev/kmsg", NULL};
	assert_int_equal(opens_in(g_cg, paths), 7);
	if (dev_bpf_attach(g_cg, dev_default_rules, dev_default_nrules) < 0)
		fail_msg("%s", ioc_errmsg());
	assert_int_equal(opens_in(g_cg, paths), 3);
	/* attached again (a reused cgroup): replaced, with an extra device */
	struct devrule r[16];
	memcpy(r, dev_default_rules, dev_default_nrules * sizeof(r[0]));
	r[dev_default_nrules] = (struct devrule){'c', 1, 1, 11};
	if (dev_bpf_attach(g_cg, r, dev_default_nrules + 1) < 0)
		fail_msg("%s", ioc_errmsg());
	assert_int_equal(opens_in(g_cg, paths), 7);
}

/* fstab options: ro|rw and dev|nodev (nodev unless said), anything else refused. */
static void test_fstab_options(void **state)
{
	(void)state;
	char src[64], dst[64], err[256];
	struct fstab_opts o;
	assert_int_equal(fstab_parse_line("/a /b bind rw", src, 64, dst, 64, &o, err, 256), 1);
	assert_false(o.ro);
	assert_false(o.dev);
	assert_string_equal(src, "/a");
	assert_string_equal(dst, "/b");
	assert_int_equal(fstab_parse_line("/a /b nullfs ro 0 0", src, 64, dst, 64, &o, err, 256),
			 1);
	assert_true(o.ro);
	assert_false(o.dev);
	assert_int_equal(
		fstab_parse_line("/dev/dri /dev/dri bind rw,dev", src, 64, dst, 64, &o, err, 256),
		1);
	assert_true(o.dev);
	assert_false(o.ro);
	assert_int_equal(
		fstab_parse_line("/a /b bind ro,dev,nodev", src, 64, dst, 64, &o, err, 256), 1);
	assert_true(o.ro);
	assert_false(o.dev); /* the last one counts */
	assert_int_equal(fstab_parse_line("  # comment", src, 64, dst, 64, &o, err, 256), 0);
	assert_int_equal(fstab_parse_line("/a /b bind rw,suid", src, 64, dst, 64, &o, err, 256),
			 -1);
	assert_non_null(strstr(err, "suid"));
	assert_int_equal(fstab_parse_line("/a b bind rw", src, 64, dst, 64, &o, err, 256), -1);
	assert_int_equal(fstab_parse_line("/a /b tmpfs rw", src, 64, dst, 64, &o, err, 256), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_list),
		cmocka_unit_test(test_extra_rules),
		cmocka_unit_test(test_fstab_options),
		cmocka_unit_test_teardown(test_kernel_attach, cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
