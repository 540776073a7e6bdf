/* Releases: the lock that serializes work on one, and their listing.  Fetching one is
 * fetch.c (see fetch.h for its modules). */
#include "core/fetch.h"
#include "core/fsat.h"
#include "core/lock.h"
#include "core/progress.h"
#include "core/zquery.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int wipe_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ioc_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return empty_dir_at(fd, path);
}

/* Serialize fetches of a release with each other and with basejail creation from it:
 * wait for the other one, saying so on a terminal. */
int release_lock(const char *rel)
{
	_cleanup_free_ char *name = xasprintf("release-%s", rel);
	int fd = lock_jail(name, false);
	if (fd < 0 && strstr(ioc_errmsg(), "busy")) {
		ioc_err_clear();
		if (show_progress())
			fprintf(stderr, "waiting for another iocell working on release %s\n", rel);
		fd = lock_jail(name, true);
	}
	return fd;
}

int release_list(struct release_info **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!pool_get())
		return -1;
	_cleanup_free_ char *top = ds_releases();
	_cleanup_ztable_ struct ztable t = {0};
	const char *dss[] = {top, NULL};
	/* exact: used in bytes */
	const char *props = RELEASE_PROP_SOURCE "," RELEASE_PROP_FETCHED ",used";
	if (zfs_get_rows(&t, props, dss, 1) < 0) {
		if (zfs_lasterr != ZE_NOENT)
			return -1;
		ioc_err_clear();
		return 0;
	}
	struct release_info *r = xcalloc(t.nrows ? t.nrows : 1, sizeof(*r));
	size_t k = 0;
	size_t plen = strlen(top);
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *row = &t.rows[i];
		if (row->n < 4 || strncmp(row->v[0], top, plen) != 0 || row->v[0][plen] != '/' ||
		    strchr(row->v[0], '@'))
			continue;
		r[k].name = xstrdup(row->v[0] + plen + 1);
		r[k].source = xstrdup(row->v[1]);
		r[k].created = xstrdup(row->v[2]);
		r[k].used = xstrdup(row->v[3]);
		k++;
	}
	*out = r;
	*n = k;
	return 0;
}

void release_info_free(struct release_info *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].name);
		free(r[i].created);
		free(r[i].used);
		free(r[i].source);
	}
	free(r);
}
