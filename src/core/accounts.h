/*
 * A jail's user accounts from the text of its /etc/passwd and /etc/group (no NSS: the
 * jail's libraries are never loaded into iocell).  Pure parsing, no I/O and no
 * allocation (the caller may be a vfork child): linux/join.c reads the files, as regular
 * files only, and becomes the user.
 */
#ifndef IOC_ACCOUNTS_H
#define IOC_ACCOUNTS_H

#include <stdbool.h>
#include <sys/types.h>

#define ACCOUNT_GROUPS_MAX 64

struct jailuser {
	uid_t uid;
	gid_t gid;
	char home[512], shell[256], name[64];
	gid_t groups[ACCOUNT_GROUPS_MAX]; /* the primary group first */
	int ngroups;
};

/* The first valid entry of user NAME in PASSWD ("name:pw:uid:gid:gecos:home:shell"
 * lines; uid and gid 0 to 4294967294) into u, its primary group as groups[0]; false when
 * there is none.  PASSWD is split in place. */
bool accounts_passwd(char *passwd, const char *name, struct jailuser *u);
/* Add the groups of GROUP ("name:pw:gid:member,member" lines) that list NAME as a member
 * to u (at most ACCOUNT_GROUPS_MAX in all).  GROUP is split in place. */
void accounts_groups(char *group, const char *name, struct jailuser *u);

#endif
