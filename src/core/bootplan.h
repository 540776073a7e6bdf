/*
 * The order of rcboot and rcshutdown (pure logic, unit-tested), and bootplan_run, which
 * runs it with worker processes (core/bootrun.c; cmd/boot.c says what a worker does).
 *
 * Nodes are jails with a priority (0-99) and the names in their `depends` (tags or
 * UUIDs).  A dependency is pulled forward to the effective priority of its earliest
 * dependant: eff(D) = min(priority(D), eff(J) for every J that depends on D).
 *
 *   boot      a node may start when every node of a lower effective priority is finished
 *             (up, failed or skipped) and each of its dependencies is up.  A node whose
 *             dependency failed or was skipped is skipped (its reason names it); a node
 *             naming an unknown jail, or in a dependency cycle, fails at once.
 *   shutdown  the reverse: a node may stop when every node of a higher effective
 *             priority is finished and every node that depends on it is stopped (or
 *             failed to stop: the host is going down, nothing is skipped).
 * Nodes that may go at the same time are independent: the caller runs them in parallel.
 */
#ifndef IOC_BOOTPLAN_H
#define IOC_BOOTPLAN_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>

/* BN_OUT: not part of this run (neither asked for nor needed by a node that is). */
enum boot_state { BN_WAITING, BN_RUNNING, BN_UP, BN_FAILED, BN_SKIPPED, BN_OUT };

struct boot_node {
	char uuid[37];
	char *tag;
	int prio, eff;
	char *depends; /* the property's text ("none") */
	size_t *deps;  /* indexes of the nodes it depends on */
	size_t ndeps;
	enum boot_state st;
	bool wanted;
	char *why;  /* failed/skipped: the reason */
	void *data; /* the caller's */
};

struct bootplan {
	struct boot_node *v;
	size_t n;
	bool reverse; /* shutdown */
};

/* An empty plan; add nodes, then bootplan_resolve.  wanted: the node is asked for (boot:
 * boot=on; shutdown: running).  Boot takes in the nodes wanted ones depend on, too. */
void bootplan_init(struct bootplan *p, bool reverse);
size_t bootplan_add(struct bootplan *p, const char *uuid, const char *tag, int prio,
		    const char *depends, bool wanted);
/* Resolve the names in depends (unknown: the node fails; boot only), find cycles (their
 * nodes fail, the reason showing the cycle), compute effective priorities. */
void bootplan_resolve(struct bootplan *p);
/* A node that may go now (marked BN_RUNNING), or -1 (wait for one to finish, or done). */
long bootplan_next(struct bootplan *p);
/* A running node finished: up (started / stopped) or failed with why.  Boot: the nodes
 * depending on a failed one, directly or not, are skipped. */
void bootplan_done(struct bootplan *p, size_t i, bool ok, const char *why);
/* Every node finished? */
bool bootplan_finished(const struct bootplan *p);
void bootplan_free(struct bootplan *p);

/* What a worker does for node i (in a process of its own): 0 done, or -1 with the error
 * recorded (printed by the worker) and the reason for the summary in why (default: the
 * error's message). */
typedef int (*bootplan_work_fn)(const struct bootplan *p, size_t i, void *ctx, char *why, size_t n);
/* Run the plan: every node that may go is given to a forked worker, up to jobs at a time,
 * until every node is finished.  0, or -1 with the error (waitpid failed). */
int bootplan_run(struct bootplan *p, int jobs, bootplan_work_fn work, void *ctx);

/* `set depends=VALUE` on the jail (uuid, tag) among all jails (uuids, tags, their depends):
 * every name known, no cycle through the jail.  false with a message in err. */
bool depends_valid(const char *uuid, const char *value, const struct strv *uuids,
		   const struct strv *tags, const struct strv *depends, char *err, size_t errlen);

#endif
