/* Unit tests of packages (src/core/package.c) and the extraction loop they share with
 * release tarballs (src/core/extract.c): metadata, deletions, what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include "core/lazylib.h" /* after the library headers */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/artifact.h"
#include "core/extract.h"
#include "core/package.h"
#include "tmptree.h"

struct ent {
	const char *name;
	int type;         /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFBLK */
	const char *data; /* file content */
	const char *link; /* symlink target */
};

/* TMP/NAME: an xz tar of the entries. */
static char *make_pkg(const char *name, const struct ent *e, size_t n)
{
	char *path = at(name);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *x = archive_entry_new();
		archive_entry_set_pathname(x, e[i].name);
		archive_entry_set_filetype(x, (unsigned)e[i].type);
		archive_entry_set_perm(x, e[i].type == AE_IFDIR ? 0755 : 0644);
		size_t len = e[i].data ? strlen(e[i].data) : 0;
		archive_entry_set_size(x, (la_int64_t)len);
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(x, e[i].link);
		assert_true(archive_write_header(a, x) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(a, e[i].data, len), (la_ssize_t)len);
		archive_entry_free(x);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

#define META                                                                           \
	{                                                                              \
		PACKAGE_META, AE_IFREG, "format=1\nrelease=bb\nrelease_guid=-\n", NULL \
	}

static void test_keyval(void **state)
{
	(void)state;
	const char *t = "format=1\nrelease=bookworm\nrel=x\nempty=\nlast=no newline";
	char *v = keyval_get(t, "release");
	assert_string_equal(v, "bookworm");
	free(v);
	v = keyval_get(t, "rel");
	assert_string_equal(v, "x");
	free(v);
	v = keyval_get(t, "empty");
	assert_string_equal(v, "");
	free(v);
	v = keyval_get(t, "last");
	assert_string_equal(v, "no newline");
	free(v);
	assert_null(keyval_get(t, "format=1"));
	assert_null(keyval_get(t, "missing"));
	assert_null(keyval_get("", "x"));
}

static void test_paths(void **state)
{
	(void)state;
	assert_true(safe_relpath("etc/passwd"));
	assert_true(safe_relpath("./etc/x"));
	assert_true(safe_relpath("a..b/..c"));
	assert_false(safe_relpath("../x"));
	assert_false(safe_relpath("a/../../x"));
	assert_false(safe_relpath("a/.."));
	assert_false(safe_relpath("/etc/passwd"));
	assert_false(safe_relpath("./"));
	assert_false(safe_relpath(""));
	assert_string_equal(strip_dot("././etc"), "etc");
	assert_string_equal(strip_dot(".hidden"), ".hidden");
	char *s = artifact_sha_path("/iocell/packages/ab-cd.tar.xz");
	assert_string_equal(s, "/iocell/packages/ab-cd.sha256");
	free(s);
	s = artifact_sha_path("/x.y/images/u.zfs");
	assert_string_equal(s, "/x.y/images/u.sha256");
	free(s);
	s = artifact_sha_path("/x.y/noext");
	assert_string_equal(s, "/x.y/noext.sha256");
	free(s);
	assert_string_equal(path_base("/a/b/c.zfs"), "c.zfs");
	assert_string_equal(path_base("c.zfs"), "c.zfs");
}

static void split_ok(const char *line, const char *parent, const char *leaf)
{
	char *p, *l;
	assert_true(deletion_split(line, &p, &l));
	assert_string_equal(p, parent);
	assert_string_equal(l, leaf);
	free(p);
	free(l);
}

static void test_deletion_split(void **state)
{
	(void)state;
	split_ok("/etc/old", "etc", "old");
	split_ok("//var/", "", "var");
	split_ok("./a/./b//", "./a/.", "b");
	char *p = NULL, *l = NULL;
	assert_false(deletion_split("/../../etc/passwd", &p, &l));
	assert_false(deletion_split("/", &p, &l));
	/* a directory itself: "." would have emptied it, the jail root for "/." (found by
	 * fuzz_package) */
	assert_false(deletion_split("/.", &p, &l));
	assert_false(deletion_split("etc/.", &p, &l));
	assert_false(deletion_split("etc/./", &p, &l));
	assert_null(p);
	assert_null(l);
}

static void test_head(void **state)
{
	(void)state;
	const struct ent good[] = {
		META, {DELETED_LIST, AE_IFREG, "/etc/old\n", NULL}, {"etc", AE_IFDIR, NULL, NULL}};
	char *file = make_pkg("good.tar.xz", good, 3);
	struct package_head h;
	assert_int_equal(package_read_head(file, &h), 0);
	char *rel = keyval_get(h.meta, "release");
	assert_string_equal(rel, "bb");
	free(rel);
	assert_string_equal(h.deleted, "/etc/old\n");
	package_head_free(&h);
	free(file);

	const struct ent nodel[] = {META, {"etc", AE_IFDIR, NULL, NULL}};
	file = make_pkg("nodel.tar.xz", nodel, 2);
	assert_int_equal(package_read_head(file, &h), 0);
	assert_null(h.deleted);
	package_head_free(&h);
	free(file);

	const struct ent foreign[] = {{"etc/x", AE_IFREG, "x", NULL}, META};
	file = make_pkg("foreign.tar.xz", foreign, 2);
	assert_int_equal(package_read_head(file, &h), -1);
	assert_non_null(strstr(ioc_errmsg(), "is not an iocell package"));
	assert_null(h.meta);
	ioc_err_clear();
	free(file);
}

static void test_apply(void **state)
{
	(void)state;
	mkd("outside");
	touch("outside/keep", "keep\n");
	mkd("root");
	mkd("root/etc");
	touch("root/etc/old", "old\n");
	touch("root/etc/retyped", "a file, a directory in the package\n");
	mkd("root/var");
	touch("root/var/gone", "x\n");
	char *outside = at("outside"), *escape = at("root/escape");
	assert_int_equal(symlink(outside, escape), 0);
	free(escape);
	const struct ent e[] = {
		META,
		{DELETED_LIST, AE_IFREG,
		 "/etc/old\n\n/var/\n/etc/retyped\n/escape/keep\n/nothere\n", NULL},
		{"./etc", AE_IFDIR, NULL, NULL},
		{"./etc/new", AE_IFREG, "new\n", NULL},
		{"etc/retyped", AE_IFDIR, NULL, NULL},
		{"etc/retyped/inside", AE_IFREG, "in\n", NULL},
		{"etc/link", AE_IFLNK, NULL, "/etc/new"},
	};
	char *file = make_pkg("apply.tar.xz", e, sizeof(e) / sizeof(e[0]));
	struct package_head h;
	assert_int_equal(package_read_head(file, &h), 0);
	char *root = at("root");
	assert_int_equal(package_apply(file, &h, root, 0), 0);
	package_head_free(&h);
	assert_false(exists("root/etc/old"));
	assert_false(exists("root/var"));
	assert_true(exists("root/etc/new"));
	assert_true(exists("root/etc/retyped/inside"));
	assert_true(exists("root/etc/link"));
	/* a deletion through the jail's symlink is not followed */
	assert_true(exists("outside/keep"));
	/* the metadata entries are not extracted */
	assert_false(exists("root/" PACKAGE_META));
	assert_false(exists("root/" DELETED_LIST));
	free(root);
	free(file);
	free(outside);
}

/* Each of these packages is refused with the message given, and writes nothing outside. */
static void refused(const char *name, const struct ent *bad, const char *msg)
{
	const struct ent e[] = {META, {DELETED_LIST, AE_IFREG, NULL, NULL}, bad[0], bad[1]};
	char *file = make_pkg(name, e, bad[1].name ? 4 : 3);
	struct package_head h;
	assert_int_equal(package_read_head(file, &h), 0);
	char *root = at("root");
	assert_int_equal(package_apply(file, &h, root, 0), -1);
	assert_non_null(strstr(ioc_errmsg(), msg));
	ioc_err_clear();
	package_head_free(&h);
	assert_false(exists("outside/x"));
	free(root);
	free(file);
}

static void test_refused(void **state)
{
	(void)state;
	mkd("outside");
	mkd("root");
	char *outside = at("outside"), *evil = at("root/evil");
	assert_int_equal(symlink(outside, evil), 0);
	const struct ent dotdot[] = {{"../outside/x", AE_IFREG, "x", NULL}, {0}};
	refused("dotdot.tar.xz", dotdot,
		"refusing package entry '../outside/x': it points outside");
	char *abs = xasprintf("%s/outside/x", tmp);
	const struct ent absolute[] = {{abs, AE_IFREG, "x", NULL}, {0}};
	refused("abs.tar.xz", absolute, "it points outside the jail root");
	const struct ent dev[] = {{"sda", AE_IFBLK, NULL, NULL}, {0}};
	refused("dev.tar.xz", dev, "refusing package entry 'sda': device nodes are not allowed");
	/* through the jail's own symlink: libarchive's secure flags refuse it */
	const struct ent through[] = {{"evil/x", AE_IFREG, "x", NULL}, {0}};
	refused("through.tar.xz", through, "refusing package entry 'evil/x'");
	free(abs);
	free(outside);
	free(evil);
}

static void refused_deletion(const char *list, const char *msg)
{
	const struct ent e[] = {META, {DELETED_LIST, AE_IFREG, list, NULL}};
	char *file = make_pkg("del.tar.xz", e, 2);
	struct package_head h;
	assert_int_equal(package_read_head(file, &h), 0);
	char *root = at("root");
	assert_int_equal(package_apply(file, &h, root, 0), -1);
	assert_non_null(strstr(ioc_errmsg(), msg));
	ioc_err_clear();
	package_head_free(&h);
	free(root);
	free(file);
}

static void test_refused_deletion(void **state)
{
	(void)state;
	mkd("root");
	mkd("root/etc");
	touch("root/etc/keep", "keep\n");
	refused_deletion("/../../etc/passwd\n", "refusing the deletion of '../../etc/passwd'");
	/* the jail root or a directory named as "." is never emptied */
	refused_deletion("/.\n", "refusing the deletion of '.'");
	refused_deletion("/etc/.\n", "refusing the deletion of 'etc/.'");
	assert_true(exists("root/etc/keep"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyval),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_deletion_split),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_deletion, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
