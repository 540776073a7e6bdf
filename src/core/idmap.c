/* A jail's id range: see idmap.h. */
#include "core/idmap.h"
#include "core/idshift.h"
#include "core/jails.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what the properties say ------------------------------------------------------------ */

static int parse_id(const char *name, const char *v, bool none_ok, uint32_t *out)
{
	long long n;
	if (none_ok && (!v || streq(v, "none") || streq(v, "-"))) {
		*out = 0;
		return 0;
	}
	if (!v || !parse_int(v, 0, IDMAP_MAX_BASE, &n)) {
		ioc_err("invalid %s \"%s\": not a host id", name, v ? v : "");
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

int idmap_from_props(const struct kv *props, struct idmap *m)
{
	memset(m, 0, sizeof(*m));
	const char *priv = prop_kv_get(props, P_PRIVILEGED);
	m->privileged = priv && streq(priv, "yes");
	const char *shift = prop_kv_get(props, P_IDMAP_SHIFT);
	if (parse_id("idmap_base", prop_kv_get(props, P_IDMAP_BASE), true, &m->base) < 0 ||
	    parse_id("idmap_shift", shift && !streq(shift, "-") ? shift : "0", false, &m->shift) <
		    0)
		return -1;
	if (m->base && m->base < IDMAP_COUNT) {
		ioc_err("invalid idmap_base %u: the host's own ids are below %u", m->base,
			IDMAP_COUNT);
		return -1;
	}
	return 0;
}

int idmap_of_jail(const struct jail *j, struct idmap *m)
{
	if (idmap_from_props(&j->props, m) < 0) {
		ioc_err_ctx("jail %s", j->uuid);
		return -1;
	}
	return 0;
}

/* ---- allocation --------------------------------------------------------------------------- */

static void used_add(struct idmap_alloc *a, uint32_t start, uint64_t count)
{
	/* every slot the interval [start, start+count) touches */
	if (count == 0)
		return;
	uint64_t end = (uint64_t)start + count; /* exclusive */
	if (end <= IDMAP_FIRST)
		return;
	uint64_t first = start < IDMAP_FIRST ? 0 : (start - IDMAP_FIRST) / IDMAP_COUNT;
	uint64_t last = (end - 1 - IDMAP_FIRST) / IDMAP_COUNT;
	for (uint64_t s = first; s <= last && s < 70000; s++) {
		a->used = xrealloc(a->used, (a->n + 1) * sizeof(*a->used));
		a->used[a->n++] = (uint32_t)(IDMAP_FIRST + s * IDMAP_COUNT);
	}
}

void idmap_alloc_avoid(struct idmap_alloc *a, const char *text)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		_cleanup_strv_ struct strv f = {0};
		split(&f, lines.v[i], ":", false);
		long long start, count;
		if (f.n == 3 && parse_int(f.v[1], 0, 4294967295LL, &start) &&
		    parse_int(f.v[2], 0, 4294967295LL, &count))
			used_add(a, (uint32_t)start, (uint64_t)count);
	}
}

static void add_subids(struct idmap_alloc *a, const char *file)
{
	if (access(file, F_OK) != 0)
		return;
	char *text = read_file(file, NULL);
	if (!text) {
		ioc_warn("cannot read %s: its ranges are not avoided", file);
		ioc_err_clear();
		return;
	}
	idmap_alloc_avoid(a, text);
	free(text);
}

void idmap_alloc_use(struct idmap_alloc *a, uint32_t base) { used_add(a, base, IDMAP_COUNT); }

/* The ranges claimed in RUNDIR/idranges (runstate.h): those of running jails of every
 * pool, not only the active one's (one readdir).  A claim left behind only costs a range. */
static void add_claimed(struct idmap_alloc *a)
{
	_cleanup_free_ char *dir = xasprintf("%s/idranges", rundir());
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		long long b;
		if (e->d_name[0] != '.' && parse_int(e->d_name, 0, IDMAP_MAX_BASE, &b))
			idmap_alloc_use(a, (uint32_t)b);
	}
	if (d)
		closedir(d);
}

static bool is_used(const struct idmap_alloc *a, uint32_t base)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->used[i] == base)
			return true;
	return false;
}

/* ---- the ranges jails hold: RUNDIR/idbases --------------------------------------------
 * One base a line: every range a jail of any imported pool held when the file was made
 * from a `zfs list` of every pool (at activation, or the first allocation after a boot),
 * every range iocell handed out since (written under the global lock before the jail that
 * gets it is made: two creates never read the same file), and what `list` saw on the
 * active pool since.  It only grows: a destroyed jail's range stays taken until the next
 * activation or boot.  What it can miss: a range given outside iocell (a plain `zfs set
 * iocell:idmap_base`, a pool imported by hand) until the next list or activation; start
 * refuses two running jails with one range all the same (idrange_claim). */

static char *bases_path(void) { return xasprintf("%s/idbases", rundir()); }

static void bases_add_text(struct idmap_alloc *a, const char *text)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		long long b;
		if (parse_int(lines.v[i], 0, IDMAP_MAX_BASE, &b) && b)
			idmap_alloc_use(a, (uint32_t)b);
	}
}

static void bases_write(const uint32_t *b, size_t n)
{
	struct sbuf s;
	sb_init(&s);
	for (size_t i = 0; i < n; i++)
		sb_printf(&s, "%u\n", b[i]);
	_cleanup_free_ char *text = sb_steal(&s);
	_cleanup_free_ char *p = bases_path();
	if (write_file_cache(p, text, strlen(text), 0600) < 0) {
		/* without the file the next allocation asks the pools again: still right */
		ioc_err_clear();
		unlink(p);
	}
}

/* The jails' ranges of every pool (one zfs list) into a, and into the file. */
static int bases_seed(struct idmap_alloc *a)
{
	_cleanup_ztable_ struct ztable t = {0};
	/* The jails of every pool, not only the active one (POOL/iocell/jails/UUID, staging
	 * names included): a host's ranges are one space, and a pool activated later must
	 * not bring a jail with the same range. */
	if (zfs_list(&t, "name,iocell:idmap_base", NULL, 3, "filesystem", NULL) < 0)
		return -1;
	for (size_t i = 0; i < t.nrows; i++) {
		long long b;
		if (t.rows[i].n >= 2 && parse_int(t.rows[i].v[1], 0, IDMAP_MAX_BASE, &b) && b)
			idmap_alloc_use(a, (uint32_t)b);
	}
	bases_write(a->used, a->n);
	return 0;
}

int idmap_bases_reseed(void)
{
	bool held = lock_global_held();
	_cleanup_unlock_ int gl = held ? -1 : lock_global();
	if (!held && gl < 0)
		return -1;
	_cleanup_free_ char *p = bases_path();
	unlink(p);
	struct idmap_alloc a;
	memset(&a, 0, sizeof(a));
	int rc = bases_seed(&a);
	idmap_alloc_free(&a);
	return rc;
}

void idmap_bases_seen(const uint32_t *bases, size_t n)
{
	_cleanup_free_ char *p = bases_path();
	_cleanup_free_ char *text = cache_read(p);
	if (!text)
		return; /* not made yet: the next allocation asks every pool */
	struct idmap_alloc a;
	memset(&a, 0, sizeof(a));
	bases_add_text(&a, text);
	size_t known = a.n;
	for (size_t i = 0; i < n; i++)
		if (bases[i] >= IDMAP_FIRST && !is_used(&a, bases[i]))
			idmap_alloc_use(&a, bases[i]);
	if (a.n != known)
		bases_write(a.used, a.n);
	idmap_alloc_free(&a);
}

int idmap_alloc_load(struct idmap_alloc *a)
{
	memset(a, 0, sizeof(*a));
	_cleanup_free_ char *p = bases_path();
	_cleanup_free_ char *text = cache_read(p);
	if (text)
		bases_add_text(a, text);
	else if (bases_seed(a) < 0)
		return -1;
	/* the file's part: what idmap_alloc_take writes back with each range it takes */
	a->nbases = a->n;
	a->bases = xcalloc(a->n + 1, sizeof(*a->bases));
	for (size_t i = 0; i < a->n; i++)
		a->bases[i] = a->used[i];
	add_claimed(a);
	add_subids(a, "/etc/subuid");
	add_subids(a, "/etc/subgid");
	return 0;
}

uint32_t idmap_alloc_take(struct idmap_alloc *a)
{
	uint32_t b = a->next ? a->next : IDMAP_FIRST;
	for (; (long long)b <= IDMAP_MAX_BASE; b += IDMAP_COUNT) {
		if (is_used(a, b))
			continue;
		/* recorded before the jail that gets it is made (the caller holds the
		 * global lock): the next allocation never hands it out again */
		a->bases = xrealloc(a->bases, (a->nbases + 1) * sizeof(*a->bases));
		a->bases[a->nbases++] = b;
		bases_write(a->bases, a->nbases);
		used_add(a, b, IDMAP_COUNT);
		a->next = b + IDMAP_COUNT;
		return b;
	}
	ioc_err("no free id range left for a new jail (%u ids each from %u)", IDMAP_COUNT,
		IDMAP_FIRST);
	return 0;
}

void idmap_alloc_free(struct idmap_alloc *a)
{
	free(a->used);
	free(a->bases);
	memset(a, 0, sizeof(*a));
}

/* ---- where the files go ------------------------------------------------------------------- */

uint32_t idmap_want_shift(uint32_t base, bool privileged, bool idmapped)
{
	return privileged || idmapped ? 0 : base;
}

int idmap_pool_idmapped(void)
{
	static int known = -2;
	if (known != -2)
		return known;
	_cleanup_free_ char *dir = path_in_root("jails");
	int r = idmap_mount_supported(dir);
	if (r >= 0)
		known = r;
	return r;
}

int idmap_assign(struct kv *props, struct idmap_alloc *a, struct idmap *m)
{
	memset(m, 0, sizeof(*m));
	const char *priv = prop_kv_get(props, P_PRIVILEGED);
	m->privileged = priv && streq(priv, "yes");
	int idm = idmap_pool_idmapped();
	if (idm < 0 || !(m->base = idmap_alloc_take(a)))
		return -1;
	m->shift = idmap_want_shift(m->base, m->privileged, idm == 1);
	char v[16];
	snprintf(v, sizeof(v), "%u", m->base);
	prop_kv_set(props, P_IDMAP_BASE, v);
	snprintf(v, sizeof(v), "%u", m->shift);
	prop_kv_set(props, P_IDMAP_SHIFT, v);
	return 0;
}

int idmap_shift_root(const char *root, uint32_t to, bool force)
{
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int up = fd >= 0 ? openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
					 : -1;
	struct stat st, ust;
	if (fd < 0 || up < 0 || fstat(fd, &st) < 0 || fstat(up, &ust) < 0) {
		ioc_err("cannot open the jail root %s: %s", root, strerror(errno));
		return -1;
	}
	if (st.st_dev == ust.st_dev) {
		ioc_err("the jail root %s is not mounted: refusing to change its mountpoint", root);
		ioc_hint("mount it with 'zfs mount -a'");
		return -1;
	}
	int p = idshift_probe(fd, to);
	if (p < 0) {
		ioc_err("cannot read the jail root %s: %s", root, strerror(errno));
		return -1;
	}
	if (p == 0 && !force)
		return 0;
	bool progress = show_progress();
	if (progress)
		fprintf(stderr, "shifting the ownership of %s to %u...", root, to);
	struct idshift_stats s;
	int rc = idshift_tree(fd, root, to, p == IDSHIFT_UNSHIFTED, &s);
	if (progress)
		fprintf(stderr, " %s (%llu files)\n", rc == 0 ? "done" : "failed", s.inodes);
	if (rc == 0 && s.outside)
		ioc_warn("%llu files in %s are owned by ids of the host, not of the jail: left as "
			 "they are (the jail sees them as nobody)",
			 s.outside, root);
	return rc;
}

/* ---- a jail's files where they belong ---------------------------------------------------- */

static int store(struct jail *j, enum prop_id id, uint32_t v)
{
	char val[16];
	snprintf(val, sizeof(val), "%u", v);
	_cleanup_free_ char *z = prop_zfs_name(&prop_table[id], false);
	if (zfs_set(j->ds, z, val) < 0)
		return -1;
	prop_kv_set(&j->props, id, val);
	return 0;
}

int idmap_settle(struct jail *j, bool privileged, bool may_alloc)
{
	struct idmap m;
	if (idmap_of_jail(j, &m) < 0)
		return -1;
	int idm = idmap_pool_idmapped();
	if (idm < 0)
		return -1;
	if (!m.base && !may_alloc) {
		ioc_err("jail %s has no id range yet", jail_prop(j, P_TAG));
		ioc_hint("give it one with 'iocell set privileged=no %s'", jail_prop(j, P_TAG));
		return -1;
	}
	bool running = jail_running(j->uuid);
	uint32_t want = m.base ? idmap_want_shift(m.base, privileged, idm == 1) : 0;
	if (m.base && want == m.shift) {
		if (running || !j->mounted)
			return 0;
		/* where the configuration says: but a rollback may have left them elsewhere */
		_cleanup_free_ char *root = jail_root(j);
		return idmap_shift_root(root, want, false);
	}
	if (running) {
		ioc_err("jail %s is running: its files cannot be shifted", jail_prop(j, P_TAG));
		ioc_hint("stop it first with 'iocell stop %s'", jail_prop(j, P_TAG));
		return -1;
	}
	if (!m.base) {
		struct idmap_alloc a;
		if (idmap_alloc_load(&a) < 0)
			return -1;
		m.base = idmap_alloc_take(&a);
		idmap_alloc_free(&a);
		if (!m.base || store(j, P_IDMAP_BASE, m.base) < 0)
			return -1;
		want = idmap_want_shift(m.base, privileged, idm == 1);
	}
	if (!j->mounted) {
		ioc_err("the dataset %s is not mounted", j->ds);
		return -1;
	}
	_cleanup_free_ char *root = jail_root(j);
	int rc = idmap_shift_root(root, want, true) < 0 || store(j, P_IDMAP_SHIFT, want) < 0 ? -1
											     : 0;
	jail_conf_save(j);
	return rc;
}
