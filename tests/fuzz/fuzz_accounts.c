/* Fuzz target: a jail's /etc/passwd and /etc/group (text the jail's root writes, read by
 * the host's root for `exec -u USER`): accounts_passwd, accounts_groups.  Input: PASSWD,
 * a NUL, GROUP, a NUL, the user name. */
#include "fuzz.h"

#include "core/accounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[3];
	fuzz_parts(data, size, part, 3);
	const char *name = part[2];
	struct jailuser u;
	if (accounts_passwd(part[0], name, &u)) {
		/* the user asked for (its name as far as it fits), a real uid, one group */
		FUZZ_CHECK(strncmp(u.name, name, sizeof(u.name) - 1) == 0);
		FUZZ_CHECK(u.uid != (uid_t)-1 && u.gid != (gid_t)-1);
		FUZZ_CHECK(u.ngroups == 1 && u.groups[0] == u.gid);
		FUZZ_CHECK(!strchr(u.home, ':') && !strchr(u.shell, '\n'));
		accounts_groups(part[1], name, &u);
		FUZZ_CHECK(u.ngroups >= 1 && u.ngroups <= ACCOUNT_GROUPS_MAX);
		for (int i = 0; i < u.ngroups; i++)
			FUZZ_CHECK(u.groups[i] != (gid_t)-1);
	}
	fuzz_parts_free(part, 3);
	return 0;
}
