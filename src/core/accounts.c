/* A jail's user accounts (see accounts.h). */
#include "core/accounts.h"
#include "core/parse.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* Split line (NUL-terminated, modified) on ':' into at most max fields; the count. */
static size_t fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (char *p = line; n < max;) {
		f[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

/* The next line of *p (NUL-terminated in place), NULL at the end. */
static char *next_line(char **p)
{
	if (!**p)
		return NULL;
	char *l = *p, *nl = strchr(l, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = l + strlen(l);
	}
	return l;
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchrnul(p, ',');
		if ((size_t)(e - p) == n && strncmp(p, name, n) == 0)
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

bool accounts_passwd(char *passwd, const char *name, struct jailuser *u)
{
	memset(u, 0, sizeof(*u));
	char *p = passwd, *line;
	while ((line = next_line(&p))) {
		char *f[8];
		long long uid, gid;
		if (fields(line, f, 8) >= 7 && streq(f[0], name) &&
		    parse_int(f[2], 0, 4294967294LL, &uid) &&
		    parse_int(f[3], 0, 4294967294LL, &gid)) {
			u->uid = (uid_t)uid;
			u->gid = (gid_t)gid;
			snprintf(u->name, sizeof(u->name), "%s", f[0]);
			snprintf(u->home, sizeof(u->home), "%s", f[5]);
			snprintf(u->shell, sizeof(u->shell), "%s", chomp(f[6]));
			u->groups[u->ngroups++] = u->gid;
			return true;
		}
	}
	return false;
}

void accounts_groups(char *group, const char *name, struct jailuser *u)
{
	char *p = group, *line;
	while ((line = next_line(&p)) && u->ngroups < ACCOUNT_GROUPS_MAX) {
		char *f[5];
		long long gid;
		if (fields(line, f, 5) >= 4 && in_list(chomp(f[3]), name) &&
		    parse_int(f[2], 0, 4294967294LL, &gid))
			u->groups[u->ngroups++] = (gid_t)gid;
	}
}
