"""fetch: releases from rootfs tarballs (local dir, file:// and http URLs) and by debootstrap.

Every test uses a release name of its own and destroys it (and its basejail masters) at
the end; the session's "bb" release is not touched.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import itertools
import json
import os
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from helpers import (
    IOCROOT_DS,
    RELEASES_DS,
    REPO,
    datasets,
    destroy_dataset,
    ioc,
    parse_uuid,
    run,
    snapshots,
    zfs_exists,
    zfs_get,
)

BASE_DS = f"{IOCROOT_DS}/base"
_names = itertools.count(1)


# --------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def bbdir(tmp_path_factory) -> Path:
    """A directory with the busybox rootfs.tar.xz and rootfs.tar.xz.sha256."""
    d = tmp_path_factory.mktemp("bbrel")
    run(["bash", str(REPO / "scripts" / "mkbusybox-release.sh"), str(d)], timeout=120)
    assert (d / "rootfs.tar.xz").is_file() and (d / "rootfs.tar.xz.sha256").is_file()
    return d


@pytest.fixture
def relname(iocell_env):
    """A fresh release name; the release and its masters are destroyed afterwards."""
    name = f"ft{os.getpid() % 10000}-{next(_names)}"
    yield name
    destroy_dataset(f"{RELEASES_DS}/{name}")
    destroy_dataset(f"{BASE_DS}/{name}")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_tar(path: Path, entries, mode: str = "w:gz") -> Path:
    """entries: ("dir", name) ("file", name, bytes) ("sym", name, target) ("hard", name, target)."""
    with tarfile.open(path, mode) as t:
        for e in entries:
            kind, name = e[0], e[1]
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                data = e[2] if len(e) > 2 else b"data\n"
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
                t.addfile(ti)
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
                t.addfile(ti)
            else:
                raise ValueError(kind)
    return path


def release_root(mountroot: Path, name: str) -> Path:
    return mountroot / "releases" / name / "root"


def assert_nothing_left(name: str, mountroot: Path):
    """No dataset of release name, no master, no download directory."""
    assert not zfs_exists(f"{RELEASES_DS}/{name}"), datasets(f"{RELEASES_DS}/{name}", include_self=True)
    assert not zfs_exists(f"{BASE_DS}/{name}"), datasets(f"{BASE_DS}/{name}", include_self=True)
    listing = run(["zfs", "list", "-H", "-o", "name", "-r", "-t", "all", RELEASES_DS, BASE_DS]).stdout
    mine = [n for n in listing.splitlines()
            if n.endswith(f"/{name}") or f"/{name}/" in n or f"/{name}@" in n]
    assert mine == [], mine
    leftovers = [p.name for p in mountroot.iterdir() if p.name.startswith(".fetch-")]
    assert leftovers == [], f"download directories left behind: {leftovers}"


def guid(ds: str) -> str:
    return zfs_get(ds, "guid")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path):
    """(directory, base URL) of a throw-away HTTP server on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


# --------------------------------------------------------------------------------------
# local tarballs


def test_fetch_from_ftplocaldir_creates_release_and_masters(bbdir, relname, mountroot):
    out = ioc("fetch", f"release={relname}", f"ftplocaldir={bbdir}", "ftpfiles=rootfs.tar.xz").stdout
    assert f"release {relname} fetched" in out, out

    rel_ds = f"{RELEASES_DS}/{relname}"
    assert zfs_exists(f"{rel_ds}/root@release")
    assert zfs_get(f"{rel_ds}/root", "mounted") == "yes"
    assert "rootfs.tar.xz" in zfs_get(rel_ds, "iocell:source")
    assert zfs_get(rel_ds, "iocell:fetched") not in ("", "-")

    root = release_root(mountroot, relname)
    assert (root / "bin" / "busybox").is_file()
    assert os.readlink(root / "bin" / "sh") == "busybox"
    assert (root / "etc" / "passwd").read_text().startswith("root:")
    st = os.lstat(root / "bin" / "busybox")
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert os.stat(root / "tmp").st_mode & 0o7777 == 0o1777

    # masters for the real system directories of the tree (busybox: bin, sbin, usr)
    for d in ("bin", "sbin", "usr"):
        assert zfs_exists(f"{BASE_DS}/{relname}/{d}@release"), d
    for d in ("lib", "lib32", "lib64", "libx32"):
        assert not zfs_exists(f"{BASE_DS}/{relname}/{d}"), d
    master_bin = mountroot / "base" / relname / "bin"
    assert (master_bin / "busybox").is_file()
    assert os.readlink(master_bin / "sh") == "busybox"
    assert (mountroot / "base" / relname / "usr" / "bin").is_dir()


def test_list_r_shows_the_release(bbdir, relname):
    ioc("fetch", f"release={relname}", f"ftplocaldir={bbdir}")  # default ftpfiles=rootfs.tar.xz
    rows = [line.split("\t") for line in ioc("list", "-r", "-H").stdout.splitlines()]
    mine = [r for r in rows if r[0] == relname]
    assert len(mine) == 1, rows
    assert len(mine[0]) == 4 and "rootfs.tar.xz" in mine[0][3], mine
    data = json.loads(ioc("list", "-r", "-j").stdout)
    assert any(r.get("release") == relname for r in data), data
    human = ioc("list", "-r").stdout
    assert "RELEASE" in human.splitlines()[0] and relname in human


def test_local_checksum_file_is_verified(bbdir, relname, mountroot, tmp_path):
    d = tmp_path / "tampered"
    d.mkdir()
    shutil.copy(bbdir / "rootfs.tar.xz", d / "rootfs.tar.xz")
    (d / "rootfs.tar.xz.sha256").write_text("0" * 64 + "  rootfs.tar.xz\n")
    proc = ioc("fetch", f"release={relname}", f"ftplocaldir={d}", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "checksum mismatch" in proc.stderr, proc.stderr
    assert_nothing_left(relname, mountroot)

    # SHA256SUMS is used as well
    (d / "rootfs.tar.xz.sha256").unlink()
    (d / "SHA256SUMS").write_text(f"{sha256_of(bbdir / 'rootfs.tar.xz')}  rootfs.tar.xz\n")
    ioc("fetch", f"release={relname}", f"ftplocaldir={d}")
    assert zfs_exists(f"{RELEASES_DS}/{relname}/root@release")


def test_url_file_with_correct_sha256(bbdir, relname, mountroot):
    digest = sha256_of(bbdir / "rootfs.tar.xz")
    url = f"file://{bbdir}/rootfs.tar.xz"
    out = ioc("fetch", f"release={relname}", f"url={url}", f"sha256={digest}").stdout
    assert f"release {relname} fetched" in out
    assert (release_root(mountroot, relname) / "bin" / "busybox").is_file()
    assert zfs_get(f"{RELEASES_DS}/{relname}", "iocell:source") == url
    assert_no_downloads(mountroot)


def assert_no_downloads(mountroot: Path):
    assert [p for p in mountroot.iterdir() if p.name.startswith(".fetch-")] == []


def test_url_file_with_wrong_sha256_creates_nothing(bbdir, relname, mountroot):
    proc = ioc("fetch", f"release={relname}", f"url=file://{bbdir}/rootfs.tar.xz",
               "sha256=" + "ab" * 32, check=False)
    assert proc.returncode == 1
    assert "checksum mismatch" in proc.stderr, proc.stderr
    assert_nothing_left(relname, mountroot)


def test_url_that_does_not_exist(relname, mountroot, tmp_path):
    proc = ioc("fetch", f"release={relname}", f"url=file://{tmp_path}/nope.tar.xz", check=False)
    assert proc.returncode == 1
    assert "nope.tar.xz" in proc.stderr
    assert_nothing_left(relname, mountroot)


def test_http_ftphost_ftpdir_ftpfiles_with_sha256sums(bbdir, relname, mountroot, http_dir, tmp_path):
    www, base = http_dir
    pub = www / "pub"
    pub.mkdir()
    shutil.copy(bbdir / "rootfs.tar.xz", pub / "rootfs.tar.xz")
    make_tar(pub / "extra.tar.gz", [("dir", "etc"), ("file", "etc/extra", b"from http\n")])
    (pub / "SHA256SUMS").write_text(
        f"{sha256_of(pub / 'rootfs.tar.xz')}  rootfs.tar.xz\n"
        f"{sha256_of(pub / 'extra.tar.gz')} *extra.tar.gz\n")
    ioc("fetch", f"release={relname}", f"ftphost={base}", "ftpdir=pub",
        "ftpfiles=rootfs.tar.xz extra.tar.gz")
    root = release_root(mountroot, relname)
    assert (root / "etc" / "extra").read_text() == "from http\n"
    assert (root / "bin" / "busybox").is_file()
    assert_no_downloads(mountroot)

    # a remote checksum that does not match: refused before anything changes
    other = f"{relname}b"
    (pub / "SHA256SUMS").write_text(f"{'0' * 64}  rootfs.tar.xz\n")
    try:
        proc = ioc("fetch", f"release={other}", f"ftphost={base}", "ftpdir=pub",
                   "ftpfiles=rootfs.tar.xz", check=False)
        assert proc.returncode == 1
        assert "checksum mismatch" in proc.stderr, proc.stderr
        assert_nothing_left(other, mountroot)
    finally:
        destroy_dataset(f"{RELEASES_DS}/{other}")
        destroy_dataset(f"{BASE_DS}/{other}")


def test_http_url_404(relname, mountroot, http_dir):
    _, base = http_dir
    proc = ioc("fetch", f"release={relname}", f"url={base}/missing.tar.xz", check=False)
    assert proc.returncode == 1
    assert "404" in proc.stderr, proc.stderr
    assert_nothing_left(relname, mountroot)


# --------------------------------------------------------------------------------------
# failures leave nothing behind


def test_corrupt_tarball_leaves_nothing(bbdir, relname, mountroot, tmp_path):
    d = tmp_path / "corrupt"
    d.mkdir()
    data = (bbdir / "rootfs.tar.xz").read_bytes()
    (d / "truncated.tar.xz").write_bytes(data[: len(data) // 3])
    (d / "garbage.tar.gz").write_bytes(os.urandom(4096))
    (d / "empty.tar.gz").write_bytes(b"")
    for f in ("truncated.tar.xz", "garbage.tar.gz", "empty.tar.gz"):
        proc = ioc("fetch", f"release={relname}", f"ftplocaldir={d}", f"ftpfiles={f}", check=False)
        assert proc.returncode == 1, (f, proc.stdout, proc.stderr)
        assert proc.stderr.strip(), f
        assert_nothing_left(relname, mountroot)

    # a good first tarball followed by a bad one: still nothing
    shutil.copy(bbdir / "rootfs.tar.xz", d / "good.tar.xz")
    proc = ioc("fetch", f"release={relname}", f"ftplocaldir={d}",
               "ftpfiles=good.tar.xz truncated.tar.xz", check=False)
    assert proc.returncode == 1
    assert_nothing_left(relname, mountroot)


def test_unknown_suite_fails_clearly(relname, mountroot):
    suite = f"nosuchsuite{relname.replace('-', '')}"
    try:
        proc = ioc("fetch", f"release={suite}", check=False)
        assert proc.returncode == 1
        assert suite in proc.stderr and "debootstrap" in proc.stderr, proc.stderr
        assert_nothing_left(suite, mountroot)
    finally:
        destroy_dataset(f"{RELEASES_DS}/{suite}")


def test_usage_errors(relname, mountroot):
    proc = ioc("fetch", f"release={relname}", "color=blue", check=False)
    assert proc.returncode == 2 and "color" in proc.stderr
    proc = ioc("fetch", f"release={relname}", "notanassignment", check=False)
    assert proc.returncode == 2
    assert ioc("fetch", "-h").returncode == 0
    proc = ioc("fetch", "release=../evil", "ftplocaldir=/nonexistent", check=False)
    assert proc.returncode == 1 and "release" in proc.stderr
    proc = ioc("fetch", f"release={relname}", "url=file:///x.tar", "sha256=xyz", check=False)
    assert proc.returncode == 1 and "sha256" in proc.stderr
    proc = ioc("fetch", f"release={relname}", "url=file:///x.tar", "ftplocaldir=/tmp", check=False)
    assert proc.returncode == 1
    assert_nothing_left(relname, mountroot)


# --------------------------------------------------------------------------------------
# updating an existing release


def test_refetch_updates_and_keeps_clones_working(bbdir, relname, mountroot, tmp_path, jails_ds):
    rel_ds = f"{RELEASES_DS}/{relname}"
    ioc("fetch", f"release={relname}", f"ftplocaldir={bbdir}")
    root_guid = guid(f"{rel_ds}/root@release")
    bin_guid = guid(f"{BASE_DS}/{relname}/bin@release")

    uuid = parse_uuid(ioc("create", "-c", f"release={relname}", "tag=fetchclone").stdout)
    jail_root = f"{jails_ds}/{uuid}/root"
    assert zfs_get(jail_root, "origin") == f"{rel_ds}/root@release"

    d = tmp_path / "v2"
    d.mkdir()
    shutil.copy(bbdir / "rootfs.tar.xz", d / "rootfs.tar.xz")
    make_tar(d / "extra.tar.gz", [("dir", "./"), ("dir", "etc"), ("file", "etc/newfile", b"v2\n")])
    out = ioc("fetch", f"release={relname}", f"ftplocaldir={d}",
              "ftpfiles=rootfs.tar.xz extra.tar.gz").stdout
    assert f"release {relname} updated" in out, out

    root = release_root(mountroot, relname)
    assert (root / "etc" / "newfile").read_text() == "v2\n"
    assert (root / "bin" / "busybox").is_file()
    assert guid(f"{rel_ds}/root@release") != root_guid, "@release did not move"
    assert guid(f"{BASE_DS}/{relname}/bin@release") != bin_guid, "master not refreshed"
    assert "extra.tar.gz" in zfs_get(rel_ds, "iocell:source")

    # the clone made before still works: its origin is the kept previous snapshot
    origin = zfs_get(jail_root, "origin")
    assert origin.startswith(f"{rel_ds}/root@ioc-prev-"), origin
    assert zfs_exists(origin)
    assert zfs_get(jail_root, "mounted") == "yes"
    jail_path = Path(zfs_get(jail_root, "mountpoint"))
    assert (jail_path / "bin" / "busybox").is_file()
    assert not (jail_path / "etc" / "newfile").exists()

    # previous snapshots nothing depends on are gone
    for d_ in ("bin", "sbin", "usr"):
        assert snapshots(f"{BASE_DS}/{relname}/{d_}") == [f"{BASE_DS}/{relname}/{d_}@release"]

    # a jail made after the update sees the new tree
    uuid2 = parse_uuid(ioc("create", "-c", f"release={relname}", "tag=fetchclone2").stdout)
    new_path = Path(zfs_get(f"{jails_ds}/{uuid2}/root", "mountpoint"))
    assert (new_path / "etc" / "newfile").read_text() == "v2\n"

    # fetching the plain tarball again removes the file (the root is refilled, not merged)
    ioc("fetch", f"release={relname}", f"ftplocaldir={bbdir}")
    assert not (root / "etc" / "newfile").exists()

    ioc("destroy", "-f", "fetchclone", input="Y\n")
    ioc("destroy", "-f", "fetchclone2", input="Y\n")


def test_failed_refetch_restores_the_release(bbdir, relname, mountroot, tmp_path):
    rel_ds = f"{RELEASES_DS}/{relname}"
    ioc("fetch", f"release={relname}", f"ftplocaldir={bbdir}")
    before_root = guid(f"{rel_ds}/root@release")
    before_masters = {d: guid(f"{BASE_DS}/{relname}/{d}@release") for d in ("bin", "sbin", "usr")}
    before_source = zfs_get(rel_ds, "iocell:source")

    d = tmp_path / "bad"
    d.mkdir()
    shutil.copy(bbdir / "rootfs.tar.xz", d / "rootfs.tar.xz")
    make_tar(d / "extra.tar.gz", [("dir", "etc"), ("file", "etc/newfile", b"x\n")])
    data = (d / "extra.tar.gz").read_bytes()
    (d / "broken.tar.gz").write_bytes(data[: len(data) // 2])
    proc = ioc("fetch", f"release={relname}", f"ftplocaldir={d}",
               "ftpfiles=rootfs.tar.xz extra.tar.gz broken.tar.gz", check=False)
    assert proc.returncode == 1, proc.stdout
    assert "broken.tar.gz" in proc.stderr, proc.stderr

    root = release_root(mountroot, relname)
    assert not (root / "etc" / "newfile").exists(), "the failed update was not rolled back"
    assert (root / "bin" / "busybox").is_file()
    assert guid(f"{rel_ds}/root@release") == before_root
    assert snapshots(f"{rel_ds}/root") == [f"{rel_ds}/root@release"]
    for dname, g in before_masters.items():
        assert guid(f"{BASE_DS}/{relname}/{dname}@release") == g
    assert zfs_get(rel_ds, "iocell:source") == before_source
    assert_no_downloads(mountroot)


# --------------------------------------------------------------------------------------
# hostile tarballs


MALICIOUS = {
    "dotdot": lambda out: [("file", "../../../../../../../../.." + str(out / "dotdot"))],
    "absolute": lambda out: [("file", str(out / "absolute"))],
    "symlink-then-file": lambda out: [("sym", "evil", str(out)), ("file", "evil/through")],
    "relative-symlink-then-file": lambda out: [
        ("sym", "evil", "../../../../../../../../.." + str(out)), ("file", "evil/through")],
    "symlink-dir-then-dir-entry": lambda out: [
        ("sym", "evil", str(out)), ("dir", "evil/sub"), ("file", "evil/sub/x")],
    "hardlink-absolute": lambda out: [("hard", "hl", str(out / "target"))],
    "hardlink-dotdot": lambda out: [("hard", "hl", "../../../../../../../../.." + str(out / "target"))],
    "hardlink-through-symlink": lambda out: [
        ("sym", "evil", str(out)), ("hard", "hl", "evil/target"), ("file", "hl", b"overwrite\n")],
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_tarball_writes_nothing_outside(case, relname, mountroot, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_text("original\n")
    before = sorted(p.name for p in outside.iterdir())
    d = tmp_path / "mal"
    d.mkdir()
    entries = [("dir", "./"), ("dir", "etc"), ("file", "etc/ok")] + MALICIOUS[case](outside)
    make_tar(d / "rootfs.tar.gz", entries)
    proc = ioc("fetch", f"release={relname}", f"ftplocaldir={d}", "ftpfiles=rootfs.tar.gz", check=False)
    assert proc.returncode == 1, f"{case}: accepted\n{proc.stdout}{proc.stderr}"
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "target").read_text() == "original\n"
    assert os.stat(outside / "target").st_nlink == 1
    assert_nothing_left(relname, mountroot)


def test_symlinks_pointing_out_are_kept_as_symlinks(relname, mountroot, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    d = tmp_path / "rel"
    d.mkdir()
    make_tar(d / "rootfs.tar.gz", [("dir", "./"), ("dir", "etc"), ("file", "etc/ok"),
                                   ("sym", "etc/mtab", "/proc/self/mounts"),
                                   ("sym", "away", str(outside))])
    ioc("fetch", f"release={relname}", f"ftplocaldir={d}", "ftpfiles=rootfs.tar.gz")
    root = release_root(mountroot, relname)
    assert os.readlink(root / "etc" / "mtab") == "/proc/self/mounts"
    assert os.readlink(root / "away") == str(outside)
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------------------
# basejail roots from the masters


def test_basejail_root_from_masters(bbdir, relname, jails_ds):
    ioc("fetch", f"release={relname}", f"ftplocaldir={bbdir}")
    uuid = parse_uuid(ioc("create", "-b", f"release={relname}", "tag=fetchbase").stdout)
    root_ds = f"{jails_ds}/{uuid}/root"
    root = Path(zfs_get(root_ds, "mountpoint"))
    for d in ("bin", "sbin", "usr"):
        ds = f"{root_ds}/{d}"
        assert zfs_get(ds, "origin") == f"{BASE_DS}/{relname}/{d}@release"
        assert zfs_get(ds, "mounted") == "yes"
    assert (root / "bin" / "busybox").is_file()
    assert (root / "etc" / "passwd").is_file()
    assert not zfs_exists(f"{root_ds}/etc")
    with pytest.raises(OSError):
        (root / "bin" / "written-by-test").write_text("x")
    (root / "etc" / "mine").write_text("own\n")  # the jail's own part is writable
    ioc("destroy", "-f", "fetchbase", input="Y\n")


def test_basejail_of_a_missing_release(jails_ds):
    proc = ioc("create", "-b", "release=neverfetched", "tag=nobase", check=False)
    assert proc.returncode == 1
    assert "release neverfetched is not fetched" in proc.stderr, proc.stderr
    assert datasets(jails_ds) == []


# --------------------------------------------------------------------------------------
# a real Debian suite (slow: IOCELL_SLOW=1)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("IOCELL_SLOW") != "1", reason="debootstrap: set IOCELL_SLOW=1")
def test_debootstrap_bookworm(debian_release, mountroot, jails_ds):
    rel_ds = f"{RELEASES_DS}/{debian_release}"
    assert zfs_exists(f"{rel_ds}/root@release")
    assert zfs_get(rel_ds, "iocell:source").startswith(f"debootstrap {debian_release}")
    root = release_root(mountroot, debian_release)
    assert (root / "usr" / "bin" / "apt-get").is_file()
    assert "bookworm" in (root / "etc" / "os-release").read_text()
    # merged /usr: bin is a symlink, so only usr gets a master
    assert os.readlink(root / "bin") == "usr/bin"
    assert zfs_exists(f"{BASE_DS}/{debian_release}/usr@release")
    assert not zfs_exists(f"{BASE_DS}/{debian_release}/bin")
    assert not [l for l in Path("/proc/self/mountinfo").read_text().splitlines()
                if f" {root}/" in l], "debootstrap left mounts behind"

    uuid = parse_uuid(ioc("create", "-b", f"release={debian_release}", "tag=debbase").stdout)
    jroot = Path(zfs_get(f"{jails_ds}/{uuid}/root", "mountpoint"))
    assert os.readlink(jroot / "bin") == "usr/bin"
    assert (jroot / "usr" / "bin" / "apt-get").is_file()
    ioc("destroy", "-f", "debbase", input="Y\n")


def test_utf8_file_names_are_extracted_as_they_are(relname, mountroot, tmp_path):
    """Non-ASCII (pax, UTF-8) names come out byte for byte, even in the C locale."""
    d = tmp_path / "rel"
    d.mkdir()
    names = ["etc/grüße", "etc/日本語.conf"]
    with tarfile.open(d / "rootfs.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for n in ["./", "etc"]:
            ti = tarfile.TarInfo(n)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            t.addfile(ti)
        for n in names:
            ti = tarfile.TarInfo(n)
            ti.size, ti.mode = 3, 0o644
            t.addfile(ti, io.BytesIO(b"ok\n"))
    ioc("fetch", f"release={relname}", f"ftplocaldir={d}", "ftpfiles=rootfs.tar",
        env={"LC_ALL": "C"})
    root = release_root(mountroot, relname)
    for n in names:
        assert (root / n).read_bytes() == b"ok\n"
