/* Unit tests of the typed jail configuration (src/core/jailconf.c): built from a property
 * list, kept in and rebuilt from the runtime state, invalid stored values rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/jailconf.h"

#define UUID "0e5b7c1a-6f1d-4a8e-9c3b-2d4f5a6b7c8d"

/* A jail as jail_load makes it, from "name=value" pairs. */
static struct jail *jail_of(const char *const *pairs)
{
	struct jail *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	strcpy(j->uuid, UUID);
	j->ds = strdup("tank/iocell/jails/" UUID);
	j->path = strdup("/iocell/jails/" UUID);
	j->mounted = true;
	kv_init(&j->props);
	for (size_t i = 0; pairs && pairs[i]; i++) {
		const char *eq = strchr(pairs[i], '=');
		assert_non_null(eq);
		char *k = strndup(pairs[i], (size_t)(eq - pairs[i]));
		kv_set(&j->props, k, eq + 1);
		free(k);
	}
	return j;
}

/* jailconf_from_jail on these properties: its result, c filled. */
static int build(struct jailconf *c, const char *const *pairs)
{
	struct jail *j = jail_of(pairs);
	ioc_err_clear();
	int rc = jailconf_from_jail(c, j);
	jail_free(j);
	return rc;
}

static void test_defaults(void **state)
{
	(void)state;
	struct jailconf c;
	assert_int_equal(build(&c, NULL), 0);
	assert_string_equal(c.uuid, UUID);
	assert_string_equal(c.hostname, UUID); /* host_hostname defaults to the UUID */
	assert_null(c.domainname);
	assert_string_equal(c.root, "/iocell/jails/" UUID "/root");
	assert_string_equal(c.fstab, "/iocell/jails/" UUID "/fstab");
	assert_null(c.log); /* the runtime's to set */
	assert_true(c.own_net && c.own_ipc && c.vnet && c.createbridge);
	assert_int_equal(c.ip4, JC_NEW);
	/* the default interfaces: vnet0 on bridge0, MACs derived from the UUID */
	assert_int_equal(c.nnics, 1);
	assert_string_equal(c.nics[0].name, "vnet0");
	assert_string_equal(c.nics[0].bridge, "bridge0");
	assert_true(c.nics[0].mac_new);
	assert_int_equal(c.nics[0].mac_prop, P_VNET0_MAC);
	assert_int_equal(c.nics[0].mac_jail[0], 0x02);
	assert_memory_not_equal(c.nics[0].mac_jail, c.nics[0].mac_host, 6);
	assert_int_equal(c.naddrs, 0);
	assert_string_equal(c.router[0].text, "");
	assert_null(c.resolver);
	assert_int_equal(c.exec_timeout, 60);
	assert_int_equal(c.stop_timeout, 30);
	assert_string_equal(c.login_flags, "-f root");
	assert_true(c.mount_procfs && c.mount_devfs && c.mount_sysfs);
	assert_true(c.sec.allow_set_hostname);
	assert_false(c.sec.allow_raw_sockets);
	assert_int_equal(c.sec.securelevel, 2);
	assert_int_equal(c.sec.children_max, 0);
	/* rlimits=off: nothing in force, the texts kept for display */
	assert_false(c.lim.on);
	assert_string_equal(c.lim.cpuset, "");
	assert_int_equal(c.lim.v[LIM_MEMORYUSE].action, 0);
	assert_string_equal(c.lim_text[LIM_MEMORYUSE], "8G:log");
	assert_string_equal(c.lim_text[LIM_PCPU], "off");
	assert_false(c.jail_zfs);
	jailconf_free(&c);
}

static void test_from_properties(void **state)
{
	(void)state;
	static const char *const p[] = {"tag=web",
					"host_hostname=web.example",
					"host_domainname=example",
					"interfaces=vnet0:br0,vnet3:br1",
					"vnet3_mac=02:aa:bb:cc:dd:01,02:aa:bb:cc:dd:02",
					"ip4_addr=vnet0|192.0.2.10/24,vnet3|198.51.100.7",
					"ip6_addr=vnet0|2001:db8::5/64",
					"defaultrouter=192.0.2.1",
					"defaultrouter6=fe80::1",
					"resolver=nameserver 192.0.2.53",
					"exec_start=/bin/sh /etc/rc",
					"exec_stop=none",
					"exec_prestart=echo pre",
					"exec_timeout=15",
					"login_flags=-f admin",
					"mount_sysfs=0",
					"allow_raw_sockets=1",
					"securelevel=-1",
					"children_max=3",
					"sysvshm=disable",
					"type=basejail",
					"rlimits=on",
					"memoryuse=4G:deny",
					"pcpu=50:log",
					"wallclock=1h:sigterm",
					"cpuset=0-1",
					"template=yes",
					NULL};
	struct jailconf c;
	assert_int_equal(build(&c, p), 0);
	assert_string_equal(c.tag, "web");
	assert_string_equal(c.hostname, "web.example");
	assert_string_equal(c.domainname, "example");
	assert_true(c.template && c.basejail);
	/* vnet3 has its stored MACs; vnet0 derived ones */
	assert_int_equal(c.nnics, 2);
	assert_string_equal(c.nics[1].name, "vnet3");
	assert_string_equal(c.nics[1].bridge, "br1");
	assert_false(c.nics[1].mac_new);
	assert_int_equal(c.nics[1].mac_prop, P_VNET3_MAC);
	static const uint8_t mj[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01};
	assert_memory_equal(c.nics[1].mac_jail, mj, 6);
	assert_true(c.nics[0].mac_new);
	/* addresses: IPv4 first, prefixes resolved, binary too */
	assert_int_equal(c.naddrs, 3);
	assert_string_equal(c.addrs[0].iface, "vnet0");
	assert_string_equal(c.addrs[0].text, "192.0.2.10");
	assert_int_equal(c.addrs[0].prefix, 24);
	static const uint8_t a0[4] = {192, 0, 2, 10};
	assert_memory_equal(c.addrs[0].bin, a0, 4);
	assert_int_equal(c.addrs[1].prefix, 32);
	assert_int_equal(c.addrs[2].family, 6);
	assert_int_equal(c.addrs[2].prefix, 64);
	assert_string_equal(c.router[0].text, "192.0.2.1");
	assert_string_equal(c.router[1].text, "fe80::1");
	assert_int_equal(c.router[1].bin[0], 0xfe);
	assert_string_equal(c.resolver, "nameserver 192.0.2.53");
	/* hooks: none is NULL */
	assert_string_equal(c.exec_start, "/bin/sh /etc/rc");
	assert_null(c.exec_stop);
	assert_string_equal(c.exec_prestart, "echo pre");
	assert_null(c.exec_poststart);
	assert_int_equal(c.exec_timeout, 15);
	assert_string_equal(c.login_flags, "-f admin");
	assert_false(c.mount_sysfs);
	assert_true(c.sec.allow_raw_sockets);
	assert_int_equal(c.sec.securelevel, -1);
	assert_int_equal(c.sec.children_max, 3);
	assert_true(c.own_ipc);
	assert_int_equal(c.sysvshm, JC_DISABLE);
	/* limits, parsed once */
	assert_true(c.lim.on);
	assert_string_equal(c.lim.cpuset, "0-1");
	assert_int_equal(c.lim.v[LIM_MEMORYUSE].action, LA_DENY);
	assert_true(c.lim.v[LIM_MEMORYUSE].amount == 4ULL << 30);
	assert_int_equal(c.lim.v[LIM_PCPU].action, LA_LOG);
	assert_int_equal(c.lim.v[LIM_PCPU].amount, 50);
	assert_int_equal(c.lim.v[LIM_WALLCLOCK].action, LA_SIGNAL);
	assert_int_equal(c.lim.v[LIM_WALLCLOCK].amount, 3600);
	assert_int_equal(c.lim.v[LIM_OPENFILES].action, 0);
	jailconf_free(&c);
}

static void test_namespaces(void **state)
{
	(void)state;
	struct jailconf c;
	/* inherit: the host's stack, and nothing of the network is parsed */
	static const char *const inherit[] = {"ip4=inherit", "ip4_addr=not an address", NULL};
	assert_int_equal(build(&c, inherit), 0);
	assert_false(c.own_net);
	assert_int_equal(c.nnics + c.naddrs, 0);
	jailconf_free(&c);
	/* shared IP: the addresses name host interfaces, no VNET interfaces */
	static const char *const shared[] = {"vnet=off", "ip4_addr=eth0|192.0.2.9/24", NULL};
	assert_int_equal(build(&c, shared), 0);
	assert_true(c.own_net);
	assert_int_equal(c.nnics, 0);
	assert_int_equal(c.naddrs, 1);
	jailconf_free(&c);
	/* both families disabled: loopback only */
	static const char *const lo[] = {"ip4=disable", "ip6=disable", "ip4_addr=garbage", NULL};
	assert_int_equal(build(&c, lo), 0);
	assert_int_equal(c.nnics + c.naddrs, 0);
	jailconf_free(&c);
	/* IPC: shared with allow_sysvipc, or when every sysv* inherits */
	static const char *const ipc1[] = {"allow_sysvipc=1", NULL};
	assert_int_equal(build(&c, ipc1), 0);
	assert_false(c.own_ipc);
	jailconf_free(&c);
	static const char *const ipc2[] = {"sysvmsg=inherit", "sysvsem=inherit", "sysvshm=inherit",
					   NULL};
	assert_int_equal(build(&c, ipc2), 0);
	assert_false(c.own_ipc);
	jailconf_free(&c);
}

/* Serialize, rebuild, serialize again: the same state, the same values. */
static void test_state_round_trip(void **state)
{
	(void)state;
	static const char *const p[] = {"tag=db",
					"exec_start=/etc/init.d/rc 3",
					"exec_stop=/etc/init.d/rc 0",
					"exec_prestop=logger bye",
					"stop_timeout=5",
					"login_flags=-p -f root",
					"allow_mount=1",
					"allow_mount_tmpfs=1",
					"allow_chflags=1",
					"securelevel=0",
					"children_max=7",
					"ip4=inherit",
					"allow_sysvipc=1",
					"rlimits=on",
					"memoryuse=512M:log",
					"maxproc=100:deny",
					"openfiles=1024:deny",
					"cpuset=0",
					"pseudoterminals=16:deny",
					NULL};
	struct jailconf c;
	assert_int_equal(build(&c, p), 0);
	c.log = strdup("/iocell/log/" UUID "-console.log");
	struct runstate rs = {.uuid = UUID};
	kv_init(&rs.kv);
	rs_set(&rs, RS_JID, "3"); /* the runtime's own keys stay as they are */
	jailconf_to_state(&c, &rs);
	assert_string_equal(rs_get(&rs, "tag"), "db");
	assert_string_equal(rs_get(&rs, "exec_poststop"), "none");
	assert_string_equal(rs_get(&rs, "securelevel"), "0");
	assert_string_equal(rs_get(&rs, "memoryuse"), "512M:log");
	assert_string_equal(rs_get(&rs, RS_NETNS), "host");
	assert_string_equal(rs_get(&rs, RS_IPCNS), "host");
	assert_string_equal(rs_get(&rs, RS_ROOT), c.root);
	assert_string_equal(rs_get(&rs, RS_JID), "3");
	assert_null(rs_get(&rs, "ip4_addr")); /* start-only parts are not kept */

	struct jailconf r;
	assert_int_equal(jailconf_from_state(&r, &rs), 0);
	assert_string_equal(r.tag, c.tag);
	assert_string_equal(r.hostname, c.hostname);
	assert_string_equal(r.root, c.root);
	assert_string_equal(r.log, c.log);
	assert_string_equal(r.exec_start, c.exec_start);
	assert_string_equal(r.exec_stop, c.exec_stop);
	assert_string_equal(r.exec_prestop, c.exec_prestop);
	assert_null(r.exec_poststop);
	assert_int_equal(r.stop_timeout, 5);
	assert_int_equal(r.exec_timeout, c.exec_timeout);
	assert_string_equal(r.login_flags, "-p -f root");
	assert_memory_equal(&r.sec, &c.sec, sizeof(r.sec));
	assert_memory_equal(&r.lim, &c.lim, sizeof(r.lim));
	assert_false(r.own_net);
	assert_false(r.own_ipc);
	for (int i = 0; i < LIM_N; i++)
		assert_string_equal(r.lim_text[i], c.lim_text[i]);
	assert_string_equal(r.cpuset_text, "0");

	struct runstate again = {.uuid = UUID};
	kv_init(&again.kv);
	rs_set(&again, RS_JID, "3");
	jailconf_to_state(&r, &again);
	assert_int_equal(again.kv.k.n, rs.kv.k.n);
	for (size_t i = 0; i < rs.kv.k.n; i++)
		assert_string_equal(rs_get(&again, rs.kv.k.v[i]), rs.kv.v.v[i]);

	/* uncap: limits lifted in the state, their texts kept */
	jailconf_drop_limits(&r);
	jailconf_to_state(&r, &again);
	assert_string_equal(rs_get(&again, "rlimits"), "off");
	assert_string_equal(rs_get(&again, "cpuset"), "off");
	assert_string_equal(rs_get(&again, "maxproc"), "100:deny");
	rs_free(&again);
	rs_free(&rs);
	jailconf_free(&r);
	jailconf_free(&c);
}

/* A state missing keys (an older iocell's, or cut short): the defaults. */
static void test_state_defaults(void **state)
{
	(void)state;
	struct runstate rs = {.uuid = UUID};
	kv_init(&rs.kv);
	rs_set(&rs, "tag", "old");
	struct jailconf c;
	assert_int_equal(jailconf_from_state(&c, &rs), 0);
	assert_string_equal(c.tag, "old");
	assert_string_equal(c.hostname, UUID);
	assert_int_equal(c.stop_timeout, 30);
	assert_int_equal(c.sec.securelevel, 2);
	assert_false(c.own_net); /* netns missing: the host's */
	assert_true(c.own_ipc);  /* ipcns missing: its own */
	assert_null(c.log);
	assert_string_equal(c.root, "");
	rs_free(&rs);
	jailconf_free(&c);
}

/* msg must be rejected with a message containing each of the words. */
static void rejected(const char *const *pairs, const char *w1, const char *w2)
{
	struct jailconf c;
	assert_int_equal(build(&c, pairs), -1);
	const char *m = ioc_errmsg();
	if (!strstr(m, w1) || !strstr(m, w2))
		fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", m, w1, w2);
	jailconf_free(&c);
}

static void test_invalid_stored_values(void **state)
{
	(void)state;
	static const char *const sl[] = {"securelevel=7", NULL};
	rejected(sl, "invalid securelevel \"7\"", "-1 to 3");
	static const char *const bit[] = {"allow_raw_sockets=yes", NULL};
	rejected(bit, "invalid allow_raw_sockets \"yes\"", "0 | 1");
	static const char *const to[] = {"exec_timeout=soon", NULL};
	rejected(to, "invalid exec_timeout \"soon\"", "seconds");
	static const char *const mode[] = {"ip6=shared", NULL};
	rejected(mode, "invalid ip6 \"shared\"", "new | inherit | disable");
	static const char *const lim[] = {"rlimits=on", "memoryuse=lots:deny", NULL};
	rejected(lim, "invalid memoryuse \"lots:deny\"", ":");
	static const char *const cs[] = {"cpuset=two", NULL};
	rejected(cs, "invalid cpuset \"two\"", "not a CPU list");
	static const char *const addr[] = {"ip4_addr=vnet0|300.1.2.3/24", NULL};
	rejected(addr, "ip4_addr of jail " UUID, "300.1.2.3");
	static const char *const nic[] = {"ip4_addr=vnet7|192.0.2.1/24", NULL};
	rejected(nic, "names interface 'vnet7'", "not among its VNET interfaces");
	static const char *const mac[] = {"vnet0_mac=02:00:00:00:00:01", NULL};
	rejected(mac, "vnet0_mac of jail " UUID, "is not MACA,MACB");
	/* a multicast MAC, which set refuses, is refused from storage too (found by
	 * fuzz_jailconf: the interface would have been given it) */
	static const char *const mcast[] = {"vnet0_mac=03:00:00:00:00:01,02:00:00:00:00:02", NULL};
	rejected(mcast, "vnet0_mac of jail " UUID, "multicast");
	static const char *const gw[] = {"defaultrouter=gateway", NULL};
	rejected(gw, "defaultrouter", "is not an address: gateway");
	/* the first invalid value is the one reported */
	static const char *const two[] = {"securelevel=9", "children_max=-4", NULL};
	rejected(two, "securelevel", "9");

	/* limits are not parsed with rlimits=off (their values stay for display) */
	struct jailconf c;
	static const char *const off[] = {"memoryuse=lots:deny", NULL};
	assert_int_equal(build(&c, off), 0);
	assert_string_equal(c.lim_text[LIM_MEMORYUSE], "lots:deny");
	jailconf_free(&c);

	/* from the state: rejected with the name, the default kept (stop still works) */
	struct runstate rs = {.uuid = UUID};
	kv_init(&rs.kv);
	rs_set(&rs, "stop_timeout", "later");
	rs_set(&rs, RS_NETNS, "own");
	ioc_err_clear();
	assert_int_equal(jailconf_from_state(&c, &rs), -1);
	assert_non_null(strstr(ioc_errmsg(), "invalid stop_timeout \"later\""));
	assert_int_equal(c.stop_timeout, 30);
	assert_true(c.own_net);
	jailconf_free(&c);
	rs_set(&rs, "stop_timeout", "5");
	rs_set(&rs, RS_NETNS, "elsewhere");
	ioc_err_clear();
	assert_int_equal(jailconf_from_state(&c, &rs), -1);
	assert_non_null(strstr(ioc_errmsg(), "invalid netns \"elsewhere\": allowed: own | host"));
	jailconf_free(&c);
	rs_free(&rs);
}

static void test_macs(void **state)
{
	(void)state;
	uint8_t a[6], b[6], a2[6], b2[6];
	assert_int_equal(jc_mac_derive(UUID, 0, a, b), 0);
	assert_int_equal(jc_mac_derive(UUID, 0, a2, b2), 0);
	assert_memory_equal(a, a2, 6); /* stable */
	assert_memory_equal(b, b2, 6);
	assert_int_equal(a[0], 0x02); /* locally administered, unicast */
	assert_int_equal(b[0], 0x02);
	assert_int_equal(jc_mac_derive(UUID, 1, a2, b2), 0);
	assert_memory_not_equal(a, a2, 6);
	char txt[18];
	static const uint8_t m[6] = {0x02, 0x0a, 0xb0, 0xff, 0x00, 0x10};
	jc_mac_format(m, txt);
	assert_string_equal(txt, "02:0a:b0:ff:00:10");
	/* a nic not called vnetN takes the lowest index no vnetN nic uses */
	struct jailconf c;
	static const char *const p[] = {"interfaces=vnet0:br0,lan:br1", NULL};
	assert_int_equal(build(&c, p), 0);
	assert_int_equal(c.nics[1].mac_prop, P_VNET1_MAC);
	jailconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_from_properties),
		cmocka_unit_test(test_namespaces),     cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_defaults), cmocka_unit_test(test_invalid_stored_values),
		cmocka_unit_test(test_macs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
