/* The typed jail configuration (see jailconf.h). */
#include "core/jailconf.h"
#include "core/sha256.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ------------------------------------------------------------------- */

enum jc_kind {
	JK_TEXT,  /* char *: the value */
	JK_OPT,   /* char *: NULL for "none" */
	JK_BIT,   /* bool: 0 | 1 */
	JK_ONOFF, /* bool: on | off */
	JK_YESNO, /* bool: yes | no */
	JK_INT,   /* int, the property's range */
	JK_LONG,  /* long, the property's range */
	JK_MODE,  /* enum jc_mode: new | inherit | disable */
	JK_OWN,   /* bool: a namespace of its own ("own") or the host's ("host") */
	JK_ID,    /* uint32_t: a host id, 0 for "none" */
};

#define F_PROPS 1 /* read from the jail's properties */
#define F_STATE 2 /* kept in the runtime state */

struct jc_field {
	enum prop_id prop; /* P__COUNT: a runtime-state key of its own (key, dflt) */
	enum jc_kind kind;
	size_t off;
	unsigned where;
	const char *key, *dflt;
};

#define PROP(p, k, member, w)                                          \
	{                                                              \
		p, k, offsetof(struct jailconf, member), w, NULL, NULL \
	}
#define STATE(key, k, member, dflt)                                                \
	{                                                                          \
		P__COUNT, k, offsetof(struct jailconf, member), F_STATE, key, dflt \
	}
#define LIMIT(id) PROP(P_MEMORYUSE + id, JK_TEXT, lim_text[id], F_PROPS | F_STATE)
#define BOTH (F_PROPS | F_STATE)

/* Every value of the configuration that comes from one property or state key.  What is
 * derived from several (the network, own_ipc, basejail) follows in jailconf_from_jail. */
static const struct jc_field fields[] = {
	/* identity and paths */
	PROP(P_TAG, JK_TEXT, tag, BOTH),
	PROP(P_HOST_HOSTNAME, JK_TEXT, hostname, BOTH),
	PROP(P_HOST_DOMAINNAME, JK_OPT, domainname, F_PROPS),
	PROP(P_TEMPLATE, JK_YESNO, template, F_PROPS),
	STATE(RS_ROOT, JK_TEXT, root, ""),
	STATE(RS_LOG, JK_OPT, log, "none"),
	STATE(RS_NETNS, JK_OWN, own_net, "host"),
	STATE(RS_IPCNS, JK_OWN, own_ipc, "own"),
	/* network */
	PROP(P_VNET, JK_ONOFF, vnet, F_PROPS),
	PROP(P_CREATEBRIDGE, JK_ONOFF, createbridge, F_PROPS),
	PROP(P_IP4, JK_MODE, ip4, F_PROPS),
	PROP(P_IP6, JK_MODE, ip6, F_PROPS),
	PROP(P_RESOLVER, JK_OPT, resolver, F_PROPS),
	PROP(P_NAT, JK_ONOFF, nat, BOTH),
	PROP(P_NAT_PREFIX, JK_TEXT, nat_prefix_text, F_PROPS),
	PROP(P_NAT_INTERFACE, JK_TEXT, nat_iface_text, F_PROPS),
	PROP(P_NAT_FORWARDS, JK_TEXT, nat_forwards_text, BOTH),
	PROP(P_NAT_ADDR, JK_TEXT, nat_addr_text, F_PROPS),
	/* hooks and timeouts */
	PROP(P_EXEC_PRESTART, JK_OPT, exec_prestart, F_PROPS),
	PROP(P_EXEC_POSTSTART, JK_OPT, exec_poststart, F_PROPS),
	PROP(P_EXEC_PRESTOP, JK_OPT, exec_prestop, BOTH),
	PROP(P_EXEC_POSTSTOP, JK_OPT, exec_poststop, BOTH),
	PROP(P_EXEC_START, JK_OPT, exec_start, BOTH),
	PROP(P_EXEC_STOP, JK_OPT, exec_stop, BOTH),
	PROP(P_EXEC_TIMEOUT, JK_LONG, exec_timeout, BOTH),
	PROP(P_STOP_TIMEOUT, JK_LONG, stop_timeout, BOTH),
	PROP(P_LOGIN_FLAGS, JK_TEXT, login_flags, BOTH),
	/* mounts */
	PROP(P_MOUNT_PROCFS, JK_BIT, mount_procfs, F_PROPS),
	PROP(P_MOUNT_DEVFS, JK_BIT, mount_devfs, F_PROPS),
	PROP(P_MOUNT_SYSFS, JK_BIT, mount_sysfs, F_PROPS),
	/* security */
	PROP(P_ALLOW_RAW_SOCKETS, JK_BIT, sec.allow_raw_sockets, BOTH),
	PROP(P_ALLOW_SET_HOSTNAME, JK_BIT, sec.allow_set_hostname, BOTH),
	PROP(P_ALLOW_MOUNT, JK_BIT, sec.allow_mount, BOTH),
	PROP(P_ALLOW_MOUNT_TMPFS, JK_BIT, sec.allow_mount_tmpfs, BOTH),
	PROP(P_ALLOW_MOUNT_PROCFS, JK_BIT, sec.allow_mount_procfs, BOTH),
	PROP(P_ALLOW_MOUNT_DEVFS, JK_BIT, sec.allow_mount_devfs, BOTH),
	PROP(P_ALLOW_MOUNT_NULLFS, JK_BIT, sec.allow_mount_nullfs, BOTH),
	PROP(P_ALLOW_MOUNT_ZFS, JK_BIT, sec.allow_mount_zfs, BOTH),
	PROP(P_ALLOW_CHFLAGS, JK_BIT, sec.allow_chflags, BOTH),
	PROP(P_ALLOW_QUOTAS, JK_BIT, sec.allow_quotas, BOTH),
	PROP(P_SECURELEVEL, JK_INT, sec.securelevel, BOTH),
	PROP(P_CHILDREN_MAX, JK_LONG, sec.children_max, BOTH),
	/* ids: the user namespace (core/idmap.h) */
	PROP(P_PRIVILEGED, JK_YESNO, privileged, BOTH),
	PROP(P_IDMAP_BASE, JK_ID, idmap_base, BOTH),
	PROP(P_IDMAP_SHIFT, JK_ID, idmap_shift, BOTH),
	PROP(P_ALLOW_SYSVIPC, JK_BIT, allow_sysvipc, F_PROPS),
	PROP(P_SYSVMSG, JK_MODE, sysvmsg, F_PROPS),
	PROP(P_SYSVSEM, JK_MODE, sysvsem, F_PROPS),
	PROP(P_SYSVSHM, JK_MODE, sysvshm, F_PROPS),
	/* limits (parsed in parse_limits) */
	PROP(P_RLIMITS, JK_ONOFF, lim.on, BOTH),
	PROP(P_CPUSET, JK_TEXT, cpuset_text, BOTH),
	LIMIT(LIM_MEMORYUSE),
	LIMIT(LIM_PCPU),
	LIMIT(LIM_MAXPROC),
	LIMIT(LIM_OPENFILES),
	LIMIT(LIM_VMEMORYUSE),
	LIMIT(LIM_MEMORYLOCKED),
	LIMIT(LIM_SWAPUSE),
	LIMIT(LIM_NTHR),
	LIMIT(LIM_PSEUDOTERMINALS),
	LIMIT(LIM_CPUTIME),
	LIMIT(LIM_DATASIZE),
	LIMIT(LIM_STACKSIZE),
	LIMIT(LIM_COREDUMPSIZE),
	LIMIT(LIM_READBPS),
	LIMIT(LIM_WRITEBPS),
	LIMIT(LIM_READIOPS),
	LIMIT(LIM_WRITEIOPS),
	LIMIT(LIM_WALLCLOCK),
	/* a dataset handed to the jail */
	PROP(P_JAIL_ZFS, JK_ONOFF, jail_zfs, F_PROPS),
	PROP(P_JAIL_ZFS_DATASET, JK_TEXT, jail_zfs_dataset, F_PROPS),
	PROP(P_JAIL_ZFS_MOUNTPOINT, JK_OPT, jail_zfs_mountpoint, F_PROPS),
};

static const char *const mode_names[] = {
	[JC_NEW] = "new", [JC_INHERIT] = "inherit", [JC_DISABLE] = "disable"};

/* One error per build: the first is the cause to report. */
struct build {
	struct jailconf *c;
	bool failed;
};

static void bad(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct build *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	b->failed = true;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ioc_err("%s", msg);
}

static const char *field_name(const struct jc_field *f)
{
	return f->prop == P__COUNT ? f->key : prop_name(f->prop);
}

/* Parse v into the field; an invalid value leaves the field as it was (the default). */
static void field_parse(struct build *b, const struct jc_field *f, const char *v)
{
	void *at = (char *)b->c + f->off;
	char why[512] = "";
	bool ok = true;
	if (f->prop != P__COUNT && f->kind != JK_TEXT && f->kind != JK_OPT)
		ok = prop_validate(&prop_table[f->prop], v, why, sizeof(why));
	if (!ok) {
		bad(b, "invalid %s \"%s\": %s", field_name(f), v, why);
		return;
	}
	long long n = 0;
	switch (f->kind) {
	case JK_TEXT:
	case JK_OPT:
		free(*(char **)at);
		*(char **)at = f->kind == JK_OPT && streq(v, "none") ? NULL : xstrdup(v);
		break;
	case JK_BIT: *(bool *)at = streq(v, "1"); break;
	case JK_ONOFF: *(bool *)at = streq(v, "on"); break;
	case JK_YESNO: *(bool *)at = streq(v, "yes"); break;
	case JK_INT:
	case JK_LONG: {
		const struct propdef *p = &prop_table[f->prop];
		if (!parse_int(v, p->min, p->max, &n))
			return; /* prop_validate said it is in range */
		if (f->kind == JK_INT)
			*(int *)at = (int)n;
		else
			*(long *)at = (long)n;
		break;
	}
	case JK_MODE:
		for (int m = JC_NEW; m <= JC_DISABLE; m++)
			if (streq(v, mode_names[m]))
				*(enum jc_mode *)at = (enum jc_mode)m;
		break;
	case JK_OWN:
		if (streq(v, "own") || streq(v, "host"))
			*(bool *)at = streq(v, "own");
		else
			bad(b, "invalid %s \"%s\": allowed: own | host", f->key, v);
		break;
	case JK_ID:
		*(uint32_t *)at = streq(v, "none") || !parse_int(v, 0, IDMAP_MAX_BASE, &n)
					  ? 0
					  : (uint32_t)n;
		break;
	}
}

static void field_format(const struct jailconf *c, const struct jc_field *f, struct runstate *rs)
{
	const void *at = (const char *)c + f->off;
	const char *key = field_name(f);
	switch (f->kind) {
	case JK_TEXT: rs_set(rs, key, *(char *const *)at ? *(char *const *)at : ""); break;
	case JK_OPT: rs_set(rs, key, *(char *const *)at ? *(char *const *)at : "none"); break;
	case JK_BIT: rs_set(rs, key, *(const bool *)at ? "1" : "0"); break;
	case JK_ONOFF: rs_set(rs, key, *(const bool *)at ? "on" : "off"); break;
	case JK_YESNO: rs_set(rs, key, *(const bool *)at ? "yes" : "no"); break;
	case JK_INT: rs_setn(rs, key, *(const int *)at); break;
	case JK_LONG: rs_setn(rs, key, *(const long *)at); break;
	case JK_MODE: rs_set(rs, key, mode_names[*(const enum jc_mode *)at]); break;
	case JK_OWN: rs_set(rs, key, *(const bool *)at ? "own" : "host"); break;
	case JK_ID:
		if (*(const uint32_t *)at)
			rs_setn(rs, key, *(const uint32_t *)at);
		else
			rs_set(rs, key, "none");
		break;
	}
}

/* ---- limits ----------------------------------------------------------------------- */

/* cpuset always (it applies with rlimits=off too), every limit when rlimits=on.  An
 * invalid one stays off. */
static void parse_limits(struct build *b)
{
	struct limits *l = &b->c->lim;
	const char *cs = b->c->cpuset_text;
	memset(l->v, 0, sizeof(l->v));
	l->cpuset[0] = '\0';
	if (cs && !streq(cs, "off") && !streq(cs, "none")) {
		uint64_t mask[16];
		int hi;
		if (strlen(cs) >= sizeof(l->cpuset) || !parse_cpulist(cs, mask, &hi))
			bad(b, "invalid cpuset \"%s\": not a CPU list", cs);
		else
			snprintf(l->cpuset, sizeof(l->cpuset), "%s", cs);
	}
	if (!l->on)
		return;
	for (int i = 0; i < LIM_N; i++) {
		const struct propdef *p = &prop_table[lim_prop((enum lim_id)i)];
		const char *v = b->c->lim_text[i];
		if (!v || streq(v, "off") || streq(v, "none"))
			continue;
		char why[256];
		if (!parse_limit(v, p->unit, p->actions, &l->v[i], why, sizeof(why))) {
			memset(&l->v[i], 0, sizeof(l->v[i]));
			bad(b, "invalid %s \"%s\": %s", p->name, v, why);
		}
	}
}

void jailconf_take_limits(struct jailconf *dst, struct jailconf *src)
{
	dst->lim = src->lim;
	free(dst->cpuset_text);
	dst->cpuset_text = TAKE_PTR(src->cpuset_text);
	for (int i = 0; i < LIM_N; i++) {
		free(dst->lim_text[i]);
		dst->lim_text[i] = TAKE_PTR(src->lim_text[i]);
	}
}

void jailconf_drop_limits(struct jailconf *c)
{
	c->lim.on = false;
	c->lim.cpuset[0] = '\0';
	memset(c->lim.v, 0, sizeof(c->lim.v));
	free(c->cpuset_text);
	c->cpuset_text = xstrdup("off");
}

/* ---- network ---------------------------------------------------------------------- */

void jc_mac_format(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int jc_mac_derive(const char *uuid, int idx, uint8_t a[6], uint8_t b[6])
{
	char in[80], hex[SHA256_HEX_LEN + 1];
	snprintf(in, sizeof(in), "iocell-mac:%s:vnet%d", uuid, idx);
	if (sha256_buf(in, strlen(in), hex) < 0)
		return -1;
	uint8_t h[10];
	for (int i = 0; i < 10; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		h[i] = (uint8_t)v;
	}
	a[0] = b[0] = 0x02;
	memcpy(a + 1, h, 5);
	memcpy(b + 1, h + 5, 5);
	if (memcmp(a, b, 6) == 0)
		b[5] ^= 1;
	return 0;
}

/* vnetN_mac belongs to nic "vnetN"; other nics take the lowest index no vnetN nic uses. */
static void mac_indexes(const struct iface_entry *e, size_t n, int idx[])
{
	bool used[JC_MAX_NICS] = {false};
	for (size_t i = 0; i < n; i++) {
		idx[i] = -1;
		if (strncmp(e[i].nic, "vnet", 4) == 0 && e[i].nic[4] >= '0' && e[i].nic[4] <= '9' &&
		    e[i].nic[5] == '\0' && !used[e[i].nic[4] - '0']) {
			idx[i] = e[i].nic[4] - '0';
			used[idx[i]] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= 0)
			continue;
		for (int k = 0; k < JC_MAX_NICS; k++)
			if (!used[k]) {
				idx[i] = k;
				used[k] = true;
				break;
			}
	}
}

/* The MACs of nic number idx: its vnetN_mac, else derived from the UUID (mac_new). */
static int nic_macs(const struct jailconf *c, const struct jail *j, int idx, struct jc_nic *n)
{
	n->mac_prop = (enum prop_id)(P_VNET0_MAC + idx);
	const char *v = jail_prop(j, n->mac_prop);
	if (!streq(v, "none")) {
		/* what set accepts (two unicast MACs), then their bytes */
		const char *comma = strchr(v, ',');
		char first[32], why[256] = "";
		if (prop_validate(&prop_table[n->mac_prop], v, why, sizeof(why)) && comma &&
		    (size_t)(comma - v) < sizeof(first)) {
			snprintf(first, sizeof(first), "%.*s", (int)(comma - v), v);
			if (parse_mac(first, n->mac_jail) && parse_mac(comma + 1, n->mac_host))
				return 0;
		}
		ioc_err("%s of jail %s is not MACA,MACB: %s (%s)", prop_name(n->mac_prop), c->uuid,
			v, why);
		return -1;
	}
	n->mac_new = true;
	return jc_mac_derive(c->uuid, idx, n->mac_jail, n->mac_host);
}

/* The addresses of one family (none when that family is disabled) and its router. */
static int parse_family(struct jailconf *c, const struct jail *j, int family)
{
	enum jc_mode mode = family == 4 ? c->ip4 : c->ip6;
	if (mode == JC_DISABLE)
		return 0;
	enum prop_id prop = family == 4 ? P_IP4_ADDR : P_IP6_ADDR;
	struct ipaddr_entry e[JC_MAX_ADDRS];
	size_t cnt = 0;
	char why[256];
	if (!parse_ip_list(jail_prop(j, prop), family, e, JC_MAX_ADDRS, &cnt, why, sizeof(why))) {
		ioc_err("%s of jail %s: %s", prop_name(prop), c->uuid, why);
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		struct jc_addr *a = &c->addrs[c->naddrs++];
		_Static_assert(sizeof(a->iface) == sizeof(e[i].iface), "iface name size");
		_Static_assert(sizeof(a->text) == sizeof(e[i].addr), "address size");
		memcpy(a->iface, e[i].iface, sizeof(a->iface));
		memcpy(a->text, e[i].addr, sizeof(a->text));
		a->family = family;
		a->prefix = e[i].prefix >= 0 ? e[i].prefix : (family == 4 ? 32 : 128);
		if (!(family == 4 ? parse_ipv4(a->text, a->bin) : parse_ipv6(a->text, a->bin))) {
			ioc_err("bad address %s|%s", a->iface, a->text);
			return -1;
		}
	}
	const char *r = jail_prop(j, family == 4 ? P_DEFAULTROUTER : P_DEFAULTROUTER6);
	struct jc_router *rt = &c->router[family == 4 ? 0 : 1];
	if (streq(r, "none"))
		return 0;
	if (!(family == 4 ? parse_ipv4(r, rt->bin) : parse_ipv6(r, rt->bin)) ||
	    strlen(r) >= sizeof(rt->text)) {
		ioc_err("defaultrouter%s is not an address: %s", family == 4 ? "" : "6", r);
		return -1;
	}
	snprintf(rt->text, sizeof(rt->text), "%s", r);
	return 0;
}

static int parse_network(struct jailconf *c, const struct jail *j)
{
	if (parse_family(c, j, 4) < 0 || parse_family(c, j, 6) < 0)
		return -1;
	if ((c->ip4 == JC_DISABLE && c->ip6 == JC_DISABLE) || !c->vnet)
		return 0; /* loopback only, or shared IP (the addresses name host interfaces) */
	struct iface_entry e[JC_MAX_NICS];
	size_t n = 0;
	char why[256];
	const char *v = jail_prop(j, P_INTERFACES);
	if (!parse_interfaces(v, e, JC_MAX_NICS, &n, why, sizeof(why))) {
		ioc_err("interfaces of jail %s: %s", c->uuid, why);
		return -1;
	}
	int idx[JC_MAX_NICS];
	mac_indexes(e, n, idx);
	for (size_t i = 0; i < n; i++) {
		struct jc_nic *nic = &c->nics[c->nnics++];
		_Static_assert(sizeof(nic->name) == sizeof(e[i].nic), "nic name size");
		_Static_assert(sizeof(nic->bridge) == sizeof(e[i].bridge), "bridge name size");
		memcpy(nic->name, e[i].nic, sizeof(nic->name));
		memcpy(nic->bridge, e[i].bridge, sizeof(nic->bridge));
		if (nic_macs(c, j, idx[i], nic) < 0)
			return -1;
	}
	for (size_t i = 0; i < c->naddrs; i++) {
		bool known = false;
		for (size_t k = 0; k < c->nnics && !known; k++)
			known = streq(c->nics[k].name, c->addrs[i].iface);
		if (!known) {
			ioc_err("ip%d_addr of jail %s names interface '%s', which is not among its "
				"VNET interfaces (%s)",
				c->addrs[i].family, c->uuid, c->addrs[i].iface, v);
			ioc_hint("add it to 'interfaces' or fix the address");
			return -1;
		}
	}
	return 0;
}

/* nat=on: prefix, uplink, forwards, the stored addresses (kept only inside the prefix). */
static int parse_nat(struct jailconf *c)
{
	char why[256];
	if (!parse_nat_prefix(c->nat_prefix_text, &c->nat_prefix, why, sizeof(why))) {
		ioc_err("nat_prefix of jail %s: %s", c->uuid, why);
		return -1;
	}
	c->nat4 = c->nat_prefix.has4 && c->ip4 == JC_NEW;
	c->nat6 = c->nat_prefix.has6 && c->ip6 == JC_NEW;
	if (!c->nat4 && !c->nat6) {
		ioc_err("jail %s: nat=on, but nat_prefix (%s) has no prefix of an enabled family",
			c->uuid, c->nat_prefix_text);
		return -1;
	}
	if (!streq(c->nat_iface_text, "auto"))
		snprintf(c->nat_iface, sizeof(c->nat_iface), "%s", c->nat_iface_text);
	if (!parse_forwards(c->nat_forwards_text, c->forwards, NAT_MAX_FORWARDS, &c->nforwards, why,
			    sizeof(why))) {
		ioc_err("nat_forwards of jail %s: %s", c->uuid, why);
		return -1;
	}
	bool h4 = false, h6 = false;
	if (!parse_nat_addr(c->nat_addr_text, &h4, c->nat_addr4, &h6, c->nat_addr6)) {
		ioc_err("nat_addr of jail %s is not V4[,V6]: %s", c->uuid, c->nat_addr_text);
		return -1;
	}
	uint8_t gw[16];
	c->nat_has4 = c->nat4 && h4 && nat_prefix_contains(&c->nat_prefix, 4, c->nat_addr4) &&
		      !(jc_nat_host(c, 4, 1, gw) && memcmp(gw, c->nat_addr4, 4) == 0);
	c->nat_has6 = c->nat6 && h6 && nat_prefix_contains(&c->nat_prefix, 6, c->nat_addr6) &&
		      !(jc_nat_host(c, 6, 1, gw) && memcmp(gw, c->nat_addr6, 16) == 0);
	struct jc_nic *n = &c->nat_nic;
	snprintf(n->name, sizeof(n->name), "nat0");
	snprintf(n->bridge, sizeof(n->bridge), "iocell0");
	n->mac_prop = P__COUNT;
	return jc_mac_derive(c->uuid, 2 * JC_MAX_NICS, n->mac_jail, n->mac_host);
}

bool jc_nat_host(const struct jailconf *c, int family, uint64_t idx, uint8_t *out)
{
	return nat_prefix_host(&c->nat_prefix, family, idx, out);
}

void jailconf_store_macs(const struct jailconf *c, struct jail *j)
{
	_cleanup_kv_ struct kv z;
	kv_init(&z);
	for (size_t i = 0; i < c->nnics; i++) {
		const struct jc_nic *n = &c->nics[i];
		if (!n->mac_new)
			continue;
		char a[18], b[18], val[40];
		jc_mac_format(n->mac_jail, a);
		jc_mac_format(n->mac_host, b);
		snprintf(val, sizeof(val), "%s,%s", a, b);
		_cleanup_free_ char *zprop = xasprintf("%s%s", IOC_PROP_PREFIX,
						       prop_name(n->mac_prop));
		kv_set(&z, zprop, val);
	}
	if (z.k.n == 0)
		return;
	/* one `zfs set` for all of them on OpenZFS */
	if (zfs_set_many(j->ds, &z) < 0) {
		ioc_warn("could not store the interfaces' MAC addresses: %s", ioc_errmsg());
		ioc_err_clear();
		return;
	}
	for (size_t i = 0; i < c->nnics; i++) {
		const struct jc_nic *n = &c->nics[i];
		if (!n->mac_new)
			continue;
		_cleanup_free_ char *zprop = xasprintf("%s%s", IOC_PROP_PREFIX,
						       prop_name(n->mac_prop));
		prop_kv_set(&j->props, n->mac_prop, kv_get(&z, zprop));
	}
	jail_conf_save(j);
}

/* ---- building ---------------------------------------------------------------------- */

/* Every field of where from its property (view) or its state key (rs; NULL: defaults). */
static void fill(struct build *b, const struct jail *view, unsigned where,
		 const struct runstate *rs)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct jc_field *f = &fields[i];
		if (!(f->where & where))
			continue;
		/* a property missing from the list or the state: its default */
		const char *v = f->prop != P__COUNT        ? jail_prop(view, f->prop)
				: rs && rs_get(rs, f->key) ? rs_get(rs, f->key)
							   : f->dflt;
		field_parse(b, f, v);
	}
}

/* Start from the defaults, so that a value rejected later still leaves a usable one. */
static void defaults(struct jailconf *c, const char *uuid, unsigned where)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	struct jail none = {0};
	snprintf(none.uuid, sizeof(none.uuid), "%s", uuid);
	struct build b = {c, false};
	fill(&b, &none, where, NULL);
}

int jailconf_from_jail(struct jailconf *c, const struct jail *j)
{
	defaults(c, j->uuid, F_PROPS);
	struct build b = {c, false};
	fill(&b, j, F_PROPS, NULL);
	if (j->path) {
		c->root = jail_root(j);
		c->fstab = xasprintf("%s/fstab", j->path);
	}
	c->basejail = streq(jail_prop(j, P_TYPE), "basejail");
	c->own_net = c->ip4 != JC_INHERIT && c->ip6 != JC_INHERIT;
	c->own_ipc = !(c->allow_sysvipc || (c->sysvmsg == JC_INHERIT && c->sysvsem == JC_INHERIT &&
					    c->sysvshm == JC_INHERIT));
	c->sec.net_admin = c->own_net && !c->privileged;
	parse_limits(&b);
	if (!b.failed && c->own_net && parse_network(c, j) < 0)
		b.failed = true;
	if (!b.failed && c->nat && c->own_net && c->vnet && parse_nat(c) < 0)
		b.failed = true;
	if (!(c->own_net && c->vnet))
		c->nat = false; /* the configuration check refuses it; never half-applied */
	return b.failed ? -1 : 0;
}

int jailconf_from_state(struct jailconf *c, const struct runstate *rs)
{
	defaults(c, rs->uuid, F_STATE);
	/* The state's keys are the properties' names: read it as a property list. */
	struct jail view = {.props = rs->kv};
	snprintf(view.uuid, sizeof(view.uuid), "%s", rs->uuid);
	struct build b = {c, false};
	fill(&b, &view, F_STATE, rs);
	/* a jail started by an iocell before user namespaces has none */
	if (!rs_get(rs, prop_name(P_PRIVILEGED)))
		c->privileged = true;
	c->sec.net_admin = c->own_net && !c->privileged;
	parse_limits(&b);
	return b.failed ? -1 : 0;
}

void jailconf_to_state(const struct jailconf *c, struct runstate *rs)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].where & F_STATE)
			field_format(c, &fields[i], rs);
}

void jailconf_free(struct jailconf *c)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct jc_field *f = &fields[i];
		if (f->kind == JK_TEXT || f->kind == JK_OPT) {
			char **p = (char **)((char *)c + f->off);
			free(*p);
			*p = NULL;
		}
	}
	free(c->fstab);
	c->fstab = NULL;
}
