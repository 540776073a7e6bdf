/* Finding a running jail by name, and its live facts (`iocell runtime`). */
#include "linux/jailnet.h"
#include "linux/rt.h"
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* NAME among the running jails' states (no zfs call): its tag, else a unique UUID
 * prefix.  0 with uuid, -1 when none or several match. */
static int running_by_name(const char *name, char uuid[37])
{
	_cleanup_strv_ struct strv ids = {0};
	if (rs_list(&ids) < 0) {
		ioc_err_clear();
		return -1;
	}
	int hits = 0;
	for (size_t i = 0; i < ids.n; i++) {
		struct runstate t;
		if (rs_read(ids.v[i], &t) == 1) {
			if (streq(rs_get(&t, prop_name(P_TAG)), name)) {
				snprintf(uuid, 37, "%s", ids.v[i]);
				rs_free(&t);
				return 0;
			}
			if (strncasecmp(ids.v[i], name, strlen(name)) == 0) {
				snprintf(uuid, 37, "%s", ids.v[i]);
				hits++;
			}
		}
		rs_free(&t);
	}
	return hits == 1 ? 0 : -1;
}

int plat_lookup(const char *name, struct runstate *rs, char uuid_out[37])
{
	memset(rs, 0, sizeof(*rs));
	kv_init(&rs->kv);
	char uuid[37] = "";
	if (valid_uuid(name)) {
		snprintf(uuid, sizeof(uuid), "%s", name);
	} else if (running_by_name(name, uuid) < 0) {
		/* Not a (unique) running jail: resolve properly for the right message. */
		_cleanup_jail_ struct jail *j = jail_resolve(name);
		if (!j)
			return -1;
		snprintf(uuid, sizeof(uuid), "%s", j->uuid);
	}
	snprintf(uuid_out, 37, "%s", uuid);
	rs_free(rs);
	int r = rs_read(uuid, rs);
	if (r < 0)
		return -1;
	return r == 1 && rs_running(rs) ? 1 : 0;
}

int plat_info(const struct runstate *rs, struct plat_info *in)
{
	memset(in, 0, sizeof(*in));
	in->jid = rs_num(rs, RS_JID, 0);
	in->pid = (pid_t)rs_num(rs, RS_PID, 0);
	in->tag = rs_get(rs, prop_name(P_TAG));
	in->started = rs_get(rs, RS_STARTED);
	in->root = rs_get(rs, RS_ROOT);
	static const char *const ns[] = {"user", "mnt", "pid", "uts", "ipc", "net", "cgroup"};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct plat_ns *n = &in->ns[in->nns++];
		char p[64], host[128];
		n->name = ns[i];
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)in->pid, ns[i]);
		ssize_t k = readlink(p, n->id, sizeof(n->id) - 1);
		n->id[k > 0 ? k : 0] = '\0';
		snprintf(p, sizeof(p), "/proc/self/ns/%s", ns[i]);
		k = readlink(p, host, sizeof(host) - 1);
		host[k > 0 ? k : 0] = '\0';
		n->shared = streq(n->id, host);
	}
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/uid_map", (int)in->pid);
	FILE *f = fopen(p, "re");
	if (!f || !fgets(in->uid_map, sizeof(in->uid_map), f))
		in->uid_map[0] = '\0';
	if (f)
		fclose(f);
	_cleanup_strv_ struct strv w = {0};
	split(&w, in->uid_map, " \t\n", true);
	snprintf(in->uid_map, sizeof(in->uid_map), "%s %s %s", w.n == 3 ? w.v[0] : "?",
		 w.n == 3 ? w.v[1] : "?", w.n == 3 ? w.v[2] : "?");
	in->cgroup_mode = rs_get(rs, RS_CGROUP);
	in->cgroup_unit = rs_get(rs, RS_CGUNIT);
	_cleanup_cgroup_ struct cgroup cg;
	cg_of_state(&cg, rs);
	sv_init(&in->cgroup_dirs);
	for (size_t i = 0; i < cg.n; i++)
		sv_add(&in->cgroup_dirs, cg.dirs[i]);
	net_info(rs, in);
	return 0;
}

void plat_info_free(struct plat_info *in)
{
	sv_free(&in->cgroup_dirs);
	for (size_t i = 0; i < in->nifs; i++) {
		free(in->ifs[i].addrs);
		free(in->ifs[i].note);
	}
	free(in->ifs);
	free(in->net_recorded);
	free(in->net_incomplete);
	memset(in, 0, sizeof(*in));
}
