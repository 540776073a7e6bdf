"""jail_zfs with allow_mount_zfs=1 (issue 14 item 3): on OpenZFS 2.2 or later the dataset is
delegated to the jail's user namespace (zoned=on, `zfs zone` at start, `zfs unzone` at
stop), so that the jail's root manages it and its children, and nothing else of the pool.

The jail runs the host's own `zfs` program (the guest's /usr bound read-only at /hostusr,
started through its dynamic loader: the busybox release has no zfs of its own), talking to
/dev/zfs, which iocell puts in the jail's /dev for this.  Every attack asserts that the
pool is unchanged on the host.  zfs-fuse cannot delegate: there a start with
allow_mount_zfs=1 fails in one line saying why (test_manual.py's
test_allow_mount_zfs_refused_at_start); these tests run in the guest tier.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import JAILS_DS, POOL, datasets, ioc, jexec, parse_uuid, snapshots, state, zfs, \
    zfs_exists, zfs_get


def _zone_capable() -> bool:
    try:
        v = Path("/sys/module/zfs/version").read_text()
    except OSError:
        return False
    m = re.match(r"(\d+)\.(\d+)", v)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (2, 2)


pytestmark = pytest.mark.skipif(
    not _zone_capable(),
    reason="needs the OpenZFS kernel module 2.2 or later ('zfs zone'; the guest tier)")

NONET = ("vnet=off", "ip4=disable", "ip6=disable")
# the host's zfs program inside the jail, through the host's loader and libraries
LIBDIR = "/hostusr/lib/x86_64-linux-gnu"
ZFS = (f"{LIBDIR}/ld-linux-x86-64.so.2", "--library-path", LIBDIR, "/hostusr/sbin/zfs")


def jzfs(tag: str, *args: str, check: bool = True):
    """`zfs ARGS` run by the jail's root, inside the jail."""
    return jexec(tag, "env", "LC_ALL=C", *ZFS, *args, check=check)


def debug_zfs_calls(*args) -> list[list[str]]:
    r = ioc("--debug", *args)
    return [l[len("+ zfs "):].split() for l in r.stderr.splitlines() if l.startswith("+ zfs ")]


def make_delegating_jail(release, mountroot, tag: str, *props: str) -> str:
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", f"tag={tag}", "jail_zfs=on",
                          "jail_zfs_mountpoint=/data", "allow_mount_zfs=1", *NONET,
                          *props).stdout)
    (Path(mountroot) / "jails" / uuid / "fstab").write_text("/usr /hostusr bind ro\n")
    return uuid


def all_snapshots(ds: str) -> set[str]:
    return set(zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", ds).split())


def pool_view(mine: str) -> tuple[set[str], set[str], dict[str, str]]:
    """Every dataset and snapshot of the pool outside the delegated dataset MINE (the jail
    may change what is below it), and a few properties that matter."""
    def outside(name: str) -> bool:
        return not (name.startswith(mine + "/") or name.startswith(mine + "@"))
    dss = {d for d in datasets(POOL) if outside(d)}
    snaps = {d for d in all_snapshots(POOL) if outside(d)}
    props = {}
    for line in zfs("get", "-H", "-p", "-r", "-o", "name,property,value",
                    "zoned,quota,mountpoint,iocell:notes", POOL).splitlines():
        name, prop, value = line.split("\t")
        if outside(name):
            props[f"{name} {prop}"] = value
    return dss, snaps, props


@pytest.fixture
def zjail(release, mountroot, rundir):
    uuid = make_delegating_jail(release, mountroot, "zz")
    calls = debug_zfs_calls("start", "zz")
    yield uuid, calls
    if state(rundir, uuid):
        ioc("stop", "zz")


def test_delegated_dataset_is_the_jail_roots_to_manage(zjail, rundir):
    uuid, calls = zjail
    ds = f"{JAILS_DS}/{uuid}/data"
    pid = state(rundir, uuid)["pid"]
    # zoned=on, then `zfs zone` into the jail's user namespace
    assert zfs_get(ds, "zoned") == "on"
    zone = [c for c in calls if c[0] == "zone"]
    assert len(zone) == 1 and zone[0][2] == ds, calls
    st = state(rundir, uuid)
    assert st.get("zoned") == ds, st
    # the jail has /dev/zfs, and sees the delegated dataset and its parents only
    assert jexec("zz", "stat", "-c", "%F %u", "/dev/zfs").stdout.strip() == \
        "character special file 0"
    seen = set(jzfs("zz", "list", "-H", "-o", "name", "-r", POOL).stdout.split())
    parents = {ds.rsplit("/", k)[0] for k in range(1, ds.count("/") + 1)}
    assert ds in seen and seen <= parents | {ds}, seen
    # its root snapshots it and makes a child, mounted inside the jail only
    jzfs("zz", "snapshot", f"{ds}@one")
    assert f"{ds}@one" in snapshots(ds)
    jzfs("zz", "create", "-o", "mountpoint=/data/child", f"{ds}/child")
    assert zfs_exists(f"{ds}/child")
    assert zfs_get(f"{ds}/child", "zoned") == "on"  # inherited: never mounted by the host
    mi = [l.split() for l in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
    assert any(f[4] == "/data/child" and f"{ds}/child" in f for f in mi), mi
    jexec("zz", "sh", "-c", "echo kid > /data/child/f && echo top > /data/f")
    assert jexec("zz", "cat", "/data/child/f").stdout == "kid\n"
    jzfs("zz", "snapshot", "-r", f"{ds}@two")
    assert {f"{ds}@two", f"{ds}/child@two"} <= all_snapshots(ds)
    # the jail's root destroys what is its own: a child's snapshot, a child (OpenZFS 2.3
    # does not let it destroy a snapshot of the delegated dataset itself: its zone check
    # takes "DS@SNAP" for a dataset beside DS; fixed after 2.4)
    jzfs("zz", "destroy", f"{ds}/child@two")
    assert f"{ds}/child@two" not in all_snapshots(ds)
    jzfs("zz", "create", f"{ds}/gone")
    jzfs("zz", "destroy", f"{ds}/gone")
    assert not zfs_exists(f"{ds}/gone")
    assert f"{ds}@one" in snapshots(ds)


def test_jail_root_cannot_touch_the_rest_of_the_pool(zjail, mountroot, release):
    uuid, _ = zjail
    jds = f"{JAILS_DS}/{uuid}"
    ds = f"{jds}/data"
    other = parse_uuid(ioc("create", "-c", f"release={release}", "tag=zother").stdout)
    jzfs("zz", "create", f"{ds}/kid")
    before = pool_view(ds)
    attacks = [
        ("snapshot", f"{jds}/root@evil"),                  # its own root, not delegated
        ("snapshot", f"{JAILS_DS}/{other}/root@evil"),     # another jail
        ("snapshot", "-r", f"{POOL}@evil"),                # the whole pool
        ("create", f"{jds}/evil"),                         # beside the delegated dataset
        ("create", f"{POOL}/evil"),
        ("set", "iocell:notes=owned", jds),                # a parent's properties
        ("set", "mountpoint=/etc", jds),
        ("set", "zoned=off", ds),                          # the delegation itself
        ("set", "quota=1M", ds),                           # the host's to give
        ("rename", f"{ds}/kid", f"{POOL}/escaped"),        # out of the delegated tree
        ("rename", f"{ds}/kid", f"{jds}/escaped"),
        ("promote", f"{jds}/root"),
        ("rollback", "-r", f"{jds}/root@nothing"),
        ("inherit", "-r", "mountpoint", jds),
        ("destroy", "-rf", f"{JAILS_DS}/{other}"),
        # the parent: its delegated descendants may go (they are the jail's), it stays
        ("destroy", "-r", jds),
    ]
    for a in attacks:
        r = jzfs("zz", *a, check=False)
        assert r.returncode != 0, (a, r.stdout, r.stderr)
        after = pool_view(ds)
        assert after == before, (a, [sorted(x ^ y) if isinstance(x, set) else
                                     sorted(set(x.items()) ^ set(y.items()))
                                     for x, y in zip(before, after)])
    assert zfs_exists(jds) and zfs_exists(ds)
    jzfs("zz", "create", f"{ds}/kid")
    assert zfs_get(ds, "zoned") == "on"
    assert zfs_get(ds, "quota") in ("0", "none")
    # a child the jail points at /etc is never mounted there by the host
    jzfs("zz", "set", "mountpoint=/etc", f"{ds}/kid")
    subprocess.run(["zfs", "mount", f"{ds}/kid"], capture_output=True, text=True)
    assert zfs_get(f"{ds}/kid", "mounted") == "no"
    assert not any(l.split()[4] == "/etc" for l in
                   Path("/proc/self/mountinfo").read_text().splitlines())


def test_stop_takes_the_delegation_back_and_start_gives_it_again(zjail, rundir, mountroot):
    uuid, _ = zjail
    ds = f"{JAILS_DS}/{uuid}/data"
    jexec("zz", "sh", "-c", "echo mine > /data/root-file && echo user > /data/user-file"
                            " && chown 1000:1000 /data/user-file")
    jzfs("zz", "snapshot", f"{ds}@kept")
    pid = state(rundir, uuid)["pid"]
    calls = debug_zfs_calls("stop", "zz")
    unzone = [c for c in calls if c[0] == "unzone"]
    assert unzone == [["unzone", f"/proc/{pid}/ns/user", ds]], calls
    assert state(rundir, uuid) == {}
    assert zfs_get(ds, "zoned") == "on"  # stays: the jail may have set mountpoints
    # on disk the files keep the jail's own ids (the dataset is mounted idmapped)
    with tempfile.TemporaryDirectory() as mnt:
        # mount(2) itself (-i: not mount.zfs, which leaves a zoned dataset unmounted)
        subprocess.run(["mount", "-i", "-t", "zfs", "-o", "ro", ds, mnt], check=True)
        try:
            assert (os.stat(f"{mnt}/root-file").st_uid, os.stat(f"{mnt}/user-file").st_uid) \
                == (0, 1000)
            assert os.stat(mnt).st_uid == 0
        finally:
            subprocess.run(["umount", mnt], check=True)
    # again: delegated to the new namespace, the snapshot is still the jail's
    calls = debug_zfs_calls("start", "zz")
    assert [c[0] for c in calls].count("zone") == 1, calls
    assert f"{ds}@kept" in jzfs("zz", "list", "-H", "-o", "name", "-t", "snapshot", "-r",
                                ds).stdout.split()
    assert jexec("zz", "cat", "/data/root-file").stdout == "mine\n"
    assert jexec("zz", "stat", "-c", "%u", "/data/user-file").stdout.strip() == "1000"


def test_delegation_refused_where_it_cannot_work(release, mountroot, rundir):
    """Privileged (no user namespace of its own) and jail_zfs=off: refused at start in one
    line, nothing left running or zoned."""
    uuid = make_delegating_jail(release, mountroot, "zp", "privileged=yes")
    r = ioc("start", "zp", check=False)
    lines = [l for l in r.stderr.splitlines() if l.startswith("iocell: ")]
    assert r.returncode == 1 and any("allow_mount_zfs=1" in l and "privileged" in l
                                     for l in lines), r.stderr
    assert state(rundir, uuid) == {}
    assert zfs_get(f"{JAILS_DS}/{uuid}/data", "zoned") == "off"
    u2 = parse_uuid(ioc("create", "-c", f"release={release}", "tag=zo", "allow_mount_zfs=1",
                        *NONET).stdout)
    r = ioc("start", "zo", check=False)
    assert r.returncode == 1 and "jail_zfs=off" in r.stderr, r.stderr
    assert state(rundir, u2) == {}
