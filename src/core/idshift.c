/* Ownership of a jail's files: see idshift.h. */
#include "core/idshift.h"
#include "core/fsat.h"
#include "core/props.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

#define XA_CAP "security.capability"
#define XA_ACL "system.posix_acl_access"
#define XA_DACL "system.posix_acl_default"
#define XA_MAX 65536

/* ---- the values ------------------------------------------------------------------------ */

static bool in_range(uint32_t id, uint32_t base) { return id >= base && id - base < IDMAP_COUNT; }

static bool in_grid(uint32_t id)
{
	return id >= IDMAP_FIRST && (uint64_t)id + 2 < (uint64_t)UINT32_MAX;
}

int idshift_jail_id(uint32_t id, uint32_t to, bool unshifted)
{
	if (in_range(id, to))
		return (int)(id - to);
	if (id < IDMAP_COUNT)
		/* the jail's own ids where the tree has them (a release, a privileged jail's,
		 * an idmapped one's); the host's own otherwise */
		return unshifted || to == 0 ? (int)id : -1;
	if (in_grid(id))
		return (int)((id - IDMAP_FIRST) % IDMAP_COUNT); /* a range of the grid */
	return -1;                                              /* the host's own */
}

uint32_t idshift_id(uint32_t id, uint32_t to, bool unshifted)
{
	int j = idshift_jail_id(id, to, unshifted);
	return j < 0 ? id : to + (uint32_t)j;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* posix_acl_xattr: a le32 version (2), then entries of le16 tag, le16 perm, le32 id. */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP 0x08

bool idshift_acl(unsigned char *buf, size_t len, uint32_t to, bool unshifted)
{
	if (len < 4 || (len - 4) % 8 != 0 || le32(buf) != ACL_XATTR_VERSION)
		return false;
	bool changed = false;
	for (size_t off = 4; off < len; off += 8) {
		unsigned tag = (unsigned)buf[off] | (unsigned)buf[off + 1] << 8;
		if (tag != ACL_TAG_USER && tag != ACL_TAG_GROUP)
			continue;
		uint32_t id = le32(buf + off + 4), nid = idshift_id(id, to, unshifted);
		if (nid != id) {
			put_le32(buf + off + 4, nid);
			changed = true;
		}
	}
	return changed;
}

/* vfs_cap_data (v2, 20 bytes) and vfs_ns_cap_data (v3, 24 bytes: + le32 rootid). */
#define CAP_REV_MASK 0xFF000000u
#define CAP_REV2 0x02000000u
#define CAP_REV3 0x03000000u
#define CAP_SZ2 20
#define CAP_SZ3 24

ssize_t idshift_fcap(const unsigned char *in, size_t len, unsigned char *out, uint32_t to)
{
	if (len < 4)
		return -1;
	uint32_t magic = le32(in), rev = magic & CAP_REV_MASK;
	uint32_t root;
	if (rev == CAP_REV2 && len == CAP_SZ2)
		root = 0;
	else if (rev == CAP_REV3 && len == CAP_SZ3)
		root = le32(in + CAP_SZ2);
	else
		return -1;
	/* root 0 (a v2 capability's) is the host's root wherever the file is: in a jail's
	 * tree it always becomes the jail's own root (the host never honours it then) */
	uint32_t nroot = idshift_id(root, to, true);
	memcpy(out, in, CAP_SZ2);
	if (nroot == 0) {
		put_le32(out, CAP_REV2 | (magic & ~CAP_REV_MASK));
		return CAP_SZ2;
	}
	put_le32(out, CAP_REV3 | (magic & ~CAP_REV_MASK));
	put_le32(out + CAP_SZ2, nroot);
	return CAP_SZ3;
}

/* ---- the walk -------------------------------------------------------------------------- */

/* One directory level of the walk: its entries, read before any of them is entered. */
struct level {
	struct strv names;
	size_t next;
	dev_t dev;
	ino_t ino;
	char *rel; /* path below the root, for messages ("" for the root) */
};

struct walk {
	uint32_t to;
	bool unshifted; /* ids below COUNT are the jail's (else the host's) */
	dev_t dev;
	bool xattrs; /* the file system answers xattr calls */
	const char *label;
	struct idshift_stats *st;
	unsigned char *xa;
	unsigned char xa_cap[CAP_SZ3]; /* the capability as it was */
};

static int read_names(int dfd, struct strv *out)
{
	sv_init(out);
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d); /* (the dup shares the offset of a directory read before) */
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			sv_add(out, de->d_name);
	int e = errno;
	closedir(d);
	errno = e;
	return e ? -1 : 0;
}

static char *rel_of(const char *parent, const char *name)
{
	return *parent ? xasprintf("%s/%s", parent, name) : xstrdup(name);
}

static int walk_fail(const struct walk *w, const char *rel, const char *what, int e)
{
	ioc_err("cannot shift the ownership of %s/%s: %s: %s", w->label, rel, what, strerror(e));
	return -1;
}

/* An xattr of the inode behind the O_PATH fd: its length into w->xa, 0 when absent. */
static ssize_t xa_get(const struct walk *w, const char *proc, const char *name)
{
	ssize_t n = getxattr(proc, name, w->xa, XA_MAX);
	if (n < 0 && (errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;
	return n;
}

/* The slow way for one inode (set-id bits, xattrs): everything on the inode's own fd. */
static int shift_inode(struct walk *w, int dfd, const char *name, const char *rel,
		       const struct stat *st, uint32_t nu, uint32_t ng)
{
	_cleanup_close_ int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	if (fd < 0 || fstat(fd, &now) < 0)
		return walk_fail(w, rel, "open", errno);
	if (now.st_ino != st->st_ino || now.st_dev != st->st_dev ||
	    (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
		return walk_fail(w, rel, "it changed while being shifted", EAGAIN);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	bool link = S_ISLNK(st->st_mode);
	bool xa = w->xattrs && !link;
	/* what chown drops or what carries ids: read it all first */
	unsigned char cap[CAP_SZ3];
	ssize_t ncap = 0, ncap_was = 0;
	if (xa && S_ISREG(st->st_mode)) {
		ssize_t n = xa_get(w, proc, XA_CAP);
		if (n < 0)
			return walk_fail(w, rel, "read " XA_CAP, errno);
		if (n > 0 && (size_t)n <= sizeof(w->xa_cap)) {
			memcpy(w->xa_cap, w->xa, (size_t)n);
			ncap_was = n;
		}
		if (n > 0) {
			ncap = idshift_fcap(w->xa, (size_t)n, cap, w->to);
			if (ncap < 0) { /* unknown: put back as it was */
				if ((size_t)n > sizeof(cap))
					return walk_fail(w, rel, XA_CAP " of an unknown form",
							 EINVAL);
				memcpy(cap, w->xa, (size_t)n);
				ncap = n;
			}
		}
	}
	bool changed = nu != st->st_uid || ng != st->st_gid;
	if (changed && fchownat(fd, "", nu, ng, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return walk_fail(w, rel, "chown", errno);
	if (changed && !link && (st->st_mode & (S_ISUID | S_ISGID)) &&
	    fchmodat(AT_FDCWD, proc, st->st_mode & 07777, 0) < 0)
		return walk_fail(w, rel, "restore the set-id bits", errno);
	/* chown dropped it: put it back, or the moved one where it moved */
	bool cap_moved = ncap > 0 && (ncap != ncap_was || memcmp(cap, w->xa_cap, (size_t)ncap));
	if (ncap > 0 && (changed || cap_moved) && setxattr(proc, XA_CAP, cap, (size_t)ncap, 0) < 0)
		return walk_fail(w, rel, "write " XA_CAP, errno);
	changed |= cap_moved;
	for (int i = 0; xa && i < (S_ISDIR(st->st_mode) ? 2 : 1); i++) {
		const char *an = i ? XA_DACL : XA_ACL;
		ssize_t n = xa_get(w, proc, an);
		if (n < 0)
			return walk_fail(w, rel, an, errno);
		if (n > 0 && idshift_acl(w->xa, (size_t)n, w->to, w->unshifted)) {
			if (setxattr(proc, an, w->xa, (size_t)n, 0) < 0)
				return walk_fail(w, rel, an, errno);
			changed = true;
		}
	}
	if (changed)
		w->st->changed++;
	return 0;
}

/* One inode, NAME in dfd (NULL: dfd itself). */
static int shift_one(struct walk *w, int dfd, const char *name, const char *rel,
		     const struct stat *st)
{
	w->st->inodes++;
	uint32_t nu = idshift_id(st->st_uid, w->to, w->unshifted);
	uint32_t ng = idshift_id(st->st_gid, w->to, w->unshifted);
	if (!in_range(nu, w->to) || !in_range(ng, w->to))
		w->st->outside++;
	bool slow = w->xattrs || (S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)));
	if (slow)
		return shift_inode(w, dfd, name ? name : ".", rel, st, nu, ng);
	if (nu == st->st_uid && ng == st->st_gid)
		return 0;
	/* one name below an fd we opened without following symlinks; the last component
	 * itself is not followed either */
	if (fchownat(dfd, name ? name : "", nu, ng,
		     name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return walk_fail(w, rel, "chown", errno);
	w->st->changed++;
	return 0;
}

static void level_free(struct level *l)
{
	sv_free(&l->names);
	free(l->rel);
}

/* Push the level of the directory fd (already shifted itself). */
static int push(struct walk *w, struct level **stack, size_t *n, size_t *cap, int fd,
		const struct stat *st, char *rel)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*stack = xrealloc(*stack, *cap * sizeof(**stack));
	}
	struct level *l = &(*stack)[*n];
	memset(l, 0, sizeof(*l));
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	l->rel = rel;
	if (read_names(fd, &l->names) < 0) {
		int e = errno;
		walk_fail(w, *rel ? rel : ".", "read the directory", e);
		level_free(l);
		return -1;
	}
	(*n)++;
	return 0;
}

int idshift_tree(int rootfd, const char *label, uint32_t to, bool unshifted,
		 struct idshift_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	if (to && (to < IDMAP_COUNT || (uint64_t)to + IDMAP_COUNT > UINT32_MAX - 1)) {
		ioc_err("cannot shift %s to %u: not a jail's range", label, to);
		return -1;
	}
	_cleanup_free_ unsigned char *xa = xmalloc(XA_MAX);
	struct walk w = {.to = to, .unshifted = unshifted, .label = label, .st = stats, .xa = xa};
	struct stat st;
	if (fstat(rootfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ioc_err("cannot shift the ownership of %s: not a directory", label);
		return -1;
	}
	w.dev = st.st_dev;
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", rootfd);
	w.xattrs = !(getxattr(self, XA_ACL, NULL, 0) < 0 &&
		     (errno == ENOTSUP || errno == EOPNOTSUPP));
	int cur = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return walk_fail(&w, ".", "open", errno);
	int rc = shift_one(&w, cur, NULL, ".", &st);
	struct level *stack = NULL;
	size_t n = 0, cap = 0;
	if (rc == 0)
		rc = push(&w, &stack, &n, &cap, cur, &st, xstrdup(""));
	while (rc == 0 && n > 0) {
		struct level *l = &stack[n - 1];
		if (l->next == l->names.n) {
			level_free(l);
			n--;
			if (n == 0)
				break;
			/* back up one level: the parent must be the directory we came from */
			int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat ust;
			if (up < 0 || fstat(up, &ust) < 0 || ust.st_ino != stack[n - 1].ino ||
			    ust.st_dev != stack[n - 1].dev) {
				rc = walk_fail(&w, stack[n - 1].rel, "it moved while being shifted",
					       up < 0 ? errno : EAGAIN);
				if (up >= 0)
					close(up);
				break;
			}
			close(cur);
			cur = up;
			continue;
		}
		const char *name = l->names.v[l->next++];
		_cleanup_free_ char *rel = rel_of(l->rel, name);
		if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			rc = walk_fail(&w, rel, "stat", errno);
			break;
		}
		if (S_ISDIR(st.st_mode) && st.st_dev != w.dev)
			continue; /* another file system mounted here: not ours */
		if ((rc = shift_one(&w, cur, name, rel, &st)) < 0)
			break;
		if (!S_ISDIR(st.st_mode))
			continue;
		int sub = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat sst;
		if (sub < 0 || fstat(sub, &sst) < 0 || sst.st_ino != st.st_ino ||
		    sst.st_dev != st.st_dev) {
			rc = walk_fail(&w, rel, "enter", sub < 0 ? errno : EAGAIN);
			if (sub >= 0)
				close(sub);
			break;
		}
		if ((rc = push(&w, &stack, &n, &cap, sub, &sst, TAKE_PTR(rel))) < 0) {
			close(sub);
			break;
		}
		close(cur);
		cur = sub;
	}
	while (n > 0)
		level_free(&stack[--n]);
	free(stack);
	close(cur);
	return rc;
}

int idshift_probe(int rootfd, uint32_t to)
{
	_cleanup_strv_ struct strv names = {0};
	struct stat rst;
	if (fstat(rootfd, &rst) < 0 || read_names(rootfd, &names) < 0)
		return -1;
	/* the root directory and the entries of its file system below it */
	bool in = false, low = false;
	for (size_t i = 0; i <= names.n; i++) {
		struct stat st = rst;
		if (i < names.n && (fstatat(rootfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
				    st.st_dev != rst.st_dev))
			continue; /* (another file system mounted there: a basejail's base) */
		uint32_t ids[2] = {st.st_uid, st.st_gid};
		for (int k = 0; k < 2; k++) {
			if (in_range(ids[k], to))
				in = true;
			else if (in_grid(ids[k]))
				return IDSHIFT_OTHER_RANGE;
			else if (ids[k] < IDMAP_COUNT)
				low = true;
		}
	}
	/* nothing of the range, the jail's own ids: the tree was never shifted (host root's
	 * files put into a shifted tree are the host's: there is always some of the range) */
	return to && low && !in ? IDSHIFT_UNSHIFTED : 0;
}

/* ---- user namespaces ------------------------------------------------------------------- */

void userns_fds_close(struct userns_fds *f)
{
	int *fds[] = {&f->user, &f->net, &f->uts, &f->ipc};
	for (size_t i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	if (f->helper > 0) {
		while (waitpid(f->helper, NULL, 0) < 0 && errno == EINTR)
			;
		f->helper = -1;
	}
}

static int write_map(pid_t pid, const char *which, uint32_t base)
{
	char path[64], map[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	int n = snprintf(map, sizeof(map), "0 %u %u\n", base, IDMAP_COUNT);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, (size_t)n) != n) {
		ioc_err("cannot write the jail's %s (0 %u %u): %s", which, base, IDMAP_COUNT,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int open_ns(pid_t pid, const char *name, int *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	*out = open(path, O_RDONLY | O_CLOEXEC);
	if (*out < 0) {
		ioc_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int userns_make(uint32_t base, int flags, struct userns_fds *o)
{
	o->user = o->net = o->uts = o->ipc = -1;
	o->helper = -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		ioc_err("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	flags &= CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC;
	pid_t c = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | flags | SIGCHLD), 0, 0,
				 0, 0);
	if (c == 0) {
		/* it only holds the namespaces until iocell has their fds */
		char b;
		close(p[1]);
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	int e = errno;
	close(p[0]);
	if (c < 0) {
		close(p[1]);
		ioc_err("cannot create a user namespace: %s", strerror(e));
		if (e == ENOSPC || e == EPERM)
			ioc_hint("see /proc/sys/user/max_user_namespaces");
		return -1;
	}
	int rc = 0;
	if (write_map(c, "uid_map", base) < 0 || write_map(c, "gid_map", base) < 0 ||
	    open_ns(c, "user", &o->user) < 0 ||
	    ((flags & CLONE_NEWNET) && open_ns(c, "net", &o->net) < 0) ||
	    ((flags & CLONE_NEWUTS) && open_ns(c, "uts", &o->uts) < 0) ||
	    ((flags & CLONE_NEWIPC) && open_ns(c, "ipc", &o->ipc) < 0))
		rc = -1;
	/* Its pipe closed, it exits: reaped later (userns_fds_close), not waited for here
	 * (a start's critical path; on a loaded host each wake-up costs milliseconds). */
	close(p[1]);
	o->helper = c;
	if (rc < 0)
		userns_fds_close(o);
	return rc;
}

int idmap_mount_supported(const char *path)
{
	struct userns_fds u;
	if (userns_make(IDMAP_FIRST, 0, &u) < 0)
		return -1;
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
	if (t < 0) {
		ioc_err("cannot open the mount of %s: %s", path, strerror(errno));
		userns_fds_close(&u);
		return -1;
	}
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)u.user};
	int r = (int)syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, sizeof(a));
	int e = errno;
	close(t);
	userns_fds_close(&u);
	if (r == 0)
		return 1;
	if (e == EINVAL || e == EPERM || e == ENOSYS || e == EOPNOTSUPP)
		return 0;
	ioc_err("cannot tell whether %s takes idmapped mounts: %s", path, strerror(e));
	return -1;
}
