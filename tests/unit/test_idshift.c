/* Unit tests of the ownership shift (src/core/idshift.c) and of the id range allocation
 * (src/core/idmap.c). */
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/idmap.h"
#include "core/idshift.h"
#include "core/util.h"
#include "tmptree.h"

#define B1 1000000u
#define B2 1065536u

/* ---- values ---------------------------------------------------------------------------- */

static void test_ids(void **state)
{
	(void)state;
	/* the jail's own ids in an unshifted tree (a release's), into a range */
	assert_int_equal(idshift_id(0, B1, true), B1);
	assert_int_equal(idshift_id(65535, B1, true), B1 + 65535);
	/* ... in a shifted tree they are the host's (host root's file put there) */
	assert_int_equal(idshift_id(0, B1, false), 0);
	assert_int_equal(idshift_id(33, B2, false), 33);
	/* already there: unchanged (a hard link reached twice, an interrupted shift) */
	assert_int_equal(idshift_id(B1 + 33, B1, false), B1 + 33);
	assert_int_equal(idshift_id(B1 + 33, B1, true), B1 + 33);
	/* from any range of the grid (an older shift) */
	assert_int_equal(idshift_id(B2 + 33, B1, false), B1 + 33);
	assert_int_equal(idshift_id(B1 + 7 * 65536 + 5, B2, false), B2 + 5);
	/* back to the jail's own ids */
	assert_int_equal(idshift_id(B1 + 33, 0, false), 33);
	assert_int_equal(idshift_id(33, 0, false), 33);
	/* the host's own ids stay */
	assert_int_equal(idshift_id(100000, B1, true), 100000);
	assert_int_equal(idshift_id(999999, B1, true), 999999);
	assert_int_equal(idshift_id(4294967295u, B1, true), 4294967295u);
	assert_int_equal(idshift_id(4294967294u, B1, true), 4294967294u);
	assert_int_equal(idshift_jail_id(100000, B1, true), -1);
	assert_int_equal(idshift_jail_id(B2 + 9, B1, false), 9);
	assert_int_equal(idshift_jail_id(9, B1, false), -1);
}

static size_t acl_blob(unsigned char *b, const unsigned (*e)[3], size_t n)
{
	b[0] = 2, b[1] = b[2] = b[3] = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char *p = b + 4 + 8 * i;
		p[0] = (unsigned char)e[i][0], p[1] = 0;
		p[2] = (unsigned char)e[i][1], p[3] = 0;
		for (int k = 0; k < 4; k++)
			p[4 + k] = (unsigned char)(e[i][2] >> (8 * k));
	}
	return 4 + 8 * n;
}

static uint32_t acl_id(const unsigned char *b, size_t i)
{
	const unsigned char *p = b + 4 + 8 * i + 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_acl(void **state)
{
	(void)state;
	static const unsigned e[][3] = {{0x01, 6, 0xffffffff}, {0x02, 7, B1 + 33},
					{0x04, 4, 0xffffffff}, {0x08, 5, B1 + 4},
					{0x02, 4, 500000},     {0x10, 7, 0xffffffff},
					{0x20, 4, 0xffffffff}};
	unsigned char b[128];
	size_t n = acl_blob(b, e, 7);
	assert_true(idshift_acl(b, n, B2, false));
	assert_int_equal(acl_id(b, 0), 0xffffffff); /* USER_OBJ: no id */
	assert_int_equal(acl_id(b, 1), B2 + 33);
	assert_int_equal(acl_id(b, 3), B2 + 4);
	assert_int_equal(acl_id(b, 4), 500000);     /* a host id */
	assert_false(idshift_acl(b, n, B2, false)); /* nothing left to move */
	assert_true(idshift_acl(b, n, 0, false));
	assert_int_equal(acl_id(b, 1), 33);
	assert_true(idshift_acl(b, n, B1, true));
	assert_int_equal(acl_id(b, 1), B1 + 33);
	b[0] = 3;
	assert_false(idshift_acl(b, n, B1, true)); /* not a version it knows */
	assert_false(idshift_acl(b, 6, B1, true));
}

static void test_fcap(void **state)
{
	(void)state;
	unsigned char v2[20] = {0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0}; /* effective, cap_net_raw */
	unsigned char out[24], back[24];
	/* v2 (the host's root) -> v3 with the range's root */
	ssize_t n = idshift_fcap(v2, 20, out, B1);
	assert_int_equal(n, 24);
	assert_int_equal(out[3], 0x03);
	assert_int_equal(out[0], 0x01); /* the effective flag kept */
	assert_memory_equal(out + 4, v2 + 4, 16);
	assert_int_equal(out[20] | out[21] << 8 | out[22] << 16 | (uint32_t)out[23] << 24, B1);
	/* to another range */
	n = idshift_fcap(out, 24, back, B2);
	assert_int_equal(n, 24);
	assert_int_equal(back[20] | back[21] << 8 | back[22] << 16 | (uint32_t)back[23] << 24, B2);
	/* back to the jail's own ids: v2 again */
	n = idshift_fcap(back, 24, out, 0);
	assert_int_equal(n, 20);
	assert_memory_equal(out, v2, 20);
	/* a v3 of a host uid: kept */
	unsigned char host[24];
	memcpy(host, back, 24);
	host[20] = 0x20, host[21] = 0xa1, host[22] = 0x07, host[23] = 0; /* 500000 */
	assert_int_equal(idshift_fcap(host, 24, out, B1), 24);
	assert_memory_equal(out, host, 24);
	/* not a capability */
	assert_int_equal(idshift_fcap(v2, 19, out, B1), -1);
	unsigned char v1[12] = {0, 0, 0, 0x01};
	assert_int_equal(idshift_fcap(v1, 12, out, B1), -1);
}

static void test_alloc(void **state)
{
	(void)state;
	struct idmap_alloc a = {0};
	idmap_alloc_use(&a, B1);
	idmap_alloc_avoid(&a, "alice:1065536:65536\nbob:1200000:10\nbad line\n:x:y\n");
	assert_int_equal(idmap_alloc_take(&a), B1 + 2 * 65536);
	assert_int_equal(idmap_alloc_take(&a), B1 + 4 * 65536); /* bob's ids are in slot 3 */
	assert_int_equal(idmap_alloc_take(&a), B1 + 5 * 65536);
	idmap_alloc_free(&a);
	/* a range below the first slot does not matter */
	idmap_alloc_avoid(&a, "carol:100000:65536\n");
	assert_int_equal(idmap_alloc_take(&a), B1);
	idmap_alloc_free(&a);
}

/* ---- the walk -------------------------------------------------------------------------- */

static struct stat lst(const char *rel)
{
	struct stat st;
	char *p = at(rel);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st;
}

static void mk(const char *rel, mode_t mode, uid_t u, gid_t g)
{
	char *p = at(rel);
	if (S_ISDIR(mode))
		assert_int_equal(mkdir(p, mode & 07777), 0);
	else if (S_ISFIFO(mode))
		assert_int_equal(mkfifo(p, mode & 07777), 0);
	else {
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(lchown(p, u, g), 0);
	if (!S_ISLNK(mode))
		assert_int_equal(chmod(p, mode & 07777), 0);
	free(p);
}

static int shift(uint32_t to, struct idshift_stats *st)
{
	int fd = open(tmp, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	int p = idshift_probe(fd, to);
	assert_true(p >= 0);
	int rc = idshift_tree(fd, tmp, to, p == IDSHIFT_UNSHIFTED, st);
	close(fd);
	return rc;
}

static void test_tree(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_int_equal(chown(tmp, 0, 0), 0);
	mk("etc", S_IFDIR | 0755, 0, 0);
	mk("etc/shadow", S_IFREG | 0640, 0, 42);
	mk("home", S_IFDIR | 0755, 0, 0);
	mk("home/www", S_IFDIR | 02770, 33, 33);
	mk("home/www/index", S_IFREG | 0644, 33, 33);
	mk("su", S_IFREG | 04755, 0, 0);
	mk("sg", S_IFREG | 02755, 0, 5);
	mk("fifo", S_IFIFO | 0600, 7, 7);
	mk("hostfile", S_IFREG | 0600, 500000, 500000); /* a host id: left alone */
	char *p = at("home/www/index"), *q = at("hardlink");
	assert_int_equal(link(p, q), 0);
	free(p);
	free(q);
	/* a symlink out of the tree: the link itself moves, its target never */
	struct stat target;
	assert_int_equal(stat("/etc/passwd", &target), 0);
	p = at("evil");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);
	/* a deep tree: one directory open at a time */
	char rel[8192] = "deep";
	mk(rel, S_IFDIR | 0755, 0, 0);
	for (int i = 0; i < 300; i++) {
		strcat(rel, "/d");
		mk(rel, S_IFDIR | 0700, 1, 1);
	}
	strcat(rel, "/leaf");
	mk(rel, S_IFREG | 0644, 2, 2);
	/* xattrs, where the file system has them */
	bool xa = false;
	unsigned char cap[20] = {0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0};
	static const unsigned e[][3] = {{0x01, 6, 0xffffffff},
					{0x02, 7, 33},
					{0x04, 4, 0xffffffff},
					{0x10, 7, 0xffffffff},
					{0x20, 4, 0xffffffff}};
	unsigned char acl[64];
	size_t acln = acl_blob(acl, e, 5);
	p = at("pingcap");
	mk("pingcap", S_IFREG | 0755, 0, 0);
	if (setxattr(p, "security.capability", cap, 20, 0) == 0) {
		xa = true;
		assert_int_equal(setxattr(p, "system.posix_acl_access", acl, acln, 0), 0);
	}
	free(p);

	struct idshift_stats st;
	assert_int_equal(shift(B1, &st), 0);
	assert_int_equal(lst(".").st_uid, B1);
	assert_int_equal(lst("etc/shadow").st_uid, B1);
	assert_int_equal(lst("etc/shadow").st_gid, B1 + 42);
	assert_int_equal(lst("home/www/index").st_uid, B1 + 33);
	assert_int_equal(lst("hardlink").st_uid, B1 + 33); /* moved once */
	assert_int_equal(lst("home/www").st_mode & 07777, 02770);
	assert_int_equal(lst("su").st_mode & 07777, 04755); /* set-id bits put back */
	assert_int_equal(lst("sg").st_mode & 07777, 02755);
	assert_int_equal(lst("sg").st_gid, B1 + 5);
	assert_int_equal(lst("fifo").st_uid, B1 + 7);
	assert_int_equal(lst("hostfile").st_uid, 500000);
	assert_int_equal(lst("evil").st_uid, B1);
	struct stat after;
	assert_int_equal(stat("/etc/passwd", &after), 0);
	assert_int_equal(after.st_uid, target.st_uid);
	assert_int_equal(after.st_ctim.tv_nsec, target.st_ctim.tv_nsec);
	assert_int_equal(lst(rel).st_uid, B1 + 2);
	assert_true(st.outside >= 1); /* hostfile */
	if (xa) {
		unsigned char got[64];
		p = at("pingcap");
		ssize_t n = getxattr(p, "security.capability", got, sizeof(got));
		assert_int_equal(n, 24);
		assert_int_equal(got[20] | got[21] << 8 | got[22] << 16 | (uint32_t)got[23] << 24,
				 B1);
		n = getxattr(p, "system.posix_acl_access", got, sizeof(got));
		assert_int_equal(n, (ssize_t)acln);
		assert_int_equal(acl_id(got, 1), B1 + 33);
		free(p);
	}
	/* again: nothing to do */
	assert_int_equal(shift(B1, &st), 0);
	assert_int_equal(st.changed, 0);
	/* host root's file put into the shifted tree stays the host's */
	mk("from-host", S_IFREG | 0644, 0, 0);
	assert_int_equal(shift(B2, &st), 0);
	assert_int_equal(lst("from-host").st_uid, 0);
	assert_int_equal(lst("etc/shadow").st_gid, B2 + 42);
	p = at("from-host");
	assert_int_equal(unlink(p), 0);
	free(p);
	/* to another range, and back to the jail's own ids */
	assert_int_equal(shift(B2, &st), 0);
	assert_int_equal(lst("home/www/index").st_uid, B2 + 33);
	assert_int_equal(lst("su").st_mode & 07777, 04755);
	assert_int_equal(shift(0, &st), 0);
	assert_int_equal(lst("home/www/index").st_uid, 33);
	assert_int_equal(lst("etc/shadow").st_gid, 42);
	assert_int_equal(lst("su").st_mode & 07777, 04755);
	assert_int_equal(lst(rel).st_uid, 2);
	if (xa) {
		unsigned char got[64];
		p = at("pingcap");
		assert_int_equal(getxattr(p, "security.capability", got, sizeof(got)), 20);
		assert_memory_equal(got, cap, 20);
		free(p);
	}
	/* a range that is not one */
	assert_int_equal(shift(5, &st), -1);
}

static void test_probe_and_mounts(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		skip();
		return;
	}
	int fd = open(tmp, O_RDONLY | O_DIRECTORY);
	assert_int_equal(idshift_probe(fd, B1), IDSHIFT_UNSHIFTED); /* all 0 */
	assert_int_equal(idshift_probe(fd, 0), 0);
	assert_int_equal(chown(tmp, B1, B1), 0);
	assert_int_equal(idshift_probe(fd, B1), 0);
	mk("etc", S_IFDIR | 0755, B1, B1);
	mk("probe", S_IFREG | 0755, 0, 0); /* put there by host root */
	mk("usr", S_IFDIR | 0755, 0, 0);
	char *mp = at("usr");
	/* another file system mounted in the tree (a basejail's base): never entered */
	assert_int_equal(mount("idshift-test", mp, "tmpfs", 0, "size=1m,uid=0,gid=0"), 0);
	mk("usr/bin", S_IFDIR | 0755, 0, 0);
	assert_int_equal(idshift_probe(fd, B1), 0); /* usr is another file system */
	mk("var", S_IFDIR | 0755, B2, B2);          /* left at another range */
	assert_int_equal(idshift_probe(fd, B1), IDSHIFT_OTHER_RANGE);
	struct idshift_stats st;
	assert_int_equal(idshift_tree(fd, tmp, B1, false, &st), 0);
	assert_int_equal(idshift_probe(fd, B1), 0);
	assert_int_equal(lst("var").st_uid, B1);
	assert_int_equal(lst("probe").st_uid, 0);
	assert_int_equal(lst("usr/bin").st_uid, 0);
	close(fd);
	assert_int_equal(umount(mp), 0);
	free(mp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_acl),
		cmocka_unit_test(test_fcap),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_and_mounts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
