/* Exports and imports of jails: see image.h. */
#include "core/image.h"
#include "core/artifact.h"
#include "core/clone.h"
#include "core/create.h"
#include "core/dataset.h"
#include "core/idmap.h"
#include "core/package.h"
#include "core/pool.h"
#include "core/props.h"
#include "core/sha256.h"
#include "core/txn.h"
#include "core/fsat.h"
#include "core/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- new jails ------------------------------------------------------------------------- */

/* A free tag: WANT (an error when taken), else PREFER when free, else a default. */
static char *choose_tag(const char *want, const char *prefer)
{
	if (want)
		return tag_claim(want);
	if (prefer && *prefer && !streq(prefer, "-")) {
		char *owner = index_tag_owner(prefer, NULL);
		if (!owner && !ioc_err_pending())
			return xstrdup(prefer);
		free(owner);
		if (ioc_err_pending())
			return NULL;
	}
	_cleanup_free_ char *def = time_tag();
	char *t = tag_first_free(def, 1, true);
	if (!t && !ioc_err_pending())
		ioc_err("no free default tag");
	return t;
}

/* The properties of a new clone jail UUID of RELEASE named TAG (create -c's rules:
 * given, else the saved defaults, else the built-in ones), as ZFS properties into z. */
static int clone_jail_props(const char *release, const struct kv *given, const struct kv *saved,
			    const char *uuid, const char *tag, struct kv *z, struct idmap *m)
{
	_cleanup_free_ char *rel = xasprintf("releases/%s/root", release);
	_cleanup_free_ char *relroot = path_in_root(rel);
	_cleanup_kv_ struct kv props;
	create_props(&props, uuid, "clonejail", release, tag, saved, given, relroot);
	prop_kv_set(&props, P_PKGLIST, "none");
	char err[512];
	if (!props_check_config(&props, err, sizeof(err))) {
		ioc_err("%s", err);
		return -1;
	}
	struct idmap_alloc ids;
	if (idmap_alloc_load(&ids) < 0)
		return -1;
	int rc = idmap_assign(&props, &ids, m);
	idmap_alloc_free(&ids);
	if (rc < 0)
		return -1;
	props_to_zfs(z, &props);
	return 0;
}

/* A new clone jail of RELEASE (its files shifted to m->shift), marked "create STAMP"
 * (not a jail yet: the caller commits it with txn_mark_clear).  On failure nothing
 * remains. */
static int new_clone_jail(const char *release, const struct kv *given, char uuid[37], char **tag,
			  struct idmap *m)
{
	*tag = NULL;
	jail_new_uuid(uuid);
	_cleanup_free_ char *snap = ds_release_snap(release);
	_cleanup_kv_ struct kv saved = {0};
	if (defaults_load_cached(&saved) < 0)
		return -1;
	if (!zfs_exists(snap)) {
		if (!ioc_err_pending()) {
			ioc_err("release %s is not fetched", release);
			ioc_hint("fetch it with 'iocell fetch release=%s' first", release);
		}
		return -1;
	}
	_cleanup_free_ char *t = choose_tag(prop_kv_get(given, P_TAG), NULL);
	if (!t)
		return -1;
	_cleanup_kv_ struct kv z = {0};
	if (clone_jail_props(release, given, &saved, uuid, t, &z, m) < 0)
		return -1;
	_cleanup_free_ char *mark = txn_mark_value(TXN_CREATE, NULL);
	kv_set(&z, TXN_PROP, mark);
	_cleanup_free_ char *ds = ds_jail(uuid);
	index_claim(uuid, t);
	if (zfs_create(ds, &z, false) < 0) {
		index_drop(uuid);
		return -1;
	}
	_cleanup_free_ char *rootds = xasprintf("%s/root", ds);
	_cleanup_free_ char *rel = xasprintf("jails/%s/root", uuid);
	_cleanup_free_ char *root = path_in_root(rel);
	if (zfs_clone(snap, rootds, NULL) < 0 ||
	    idmap_shift_root(root, m->shift, m->shift != 0) < 0) {
		undo_destroy(ds, "-r", "");
		index_drop(uuid);
		return -1;
	}
	*tag = TAKE_PTR(t);
	return 0;
}

/* ---- import a package ------------------------------------------------------------------ */

/* The release a package was made on, checked against the command line's release= and the
 * fetched releases.  malloc'd. */
static char *package_release(const char *file, const struct package_head *h, const struct kv *given)
{
	_cleanup_free_ char *rel = keyval_get(h->meta, "release");
	if (!rel || !*rel || !valid_component(rel)) {
		ioc_err("package %s records no valid release", file);
		return NULL;
	}
	const char *want = prop_kv_get(given, P_RELEASE);
	if (want && !streq(want, rel)) {
		ioc_err("package %s was made on release %s, not %s", file, rel, want);
		ioc_hint("a package is applied on a jail of its own release");
		return NULL;
	}
	_cleanup_free_ char *relsnap = ds_release_snap(rel);
	if (!zfs_exists(relsnap)) {
		if (!ioc_err_pending()) {
			ioc_err("package %s needs release %s, which is not fetched", file, rel);
			ioc_hint("fetch it with 'iocell fetch release=%s'", rel);
		}
		return NULL;
	}
	_cleanup_free_ char *guid = keyval_get(h->meta, "release_guid");
	_cleanup_free_ char *cur = zfs_get1(relsnap, "guid");
	if (guid && cur && !streq(guid, "-") && !streq(guid, cur))
		ioc_warn("release %s was fetched again since package %s was made; files may differ",
			 rel, path_base(file));
	ioc_err_clear();
	return TAKE_PTR(rel);
}

/* Apply the package on the new jail UUID (not committed yet), its owners shifted to
 * shift. */
static int apply_on_new_jail(const char *file, const struct package_head *h, const char *uuid,
			     uint32_t shift)
{
	_cleanup_free_ char *ds = ds_jail(uuid);
	_cleanup_jail_ struct jail *j = jail_load_staged(ds, uuid);
	if (!j)
		return -1;
	if (!j->mounted) {
		ioc_err("the new jail's dataset is not mounted");
		return -1;
	}
	_cleanup_free_ char *root = jail_root(j);
	return package_apply(file, h, root, shift);
}

int image_import_package(const char *file, const struct kv *given, char uuid[37], char **tag)
{
	*tag = NULL;
	/* The metadata and the deletion list first, before anything is created. */
	struct package_head h;
	if (package_read_head(file, &h) < 0)
		return -1;
	_cleanup_free_ char *rel = package_release(file, &h, given);
	int rc = -1;
	struct idmap m;
	if (rel && new_clone_jail(rel, given, uuid, tag, &m) == 0) {
		_cleanup_free_ char *ds = ds_jail(uuid);
		rc = apply_on_new_jail(file, &h, uuid, m.shift);
		if (rc == 0)
			rc = txn_mark_clear(ds); /* the commit */
		if (rc < 0) {
			undo_destroy(ds, "-r", "");
			index_drop(uuid);
			free(*tag);
			*tag = NULL;
		}
	}
	package_head_free(&h);
	return rc;
}

/* ---- export / import images ------------------------------------------------------------ */

struct xfer {
	int fd;
	struct sha256 h;
	bool hash;
	unsigned long long bytes;
	bool progress;
	time_t last;
};

static void xfer_progress(struct xfer *x, const char *what, bool done)
{
	if (!x->progress)
		return;
	time_t now = time(NULL);
	if (!done && now == x->last)
		return;
	x->last = now;
	fprintf(stderr, "\r%s: %.1f MiB%s   ", what, (double)x->bytes / 1048576.0,
		done ? ", done\n" : "");
}

static int export_cb(const void *buf, size_t n, void *arg)
{
	struct xfer *x = arg;
	if (write_all(x->fd, buf, n) < 0) {
		ioc_err("cannot write the image: %s", strerror(errno));
		return -1;
	}
	if (x->hash && sha256_update(&x->h, buf, n) < 0)
		return -1;
	x->bytes += n;
	xfer_progress(x, "exporting", false);
	return 0;
}

/* The stream of the export snapshot into x->fd; into the file IMAGES/UUID.zfs (via a
 * partial file, with its checksum) when file is not NULL. */
static int export_stream(const char *snap, struct xfer *x, const char *file, const char *tmp)
{
	if (zfs_send_to(snap, true, export_cb, x) < 0)
		return -1;
	xfer_progress(x, "exporting", true);
	if (!file)
		return 0;
	char hex[SHA256_HEX_LEN + 1];
	if (fsync(x->fd) < 0 || close(TAKE_FD(x->fd)) < 0) {
		ioc_err("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	x->hash = false;
	if (sha256_final_hex(&x->h, hex) < 0)
		return -1;
	return artifact_publish(tmp, file, hex);
}

/* Export to x->fd, or into file when x->fd < 0.  The jail is marked "export STAMP SNAP"
 * while its export snapshot exists (core/heal.h). */
static int export_to(const struct jail *j, struct xfer *x, const char *file, const char *tmp)
{
	/* the mark first: from now on everything of this export is named by it */
	_cleanup_free_ char *sn = txn_snapshot(j->ds, TXN_EXPORT, EXPORT_SNAP_PREFIX, NULL);
	if (!sn)
		return -1;
	_cleanup_free_ char *snap = xasprintf("%s@%s", j->ds, sn);
	int rc = 0;
	if (file) {
		_cleanup_free_ char *dir = path_in_root("images");
		if (mkdir_p(dir, 0755) < 0)
			rc = -1;
		else if ((x->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
				       0600)) < 0) {
			ioc_err("cannot create %s: %s", tmp, strerror(errno));
			rc = -1;
		} else if (sha256_init(&x->h) < 0) {
			rc = -1;
		} else {
			x->hash = true;
		}
	}
	if (rc == 0)
		rc = export_stream(snap, x, file, tmp);
	struct ioc_errsave keep;
	if (rc < 0)
		ioc_err_save(&keep);
	if (zfs_destroy(snap, "-r") < 0 || txn_mark_clear(j->ds) < 0) {
		if (rc == 0)
			ioc_warn("could not remove the export snapshot %s: %s", snap, ioc_errmsg());
		else
			ioc_warn("could not remove %s: %s", snap, ioc_errmsg());
	}
	ioc_err_clear();
	if (rc < 0)
		ioc_err_restore(&keep);
	return rc;
}

int image_export(const struct jail *j, int fd, char **out)
{
	if (out)
		*out = NULL;
	if (jail_running(j->uuid)) {
		ioc_err("jail %s is running: export needs a stopped jail", jail_prop(j, P_TAG));
		ioc_hint("stop it first with 'iocell stop %s'", jail_prop(j, P_TAG));
		return -1;
	}
	struct xfer x = {.fd = fd, .progress = show_progress()};
	_cleanup_free_ char *file = NULL, *tmp = NULL;
	if (fd < 0) {
		_cleanup_free_ char *dir = path_in_root("images");
		file = xasprintf("%s/%s.zfs", dir, j->uuid);
		tmp = xasprintf("%s/.%s.zfs.partial", dir, j->uuid);
	}
	/* A reader that goes away (`export - | head`) is a write error (EPIPE) here, not
	 * the end of iocell: the snapshot and the mark go before it returns. */
	void (*oldpipe)(int) = signal(SIGPIPE, SIG_IGN);
	int rc = export_to(j, &x, file, tmp);
	signal(SIGPIPE, oldpipe);
	if (x.hash)
		sha256_free(&x.h);
	if (fd < 0 && x.fd >= 0)
		close(x.fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	if (rc == 0 && file)
		*out = TAKE_PTR(file);
	return rc;
}

static long import_rd(void *buf, size_t n, void *arg)
{
	struct xfer *x = arg;
	for (;;) {
		ssize_t r = read(x->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ioc_err("cannot read the image: %s", strerror(errno));
			return -1;
		}
		x->bytes += (unsigned long long)r;
		xfer_progress(x, "importing", false);
		return (long)r;
	}
}

/* Give the received jail in DS (a staging name) its own identity. */
static int reidentify(const char *ds, const char *uuid, const struct kv *given, char **tag)
{
	/* The jail model reads local and received values alike: the received properties
	 * need no rewriting, and a stream without them is no iocell jail. */
	_cleanup_jail_ struct jail *j = jail_load_staged(ds, uuid);
	if (!j) {
		ioc_err_ctx("the image is not an iocell jail export");
		return -1;
	}
	_cleanup_free_ char *t = choose_tag(prop_kv_get(given, P_TAG), jail_prop(j, P_TAG));
	if (!t)
		return -1;
	_cleanup_kv_ struct kv set = {0};
	jail_reidentify(j, uuid, t, &set);
	for (size_t i = 0; i < given->k.n; i++)
		if (!streq(given->k.v[i], prop_name(P_TAG)))
			kv_set(&set, given->k.v[i], given->v.v[i]);
	/* a range of its own: the files move from where the export had them */
	struct idmap from, to;
	struct idmap_alloc ids;
	if (idmap_of_jail(j, &from) < 0 || idmap_alloc_load(&ids) < 0)
		return -1;
	_cleanup_kv_ struct kv view;
	kv_init(&view);
	prop_kv_set(&view, P_PRIVILEGED,
		    prop_kv_get(given, P_PRIVILEGED) ? prop_kv_get(given, P_PRIVILEGED)
						     : jail_prop(j, P_PRIVILEGED));
	int rc = idmap_assign(&view, &ids, &to);
	idmap_alloc_free(&ids);
	if (rc < 0)
		return -1;
	prop_kv_set(&set, P_IDMAP_BASE, prop_kv_get(&view, P_IDMAP_BASE));
	prop_kv_set(&set, P_IDMAP_SHIFT, prop_kv_get(&view, P_IDMAP_SHIFT));
	_cleanup_free_ char *root = j->path ? jail_root(j) : NULL;
	if (!root || !j->mounted) {
		ioc_err("the imported dataset %s is not mounted", j->ds);
		return -1;
	}
	if (idmap_shift_root(root, to.shift, from.shift != to.shift) < 0)
		return -1;
	/* What is not right yet, in one `zfs set` on OpenZFS (one call each on zfs-fuse) */
	_cleanup_kv_ struct kv z;
	kv_init(&z);
	for (size_t i = 0; i < set.k.n; i++) {
		const struct propdef *p = prop_find(set.k.v[i]);
		if (!p || streq(jail_prop(j, prop_id_of(p)), set.v.v[i]))
			continue;
		_cleanup_free_ char *zn = prop_zfs_name(p, false);
		kv_set(&z, zn, set.v.v[i]);
	}
	/* and our mark (a local value: the exporter's "export ..." the image may carry is
	 * no work of ours, and goes at the commit): the rename to the jail's name is not the
	 * commit (a `zfs rename` that met a busy tree, or was killed, leaves it unmounted),
	 * clearing the mark once it is mounted there is (receive) */
	const char *what[] = {"import", NULL};
	_cleanup_free_ char *mark = txn_mark_value(TXN_CREATE, what);
	kv_set(&z, TXN_PROP, mark);
	if (zfs_set_many(ds, &z) < 0)
		return -1;
	*tag = TAKE_PTR(t);
	return 0;
}

/* OpenZFS: what the receive itself sets and leaves out (zfs recv -o / -x), so that the
 * received jail never carries another host's interfaces or start time, and has the
 * properties given on the command line from the start (the identity that depends on the
 * received values follows in one `zfs set`, reidentify). */
static void recv_identity(const struct kv *given, struct kv *set, struct strv *exclude)
{
	kv_init(set);
	sv_init(exclude);
	if (!zfs_is_openzfs())
		return;
	for (enum prop_id m = P_VNET0_MAC; m <= P_VNET9_MAC; m++)
		sv_take(exclude, prop_zfs_name(prop_find(prop_name(m)), false));
	sv_take(exclude, prop_zfs_name(prop_find(prop_name(P_LAST_STARTED)), false));
	for (size_t i = 0; i < given->k.n; i++) {
		const struct propdef *p = prop_find(given->k.v[i]);
		if (!p || prop_id_of(p) == P_TAG)
			continue; /* the tag: claimed after the receive (reidentify) */
		_cleanup_free_ char *zn = prop_zfs_name(p, false);
		kv_set(set, zn, given->v.v[i]);
	}
}

/* Drop the export snapshot(s) the received stream carried (the jail's own snapshots
 * stay).  received: the snapshots zfs recv named, or NULL to list them. */
static int drop_export_snaps(const char *ds, struct strv *received)
{
	_cleanup_strv_ struct strv snaps = {0};
	sv_init(&snaps);
	if (received) {
		for (size_t i = 0; i < received->n; i++)
			sv_add(&snaps, received->v[i]);
	} else {
		_cleanup_ztable_ struct ztable t = {0};
		const char *dss[] = {ds, NULL};
		if (zfs_list(&t, "name", dss, 1, "snapshot", NULL) < 0)
			return -1;
		for (size_t i = 0; i < t.nrows; i++)
			sv_add(&snaps, t.rows[i].n ? t.rows[i].v[0] : "");
	}
	size_t dl = strlen(ds);
	for (size_t i = 0; i < snaps.n; i++) {
		const char *n = snaps.v[i];
		if (strncmp(n, ds, dl) != 0 || n[dl] != '@')
			continue; /* children's: the recursive destroy takes them */
		if (startswith(n + dl + 1, EXPORT_SNAP_PREFIX) && zfs_destroy(n, "-r") < 0)
			return -1;
	}
	return 0;
}

/* Receive into a staging name, make it a jail of its own there (marked "create"), rename
 * it to POOL/iocell/jails/UUID, make sure it is mounted there, and clear the mark: the
 * commit (core/heal.h). */
static int receive(const char *uuid, struct xfer *x, bool from_file, const struct kv *given,
		   char **tag)
{
	_cleanup_free_ char *jails = ds_jails();
	_cleanup_free_ char *stage = txn_stage_name(jails, uuid);
	_cleanup_free_ char *ds = ds_jail(uuid);
	/* A file with no progress to show goes to zfs recv as its stdin: no copy, and
	 * `zfs recv -v` names the snapshots it made. */
	_cleanup_strv_ struct strv snaps = {0};
	sv_init(&snaps);
	bool direct = from_file && !x->progress;
	_cleanup_kv_ struct kv set = {0};
	_cleanup_strv_ struct strv exclude = {0};
	recv_identity(given, &set, &exclude);
	struct zfs_recv_props rp = {.set = &set, .exclude = &exclude};
	int got = direct ? zfs_recv_fd(stage, x->fd, &snaps, &rp)
			 : zfs_recv_from(stage, import_rd, x, false, &rp);
	if (got < 0) {
		ioc_err_ctx("cannot import the image %s",
			    from_file ? "file" : "stream from standard input");
		undo_destroy(stage, "-r", "");
		return -1;
	}
	xfer_progress(x, "importing", true);
	if (drop_export_snaps(stage, direct ? &snaps : NULL) < 0 ||
	    reidentify(stage, uuid, given, tag) < 0) {
		undo_destroy(stage, "-r", "");
		return -1;
	}
	index_claim(uuid, *tag);
	if (zfs_rename(stage, ds) < 0) {
		undo_destroy(stage, "-r", "");
		index_drop(uuid);
		free(*tag);
		*tag = NULL;
		return -1;
	}
	if (zfs_mount_tree(ds) < 0 || txn_mark_clear(ds) < 0) {
		undo_destroy(ds, "-r", "");
		index_drop(uuid);
		free(*tag);
		*tag = NULL;
		return -1;
	}
	return 0;
}

int image_import_stream(const char *file, int fd, const struct kv *given, char uuid[37], char **tag)
{
	*tag = NULL;
	jail_new_uuid(uuid);
	struct xfer x = {.fd = fd, .progress = show_progress()};
	if (file) {
		x.fd = open(file, O_RDONLY | O_CLOEXEC);
		if (x.fd < 0) {
			ioc_err("cannot read %s: %s", file, strerror(errno));
			return -1;
		}
	}
	int rc = receive(uuid, &x, file != NULL, given, tag);
	if (file)
		close(x.fd);
	return rc;
}
