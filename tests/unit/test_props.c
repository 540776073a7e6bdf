/* Unit tests of the property table and its validation (src/core/props.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/props.h"

static bool ok(const char *name, const char *value)
{
	char err[512];
	const struct propdef *p = prop_find(name);
	assert_non_null(p);
	return prop_validate(p, value, err, sizeof(err));
}

static void test_table_is_sane(void **state)
{
	(void)state;
	for (size_t i = 0; i < prop_count; i++) {
		const struct propdef *p = &prop_table[i];
		/* Every enum prop_id has its row (a missing designated initializer would leave
		 * a hole of zeros), and the name finds the same row. */
		assert_non_null(p->name);
		assert_ptr_equal(prop_find(prop_name((enum prop_id)i)), p);
		assert_int_equal(prop_id_of(p), i);
		assert_non_null(p->help);
		for (size_t j = i + 1; j < prop_count; j++)
			assert_string_not_equal(p->name, prop_table[j].name);
		/* Every built-in default passes its own validator. */
		if (p->def) {
			char err[512];
			if (!prop_validate(p, p->def, err, sizeof(err)))
				fail_msg("default of %s (%s) is invalid: %s", p->name, p->def, err);
		}
	}
	/* Every property SPEC §4 names is in the table. */
	static const char *spec[] = {"tag",
				     "host_hostuuid",
				     "host_hostname",
				     "host_domainname",
				     "release",
				     "type",
				     "template",
				     "boot",
				     "priority",
				     "notes",
				     "vnet",
				     "interfaces",
				     "createbridge",
				     "ip4_addr",
				     "ip6_addr",
				     "ip4",
				     "ip6",
				     "defaultrouter",
				     "defaultrouter6",
				     "vnet0_mac",
				     "vnet9_mac",
				     "resolver",
				     "exec_prestart",
				     "exec_poststart",
				     "exec_prestop",
				     "exec_poststop",
				     "exec_start",
				     "exec_stop",
				     "exec_timeout",
				     "stop_timeout",
				     "login_flags",
				     "mount_procfs",
				     "mount_devfs",
				     "mount_sysfs",
				     "allow_raw_sockets",
				     "allow_set_hostname",
				     "allow_sysvipc",
				     "allow_mount",
				     "allow_mount_tmpfs",
				     "allow_chflags",
				     "allow_quotas",
				     "sysvmsg",
				     "sysvsem",
				     "sysvshm",
				     "securelevel",
				     "children_max",
				     "cpuset",
				     "rlimits",
				     "memoryuse",
				     "pcpu",
				     "maxproc",
				     "openfiles",
				     "vmemoryuse",
				     "memorylocked",
				     "swapuse",
				     "nthr",
				     "pseudoterminals",
				     "cputime",
				     "datasize",
				     "stacksize",
				     "coredumpsize",
				     "readbps",
				     "writebps",
				     "readiops",
				     "writeiops",
				     "wallclock",
				     "quota",
				     "reservation",
				     "compression",
				     "dedup",
				     "jail_zfs",
				     "jail_zfs_dataset",
				     "jail_zfs_mountpoint",
				     "pkglist",
				     "last_started",
				     "owner"};
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
		if (!prop_find(spec[i]))
			fail_msg("property %s of SPEC §4 is missing", spec[i]);
}

static void test_values(void **state)
{
	(void)state;
	assert_true(ok("boot", "on"));
	assert_false(ok("boot", "maybe"));
	assert_true(ok("priority", "0"));
	assert_false(ok("priority", "500"));
	assert_false(ok("priority", "-1"));
	assert_true(ok("securelevel", "-1"));
	assert_false(ok("securelevel", "4"));
	assert_true(ok("ip4", "inherit"));
	assert_false(ok("ip4", "shared"));
	assert_true(ok("ip4_addr", "vnet0|192.0.2.10/24"));
	assert_false(ok("ip4_addr", "garbage"));
	assert_true(ok("notes", "a=b c"));
	assert_false(ok("notes", "tab\there"));
	assert_false(ok("notes", ""));
	assert_true(ok("memoryuse", "4G:deny"));
	assert_false(ok("memoryuse", "lots:deny"));
	assert_true(ok("memoryuse", "off"));
	assert_false(ok("openfiles", "64:log"));
	assert_true(ok("openfiles", "64:deny"));
	assert_true(ok("cpuset", "0"));
	assert_false(ok("cpuset", "4096"));
	assert_true(ok("quota", "10G"));
	assert_false(ok("quota", "ten"));
	assert_true(ok("compression", "gzip-9"));
	assert_false(ok("compression", "gzip-10"));
	assert_true(ok("vnet0_mac", "02:00:00:00:00:0a,02:00:00:00:00:0b"));
	assert_false(ok("vnet0_mac", "02:00:00:00:00:0a"));
	assert_true(ok("defaultrouter6", "2001:db8::1"));
	assert_false(ok("defaultrouter6", "192.0.2.1"));
	assert_true(ok("jail_zfs_dataset", "iocell/jails/x/data"));
	assert_false(ok("jail_zfs_dataset", "/abs"));
}

static void test_settable(void **state)
{
	(void)state;
	char err[512];
	assert_true(prop_settable("tag", false, err, sizeof(err)));
	assert_false(prop_settable("tag", true, err, sizeof(err)));
	assert_false(prop_settable("type", false, err, sizeof(err)));
	assert_false(prop_settable("bogus", false, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown property"));
	assert_false(prop_settable("hack88", false, err, sizeof(err)));
	assert_non_null(strstr(err, "FreeBSD"));
	assert_false(prop_settable("devfs_ruleset", false, err, sizeof(err)));
	assert_true(prop_settable("vnet", true, err, sizeof(err)));
}

static void test_config_cross_checks(void **state)
{
	(void)state;
	char err[512];
	struct kv c;
	kv_init(&c);
	kv_set(&c, "vnet", "on");
	kv_set(&c, "interfaces", "vnet0:bridge0");
	kv_set(&c, "ip4_addr", "vnet0|192.0.2.10/24");
	assert_true(props_check_config(&c, err, sizeof(err)));
	kv_set(&c, "ip4_addr", "vnet1|192.0.2.10/24");
	assert_false(props_check_config(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "vnet1"));
	kv_set(&c, "vnet", "off");
	kv_set(&c, "ip4_addr", "eth0|192.0.2.10/24");
	assert_true(props_check_config(&c, err, sizeof(err)));
	/* jail_zfs_mountpoint: not the root, not via . or .., not in /proc, /dev, /sys */
	kv_set(&c, "jail_zfs", "on");
	assert_false(props_check_config(&c, err, sizeof(err)));
	static const char *const bad[] = {"/",     "//",      "/proc",  "/dev/x",
					  "/sys/", "/a/../b", "/./data"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kv_set(&c, "jail_zfs_mountpoint", bad[i]);
		assert_false(props_check_config(&c, err, sizeof(err)));
		assert_non_null(strstr(err, "jail_zfs_mountpoint"));
	}
	static const char *const good[] = {"/data", "/srv/web", "/process", "/devices/x"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		kv_set(&c, "jail_zfs_mountpoint", good[i]);
		assert_true(props_check_config(&c, err, sizeof(err)));
	}
	kv_free(&c);
}

static void test_defaults(void **state)
{
	(void)state;
	struct defctx dc = {.uuid = "26e8e027-f00c-11e4-8f7f-3c970e80eb61",
			    .host_release = "bookworm"};
	char *v = prop_builtin_default(prop_find("host_hostname"), &dc);
	assert_string_equal(v, dc.uuid);
	free(v);
	v = prop_builtin_default(prop_find("release"), &dc);
	assert_string_equal(v, "bookworm");
	free(v);
	v = prop_builtin_default(prop_find("exec_start"), &dc);
	assert_string_equal(v, "none"); /* no root to inspect: the jail idles */
	free(v);
	v = prop_builtin_default(prop_find("jail_zfs_dataset"), &dc);
	assert_string_equal(v, "iocell/jails/26e8e027-f00c-11e4-8f7f-3c970e80eb61/data");
	free(v);
	v = prop_builtin_default(prop_find("tag"), &dc);
	assert_true(valid_tag(v, NULL));
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_sane), cmocka_unit_test(test_values),
		cmocka_unit_test(test_settable),      cmocka_unit_test(test_config_cross_checks),
		cmocka_unit_test(test_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
