/* A scratch directory tree for the unit tests that work on files: setup/teardown make
 * and remove /tmp/iocell-test-XXXXXX, the helpers build entries in it. */
#ifndef IOC_TEST_TMPTREE_H
#define IOC_TEST_TMPTREE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsat.h"
#include "core/util.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/iocell-test-XXXXXX");
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

/* TMP/REL, malloc'd. */
static inline char *at(const char *rel) { return xasprintf("%s/%s", tmp, rel); }

static inline void touch(const char *rel, const char *data)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, strlen(data)), 0);
	close(fd);
	free(p);
}

static inline void mkd(const char *rel)
{
	char *p = at(rel);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static inline void lnk(const char *target, const char *rel)
{
	char *p = at(rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static inline bool exists(const char *rel)
{
	char *p = at(rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static inline int dirfd_of(const char *rel)
{
	char *p = at(rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	assert_true(fd >= 0);
	return fd;
}

#endif
