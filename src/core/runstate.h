/*
 * Runtime state of running jails, under the runtime directory (tmpfs, cleared at boot):
 *   UUID.state   key=value lines written at start: everything exec, console and stop
 *                need, so they make no zfs call
 *   UUID.started the time of the jail's last successful start (SPEC §5 step 6), kept after
 *                stop; `get` shows it as last_started, rcshutdown copies it into ZFS
 *   jids/N       symlink to UUID: the jail holding JID N (allocated with symlink(2),
 *                which is atomic: two starts never get the same number)
 *   idranges/B   symlink to UUID: the running jail whose user namespace maps to host ids
 *                B.. (idmap_base), claimed the same way
 */
#ifndef IOC_RUNSTATE_H
#define IOC_RUNSTATE_H

#include "core/zfs.h"
#include <stdint.h>
#include <sys/types.h>

struct runstate {
	char uuid[37];
	struct kv kv; /* the keys below, and the configuration core/jailconf.h keeps there */
};

/* The runtime's own keys (the jail's configuration is kept under its properties' names,
 * see jailconf_to_state). */
#define RS_PHASE "phase" /* starting | running | stopping */
#define RS_JID "jid"
#define RS_PID "pid"             /* the jail's init, on the host */
#define RS_STARTTIME "starttime" /* of the init (proc_starttime): a reused PID is not it */
#define RS_STARTED "started"     /* time of the successful start */
#define RS_ROOT "root"           /* host path of the jail's root */
#define RS_POOL "pool"           /* the pool the jail is on (stop ALL: the active pool's) */
#define RS_LOG "log"             /* its console log */
#define RS_NETNS "netns"         /* own | host */
#define RS_IPCNS "ipcns"         /* own | host */
#define RS_CGROUP "cgroup"       /* the cgroup mode, once the cgroup exists */
#define RS_CGPATH "cgpath"       /* systemd hosts: the jail's cgroup below /sys/fs/cgroup */
#define RS_CGUNIT "cgunit"       /* systemd hosts: its scope unit */
#define RS_IFACES "ifaces"       /* network (linux/jailnet.h) */
#define RS_ZONED "zoned"         /* allow_mount_zfs: the dataset delegated (zfs zone) */
#define RS_ADDR4 "addr4"
#define RS_ADDR6 "addr6"
#define RS_PHASE_STARTING "starting"
#define RS_PHASE_RUNNING "running"
/* A stop at work (written before its first step): a jail whose stop's owner died is
 * not running, and the next command that looks (list, start, stop) finishes the stop. */
#define RS_PHASE_STOPPING "stopping"

/* Read UUID.state.  Returns 1 when found, 0 when absent, -1 on error. */
int rs_read(const char *uuid, struct runstate *rs);
int rs_write(const struct runstate *rs);
/* The state file's text: "key=value" lines, \n and \\ escaped in values (lines without
 * '=' are ignored).  rs_parse adds TEXT's keys to rs->kv (initialised); rs_format gives
 * the text of rs->kv, malloc'd.  No file I/O. */
void rs_parse(struct runstate *rs, const char *text);
char *rs_format(const struct runstate *rs);
int rs_remove(const char *uuid);
void rs_free(struct runstate *rs);
const char *rs_get(const struct runstate *rs, const char *key);
long long rs_num(const struct runstate *rs, const char *key, long long dflt);
void rs_set(struct runstate *rs, const char *key, const char *val);
void rs_setn(struct runstate *rs, const char *key, long long val);

/* State (field 3 of /proc/PID/stat, e.g. 'R', 'S', 'Z'; state may be NULL) and start
 * time (clock ticks since boot, field 22) of a process: 0, or -1 when there is none. */
int proc_info(pid_t pid, char *state, unsigned long long *start);
/* Start time of a process, or 0. */
unsigned long long proc_starttime(pid_t pid);
/* Is the process PID with that start time alive (and not a zombie)? */
bool proc_alive(pid_t pid, unsigned long long start);
/* Is the jail's init (pid + starttime from the state) still alive and not a zombie? */
bool rs_alive(const struct runstate *rs);
/* Alive and done starting. */
bool rs_running(const struct runstate *rs);
/* Does the jail belong to pool POOL (mountroot: that pool's mount root, for a state
 * written before the pool was recorded)? */
bool rs_on_pool(const struct runstate *rs, const char *pool, const char *mountroot);

/* Allocate the smallest free JID for uuid (1, 2, ...).  -1 on error. */
int jid_alloc(const char *uuid);
void jid_release(int jid, const char *uuid);
/* A running jail's id range (idmap_base): claimed at start (RUNDIR/idranges/BASE, a
 * symlink to the UUID), so that two running jails never share one.  0, or -1 with the
 * error recorded (naming the jail that holds it).  A claim whose jail has no runtime state
 * any more is taken over. */
int idrange_claim(uint32_t base, const char *uuid);
void idrange_release(uint32_t base, const char *uuid);

/* The last successful start's time stamp (time_tag format), or NULL. */
int rs_started_write(const char *uuid, const char *stamp);
char *rs_started_read(const char *uuid);
void rs_started_drop(const char *uuid);
/* Copy the last start's time stamp into the jail's last_started property (and drop it
 * here): kept across a reboot.  0 when done or nothing to copy, -1 with the error. */
int rs_started_persist(const char *uuid);

/* Every UUID with a state file. */
int rs_list(struct strv *uuids);

#endif
