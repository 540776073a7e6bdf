#include "core/runstate.h"
#include "core/lock.h"
#include "core/pool.h"
#include "core/props.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *state_path(const char *uuid) { return xasprintf("%s/%s.state", rundir(), uuid); }

void rs_free(struct runstate *rs) { kv_free(&rs->kv); }
const char *rs_get(const struct runstate *rs, const char *key) { return kv_get(&rs->kv, key); }
void rs_set(struct runstate *rs, const char *key, const char *val) { kv_set(&rs->kv, key, val); }

void rs_setn(struct runstate *rs, const char *key, long long val)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", val);
	kv_set(&rs->kv, key, buf);
}

long long rs_num(const struct runstate *rs, const char *key, long long dflt)
{
	const char *v = rs_get(rs, key);
	if (!v || !*v)
		return dflt;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end ? dflt : n;
}

void rs_parse(struct runstate *rs, const char *text)
{
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		char *eq = strchr(lines.v[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		/* values are stored with \n and \\ escaped */
		_cleanup_sbuf_ struct sbuf v;
		sb_init(&v);
		for (const char *s = eq + 1; *s; s++) {
			if (*s == '\\' && s[1] == 'n') {
				sb_addc(&v, '\n');
				s++;
			} else if (*s == '\\' && s[1] == '\\') {
				sb_addc(&v, '\\');
				s++;
			} else {
				sb_addc(&v, *s);
			}
		}
		kv_set(&rs->kv, lines.v[i], v.s);
	}
}

char *rs_format(const struct runstate *rs)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < rs->kv.k.n; i++) {
		sb_printf(&b, "%s=", rs->kv.k.v[i]);
		for (const char *s = rs->kv.v.v[i]; *s; s++) {
			if (*s == '\n')
				sb_add(&b, "\\n");
			else if (*s == '\\')
				sb_add(&b, "\\\\");
			else
				sb_addc(&b, *s);
		}
		sb_addc(&b, '\n');
	}
	return sb_steal(&b);
}

int rs_read(const char *uuid, struct runstate *rs)
{
	memset(rs, 0, sizeof(*rs));
	snprintf(rs->uuid, sizeof(rs->uuid), "%s", uuid);
	kv_init(&rs->kv);
	_cleanup_free_ char *p = state_path(uuid);
	if (access(p, F_OK) != 0)
		return 0;
	_cleanup_free_ char *txt = read_file(p, NULL);
	if (!txt)
		return -1;
	rs_parse(rs, txt);
	return 1;
}

int rs_write(const struct runstate *rs)
{
	_cleanup_free_ char *text = rs_format(rs);
	_cleanup_free_ char *p = state_path(rs->uuid);
	return write_file_cache(p, text, strlen(text), 0600); /* runtime data: no fsync needed */
}

int rs_remove(const char *uuid)
{
	char *p = state_path(uuid);
	int rc = unlink(p) < 0 && errno != ENOENT ? -1 : 0;
	if (rc < 0)
		ioc_err("cannot remove %s: %s", p, strerror(errno));
	free(p);
	return rc;
}

unsigned long long proc_starttime(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may contain spaces */
	if (!p)
		return 0;
	p++;
	unsigned long long v = 0;
	/* after ")": field 3 (state) ... field 22 (starttime) */
	for (int field = 3; field <= 22 && p; field++) {
		while (*p == ' ')
			p++;
		if (field == 22) {
			v = strtoull(p, NULL, 10);
			break;
		}
		p = strchr(p, ' ');
	}
	return v;
}

bool rs_alive(const struct runstate *rs)
{
	long long pid = rs_num(rs, RS_PID, 0);
	const char *st = rs_get(rs, RS_STARTTIME);
	if (pid <= 0 || !st)
		return false;
	unsigned long long now = proc_starttime((pid_t)pid);
	if (now == 0 || now != strtoull(st, NULL, 10))
		return false;
	/* a zombie init: the jail is gone (its PID namespace with it), only not reaped */
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

bool rs_running(const struct runstate *rs)
{
	return rs_alive(rs) && streq(rs_get(rs, RS_PHASE), RS_PHASE_RUNNING);
}

static char *jid_dir(void) { return xasprintf("%s/jids", rundir()); }

int jid_alloc(const char *uuid)
{
	char *dir = jid_dir();
	if (mkdir_p(dir, 0700) < 0) {
		free(dir);
		return -1;
	}
	for (int jid = 1; jid < 100000; jid++) {
		char *p = xasprintf("%s/%d", dir, jid);
		if (symlink(uuid, p) == 0) {
			free(p);
			free(dir);
			return jid;
		}
		int e = errno;
		if (e == EEXIST) {
			/* Reclaim a number whose jail has no state any more (crashed start),
			 * unless its jail is locked: a start that has taken the number and
			 * not yet written its state (rcboot starts jails in parallel). */
			char target[64];
			ssize_t k = readlink(p, target, sizeof(target) - 1);
			if (k > 0) {
				target[k] = '\0';
				char *sp = state_path(target);
				bool orphan = access(sp, F_OK) != 0 && strcmp(target, uuid) != 0 &&
					      !lock_jail_busy(target);
				free(sp);
				if (orphan && unlink(p) == 0 && symlink(uuid, p) == 0) {
					free(p);
					free(dir);
					return jid;
				}
			}
			free(p);
			continue;
		}
		ioc_err("cannot allocate a JID in %s: %s", dir, strerror(e));
		free(p);
		free(dir);
		return -1;
	}
	free(dir);
	ioc_err("no free JID");
	return -1;
}

void jid_release(int jid, const char *uuid)
{
	if (jid <= 0)
		return;
	char *dir = jid_dir();
	char *p = xasprintf("%s/%d", dir, jid);
	char target[64];
	ssize_t k = readlink(p, target, sizeof(target) - 1);
	if (k > 0) {
		target[k] = '\0';
		if (strcmp(target, uuid) == 0)
			unlink(p);
	}
	free(p);
	free(dir);
}

int idrange_claim(uint32_t base, const char *uuid)
{
	_cleanup_free_ char *dir = xasprintf("%s/idranges", rundir());
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	_cleanup_free_ char *p = xasprintf("%s/%u", dir, base);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (symlink(uuid, p) == 0)
			return 0;
		if (errno != EEXIST)
			break;
		char target[64];
		ssize_t k = readlink(p, target, sizeof(target) - 1);
		if (k <= 0)
			break;
		target[k] = '\0';
		if (streq(target, uuid))
			return 0; /* ours (left by a start that did not finish) */
		struct runstate rs;
		int r = rs_read(target, &rs);
		bool alive = r == 1 && rs_alive(&rs);
		rs_free(&rs);
		if (alive) {
			ioc_err("the id range %u-%u of jail %s is in use by the running jail %s",
				base, base + IDMAP_COUNT - 1, uuid, target);
			ioc_hint(
				"two jails share idmap_base (a copy made outside iocell?): stop %s, "
				"or give this jail a range of its own with 'iocell clone'",
				target);
			return -1;
		}
		unlink(p); /* its jail is gone: take it over */
	}
	ioc_err("cannot claim the id range %u of jail %s in %s: %s", base, uuid, dir,
		strerror(errno));
	return -1;
}

void idrange_release(uint32_t base, const char *uuid)
{
	if (!base)
		return;
	_cleanup_free_ char *p = xasprintf("%s/idranges/%u", rundir(), base);
	char target[64];
	ssize_t k = readlink(p, target, sizeof(target) - 1);
	if (k > 0) {
		target[k] = '\0';
		if (streq(target, uuid))
			unlink(p);
	}
}

int rs_list(struct strv *uuids)
{
	sv_init(uuids);
	DIR *d = opendir(rundir());
	if (!d) {
		ioc_err("cannot read %s: %s", rundir(), strerror(errno));
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n == 36 + 6 && endswith(e->d_name, ".state"))
			sv_take(uuids, xstrndup(e->d_name, 36));
	}
	closedir(d);
	sv_sort(uuids);
	return 0;
}

static char *started_path(const char *uuid) { return xasprintf("%s/%s.started", rundir(), uuid); }

int rs_started_write(const char *uuid, const char *stamp)
{
	char *p = started_path(uuid);
	char *line = xasprintf("%s\n", stamp);
	int rc = write_file_cache(p, line, strlen(line), 0600);
	free(line);
	free(p);
	return rc;
}

char *rs_started_read(const char *uuid)
{
	_cleanup_free_ char *p = started_path(uuid);
	char *t = cache_read(p);
	if (!t)
		return NULL;
	chomp(t);
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

void rs_started_drop(const char *uuid)
{
	char *p = started_path(uuid);
	unlink(p);
	free(p);
}

int rs_started_persist(const char *uuid)
{
	_cleanup_free_ char *st = rs_started_read(uuid);
	if (!st)
		return 0;
	_cleanup_free_ char *ds = ds_jail(uuid);
	_cleanup_free_ char *prop = xasprintf("%s%s", IOC_PROP_PREFIX, prop_name(P_LAST_STARTED));
	if (zfs_set(ds, prop, st) < 0)
		return -1;
	rs_started_drop(uuid);
	return 0;
}
