/*
 * Resource limits of a running jail, observed: crossings of log limits (recorded in
 * RUNDIR/UUID.limits and the console log), what is in force, current consumption (see
 * jaillimits.h).
 */
#include "core/pool.h"
#include "core/util.h"
#include "linux/jaillimits.h"
#include "linux/rt.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int lim_records_start(const char *uuid, const struct cgroup *cg)
{
	/* Kept when they exist (cap), with the baselines for pcpu:log and the v2
	 * memory.events counter. */
	_cleanup_kv_ struct kv kv = {0};
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
	return rec_write(uuid, &kv);
}

/* ---- log limits ---- */

/* One timestamped line in the console log (when there is one). */
static void console_log(const char *path, const char *msg)
{
	int fd = log_open(path, false);
	log_text(fd, msg);
	if (fd >= 0)
		close(fd);
}

static void crossed(struct kv *kv, const char *logpath, enum lim_id id, long long times,
		    const char *detail)
{
	char key[64];
	snprintf(key, sizeof(key), "%s.crossings", lim_name(id));
	kvsetn(kv, key, kvnum(kv, key) + times);
	char *msg = xasprintf("limit %s crossed (log action): %s", lim_name(id), detail);
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
	struct kv kv = {0};
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
				detail = xasprintf(
					"memory above %s %lld time(s) (memory.events high)", a,
					ev - old);
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
						 : cg_read_num(md, "memory.memsw.usage_in_bytes") -
							   cg_read_num(md, "memory.usage_in_bytes");
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
				detail = xasprintf("average CPU use %lld%% above %" PRIu64
						   "%% since the previous check",
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
	struct kv kv = {0};
	rec_read(uuid, &kv);
	char key[64];
	snprintf(key, sizeof(key), "%s.crossings", lim_name(id));
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
			long long q = cg_read_num(d, "cpu.cfs_quota_us"),
				  p = cg_read_num(d, "cpu.cfs_period_us");
			if (!d)
				return xstrdup("(no cpu controller)");
			if (q < 0)
				return xasprintf("max (cpu.cfs_quota_us -1)");
			return xasprintf("%lld%% (cpu.cfs_quota_us %lld / cpu.cfs_period_us %lld)",
					 p > 0 ? q * 100 / p : 0, q, p);
		}
	case LIM_MAXPROC:
	case LIM_NTHR: return file_value(cg->n ? cg_controller_dir(cg, "pids") : NULL, "pids.max");
	case LIM_READBPS:
	case LIM_WRITEBPS:
	case LIM_READIOPS:
	case LIM_WRITEIOPS:
		if (v2)
			return file_value(cg->n ? cg->dirs[0] : NULL, "io.max");
		return file_value(cg->n ? cg_controller_dir(cg, "blkio") : NULL, lim_v1io_file(id));
	case LIM_PSEUDOTERMINALS: return xstrdup("devpts max (mount option, set at start)");
	case LIM_WALLCLOCK: return xstrdup("init deadline (set at start)");
	default:
		if (lim_rlimit_name(id))
			return proc_limit(init_pid, lim_rlimit_name(id));
	}
	return xstrdup("-");
}

char *lim_cpuset_in_force(const struct cgroup *cg)
{
	const char *d = cg->n ? cg_controller_dir(cg, "cpuset") : NULL;
	if (!d)
		return xstrdup("(no cpuset controller)");
	return file_value(d, cg->mode == CG_V2 ? "cpuset.cpus.effective" : lim_cpuset_file(cg));
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

int lim_usage(const struct cgroup *cg, struct plat_usage *u)
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
