/*
 * Privilege of jail processes (SPEC §5 step 4): a reduced capability set and a
 * seccomp deny-list.
 *
 * A jail runs in a user namespace of its own (linux/userns.h): these capabilities are
 * its user namespace's and count only for the namespaces it owns (its network namespace:
 * CAP_NET_ADMIN is kept there).  A privileged jail (privileged=yes, the documented
 * exception) has none: its root is real root with this container capability set (as
 * Docker/LXC privileged containers).  Either way the seccomp program blocks what
 * capabilities cannot express or what CAP_SYS_ADMIN (kept for allow_set_hostname /
 * allow_mount*) would otherwise grant.
 *
 * The seccomp program is compiled with libseccomp once per variant and cached as a raw
 * sock_filter array in <rundir>/seccomp-<version>-<arch>-<key>.bpf; a start only reads
 * that file and hands it to seccomp(2).
 */
#include "config.h"
#include "linux/security.h"
#include "core/pool.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include "core/lazylib.h" /* after the library headers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
/* FS_IOC_SHUTDOWN (ext4, f2fs) and XFS_IOC_GOINGDOWN: one number, _IOR('X', 125, __u32) */
#define IOC_FS_GOINGDOWN _IOR('X', 125, uint32_t)
#ifndef IOPRIO_CLASS_SHIFT
#define IOPRIO_CLASS_SHIFT 13
#endif

/* Bump when the rules below change: part of the cache file name, so a cached program
 * of older rules is never loaded by a newer binary of the same version. */
#define SEC_RULES_REV 2

#define CAPBIT(c) (UINT64_C(1) << (c))

/* The container default set (everything else is dropped, notably CAP_MKNOD,
 * CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_SYS_BOOT, CAP_NET_ADMIN,
 * CAP_SYS_PTRACE, CAP_SYSLOG, CAP_DAC_READ_SEARCH, CAP_MAC_*, CAP_BPF, CAP_PERFMON). */
static const uint64_t default_caps = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) |
				     CAPBIT(CAP_FSETID) | CAPBIT(CAP_FOWNER) | CAPBIT(CAP_SETGID) |
				     CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETPCAP) |
				     CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |
				     CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) |
				     CAPBIT(CAP_AUDIT_WRITE);

/* Capabilities sec_apply_caps kept in the permitted/effective sets only so that
 * sec_apply_seccomp can install its filter (seccomp(2) without no_new_privs needs
 * CAP_SYS_ADMIN); sec_apply_seccomp drops them right after.  They are in neither the
 * bounding nor the inheritable set, so no exec can carry them on. */
static uint64_t g_pending_drop;
static uint64_t g_final_caps;

static bool mount_allowed(const struct jail_security *s)
{
	bool any = s->allow_mount || s->allow_mount_tmpfs || s->allow_mount_procfs ||
		   s->allow_mount_devfs || s->allow_mount_nullfs || s->allow_mount_zfs;
	return any && s->securelevel < 3;
}

uint64_t sec_caps(const struct jail_security *s)
{
	uint64_t m = default_caps;
	if (s->allow_raw_sockets)
		m |= CAPBIT(CAP_NET_RAW);
	if (s->allow_chflags)
		m |= CAPBIT(CAP_LINUX_IMMUTABLE);
	if (s->allow_quotas)
		m |= CAPBIT(CAP_SYS_RESOURCE);
	/* its own network namespace, of its own user namespace: addresses, routes, links */
	if (s->net_admin)
		m |= CAPBIT(CAP_NET_ADMIN);
	/* CAP_SYS_ADMIN for sethostname and mount; the seccomp program blocks the rest of
	 * what it grants.  securelevel 3 forbids mounts, so allow_mount* alone then gives
	 * no reason to keep it. */
	if (s->allow_set_hostname || mount_allowed(s))
		m |= CAPBIT(CAP_SYS_ADMIN);
	return m;
}

/* ------------------------------------------------------------------ capabilities */

static bool cap_known(int i)
{
	return !(prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) < 0 && errno == EINVAL);
}

/* Highest capability number the running kernel knows.  The /proc value is checked
 * against the kernel (PR_CAPBSET_READ answers EINVAL past the last capability): after
 * pivot_root, /proc may be the jail's own directory, and a lower number there must never
 * leave capabilities in the bounding set. */
static int last_cap(void)
{
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		char buf[32];
		struct stat st;
		ssize_t r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
				    ? read(fd, buf, sizeof(buf) - 1)
				    : -1;
		close(fd);
		if (r > 0) {
			buf[r] = '\0';
			char *end;
			errno = 0;
			long v = strtol(buf, &end, 10);
			if (errno == 0 && end != buf && (*end == '\n' || *end == '\0') && v >= 0 &&
			    v < 63 && cap_known((int)v) && !cap_known((int)v + 1))
				return (int)v;
		}
	}
	int i = 0;
	while (i < 64 && cap_known(i))
		i++;
	return i - 1;
}

static int set_proc_caps(uint64_t pei, uint64_t pe_only, int last)
{
	cap_value_t all[64], extra[64];
	int nall = 0, nextra = 0;
	for (int i = 0; i <= last; i++) {
		if (pei & CAPBIT(i))
			all[nall++] = (cap_value_t)i;
		else if (pe_only & CAPBIT(i))
			extra[nextra++] = (cap_value_t)i;
	}
	cap_t c = cap_init();
	if (!c) {
		ioc_err("cannot allocate a capability set: %s", strerror(errno));
		return -1;
	}
	int r = 0;
	if (nall > 0)
		r |= cap_set_flag(c, CAP_PERMITTED, nall, all, CAP_SET) |
		     cap_set_flag(c, CAP_EFFECTIVE, nall, all, CAP_SET) |
		     cap_set_flag(c, CAP_INHERITABLE, nall, all, CAP_SET);
	if (nextra > 0)
		r |= cap_set_flag(c, CAP_PERMITTED, nextra, extra, CAP_SET) |
		     cap_set_flag(c, CAP_EFFECTIVE, nextra, extra, CAP_SET);
	if (r != 0) {
		ioc_err("cannot build the capability set: %s", strerror(errno));
		cap_free(c);
		return -1;
	}
	if (cap_set_proc(c) < 0) {
		int e = errno;
		ioc_err("cannot set the process capabilities to %#llx: %s", (unsigned long long)pei,
			strerror(e));
		cap_free(c);
		return -1;
	}
	cap_free(c);
	return 0;
}

int sec_apply_caps(uint64_t caps)
{
	int last = last_cap();
	if (last < 0) {
		ioc_err("cannot determine the last capability of this kernel");
		return -1;
	}

	/* What we can keep at all: our own permitted set, within our bounding set (the
	 * host may lack some, e.g. CAP_SYS_RESOURCE; never fail because of that). */
	cap_t cur = cap_get_proc();
	if (!cur) {
		ioc_err("cannot read the process capabilities: %s", strerror(errno));
		return -1;
	}
	uint64_t have = 0;
	for (int i = 0; i <= last; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(cur, (cap_value_t)i, CAP_PERMITTED, &v) < 0) {
			ioc_err("cannot read capability %d of the process: %s", i, strerror(errno));
			cap_free(cur);
			return -1;
		}
		if (v == CAP_SET && prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) == 1)
			have |= CAPBIT(i);
	}
	cap_free(cur);
	uint64_t keep = caps & have;

	for (int i = 0; i <= last; i++) {
		if (keep & CAPBIT(i))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)i, 0, 0, 0) < 0 && errno != EINVAL) {
			ioc_err("cannot drop capability %d from the bounding set: %s", i,
				strerror(errno));
			return -1;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		ioc_err("cannot clear the ambient capabilities: %s", strerror(errno));
		return -1;
	}

	/* Keep CAP_SYS_ADMIN effective until sec_apply_seccomp has installed its filter
	 * (see g_pending_drop). */
	uint64_t pending = have & CAPBIT(CAP_SYS_ADMIN) & ~keep;
	if (set_proc_caps(keep, pending, last) < 0)
		return -1;
	g_pending_drop = pending;
	g_final_caps = keep;
	return 0;
}

/* Drop what sec_apply_caps kept only for installing the seccomp filter. */
static int finish_caps(void)
{
	if (!g_pending_drop)
		return 0;
	int last = last_cap();
	if (last < 0) {
		ioc_err("cannot determine the last capability of this kernel");
		return -1;
	}
	if (set_proc_caps(g_final_caps, 0, last) < 0)
		return -1;
	g_pending_drop = 0;
	return 0;
}

/* ------------------------------------------------------------------ seccomp rules */

static int deny(scmp_filter_ctx ctx, const char *name, int err, unsigned n,
		const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown to this libseccomp: nothing to block */
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO((uint32_t)err), nr, n, cmp);
	if (r < 0) {
		ioc_err("cannot add the seccomp rule for %s: %s", name, strerror(-r));
		return -1;
	}
	return 0;
}

static int deny_all(scmp_filter_ctx ctx, const char *const *names, int err)
{
	for (size_t i = 0; names[i]; i++)
		if (deny(ctx, names[i], err, 0, NULL) < 0)
			return -1;
	return 0;
}

/* Deny name when any of flags is set in argument arg (one rule per flag: rules OR). */
static int deny_flags(scmp_filter_ctx ctx, const char *name, unsigned arg, uint64_t flags)
{
	for (int b = 0; b < 64; b++) {
		uint64_t f = UINT64_C(1) << b;
		if (!(flags & f))
			continue;
		struct scmp_arg_cmp c = {
			.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = f, .datum_b = f};
		if (deny(ctx, name, EPERM, 1, &c) < 0)
			return -1;
	}
	return 0;
}

static const char *const always_denied[] = {
	/* kernel modules, kexec, reboot */
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"create_module",
	"get_kernel_syms",
	"query_module",
	"reboot",
	/* swap, raw I/O, accounting */
	"swapon",
	"swapoff",
	"iopl",
	"ioperm",
	"acct",
	/* setting the clock (adjtimex/clock_adjtime stay allowed: they also read the NTP
	 * state, ntp_gettime(3), and modifying through them needs CAP_SYS_TIME, which no
	 * jail ever has) */
	"settimeofday",
	"clock_settime",
	"clock_settime64",
	"stime",
	/* kernel log, file handles (the "shocker" escape), kernel interfaces */
	"syslog",
	"open_by_handle_at",
	"name_to_handle_at",
	"lookup_dcookie",
	"bpf",
	"perf_event_open",
	"fanotify_init",
	"add_key",
	"request_key",
	"keyctl",
	"userfaultfd",
	/* the root is the jail's: never pivot it again */
	"pivot_root",
	/* io_uring: a large kernel surface with a history of container escapes; the OCI
	 * runtimes' default profile stopped allowing it (programs fall back to plain I/O) */
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	/* obsolete interfaces */
	"nfsservctl",
	"vm86",
	"vm86old",
	"uselib",
	"_sysctl",
	"sysfs",
	"ustat",
	NULL,
};

static const char *const mount_calls[] = {
	"mount",    "umount",  "umount2", "move_mount",    "open_tree", "fsopen",
	"fsconfig", "fsmount", "fspick",  "mount_setattr", NULL,
};

static const char *const quota_calls[] = {"quotactl", "quotactl_fd", NULL};
static const char *const hostname_calls[] = {"sethostname", "setdomainname", NULL};

static int add_rules(scmp_filter_ctx ctx, const struct jail_security *s)
{
	if (deny_all(ctx, always_denied, EPERM) < 0)
		return -1;
	if (!mount_allowed(s) && deny_all(ctx, mount_calls, EPERM) < 0)
		return -1;
	if (!s->allow_quotas && deny_all(ctx, quota_calls, EPERM) < 0)
		return -1;
	if (!s->allow_set_hostname && deny_all(ctx, hostname_calls, EPERM) < 0)
		return -1;

	if (s->children_max <= 0) {
		const uint64_t ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
				    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
		if (deny(ctx, "setns", EPERM, 0, NULL) < 0 ||
		    deny_flags(ctx, "unshare", 0, ns | CLONE_NEWTIME) < 0 ||
		    /* clone's low byte is the exit signal: CLONE_NEWTIME is clone3-only */
		    deny_flags(ctx, "clone", 0, ns) < 0 ||
		    /* flags of clone3 are behind a pointer: ENOSYS makes glibc use clone */
		    deny(ctx, "clone3", ENOSYS, 0, NULL) < 0)
			return -1;
	}

	/* personality: only PER_LINUX (0) and the query 0xffffffff.  The kernel reads a
	 * 32-bit value; x is neither 0 nor 0xffffffff exactly when some bit i is set and
	 * bit i+1 (mod 32) is clear, which single-comparison rules can express. */
	for (int i = 0; i < 32; i++) {
		uint64_t bi = UINT64_C(1) << i, bn = UINT64_C(1) << ((i + 1) % 32);
		struct scmp_arg_cmp c = {
			.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = bi | bn, .datum_b = bi};
		if (deny(ctx, "personality", EPERM, 1, &c) < 0)
			return -1;
	}

	/* ioctls that only the host's administrator should reach, which CAP_SYS_ADMIN (kept
	 * for sethostname and mounts) would let through: TIOCSTI (typing into a terminal),
	 * TIOCCONS (redirecting the host's console), freezing, thawing, trimming or shutting
	 * down a file system (of the host, through an fstab bind), the entropy-accounting
	 * ioctls. */
	static const uint32_t bad_ioctls[] = {TIOCSTI,        TIOCCONS,      FIFREEZE,
					      FITHAW,         FITRIM,        IOC_FS_GOINGDOWN,
					      RNDADDTOENTCNT, RNDADDENTROPY, RNDZAPENTCNT,
					      RNDCLEARPOOL,   RNDRESEEDCRNG};
	for (size_t i = 0; i < sizeof(bad_ioctls) / sizeof(bad_ioctls[0]); i++) {
		struct scmp_arg_cmp c = {.arg = 1,
					 .op = SCMP_CMP_MASKED_EQ,
					 .datum_a = 0xffffffffu,
					 .datum_b = bad_ioctls[i]};
		if (deny(ctx, "ioctl", EPERM, 1, &c) < 0)
			return -1;
	}
	/* socket(AF_VSOCK): the host's (hypervisor's) services; as the OCI runtimes'
	 * default profile, the family is refused. */
	struct scmp_arg_cmp vsock = {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_VSOCK};
	if (deny(ctx, "socket", EPERM, 1, &vsock) < 0)
		return -1;
	/* ioprio_set(..., IOPRIO_CLASS_RT): real-time I/O, which CAP_SYS_ADMIN allows. */
	struct scmp_arg_cmp rt = {.arg = 2,
				  .op = SCMP_CMP_MASKED_EQ,
				  .datum_a = 7u << IOPRIO_CLASS_SHIFT,
				  .datum_b = 1u << IOPRIO_CLASS_SHIFT};
	if (deny(ctx, "ioprio_set", EPERM, 1, &rt) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ compile, cache */

/* The architecture the filter is compiled for (libseccomp's native one is the one we
 * are built for): known without loading libseccomp, which a cached filter never needs. */
static const char *arch_name(void)
{
#if defined(__x86_64__) && defined(__ILP32__)
	return "x32";
#elif defined(__x86_64__)
	return "x86_64";
#elif defined(__i386__)
	return "x86";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "native";
#endif
}

/* The fields that change the program, normalized (securelevel only matters through
 * mounts, children_max only through zero / non-zero): 4 bits, 16 variants. */
static unsigned variant(const struct jail_security *s)
{
	return (mount_allowed(s) ? 8u : 0u) | (s->allow_quotas ? 4u : 0u) |
	       (s->allow_set_hostname ? 2u : 0u) | (s->children_max > 0 ? 1u : 0u);
}

static char *cache_path(const struct jail_security *s)
{
	unsigned v = variant(s);
	return xasprintf("%s/seccomp-%s-%s-r%d-m%uq%uh%un%u.bpf", rundir(), IOCELL_VERSION,
			 arch_name(), SEC_RULES_REV, (v >> 3) & 1, (v >> 2) & 1, (v >> 1) & 1,
			 v & 1);
}

/* The programs this process has loaded or built, per variant.  sec_apply_seccomp uses
 * them without touching the filesystem, so a process that called sec_seccomp_cache on
 * the host side (before pivot_root) never reads a program from inside the jail. */
static struct {
	struct sock_filter *prog;
	size_t n;
} g_memo[16];

static void memo_set(unsigned v, struct sock_filter *prog, size_t n)
{
	free(g_memo[v].prog);
	g_memo[v].prog = prog;
	g_memo[v].n = n;
}

static bool prog_valid(const struct sock_filter *f, size_t n)
{
	return n > 0 && n <= BPF_MAXINSNS && BPF_CLASS(f[n - 1].code) == BPF_RET;
}

static void release_ctx(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int compile(const struct jail_security *s, struct sock_filter **out, size_t *nout)
{
	__attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		ioc_err("cannot create a seccomp filter: libseccomp failed");
		return -1;
	}
	int r;
	/* Syscalls of an ABI not in the filter (x32 on x86_64) kill the process. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 &&
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL)) < 0) {
		ioc_err("cannot set the seccomp bad-architecture action: %s", strerror(-r));
		return -1;
	}
	/* A binary tree of syscall numbers instead of a linear chain: fewer instructions
	 * per syscall in the jail and a faster install (the kernel pre-evaluates the
	 * program for every syscall number).  Older libseccomp: keep the default. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#if defined(__x86_64__) && !defined(__ILP32__)
	/* the same rules for 32-bit x86 binaries (int 0x80) */
	if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X86)) < 0 && r != -EEXIST) {
		ioc_err("cannot add the x86 architecture to the seccomp filter: %s", strerror(-r));
		return -1;
	}
#elif defined(__aarch64__)
	if ((r = seccomp_arch_add(ctx, SCMP_ARCH_ARM)) < 0 && r != -EEXIST) {
		ioc_err("cannot add the arm architecture to the seccomp filter: %s", strerror(-r));
		return -1;
	}
#endif
	if (add_rules(ctx, s) < 0)
		return -1;

	_cleanup_close_ int fd = memfd_create("iocell-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		ioc_err("cannot create a memory file for the seccomp program: %s", strerror(errno));
		return -1;
	}
	if ((r = seccomp_export_bpf(ctx, fd)) < 0) {
		ioc_err("cannot export the seccomp program: %s", strerror(-r));
		return -1;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		ioc_err("cannot size the seccomp program: %s", strerror(errno));
		return -1;
	}
	size_t n = (size_t)size / sizeof(struct sock_filter);
	if ((size_t)size % sizeof(struct sock_filter) != 0 || n == 0 || n > BPF_MAXINSNS) {
		ioc_err("cannot use the seccomp program: libseccomp produced %lld bytes",
			(long long)size);
		return -1;
	}
	_cleanup_free_ struct sock_filter *prog = xmalloc((size_t)size);
	size_t off = 0;
	while (off < (size_t)size) {
		ssize_t got = pread(fd, (char *)prog + off, (size_t)size - off, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			ioc_err("cannot read back the seccomp program: %s",
				got < 0 ? strerror(errno) : "short read");
			return -1;
		}
		off += (size_t)got;
	}
	if (!prog_valid(prog, n)) {
		ioc_err("cannot use the seccomp program: it does not end in a return");
		return -1;
	}
	*out = TAKE_PTR(prog);
	*nout = n;
	return 0;
}

/* Load a cached program.  Anything unexpected (missing, not a regular file of ours,
 * writable by others, empty, truncated, not a program) means "rebuild". */
static bool load_cached(const char *path, struct sock_filter **out, size_t *nout)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size <= 0 ||
	    (size_t)st.st_size % sizeof(struct sock_filter) != 0 ||
	    (size_t)st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return false;
	}
	size_t size = (size_t)st.st_size, off = 0;
	struct sock_filter *prog = xmalloc(size);
	while (off < size) {
		ssize_t got = read(fd, (char *)prog + off, size - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		off += (size_t)got;
	}
	close(fd);
	size_t n = size / sizeof(struct sock_filter);
	if (off != size || !prog_valid(prog, n)) {
		free(prog);
		return false;
	}
	*out = prog;
	*nout = n;
	return true;
}

/* Load the variant's program from the cache file, or compile it and write the file;
 * either way it becomes the in-memory copy.  With cache_required, failing to write the
 * file is an error; otherwise a warning (the program is still usable). */
static int refresh(const struct jail_security *s, bool cache_required, char **pathp)
{
	char *path = cache_path(s);
	struct sock_filter *prog;
	size_t n;
	if (!load_cached(path, &prog, &n)) {
		if (compile(s, &prog, &n) < 0) {
			free(path);
			return -1;
		}
		if (write_file_atomic(path, (const char *)prog, n * sizeof(struct sock_filter),
				      0600) < 0) {
			if (cache_required) {
				ioc_err_ctx("cannot cache the seccomp program");
				free(prog);
				free(path);
				return -1;
			}
			ioc_warn("seccomp program not cached (compiled at every start): %s",
				 ioc_errmsg());
			ioc_err_clear();
		}
	}
	memo_set(variant(s), prog, n);
	if (pathp)
		*pathp = path;
	else
		free(path);
	return 0;
}

char *sec_seccomp_cache(const struct jail_security *s)
{
	char *path;
	if (refresh(s, true, &path) < 0)
		return NULL;
	return path;
}

static int install(struct sock_filter *prog, size_t n)
{
	struct sock_fprog fp = {.len = (unsigned short)n, .filter = prog};
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp);
	if (r < 0 && errno == ENOSYS)
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
	return r < 0 ? -errno : 0;
}

/* The variant's program, installed (compiled afresh when the kernel refuses it). */
static int install_variant(const struct jail_security *s)
{
	unsigned v = variant(s);
	if (!g_memo[v].prog && refresh(s, false, NULL) < 0)
		return -1;
	int r = install(g_memo[v].prog, g_memo[v].n);
	if (r == -EINVAL) {
		/* The kernel refused the program: compile afresh.  No file is touched here
		 * (this may run inside the jail's mount namespace). */
		struct sock_filter *prog;
		size_t n;
		if (compile(s, &prog, &n) < 0)
			return -1;
		memo_set(v, prog, n);
		r = install(prog, n);
	}
	if (r == -EACCES) {
		ioc_err("cannot install the seccomp filter: permission denied (needs "
			"CAP_SYS_ADMIN or no_new_privs; call it right after sec_apply_caps)");
		return -1;
	}
	if (r < 0) {
		ioc_err("cannot install the seccomp filter: %s", strerror(-r));
		return -1;
	}
	return 0;
}

int sec_apply_seccomp(const struct jail_security *s)
{
	int rc = install_variant(s);
	/* Whatever happened, leave the documented capability state behind. */
	if (finish_caps() < 0)
		rc = -1;
	return rc;
}
