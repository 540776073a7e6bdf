/* NAT address allocation (jailconf_nat_alloc, see core/jailconf.h): the lowest host
 * numbers of nat_prefix that no other jail stores in its nat_addr, stored once. */
#include "core/jailconf.h"
#include "core/jails.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host numbers of family in c's prefix that other jails hold (a bitmap of the first
 * `max` numbers). */
static void mark_used(const struct jailconf *c, const struct ztable *t, int family, uint8_t *used,
		      uint64_t max)
{
	for (size_t i = 0; i < t->nrows; i++) {
		const struct strv *r = &t->rows[i];
		if (r->n < 4 || streq(r->v[2], c->uuid))
			continue;
		bool h4, h6;
		uint8_t a4[4], a6[16];
		if (!parse_nat_addr(r->v[3], &h4, a4, &h6, a6))
			continue;
		const uint8_t *a = family == 4 ? (h4 ? a4 : NULL) : (h6 ? a6 : NULL);
		if (!a || !nat_prefix_contains(&c->nat_prefix, family, a))
			continue;
		int bytes = family == 4 ? 4 : 16;
		uint64_t idx = 0;
		for (int k = 0; k < 4; k++)
			idx |= (uint64_t)a[bytes - 1 - k] << (8 * k);
		int hostbits = bytes * 8 - (family == 4 ? c->nat_prefix.len4 : c->nat_prefix.len6);
		if (hostbits < 32)
			idx &= (1ULL << hostbits) - 1;
		if (idx < max)
			used[idx] = 1;
	}
}

/* The lowest free host number from 2, its address in out. */
static int pick(const struct jailconf *c, const struct ztable *t, int family, uint8_t *out)
{
	enum { MAX = 1 << 16 }; /* jails per prefix considered */
	_cleanup_free_ uint8_t *used = xcalloc(MAX, 1);
	mark_used(c, t, family, used, MAX);
	for (uint64_t idx = 2; idx < MAX; idx++)
		if (!used[idx] && jc_nat_host(c, family, idx, out))
			return 0;
	char net[64] = "";
	inet_ntop(family == 4 ? AF_INET : AF_INET6,
		  family == 4 ? (const void *)c->nat_prefix.net4 : (const void *)c->nat_prefix.net6,
		  net, sizeof(net));
	ioc_err("no free IPv%d address left in nat_prefix %s/%d for jail %s", family, net,
		family == 4 ? c->nat_prefix.len4 : c->nat_prefix.len6, c->tag);
	ioc_hint("set a larger nat_prefix (e.g. 'iocell set nat_prefix=... default')");
	return -1;
}

int jailconf_nat_alloc(struct jailconf *c, struct jail *j)
{
	if (!c->nat || ((!c->nat4 || c->nat_has4) && (!c->nat6 || c->nat_has6)))
		return 0;
	_cleanup_ztable_ struct ztable t = {0};
	if (jails_query(&t, "name,iocell:active,iocell:host_hostuuid,iocell:nat_addr", NULL) < 0)
		return -1;
	if (c->nat4 && !c->nat_has4) {
		if (pick(c, &t, 4, c->nat_addr4) < 0)
			return -1;
		c->nat_has4 = true;
	}
	if (c->nat6 && !c->nat_has6) {
		if (pick(c, &t, 6, c->nat_addr6) < 0)
			return -1;
		c->nat_has6 = true;
	}
	char a4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "";
	if (c->nat_has4)
		inet_ntop(AF_INET, c->nat_addr4, a4, sizeof(a4));
	if (c->nat_has6)
		inet_ntop(AF_INET6, c->nat_addr6, a6, sizeof(a6));
	_cleanup_free_ char *val = xasprintf("%s%s%s", a4, a4[0] && a6[0] ? "," : "", a6);
	_cleanup_free_ char *zprop = xasprintf("%s%s", IOC_PROP_PREFIX, prop_name(P_NAT_ADDR));
	if (zfs_set(j->ds, zprop, val) < 0)
		return -1;
	prop_kv_set(&j->props, P_NAT_ADDR, val);
	jail_conf_save(j);
	free(c->nat_addr_text);
	c->nat_addr_text = xstrdup(val);
	return 0;
}
