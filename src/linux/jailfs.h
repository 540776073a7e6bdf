/* The jail's filesystem view, built inside its private mount namespace. */
#ifndef IOC_JAILFS_H
#define IOC_JAILFS_H

#include "core/fsat.h"
#include "core/parse.h" /* fstab_parse_line, struct fstab_opts */
#include "linux/devices.h"

#include <stdbool.h>
#include <sys/types.h>

struct jailfs_opts {
	const char *root;  /* host path of the jail root (a mounted dataset) */
	const char *fstab; /* host path of the jail's fstab file (may not exist) */
	bool mount_procfs, mount_devfs, mount_sysfs;
	bool own_netns;         /* sysfs can be mounted fresh (else the host's is bound ro) */
	bool proc_net_writable; /* securelevel <= 0: /proc/sys/net stays writable */
	const char *hostname, *domainname; /* NULL: leave */
	unsigned long pts_max; /* devpts "max" (pseudoterminals limit), 0 = kernel default */
	bool no_create;        /* create nothing in the jail's root (see jailfs_setup) */
	/* jail_zfs: the dataset's host mountpoint bound at zfs_dst inside the jail (made
	 * when missing, never through the jail's symlinks); NULL: none */
	const char *zfs_src, *zfs_dst;
	/* allow_mount_zfs: the delegated dataset's name, mounted at zfs_dst by name instead
	 * of binding zfs_src (which is NULL then), its top directory owned by zfs_disk_owner
	 * on disk; zfs_dev: /dev/zfs's device number, made in the jail's /dev (0: none) */
	const char *zfs_ds;
	uid_t zfs_disk_owner;
	dev_t zfs_dev;
	/* user namespace (issue 14): owner is the host uid and gid of the jail's root (0 for
	 * a privileged jail): what iocell creates in the jail (mount points, resolv.conf,
	 * /dev) is the jail root's.  idmap_userfd >= 0: the root is mounted idmapped
	 * through that user namespace's mapping (its files keep the jail's ids on disk). */
	uid_t owner;
	int idmap_userfd;
};

#define JAILFS_DEFERRED 1

/* In a fresh mount namespace (the caller unshared it): make propagation private, bind
 * the root, mount fstab entries, /proc (masked), /sys (ro), a minimal /dev.  Missing
 * mount points are created in the jail's root, unless no_create: then it returns
 * JAILFS_DEFERRED before mounting anything when one is missing.  Does not pivot.
 * 0 done, -1 error recorded with ioc_err. */
int jailfs_setup(const struct jailfs_opts *o);
/* Write etc/resolv.conf beneath root (never through the jail's symlinks; left alone
 * when unchanged, skipped when the jail has no etc directory): 0 done, -1 error.  With
 * check_only nothing is written: 0 when there is nothing to write, 1 when there is. */
int jailfs_write_resolv(const char *root, const char *content, bool check_only, uid_t owner);
/* The device nodes the jail's fstab entries with option "dev" bring (the SRC itself, or
 * the nodes directly in a SRC directory; at most 256), for its device allow-list: a
 * malloc'd array in *rules (NULL when none).  -1 with the error for a bad fstab. */
int jailfs_fstab_devices(const struct jailfs_opts *o, struct devrule **rules, size_t *n);
/* pivot_root into root and detach the old root. */
int jailfs_pivot(const char *root);

#endif
