/* iocell: the command table, global flags and dispatch. */
#include "config.h"
#include "cmd/cmd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the read verbs' -H and -j do (their -h says it). */
#define OUTFMT "\n-H: tab-separated, no header; -j: JSON (an array of objects, numbers as numbers)"

static int cmd_version(int, char **);
static int cmd_help(int, char **);

static const struct cmddef commands[] = {
	{"activate", cmd_activate, "[POOL [mountpoint=DIR] [file=IMG size=SIZE]]",
	 "mark POOL active (creating a file-backed pool with file=), or print the active pool"},
	{"fetch", cmd_fetch,
	 "[release=REL] [ftphost=URL] [ftpdir=DIR] [ftpfiles=\"a b\"] [ftplocaldir=DIR] [url=URL] [sha256=HEX]",
	 "create or update a release: debootstrap a suite, or unpack a rootfs tarball"},
	{"create", cmd_create, "[-c|-b|-e] [release=REL] [count=N] [pkglist=FILE] [PROP=VALUE ...]",
	 "create a jail: thick (default), -c clone, -b basejail, -e empty"},
	{"clone", cmd_clone, "NAME[@SNAP] [PROP=VALUE ...]",
	 "create a jail as a ZFS clone of a jail or template"},
	{"list", cmd_list, "[-t|-r] [-H|-j] [-s COLUMN]",
	 "list jails (-t templates, -r releases), by tag" OUTFMT},
	{"get", cmd_get, "[-H|-j] PROP|all NAME|default  or  get -r [-H|-j] PROP",
	 "show a property of a jail, of the defaults, or of every jail" OUTFMT},
	{"set", cmd_set, "PROP=VALUE [PROP=VALUE ...] NAME|default",
	 "change properties (all are validated before any is applied)"},
	{"defaults", cmd_defaults, "[-H|-j]",
	 "show the effective default of every property" OUTFMT},
	{"reset", cmd_reset, "[-f] NAME|ALL",
	 "restore a jail's properties to the defaults, keeping identity"},
	{"snapshot", cmd_snapshot, "NAME[@SNAP]", "snapshot a jail (all its datasets)"},
	{"snaplist", cmd_snaplist, "[-H|-j] NAME", "list a jail's snapshots" OUTFMT},
	{"snapremove", cmd_snapremove, "NAME@SNAP|NAME@ALL", "remove a snapshot (or all)"},
	{"rollback", cmd_rollback, "[-f] [-y] NAME@SNAP", "roll a jail back to a snapshot"},
	{"promote", cmd_promote, "NAME", "promote a cloned jail (reverse the clone dependency)"},
	{"destroy", cmd_destroy, "[-f] [-R] [-y] NAME",
	 "destroy a jail, after showing the plan and asking"},
	{"start", cmd_start, "[-f] NAME...|ALL", "start jails (-f: also a template, for editing)"},
	{"stop", cmd_stop, "[-f] NAME...|ALL",
	 "stop jails (-f: skip exec_stop); cleans up after crashes"},
	{"restart", cmd_restart, "[-s|--hard] NAME",
	 "restart a jail: soft (warm) by default; --hard stops and starts it\n"
	 "soft (-s says so too): exec_stop, its processes killed, exec_start; namespaces,\n"
	 "network and limits are kept"},
	{"exec", cmd_exec, "[-u USER] NAME|ALL [--] CMD [ARG...]",
	 "run a command inside a running jail; its exit status is iocell's"},
	{"console", cmd_console, "NAME", "log in to a running jail on a terminal inside it"},
	{"chroot", cmd_chroot, "NAME [CMD...]", "run a command in a stopped jail's filesystem"},
	{"runtime", cmd_runtime, "[-H|-j] NAME",
	 "live facts of a running jail (-H: FIELD<tab>VALUE lines; -j: JSON)"},
	{"rcboot", cmd_rcboot, "[-j N]",
	 "start every boot=on jail by priority and depends, N at a time (default: CPUs)"},
	{"rcshutdown", cmd_rcshutdown, "[-j N]",
	 "stop every running jail in reverse priority and depends order, N at a time"},
	{"cap", cmd_cap, "NAME", "apply the jail's current limit properties to it now"},
	{"uncap", cmd_uncap, "NAME", "remove the limits of a running jail (unlimited)"},
	{"limits", cmd_limits, "[-H|-j] [NAME]",
	 "limits in force (read back) and the cpuset" OUTFMT},
	{"inuse", cmd_inuse, "[-H|-j|-c] [NAME]",
	 "current use: memory, CPU time, processes, threads, open files, I/O" OUTFMT
	 ";\n-c: comma-separated"},
	{"record", cmd_record, "start|stop NAME",
	 "record a jail's file changes into JAILDIR/recorded"},
	{"package", cmd_package, "NAME",
	 "pack a jail's recorded changes into /iocell/packages/UUID.tar.xz"},
	{"import", cmd_import, "NAME|- [PROP=VALUE ...]",
	 "new jail from a package or image (- : image stream on stdin)"},
	{"export", cmd_export, "NAME [-]", "a stopped jail as a zfs send -R image (- : to stdout)"},
	{"update", cmd_update, "NAME",
	 "update a jail with its release's package manager (back-out snapshot first)"},
	{"upgrade", cmd_upgrade, "NAME [release=REL]",
	 "move a jail to another release (rolled back on failure)"},
	{"df", cmd_df, "[-H|-j] [-s COLUMN]", "space used by every jail, by tag" OUTFMT},
	{"doctor", cmd_doctor, "[-n|-f]",
	 "find and repair what interrupted iocell commands left (-n: only report; -f: no "
	 "question)"},
	{"version", cmd_version, "", "print the version"},
	{"help", cmd_help, "[COMMAND]", "show help"},
	{NULL, NULL, NULL, NULL},
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: iocell [--debug] COMMAND [ARGS...]\n\n"
		   "A jail manager: containers in ZFS datasets, settings as ZFS properties.\n\n"
		   "Commands:\n");
	for (const struct cmddef *c = commands; c->name; c++) {
		if (c->name[0] == '_')
			continue;
		fprintf(f, "  %-11s %.*s\n", c->name, (int)strcspn(c->summary, "\n"), c->summary);
	}
	fprintf(f, "\nNames: a jail is named by its UUID, a unique UUID prefix, or its tag.\n"
		   "Run 'iocell COMMAND -h' for a command's arguments; see iocell(8).\n");
}

static int cmd_version(int argc, char **argv)
{
	int c;
	while ((c = cmd_getopt("version", argc, argv, "")) != -1)
		return c == 'h' ? CMD_OK : CMD_USAGE;
	if (optind < argc)
		return usage_err("version", "unexpected argument '%s'", argv[optind]);
	printf("iocell %s\n", IOCELL_VERSION);
	return CMD_OK;
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		const struct cmddef *c = cmd_find(argv[1]);
		if (!c)
			return usage_err("help", "unknown command '%s'", argv[1]);
		printf("usage: iocell %s %s\n%s\n", c->name, c->usage, c->summary);
		return CMD_OK;
	}
	main_usage(stdout);
	return CMD_OK;
}

int main(int argc, char **argv)
{
	cmd_register(commands);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--debug") == 0 || strcmp(argv[i], "-d") == 0) {
			ioc_debug = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			main_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
			printf("iocell %s\n", IOCELL_VERSION);
			return 0;
		} else {
			fprintf(stderr, "iocell: unknown option '%s'\n", argv[i]);
			main_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		main_usage(stderr);
		return 2;
	}
	const struct cmddef *c = cmd_find(argv[i]);
	if (!c && strcmp(argv[i], "_manprops") == 0)
		return cmd_manprops(argc - i, argv + i);
	if (!c) {
		fprintf(stderr, "iocell: unknown command '%s'\n", argv[i]);
		fprintf(stderr, "(hint: 'iocell -h' lists the commands)\n");
		return 2;
	}
	optind = 1;
	int rc = c->fn(argc - i, argv + i);
	if (rc != CMD_OK && rc != CMD_USAGE && !cmd_raw_status)
		ioc_err_print();
	fflush(stdout);
	return rc;
}
