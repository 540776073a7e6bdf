/*
 * The Linux runtime: jails from mount, PID, UTS, IPC, cgroup (and network) namespaces,
 * pivot_root, a reduced capability set and a seccomp deny-list, with iocell-init as PID 1.
 * The command layer calls these; they never parse user input.
 */
#ifndef IOC_RUNTIME_H
#define IOC_RUNTIME_H

#include "core/jail.h"
#include "core/runstate.h"

/* Start a loaded jail (the caller holds its lock).  force: start a template.
 * On success *jid is set.  On failure everything done is undone. */
/* Start j.  With sp (jail_resolve_spec), j may be a cached configuration: the result is
 * then RT_RESTART when the real one differs, everything undone; start again with
 * sp->fresh.  Otherwise 0, or -1 with the error recorded. */
#define RT_RESTART 1
int rt_start(struct jail *j, bool force, int *jid, struct jail_spec *sp);

/* Stop the jail described by its runtime state (the caller holds its lock):
 * exec_prestop, exec_stop (unless force), SIGTERM, SIGKILL after stop_timeout, cgroup
 * and state removed, exec_poststop.  Also cleans a half-started or crashed jail. */
int rt_stop(struct runstate *rs, bool force);

/* Run argv inside the running jail.  user: NULL for root.  Returns 0 and sets *status
 * (the command's exit status, 128+signal when killed). */
int rt_exec(const struct runstate *rs, const char *user, char *const argv[], int *status);

/* Interactive login shell on a pseudo-terminal allocated inside the jail. */
int rt_console(const struct runstate *rs, int *status);

/* Soft restart: exec_stop, kill every jail process but its init, exec_start again;
 * namespaces, network and limits stay. */
int rt_restart_soft(struct runstate *rs);

/* Run argv (default /bin/sh) in the stopped jail's filesystem: private mount and PID
 * namespaces, transient /proc and /dev, the host's network, the jail's privileges. */
int rt_chroot(struct jail *j, char *const argv[], int *status);

/* Load a running jail's runtime state by name without any zfs call when possible
 * (UUID, or tag/prefix through the index).  Returns 1 when running, 0 when the jail
 * exists but is not running (rs is then empty), -1 on error. */
int rt_lookup(const char *name, struct runstate *rs, char uuid_out[37]);

/* Print the live facts of a running jail (runtime command). */
int rt_print_info(const struct runstate *rs);

#endif
