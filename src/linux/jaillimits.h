/*
 * Resource limits of a jail (SPEC §7; their parsed values: core/jailconf.h): cgroup
 * settings on the jail's cgroup (v2 or v1, whichever cg_detect found), rlimits of every
 * jail process, the devpts "max" and the wallclock deadline handed to the jail's init.
 *
 * Mechanisms (v1 file / v2 file):
 *   memoryuse deny  memory.limit_in_bytes / memory.max
 *             log   memory.soft_limit_in_bytes / memory.high; a crossing is detected at
 *                   check time (limits, inuse, cap, stop) from memory.max_usage_in_bytes
 *                   (then reset) / the "high" counter of memory.events
 *   swapuse   deny  memory.memsw.limit_in_bytes = (memory limit, or MemTotal) + swap /
 *                   memory.swap.max;  log: sampled swap use at check time
 *   pcpu      deny  cpu.cfs_quota_us over cpu.cfs_period_us 100000 / cpu.max
 *             log   average use since the previous check above the percentage
 *   maxproc, nthr   pids.max (the smaller of the two; it counts tasks, i.e. threads);
 *             log   pids.current sampled at check time
 *   read/write bps/iops  blkio.throttle.{read,write}_{bps,iops}_device / io.max, for
 *                   every block device of the host with a non-zero size (/sys/block)
 *   cpuset    cpuset.cpus (always when not off, also with rlimits=off)
 *   openfiles vmemoryuse memorylocked datasize stacksize coredumpsize cputime:
 *                   setrlimit of the init and of every process exec/console add;
 *                   prlimit(2) of the running ones for cap.  Without CAP_SYS_RESOURCE
 *                   a limit can only be lowered (the requested value is clamped to the
 *                   process's hard limit).  cputime:sigxcpu sets only the soft limit.
 *   pseudoterminals devpts max=N (at start)
 *   wallclock the init's deadline argument (initproto.h), at start
 * Crossings of log limits go to the console log and a per-jail file RUNDIR/UUID.limits.
 */
#ifndef IOC_LIMITS_H
#define IOC_LIMITS_H

#include "core/jailconf.h"
#include "linux/cgroup.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct plat_usage;

/* ---- applying (jaillimits.c) ---- */

/* Write every cgroup limit (and the cpuset) to the jail's cgroup; limits that are off
 * are reset to unlimited.  A missing controller or file for a limit that is set is an
 * error naming it.  Starts the crossing records of uuid (lim_records_start).  fresh: cg
 * was just created (nothing to reset: only what is set is written). */
int lim_cg_apply(const struct cgroup *cg, const struct limits *l, const char *uuid, bool fresh);
/* Every cgroup limit back to unlimited, the cpuset back to the parent's. */
int lim_cg_remove(const struct cgroup *cg);

/* setrlimit of the calling process (no allocation: usable in a fresh child). */
int lim_rlimits_self(const struct limits *l);
/* prlimit(2) on every process of the cgroup: the rlimits set in l; those set in prev
 * (what was applied before, may be NULL) but no longer in l are lifted: soft limit up to
 * the hard one (a lowered hard limit cannot be raised without CAP_SYS_RESOURCE: *stuck
 * counts those).  Rlimits in neither are left alone. */
int lim_rlimits_pids(const struct cgroup *cg, const struct limits *l, const struct limits *prev,
		     int *stuck);

/* The init's wallclock argument ("SECONDS" or "SECONDS:SIGNO"), "" without one. */
void lim_wallclock_arg(const struct limits *l, char *buf, size_t n);

/* For limstat.c: the v1 blkio throttle file of readbps..writeiops; the cpuset file of
 * the hierarchy; the /proc/PID/limits line of a per-process limit (NULL for others). */
const char *lim_v1io_file(enum lim_id id);
const char *lim_cpuset_file(const struct cgroup *cg);
const char *lim_rlimit_name(enum lim_id id);

/* ---- observing (limstat.c) ---- */

/* The crossing records of uuid with their baselines (kept when they exist: cap). */
int lim_records_start(const char *uuid, const struct cgroup *cg);
/* Check the log limits now: record each new crossing in logpath (the console log) and
 * in RUNDIR/UUID.limits.  Best effort: problems become warnings. */
void lim_check_log(const char *uuid, const struct cgroup *cg, const struct limits *l,
		   const char *logpath);
/* Crossings recorded so far for one limit. */
long long lim_crossings(const char *uuid, enum lim_id id);
/* Remove RUNDIR/UUID.limits (at stop). */
void lim_forget(const char *uuid);

/* What is in force for one limit, read back from the cgroup files / the init's
 * /proc/PID/limits: e.g. "67108864 (memory.limit_in_bytes)", malloc'd. */
char *lim_in_force(const struct cgroup *cg, enum lim_id id, pid_t init_pid);
/* The cpuset in force (cpuset.cpus / cpuset.cpus.effective), malloc'd. */
char *lim_cpuset_in_force(const struct cgroup *cg);

/* Current consumption of a jail. */
int lim_usage(const struct cgroup *cg, struct plat_usage *u);

#endif
