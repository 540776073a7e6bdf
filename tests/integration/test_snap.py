"""snapshot, snaplist, snapremove, rollback, promote, and clone at a snapshot.

Every test asserts the ZFS state (zfs list / zfs get), not only exit statuses.
"""

import re
from pathlib import Path

from helpers import datasets, ioc, parse_uuid, snapshots, zfs, zfs_exists, zfs_get

AUTO_RE = re.compile(r"^ioc-\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d$")


def make_jail(release, jails_ds, tag):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", f"tag={tag}").stdout)
    return uuid, f"{jails_ds}/{uuid}"


def root_dir(ds) -> Path:
    assert zfs_get(f"{ds}/root", "mounted") == "yes"
    return Path(zfs_get(f"{ds}/root", "mountpoint"))


def snapnames(ds):
    return [s.split("@", 1)[1] for s in snapshots(ds)]


def all_snapshots(ds):
    """Every snapshot of ds and its descendants."""
    out = zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", ds)
    return sorted(line for line in out.splitlines() if line)


# ---- snapshot ---------------------------------------------------------------------------

def test_snapshot_named_is_recursive(release, jails_ds):
    uuid, ds = make_jail(release, jails_ds, "snx")
    out = ioc("snapshot", "snx@first").stdout
    assert f"{uuid}@first" in out
    assert snapnames(ds) == ["first"]
    assert snapnames(f"{ds}/root") == ["first"]


def test_snapshot_auto_name(release, jails_ds):
    uuid, ds = make_jail(release, jails_ds, "snauto")
    ioc("snapshot", "snauto")
    ioc("snapshot", uuid[:8])  # a unique UUID prefix names the jail too
    names = snapnames(ds)
    assert len(names) == 2 and len(set(names)) == 2, names
    assert all(AUTO_RE.match(n) for n in names), names
    assert snapnames(f"{ds}/root") == names


def test_snapshot_existing_name_is_refused(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "sndup")
    ioc("snapshot", "sndup@a")
    p = ioc("snapshot", "sndup@a", check=False)
    assert p.returncode == 1
    assert "already exists" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert snapnames(ds) == ["a"]


def test_snapshot_invalid_names(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "snbad")
    for bad in ("snbad@", "snbad@a/b", "snbad@-x", "snbad@ALL", "snbad@a b"):
        p = ioc("snapshot", bad, check=False)
        assert p.returncode == 1, (bad, p.stderr)
        assert "invalid snapshot name" in p.stderr
    assert snapshots(ds) == []
    p = ioc("snapshot", "nosuchjail@x", check=False)
    assert p.returncode == 1 and "nosuchjail" in p.stderr
    assert ioc("snapshot", check=False).returncode == 2


def test_snapshot_of_default_tagged_jail(release, jails_ds):
    """A default tag (YYYY-MM-DD@HH:MM:SS) keeps its own '@'."""
    uuid = parse_uuid(ioc("create", "-c", f"release={release}").stdout)
    tag = zfs_get(f"{jails_ds}/{uuid}", "iocell:tag")
    assert "@" in tag
    ioc("snapshot", f"{tag}@s1")
    ioc("snapshot", tag)
    names = snapnames(f"{jails_ds}/{uuid}")
    assert names[0] == "s1" and AUTO_RE.match(names[1]), names


# ---- snaplist ---------------------------------------------------------------------------

def test_snaplist_columns_and_order(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "snl")
    assert ioc("snaplist", "-H", "snl").stdout == ""
    for name in ("zz", "aa", "mm"):
        ioc("snapshot", f"snl@{name}")
    # a snapshot of the root only is not one of the jail's snapshots
    zfs("snapshot", f"{ds}/root@rootonly")
    rows = [line.split("\t") for line in ioc("snaplist", "-H", "snl").stdout.splitlines()]
    assert [r[0] for r in rows] == ["zz", "aa", "mm"]  # creation order, not name order
    for r in rows:
        assert len(r) == 4, r
        assert r[2] == zfs_size_text(f"{ds}@{r[0]}", "referenced")
        assert r[3] == zfs_size_text(f"{ds}@{r[0]}", "used")
        assert r[1] == zfs_get(f"{ds}@{r[0]}", "creation")


def zfs_size_text(dataset: str, prop: str) -> str:
    """A size as `zfs get` shows it, as iocell writes sizes: OpenZFS writes sizes under
    1 KiB with a unit ("0B"), zfs-fuse without ("0"); iocell the same on both ("0")."""
    v = zfs_get(dataset, prop)
    return v[:-1] if re.fullmatch(r"\d+B", v) else v


def test_snaplist_usage(release, jails_ds):
    make_jail(release, jails_ds, "snlu")
    assert ioc("snaplist", check=False).returncode == 2
    assert ioc("snaplist", "-Z", "snlu", check=False).returncode == 2
    p = ioc("snaplist", "-h")
    assert "snaplist" in p.stdout


# ---- snapremove -------------------------------------------------------------------------

def test_snapremove_one(release, jails_ds):
    uuid, ds = make_jail(release, jails_ds, "snr")
    ioc("snapshot", "snr@a")
    ioc("snapshot", "snr@b")
    out = ioc("snapremove", "snr@a").stdout
    assert uuid in out
    assert snapnames(ds) == ["b"]
    assert snapnames(f"{ds}/root") == ["b"]

    p = ioc("snapremove", "snr@nosuch", check=False)
    assert p.returncode == 1 and "no snapshot nosuch" in p.stderr
    assert ioc("snapremove", "snr", check=False).returncode == 2
    assert snapnames(ds) == ["b"]


def test_snapremove_all(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "snra")
    for n in ("a", "b", "c"):
        ioc("snapshot", f"snra@{n}")
    zfs("snapshot", f"{ds}/root@rootonly")
    ioc("snapremove", "snra@ALL")
    assert all_snapshots(ds) == []
    # nothing left to remove is not an error
    ioc("snapremove", "snra@ALL")
    assert datasets(ds, include_self=True) == [ds, f"{ds}/root"]


def test_snapremove_refuses_when_clones_depend(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "snrc")
    ioc("snapshot", "snrc@base")
    ioc("snapshot", "snrc@other")
    yuuid = parse_uuid(ioc("clone", "snrc@base", "tag=snrc-kid").stdout)
    before = all_snapshots(ds)

    p = ioc("snapremove", "snrc@base", check=False)
    assert p.returncode == 1
    assert "snrc-kid" in p.stderr and yuuid in p.stderr
    assert "promote" in p.stderr
    p = ioc("snapremove", "snrc@ALL", check=False)
    assert p.returncode == 1 and "snrc-kid" in p.stderr
    assert all_snapshots(ds) == before  # @ALL removed nothing

    # a snapshot nobody depends on still goes
    ioc("snapremove", "snrc@other")
    assert snapnames(ds) == ["base"]


# ---- rollback ---------------------------------------------------------------------------

def test_rollback_across_newer_snapshots(release, jails_ds):
    uuid, ds = make_jail(release, jails_ds, "rb")
    f = root_dir(ds) / "marker"
    f.write_text("v1\n")
    ioc("snapshot", "rb@s1")
    f.write_text("v2\n")
    ioc("snapshot", "rb@s2")
    ioc("snapshot", "rb@s3")
    f.write_text("v3\n")

    # lower-case y does nothing
    p = ioc("rollback", "rb@s1", input="y\n", check=False)
    assert p.returncode == 1
    assert "Are you sure ? Y[n]:" in p.stdout
    assert "s2" in p.stdout and "s3" in p.stdout and "will destroy" in p.stdout
    assert "nothing was changed" in p.stderr
    assert f.read_text() == "v3\n"
    assert snapnames(ds) == ["s1", "s2", "s3"]
    assert snapnames(f"{ds}/root") == ["s1", "s2", "s3"]
    # no answer at all does nothing either
    assert ioc("rollback", "rb@s1", check=False).returncode == 1
    assert snapnames(ds) == ["s1", "s2", "s3"]

    p = ioc("rollback", "rb@s1", input="Y\n")
    assert f"{uuid}" in p.stdout
    assert f.read_text() == "v1\n"
    assert snapnames(ds) == ["s1"]
    assert snapnames(f"{ds}/root") == ["s1"]
    assert zfs_get(f"{ds}/root", "mounted") == "yes"


def test_rollback_to_latest_needs_no_prompt(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "rbl")
    f = root_dir(ds) / "marker"
    f.write_text("keep\n")
    ioc("snapshot", "rbl@s1")
    f.write_text("changed\n")
    (root_dir(ds) / "newfile").write_text("x")
    ioc("rollback", "rbl@s1")  # stdin is /dev/null: it must not ask
    assert f.read_text() == "keep\n"
    assert not (root_dir(ds) / "newfile").exists()
    assert snapnames(ds) == ["s1"]


def test_rollback_yes_flag_and_child_only_snapshots(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "rby")
    ioc("snapshot", "rby@s1")
    zfs("snapshot", f"{ds}/root@baseline")  # e.g. a recording baseline of the root
    ioc("snapshot", "rby@s2")
    p = ioc("rollback", "-y", "rby@s1")
    assert "baseline" in p.stdout
    assert all_snapshots(ds) == sorted([f"{ds}@s1", f"{ds}/root@s1"])


def test_rollback_errors(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "rbe")
    ioc("snapshot", "rbe@s1")
    p = ioc("rollback", "-y", "rbe@nosuch", check=False)
    assert p.returncode == 1 and "no snapshot nosuch" in p.stderr
    assert ioc("rollback", "rbe", check=False).returncode == 2
    assert ioc("rollback", check=False).returncode == 2
    assert snapnames(ds) == ["s1"]


def test_rollback_refuses_when_newer_snapshot_has_clones(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "rbc")
    ioc("snapshot", "rbc@s1")
    ioc("snapshot", "rbc@s2")
    ioc("clone", "rbc@s2", "tag=rbc-kid")
    p = ioc("rollback", "-y", "rbc@s1", check=False)
    assert p.returncode == 1
    assert "rbc-kid" in p.stderr
    assert snapnames(ds) == ["s1", "s2"]


# ---- promote ----------------------------------------------------------------------------

def test_promote_swaps_origin(release, jails_ds):
    xuuid, xds = make_jail(release, jails_ds, "pmx")
    ioc("snapshot", "pmx@base")
    yuuid = parse_uuid(ioc("clone", "pmx@base", "tag=pmy").stdout)
    yds = f"{jails_ds}/{yuuid}"
    assert zfs_get(yds, "origin") == f"{xds}@base"
    assert zfs_get(f"{yds}/root", "origin") == f"{xds}/root@base"

    out = ioc("promote", "pmy").stdout
    assert yuuid in out
    assert zfs_get(yds, "origin") == "-"
    assert zfs_get(xds, "origin") == f"{yds}@base"
    assert zfs_get(f"{xds}/root", "origin") == f"{yds}/root@base"
    # the release clone of the old root moved to the promoted root
    assert zfs_get(f"{yds}/root", "origin").endswith(f"/releases/{release}/root@release")
    assert snapnames(yds) == ["base"] and snapnames(xds) == []

    # a jail that is not a clone of another jail
    p = ioc("promote", "pmy", check=False)
    assert p.returncode == 1 and "not a clone" in p.stderr
    # and back
    ioc("promote", "pmx")
    assert zfs_get(xds, "origin") == "-"
    assert zfs_get(yds, "origin") == f"{xds}@base"


def test_promote_never_takes_the_release(release, jails_ds, iocroot_ds):
    _, ds = make_jail(release, jails_ds, "pmr")
    p = ioc("promote", "pmr", check=False)
    assert p.returncode == 1 and "not a clone" in p.stderr
    relroot = f"{iocroot_ds}/releases/{release}/root"
    assert zfs_get(relroot, "origin") == "-"
    assert zfs_exists(f"{relroot}@release")
    assert zfs_get(f"{ds}/root", "origin") == f"{relroot}@release"


# ---- clone at a snapshot ----------------------------------------------------------------

def test_clone_at_given_snapshot(release, jails_ds):
    xuuid, xds = make_jail(release, jails_ds, "clx")
    f = root_dir(xds) / "marker"
    f.write_text("at-s1\n")
    ioc("snapshot", "clx@s1")
    f.write_text("later\n")
    ioc("snapshot", "clx@s2")
    yuuid = parse_uuid(ioc("clone", "clx@s1", "tag=cly").stdout)
    yds = f"{jails_ds}/{yuuid}"
    assert zfs_get(yds, "origin") == f"{xds}@s1"
    assert zfs_get(f"{yds}/root", "origin") == f"{xds}/root@s1"
    assert (root_dir(yds) / "marker").read_text() == "at-s1\n"
    assert zfs_get(yds, "iocell:tag") == "cly"
    assert zfs_get(yds, "iocell:host_hostuuid") == yuuid
    # no extra snapshot was made on the source
    assert snapnames(xds) == ["s1", "s2"]
    p = ioc("clone", "clx@nosuch", "tag=clz", check=False)
    assert p.returncode == 1
    assert sorted(datasets(jails_ds)) == sorted([xds, f"{xds}/root", yds, f"{yds}/root"])


def test_rollback_refuses_a_running_jail(release, jails_ds):
    _, ds = make_jail(release, jails_ds, "rbrun")
    ioc("snapshot", "rbrun@s1")
    ioc("snapshot", "rbrun@s2")
    ioc("start", "rbrun")
    try:
        p = ioc("rollback", "-y", "rbrun@s1", check=False)
        assert p.returncode == 1 and "running" in p.stderr and "-f" in p.stderr
        assert snapnames(ds) == ["s1", "s2"]
    finally:
        ioc("stop", "rbrun", check=False)
    ioc("rollback", "-y", "rbrun@s1")
    assert snapnames(ds) == ["s1"]
