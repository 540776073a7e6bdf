/* Unit tests of the record walk (src/core/record.c): which entries are recorded as added
 * or changed, which are listed as deleted, what is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/record.h"
#include "tmptree.h"

static void hardlink(const char *from, const char *to)
{
	char *a = at(from), *b = at(to);
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
}

static struct stat st_of(const char *rel)
{
	char *p = at(rel);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st;
}

static void test_change_decisions(void **state)
{
	(void)state;
	struct stat file = {.st_mode = S_IFREG | 0644, .st_ino = 7, .st_size = 3};
	file.st_mtim.tv_sec = file.st_ctim.tv_sec = 1000;
	struct stat same = file, other;
	assert_int_equal(record_change(&file, NULL), RC_ADDED);
	assert_int_equal(record_change(&file, &same), RC_SAME);
	other = file;
	other.st_size = 4;
	assert_int_equal(record_change(&file, &other), RC_CHANGED);
	other = file;
	other.st_ino = 8; /* rewritten through a new file */
	assert_int_equal(record_change(&file, &other), RC_CHANGED);
	other = file;
	other.st_ctim.tv_nsec = 1; /* chmod and back, a touch -m to the old time */
	assert_int_equal(record_change(&file, &other), RC_CHANGED);
	other = file;
	other.st_uid = 33;
	assert_int_equal(record_change(&file, &other), RC_CHANGED);
	/* a directory: only its mode and owner count, not its times or size */
	struct stat dir = {.st_mode = S_IFDIR | 0755, .st_ino = 9, .st_size = 4096};
	struct stat dir2 = dir;
	dir2.st_mtim.tv_sec = 5;
	dir2.st_size = 8192;
	assert_int_equal(record_change(&dir, &dir2), RC_SAME);
	dir2.st_mode = S_IFDIR | 0700;
	assert_int_equal(record_change(&dir, &dir2), RC_CHANGED);
	/* another type: added (and the baseline's path listed as deleted) */
	assert_int_equal(record_change(&dir, &file), RC_ADDED);
	assert_true(record_gone(&file, &dir));
	assert_true(record_gone(&file, NULL));
	assert_false(record_gone(&file, &other));
}

/* Lines of text, sorted, joined by "|". */
static char *sorted_lines(const char *text)
{
	struct strv v = {0};
	split(&v, text, "\n", true);
	sv_sort(&v);
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < v.n; i++)
		sb_printf(&b, "%s%s", i ? "|" : "", v.v[i]);
	sv_free(&v);
	return sb_steal(&b);
}

/* record_walk of TMP/cur against TMP/base into TMP/out: the deletion list. */
static char *walk(struct record_stats *st)
{
	int cur = dirfd_of("cur"), base = dirfd_of("base"), out = dirfd_of("out");
	char *dl = NULL;
	size_t dlen = 0;
	FILE *del = open_memstream(&dl, &dlen);
	assert_int_equal(record_walk(cur, base, out, del, 0, st), 0);
	fclose(del);
	close(cur);
	close(base);
	close(out);
	return dl;
}

/* The trees of the walk's test: a change of every kind. */
static void make_trees(void)
{
	/* the baseline */
	mkd("base");
	mkd("base/etc");
	touch("base/etc/keep", "same\n");
	touch("base/etc/chg", "old\n");
	touch("base/etc/old", "gone\n");
	mkd("base/etc/gone-dir");
	touch("base/etc/gone-dir/x", "x\n");
	mkd("base/lib");
	touch("base/typechg", "a file first\n");
	lnk("target", "base/link");
	/* the current tree: untouched files are hard links (same inode, same times) */
	mkd("cur");
	mkd("cur/etc");
	hardlink("base/etc/keep", "cur/etc/keep");
	touch("cur/etc/chg", "new\n");
	touch("cur/etc/new", "added\n");
	mkd("cur/lib");
	mkd("cur/lib/sub");
	mkd("cur/lib/sub/deep");
	touch("cur/lib/sub/deep/file", "deep\n");
	mkd("cur/typechg");
	lnk("target", "cur/link");
	char *fifo = at("cur/fifo");
	assert_int_equal(mkfifo(fifo, 0640), 0);
	free(fifo);
	/* a socket is not recorded */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/cur/sock", tmp);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	mkd("out");
}

/* What record_walk and record_paths both make of make_trees(). */
static void check_trees(const struct record_stats *sp, char *dl)
{
	struct record_stats st = *sp;
	/* etc/new, lib/sub, lib/sub/deep, lib/sub/deep/file, typechg/, fifo */
	assert_int_equal(st.added, 6);
	/* etc/chg, link (a symlink made anew) */
	assert_int_equal(st.changed, 2);
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.skipped, 1);
	char *lines = sorted_lines(dl);
	assert_string_equal(lines, "/etc/gone-dir|/etc/old|/typechg");
	free(lines);
	free(dl);

	assert_true(exists("out/etc/new"));
	assert_true(exists("out/etc/chg"));
	assert_false(exists("out/etc/keep"));
	assert_false(exists("out/etc/old"));
	assert_true(exists("out/lib/sub/deep/file"));
	assert_true(S_ISDIR(st_of("out/typechg").st_mode));
	assert_true(S_ISFIFO(st_of("out/fifo").st_mode));
	assert_int_equal(st_of("out/fifo").st_mode & 07777, 0640);
	assert_false(exists("out/sock"));
	char target[64];
	char *l = at("out/link");
	ssize_t n = readlink(l, target, sizeof(target) - 1);
	free(l);
	assert_int_equal(n, 6);
	target[n] = '\0';
	assert_string_equal(target, "target");
	/* the parents of a deep change are made, with the mode of the jail's directories */
	assert_int_equal(st_of("out/lib").st_mode & 07777, 0755);
	assert_int_equal(st_of("out/etc/new").st_size, 6);
}

static void test_walk(void **state)
{
	(void)state;
	make_trees();
	struct record_stats st = {0};
	check_trees(&st, walk(&st));
}

/* What `zfs diff -H -F` prints for make_trees() (the jail's root mounted at /mnt/j/root):
 * every object created, removed or modified, the directories whose entries changed and
 * the root itself included, in no particular order. */
static const char zdiff[] = "M\t/\t/mnt/j/root/\n"
			    "M\t/\t/mnt/j/root/etc\n"
			    "M\tF\t/mnt/j/root/etc/chg\n"
			    "+\tF\t/mnt/j/root/etc/new\n"
			    "-\tF\t/mnt/j/root/etc/old\n"
			    "-\tF\t/mnt/j/root/etc/gone-dir/x\n"
			    "-\t/\t/mnt/j/root/etc/gone-dir\n"
			    "M\t/\t/mnt/j/root/lib\n"
			    "+\tF\t/mnt/j/root/lib/sub/deep/file\n"
			    "+\t/\t/mnt/j/root/lib/sub\n"
			    "+\t/\t/mnt/j/root/lib/sub/deep\n"
			    "-\tF\t/mnt/j/root/typechg\n"
			    "+\t/\t/mnt/j/root/typechg\n"
			    "-\t@\t/mnt/j/root/link\n"
			    "+\t@\t/mnt/j/root/link\n"
			    "+\t|\t/mnt/j/root/fifo\n"
			    "+\t=\t/mnt/j/root/sock\n";

static void test_paths_as_walk(void **state)
{
	(void)state;
	make_trees();
	struct strv changed, gone;
	assert_int_equal(record_diff_paths(zdiff, "/mnt/j/root", &changed, &gone), 0);
	int cur = dirfd_of("cur"), base = dirfd_of("base"), out = dirfd_of("out");
	char *dl = NULL;
	size_t dlen = 0;
	FILE *del = open_memstream(&dl, &dlen);
	struct record_stats st = {0};
	assert_int_equal(record_paths(cur, base, out, del, 0, &st, &changed, &gone), 0);
	fclose(del);
	close(cur);
	close(base);
	close(out);
	sv_free(&changed);
	sv_free(&gone);
	check_trees(&st, dl);
}

static void test_diff_paths_parse(void **state)
{
	(void)state;
	struct strv c, g;
	/* escapes (a space, a tab, a backslash, a byte above 127), a rename, the mount point
	 * with a trailing slash */
	const char *out = "+\tF\t/m/r/a\\0040b\n"
			  "M\tF\t/m/r/t\\0011x\\0134y\\0303\\0251\n"
			  "R\t/\t/m/r/old\t/m/r/new\n"
			  "-\tF\t/m/r/old/f\n";
	assert_int_equal(record_diff_paths(out, "/m/r/", &c, &g), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "a b");
	assert_string_equal(c.v[1], "new");
	assert_string_equal(c.v[2], "t\tx\\y\xc3\xa9");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.v[0], "old");
	assert_string_equal(g.v[1], "old/f");
	sv_free(&c);
	sv_free(&g);
	/* a path outside the mount point, a line of another form: errors */
	assert_int_equal(record_diff_paths("+\tF\t/elsewhere/x\n", "/m/r", &c, &g), -1);
	sv_free(&c);
	sv_free(&g);
	assert_int_equal(record_diff_paths("R\tF\t/m/r/x\n", "/m/r", &c, &g), -1);
	sv_free(&c);
	sv_free(&g);
	assert_int_equal(record_diff_paths("/m/r/x\n", "/m/r", &c, &g), -1);
	sv_free(&c);
	sv_free(&g);
	ioc_err_clear();
	/* nothing changed */
	assert_int_equal(record_diff_paths("", "/m/r", &c, &g), 0);
	assert_int_equal(c.n + g.n, 0);
	sv_free(&c);
	sv_free(&g);
}

static void test_unchanged_tree_records_nothing(void **state)
{
	(void)state;
	mkd("base");
	mkd("base/d");
	touch("base/d/f", "f\n");
	mkd("cur");
	mkd("cur/d");
	hardlink("base/d/f", "cur/d/f");
	mkd("out");
	struct record_stats st = {0};
	char *dl = walk(&st);
	assert_int_equal(st.added + st.changed + st.deleted + st.skipped, 0);
	assert_string_equal(dl, "");
	free(dl);
	assert_false(exists("out/d"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change_decisions),
		cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_as_walk, setup, teardown),
		cmocka_unit_test(test_diff_paths_parse),
		cmocka_unit_test_setup_teardown(test_unchanged_tree_records_nothing, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
