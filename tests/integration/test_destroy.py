"""destroy: the plan, the capital-Y confirmation, dependent clones (-R), templates,
runtime files. Every test asserts the ZFS state afterwards."""

from helpers import RELEASES_DS, datasets, ioc, jail_list, parse_uuid, zfs, zfs_exists, zfs_get


def make_jail(release, jails_ds, tag):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", f"tag={tag}").stdout)
    return uuid, f"{jails_ds}/{uuid}"


def everything(ds):
    """Every dataset and snapshot at or below ds ([] when gone)."""
    return datasets(ds, include_self=True, types="filesystem,volume,snapshot")


def release_intact(release):
    root = f"{RELEASES_DS}/{release}/root"
    return zfs_exists(f"{root}@release") and zfs_get(root, "origin") == "-"


def test_destroy_lower_case_y_destroys_nothing(release, jails_ds):
    uuid, ds = make_jail(release, jails_ds, "dy")
    ioc("snapshot", "dy@s1")
    before = everything(ds)
    assert before == sorted([ds, f"{ds}/root", f"{ds}@s1", f"{ds}/root@s1"])

    p = ioc("destroy", "dy", input="y\n", check=False)
    assert p.returncode == 1
    assert "nothing was destroyed" in p.stderr
    assert "Are you sure ? Y[n]:" in p.stdout
    for name in before:  # the plan names every dataset and snapshot
        assert name in p.stdout, (name, p.stdout)
    assert "Destroyed" not in p.stdout
    assert everything(ds) == before

    for answer in (None, "\n", "yes\n", "YES\n", "n\n", " Y\n"):
        p = ioc("destroy", "dy", input=answer, check=False)
        assert p.returncode == 1, answer
        assert everything(ds) == before
    assert [r["tag"] for r in jail_list()] == ["dy"]


def test_destroy_capital_Y(release, jails_ds, rundir, mountroot):
    uuid, ds = make_jail(release, jails_ds, "dY")
    ioc("snapshot", "dY@s1")
    ioc("snapshot", "dY")
    # runtime leftovers and the console log go with the jail; the lock file may stay
    (rundir / f"{uuid}.ifaces").write_text("veth0\n")
    (rundir / f"{uuid}.d").mkdir()
    (rundir / f"{uuid}.d" / "x").write_text("x")
    other = rundir / "00000000-0000-4000-8000-000000000000.ifaces"
    other.write_text("not ours\n")
    (mountroot / "log").mkdir(exist_ok=True)
    log = mountroot / "log" / f"{uuid}-console.log"
    log.write_text("boot\n")

    p = ioc("destroy", "dY", input="Y\n")
    assert f"Destroyed: {uuid} (dY)" in p.stdout
    assert everything(ds) == []
    assert datasets(jails_ds) == []
    assert zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", jails_ds) == ""
    assert jail_list() == []
    assert not (rundir / f"{uuid}.ifaces").exists()
    assert not (rundir / f"{uuid}.d").exists()
    assert not log.exists()
    assert other.exists()
    other.unlink()
    assert release_intact(release)
    # the tag is free again
    make_jail(release, jails_ds, "dY")


def test_destroy_yes_flag_and_errors(release, jails_ds):
    uuid, ds = make_jail(release, jails_ds, "dflag")
    assert ioc("destroy", check=False).returncode == 2
    assert ioc("destroy", "ALL", check=False).returncode == 2
    assert ioc("destroy", "-Q", "dflag", check=False).returncode == 2
    p = ioc("destroy", "-y", "nosuchjail", check=False)
    assert p.returncode == 1 and "nosuchjail" in p.stderr
    assert zfs_exists(ds)
    ioc("destroy", "-y", uuid[:8])
    assert everything(ds) == []


def test_destroy_refuses_dependent_clone_unless_R(release, jails_ds):
    xuuid, xds = make_jail(release, jails_ds, "dx")
    yuuid = parse_uuid(ioc("clone", "dx", "tag=dx-kid").stdout)
    yds = f"{jails_ds}/{yuuid}"
    before = everything(jails_ds)

    p = ioc("destroy", "dx", input="Y\n", check=False)
    assert p.returncode == 1
    assert "dx-kid" in p.stderr and yuuid in p.stderr and "-R" in p.stderr
    assert everything(jails_ds) == before

    # -R shows the dependant (with its tag) in the plan; lower-case y still does nothing
    p = ioc("destroy", "-R", "dx", input="y\n", check=False)
    assert p.returncode == 1
    assert "dx-kid" in p.stdout and yds in p.stdout
    assert everything(jails_ds) == before

    p = ioc("destroy", "-R", "dx", input="Y\n")
    assert f"Destroyed: {yuuid} (dx-kid)" in p.stdout
    assert f"Destroyed: {xuuid} (dx)" in p.stdout
    assert p.stdout.index(yuuid + " (dx-kid)\n") < p.stdout.index(f"Destroyed: {xuuid}")
    assert datasets(jails_ds) == []
    assert zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", jails_ds) == ""
    assert jail_list() == []
    assert release_intact(release)


def test_destroy_clone_keeps_its_source(release, jails_ds):
    xuuid, xds = make_jail(release, jails_ds, "dsrc")
    ioc("snapshot", "dsrc@base")
    yuuid = parse_uuid(ioc("clone", "dsrc@base", "tag=dsrc-kid").stdout)
    ioc("destroy", "-y", "dsrc-kid")
    assert everything(f"{jails_ds}/{yuuid}") == []
    assert everything(xds) == sorted([xds, f"{xds}/root", f"{xds}@base", f"{xds}/root@base"])
    assert [r["tag"] for r in jail_list()] == ["dsrc"]


def test_destroy_template_with_clones(release, jails_ds):
    tuuid, tds = make_jail(release, jails_ds, "dtpl")
    ioc("set", "template=yes", "dtpl")
    ioc("snapshot", "dtpl@gold")
    kids = [parse_uuid(ioc("clone", "dtpl@gold", f"tag=dtpl-{i}").stdout) for i in (1, 2)]
    # a clone of a clone: destroyed too, before its own origin
    ioc("snapshot", "dtpl-1@s")
    grand = parse_uuid(ioc("clone", "dtpl-1@s", "tag=dtpl-1-1").stdout)
    before = everything(jails_ds)

    p = ioc("destroy", "dtpl", input="Y\n", check=False)
    assert p.returncode == 1
    assert "dtpl-1" in p.stderr and "dtpl-2" in p.stderr and "dtpl-1-1" in p.stderr
    assert everything(jails_ds) == before

    p = ioc("destroy", "-R", "-y", "dtpl")
    out = p.stdout
    for u, tag in [(tuuid, "dtpl"), (kids[0], "dtpl-1"), (kids[1], "dtpl-2"), (grand, "dtpl-1-1")]:
        assert f"Destroyed: {u} ({tag})" in out
    assert out.index(f"Destroyed: {grand}") < out.index(f"Destroyed: {kids[0]}")
    assert out.index(f"Destroyed: {kids[0]}") < out.index(f"Destroyed: {tuuid}")
    assert datasets(jails_ds) == []
    assert zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", jails_ds) == ""
    assert jail_list() == [] and jail_list("-t") == []
    assert release_intact(release)


def test_destroy_refuses_when_the_release_depends_on_the_jail(release, jails_ds):
    """After a raw `zfs promote` of a jail's root the release is a clone of the jail:
    destroy (even -R) must not take the release with it."""
    uuid, ds = make_jail(release, jails_ds, "drel")
    relroot = f"{RELEASES_DS}/{release}/root"
    zfs("promote", f"{ds}/root")
    try:
        assert zfs_get(relroot, "origin") == f"{ds}/root@release"
        p = ioc("destroy", "-R", "-y", "drel", check=False)
        assert p.returncode == 1
        assert relroot in p.stderr
        assert zfs_exists(relroot) and zfs_exists(ds)
    finally:
        zfs("promote", relroot)
    assert release_intact(release)
    ioc("destroy", "-y", "drel")
    assert everything(ds) == []
    assert release_intact(release)


def test_destroy_running_jail_needs_f(release, jails_ds, rundir):
    uuid, ds = make_jail(release, jails_ds, "drun")
    ioc("start", "drun")
    try:
        assert (rundir / f"{uuid}.state").exists()
        p = ioc("destroy", "-y", "drun", check=False)
        assert p.returncode == 1 and "running" in p.stderr and "-f" in p.stderr
        assert zfs_exists(ds)
        assert (rundir / f"{uuid}.state").exists()
        # -f stops it first (after the plan and the prompt: lower-case y still does nothing)
        p = ioc("destroy", "-f", "drun", input="y\n", check=False)
        assert p.returncode == 1 and zfs_exists(ds)
        assert (rundir / f"{uuid}.state").exists()
        p = ioc("destroy", "-f", "drun", input="Y\n")
        assert "stopped" in p.stdout and f"Destroyed: {uuid} (drun)" in p.stdout
    finally:
        if zfs_exists(ds):
            ioc("stop", "-f", "drun", check=False)
    assert everything(ds) == []
    assert not (rundir / f"{uuid}.state").exists()
    assert jail_list() == []
