/* destroy: arguments, the plan shown, the confirmation; a running jail stopped (-f).
 * Planning and destruction are core/destroy.c's. */
#include "cmd/cmd.h"
#include "core/destroy.h"
#include "core/runstate.h"
#include "platform.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A running jail is stopped first with -f and refused without it; the runtime state a
 * crashed or half-started jail left behind (cgroup, JID, state file) is cleaned up the
 * way `iocell stop` does.  The caller holds the jail's lock.  The one call of the
 * runtime's stop in destroy. */
static int stop_if_running(const char *uuid, const char *tag, bool force)
{
	struct runstate rs;
	int r = rs_read(uuid, &rs);
	if (r <= 0) {
		rs_free(&rs);
		return r;
	}
	bool running = rs_alive(&rs);
	int rc = 0;
	if (running && !force) {
		destroy_refuse_running(uuid, tag);
		rc = -1;
	} else if (plat_stop(&rs, false) < 0) {
		ioc_err_ctx("cannot stop jail %s (%s)", uuid, tag);
		rc = -1;
	} else if (running) {
		printf("%s (%s) stopped\n", uuid, tag);
	}
	rs_free(&rs);
	return rc;
}

static void print_jail(const struct destroy_jail *pj, const char *role)
{
	printf("%s %s (%s):\n", role, pj->uuid, pj->tag);
	for (size_t i = 0; i < pj->fss.n; i++)
		printf("  dataset   %s\n", pj->fss.v[i]);
	for (size_t i = 0; i < pj->snaps.n; i++)
		printf("  snapshot  %s\n", pj->snaps.v[i]);
}

static void print_destroyed(const struct destroy_jail *pj, void *arg)
{
	(void)arg;
	printf("Destroyed: %s (%s)\n", pj->uuid, pj->tag);
	fflush(stdout);
}

static int destroy(const char *name, bool force, bool recurse, bool yes)
{
	_cleanup_destroy_plan_ struct destroy_plan p;
	if (destroy_prepare(&p, name, force, recurse) < 0)
		return -1;
	print_jail(&p.v[0], "Jail");
	for (size_t i = 1; i < p.n; i++)
		print_jail(&p.v[i], "Dependent clone: jail");
	printf("All of it will be destroyed.\n");
	if (!yes && !confirm_capital_y("Are you sure ? Y[n]: ")) {
		ioc_err("destroy cancelled; nothing was destroyed");
		return -1;
	}
	fflush(stdout);
	for (size_t i = 0; i < p.n; i++)
		if (stop_if_running(p.v[i].uuid, p.v[i].tag, force) < 0)
			return -1;
	return destroy_execute(&p, print_destroyed, NULL);
}

int cmd_destroy(int argc, char **argv)
{
	int c;
	bool force = false, recurse = false, yes = false;
	while ((c = cmd_getopt("destroy", argc, argv, "fRy")) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'R': recurse = true; break;
		case 'y': yes = true; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_err("destroy", "expected one NAME");
	const char *name = argv[optind];
	if (streq(name, "ALL") || streq(name, "default"))
		return usage_err("destroy", "destroy takes one jail, not %s", name);
	return destroy(name, force, recurse, yes) < 0 ? CMD_ERR : CMD_OK;
}
