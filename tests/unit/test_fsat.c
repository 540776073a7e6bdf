/* Unit tests of the at-fd file helpers (src/core/fsat.c): nothing follows a symlink out
 * of the tree, nothing deletes through a mount point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsat.h"
#include "core/util.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/iocell-fsat-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf -- '%s'", tmp);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void touch(const char *rel, const char *data)
{
	char *p = xasprintf("%s/%s", tmp, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, strlen(data)), 0);
	close(fd);
	free(p);
}

static void mkd(const char *rel)
{
	char *p = xasprintf("%s/%s", tmp, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void lnk(const char *target, const char *rel)
{
	char *p = xasprintf("%s/%s", tmp, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static bool exists(const char *rel)
{
	char *p = xasprintf("%s/%s", tmp, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static int dirfd_of(const char *rel)
{
	char *p = xasprintf("%s/%s", tmp, rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	assert_true(fd >= 0);
	return fd;
}

static void test_open_beneath_stays_in_root(void **state)
{
	(void)state;
	mkd("outside");
	touch("outside/secret", "s");
	mkd("root");
	mkd("root/etc");
	touch("root/etc/inside", "i");
	/* absolute and climbing links resolve inside the root */
	lnk("/outside/secret", "root/etc/abs");
	lnk("../../../outside/secret", "root/etc/up");
	int rootfd = dirfd_of("root");
	int fd = open_beneath(rootfd, "/etc/inside", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_beneath(rootfd, "etc/abs", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(open_beneath(rootfd, "etc/up", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	/* open_nofollow refuses any symlink, even one that stays inside */
	lnk("inside", "root/etc/rel");
	fd = open_beneath(rootfd, "etc/rel", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_nofollow(rootfd, "etc/rel", O_RDONLY, 0), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(open_nofollow(rootfd, "../outside/secret", O_RDONLY, 0), -1);
	assert_int_equal(errno, EXDEV);
	close(rootfd);
}

static void test_remove_tree_keeps_link_targets(void **state)
{
	(void)state;
	mkd("keep");
	touch("keep/file", "k");
	mkd("victim");
	mkd("victim/a");
	mkd("victim/a/b");
	touch("victim/a/b/f", "x");
	touch("victim/top", "y");
	char *target = xasprintf("%s/keep", tmp);
	lnk(target, "victim/a/link"); /* a link to a directory outside */
	free(target);
	int fd = dirfd_of(".");
	assert_int_equal(remove_tree_at(fd, "victim", tmp), 0);
	assert_false(exists("victim"));
	assert_true(exists("keep/file"));
	/* a missing entry is already removed */
	assert_int_equal(remove_tree_at(fd, "victim", tmp), 0);
	/* a plain file */
	touch("plain", "p");
	assert_int_equal(remove_tree_at(fd, "plain", NULL), 0);
	assert_false(exists("plain"));
	close(fd);
}

static void test_empty_dir_keeps_the_dir(void **state)
{
	(void)state;
	mkd("d");
	mkd("d/sub");
	touch("d/sub/f", "1");
	touch("d/g", "2");
	lnk("/etc/passwd", "d/l");
	int fd = dirfd_of("d");
	assert_int_equal(empty_dir_at(fd, "d"), 0);
	close(fd);
	assert_true(exists("d"));
	assert_false(exists("d/sub"));
	assert_false(exists("d/g"));
	assert_false(exists("d/l"));
	struct stat st;
	assert_int_equal(stat("/etc/passwd", &st), 0);
}

static void test_never_through_a_mount_point(void **state)
{
	(void)state;
	/* A private mount namespace: nothing is left mounted on the host if this fails. */
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		skip();
	mkd("m");
	mkd("m/mnt");
	touch("m/f", "1");
	char *mp = xasprintf("%s/m/mnt", tmp);
	if (mount("fsat-test", mp, "tmpfs", 0, "size=1m") < 0) {
		free(mp);
		skip();
	}
	touch("m/mnt/precious", "p");
	int fd = dirfd_of(".");
	ioc_err_clear();
	assert_int_equal(remove_tree_at(fd, "m", "T"), -1);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(ioc_errmsg(), "T/m/mnt"));
	ioc_err_clear();
	assert_true(exists("m/mnt/precious"));
	assert_false(exists("m/f")); /* the rest went */
	assert_int_equal(umount(mp), 0);
	free(mp);
	assert_int_equal(remove_tree_at(fd, "m", NULL), 0);
	close(fd);
}

static void test_write_all(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	char buf[4096];
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(write_all(p[1], buf, sizeof(buf)), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write_all(p[1], buf, 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
}

/* Files a jail controls are read as regular files only, through no symlink (or, for
 * read_regular_beneath, symlinks kept inside the root), without blocking, size-limited. */
static void test_read_regular(void **state)
{
	(void)state;
	mkd("root");
	mkd("root/etc");
	touch("root/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	touch("secret", "host\n");
	lnk("passwd", "root/etc/link");
	lnk("../../secret", "root/etc/out");
	lnk("/etc/passwd", "root/etc/abs");
	char *fifo = xasprintf("%s/root/etc/fifo", tmp);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	free(fifo);
	int rfd = dirfd_of("root");
	size_t n = 0;
	char *t = read_regular_at(rfd, "etc/passwd", 1024, &n);
	assert_non_null(t);
	assert_string_equal(t, "root:x:0:0::/root:/bin/sh\n");
	assert_int_equal(n, strlen(t));
	free(t);
	/* a symlink, even one inside the root: refused */
	assert_null(read_regular_at(rfd, "etc/link", 1024, NULL));
	assert_int_equal(errno, ELOOP);
	/* a FIFO: refused at once, not waited on (this would hang otherwise) */
	assert_null(read_regular_at(rfd, "etc/fifo", 1024, NULL));
	assert_int_equal(errno, EFTYPE_NOTREG);
	assert_string_equal(read_regular_why(EFTYPE_NOTREG), "it is not a regular file");
	/* a device (/dev/zero would never end) and a directory: refused */
	int dfd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_null(read_regular_at(dfd, "zero", 1024, NULL));
	assert_int_equal(errno, EFTYPE_NOTREG);
	close(dfd);
	assert_null(read_regular_at(rfd, "etc", 1024, NULL));
	/* larger than the limit */
	assert_null(read_regular_at(rfd, "etc/passwd", 10, NULL));
	assert_int_equal(errno, EFBIG);
	/* out of the root: never */
	assert_null(read_regular_at(rfd, "../secret", 1024, NULL));
	/* beneath: symlinks resolve inside the root only */
	t = read_regular_beneath(rfd, "etc/link", 1024, NULL);
	assert_non_null(t);
	free(t);
	assert_null(read_regular_beneath(rfd, "etc/out", 1024, NULL)); /* ../../secret: clamped */
	t = read_regular_beneath(rfd, "etc/abs", 1024, NULL);          /* /etc/passwd of the root */
	assert_non_null(t);
	assert_string_equal(t, "root:x:0:0::/root:/bin/sh\n");
	free(t);
	assert_null(read_regular_beneath(rfd, "etc/fifo", 1024, NULL));
	close(rfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_beneath_stays_in_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_tree_keeps_link_targets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_dir_keeps_the_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_through_a_mount_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_regular, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
