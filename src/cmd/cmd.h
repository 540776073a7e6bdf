/* Shared helpers of the command layer. */
#ifndef IOC_CMD_H
#define IOC_CMD_H

#include "core/jail.h"
#include "core/propset.h" /* validate_assignments */
#include "core/util.h"
#include "cmd/output.h"

/* Return codes of command handlers. */
#define CMD_OK 0
#define CMD_ERR 1
#define CMD_USAGE 2

struct cmddef {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;   /* arguments, e.g. "[-f] NAME..." */
	const char *summary; /* one line */
};
/* The command table (main.c's, ending with a NULL name) that cmd_find and the usage
 * messages look commands up in: registered once, before any handler runs. */
void cmd_register(const struct cmddef *table);
const struct cmddef *cmd_find(const char *name);

/* The command handlers (one file of src/cmd per group), called with their own argv. */
int cmd_activate(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_df(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_defaults(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_snaplist(int argc, char **argv);
int cmd_snapremove(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_chroot(int argc, char **argv);
int cmd_runtime(int argc, char **argv);
int cmd_rcboot(int argc, char **argv);
int cmd_rcshutdown(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_package(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_cap(int argc, char **argv);
int cmd_uncap(int argc, char **argv);
int cmd_limits(int argc, char **argv);
int cmd_inuse(int argc, char **argv);
int cmd_manprops(int argc, char **argv);

/* One jail started (nothing done when it runs already) or stopped, with the message
 * `start` / `stop` print: rcboot's and rcshutdown's workers (cmd/boot.c). */
int cmd_start_jail(const char *uuid);
/* The same for a jail loaded just now (rcboot: no zfs call, no speculative start). */
struct jail;
int cmd_start_loaded(struct jail *j);
int cmd_stop_jail(const char *uuid);

/* Print "usage: iocell NAME ARGS" (to stdout for -h, stderr otherwise). */
void cmd_usage(const char *name, bool to_stderr);
/* Print "iocell NAME: MESSAGE" and the usage on stderr; returns CMD_USAGE. */
int usage_err(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Run getopt over argv with optstring (a leading '+' is added).  Handles -h.
 * Returns the option char, -1 at the end, or '?' after printing a usage error. */
int cmd_getopt(const char *name, int argc, char **argv, const char *opts);
/* The options of a command that takes at most one flag (none when flag is 0; *set
 * becomes true when given): -1 when they parsed, with optind at the first operand;
 * otherwise what the handler returns (CMD_OK after -h, CMD_USAGE). */
int cmd_flag(const char *name, int argc, char **argv, char flag, bool *set);
extern bool cmd_help_shown;
/* Set when a handler returns the exit status of a command run in a jail (exec, console,
 * chroot): no error line is printed for it. */
extern bool cmd_raw_status;

/* Split "k=v" arguments into kv.  Returns false (usage error printed) when one lacks '='. */
bool parse_assignments(const char *cmd, char **args, int n, struct kv *out);

/* The running jail NAME (plat_lookup): 0 with rs filled (for rs_free) and uuid set, or -1
 * with the error recorded and rs freed; for a jail that is not running "jail NAME is not
 * running" with the hint "start it with 'iocell start NAME'" and then also (e.g. ", or
 * use ..."; may be ""). */
struct runstate;
int cmd_running(const char *name, struct runstate *rs, char uuid[37], const char *also);

#endif
