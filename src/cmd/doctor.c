/* doctor: what interrupted operations left, in the pool (core/heal.h), the runtime dir,
 * the cgroup tree and the network (platform.h), reported and, confirmed, repaired.  And
 * the runtime part of the healing `list` does on the way. */
#include "cmd/cmd.h"
#include "core/heal.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "platform.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why a jail with runtime state does not run. */
static const char *stale_why(const struct runstate *rs)
{
	const char *phase = rs_get(rs, RS_PHASE);
	if (phase && streq(phase, RS_PHASE_STARTING))
		return "its start was interrupted";
	if (phase && streq(phase, RS_PHASE_STOPPING))
		return "its stop was interrupted";
	return "its init is gone (it crashed, or its stop was interrupted)";
}

int heal_runtime(const char *uuid)
{
	int lk = lock_jail(uuid, false);
	if (lk < 0) {
		ioc_err_clear(); /* a start or stop at work */
		return 0;
	}
	struct runstate rs;
	int rc = 0;
	if (rs_read(uuid, &rs) == 1 && !rs_running(&rs)) {
		const char *t = rs_get(&rs, prop_name(P_TAG));
		_cleanup_free_ char *tag = xstrdup(t ? t : "?");
		_cleanup_free_ char *why = xstrdup(stale_why(&rs));
		if (plat_stop(&rs, true) == 0) {
			fprintf(stderr, "iocell: cleaned up after jail %s (%s): %s\n", uuid, tag,
				why);
			rc = 1;
		} else {
			ioc_warn("could not clean up after jail %s (%s): %s", uuid, tag,
				 ioc_errmsg());
			rc = -1;
		}
	}
	ioc_err_clear();
	rs_free(&rs);
	unlock_fd(lk);
	return rc;
}

/* The runtime states: running jails (and those a start or stop works on) into keep,
 * the others reported (and cleaned with fix). */
static int check_states(bool fix, struct strv *keep, struct strv *known, struct heal_report *rep)
{
	_cleanup_strv_ struct strv ids = {0};
	if (rs_list(&ids) < 0)
		return -1;
	for (size_t i = 0; i < ids.n; i++) {
		sv_add(known, ids.v[i]);
		struct runstate rs;
		int r = rs_read(ids.v[i], &rs);
		bool running = r == 1 && rs_running(&rs);
		_cleanup_free_ char *why = r == 1 ? xstrdup(stale_why(&rs)) : NULL;
		rs_free(&rs);
		if (r != 1)
			continue;
		if (running) {
			sv_add(keep, ids.v[i]);
			continue;
		}
		int lk = lock_jail(ids.v[i], false);
		if (lk < 0) {
			ioc_err_clear();
			sv_add(keep, ids.v[i]);
			sv_addf(&rep->busy, "runtime: jail %s: a start or stop at work", ids.v[i]);
			continue;
		}
		unlock_fd(lk);
		sv_addf(&rep->found, "runtime: jail %s does not run: %s", ids.v[i], why);
		if (fix) {
			int h = heal_runtime(ids.v[i]);
			if (h == 1)
				rep->fixed++;
			else if (h < 0)
				rep->failed++;
		}
	}
	return 0;
}

/* One pass: everything found into rep (repaired with fix). */
static int doctor_pass(bool fix, struct heal_report *rep)
{
	txn_settle(10000); /* what dead owners left in flight first (core/txn.h) */
	_cleanup_strv_ struct strv keep = {0}, jails = {0}, now = {0}, known = {0};
	sv_init(&keep);
	sv_init(&jails);
	sv_init(&now);
	sv_init(&known);
	if (check_states(fix, &keep, &known, rep) < 0 || heal_pool(fix, rep, &jails) < 0)
		return -1;
	for (size_t i = 0; i < jails.n; i++)
		sv_add(&known, jails.v[i]);
	if (fix) {
		/* the jails there are now, after the repairs */
		struct heal_report again = {0};
		sv_init(&again.found);
		sv_init(&again.busy);
		sv_init(&again.notes);
		int r = heal_pool(false, &again, &now);
		heal_report_free(&again);
		if (r < 0)
			return -1;
	}
	if (heal_files(fix, fix ? &now : &jails, &keep, rep) < 0)
		return -1;
	return plat_leftovers(&known, &keep, fix, &rep->found, &rep->fixed, &rep->failed);
}

int cmd_doctor(int argc, char **argv)
{
	int c;
	bool fix = false, dry = false;
	while ((c = cmd_getopt("doctor", argc, argv, "fn")) != -1) {
		switch (c) {
		case 'f': fix = true; break;
		case 'n': dry = true; break;
		default: return c == 'h' ? CMD_OK : CMD_USAGE;
		}
	}
	if (optind < argc)
		return usage_err("doctor", "unexpected argument '%s'", argv[optind]);
	if (fix && dry)
		return usage_err("doctor", "-f and -n exclude each other");
	if (!pool_get())
		return CMD_ERR;
	struct heal_report rep = {0};
	sv_init(&rep.found);
	sv_init(&rep.busy);
	sv_init(&rep.notes);
	if (doctor_pass(false, &rep) < 0) {
		heal_report_free(&rep);
		return CMD_ERR;
	}
	for (size_t i = 0; i < rep.busy.n; i++)
		printf("at work (left alone): %s\n", rep.busy.v[i]);
	for (size_t i = 0; i < rep.notes.n; i++)
		printf("note (left alone): %s\n", rep.notes.v[i]);
	for (size_t i = 0; i < rep.found.n; i++)
		printf("found: %s\n", rep.found.v[i]);
	size_t nfound = rep.found.n;
	heal_report_free(&rep);
	fflush(stdout);
	if (nfound == 0) {
		printf("nothing left over by interrupted operations\n");
		return CMD_OK;
	}
	if (dry) {
		ioc_err("%zu thing(s) left over by interrupted operations", nfound);
		ioc_hint("'iocell doctor' repairs them after asking, 'iocell doctor -f' at once");
		return CMD_ERR;
	}
	fflush(stdout);
	if (!fix && !confirm_capital_y("Repair ? Y[n]: ")) {
		ioc_err("doctor cancelled; nothing was changed");
		return CMD_ERR;
	}
	sv_init(&rep.found);
	sv_init(&rep.busy);
	sv_init(&rep.notes);
	int rc = doctor_pass(true, &rep);
	printf("repaired %zu of %zu thing(s)%s\n", rep.fixed, rep.found.n,
	       rep.failed ? " (see the warnings)" : "");
	size_t failed = rep.failed;
	heal_report_free(&rep);
	fflush(stdout);
	if (rc < 0)
		return CMD_ERR;
	if (failed) {
		ioc_err("doctor could not repair %zu thing(s)", failed);
		ioc_hint("see the warnings above; 'iocell doctor -n' shows what is left");
		return CMD_ERR;
	}
	return CMD_OK;
}
