/* snapshot, snaplist, snapremove, rollback, promote: a jail's recursive snapshots.
 *
 * A jail is POOL/iocell/jails/UUID plus its children (root, data, basejail system dirs).
 * Snapshots are taken recursively, so one name covers every dataset of the jail; a child
 * may also carry snapshots of its own (e.g. the recording baseline of its root). */
#include "cmd/cmd.h"
#include "core/lock.h"
#include "core/parse.h"
#include "core/pool.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Deep enough for every dataset of a jail (or of a pool) in one `zfs list -r`. */
#define ALL_DEPTH 1000

/* Resolve NAME and take the jail's lock.  NULL with the error pending on failure. */
static struct jail *open_locked(const char *name, int *lockfd)
{
	*lockfd = -1;
	struct jail *j = jail_resolve(name);
	if (!j)
		return NULL;
	*lockfd = lock_jail(j->uuid, true);
	if (*lockfd < 0) {
		jail_free(j);
		return NULL;
	}
	return j;
}

static const char *tag_of(const struct jail *j) { return jail_prop(j, P_TAG); }

/* The snapshot part of a user argument: NULL-safe check with a helpful error. */
static bool snapname_ok(const char *snap)
{
	if (snap && valid_component(snap) && !streq(snap, "ALL"))
		return true;
	ioc_err("invalid snapshot name '%s'", snap ? snap : "");
	ioc_hint("a snapshot name is letters, digits and . _ : - starting with a letter or digit "
		 "(and not ALL)");
	return false;
}

static const char *snap_part(const char *full)
{
	const char *at = strchr(full, '@');
	return at ? at + 1 : full;
}

/* Is `full` (DS@SNAP) a snapshot of dataset ds itself? */
static bool snap_of(const char *full, const char *ds)
{
	size_t n = strlen(ds);
	return strncmp(full, ds, n) == 0 && full[n] == '@';
}

/*
 * Clones that depend on any of the snapshots in `snaps` (full names), from one
 * `zfs list -r -t filesystem,volume -o name,origin,iocell:tag POOL` (clones live in
 * their origin's pool, so this sees every one).  Each dependant is described once in
 * `out` ("jail UUID (TAG)" for jails, the dataset name otherwise).  Returns the number
 * found, -1 on error.
 */
static int find_dependants(const struct strv *snaps, struct strv *out)
{
	sv_init(out);
	if (snaps->n == 0)
		return 0;
	const struct ioc_pool *pool = pool_get();
	if (!pool)
		return -1;
	char *jails = ds_jails();
	size_t jl = strlen(jails);
	const char *dss[] = {pool->name, NULL};
	struct ztable t;
	int rc = zfs_list(&t, "name,origin,iocell:tag", dss, ALL_DEPTH, "filesystem,volume", NULL);
	if (rc < 0) {
		free(jails);
		return -1;
	}
	int found = 0;
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n < 3 || streq(r->v[1], "-") || !sv_contains(snaps, r->v[1]))
			continue;
		char *d;
		const char *name = r->v[0];
		if (strncmp(name, jails, jl) == 0 && name[jl] == '/') {
			const char *u = name + jl + 1;
			size_t ul = strcspn(u, "/");
			d = xasprintf("jail %.*s (%s)", (int)ul, u, r->v[2]);
		} else {
			d = xstrdup(name);
		}
		if (!sv_contains(out, d))
			sv_add(out, d);
		free(d);
		found++;
	}
	ztable_free(&t);
	free(jails);
	return found;
}

static char *joined(const struct strv *sv, const char *sep)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < sv->n; i++)
		sb_printf(&b, "%s%s", i ? sep : "", sv->v[i]);
	return sb_steal(&b);
}

/* Error when clones depend on snaps: "cannot WHAT: dependent clones: ...". */
static int refuse_dependants(const struct strv *snaps, const char *what)
{
	struct strv deps;
	int n = find_dependants(snaps, &deps);
	if (n > 0) {
		char *list = joined(&deps, ", ");
		ioc_err("cannot %s: dependent clones: %s", what, list);
		ioc_hint("destroy those jails ('iocell destroy NAME') or make them independent "
			 "('iocell promote NAME') first");
		free(list);
	}
	sv_free(&deps);
	return n != 0 ? -1 : 0;
}

/* ---- snapshot ------------------------------------------------------------------- */

static void sleep_to_next_second(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec ts = {0, 1000000000L - now.tv_nsec + 1000000L};
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec = 1;
		ts.tv_nsec -= 1000000000L;
	}
	nanosleep(&ts, NULL);
}

int cmd_snapshot(int argc, char **argv)
{
	int opt = cmd_flag("snapshot", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("snapshot", "expected one NAME[@SNAP]");
	char *name, *snap;
	bool given = split_name_snap(argv[optind], &name, &snap);
	int rc = CMD_ERR, lk = -1;
	struct jail *j = NULL;
	char *sn = NULL;
	if (given && !snapname_ok(snap))
		goto out;
	if (!(j = open_locked(name, &lk)))
		goto out;
	/* An automatic name is unique per second: on a clash wait for the next second. */
	for (int attempt = 0; attempt < 3; attempt++) {
		free(sn);
		sn = given ? xstrdup(snap) : time_snapname("ioc-");
		char *full = xasprintf("%s@%s", j->ds, sn);
		int r = zfs_snapshot(full, true);
		free(full);
		if (r == 0) {
			rc = CMD_OK;
			break;
		}
		if (zfs_lasterr != ZE_EXISTS)
			goto out;
		if (given)
			break;
		sleep_to_next_second();
	}
	if (rc != CMD_OK) {
		ioc_err("cannot snapshot jail %s: a snapshot named %s already exists", tag_of(j), sn);
		ioc_hint("choose another name; see 'iocell snaplist %s'", tag_of(j));
		goto out;
	}
	printf("Snapshot: %s@%s created\n", j->uuid, sn);
out:
	unlock_fd(lk);
	jail_free(j);
	free(sn);
	free(name);
	free(snap);
	return rc;
}

/* ---- snaplist ------------------------------------------------------------------- */

int cmd_snaplist(int argc, char **argv)
{
	int c;
	bool script = !isatty_out();
	while ((c = cmd_getopt("snaplist", argc, argv, "H")) != -1) {
		if (c == 'H')
			script = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	if (argc - optind != 1)
		return usage_err("snaplist", "expected one NAME");
	struct jail *j = jail_resolve(argv[optind]);
	if (!j)
		return CMD_ERR;
	const char *dss[] = {j->ds, NULL};
	struct ztable t;
	/* zfs-fuse lists a dataset's snapshots only with -r -d 1 (zfs_list adds both). */
	if (zfs_list(&t, "name,creation,referenced,used", dss, 1, "snapshot", "createtxg") < 0) {
		jail_free(j);
		return CMD_ERR;
	}
	struct table out;
	const char *head[] = {"NAME", "CREATED", "RSIZE", "USED", NULL};
	table_init(&out, head);
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n < 4 || !snap_of(r->v[0], j->ds))
			continue;
		const char *row[] = {snap_part(r->v[0]), r->v[1], r->v[2], r->v[3]};
		table_add(&out, row);
	}
	table_print(&out, script);
	table_free(&out);
	ztable_free(&t);
	jail_free(j);
	return CMD_OK;
}

/* ---- snapremove ----------------------------------------------------------------- */

/* Every snapshot of every dataset of the jail, oldest first (one zfs call).
 * Column: name. */
static int jail_snapshots(const struct jail *j, struct ztable *t)
{
	const char *dss[] = {j->ds, NULL};
	return zfs_list(t, "name", dss, ALL_DEPTH, "snapshot", "createtxg");
}

struct txgrow {
	unsigned long long txg;
	size_t idx;
};

static int txg_cmp(const void *a, const void *b)
{
	const struct txgrow *x = a, *y = b;
	if (x->txg != y->txg)
		return x->txg < y->txg ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Every dataset and snapshot of the jail with its creation txg, oldest first, as rows
 * (name, txg).  One `zfs get -rHp createtxg`: zfs-fuse's `zfs list` prints createtxg
 * humanized ("1.22K") once it passes 1000, so only the parsable get gives exact numbers.
 */
static int jail_txgs(const struct jail *j, struct ztable *t)
{
	const char *dss[] = {j->ds, NULL};
	struct ztable g;
	if (zfs_get(&g, "createtxg", dss, NULL, true, true, -1) < 0)
		return -1;
	struct txgrow *o = xcalloc(g.nrows + 1, sizeof(*o));
	size_t n = 0;
	for (size_t i = 0; i < g.nrows; i++) {
		if (g.rows[i].n < 3)
			continue;
		o[n].txg = strtoull(g.rows[i].v[2], NULL, 10);
		o[n].idx = i;
		n++;
	}
	qsort(o, n, sizeof(*o), txg_cmp);
	t->nrows = n;
	t->rows = xcalloc(n + 1, sizeof(*t->rows));
	for (size_t k = 0; k < n; k++) {
		sv_init(&t->rows[k]);
		sv_add(&t->rows[k], g.rows[o[k].idx].v[0]);
		sv_addf(&t->rows[k], "%llu", o[k].txg);
	}
	free(o);
	ztable_free(&g);
	return 0;
}

int cmd_snapremove(int argc, char **argv)
{
	int opt = cmd_flag("snapremove", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("snapremove", "expected one NAME@SNAP or NAME@ALL");
	char *name, *snap;
	if (!split_name_snap(argv[optind], &name, &snap)) {
		free(name);
		return usage_err("snapremove", "expected NAME@SNAP or NAME@ALL, got '%s'", argv[optind]);
	}
	bool all = streq(snap, "ALL");
	int rc = CMD_ERR, lk = -1;
	struct jail *j = NULL;
	struct ztable t = {0};
	struct strv victims, ontop, single;
	sv_init(&victims);
	sv_init(&ontop);
	sv_init(&single);
	if (!all && !snapname_ok(snap))
		goto out;
	if (!(j = open_locked(name, &lk)))
		goto out;
	if (jail_snapshots(j, &t) < 0)
		goto out;
	/* victims: every full snapshot name to remove.  Names present on the jail dataset go
	 * with one `zfs destroy -r DS@SNAP` each (ontop); snapshots that only a child has are
	 * destroyed one by one (single; zfs-fuse refuses -r when DS@SNAP itself is missing). */
	for (size_t i = 0; i < t.nrows; i++) {
		const char *full = t.rows[i].v[0];
		if (!all && !streq(snap_part(full), snap))
			continue;
		sv_add(&victims, full);
		if (snap_of(full, j->ds))
			sv_add(&ontop, snap_part(full));
	}
	for (size_t i = 0; i < victims.n; i++) {
		const char *s = snap_part(victims.v[i]);
		if (!sv_contains(&ontop, s))
			sv_add(&single, victims.v[i]);
	}
	if (victims.n == 0) {
		if (all) {
			printf("Jail %s (%s) has no snapshots\n", j->uuid, tag_of(j));
			rc = CMD_OK;
		} else {
			ioc_err("jail %s has no snapshot %s", tag_of(j), snap);
			ioc_hint("see 'iocell snaplist %s'", tag_of(j));
		}
		goto out;
	}
	char *what = all ? xasprintf("remove the snapshots of jail %s", tag_of(j))
			 : xasprintf("remove snapshot %s of jail %s", snap, tag_of(j));
	int refused = refuse_dependants(&victims, what);
	free(what);
	if (refused < 0)
		goto out;
	for (size_t i = 0; i < ontop.n; i++) {
		char *full = xasprintf("%s@%s", j->ds, ontop.v[i]);
		int r = zfs_destroy(full, "-r");
		free(full);
		if (r < 0)
			goto out;
		printf("Removed: %s@%s\n", j->uuid, ontop.v[i]);
	}
	for (size_t i = 0; i < single.n; i++) {
		if (zfs_destroy(single.v[i], NULL) < 0)
			goto out;
		printf("Removed: %s%s\n", j->uuid, single.v[i] + strlen(j->ds));
	}
	rc = CMD_OK;
out:
	sv_free(&victims);
	sv_free(&ontop);
	sv_free(&single);
	ztable_free(&t);
	unlock_fd(lk);
	jail_free(j);
	free(name);
	free(snap);
	return rc;
}

/* ---- rollback ------------------------------------------------------------------- */

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

int cmd_rollback(int argc, char **argv)
{
	int c;
	bool force = false, yes = false;
	while ((c = cmd_getopt("rollback", argc, argv, "fy")) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'y')
			yes = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	if (argc - optind != 1)
		return usage_err("rollback", "expected one NAME@SNAP");
	char *name, *snap;
	if (!split_name_snap(argv[optind], &name, &snap)) {
		free(name);
		return usage_err("rollback", "expected NAME@SNAP, got '%s'", argv[optind]);
	}
	int rc = CMD_ERR, lk = -1;
	struct jail *j = NULL;
	struct ztable t = {0};
	struct strv fss, targets, newer, missing;
	sv_init(&fss);
	sv_init(&targets);
	sv_init(&newer);
	sv_init(&missing);
	if (!snapname_ok(snap))
		goto out;
	if (!(j = open_locked(name, &lk)))
		goto out;
	if (jail_running(j->uuid) && !force) {
		ioc_err("cannot roll back jail %s: it is running", tag_of(j));
		ioc_hint("stop it first ('iocell stop %s'), or use rollback -f", tag_of(j));
		goto out;
	}
	/* One call: every dataset and snapshot of the jail, oldest first. */
	if (jail_txgs(j, &t) < 0)
		goto out;
	for (size_t i = 0; i < t.nrows; i++)
		if (t.rows[i].n >= 2 && !strchr(t.rows[i].v[0], '@'))
			sv_add(&fss, t.rows[i].v[0]);
	/* Children first: reverse name order puts DS/root before DS. */
	if (fss.n > 1)
		qsort(fss.v, fss.n, sizeof(char *), cmp_desc);
	bool top_has = false;
	for (size_t f = 0; f < fss.n; f++) {
		const char *fs = fss.v[f];
		char *target = xasprintf("%s@%s", fs, snap);
		unsigned long long txg = 0;
		bool have = false;
		for (size_t i = 0; i < t.nrows && !have; i++)
			if (t.rows[i].n >= 2 && streq(t.rows[i].v[0], target)) {
				txg = strtoull(t.rows[i].v[1], NULL, 10);
				have = true;
			}
		if (!have) {
			sv_add(&missing, fs);
			free(target);
			continue;
		}
		if (streq(fs, j->ds))
			top_has = true;
		sv_take(&targets, target);
		for (size_t i = 0; i < t.nrows; i++) {
			const char *s = t.rows[i].v[0];
			if (t.rows[i].n >= 2 && snap_of(s, fs) && strtoull(t.rows[i].v[1], NULL, 10) > txg)
				sv_add(&newer, s);
		}
	}
	if (!top_has) {
		ioc_err("jail %s has no snapshot %s", tag_of(j), snap);
		ioc_hint("see 'iocell snaplist %s'", tag_of(j));
		goto out;
	}
	if (newer.n) {
		char *what = xasprintf("roll back jail %s to %s (newer snapshots would be destroyed)", tag_of(j), snap);
		int refused = refuse_dependants(&newer, what);
		free(what);
		if (refused < 0)
			goto out;
	}
	printf("Rolling back jail %s (%s) to snapshot %s: every change made since is lost.\n",
	       j->uuid, tag_of(j), snap);
	for (size_t i = 0; i < missing.n; i++)
		printf("  not rolled back (it has no snapshot %s): %s\n", snap, missing.v[i]);
	if (newer.n) {
		/* One line per newer snapshot name, oldest first, with the datasets having it. */
		printf("Newer snapshots, this will destroy:\n");
		struct strv shown;
		sv_init(&shown);
		size_t dl = strlen(j->ds) - strlen(j->uuid);
		for (size_t i = 0; i < t.nrows; i++) {
			const char *sn = snap_part(t.rows[i].v[0]);
			if (!sv_contains(&newer, t.rows[i].v[0]) || sv_contains(&shown, sn))
				continue;
			sv_add(&shown, sn);
			printf("  will destroy: %s (on", sn);
			int k = 0;
			for (size_t m = i; m < t.nrows; m++)
				if (streq(snap_part(t.rows[m].v[0]), sn) && sv_contains(&newer, t.rows[m].v[0]))
					printf("%s %.*s", k++ ? "," : "",
					       (int)(strchr(t.rows[m].v[0], '@') - t.rows[m].v[0] - dl),
					       t.rows[m].v[0] + dl);
			printf(")\n");
		}
		sv_free(&shown);
		if (!yes && !confirm_capital_y("Are you sure ? Y[n]: ")) {
			ioc_err("rollback cancelled; nothing was changed");
			goto out;
		}
	}
	fflush(stdout);
	for (size_t i = 0; i < targets.n; i++) {
		if (zfs_rollback(targets.v[i], true) < 0) {
			if (i)
				ioc_err_ctx("jail %s is partly rolled back (done: %zu of %zu datasets, children "
					    "first)", tag_of(j), i, targets.n);
			goto out;
		}
	}
	printf("Rolled back: %s (%s) to %s\n", j->uuid, tag_of(j), snap);
	rc = CMD_OK;
out:
	sv_free(&fss);
	sv_free(&targets);
	sv_free(&newer);
	sv_free(&missing);
	ztable_free(&t);
	unlock_fd(lk);
	jail_free(j);
	free(name);
	free(snap);
	return rc;
}

/* ---- promote -------------------------------------------------------------------- */

int cmd_promote(int argc, char **argv)
{
	int opt = cmd_flag("promote", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("promote", "expected one NAME");
	int rc = CMD_ERR, lk = -1;
	struct ztable t = {0};
	struct strv todo, kept;
	sv_init(&todo);
	sv_init(&kept);
	char *jails = NULL;
	struct jail *j = open_locked(argv[optind], &lk);
	if (!j)
		goto out;
	jails = ds_jails();
	size_t jl = strlen(jails);
	const char *dss[] = {j->ds, NULL};
	if (zfs_list(&t, "name,origin", dss, ALL_DEPTH, "filesystem,volume", NULL) < 0)
		goto out;
	for (size_t i = 0; i < t.nrows; i++) {
		struct strv *r = &t.rows[i];
		if (r->n < 2 || streq(r->v[1], "-"))
			continue;
		/* Only clones of another jail's snapshots: promoting a clone of a release (or of a
		 * basejail master) would move the release's snapshots into this jail, breaking
		 * `create -c` from that release and tying the release's life to this jail. */
		if (strncmp(r->v[1], jails, jl) == 0 && r->v[1][jl] == '/')
			sv_add(&todo, r->v[0]);
		else
			sv_addf(&kept, "%s (a clone of %s)", r->v[0], r->v[1]);
	}
	if (todo.n == 0) {
		if (kept.n)
			ioc_err("jail %s is not a clone of another jail: its datasets are clones of a "
				"release or base, which iocell does not promote", tag_of(j));
		else
			ioc_err("jail %s is not a clone: none of its datasets has an origin", tag_of(j));
		ioc_hint("promote applies to jails made with 'iocell clone'");
		goto out;
	}
	for (size_t i = 0; i < todo.n; i++) {
		if (zfs_promote(todo.v[i]) < 0) {
			if (i)
				ioc_err_ctx("jail %s is partly promoted (%zu of %zu datasets done)", tag_of(j),
					    i, todo.n);
			goto out;
		}
	}
	for (size_t i = 0; i < kept.n; i++)
		printf("  left as it is: %s\n", kept.v[i]);
	printf("Promoted: %s (%s)\n", j->uuid, tag_of(j));
	rc = CMD_OK;
out:
	sv_free(&todo);
	sv_free(&kept);
	ztable_free(&t);
	free(jails);
	unlock_fd(lk);
	jail_free(j);
	return rc;
}
