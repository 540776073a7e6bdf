/* Resource limits of a jail: see jaillimits.h for the mechanisms. */
#include "linux/jaillimits.h"
#include "core/pool.h"
#include "core/props.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const lim_names[LIM_N] = {
	"memoryuse", "pcpu", "maxproc", "openfiles", "vmemoryuse", "memorylocked", "swapuse",
	"nthr", "pseudoterminals", "cputime", "datasize", "stacksize", "coredumpsize", "readbps",
	"writebps", "readiops", "writeiops", "wallclock",
};

#define CFS_PERIOD 100000ULL

/* Write val to dir/file for limit what; errors name the file and the reason. */
static int cgw(const char *dir, const char *file, const char *val, const char *what)
{
	char *p = xasprintf("%s/%s", dir, file);
	int rc = cg_put(p, val);
	if (rc < 0) {
		int e = errno;
		if (e == ENOENT) {
			ioc_err("cannot apply %s: %s does not exist (this kernel lacks it)", what, p);
			if (streq(file, "memory.memsw.limit_in_bytes"))
				ioc_hint("swap accounting is off: boot the host with swapaccount=1");
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

/* ---- loading ---- */

int lim_load(struct limits *l, lim_get_fn get, const void *obj)
{
	memset(l, 0, sizeof(*l));
	const char *on = get(obj, "rlimits");
	l->on = on && streq(on, "on");
	const char *cs = get(obj, "cpuset");
	if (cs && !streq(cs, "off") && !streq(cs, "none")) {
		uint64_t mask[16];
		int hi;
		if (strlen(cs) >= sizeof(l->cpuset) || !parse_cpulist(cs, mask, &hi)) {
			ioc_err("invalid cpuset \"%s\": not a CPU list", cs);
			return -1;
		}
		snprintf(l->cpuset, sizeof(l->cpuset), "%s", cs);
	}
	if (!l->on)
		return 0;
	for (int i = 0; i < LIM_N; i++) {
		const struct propdef *p = prop_find(lim_names[i]);
		const char *v = get(obj, lim_names[i]);
		if (!p)
			continue;
		if (!v)
			v = p->def ? p->def : "off";
		if (streq(v, "off") || streq(v, "none"))
			continue;
		char why[256];
		if (!parse_limit(v, p->unit, p->actions, &l->v[i], why, sizeof(why))) {
			ioc_err("invalid %s \"%s\": %s", lim_names[i], v, why);
			return -1;
		}
	}
	return 0;
}

void lim_to_state(struct runstate *rs, lim_get_fn get, const void *obj)
{
	const char *keys[] = {"rlimits", "cpuset"};
	for (int i = 0; i < 2; i++) {
		const char *v = get(obj, keys[i]);
		rs_set(rs, keys[i], v ? v : "off");
	}
	for (int i = 0; i < LIM_N; i++) {
		const char *v = get(obj, lim_names[i]);
		rs_set(rs, lim_names[i], v ? v : "off");
	}
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
			"(/proc/self/mountinfo lists none)", what, ctl);
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
				"from its cgroup.controllers)", what, ctl, d);
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
		static const char *probe[][2] = {{"memory", "memory.max"}, {"cpu", "cpu.max"},
			{"pids", "pids.max"}, {"io", "io.max"}, {"cpuset", "cpuset.cpus"}};
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
	char buf[64], hb[64];
	if (cg->mode == CG_V2) {
		snprintf(buf, sizeof(buf), "%" PRIu64, m ? m->amount : 0);
		if (cgw(d, "memory.max", m ? buf : "max", "memoryuse") < 0)
			return -1;
		snprintf(hb, sizeof(hb), "%" PRIu64, l->v[LIM_MEMORYUSE].amount);
		if (cgw(d, "memory.high", mlog ? hb : "max", "memoryuse") < 0)
			return -1;
		if (s || cg_exists_at(d, "memory.swap.max")) {
			snprintf(buf, sizeof(buf), "%" PRIu64, s ? s->amount : 0);
			if (cgw(d, "memory.swap.max", s ? buf : "max", "swapuse") < 0)
				return -1;
		}
		return 0;
	}
	bool memsw = cg_exists_at(d, "memory.memsw.limit_in_bytes");
	if (s && !memsw)
		return cgw(d, "memory.memsw.limit_in_bytes", "0", "swapuse");
	/* memsw must stay >= the memory limit: lift it first, set it last. */
	if (memsw && cgw(d, "memory.memsw.limit_in_bytes", "-1", "swapuse") < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%" PRIu64, m ? m->amount : 0);
	if (cgw(d, "memory.limit_in_bytes", m ? buf : "-1", "memoryuse") < 0)
		return -1;
	snprintf(hb, sizeof(hb), "%" PRIu64, l->v[LIM_MEMORYUSE].amount);
	if (cgw(d, "memory.soft_limit_in_bytes", mlog ? hb : "-1", "memoryuse") < 0)
		return -1;
	if (s) {
		uint64_t base = m ? m->amount : (uint64_t)mem_total();
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
			snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)(p->amount * CFS_PERIOD / 100),
				 CFS_PERIOD);
		else
			snprintf(buf, sizeof(buf), "max %llu", CFS_PERIOD);
		return cgw(d, "cpu.max", buf, "pcpu");
	}
	if (!p && !cg_exists_at(d, "cpu.cfs_quota_us"))
		return 0;
	snprintf(buf, sizeof(buf), "%llu", CFS_PERIOD);
	if (cgw(d, "cpu.cfs_period_us", buf, "pcpu") < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%llu", p ? (unsigned long long)(p->amount * CFS_PERIOD / 100) : 0);
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

static const char *const v1io[4] = {"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
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
				rc = cgw(d, "io.max", b.s, lim_names[LIM_READBPS]);
			sb_free(&b);
			continue;
		}
		for (int i = 0; rc == 0 && i < 4; i++) {
			const struct limit_val *v = deny(l, LIM_READBPS + i);
			if (!v && !cg_exists_at(d, v1io[i]))
				continue;
			char *val = xasprintf("%s %" PRIu64, devs.v[k], v ? v->amount : 0);
			rc = cgw(d, v1io[i], val, lim_names[LIM_READBPS + i]);
			free(val);
		}
	}
	sv_free(&devs);
	return rc;
}

static char *cpuset_file(const struct cgroup *cg)
{
	return xstrdup(cg_noprefix(cg, "cpuset") ? "cpus" : "cpuset.cpus");
}

static int apply_cpuset(const struct cgroup *cg, const char *cpus)
{
	const char *d = *cpus ? need(cg, "cpuset", "cpuset") : have(cg, "cpuset");
	if (!d)
		return *cpus ? -1 : 0;
	char *f = cpuset_file(cg);
	int rc;
	if (*cpus) {
		rc = cgw(d, f, cpus, "cpuset");
	} else if (cg->mode == CG_V2) {
		rc = cgw(d, f, "\n", "cpuset");
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
	free(f);
	return rc;
}

/* ---- crossing records: RUNDIR/UUID.limits, key=value ---- */

static char *rec_path(const char *uuid) { return xasprintf("%s/%s.limits", rundir(), uuid); }

static void rec_read(const char *uuid, struct kv *kv)
{
	kv_init(kv);
	char *p = rec_path(uuid);
	char *t = cg_read(p);
	free(p);
	if (!t)
		return;
	struct strv lines = {0};
	split(&lines, t, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		char *eq = strchr(lines.v[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		kv_set(kv, lines.v[i], eq + 1);
	}
	sv_free(&lines);
	free(t);
}

static int rec_write(const char *uuid, const struct kv *kv)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < kv->k.n; i++)
		sb_printf(&b, "%s=%s\n", kv->k.v[i], kv->v.v[i]);
	char *p = rec_path(uuid);
	int rc = write_file_cache(p, b.s ? b.s : "", b.len, 0644); /* runtime data */
	free(p);
	sb_free(&b);
	return rc;
}

static long long kvnum(const struct kv *kv, const char *k)
{
	const char *v = kv_get(kv, k);
	return v ? strtoll(v, NULL, 10) : 0;
}

static void kvsetn(struct kv *kv, const char *k, long long n)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", n);
	kv_set(kv, k, buf);
}

static long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long cpu_usage_us(const struct cgroup *cg)
{
	if (cg->mode == CG_V2)
		return cg_read_key(cg->dirs[0], "cpu.stat", "usage_usec");
	long long ns = cg_read_num(cg_controller_dir(cg, "cpuacct"), "cpuacct.usage");
	return ns < 0 ? -1 : ns / 1000;
}

void lim_forget(const char *uuid)
{
	char *p = rec_path(uuid);
	if (unlink(p) < 0 && errno != ENOENT)
		ioc_warn("cannot remove %s: %s", p, strerror(errno));
	free(p);
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
	/* Crossing records (kept when they exist: cap), with the baselines for pcpu:log and
	 * the v2 memory.events counter. */
	struct kv kv;
	rec_read(uuid, &kv);
	if (!kv_get(&kv, "pcpu.t")) {
		kvsetn(&kv, "pcpu.t", mono_us());
		kvsetn(&kv, "pcpu.u", cpu_usage_us(cg));
	}
	if (!kv_get(&kv, "memoryuse.events")) {
		long long ev = cg_read_key(cg->n ? cg_controller_dir(cg, "memory") : NULL,
					"memory.events", "high");
		kvsetn(&kv, "memoryuse.events", ev < 0 ? 0 : ev);
	}
	int rc = rec_write(uuid, &kv);
	kv_free(&kv);
	return rc;
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
			ioc_err("cannot apply %s: setrlimit failed: %s", lim_names[rlims[i].id],
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
				continue;   /* never managed by iocell: left as it is */
			if (prlimit(pids[k], rlims[i].res, NULL, &old) < 0)
				break;      /* exited meanwhile */
			if (v->action) {
				r = rl_target(v, old);
			} else {
				/* lift: the soft limit up to the hard one; a hard limit below
				 * ours was lowered by us and cannot be raised again */
				struct rlimit self;
				if (getrlimit(rlims[i].res, &self) == 0 && old.rlim_max < self.rlim_max)
					(*stuck)++;
				if (old.rlim_cur == old.rlim_max)
					continue;
				r = (struct rlimit){old.rlim_max, old.rlim_max};
			}
			if (prlimit(pids[k], rlims[i].res, &r, NULL) < 0 && errno != ESRCH) {
				ioc_err("cannot apply %s to process %d: prlimit failed: %s",
					lim_names[rlims[i].id], (int)pids[k], strerror(errno));
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

/* ---- log limits ---- */

static void console_log(const char *path, const char *msg)
{
	if (!path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "[%Y-%m-%d %H:%M:%S] ", &tm);
	char *line = xasprintf("%s%s\n", ts, msg);
	if (write(fd, line, strlen(line)) < 0) {
		/* the record file still counts it */
	}
	free(line);
	close(fd);
}

static void crossed(struct kv *kv, const char *logpath, enum lim_id id, long long times,
		    const char *detail)
{
	char key[64];
	snprintf(key, sizeof(key), "%s.crossings", lim_names[id]);
	kvsetn(kv, key, kvnum(kv, key) + times);
	char *msg = xasprintf("limit %s crossed (log action): %s", lim_names[id], detail);
	console_log(logpath, msg);
	free(msg);
}

void lim_check_log(const char *uuid, const struct cgroup *cg, const struct limits *l,
		   const char *logpath)
{
	bool any = false;
	for (int i = 0; i < LIM_N; i++)
		any |= l->v[i].action == LA_LOG;
	if (!any || cg->n == 0)
		return;
	struct kv kv;
	rec_read(uuid, &kv);
	const char *md = cg_controller_dir(cg, "memory");
	char a[32], b[32];
	char *detail;
	if (l->v[LIM_MEMORYUSE].action == LA_LOG && md) {
		uint64_t lim = l->v[LIM_MEMORYUSE].amount;
		fmt_size(lim, a, sizeof(a));
		if (cg->mode == CG_V2) {
			long long ev = cg_read_key(md, "memory.events", "high");
			long long old = kvnum(&kv, "memoryuse.events");
			if (ev > old) {
				detail = xasprintf("memory above %s %lld time(s) (memory.events high)", a, ev - old);
				crossed(&kv, logpath, LIM_MEMORYUSE, ev - old, detail);
				free(detail);
				kvsetn(&kv, "memoryuse.events", ev);
			}
		} else {
			long long peak = cg_read_num(md, "memory.max_usage_in_bytes");
			if (peak >= 0 && (uint64_t)peak >= lim) {
				fmt_size((uint64_t)peak, b, sizeof(b));
				detail = xasprintf("memory peak %s above %s", b, a);
				crossed(&kv, logpath, LIM_MEMORYUSE, 1, detail);
				free(detail);
				char *p = xasprintf("%s/memory.max_usage_in_bytes", md);
				if (cg_put(p, "0") < 0) {
					/* the next check sees the same peak again */
				}
				free(p);
			}
		}
	}
	if (l->v[LIM_SWAPUSE].action == LA_LOG && md) {
		long long sw = cg->mode == CG_V2 ? cg_read_num(md, "memory.swap.current")
			: cg_read_num(md, "memory.memsw.usage_in_bytes") - cg_read_num(md, "memory.usage_in_bytes");
		if (sw > 0 && (uint64_t)sw >= l->v[LIM_SWAPUSE].amount) {
			fmt_size((uint64_t)sw, b, sizeof(b));
			fmt_size(l->v[LIM_SWAPUSE].amount, a, sizeof(a));
			detail = xasprintf("swap %s above %s", b, a);
			crossed(&kv, logpath, LIM_SWAPUSE, 1, detail);
			free(detail);
		}
	}
	if (l->v[LIM_PCPU].action == LA_LOG) {
		long long u = cpu_usage_us(cg), t = mono_us();
		long long u0 = kvnum(&kv, "pcpu.u"), t0 = kvnum(&kv, "pcpu.t");
		if (u >= 0 && t > t0 && t0 > 0) {
			long long pct = (u - u0) * 100 / (t - t0);
			if (pct > (long long)l->v[LIM_PCPU].amount) {
				detail = xasprintf("average CPU use %lld%% above %" PRIu64 "%% since the previous check",
						   pct, l->v[LIM_PCPU].amount);
				crossed(&kv, logpath, LIM_PCPU, 1, detail);
				free(detail);
			}
		}
		kvsetn(&kv, "pcpu.u", u);
		kvsetn(&kv, "pcpu.t", t);
	}
	const char *pd = cg_controller_dir(cg, "pids");
	long long tasks = cg_read_num(pd, "pids.current");
	if (cg->mode == CG_V2 && cg_exists_at(pd ? pd : "/nonexistent", "pids.peak"))
		tasks = cg_read_num(pd, "pids.peak");
	for (int id = LIM_MAXPROC; id <= LIM_NTHR; id += LIM_NTHR - LIM_MAXPROC) {
		if (l->v[id].action != LA_LOG || tasks < 0 || (uint64_t)tasks < l->v[id].amount)
			continue;
		detail = xasprintf("%lld tasks, limit %" PRIu64, tasks, l->v[id].amount);
		crossed(&kv, logpath, (enum lim_id)id, 1, detail);
		free(detail);
	}
	if (rec_write(uuid, &kv) < 0) {
		ioc_warn("%s", ioc_errmsg());
		ioc_err_clear();
	}
	kv_free(&kv);
}

long long lim_crossings(const char *uuid, enum lim_id id)
{
	struct kv kv;
	rec_read(uuid, &kv);
	char key[64];
	snprintf(key, sizeof(key), "%s.crossings", lim_names[id]);
	long long n = kvnum(&kv, key);
	kv_free(&kv);
	return n;
}

/* ---- reading back ---- */

static char *file_value(const char *dir, const char *file)
{
	if (!dir)
		return xstrdup("(no controller)");
	char *t = cg_read_at(dir, file);
	if (!t)
		return xasprintf("(%s: %s)", file, strerror(errno));
	chomp(t);
	for (char *p = t; *p; p++)
		if (*p == '\n')
			*p = ';';
	char *r = xasprintf("%s (%s)", *t ? t : "none", file);
	free(t);
	return r;
}

static char *proc_limit(pid_t pid, const char *name)
{
	if (pid <= 0)
		return xstrdup("-");
	char *p = xasprintf("/proc/%d/limits", (int)pid);
	char *t = cg_read(p);
	free(p);
	if (!t)
		return xstrdup("-");
	char *res = NULL;
	struct strv lines = {0};
	split(&lines, t, "\n", true);
	for (size_t i = 0; i < lines.n && !res; i++) {
		if (!startswith(lines.v[i], name))
			continue;
		struct strv f = {0};
		split(&f, lines.v[i] + strlen(name), " ", true);
		if (f.n >= 2)
			res = xasprintf("soft %s hard %s (init's rlimit)", f.v[0], f.v[1]);
		sv_free(&f);
	}
	sv_free(&lines);
	free(t);
	return res ? res : xstrdup("-");
}

char *lim_in_force(const struct cgroup *cg, enum lim_id id, pid_t init_pid)
{
	bool v2 = cg->mode == CG_V2;
	const char *md = cg->n ? cg_controller_dir(cg, "memory") : NULL;
	switch (id) {
	case LIM_MEMORYUSE:
		if (v2) {
			char *a = file_value(md, "memory.max"), *b = file_value(md, "memory.high");
			char *r = xasprintf("%s, %s", a, b);
			free(a);
			free(b);
			return r;
		} else {
			char *a = file_value(md, "memory.limit_in_bytes");
			char *b = file_value(md, "memory.soft_limit_in_bytes");
			char *r = xasprintf("%s, %s", a, b);
			free(a);
			free(b);
			return r;
		}
	case LIM_SWAPUSE:
		return file_value(md, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes");
	case LIM_PCPU:
		if (v2)
			return file_value(cg->n ? cg->dirs[0] : NULL, "cpu.max");
		else {
			const char *d = cg->n ? cg_controller_dir(cg, "cpu") : NULL;
			long long q = cg_read_num(d, "cpu.cfs_quota_us"), p = cg_read_num(d, "cpu.cfs_period_us");
			if (!d)
				return xstrdup("(no cpu controller)");
			if (q < 0)
				return xasprintf("max (cpu.cfs_quota_us -1)");
			return xasprintf("%lld%% (cpu.cfs_quota_us %lld / cpu.cfs_period_us %lld)",
					 p > 0 ? q * 100 / p : 0, q, p);
		}
	case LIM_MAXPROC:
	case LIM_NTHR:
		return file_value(cg->n ? cg_controller_dir(cg, "pids") : NULL, "pids.max");
	case LIM_READBPS:
	case LIM_WRITEBPS:
	case LIM_READIOPS:
	case LIM_WRITEIOPS:
		if (v2)
			return file_value(cg->n ? cg->dirs[0] : NULL, "io.max");
		return file_value(cg->n ? cg_controller_dir(cg, "blkio") : NULL,
				  v1io[id - LIM_READBPS]);
	case LIM_PSEUDOTERMINALS:
		return xstrdup("devpts max (mount option, set at start)");
	case LIM_WALLCLOCK:
		return xstrdup("init deadline (set at start)");
	default:
		for (size_t i = 0; i < NRLIMS; i++)
			if (rlims[i].id == id)
				return proc_limit(init_pid, rlims[i].name);
	}
	return xstrdup("-");
}

char *lim_cpuset_in_force(const struct cgroup *cg)
{
	const char *d = cg->n ? cg_controller_dir(cg, "cpuset") : NULL;
	if (!d)
		return xstrdup("(no cpuset controller)");
	char *f = cpuset_file(cg);
	char *r = file_value(d, cg->mode == CG_V2 ? "cpuset.cpus.effective" : f);
	free(f);
	return r;
}

/* ---- usage ---- */

static long long count_fds(pid_t pid)
{
	char *p = xasprintf("/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	free(p);
	if (!d)
		return 0;
	long long n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long long count_threads(pid_t pid)
{
	char *p = xasprintf("/proc/%d/status", (int)pid);
	char *t = cg_read(p);
	free(p);
	if (!t)
		return 0;
	char *q = strstr(t, "\nThreads:");
	long long n = q ? strtoll(q + 9, NULL, 10) : 0;
	free(t);
	return n;
}

/* Sum "MAJ:MIN Read N" style lines (v1 blkio) for op. */
static long long blkio_sum(const char *dir, const char *file, const char *op)
{
	if (!dir)
		return -1;
	char *t = cg_read_at(dir, file);
	if (!t)
		return -1;
	long long sum = 0;
	struct strv lines = {0};
	split(&lines, t, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		struct strv f = {0};
		split(&f, lines.v[i], " ", true);
		if (f.n == 3 && streq(f.v[1], op))
			sum += strtoll(f.v[2], NULL, 10);
		sv_free(&f);
	}
	sv_free(&lines);
	free(t);
	return sum;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." summed for key. */
static long long iostat_sum(const char *dir, const char *key)
{
	char *t = cg_read_at(dir, "io.stat");
	if (!t)
		return -1;
	long long sum = 0;
	size_t kl = strlen(key);
	struct strv f = {0};
	split(&f, t, " \n", true);
	for (size_t i = 0; i < f.n; i++)
		if (strncmp(f.v[i], key, kl) == 0 && f.v[i][kl] == '=')
			sum += strtoll(f.v[i] + kl + 1, NULL, 10);
	sv_free(&f);
	free(t);
	return sum;
}

int lim_usage(const struct cgroup *cg, struct lim_usage *u)
{
	memset(u, 0, sizeof(*u));
	pid_t *pids;
	size_t n;
	if (cg_pids(cg, &pids, &n) < 0)
		return -1;
	u->procs = (long long)n;
	for (size_t i = 0; i < n; i++) {
		u->openfiles += count_fds(pids[i]);
		u->threads += count_threads(pids[i]);
	}
	free(pids);
	const char *md = cg_controller_dir(cg, "memory");
	if (cg->mode == CG_V2) {
		u->mem = cg_read_num(md, "memory.current");
		u->swap = cg_read_num(md, "memory.swap.current");
		u->rbytes = iostat_sum(cg->dirs[0], "rbytes");
		u->wbytes = iostat_sum(cg->dirs[0], "wbytes");
		u->rios = iostat_sum(cg->dirs[0], "rios");
		u->wios = iostat_sum(cg->dirs[0], "wios");
	} else {
		u->mem = cg_read_num(md, "memory.usage_in_bytes");
		long long sw = cg_read_num(md, "memory.memsw.usage_in_bytes");
		u->swap = sw >= 0 && u->mem >= 0 ? (sw > u->mem ? sw - u->mem : 0) : -1;
		const char *bd = cg_controller_dir(cg, "blkio");
		u->rbytes = blkio_sum(bd, "blkio.throttle.io_service_bytes_recursive", "Read");
		u->wbytes = blkio_sum(bd, "blkio.throttle.io_service_bytes_recursive", "Write");
		u->rios = blkio_sum(bd, "blkio.throttle.io_serviced_recursive", "Read");
		u->wios = blkio_sum(bd, "blkio.throttle.io_serviced_recursive", "Write");
	}
	u->cpu_us = cpu_usage_us(cg);
	return 0;
}
