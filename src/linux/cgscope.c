/*
 * A jail's cgroup on a systemd host with the unified hierarchy (cgroup.h): systemd owns
 * the tree, and a program may create cgroups only below a unit that delegates its subtree
 * (systemd's CGROUP_DELEGATION.md).  Each jail gets a transient scope unit,
 * iocell-UUID.scope in machine.slice (where systemd-nspawn and libvirt put theirs), made
 * over D-Bus with StartTransientUnit: Delegate=yes, the jail's first process as its PID.
 * systemd creates the scope's cgroup, enables the controllers down to it and moves the
 * process in; the scope's own attributes stay systemd's, the subtree is iocell's.
 *
 * sd-bus (libsystemd) is loaded on first use (core/lazylib.h).  The system bus is used;
 * without a D-Bus daemon, systemd's own socket (/run/systemd/private, as systemctl does).
 */
#include "core/lazylib.h"
#include "core/util.h"
#include "linux/cgroup.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define JOB_WAIT_USEC (30ULL * 1000000ULL) /* StartTransientUnit's job, at most */

bool cg_systemd(void)
{
	static int known = -1;
	if (known < 0) {
		const char *env = getenv("IOCELL_CGROUP_SYSTEMD");
		struct statfs sf;
		/* sd_booted(): systemd is PID 1 when /run/systemd/system exists */
		known = !(env && streq(env, "0")) && statfs("/sys/fs/cgroup", &sf) == 0 &&
			sf.f_type == CGROUP2_SUPER_MAGIC &&
			access("/run/systemd/system", F_OK) == 0;
	}
	return known;
}

char *cg_scope_name(const char *uuid)
{
	/* unit names take [A-Za-z0-9:_.-]; anything else as \xNN (systemd's own escape) */
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "iocell-");
	for (const unsigned char *p = (const unsigned char *)uuid; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(":_.-", *p))
			sb_printf(&b, "%c", *p);
		else
			sb_printf(&b, "\\x%02x", *p);
	}
	sb_printf(&b, ".scope");
	return sb_steal(&b);
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static const char *bus_why(const sd_bus_error *e, int r)
{
	return e && e->message ? e->message : strerror(r < 0 ? -r : r);
}

/* The system bus, or systemd's private socket when there is no D-Bus daemon. */
static int bus_open(sd_bus **bus)
{
	*bus = NULL;
	const char *how = getenv("IOCELL_SYSTEMD_BUS"); /* system | private (measuring) */
	int r = -ENOENT;
	if (!how || !streq(how, "private")) {
		r = sd_bus_open_system(bus);
		if (r >= 0)
			return 0;
		*bus = NULL;
	}
	int r2 = sd_bus_new(bus);
	if (r2 >= 0)
		r2 = sd_bus_set_address(*bus, "unix:path=/run/systemd/private");
	if (r2 >= 0)
		r2 = sd_bus_start(*bus);
	if (r2 >= 0)
		return 0;
	if (*bus)
		*bus = sd_bus_flush_close_unref(*bus);
	ioc_err("cannot reach systemd over D-Bus (system bus: %s; /run/systemd/private: %s)",
		strerror(-r), strerror(-r2));
	ioc_hint("is dbus running? IOCELL_CGROUP_SYSTEMD=0 makes iocell keep its jails' cgroups "
		 "in /sys/fs/cgroup/iocell instead");
	return -1;
}

struct jobwait {
	const char *job; /* the object path StartTransientUnit returned */
	bool done;
	char result[32];
};

static int on_job_removed(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	(void)err;
	struct jobwait *w = arg;
	uint32_t id;
	const char *path, *unit, *result;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job && streq(path, w->job)) {
		w->done = true;
		snprintf(w->result, sizeof(w->result), "%s", result);
	}
	return 0;
}

/* Append the scope's properties: a(sv). */
static int scope_props(sd_bus_message *m, const char *slice, const char *desc, pid_t pid)
{
	int r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "PIDs", "au", 1, (uint32_t)pid,
					  "Description", "s", desc, "Delegate", "b", 1,
					  "CollectMode", "s", "inactive-or-failed", "Slice", "s",
					  slice);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0) /* no auxiliary units */
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	return r;
}

int cg_scope_start(const char *unit, const char *slice, const char *desc, pid_t pid)
{
	sd_bus *bus;
	if (bus_open(&bus) < 0)
		return -2;
	struct jobwait w = {0};
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = -1;
	/* the match first (asynchronous: its reply is not waited for), so that the job's
	 * end cannot pass unseen */
	int r = sd_bus_match_signal_async(bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
					  on_job_removed, NULL, &w);
	if (r >= 0)
		r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
						   "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = scope_props(m, slice, desc, pid);
	if (r < 0) {
		ioc_err("cannot build the D-Bus request for %s: %s", unit, strerror(-r));
		goto out;
	}
	r = sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0) {
		ioc_err("systemd cannot start the scope unit %s: %s", unit, bus_why(&e, r));
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &w.job);
	if (r < 0) {
		ioc_err("cannot read systemd's answer for %s: %s", unit, strerror(-r));
		goto out;
	}
	uint64_t end = now_usec() + JOB_WAIT_USEC;
	while (!w.done) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			ioc_err("the D-Bus connection to systemd failed while starting %s: %s",
				unit, strerror(-r));
			goto out;
		}
		if (r > 0)
			continue;
		uint64_t now = now_usec();
		if (now >= end) {
			ioc_err("systemd did not start the scope unit %s within %llu s", unit,
				(unsigned long long)(JOB_WAIT_USEC / 1000000ULL));
			goto out;
		}
		r = sd_bus_wait(bus, end - now);
		if (r < 0 && r != -EINTR) {
			ioc_err("waiting for systemd to start %s failed: %s", unit, strerror(-r));
			goto out;
		}
	}
	if (!streq(w.result, "done")) {
		ioc_err("systemd could not start the scope unit %s (job result: %s)", unit,
			w.result);
		ioc_hint("see 'journalctl -u %s'", unit);
		goto out;
	}
	rc = 0;
out:
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	if (m)
		sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus); /* also frees the match */
	return rc;
}

int cg_scope_stop(const char *unit)
{
	sd_bus *bus;
	if (bus_open(&bus) < 0)
		return -1;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "replace");
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &e, &reply);
	int rc = 0;
	if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
		ioc_err("systemd cannot stop the scope unit %s: %s", unit, bus_why(&e, r));
		rc = -1;
	}
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	if (m)
		sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
	return rc;
}
