"""record/package/import, export/import images, pkglist, update (SPEC §9, §10).

Every test asserts the resulting ZFS state and files, not only exit statuses.
"""

import hashlib
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from helpers import (RELEASES_DS, datasets, destroy_dataset, ioc, iocell_bin, parse_uuid, snapshots, zfs,
                     zfs_exists, zfs_get)


def jail_root(mountroot, uuid) -> Path:
    return Path(mountroot) / "jails" / uuid / "root"


def jail_uuids(jails_ds):
    return sorted(d.rsplit("/", 1)[1] for d in datasets(jails_ds) if d.count("/") == jails_ds.count("/") + 1)


# Jails that are started here do not need a network: vnet=off keeps these tests
# independent of the host's bridges.
NONET = ("vnet=off", "ip4=disable")


def sh(tag, script):
    return ioc("exec", tag, "/bin/sh", "-c", script)


def uuid_of(tag):
    return ioc("get", "host_hostuuid", tag).stdout.strip()


# ---- the manual's package workflow ------------------------------------------------------

def test_package_workflow(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=nginx", *NONET).stdout)
    root = jail_root(mountroot, uuid)
    ioc("start", "nginx")
    try:
        ioc("record", "start", "nginx")
        assert zfs_exists(f"{jails_ds}/{uuid}/root@ioc-record")
        sh("nginx", "mkdir -p /srv/www && echo hello > /srv/www/index.html && "
                    "echo 'www:x:33:33::/srv:/bin/false' >> /etc/passwd && "
                    "ln -s www /srv/current && rm /usr/bin/env && chmod 0600 /etc/group")
        base = int(zfs_get(f"{jails_ds}/{uuid}", "iocell:idmap_base"))
        r = ioc("exec", "nginx", "chown", "33:33", "/srv/www/index.html", check=False)
        if r.returncode != 0:
            # zfs-fuse grants chown only to host uid 0 (its own privilege policy): the
            # jail's root, host id BASE, may not give a file away there.  What it would
            # have done, from the host: jail id 33 is host id BASE+33.
            assert not Path("/dev/zfs").exists() and "not permitted" in r.stderr, r.stderr
            os.chown(root / "srv/www/index.html", base + 33, base + 33)
        assert sh("nginx", "stat -c %u:%g /srv/www/index.html").stdout == "33:33\n"
        out = ioc("record", "stop", "nginx").stdout
        assert "deleted" in out
    finally:
        ioc("stop", "nginx")
    assert not zfs_exists(f"{jails_ds}/{uuid}/root@ioc-record")
    assert not any(".record-" in d for d in datasets(jails_ds.rsplit("/", 1)[0]))
    rec = Path(mountroot) / "jails" / uuid / "recorded"
    assert (rec / "srv/www/index.html").read_text() == "hello\n"
    # recorded/ keeps the jail's own ids (0-65535), not the host ids of its range
    assert os.lstat(rec / "srv/www/index.html").st_uid == 33
    assert os.lstat(rec / "srv/www").st_uid == 0
    assert os.readlink(rec / "srv/current") == "www"
    assert "www:x:33" in (rec / "etc/passwd").read_text()
    assert (os.stat(rec / "etc/group").st_mode & 0o777) == 0o600
    assert (rec / ".iocell-deleted").read_text().splitlines() == ["/usr/bin/env"]
    # Only what changed: no untouched files, no empty dirs.
    files = sorted(str(p.relative_to(rec)) for p in rec.rglob("*") if p.is_symlink() or not p.is_dir())
    assert files == [".iocell-deleted", "etc/group", "etc/passwd", "srv/current",
                     "srv/www/index.html"], files

    pkg = ioc("package", "nginx").stdout.strip()
    assert pkg == f"{mountroot}/packages/{uuid}.tar.xz"
    digest = hashlib.sha256(Path(pkg).read_bytes()).hexdigest()
    assert Path(f"{mountroot}/packages/{uuid}.sha256").read_text() == f"{digest}  {uuid}.tar.xz\n"
    with tarfile.open(pkg) as t:
        names = t.getnames()
        assert names[0] == ".iocell-package"
        assert f"release={release}" in t.extractfile(names[0]).read().decode()

    ioc("destroy", "-f", "nginx", input="Y\n")
    assert not zfs_exists(f"{jails_ds}/{uuid}")

    ioc("create", "-c", f"release={release}")
    out = ioc("import", uuid[:8], "tag=myjail", *NONET).stdout
    new = parse_uuid(out)
    assert new != uuid
    assert zfs_get(f"{jails_ds}/{new}", "iocell:tag") == "myjail"
    assert zfs_get(f"{jails_ds}/{new}", "iocell:release") == release
    assert zfs_get(f"{jails_ds}/{new}", "iocell:type") == "clonejail"
    nroot = jail_root(mountroot, new)
    assert (nroot / "srv/www/index.html").read_text() == "hello\n"
    # applied with the new jail's ids: its range on disk where files are shifted
    nbase = int(zfs_get(f"{jails_ds}/{new}", "iocell:idmap_base"))
    nshift = int(zfs_get(f"{jails_ds}/{new}", "iocell:idmap_shift"))
    assert nbase != base and nshift in (0, nbase)
    assert os.lstat(nroot / "srv/www/index.html").st_uid == nshift + 33
    assert os.lstat(nroot / "srv/www").st_uid == nshift
    assert os.readlink(nroot / "srv/current") == "www"
    assert "www:x:33" in (nroot / "etc/passwd").read_text()
    assert (os.stat(nroot / "etc/group").st_mode & 0o777) == 0o600
    assert not os.path.lexists(nroot / "usr/bin/env")
    assert os.path.lexists(nroot / "usr/bin/id")
    ioc("start", "myjail")
    try:
        assert sh("myjail", "cat /srv/current/index.html").stdout == "hello\n"
        assert sh("myjail", "stat -c %u:%g /srv/www/index.html /srv/www").stdout == \
            "33:33\n0:0\n"
    finally:
        ioc("stop", "myjail")


def test_record_stop_without_start(release):
    ioc("create", "-c", f"release={release}", "tag=norec")
    p = ioc("record", "stop", "norec", check=False)
    assert p.returncode == 1 and "not recording" in p.stderr


def test_busybox_has_no_package_manager(release, jails_ds):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=nopm").stdout)
    p = ioc("update", "nopm", check=False)
    assert p.returncode == 1
    assert "no known package manager in this jail (apt-get, apk, pkg)" in p.stderr
    assert snapshots(f"{jails_ds}/{uuid}") == []


# ---- packages that must not be trusted --------------------------------------------------

def write_pkg(mountroot, name, release, members, deleted=""):
    """A package built by hand: members are (TarInfo, bytes or None)."""
    pkgdir = Path(mountroot) / "packages"
    pkgdir.mkdir(exist_ok=True)
    path = pkgdir / f"{name}.tar.xz"
    with tarfile.open(path, "w:xz") as t:
        for n, data in ((".iocell-package", f"format=1\nrelease={release}\n".encode()),
                        (".iocell-deleted", deleted.encode())):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (pkgdir / f"{name}.sha256").write_text(f"{digest}  {name}.tar.xz\n")
    return path


def reg(name, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.mode = mode
    return ti


def test_corrupt_package_creates_nothing(release, jails_ds, mountroot):
    path = write_pkg(mountroot, "corrupt0", release, [(reg("etc/x"), b"x\n")])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    before = datasets(jails_ds)
    p = ioc("import", "corrupt0", check=False)
    assert p.returncode == 1
    assert "checksum mismatch" in p.stderr
    assert datasets(jails_ds) == before


def test_missing_checksum_file_is_refused(release, jails_ds, mountroot):
    path = write_pkg(mountroot, "nosum0", release, [(reg("etc/x"), b"x\n")])
    path.with_name("nosum0.sha256").unlink()
    before = datasets(jails_ds)
    p = ioc("import", "nosum0", check=False)
    assert p.returncode == 1 and "checksum" in p.stderr
    assert datasets(jails_ds) == before


def test_release_mismatch_is_refused(release, jails_ds, mountroot):
    write_pkg(mountroot, "otherrel0", "nosuchrelease", [(reg("etc/x"), b"x\n")])
    before = datasets(jails_ds)
    p = ioc("import", "otherrel0", check=False)
    assert p.returncode == 1 and "nosuchrelease" in p.stderr
    assert datasets(jails_ds) == before
    write_pkg(mountroot, "otherrel1", release, [(reg("etc/x"), b"x\n")])
    p = ioc("import", "otherrel1", "release=other", check=False)
    assert p.returncode == 1
    assert datasets(jails_ds) == before


def test_ambiguous_name_lists_both(release, mountroot):
    write_pkg(mountroot, "ambig-a", release, [(reg("etc/x"), b"x\n")])
    write_pkg(mountroot, "ambig-b", release, [(reg("etc/x"), b"x\n")])
    p = ioc("import", "ambig", check=False)
    assert p.returncode == 1
    assert "ambig-a.tar.xz" in p.stderr and "ambig-b.tar.xz" in p.stderr


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink-out", "device", "hardlink-out"])
def test_malicious_package_writes_nothing_outside(release, jails_ds, mountroot, tmp_path, kind):
    victim = tmp_path / "victim"
    victim.mkdir()
    name = f"evil-{kind}"
    if kind == "dotdot":
        members = [(reg("../../../../../../../../" + str(victim / "x").lstrip("/")), b"pwned\n")]
    elif kind == "absolute":
        members = [(reg(str(victim / "x")), b"pwned\n")]
    elif kind == "symlink-out":
        link = tarfile.TarInfo("escape")
        link.type = tarfile.SYMTYPE
        link.linkname = str(victim)
        members = [(link, None), (reg("escape/x"), b"pwned\n")]
    elif kind == "hardlink-out":
        hl = tarfile.TarInfo("passwd-link")
        hl.type = tarfile.LNKTYPE
        hl.linkname = "../../../../../../etc/passwd"
        members = [(hl, None)]
    else:
        dev = tarfile.TarInfo("dev-sda")
        dev.type = tarfile.BLKTYPE
        dev.devmajor, dev.devminor = 8, 0
        members = [(dev, None)]
    write_pkg(mountroot, name, release, members)
    before = datasets(jails_ds)
    p = ioc("import", name, check=False)
    assert not (victim / "x").exists()
    assert list(victim.iterdir()) == []
    if p.returncode == 0:  # neutralised: then the jail exists and holds nothing dangerous
        new = parse_uuid(p.stdout)
        root = jail_root(mountroot, new)
        assert not (root / "dev-sda").exists()
        ioc("destroy", "-f", new, input="Y\n")
    else:
        assert p.returncode == 1, p.stderr
        assert datasets(jails_ds) == before, p.stderr


def test_malicious_deletions_stay_inside(release, jails_ds, mountroot, tmp_path):
    victim = tmp_path / "keep"
    victim.write_text("keep\n")
    write_pkg(mountroot, "evil-del", release, [],
              deleted=f"/../../../../../../..{victim}\n")
    before = datasets(jails_ds)
    p = ioc("import", "evil-del", check=False)
    assert victim.read_text() == "keep\n"
    assert p.returncode == 1, p.stderr
    assert datasets(jails_ds) == before, p.stderr


def test_deletion_never_follows_symlinks(release, jails_ds, mountroot, tmp_path):
    """A deletion path through a symlink of the fresh jail (usr/bin/env -> ../../bin/busybox
    is a file symlink; here a directory symlink made by the package itself) is not followed."""
    victim = tmp_path / "d"
    victim.mkdir()
    (victim / "f").write_text("keep\n")
    write_pkg(mountroot, "evil-del2", release, [], deleted=f"/bin/busybox\n")
    p = ioc("import", "evil-del2")
    new = parse_uuid(p.stdout)
    assert not os.path.lexists(jail_root(mountroot, new) / "bin/busybox")
    assert (victim / "f").read_text() == "keep\n"


# ---- export / import --------------------------------------------------------------------

def test_export_destroy_import_restores(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", f"release={release}", "tag=exp1", "notes=hello world",
                          "priority=7", *NONET).stdout)
    ds = f"{jails_ds}/{uuid}"
    (jail_root(mountroot, uuid) / "root/data.txt").write_text("precious\n")
    ioc("snapshot", "exp1@before")
    (jail_root(mountroot, uuid) / "root/later.txt").write_text("later\n")
    out = ioc("export", "exp1").stdout.strip()
    img = Path(f"{mountroot}/images/{uuid}.zfs")
    assert out == str(img)
    digest = hashlib.sha256(img.read_bytes()).hexdigest()
    assert Path(f"{mountroot}/images/{uuid}.sha256").read_text() == f"{digest}  {uuid}.zfs\n"
    assert [s.split("@")[1] for s in snapshots(ds)] == ["before"]  # export snapshot removed
    ioc("destroy", "-f", "exp1", input="Y\n")
    assert not zfs_exists(ds)

    new = parse_uuid(ioc("import", uuid[:13]).stdout)
    assert new != uuid
    nds = f"{jails_ds}/{new}"
    assert zfs_get(nds, "iocell:tag") == "exp1"  # the image's tag, free again
    assert zfs_get(nds, "iocell:notes") == "hello world"
    assert zfs_get(nds, "iocell:priority") == "7"
    assert zfs_get(nds, "iocell:host_hostuuid") == new
    assert zfs_get(nds, "iocell:host_hostname") == new
    assert [s.split("@")[1] for s in snapshots(nds)] == ["before"]
    assert [s.split("@")[1] for s in snapshots(f"{nds}/root")] == ["before"]
    assert (jail_root(mountroot, new) / "root/data.txt").read_text() == "precious\n"
    assert (jail_root(mountroot, new) / "root/later.txt").read_text() == "later\n"
    ioc("rollback", "-y", "exp1@before")
    assert not (jail_root(mountroot, new) / "root/later.txt").exists()
    ioc("start", "exp1")
    ioc("stop", "exp1")


def test_import_image_tag_taken_gets_new_tag(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=exp2").stdout)
    ioc("export", "exp2")
    new = parse_uuid(ioc("import", uuid).stdout)
    tag = zfs_get(f"{jails_ds}/{new}", "iocell:tag")
    assert tag != "exp2"
    new2 = parse_uuid(ioc("import", uuid, "tag=exp2b").stdout)
    assert zfs_get(f"{jails_ds}/{new2}", "iocell:tag") == "exp2b"
    p = ioc("import", uuid, "tag=exp2", check=False)
    assert p.returncode == 1 and "already used" in p.stderr


def test_export_running_is_refused(release, mountroot):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=exprun", *NONET).stdout)
    ioc("start", "exprun")
    try:
        p = ioc("export", "exprun", check=False)
        assert p.returncode == 1 and "running" in p.stderr
    finally:
        ioc("stop", "exprun")
    assert not Path(f"{mountroot}/images/{uuid}.zfs").exists()


def test_export_import_through_a_pipe(release, jails_ds, mountroot):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=pipe1").stdout)
    (jail_root(mountroot, uuid) / "root/piped").write_text("through a pipe\n")
    exp = subprocess.Popen([iocell_bin(), "export", "pipe1", "-"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    imp = subprocess.run([iocell_bin(), "import", "-", "tag=pipe2"], stdin=exp.stdout,
                         capture_output=True, text=True, timeout=300)
    exp.stdout.close()
    exp_err = exp.stderr.read().decode()
    assert exp.wait(timeout=60) == 0, exp_err
    assert imp.returncode == 0, imp.stderr
    new = parse_uuid(imp.stdout)
    assert zfs_get(f"{jails_ds}/{new}", "iocell:tag") == "pipe2"
    assert (jail_root(mountroot, new) / "root/piped").read_text() == "through a pipe\n"
    assert snapshots(f"{jails_ds}/{uuid}") == []
    assert snapshots(f"{jails_ds}/{new}") == []


def test_import_truncated_stream_leaves_nothing(release, jails_ds):
    ioc("create", "-c", f"release={release}", "tag=trunc1")
    data = subprocess.run([iocell_bin(), "export", "trunc1", "-"], capture_output=True,
                          check=True, timeout=300).stdout
    before = datasets(jails_ds)
    p = subprocess.run([iocell_bin(), "import", "-"], input=data[: len(data) // 2],
                       capture_output=True, timeout=300)
    assert p.returncode == 1
    assert datasets(jails_ds) == before


# ---- pkglist and update on a real Debian release (slow) ---------------------------------

@pytest.mark.slow
def test_pkglist_installs_and_reports_failures(debian_release, jails_ds, mountroot, tmp_path):
    lst = tmp_path / "pkgs.txt"
    lst.write_text("hello\n# a comment\nno-such-package-iocell\n")
    p = ioc("create", "-c", f"release={debian_release}", f"pkglist={lst}", "tag=pk1",
            check=False, timeout=900)
    assert p.returncode == 1
    assert "no-such-package-iocell" in p.stderr
    assert "hello" not in p.stderr.split("failed to install", 1)[-1].replace("no-such", "")
    uuid = parse_uuid(p.stdout)
    assert zfs_exists(f"{jails_ds}/{uuid}")  # kept
    assert (jail_root(mountroot, uuid) / "usr/bin/hello").exists()


@pytest.mark.slow
def test_update_debian(debian_release, jails_ds, tmp_path):
    uuid = parse_uuid(ioc("create", "-c", f"release={debian_release}", "tag=upd1").stdout)
    p = ioc("update", "upd1", timeout=900)
    names = [s.split("@")[1] for s in snapshots(f"{jails_ds}/{uuid}")]
    assert len(names) == 1 and names[0].startswith("ioc-update_")
    assert names[0] in p.stdout
    assert "rollback" in p.stdout


@pytest.mark.slow
def test_update_basejail_refetches_its_release(debian_release, jails_ds):
    rel_ds = f"{RELEASES_DS}/{debian_release}"
    uuid = parse_uuid(ioc("create", "-b", f"release={debian_release}", "tag=updb", *NONET).stdout)
    before = zfs_get(rel_ds, "iocell:fetched")
    time.sleep(1.1)  # the stamp has a resolution of one second
    p = ioc("update", "updb", timeout=900)
    assert f"release {debian_release} updated" in p.stdout
    assert zfs_get(rel_ds, "iocell:fetched") > before
    assert snapshots(f"{jails_ds}/{uuid}") == []  # the jail itself holds nothing to back out
    ioc("start", "updb")
    try:
        assert sh("updb", "test -x /usr/bin/apt-get && echo ok").stdout.strip() == "ok"
    finally:
        ioc("stop", "updb")


# ---- upgrade, and update of a basejail ------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _busybox_release_with(tmp_path, marker, extra=()) -> Path:
    """A busybox release directory whose rootfs.tar.xz also holds bin/MARKER (and the
    extra (path, text, mode) files)."""
    src = tmp_path / "bbsrc"
    subprocess.run(["bash", str(REPO / "scripts" / "mkbusybox-release.sh"), str(src)],
                   check=True, capture_output=True, timeout=120)
    out = tmp_path / "bbnext"
    out.mkdir()
    with tarfile.open(src / "rootfs.tar.xz") as tin, \
            tarfile.open(out / "rootfs.tar.xz", "w:xz") as tout:
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
        for path, text, mode in ((f"bin/{marker}", marker + "\n", 0o644), *extra):
            data = text.encode()
            ti = tarfile.TarInfo(f"./{path}")
            ti.size, ti.mode = len(data), mode
            tout.addfile(ti, io.BytesIO(data))
    return out


def test_upgrade_basejail_switches_release(release, jails_ds, tmp_path):
    d = _busybox_release_with(tmp_path, "bb-next-marker")
    ioc("fetch", "release=bb-next", f"ftplocaldir={d}", "ftpfiles=rootfs.tar.xz")
    uuid = parse_uuid(ioc("create", "-b", f"release={release}", "tag=upb", *NONET).stdout)
    ds = f"{jails_ds}/{uuid}"
    # not fetched: refused before anything is made
    r = ioc("upgrade", "upb", "release=bb-never", check=False)
    assert r.returncode == 1 and "not fetched" in r.stderr
    assert snapshots(ds) == []
    r = ioc("upgrade", "upb", "release=bb-next")
    assert zfs_get(ds, "iocell:release") == "bb-next"
    names = [s.split("@")[1] for s in snapshots(ds)]
    assert len(names) == 1 and names[0].startswith("ioc-upgrade_") and names[0] in r.stdout
    ioc("start", "upb")
    try:
        # the read-only system directories now come from the new release
        assert sh("upb", "cat /bin/bb-next-marker").stdout.strip() == "bb-next-marker"
    finally:
        ioc("stop", "upb")
    r = ioc("upgrade", "upb", "release=bb-next", check=False)
    assert r.returncode == 1 and "already on release bb-next" in r.stderr


def test_update_basejail_of_a_tarball_release_says_why_not(release, jails_ds):
    uuid = parse_uuid(ioc("create", "-b", f"release={release}", "tag=upd-b", *NONET).stdout)
    r = ioc("update", "upd-b", check=False)
    assert r.returncode == 1
    assert "root tarball" in r.stderr and "no updater" in r.stderr
    assert snapshots(f"{jails_ds}/{uuid}") == []


def test_upgrade_refuses_tree_without_apt(release, jails_ds):
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", "tag=up-none", *NONET).stdout)
    r = ioc("upgrade", "up-none", "release=other", check=False)
    assert r.returncode == 1 and "no known package manager" in r.stderr
    assert snapshots(f"{jails_ds}/{uuid}") == []
    assert zfs_get(f"{jails_ds}/{uuid}", "iocell:release") == release


FAKE_APT = """#!/bin/sh
echo "apt-get $*" >> /var/log/fake-apt.log
case "$*" in
*dist-upgrade*)
    [ -e /etc/fail-upgrade ] && { echo "E: broken on purpose" >&2; exit 100; }
    echo upgraded > /etc/upgraded ;;
esac
exit 0
"""


def _fake_debian_jail(release, mountroot, tag):
    """A busybox jail that looks like a Debian tree whose apt-get is a logging stub."""
    uuid = parse_uuid(ioc("create", "-c", f"release={release}", f"tag={tag}", *NONET).stdout)
    root = jail_root(mountroot, uuid)
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    apt = root / "usr/bin/apt-get"
    apt.write_text(FAKE_APT)
    apt.chmod(0o755)
    (root / "etc/apt").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list").write_text("deb http://deb.example.org/debian oldsuite main\n")
    (root / "etc/debian_version").write_text("12.0\n")
    (root / "etc/os-release").write_text("ID=debian\nVERSION_CODENAME=oldsuite\n")
    (root / "var/log").mkdir(parents=True, exist_ok=True)
    return uuid, root


def test_upgrade_debian_tree_switches_suite_and_dist_upgrades(release, jails_ds, mountroot):
    uuid, root = _fake_debian_jail(release, mountroot, "up-deb")
    r = ioc("upgrade", "up-deb", "release=newsuite")
    assert (root / "etc/apt/sources.list").read_text() == \
        "deb http://deb.example.org/debian newsuite main\n"
    calls = (root / "var/log/fake-apt.log").read_text().splitlines()
    assert any(c.endswith(" update") for c in calls)
    assert any("dist-upgrade" in c for c in calls)
    assert (root / "etc/upgraded").exists()
    assert zfs_get(f"{jails_ds}/{uuid}", "iocell:release") == "newsuite"
    names = [s.split("@")[1] for s in snapshots(f"{jails_ds}/{uuid}")]
    assert len(names) == 1 and names[0].startswith("ioc-upgrade_") and names[0] in r.stdout


def test_failed_upgrade_rolls_back_and_says_so(release, jails_ds, mountroot):
    uuid, root = _fake_debian_jail(release, mountroot, "up-fail")
    (root / "etc/fail-upgrade").write_text("")
    r = ioc("upgrade", "up-fail", "release=newsuite", check=False)
    assert r.returncode == 1
    assert "dist-upgrade to newsuite failed" in r.stderr and "rolled back to ioc-upgrade_" in r.stderr
    # everything as before: sources, no trace of the attempt, release unchanged
    assert (root / "etc/apt/sources.list").read_text() == \
        "deb http://deb.example.org/debian oldsuite main\n"
    assert not (root / "var/log/fake-apt.log").exists()
    assert not (root / "etc/upgraded").exists()
    assert zfs_get(f"{jails_ds}/{uuid}", "iocell:release") == release


def test_update_snapshots_then_runs_the_updater(release, jails_ds, mountroot):
    uuid, root = _fake_debian_jail(release, mountroot, "upd-deb")
    r = ioc("update", "upd-deb")
    names = [s.split("@")[1] for s in snapshots(f"{jails_ds}/{uuid}")]
    assert len(names) == 1 and names[0].startswith("ioc-update_")
    assert f"back-out snapshot {jails_ds}/{uuid}@{names[0]} created" in r.stdout
    assert f"'iocell rollback upd-deb@{names[0]}'" in r.stdout
    calls = (root / "var/log/fake-apt.log").read_text().splitlines()
    assert calls == ["apt-get -q update",
                     "apt-get -q -y -o Dpkg::Options::=--force-confold upgrade"]


FAKE_APT_INSTALL = """#!/bin/sh
echo "apt-get $*" >> /var/log/fake-apt.log
echo "STANDIN apt-get $*" >&2
case "$*" in *install*broken*) echo "E: no such package" >&2; exit 100 ;; esac
exit 0
"""


def test_pkglist_uses_the_release_package_manager(jails_ds, mountroot, tmp_path):
    """pkglist= at create with a release whose apt-get is a logging stub: every name is
    tried, each failure named, no option-like name reaches apt-get, and the create is
    undone (issue 12: create is atomic, no jail is left)."""
    d = _busybox_release_with(tmp_path, "bb-apt-marker", extra=(
        ("usr/bin/apt-get", FAKE_APT_INSTALL, 0o755),
        ("etc/debian_version", "12.0\n", 0o644),
        ("var/log/.keep", "", 0o644)))
    ioc("fetch", "release=bb-fakeapt", f"ftplocaldir={d}", "ftpfiles=rootfs.tar.xz")
    lst = tmp_path / "pkgs.txt"
    lst.write_text("hello  # a comment\n# another\nbroken-pkg\n-o\tworld\n")
    p = ioc("create", "-c", "release=bb-fakeapt", f"pkglist={lst}", "tag=pkf", *NONET,
            check=False)
    assert p.returncode == 1, p.stderr
    assert "broken-pkg, -o" in p.stderr and "(not a package name)" in p.stderr
    assert jail_uuids(jails_ds) == []  # removed again
    assert "(pkf)" not in p.stdout  # never announced
    calls = [l.split("STANDIN ", 1)[1] for l in p.stderr.splitlines() if l.startswith("STANDIN ")]
    assert calls == ["apt-get -q update", "apt-get -q -y install -- hello",
                     "apt-get -q -y install -- broken-pkg", "apt-get -q -y install -- world"]


def test_import_of_a_foreign_stream_is_refused_and_leaves_nothing(release, jails_ds, mountroot):
    """A valid ZFS stream that is not an iocell export: refused after the receive, and
    the received dataset is gone again."""
    pool = jails_ds.split("/")[0]
    zfs("create", f"{pool}/plainfs")
    zfs("snapshot", f"{pool}/plainfs@s")
    fake = "00000000-0000-4000-8000-00000000f00d"
    img = Path(mountroot) / "images" / f"{fake}.zfs"
    with open(img, "wb") as f:
        subprocess.run(["zfs", "send", f"{pool}/plainfs@s"], stdout=f, check=True)
    digest = hashlib.sha256(img.read_bytes()).hexdigest()
    (Path(mountroot) / "images" / f"{fake}.sha256").write_text(f"{digest}  {img.name}\n")
    before = jail_uuids(jails_ds)
    try:
        r = ioc("import", fake, check=False)
        assert r.returncode == 1 and "not an iocell jail export" in r.stderr
        assert jail_uuids(jails_ds) == before
    finally:
        assert destroy_dataset(f"{pool}/plainfs"), f"could not destroy {pool}/plainfs"
        img.unlink()
        (Path(mountroot) / "images" / f"{fake}.sha256").unlink()
