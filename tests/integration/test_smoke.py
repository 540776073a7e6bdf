"""Smoke tests: the binary runs, the scratch pool is active and empty, usage errors exit 2."""

import os

from helpers import datasets, ioc, jail_list, parse_uuid, zfs_exists


def test_version_prints_something():
    out = ioc("version").stdout
    assert out.strip(), "iocell version printed nothing"


def test_activate_prints_the_test_pool(pool):
    out = ioc("activate").stdout
    assert pool in out.split(), f"expected active pool {pool!r}, got {out!r}"


def test_list_is_empty_on_a_fresh_pool():
    proc = ioc("list", "-H")
    assert proc.stdout.strip() == "", f"unexpected jails: {proc.stdout!r}"
    assert jail_list() == []


def test_unknown_command_is_a_usage_error():
    proc = ioc("bogus", check=False)
    assert proc.returncode == 2, f"exit status {proc.returncode}, stderr {proc.stderr!r}"
    assert proc.stderr.strip(), "usage error printed nothing on stderr"


def test_the_harness_isolates_rundir(rundir):
    assert os.environ["IOCELL_RUNDIR"] == str(rundir)
    assert rundir.is_dir()


def test_clone_jail_from_busybox_release(release, jails_ds):
    out = ioc("create", "-c", f"release={release}", "tag=smoke").stdout
    uuid = parse_uuid(out)
    assert "(smoke)" in out, out
    assert zfs_exists(f"{jails_ds}/{uuid}/root")
    rows = jail_list()
    assert [(r["uuid"], r["tag"], r["release"]) for r in rows] == [(uuid, "smoke", release)]

    ioc("destroy", "-f", "smoke", input="Y\n")
    assert datasets(jails_ds) == []
    assert jail_list() == []
