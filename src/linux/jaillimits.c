/* Resource limits of a jail, applied: cgroup files and rlimits (see jaillimits.h). */
#include "linux/jaillimits.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define CFS_PERIOD 100000ULL

/* Write val to dir/file for limit what; errors name the file and the reason. */
static int cgw(const char *dir, const char *file, const char *val, const char *what)
{
	char *p = xasprintf("%s/%s", dir, file);
	int rc = cg_put(p, val);
	if (rc < 0) {
		int e = errno;
		if (e == ENOENT) {
			ioc_err("cannot apply %s: %s does not exist (this kernel lacks it)", what,
				p);
			if (streq(file, "memory.memsw.limit_in_bytes"))
				ioc_hint(
					"swap accounting is off: boot the host with swapaccount=1");
		} else {
			ioc_err("cannot apply %s: writing \"%s\" to %s failed: %s", what, val, p,
				strerror(e));
			if (e == EBUSY)
				ioc_hint("the jail uses more than that already");
		}
	}
	free(p);
	return rc;
}

/* ---- controllers ---- */

/* The directory carrying controller ctl, or NULL with a precise error for limit what. */
static const char *need(const struct cgroup *cg, const char *ctl, const char *what)
{
	if (cg->n == 0) {
		ioc_err("cannot apply %s: this host has no usable cgroups", what);
		return NULL;
	}
	const char *d = cg_controller_dir(cg, ctl);
	if (!d) {
		ioc_err("cannot apply %s: no cgroup v1 hierarchy has the %s controller "
			"(/proc/self/mountinfo lists none)",
			what, ctl);
		ioc_hint("mount it: mount -t cgroup -o %s cgroup /sys/fs/cgroup/%s", ctl, ctl);
		return NULL;
	}
	if (cg->mode == CG_V2) {
		char *t = cg_read_at(d, "cgroup.controllers");
		struct strv c = {0};
		if (t)
			split(&c, t, " \n", true);
		bool has = sv_contains(&c, ctl);
		sv_free(&c);
		free(t);
		if (!has) {
			ioc_err("cannot apply %s: the %s controller is not enabled for %s (absent "
				"from its cgroup.controllers)",
				what, ctl, d);
			ioc_hint("enable it in the parents' cgroup.subtree_control (+%s)", ctl);
			return NULL;
		}
	}
	return d;
}

/* The directory of ctl when it exists (for resets and reading), else NULL. */
static const char *have(const struct cgroup *cg, const char *ctl)
{
	const char *d = cg->n ? cg_controller_dir(cg, ctl) : NULL;
	if (d && cg->mode == CG_V2) {
		static const char *probe[][2] = {{"memory", "memory.max"},
						 {"cpu", "cpu.max"},
						 {"pids", "pids.max"},
						 {"io", "io.max"},
						 {"cpuset", "cpuset.cpus"}};
		for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
			if (streq(ctl, probe[i][0]) && !cg_exists_at(d, probe[i][1]))
				return NULL;
	}
	return d;
}

static long long mem_total(void)
{
	char *t = cg_read("/proc/meminfo");
	long long kb = -1;
	if (t) {
		char *p = strstr(t, "MemTotal:");
		if (p)
			kb = strtoll(p + 9, NULL, 10);
		free(t);
	}
	return kb > 0 ? kb * 1024 : (long long)1 << 50;
}

/* Block devices a throttle applies to: every /sys/block entry with a non-zero size. */
static void block_devices(struct strv *out)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *sp = xasprintf("/sys/block/%s/size", de->d_name);
		char *dp = xasprintf("/sys/block/%s/dev", de->d_name);
		char *sz = cg_read(sp), *dev = cg_read(dp);
		if (sz && dev && strtoll(sz, NULL, 10) > 0 && *chomp(dev))
			sv_add(out, dev);
		free(sz);
		free(dev);
		free(sp);
		free(dp);
	}
	closedir(d);
	sv_sort(out);
}

/* ---- applying ---- */

static const struct limit_val *deny(const struct limits *l, enum lim_id i)
{
	return l->v[i].action == LA_DENY ? &l->v[i] : NULL;
}

/* Write v's amount to FILE of d, or unlimited when there is no v. */
static int cgw_amount(const char *d, const char *file, const struct limit_val *v,
		      const char *unlimited, const char *what)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v ? v->amount : 0);
	return cgw(d, file, v ? buf : unlimited, what);
}

static int apply_memory(const struct cgroup *cg, const struct limits *l)
{
	const struct limit_val *m = deny(l, LIM_MEMORYUSE), *s = deny(l, LIM_SWAPUSE);
	bool mlog = l->v[LIM_MEMORYUSE].action == LA_LOG;
	const char *d;
	if (m || s || mlog)
		d = need(cg, "memory", m ? "memoryuse" : s ? "swapuse" : "memoryuse");
	else
		d = have(cg, "memory");
	if (!d)
		return (m || s || mlog) ? -1 : 0;
	/* the soft limit: memoryuse's amount with the log action */
	const struct limit_val *high = mlog ? &l->v[LIM_MEMORYUSE] : NULL;
	if (cg->mode == CG_V2) {
		if (cgw_amount(d, "memory.max", m, "max", "memoryuse") < 0 ||
		    cgw_amount(d, "memory.high", high, "max", "memoryuse") < 0)
			return -1;
		if ((s || cg_exists_at(d, "memory.swap.max")) &&
		    cgw_amount(d, "memory.swap.max", s, "max", "swapuse") < 0)
			return -1;
		return 0;
	}
	bool memsw = cg_exists_at(d, "memory.memsw.limit_in_bytes");
	if (s && !memsw)
		return cgw(d, "memory.memsw.limit_in_bytes", "0", "swapuse");
	/* memsw must stay >= the memory limit: lift it first, set it last. */
	if (memsw && cgw(d, "memory.memsw.limit_in_bytes", "-1", "swapuse") < 0)
		return -1;
	if (cgw_amount(d, "memory.limit_in_bytes", m, "-1", "memoryuse") < 0 ||
	    cgw_amount(d, "memory.soft_limit_in_bytes", high, "-1", "memoryuse") < 0)
		return -1;
	if (s) {
		uint64_t base = m ? m->amount : (uint64_t)mem_total();
		char buf[32];
		snprintf(buf, sizeof(buf), "%" PRIu64, base + s->amount);
		if (cgw(d, "memory.memsw.limit_in_bytes", buf, "swapuse") < 0)
			return -1;
	}
	return 0;
}

static int apply_cpu(const struct cgroup *cg, const struct limits *l)
{
	const struct limit_val *p = deny(l, LIM_PCPU);
	const char *d = p ? need(cg, "cpu", "pcpu") : have(cg, "cpu");
	if (!d)
		return p ? -1 : 0;
	char buf[64];
	if (cg->mode == CG_V2) {
		if (p)
			snprintf(buf, sizeof(buf), "%llu %llu",
				 (unsigned long long)(p->amount * CFS_PERIOD / 100), CFS_PERIOD);
		else
			snprintf(buf, sizeof(buf), "max %llu", CFS_PERIOD);
		return cgw(d, "cpu.max", buf, "pcpu");
	}
	if (!p && !cg_exists_at(d, "cpu.cfs_quota_us"))
		return 0;
	snprintf(buf, sizeof(buf), "%llu", CFS_PERIOD);
	if (cgw(d, "cpu.cfs_period_us", buf, "pcpu") < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%llu",
		 p ? (unsigned long long)(p->amount * CFS_PERIOD / 100) : 0);
	return cgw(d, "cpu.cfs_quota_us", p ? buf : "-1", "pcpu");
}

static int apply_pids(const struct cgroup *cg, const struct limits *l)
{
	const struct limit_val *a = deny(l, LIM_MAXPROC), *b = deny(l, LIM_NTHR);
	const char *what = a ? "maxproc" : "nthr";
	const char *d = (a || b) ? need(cg, "pids", what) : have(cg, "pids");
	if (!d)
		return (a || b) ? -1 : 0;
	uint64_t n = UINT64_MAX;
	if (a)
		n = a->amount;
	if (b && b->amount < n)
		n = b->amount;
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	return cgw(d, "pids.max", (a || b) ? buf : "max", what);
}

static const char *const v1io[4] = {
	"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
static const char *const v2io[4] = {"rbps", "wbps", "riops", "wiops"};

static int apply_io(const struct cgroup *cg, const struct limits *l)
{
	bool any = false;
	for (int i = 0; i < 4; i++)
		any |= deny(l, LIM_READBPS + i) != NULL;
	const char *ctl = cg->mode == CG_V2 ? "io" : "blkio";
	const char *what = "readbps/writebps/readiops/writeiops";
	const char *d = any ? need(cg, ctl, what) : have(cg, ctl);
	if (!d)
		return any ? -1 : 0;
	struct strv devs = {0};
	block_devices(&devs);
	if (any && devs.n == 0) {
		ioc_err("cannot apply %s: /sys/block lists no block device to throttle", what);
		sv_free(&devs);
		return -1;
	}
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < devs.n; k++) {
		if (cg->mode == CG_V2) {
			struct sbuf b;
			sb_init(&b);
			sb_add(&b, devs.v[k]);
			for (int i = 0; i < 4; i++) {
				const struct limit_val *v = deny(l, LIM_READBPS + i);
				if (v)
					sb_printf(&b, " %s=%" PRIu64, v2io[i], v->amount);
				else
					sb_printf(&b, " %s=max", v2io[i]);
			}
			if (any || cg_exists_at(d, "io.max"))
				rc = cgw(d, "io.max", b.s, lim_name(LIM_READBPS));
			sb_free(&b);
			continue;
		}
		for (int i = 0; rc == 0 && i < 4; i++) {
			const struct limit_val *v = deny(l, LIM_READBPS + i);
			if (!v && !cg_exists_at(d, v1io[i]))
				continue;
			char *val = xasprintf("%s %" PRIu64, devs.v[k], v ? v->amount : 0);
			rc = cgw(d, v1io[i], val, lim_name(LIM_READBPS + i));
			free(val);
		}
	}
	sv_free(&devs);
	return rc;
}

const char *lim_v1io_file(enum lim_id id) { return v1io[id - LIM_READBPS]; }

const char *lim_cpuset_file(const struct cgroup *cg)
{
	return cg_noprefix(cg, "cpuset") ? "cpus" : "cpuset.cpus";
}

static int apply_cpuset(const struct cgroup *cg, const char *cpus)
{
	const char *d = *cpus ? need(cg, "cpuset", "cpuset") : have(cg, "cpuset");
	if (!d)
		return *cpus ? -1 : 0;
	const char *f = lim_cpuset_file(cg);
	int rc;
	if (*cpus) {
		rc = cgw(d, f, cpus, "cpuset");
	} else if (cg->mode == CG_V2) {
		/* empty: the parent's CPUs.  Some kernels (Debian's 6.1) refuse an empty
		 * cpuset.cpus while the cgroup has processes (ENOSPC): the parent's effective
		 * CPUs then. */
		char *p = xasprintf("%s/%s", d, f);
		rc = cg_put(p, "\n");
		int e = errno;
		if (rc < 0 && e != ENOSPC)
			ioc_err("cannot apply cpuset: writing an empty list to %s failed: %s", p,
				strerror(e));
		free(p);
		if (rc < 0 && e == ENOSPC) {
			char *parent = xasprintf("%s/..", d);
			char *pc = cg_read_at(parent, "cpuset.cpus.effective");
			rc = pc && *chomp(pc) ? cgw(d, f, pc, "cpuset") : -1;
			if (!pc || !*pc)
				ioc_err("cannot read %s/cpuset.cpus.effective: %s", parent,
					pc ? "empty" : strerror(errno));
			free(pc);
			free(parent);
		}
	} else {
		/* back to the parent's CPUs */
		char *parent = xasprintf("%s/..", d);
		char *pc = cg_read_at(parent, f);
		if (!pc) {
			ioc_err("cannot read %s/%s: %s", parent, f, strerror(errno));
			rc = -1;
		} else {
			rc = cgw(d, f, *chomp(pc) ? pc : "\n", "cpuset");
		}
		free(pc);
		free(parent);
	}
	return rc;
}

int lim_cg_apply(const struct cgroup *cg, const struct limits *l, const char *uuid, bool fresh)
{
	/* A new cgroup has no limits: it needs writes only for what is set. */
	bool any = l->cpuset[0] != '\0';
	for (int i = 0; i < LIM_N; i++)
		any |= l->v[i].action != 0;
	if ((!fresh || any) &&
	    (apply_memory(cg, l) < 0 || apply_cpu(cg, l) < 0 || apply_pids(cg, l) < 0 ||
	     apply_io(cg, l) < 0 || apply_cpuset(cg, l->cpuset) < 0))
		return -1;
	return lim_records_start(uuid, cg);
}

int lim_cg_remove(const struct cgroup *cg)
{
	struct limits none;
	memset(&none, 0, sizeof(none));
	if (apply_memory(cg, &none) < 0 || apply_cpu(cg, &none) < 0 || apply_pids(cg, &none) < 0 ||
	    apply_io(cg, &none) < 0 || apply_cpuset(cg, "") < 0)
		return -1;
	return 0;
}

/* ---- rlimits ---- */

static const struct {
	enum lim_id id;
	int res;
	const char *name;
} rlims[] = {
	{LIM_OPENFILES, RLIMIT_NOFILE, "Max open files"},
	{LIM_VMEMORYUSE, RLIMIT_AS, "Max address space"},
	{LIM_MEMORYLOCKED, RLIMIT_MEMLOCK, "Max locked memory"},
	{LIM_CPUTIME, RLIMIT_CPU, "Max cpu time"},
	{LIM_DATASIZE, RLIMIT_DATA, "Max data size"},
	{LIM_STACKSIZE, RLIMIT_STACK, "Max stack size"},
	{LIM_COREDUMPSIZE, RLIMIT_CORE, "Max core file size"},
};
#define NRLIMS (sizeof(rlims) / sizeof(rlims[0]))

const char *lim_rlimit_name(enum lim_id id)
{
	for (size_t i = 0; i < NRLIMS; i++)
		if (rlims[i].id == id)
			return rlims[i].name;
	return NULL;
}

/* The new limit from the old one: never above the current hard limit. */
static struct rlimit rl_target(const struct limit_val *v, struct rlimit old)
{
	rlim_t a = (rlim_t)v->amount;
	if (old.rlim_max != RLIM_INFINITY && a > old.rlim_max)
		a = old.rlim_max;
	struct rlimit r = {a, a};
	if (v->action == LA_SIGNAL) /* cputime:sigxcpu: SIGXCPU at the soft limit */
		r.rlim_max = old.rlim_max;
	return r;
}

int lim_rlimits_self(const struct limits *l)
{
	for (size_t i = 0; i < NRLIMS; i++) {
		const struct limit_val *v = &l->v[rlims[i].id];
		if (!v->action)
			continue;
		struct rlimit old, r;
		if (getrlimit(rlims[i].res, &old) < 0)
			continue;
		r = rl_target(v, old);
		if (setrlimit(rlims[i].res, &r) < 0) {
			ioc_err("cannot apply %s: setrlimit failed: %s", lim_name(rlims[i].id),
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

int lim_rlimits_pids(const struct cgroup *cg, const struct limits *l, const struct limits *prev,
		     int *stuck)
{
	*stuck = 0;
	pid_t *pids;
	size_t n;
	if (cg_pids(cg, &pids, &n) < 0)
		return -1;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		for (size_t i = 0; i < NRLIMS; i++) {
			const struct limit_val *v = &l->v[rlims[i].id];
			bool was = prev && prev->v[rlims[i].id].action;
			struct rlimit old, r;
			if (!v->action && !was)
				continue; /* never managed by iocell: left as it is */
			if (prlimit(pids[k], rlims[i].res, NULL, &old) < 0)
				break; /* exited meanwhile */
			if (v->action) {
				r = rl_target(v, old);
			} else {
				/* lift: the soft limit up to the hard one; a hard limit below
				 * ours was lowered by us and cannot be raised again */
				struct rlimit self;
				if (getrlimit(rlims[i].res, &self) == 0 &&
				    old.rlim_max < self.rlim_max)
					(*stuck)++;
				if (old.rlim_cur == old.rlim_max)
					continue;
				r = (struct rlimit){old.rlim_max, old.rlim_max};
			}
			if (prlimit(pids[k], rlims[i].res, &r, NULL) < 0 && errno != ESRCH) {
				ioc_err("cannot apply %s to process %d: prlimit failed: %s",
					lim_name(rlims[i].id), (int)pids[k], strerror(errno));
				rc = -1;
				break;
			}
		}
	}
	free(pids);
	return rc;
}

void lim_wallclock_arg(const struct limits *l, char *buf, size_t n)
{
	const struct limit_val *v = &l->v[LIM_WALLCLOCK];
	if (!v->action || v->amount == 0)
		snprintf(buf, n, "%s", "");
	else if (v->action == LA_SIGNAL)
		snprintf(buf, n, "%" PRIu64 ":%d", v->amount, v->signo);
	else
		snprintf(buf, n, "%" PRIu64, v->amount);
}
