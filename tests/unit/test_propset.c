/* Unit tests of property changes without zfs: set-with-undo planning and the values of
 * reset (src/core/propset.c), a new jail's properties (create_props, src/core/create.c),
 * a copy's new identity (jail_reidentify, clone_props, src/core/clone.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clone.h"
#include "core/create.h"
#include "core/propset.h"
#include "core/util.h"

#define UA "aaaaaaaa-0000-4000-8000-000000000001"
#define UN "eeeeeeee-0000-4000-8000-000000000009"

static struct jail *mkjail(const char *uuid)
{
	struct jail *j = xcalloc(1, sizeof(*j));
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->ds = xasprintf("tank/iocell/jails/%s", uuid);
	j->path = xasprintf("/nonexistent/iocell/jails/%s", uuid);
	kv_init(&j->props);
	prop_kv_set(&j->props, P_HOST_HOSTUUID, uuid);
	prop_kv_set(&j->props, P_TAG, "www");
	prop_kv_set(&j->props, P_RELEASE, "bookworm");
	prop_kv_set(&j->props, P_TYPE, "jail");
	return j;
}

static void test_validate(void **state)
{
	(void)state;
	struct kv set;
	kv_init(&set);
	kv_set(&set, "boot", "on");
	kv_set(&set, "priority", "5");
	assert_true(validate_assignments(&set, false));
	kv_set(&set, "priority", "500");
	assert_false(validate_assignments(&set, false));
	assert_non_null(strstr(ioc_errmsg(), "invalid value '500' for priority"));
	ioc_err_clear();
	kv_free(&set);
	kv_init(&set);
	kv_set(&set, "host_hostuuid", UA);
	assert_false(validate_assignments(&set, false)); /* read-only */
	ioc_err_clear();
	kv_free(&set);
	kv_init(&set);
	kv_set(&set, "tag", "x");
	assert_false(validate_assignments(&set, true)); /* no default for a tag */
	ioc_err_clear();
	kv_free(&set);
	assert_null(prop_lookup("nosuchprop"));
	assert_true(ioc_err_pending());
	ioc_err_clear();
	assert_non_null(prop_lookup("boot"));
}

static void test_set_plan(void **state)
{
	(void)state;
	_cleanup_jail_ struct jail *j = mkjail(UA);
	prop_kv_set(&j->props, P_NOTES, "old notes");
	struct kv set;
	kv_init(&set);
	kv_set(&set, "notes", "new notes");
	kv_set(&set, "boot", "off");   /* the default already: no change */
	kv_set(&set, "priority", "5"); /* unset, default 99 */
	kv_set(&set, "tag", "www");    /* the same */
	struct propset_plan pl;
	propset_plan_build(j, &set, &pl);
	assert_int_equal(pl.set.k.n, 2);
	assert_string_equal(pl.set.k.v[0], "notes");
	assert_string_equal(pl.set.v.v[0], "new notes");
	assert_string_equal(pl.undo.v.v[0], "old notes");
	assert_string_equal(pl.set.k.v[1], "priority");
	assert_string_equal(pl.undo.v.v[1], "99");
	propset_plan_free(&pl);
	kv_free(&set);
	/* nothing to do */
	kv_init(&set);
	kv_set(&set, "notes", "old notes");
	propset_plan_build(j, &set, &pl);
	assert_int_equal(pl.set.k.n, 0);
	propset_plan_free(&pl);
	kv_free(&set);
}

static void test_reset_values(void **state)
{
	(void)state;
	_cleanup_jail_ struct jail *j = mkjail(UA);
	struct kv saved, want;
	kv_init(&saved);
	kv_set(&saved, "priority", "10");
	reset_values(j, &saved, &want);
	assert_string_equal(kv_get(&want, "priority"), "10");     /* the saved default */
	assert_string_equal(kv_get(&want, "boot"), "off");        /* the built-in one */
	assert_string_equal(kv_get(&want, "exec_start"), "none"); /* no root to inspect */
	/* identity, read-only, derived and create-time properties are kept */
	assert_null(kv_get(&want, "tag"));
	assert_null(kv_get(&want, "host_hostname"));
	assert_null(kv_get(&want, "release"));
	assert_null(kv_get(&want, "vnet0_mac"));
	assert_null(kv_get(&want, "last_started"));
	assert_null(kv_get(&want, "mountpoint"));
	assert_null(kv_get(&want, "pkglist"));
	kv_free(&want);
	kv_free(&saved);
}

static void test_create_props(void **state)
{
	(void)state;
	struct kv saved, given, out;
	kv_init(&saved);
	kv_init(&given);
	kv_set(&saved, "priority", "10");
	kv_set(&saved, "boot", "on");
	kv_set(&saved, "vnet0_mac", "02:00:00:00:00:01,02:00:00:00:00:02"); /* no default */
	kv_set(&given, "boot", "off");
	kv_set(&given, "tag", "ignored");
	create_props(&out, UN, "clonejail", "bookworm", "web", &saved, &given, NULL);
	assert_string_equal(kv_get(&out, "priority"), "10"); /* saved over built-in */
	assert_string_equal(kv_get(&out, "boot"), "off");    /* given over saved */
	assert_string_equal(kv_get(&out, "vnet0_mac"), "none");
	assert_string_equal(kv_get(&out, "host_hostuuid"), UN);
	assert_string_equal(kv_get(&out, "host_hostname"), UN);
	assert_string_equal(kv_get(&out, "type"), "clonejail");
	assert_string_equal(kv_get(&out, "release"), "bookworm");
	assert_string_equal(kv_get(&out, "tag"), "web");
	assert_string_equal(kv_get(&out, "last_started"), "none");
	assert_string_equal(kv_get(&out, "jail_zfs_dataset"), "iocell/jails/" UN "/data");
	assert_null(kv_get(&out, "mountpoint")); /* derived: not stored */
	/* ZFS names for zfs create -o */
	struct kv z;
	props_to_zfs(&z, &out);
	assert_string_equal(kv_get(&z, "iocell:tag"), "web");
	assert_string_equal(kv_get(&z, "quota"), "none");
	assert_null(kv_get(&z, "tag"));
	kv_free(&z);
	kv_free(&out);
	kv_free(&given);
	kv_free(&saved);
}

static void test_reidentify(void **state)
{
	(void)state;
	_cleanup_jail_ struct jail *j = mkjail(UA);
	prop_kv_set(&j->props, P_HOST_HOSTNAME, UA);
	prop_kv_set(&j->props, P_VNET0_MAC, "02:00:00:00:00:01,02:00:00:00:00:02");
	prop_kv_set(&j->props, P_JAIL_ZFS_DATASET, "iocell/jails/" UA "/data");
	prop_kv_set(&j->props, P_LAST_STARTED, "2024-01-01@10:00:00");
	struct kv c;
	jail_reidentify(j, UN, "copy", &c);
	assert_string_equal(kv_get(&c, "host_hostuuid"), UN);
	assert_string_equal(kv_get(&c, "tag"), "copy");
	assert_string_equal(kv_get(&c, "host_hostname"), UN);
	assert_string_equal(kv_get(&c, "vnet0_mac"), "none");
	assert_string_equal(kv_get(&c, "vnet9_mac"), "none");
	assert_string_equal(kv_get(&c, "jail_zfs_dataset"), "iocell/jails/" UN "/data");
	assert_string_equal(kv_get(&c, "last_started"), "none");
	kv_free(&c);
	/* a hostname and data set of the user's own stay */
	prop_kv_set(&j->props, P_HOST_HOSTNAME, "mail.example.org");
	prop_kv_set(&j->props, P_JAIL_ZFS_DATASET, "tank/mine");
	jail_reidentify(j, UN, "copy", &c);
	assert_null(kv_get(&c, "host_hostname"));
	assert_null(kv_get(&c, "jail_zfs_dataset"));
	kv_free(&c);
	/* an imported copy: the dataset has the new UUID, its identity is host_hostuuid */
	_cleanup_jail_ struct jail *imp = mkjail(UN);
	prop_kv_set(&imp->props, P_HOST_HOSTUUID, UA);
	prop_kv_set(&imp->props, P_HOST_HOSTNAME, UA);
	jail_reidentify(imp, UN, "imp", &c);
	assert_string_equal(kv_get(&c, "host_hostname"), UN);
	assert_string_equal(kv_get(&c, "host_hostuuid"), UN);
	kv_free(&c);
}

static void test_clone_props(void **state)
{
	(void)state;
	_cleanup_jail_ struct jail *j = mkjail(UA);
	prop_kv_set(&j->props, P_TEMPLATE, "yes");
	prop_kv_set(&j->props, P_BOOT, "on");
	prop_kv_set(&j->props, P_NOTES, "kept");
	struct kv given, out;
	kv_init(&given);
	kv_set(&given, "notes", "mine");
	kv_set(&given, "priority", "1");
	clone_props(j, UN, "c1", &given, &out);
	assert_string_equal(kv_get(&out, "template"), "no");
	assert_string_equal(kv_get(&out, "boot"), "off");
	assert_string_equal(kv_get(&out, "type"), "clonejail");
	assert_string_equal(kv_get(&out, "release"), "bookworm");
	assert_string_equal(kv_get(&out, "tag"), "c1");
	assert_string_equal(kv_get(&out, "host_hostuuid"), UN);
	assert_string_equal(kv_get(&out, "notes"), "mine");
	assert_string_equal(kv_get(&out, "priority"), "1");
	assert_string_equal(kv_get(&out, "vnet3_mac"), "none");
	assert_null(kv_get(&out, "mountpoint"));
	kv_free(&out);
	kv_free(&given);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),     cmocka_unit_test(test_set_plan),
		cmocka_unit_test(test_reset_values), cmocka_unit_test(test_create_props),
		cmocka_unit_test(test_reidentify),   cmocka_unit_test(test_clone_props),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
