/* start, stop, restart, exec, console, chroot, runtime (rcboot, rcshutdown: boot.c) */
#include "cmd/cmd.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/runstate.h"
#include "platform.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int start_one(const char *name, bool force, bool quiet_running)
{
	struct jail_spec sp;
	struct jail *j = jail_resolve_spec(name, &sp);
	if (!j)
		return -1;
	int lk = lock_jail(j->uuid, true);
	int rc = -1, jid = 0;
	if (lk >= 0) {
		if (quiet_running && jail_running(j->uuid)) {
			rc = 0;
		} else {
			rc = plat_start(j, force, &jid, &sp);
			if (rc == PLAT_RESTART) {
				/* the cached configuration was stale: start from the real one */
				struct jail *fresh = sp.fresh;
				sp.fresh = NULL;
				if (!streq(fresh->uuid, j->uuid)) {
					unlock_fd(lk);
					lk = lock_jail(fresh->uuid, true);
				}
				jail_free(j);
				j = fresh;
				rc = lk < 0 ? -1 : plat_start(j, force, &jid, NULL);
			}
			if (rc == 0)
				printf("%s (%s) started, JID %d\n", j->uuid, jail_prop(j, P_TAG),
				       jid);
		}
	}
	fflush(stdout);
	unlock_fd(lk);
	jail_spec_free(&sp);
	jail_free(j);
	return rc;
}

static int stop_uuid(const char *uuid, bool force, bool verbose_down)
{
	int lk = lock_jail(uuid, true);
	if (lk < 0)
		return -1;
	struct runstate rs;
	int r = rs_read(uuid, &rs);
	int rc = 0;
	if (r < 0) {
		rc = -1;
	} else if (r == 0) {
		if (verbose_down)
			printf("%s is not running\n", uuid);
	} else {
		bool was_running = rs_running(&rs);
		const char *t = rs_get(&rs, prop_name(P_TAG));
		char *tag = xstrdup(t ? t : "");
		rc = plat_stop(&rs, force);
		if (rc == 0)
			printf("%s (%s) %s\n", uuid, tag,
			       was_running ? "stopped" : "cleaned up (was not running)");
		free(tag);
	}
	rs_free(&rs);
	fflush(stdout);
	unlock_fd(lk);
	return rc;
}

static int stop_name(const char *name, bool force)
{
	struct runstate rs;
	char uuid[37];
	int r = plat_lookup(name, &rs, uuid);
	rs_free(&rs);
	if (r < 0)
		return -1;
	return stop_uuid(uuid, force, true);
}

/* Run fn over names, or over ALL; continue past failures and report them. */
static int for_each_name(const char *cmd, int argc, char **argv, bool force,
			 int (*fn)(const char *, bool))
{
	int failed = 0, n = 0;
	for (int i = 0; i < argc; i++) {
		n++;
		if (fn(argv[i], force) < 0) {
			ioc_err_print();
			failed++;
		}
	}
	if (failed) {
		if (n > 1)
			ioc_err("%s failed for %d of %d jails (see above)", cmd, failed, n);
		else
			ioc_err("%s failed (see above)", cmd);
		return CMD_ERR;
	}
	return CMD_OK;
}

static int start_name(const char *name, bool force) { return start_one(name, force, false); }

static int start_all(bool force, bool only_boot, const char *what)
{
	struct jail_boot *b;
	size_t n;
	if (jails_boot_order(&b, &n, only_boot) < 0)
		return CMD_ERR;
	int failed = 0;
	struct sbuf names;
	sb_init(&names);
	for (size_t i = 0; i < n; i++) {
		if (start_one(b[i].uuid, force, true) < 0) {
			ioc_err_print();
			sb_printf(&names, "%s%s", failed ? ", " : "", b[i].tag);
			failed++;
		}
	}
	jail_boot_free(b, n);
	if (failed) {
		ioc_err("%s: %d jail(s) failed to start: %s", what, failed, names.s);
		sb_free(&names);
		return CMD_ERR;
	}
	sb_free(&names);
	return CMD_OK;
}

int cmd_start(int argc, char **argv)
{
	bool force = false;
	int opt = cmd_flag("start", argc, argv, 'f', &force);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("start", "expected NAME... or ALL");
	if (argc - optind == 1 && streq(argv[optind], "ALL"))
		return start_all(force, false, "start ALL");
	return for_each_name("start", argc - optind, argv + optind, force, start_name);
}

/* Stop every jail with runtime state (no zfs call): those of the active pool, or of
 * every pool (any_pool, at shutdown). */
static int stop_all(bool force, bool any_pool)
{
	struct strv ids;
	if (rs_list(&ids) < 0)
		return CMD_ERR;
	const struct ioc_pool *pool = any_pool ? NULL : pool_get();
	if (!any_pool && !pool) {
		sv_free(&ids);
		return CMD_ERR;
	}
	int failed = 0;
	for (size_t i = ids.n; i-- > 0;) {
		if (pool) {
			struct runstate rs;
			int r = rs_read(ids.v[i], &rs);
			bool mine = r == 1 && rs_on_pool(&rs, pool->name, pool->mountroot);
			rs_free(&rs);
			if (!mine)
				continue;
		}
		if (stop_uuid(ids.v[i], force, false) < 0) {
			ioc_err_print();
			failed++;
		}
	}
	sv_free(&ids);
	if (failed) {
		ioc_err("stop ALL: %d jail(s) failed to stop", failed);
		return CMD_ERR;
	}
	return CMD_OK;
}

int cmd_stop(int argc, char **argv)
{
	bool force = false;
	int opt = cmd_flag("stop", argc, argv, 'f', &force);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("stop", "expected NAME... or ALL");
	if (argc - optind == 1 && streq(argv[optind], "ALL"))
		return stop_all(force, false);
	return for_each_name("stop", argc - optind, argv + optind, force, stop_name);
}

int cmd_restart(int argc, char **argv)
{
	bool soft = false;
	int opt = cmd_flag("restart", argc, argv, 's', &soft);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("restart", "expected one NAME");
	const char *name = argv[optind];
	struct runstate rs;
	char uuid[37];
	if (cmd_running(name, &rs, uuid, "") < 0)
		return CMD_ERR;
	int rc = CMD_OK;
	if (soft) {
		int lk = lock_jail(uuid, true);
		if (lk < 0 || plat_restart_soft(&rs) < 0)
			rc = CMD_ERR;
		else
			printf("%s (%s) restarted (soft)\n", uuid, rs_get(&rs, prop_name(P_TAG)));
		unlock_fd(lk);
		rs_free(&rs);
		return rc;
	}
	rs_free(&rs);
	if (stop_uuid(uuid, false, false) < 0 || start_one(uuid, false, false) < 0)
		return CMD_ERR;
	return CMD_OK;
}

int cmd_exec(int argc, char **argv)
{
	int c;
	const char *user = NULL;
	while ((c = cmd_getopt("exec", argc, argv, "u:")) != -1) {
		if (c == 'u')
			user = optarg;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	if (optind < argc && streq(argv[optind], "--"))
		optind++;
	if (argc - optind < 2)
		return usage_err("exec", "expected NAME and a command");
	const char *name = argv[optind];
	char **cmdv = argv + optind + 1;
	if (streq(cmdv[0], "--"))
		cmdv++;
	if (!cmdv[0])
		return usage_err("exec", "expected a command after --");
	struct strv targets = {0};
	sv_init(&targets);
	if (streq(name, "ALL")) {
		if (rs_list(&targets) < 0)
			return CMD_ERR;
	} else {
		struct runstate rs;
		char uuid[37];
		if (cmd_running(name, &rs, uuid, ", or use 'iocell chroot' on a stopped jail") <
		    0) {
			sv_free(&targets);
			return CMD_ERR;
		}
		rs_free(&rs);
		sv_add(&targets, uuid);
	}
	int last = 0;
	for (size_t i = 0; i < targets.n; i++) {
		struct runstate rs;
		if (rs_read(targets.v[i], &rs) != 1 || !rs_alive(&rs)) {
			rs_free(&rs);
			continue;
		}
		int st = 0;
		if (plat_exec(&rs, user, cmdv, &st) < 0) {
			rs_free(&rs);
			sv_free(&targets);
			return CMD_ERR;
		}
		if (st)
			last = st;
		rs_free(&rs);
	}
	sv_free(&targets);
	fflush(stdout);
	cmd_raw_status = true;
	return last;
}

int cmd_console(int argc, char **argv)
{
	int opt = cmd_flag("console", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("console", "expected one NAME");
	struct runstate rs;
	char uuid[37];
	if (cmd_running(argv[optind], &rs, uuid, "") < 0)
		return CMD_ERR;
	int st = 0;
	int rc = plat_console(&rs, &st);
	rs_free(&rs);
	if (rc < 0)
		return CMD_ERR;
	cmd_raw_status = true;
	return st;
}

int cmd_chroot(int argc, char **argv)
{
	int opt = cmd_flag("chroot", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (optind >= argc)
		return usage_err("chroot", "expected NAME [CMD...]");
	struct jail *j = jail_resolve(argv[optind]);
	if (!j)
		return CMD_ERR;
	int lk = lock_jail(j->uuid, true);
	int rc = CMD_ERR;
	if (lk >= 0) {
		if (jail_running(j->uuid)) {
			ioc_err("jail %s is running: chroot works on a stopped jail's filesystem",
				jail_prop(j, P_TAG));
			ioc_hint("use 'iocell exec %s CMD' or 'iocell console %s'",
				 jail_prop(j, P_TAG), jail_prop(j, P_TAG));
		} else {
			char *dflt[] = {"/bin/sh", NULL};
			char **cmdv = argv + optind + 1;
			if (cmdv[0] && streq(cmdv[0], "--"))
				cmdv++;
			int st = 0;
			if (plat_chroot(j, cmdv[0] ? cmdv : dflt, &st) == 0) {
				rc = st;
				cmd_raw_status = true;
			}
		}
	}
	unlock_fd(lk);
	jail_free(j);
	return rc;
}

static void print_info(const struct runstate *rs)
{
	struct plat_info in;
	plat_info(rs, &in);
	printf("UUID:     %s\n", rs->uuid);
	printf("TAG:      %s\n", in.tag);
	printf("JID:      %lld\n", in.jid);
	printf("INIT PID: %d\n", (int)in.pid);
	printf("STARTED:  %s\n", in.started ? in.started : "-");
	printf("ROOT:     %s\n", in.root);
	printf("UID MAP:  %s%s\n", in.uid_map,
	       streq(in.uid_map, "0 0 4294967295") ? " (no user namespace: privileged)" : "");
	printf("NAMESPACES:\n");
	for (size_t i = 0; i < in.nns; i++)
		printf("  %-7s %s%s\n", in.ns[i].name, in.ns[i].id,
		       in.ns[i].shared ? " (shared with the host)" : "");
	if (in.cgroup_unit)
		printf("CGROUP:   %s, systemd unit %s\n", in.cgroup_mode ? in.cgroup_mode : "-",
		       in.cgroup_unit);
	else
		printf("CGROUP:   %s\n", in.cgroup_mode ? in.cgroup_mode : "-");
	for (size_t i = 0; i < in.cgroup_dirs.n; i++)
		printf("  %s\n", in.cgroup_dirs.v[i]);
	if (in.net == PLAT_NET_HOST) {
		printf("INTERFACES: (host network)\n");
	} else if (in.net == PLAT_NET_RECORDED) {
		printf("INTERFACES: %s\n", in.net_recorded);
	} else {
		printf("INTERFACES:\n");
		for (size_t i = 0; i < in.nifs; i++) {
			const struct plat_netif *f = &in.ifs[i];
			printf("  %-10s %-4s%s%s%s%s\n", f->name, f->up ? "up" : "down",
			       f->mac[0] ? " " : "", f->mac, f->addrs, f->note);
		}
		if (in.net_incomplete)
			printf("  (incomplete: %s)\n", in.net_incomplete);
	}
	plat_info_free(&in);
}

int cmd_runtime(int argc, char **argv)
{
	int opt = cmd_flag("runtime", argc, argv, 0, NULL);
	if (opt >= 0)
		return opt;
	if (argc - optind != 1)
		return usage_err("runtime", "expected one NAME");
	struct runstate rs;
	char uuid[37];
	if (cmd_running(argv[optind], &rs, uuid, "") < 0)
		return CMD_ERR;
	print_info(&rs);
	rs_free(&rs);
	return CMD_OK;
}

/* For rcboot and rcshutdown (cmd/boot.c). */
int cmd_start_jail(const char *uuid) { return start_one(uuid, false, true); }

int cmd_start_loaded(struct jail *j)
{
	_cleanup_unlock_ int lk = lock_jail(j->uuid, true);
	if (lk < 0)
		return -1;
	if (jail_running(j->uuid))
		return 0;
	int jid = 0;
	if (plat_start(j, false, &jid, NULL) < 0)
		return -1;
	printf("%s (%s) started, JID %d\n", j->uuid, jail_prop(j, P_TAG), jid);
	fflush(stdout);
	return 0;
}

int cmd_stop_jail(const char *uuid) { return stop_uuid(uuid, false, false); }
