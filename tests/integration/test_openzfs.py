"""OpenZFS used as OpenZFS (issue 13), zfs-fuse's plan kept where it runs.

iocell detects the implementation once per process (/sys/module/zfs or /dev/zfs: the
OpenZFS kernel module) and on OpenZFS sets several properties in one `zfs set`, lists exact
numbers with `zfs list -p`, gives an imported jail its identity during the receive
(`zfs recv -o`/`-x`) and records a jail's changes through `zfs diff` instead of a temporary
clone.  Each test asserts the outcome (properties, files) on both implementations, and the
zfs commands iocell ran (`iocell --debug` prints each as "+ zfs ...") for the one the host
has; the OpenZFS side runs in the guest tier.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers import ioc, parse_uuid, snapshots, zfs_get

OPENZFS = os.path.exists("/dev/zfs")
NONET = ("vnet=off", "ip4=disable", "ip6=disable")


def zfs_calls(*args) -> list[list[str]]:
    """Run `iocell --debug ARGS`; the zfs commands it ran, each as its argv after "zfs"."""
    r = ioc("--debug", *args)
    return [line[len("+ zfs "):].split() for line in r.stderr.splitlines() if line.startswith("+ zfs ")]


def test_several_properties_in_one_set(release, jails_ds):
    uuid = parse_uuid(ioc("create", f"release={release}", "tag=zs1").stdout)
    ds = f"{jails_ds}/{uuid}"
    sets = [c for c in zfs_calls("set", "notes=one", "priority=3", "owner=x", "zs1") if c[0] == "set"]
    if OPENZFS:
        assert len(sets) == 1, sets
        assert sorted(sets[0][1:-1]) == ["iocell:notes=one", "iocell:owner=x", "iocell:priority=3"]
        assert sets[0][-1] == ds
    else:
        assert len(sets) == 3, sets
    assert (zfs_get(ds, "iocell:notes"), zfs_get(ds, "iocell:priority"), zfs_get(ds, "iocell:owner")) \
        == ("one", "3", "x")


def test_bad_value_in_a_set_changes_nothing(release, jails_ds):
    uuid = parse_uuid(ioc("create", f"release={release}", "tag=zs2", "priority=5").stdout)
    ds = f"{jails_ds}/{uuid}"
    r = ioc("set", "notes=changed", "priority=notanumber", "zs2", check=False)
    assert r.returncode != 0
    assert zfs_get(ds, "iocell:priority") == "5"
    assert zfs_get(ds, "iocell:notes") in ("", "-", "none")


def test_record_through_zfs_diff(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=zd1", *NONET).stdout)
    ioc("start", "zd1")
    try:
        ioc("record", "start", "zd1")
        ioc("exec", "zd1", "/bin/sh", "-c",
            "mkdir -p /srv/a/b && echo new > /srv/a/b/f && echo more >> /etc/hostname.x && "
            "rm /usr/bin/env && mkdir /srv/moved && echo m > /srv/moved/in && "
            "mv /srv/moved /srv/renamed && printf 'sp ace' > '/srv/with space'")
        calls = zfs_calls("record", "stop", "zd1")
    finally:
        ioc("stop", "zd1")
    verbs = [c[0] for c in calls]
    if OPENZFS:
        assert "diff" in verbs and "clone" not in verbs, calls
    else:
        assert "clone" in verbs and "diff" not in verbs, calls
    if OPENZFS:
        assert not any(".record-" in " ".join(c) for c in calls), calls
    assert snapshots(f"{jails_ds}/{uuid}/root") == []
    rec = Path(mountroot) / "jails" / uuid / "recorded"
    assert (rec / "srv/a/b/f").read_text() == "new\n"
    assert (rec / "etc/hostname.x").read_text() == "more\n"
    assert (rec / "srv/renamed/in").read_text() == "m\n"
    assert (rec / "srv/with space").read_text() == "sp ace"
    assert (rec / ".iocell-deleted").read_text().splitlines() == ["/usr/bin/env"]
    files = sorted(str(p.relative_to(rec)) for p in rec.rglob("*") if p.is_symlink() or not p.is_dir())
    assert files == [".iocell-deleted", "etc/hostname.x", "srv/a/b/f", "srv/renamed/in",
                     "srv/with space"], files


def test_import_gets_its_identity_in_the_receive(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", f"release={release}", "tag=zi1", "notes=from image").stdout)
    ds = f"{jails_ds}/{uuid}"
    ioc("set", "vnet0_mac=02:aa:bb:cc:dd:01,02:aa:bb:cc:dd:02", "zi1")
    ioc("export", "zi1")
    calls = zfs_calls("import", uuid, "tag=zi2", "priority=9")
    new = ioc("get", "host_hostuuid", "zi2").stdout.strip()
    nds = f"{jails_ds}/{new}"
    recv = [c for c in calls if c[0] == "recv"]
    assert len(recv) == 1, calls
    if OPENZFS:
        assert "iocell:priority=9" in recv[0] and "-o" in recv[0], recv
        assert "-x" in recv[0] and "iocell:vnet0_mac" in recv[0], recv
    else:
        assert "-o" not in recv[0] and "-x" not in recv[0], recv
    assert new != uuid
    assert zfs_get(nds, "iocell:tag") == "zi2"
    assert zfs_get(nds, "iocell:priority") == "9"
    assert zfs_get(nds, "iocell:notes") == "from image"
    assert zfs_get(nds, "iocell:host_hostuuid") == new
    # another jail's MAC addresses never come with the image
    assert zfs_get(nds, "iocell:vnet0_mac") != "02:aa:bb:cc:dd:01,02:aa:bb:cc:dd:02"
    assert zfs_get(ds, "iocell:vnet0_mac") == "02:aa:bb:cc:dd:01,02:aa:bb:cc:dd:02"


def test_rollback_reads_exact_txgs(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", f"release={release}", "tag=zr1").stdout)
    root = Path(mountroot) / "jails" / uuid / "root"
    ioc("snapshot", "zr1@one")
    (root / "after-one").write_text("x")
    ioc("snapshot", "zr1@two")
    (root / "after-two").write_text("y")
    calls = zfs_calls("rollback", "-y", "zr1@one")
    lists = [c for c in calls if c[0] in ("list", "get")]
    if OPENZFS:
        assert any(c[0] == "list" and "-Hp" in c and "name,createtxg" in c for c in lists), calls
    else:
        assert any(c[0] == "get" and "createtxg" in c for c in lists), calls
    assert not (root / "after-one").exists() and not (root / "after-two").exists()
    assert [s.split("@")[1] for s in snapshots(f"{jails_ds}/{uuid}")] == ["one"]
