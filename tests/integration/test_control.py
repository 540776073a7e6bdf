"""Control plane (issue 2): pools, create types, properties and defaults, names, list/df.
Every test asserts the ZFS state afterwards, not only exit codes."""

from __future__ import annotations

import json
import re

import pytest

from helpers import JAILS_DS, RELEASES_DS, datasets, ioc, parse_uuid, zfs, zfs_exists, zfs_get


def jail_datasets() -> list[str]:
    return datasets(JAILS_DS)


def create(*args) -> str:
    return parse_uuid(ioc("create", *args).stdout)


# ---- activate ------------------------------------------------------------------------


def test_activate_prints_active_pool_and_marks_it(pool):
    assert ioc("activate").stdout.strip() == pool
    assert zfs("get", "-H", "-o", "value,source", "iocell:active", pool).split() == ["yes", "local"]
    for ds in ("iocell", "iocell/jails", "iocell/releases", "iocell/base", "iocell/.defaults"):
        assert zfs_exists(f"{pool}/{ds}")


def test_activate_unknown_pool_is_an_error(pool):
    r = ioc("activate", "no-such-pool-xyz", check=False)
    assert r.returncode == 1 and "no pool named" in r.stderr and "hint" in r.stderr
    assert ioc("activate").stdout.strip() == pool  # unchanged


def test_usage_errors_exit_2():
    assert ioc("bogus", check=False).returncode == 2
    assert ioc("create", "-x", check=False).returncode == 2
    assert ioc("set", "boot=on", check=False).returncode == 2
    assert ioc("get", check=False).returncode == 2
    r = ioc("create", "notanassignment", check=False)
    assert r.returncode == 2 and "PROPERTY=VALUE" in r.stderr


def test_help_for_every_command():
    out = ioc("-h").stdout
    for cmd in ("create", "list", "get", "set", "start", "exec", "destroy", "snapshot"):
        assert cmd in out
        r = ioc(cmd, "-h")
        assert r.returncode == 0 and r.stdout.startswith(f"usage: iocell {cmd}")
    assert re.match(r"iocell \d+\.\d+", ioc("version").stdout)


# ---- create ---------------------------------------------------------------------------


def test_create_clone_thick_empty_base(release, mountroot):
    c = create("-c", f"release={release}", "tag=c1")
    assert zfs_get(f"{JAILS_DS}/{c}/root", "origin") == f"{RELEASES_DS}/{release}/root@release"
    assert zfs_get(f"{JAILS_DS}/{c}", "iocell:type") == "clonejail"

    t = create(f"release={release}", "tag=t1")
    assert zfs_get(f"{JAILS_DS}/{t}/root", "origin") == "-"  # independent copy
    assert zfs_get(f"{JAILS_DS}/{t}", "iocell:type") == "jail"
    assert (mountroot / "jails" / t / "root" / "bin" / "busybox").exists()
    # the received snapshot is not kept on a thick jail
    assert zfs("list", "-H", "-t", "snapshot", "-r", "-d", "1", "-o", "name", f"{JAILS_DS}/{t}/root") == ""

    e = create("-e", "tag=e1")
    assert zfs_get(f"{JAILS_DS}/{e}", "iocell:type") == "emptyjail"
    assert list((mountroot / "jails" / e / "root").iterdir()) == []

    b = create("-b", f"release={release}", "tag=b1")
    assert zfs_get(f"{JAILS_DS}/{b}", "iocell:type") == "basejail"
    usr = f"{JAILS_DS}/{b}/root/usr"
    assert zfs_get(usr, "readonly") in ("on",) or "readonly" in zfs("get", "-H", "readonly", usr)
    assert zfs_get(usr, "origin").endswith(f"/base/{release}/usr@release")
    assert (mountroot / "jails" / b / "root" / "etc" / "passwd").exists()


def test_create_stores_every_property_on_the_dataset(release):
    u = create("-c", f"release={release}", "tag=props", "boot=on", "notes=a=b c")
    local = zfs("get", "-H", "-s", "local", "-o", "property,value", "all", f"{JAILS_DS}/{u}")
    props = dict(l.split("\t", 1) for l in local.splitlines())
    assert props["iocell:tag"] == "props"
    assert props["iocell:host_hostuuid"] == u
    assert props["iocell:host_hostname"] == u
    assert props["iocell:boot"] == "on"
    assert props["iocell:notes"] == "a=b c"
    assert props["iocell:release"] == release
    assert props["iocell:memoryuse"] == "8G:log"
    assert props["compression"] == "on"
    assert len([k for k in props if k.startswith("iocell:")]) >= 80
    # get reads them back
    assert ioc("get", "notes", "props").stdout == "a=b c\n"
    rows = dict(l.split("\t") for l in ioc("get", "-H", "all", "props").stdout.splitlines())
    assert rows["boot"] == "on" and rows["host_hostuuid"] == u and rows["type"] == "clonejail"


def test_create_against_missing_release_leaves_nothing(pool):
    before = jail_datasets()
    r = ioc("create", "-c", "release=nosuchrel", "tag=x", check=False)
    assert r.returncode == 1 and "not fetched" in r.stderr and "iocell fetch" in r.stderr
    r = ioc("create", "release=nosuchrel", "tag=x", check=False)
    assert r.returncode == 1
    assert jail_datasets() == before


@pytest.mark.parametrize("bad,msg", [
    ("bogus=1", "unknown property"),
    ("ip4_addr=garbage", "ip4_addr"),
    ("memoryuse=lots:deny", "memoryuse"),
    ("priority=500", "priority"),
    ("boot=maybe", "boot"),
    ("tag=has space", "tag"),
    ("hack88=1", "FreeBSD"),
    ("type=jail", "read-only"),
    ("cpuset=99", "CPU 99"),
])
def test_create_bad_input_creates_nothing(release, bad, msg):
    before = jail_datasets()
    r = ioc("create", "-c", f"release={release}", bad, check=False)
    assert r.returncode == 1 and msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1  # one line
    assert jail_datasets() == before


def test_create_count_and_unique_tags(release):
    out = ioc("create", "-c", f"release={release}", "count=3", "tag=many").stdout
    tags = [l.split("(")[1].rstrip(")") for l in out.splitlines()]
    assert tags == ["many_1", "many_2", "many_3"]
    assert len(jail_datasets()) == 3 * 2  # jail dataset + root each
    r = ioc("create", "-c", f"release={release}", "tag=many_2", check=False)
    assert r.returncode == 1 and "already used" in r.stderr
    # two default-tagged jails in the same second still get distinct tags
    a = ioc("create", "-c", f"release={release}").stdout
    b = ioc("create", "-c", f"release={release}").stdout
    assert a.split("(")[1] != b.split("(")[1]


def test_create_thin_is_three_zfs_calls(release):
    # The name index, the saved defaults and the jails' id ranges (caches under the
    # runtime dir) are read by the first command that needs them after a reboot (activate
    # reads all three); after that create -c is three zfs calls: the jail dataset
    # (marked), its root, the commit (issue 16).
    ioc("list")
    ioc("defaults")
    r = ioc("--debug", "create", "-c", f"release={release}", "tag=count")
    calls = [l.split()[2] for l in r.stderr.splitlines() if l.startswith("+ zfs")]
    assert calls == ["create", "clone", "inherit"], calls


def test_waiting_for_a_lock_names_its_holder(release, rundir):
    """A command that waits for a lock says, after 3 s, what it waits for and which process
    holds it, then goes on once the lock is free (nothing is changed meanwhile)."""
    import subprocess
    import time
    holder = subprocess.Popen(["flock", str(rundir / "global.lock"), "sleep", "5"],
                              stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while f" {holder.pid} " not in open("/proc/locks").read() and time.monotonic() < deadline:
            time.sleep(0.02)
        t0 = time.monotonic()
        r = ioc("create", "-c", f"release={release}", "tag=waiter")
        waited = time.monotonic() - t0
        assert holder.wait(timeout=30) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert waited >= 3, (waited, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.startswith("iocell: waiting for")]
    assert lines == [f"iocell: waiting for iocell's global lock (creating, renaming or destroying "
                     f"jails) (held by process {holder.pid}: flock {rundir}/global.lock sleep 5)"], r.stderr
    assert "waiter" in ioc("list", "-H").stdout


# ---- set / get / defaults / reset ------------------------------------------------------


@pytest.mark.parametrize("bad", [
    "ip4_addr=garbage", "memoryuse=lots:deny", "priority=500", "boot=maybe", "tag=has space",
    "ip4_addr=vnet0|300.1.1.1/24", "ip4_addr=vnet7|192.0.2.1/24", "ip4_addr=vnet0|192.0.2.1/33",
    "pcpu=abc:deny", "memoryuse=10Q:deny", "openfiles=64:log", "notes=", "quota=ten",
])
def test_set_rejects_bad_values_and_changes_nothing(release, bad):
    u = create("-c", f"release={release}", "tag=sv")
    before = zfs("get", "-H", "-s", "local", "-o", "property,value", "all", f"{JAILS_DS}/{u}")
    # a valid assignment in the same command is not applied either (validate all first)
    r = ioc("set", "owner=someone", bad, "sv", check=False)
    assert r.returncode == 1, r.stderr
    assert "allowed" in r.stderr or "unknown" in r.stderr or "not among" in r.stderr
    after = zfs("get", "-H", "-s", "local", "-o", "property,value", "all", f"{JAILS_DS}/{u}")
    assert after == before


def test_set_several_and_zfs_native(release):
    u = create("-c", f"release={release}", "tag=sn")
    ioc("set", "boot=on", "priority=3", "quota=1G", "compression=gzip-9", "notes=x y", "sn")
    ds = f"{JAILS_DS}/{u}"
    assert zfs_get(ds, "iocell:boot") == "on"
    assert zfs_get(ds, "iocell:priority") == "3"
    assert zfs_get(ds, "quota") == "1G"
    assert zfs_get(ds, "compression") == "gzip-9"
    assert ioc("get", "quota", "sn").stdout.strip() == "1G"


def test_duplicate_tag_is_refused_and_other_jail_untouched(release):
    a = create("-c", f"release={release}", "tag=one")
    b = create("-c", f"release={release}", "tag=two")
    r = ioc("set", "tag=one", "two", check=False)
    assert r.returncode == 1 and "already used" in r.stderr
    assert zfs_get(f"{JAILS_DS}/{a}", "iocell:tag") == "one"
    assert zfs_get(f"{JAILS_DS}/{b}", "iocell:tag") == "two"
    ioc("set", "tag=three", "two")
    assert zfs_get(f"{JAILS_DS}/{b}", "iocell:tag") == "three"
    assert ioc("get", "host_hostuuid", "three").stdout.strip() == b


def test_defaults_precedence(release, saved_defaults, pool):
    ioc("set", "vnet=off", "priority=42", "default")
    assert zfs_get(f"{pool}/iocell/.defaults", "iocell:vnet") == "off"
    assert ioc("get", "vnet", "default").stdout.strip() == "off"
    rows = dict(l.split("\t") for l in ioc("defaults", "-H").stdout.splitlines())
    assert rows["vnet"] == "off" and rows["boot"] == "off"
    u = create("-c", f"release={release}", "tag=d1", "priority=5")
    assert zfs_get(f"{JAILS_DS}/{u}", "iocell:vnet") == "off"       # saved default
    assert zfs_get(f"{JAILS_DS}/{u}", "iocell:priority") == "5"     # command line wins
    r = ioc("set", "tag=x", "default", check=False)
    assert r.returncode == 1 and "no system-wide default" in r.stderr
    # reset: back to defaults (saved ones included), identity kept
    ioc("set", "boot=on", "notes=hello", "d1")
    ioc("reset", "d1")
    ds = f"{JAILS_DS}/{u}"
    assert zfs_get(ds, "iocell:boot") == "off"
    assert zfs_get(ds, "iocell:notes") == "none"
    assert zfs_get(ds, "iocell:priority") == "42"
    assert zfs_get(ds, "iocell:tag") == "d1"
    assert zfs_get(ds, "iocell:host_hostuuid") == u
    assert zfs_get(ds, "iocell:release") == release


def test_get_recursive_is_one_zfs_call(release):
    a = create("-c", f"release={release}", "tag=ga", "priority=1")
    b = create("-c", f"release={release}", "tag=gb", "priority=2")
    r = ioc("--debug", "get", "-r", "-H", "priority")
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert [a, "ga", "1"] in rows and [b, "gb", "2"] in rows
    assert len([l for l in r.stderr.splitlines() if l.startswith("+ zfs")]) == 1


# ---- names -----------------------------------------------------------------------------


def test_names_uuid_prefix_tag_and_ambiguity(release):
    uuids = [create("-c", f"release={release}", f"tag=n{i}") for i in range(12)]
    u = uuids[0]
    assert ioc("get", "tag", u).stdout.strip() == "n0"
    # the shortest unique prefix resolves
    for k in range(1, 36):
        if sum(1 for x in uuids if x.startswith(u[:k])) == 1:
            break
    assert ioc("get", "tag", u[:k]).stdout.strip() == "n0"
    # a prefix shared by two jails is an error listing both
    pairs = [(x, y) for x in uuids for y in uuids if x < y and x[0] == y[0]]
    if pairs:
        x, y = pairs[0]
        r = ioc("get", "tag", x[0], check=False)
        assert r.returncode == 1 and "ambiguous" in r.stderr and x in r.stderr and y in r.stderr
    r = ioc("get", "tag", "nosuchjail", check=False)
    assert r.returncode == 1 and "no jail named" in r.stderr


def test_reading_one_jail_does_not_enumerate_all(release):
    create("-c", f"release={release}", "tag=solo")
    ioc("list")  # warm the name index
    r = ioc("--debug", "get", "boot", "solo")
    calls = [l for l in r.stderr.splitlines() if l.startswith("+ zfs")]
    assert len(calls) == 1 and calls[0].split()[2] == "get", calls


# ---- list / df ---------------------------------------------------------------------------


def test_list_templates_json_sort_and_one_call(release):
    a = create("-c", f"release={release}", "tag=zeta")
    b = create("-c", f"release={release}", "tag=alpha", "ip4_addr=vnet0|192.0.2.5/24")
    t = create("-c", f"release={release}", "tag=tmpl")
    ioc("set", "template=yes", "tmpl")
    r = ioc("--debug", "list", "-H")
    assert len([l for l in r.stderr.splitlines() if l.startswith("+ zfs")]) == 1
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert {row[1] for row in rows} == {a, b}
    alpha = [row for row in rows if row[4] == "alpha"][0]
    assert alpha == ["-", b, "off", "down", "alpha", "clonejail", "192.0.2.5", release]
    assert [l.split("\t")[1] for l in ioc("list", "-t", "-H").stdout.splitlines()] == [t]
    js = json.loads(ioc("list", "-j").stdout)
    assert {j["tag"] for j in js} == {"zeta", "alpha"}
    srt = [l.split("\t")[4] for l in ioc("list", "-H", "-s", "tag").stdout.splitlines()]
    assert srt == ["alpha", "zeta"]
    assert ioc("list", "-s", "nosuchcol", check=False).returncode == 2
    rel = ioc("list", "-r", "-H").stdout
    assert rel.split("\t")[0] == release


def test_df_one_call(release):
    u = create("-c", f"release={release}", "tag=dfj", "quota=2G")
    r = ioc("--debug", "df", "-H")
    assert len([l for l in r.stderr.splitlines() if l.startswith("+ zfs")]) == 1
    row = [l.split("\t") for l in r.stdout.splitlines() if l.startswith(u)][0]
    assert row[3] == "2G" and row[6] == "dfj" and row[1].endswith("x")


# ---- clone / template ------------------------------------------------------------------


def test_template_clone_workflow(release, mountroot):
    t = create("-c", f"release={release}", "tag=tpl", "notes=web template")
    (mountroot / "jails" / t / "root" / "etc" / "custom").write_text("cfg\n")
    ioc("set", "template=yes", "tpl")
    out = ioc("clone", "tpl", "tag=fromtpl").stdout
    n = parse_uuid(out)
    ds = f"{JAILS_DS}/{n}"
    assert zfs_get(ds, "iocell:template") == "no"
    assert zfs_get(ds, "iocell:notes") == "web template"
    assert zfs_get(ds, "iocell:host_hostname") == n
    assert zfs_get(ds, "iocell:type") == "clonejail"
    assert zfs_get(f"{ds}/root", "origin").startswith(f"{JAILS_DS}/{t}/root@ioc-clone-")
    assert (mountroot / "jails" / n / "root" / "etc" / "custom").read_text() == "cfg\n"
    assert [l.split("\t")[1] for l in ioc("list", "-H").stdout.splitlines()] == [n]
    # a second clone right away works too
    parse_uuid(ioc("clone", "tpl", "tag=fromtpl2").stdout)
    ioc("set", "template=no", "tpl")
    assert t in ioc("list", "-H").stdout
