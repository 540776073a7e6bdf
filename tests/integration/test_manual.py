"""Issue 12: the workflows of the two manuals (../shared/seeds/) as a new user follows
them (every read verb's -H and -j: test_readverbs.py).

Each test asserts the real outcome (datasets, mounts inside the jail, files, ZFS
properties), and fails without the fix it is named after.
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import re
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from helpers import (
    IOCROOT_DS,
    JAILS_DS,
    POOL,
    REPO,
    RELEASES_DS,
    datasets,
    destroy_dataset,
    ioc,
    iocell_bin,
    jexec,
    parse_uuid,
    pid_alive,
    wait_pid_gone,
    run,
    snapshots,
    state,
    zfs,
    zfs_exists,
    zfs_get,
    zpool,
)

# started jails here need no network
NONET = ("vnet=off", "ip4=disable", "ip6=disable")


def create(*args) -> str:
    return parse_uuid(ioc("create", *args).stdout)


def jail_uuids() -> list[str]:
    return sorted(d.rsplit("/", 1)[1] for d in datasets(JAILS_DS)
                  if d.count("/") == JAILS_DS.count("/") + 1)


def jail_root(mountroot, uuid) -> Path:
    return Path(mountroot) / "jails" / uuid / "root"


def mountinfo_of(pid) -> list[list[str]]:
    return [l.split() for l in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]


def mounted_at(pid, path) -> list[list[str]]:
    """mountinfo lines of the jail (its init pid) whose mount point is path."""
    return [f for f in mountinfo_of(pid) if f[4] == path]


# --------------------------------------------------------------------------------------
# releases with stand-in package managers (no network)

STANDIN = """#!/bin/sh
# a stand-in package manager: records what it is asked, fails for "failpkg"
echo "$0 $*" >> /var/log/standin.log
echo "STANDIN $(basename $0) $*" >&2
case " $* " in *" failpkg "*) echo "E: unable to locate package failpkg" >&2; exit 100 ;; esac
exit 0
"""


def _release_with(tmp: Path, files) -> Path:
    """A busybox rootfs.tar.xz in a new directory, plus files (path, text, mode)."""
    src = tmp / "src"
    run(["bash", str(REPO / "scripts" / "mkbusybox-release.sh"), str(src)], timeout=120)
    out = tmp / "rel"
    out.mkdir()
    with tarfile.open(src / "rootfs.tar.xz") as tin, \
            tarfile.open(out / "rootfs.tar.xz", "w:xz") as tout:
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
        for path, text, mode in files:
            data = text.encode()
            ti = tarfile.TarInfo(f"./{path}")
            ti.size, ti.mode, ti.mtime = len(data), mode, 1700000000
            tout.addfile(ti, io.BytesIO(data))
    return out


@pytest.fixture(scope="module")
def pm_releases(iocell_env, tmp_path_factory):
    """{"apk": release, "apt": release}: busybox releases whose package manager is STANDIN
    (apk-style /sbin/apk, apt-style /usr/bin/apt-get)."""
    names = {"apk": f"bbapk{os.getpid() % 1000}", "apt": f"bbapt{os.getpid() % 1000}"}
    layout = {"apk": [("sbin/apk", STANDIN, 0o755), ("etc/alpine-release", "3.19\n", 0o644)],
              "apt": [("usr/bin/apt-get", STANDIN, 0o755), ("etc/debian_version", "12\n", 0o644)]}
    for kind, name in names.items():
        d = _release_with(tmp_path_factory.mktemp(kind), layout[kind])
        ioc("fetch", f"release={name}", f"ftplocaldir={d}")
    yield names
    for name in names.values():
        destroy_dataset(f"{RELEASES_DS}/{name}")
        destroy_dataset(f"{IOCROOT_DS}/base/{name}")


def calls_of(stderr: str) -> list[str]:
    return [l.split("STANDIN ", 1)[1] for l in stderr.splitlines() if l.startswith("STANDIN ")]


# ---- pkglist ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind,flag", [("apk", "-c"), ("apt", "-c"), ("apk", None)])
def test_pkglist_installs_each_package(pm_releases, tmp_path, mountroot, kind, flag):
    """The manuals' `create pkglist=/path-to/pkgs.txt tag=myjail` (it crashed with SIGSEGV
    after making the jail): each package given to the release's own package manager."""
    pkgs = tmp_path / "pkgs.txt"
    pkgs.write_text("nginx\ntmux\n")
    args = ["create"] + ([flag] if flag else []) + [
        f"release={pm_releases[kind]}", f"pkglist={pkgs}", "tag=myjail"]
    r = ioc(*args)
    uuid = parse_uuid(r.stdout)
    assert f"{uuid} (myjail)" in r.stdout
    log = (jail_root(mountroot, uuid) / "var/log/standin.log").read_text().splitlines()
    if kind == "apk":
        assert log == ["/sbin/apk update", "/sbin/apk add -- nginx", "/sbin/apk add -- tmux"]
    else:
        assert [l.split("apt-get ", 1)[1] for l in log] == [
            "-q update", "-q -y install -- nginx", "-q -y install -- tmux"]
    assert zfs_get(f"{JAILS_DS}/{uuid}", "iocell:pkglist") == str(pkgs)


@pytest.mark.parametrize("kind", ["apk", "apt"])
def test_pkglist_failure_leaves_no_jail(pm_releases, tmp_path, kind):
    """A package that fails: reported by name, exit 1, and no jail (create is atomic)."""
    pkgs = tmp_path / "pkgs.txt"
    pkgs.write_text("nginx\nfailpkg\ntmux\n")
    r = ioc("create", "-c", f"release={pm_releases[kind]}", f"pkglist={pkgs}", "tag=pk",
            "count=2", check=False)
    assert r.returncode == 1, r.stderr
    assert "failed to install" in r.stderr and "failpkg" in r.stderr
    err = [l.split(" (hint: ")[0] for l in r.stderr.splitlines() if l.startswith("iocell: ")]
    assert err and err[-1].endswith(": failpkg") and "nginx" not in err[-1], r.stderr
    assert "create undone" in err[-1]
    assert "(pk_1)" not in r.stdout and "(pk_2)" not in r.stdout
    assert jail_uuids() == []
    assert ioc("list", "-H").stdout == ""
    # every package was tried in the first jail
    assert len([c for c in calls_of(r.stderr) if "nginx" in c or "tmux" in c]) == 2
    # the tags are free again
    create("-c", f"release={pm_releases[kind]}", "tag=pk")


def test_pkglist_without_package_manager_leaves_no_jail(release, tmp_path):
    pkgs = tmp_path / "pkgs.txt"
    pkgs.write_text("nginx\n")
    r = ioc("create", "-c", f"release={release}", f"pkglist={pkgs}", "tag=pkn", check=False)
    assert r.returncode == 1 and "no known package manager" in r.stderr
    assert jail_uuids() == []


def test_no_uninitialised_strv_or_kv_in_the_tree():
    """The pkglist crash was a `struct strv x;` handed to split() uninitialised.  Every such
    declaration in src/ must be initialised where it is declared or by the call right
    after it (one of the functions that initialise their argument)."""
    inits = ("sv_init", "kv_init", "rs_list", "zpool_names", "parse_assignments", "rec_read",
             "create_props", "clone_props", "jail_reidentify", "reset_values", "props_to_zfs",
             "zfs_argv", "get_args", "ztable_parse", "jails_query", "zfs_list", "zfs_get",
             "zfs_get_end", "jails_query_exact", "zfs_get_rows")
    bad = []
    decl = re.compile(r"^\s*(?:_cleanup_\w+_\s+)?struct (strv|kv|ztable) (\w+);")
    for path in sorted((REPO / "src").rglob("*.c")):
        lines = path.read_text().splitlines()
        in_struct = False  # members of a struct definition are not variables
        for i, line in enumerate(lines):
            if re.match(r"^(static )?struct \w+ \{", line):
                in_struct = True
            elif line.startswith("};"):
                in_struct = False
            m = decl.match(line)
            if not m or in_struct:
                continue
            var = m.group(2)
            nxt = " ".join(lines[i + 1:i + 3])
            if not any(re.search(rf"\b{f}\(\s*&?{var}\b", nxt) for f in inits):
                bad.append(f"{path.relative_to(REPO)}:{i + 1}: {line.strip()}")
    assert bad == [], "\n".join(bad)
    # ... and each of those functions does initialise it before it can return (also on
    # failure: zfs_list/zfs_get left a ztable uninitialised when zfs failed, which a
    # _cleanup_ztable_ then freed)
    text = {p: p.read_text() for p in (REPO / "src").rglob("*.c")}
    setters = r"(?:sv_init|kv_init|ztable_parse|query|zfs_argv|get_args)\(\s*{v}\b" \
              r"|\*{v} = \(struct \w+\)\{{0\}}|{v}->nrows = 0"
    for f in inits[2:]:
        defs = []
        for path, t in text.items():
            m = re.search(rf"^[a-z][^\n;(]*\b{f}\(([^)]*)\)\s*\{{(.*?)^\}}", t, re.M | re.S) \
                or re.search(rf"^[a-z][^\n;(]*\b{f}\(([^)]*)\)\s*\{{(.*?)\}}$", t, re.M)
            if m:
                defs.append((path, m.group(1), m.group(2)))
        assert len(defs) == 1, (f, [d[0] for d in defs])
        path, params, body = defs[0]
        # what runs unconditionally first: up to the first branch or loop, or the first
        # return statement itself (a call that initialises)
        cut = re.search(r"\b(?:if|for|while|switch)\s*\(|\breturn\b[^;]*;", body)
        head = body[:cut.end() if cut and cut.group(0).startswith("return") else
                    cut.start() if cut else len(body)]
        for v in re.findall(r"(?<!const )struct (?:strv|kv|ztable) \*(\w+)", params):
            if not re.search(setters.format(v=v), head):
                bad.append(f"{path.relative_to(REPO)}: {f}() may return with *{v} uninitialised")
    assert bad == [], "\n".join(bad)


# ---- jail_zfs --------------------------------------------------------------------------

@pytest.mark.parametrize("privileged", ["no", "yes"])
def test_jail_zfs_dataset_mounted_in_the_jail(release, mountroot, rundir, privileged):
    """In a user namespace (the default) and privileged: the dataset is mounted at
    jail_zfs_mountpoint, its top directory is the jail root's (on disk: the id that stands
    for the jail's root, idmap_shift), the jail's root writes to it, and it is gone from
    the jail's view with the jail."""
    uuid = create("-c", f"release={release}", "tag=zj", "jail_zfs=on",
                  "jail_zfs_mountpoint=/data", f"privileged={privileged}", *NONET)
    ds = f"{JAILS_DS}/{uuid}/data"
    assert zfs_exists(ds), datasets(f"{JAILS_DS}/{uuid}")
    host = Path(zfs_get(ds, "mountpoint"))
    assert zfs_get(ds, "mounted") == "yes"
    (host / "from-host").write_text("hello\n")
    os.chmod(host / "from-host", 0o644)
    disk_root = 0 if privileged == "yes" else int(ioc("get", "idmap_shift", uuid).stdout)
    ioc("start", "zj")
    try:
        pid = state(rundir, uuid)["pid"]
        assert mounted_at(pid, "/data"), mountinfo_of(pid)
        if privileged == "no":
            assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
        assert jexec("zj", "cat", "/data/from-host").stdout == "hello\n"
        # the jail's root owns the dataset's top directory and writes to it
        assert jexec("zj", "stat", "-c", "%u:%g", "/data").stdout.strip() == "0:0"
        jexec("zj", "sh", "-c", "[ $(id -u) = 0 ] && echo inside > /data/from-jail"
                                " && mkdir /data/sub && touch /data/sub/f")
        assert (host / "from-jail").read_text() == "inside\n"
        st = os.stat(host)
        assert (st.st_uid, st.st_gid) == (disk_root, disk_root)
        assert os.stat(host / "from-jail").st_uid == disk_root
        assert os.stat(host / "sub" / "f").st_uid == disk_root
        # the mount point made in the jail is the jail root's too
        assert os.stat(jail_root(mountroot, uuid) / "data").st_uid == disk_root
        # only inside the jail: the jail root on the host has an empty mount point
        assert list((jail_root(mountroot, uuid) / "data").iterdir()) == []
    finally:
        ioc("stop", "zj")
    assert (host / "from-jail").read_text() == "inside\n"
    # a second start mounts it again (nothing left of the first one in the way)
    ioc("start", "zj")
    try:
        assert jexec("zj", "cat", "/data/from-jail").stdout == "inside\n"
    finally:
        ioc("stop", "zj")


def test_jail_zfs_set_later_makes_the_dataset(release, mountroot, rundir):
    uuid = create("-c", f"release={release}", "tag=zs", *NONET)
    assert not zfs_exists(f"{JAILS_DS}/{uuid}/data")
    r = ioc("set", "jail_zfs=on", "zs", check=False)
    assert r.returncode == 1 and "jail_zfs_mountpoint" in r.stderr
    assert zfs_get(f"{JAILS_DS}/{uuid}", "iocell:jail_zfs") == "off"
    assert not zfs_exists(f"{JAILS_DS}/{uuid}/data")
    ioc("set", "jail_zfs=on", "jail_zfs_mountpoint=/srv/data", "zs")
    assert zfs_exists(f"{JAILS_DS}/{uuid}/data")
    ioc("start", "zs")
    try:
        pid = state(rundir, uuid)["pid"]
        assert mounted_at(pid, "/srv/data")
    finally:
        ioc("stop", "zs")


def test_jail_zfs_named_dataset_outside_iocell(release, rundir):
    """jail_zfs_dataset= names a dataset of the user's own (relative to the pool): made
    with its parents, mounted in the jail, left alone by destroy."""
    rel = f"udata{os.getpid() % 1000}/web"
    ds = f"{POOL}/{rel}"
    try:
        uuid = create("-c", f"release={release}", "tag=zu", "jail_zfs=on",
                      f"jail_zfs_dataset={rel}", "jail_zfs_mountpoint=/srv/web", *NONET)
        assert zfs_exists(ds) and not zfs_exists(f"{JAILS_DS}/{uuid}/data")
        (Path(zfs_get(ds, "mountpoint")) / "index.html").write_text("hi\n")
        ioc("start", "zu")
        try:
            pid = state(rundir, uuid)["pid"]
            assert mounted_at(pid, "/srv/web")
            assert jexec("zu", "cat", "/srv/web/index.html").stdout == "hi\n"
        finally:
            ioc("stop", "zu")
        ioc("destroy", "-f", "zu", input="Y\n")
        assert zfs_exists(ds)  # the user's, not the jail's
    finally:
        destroy_dataset(f"{POOL}/{rel.split('/')[0]}")


def test_jail_zfs_mountpoint_none_is_refused(release):
    r = ioc("create", "-c", f"release={release}", "tag=zn", "jail_zfs=on", check=False)
    assert r.returncode == 1 and "jail_zfs_mountpoint" in r.stderr
    assert jail_uuids() == []


@pytest.mark.parametrize("mp", ["/", "/proc", "/dev/data", "/sys", "/srv/../data"])
def test_jail_zfs_mountpoint_where_it_cannot_work_is_refused(release, mp):
    uuid = create("-c", f"release={release}", "tag=zw")
    r = ioc("set", "jail_zfs=on", f"jail_zfs_mountpoint={mp}", "zw", check=False)
    assert r.returncode == 1 and f"jail_zfs_mountpoint={mp} cannot be used" in r.stderr, r.stderr
    assert zfs_get(f"{JAILS_DS}/{uuid}", "iocell:jail_zfs") == "off"
    assert zfs_get(f"{JAILS_DS}/{uuid}", "iocell:jail_zfs_mountpoint") == "none"
    assert not zfs_exists(f"{JAILS_DS}/{uuid}/data")


def test_jail_zfs_mountpoint_never_through_a_jail_symlink(release, mountroot, rundir):
    uuid = create("-c", f"release={release}", "tag=zl", *NONET)
    os.symlink("/etc", jail_root(mountroot, uuid) / "data")
    ioc("set", "jail_zfs=on", "jail_zfs_mountpoint=/data", "zl")
    r = ioc("start", "zl", check=False)
    assert r.returncode == 1 and "symlink" in r.stderr, r.stderr
    assert state(rundir, uuid) == {}


def test_jail_zfs_dataset_of_another_jail_is_refused(release):
    other = create("-c", f"release={release}", "tag=zo")
    create("-c", f"release={release}", "tag=zm")
    r = ioc("set", f"jail_zfs_dataset=iocell/jails/{other}/root", "zm", check=False)
    assert r.returncode == 1 and "iocell's own datasets" in r.stderr


def test_allow_mount_zfs_refused_at_start(release, rundir):
    """zfs-fuse cannot delegate a dataset: starting with allow_mount_zfs=1 fails, saying
    why in one line, instead of starting with a setting that does nothing.  On OpenZFS
    (test_zfszone.py delegates) it fails as well without jail_zfs=on: nothing to delegate."""
    uuid = create("-c", f"release={release}", "tag=amz", "allow_mount_zfs=1", *NONET)
    r = ioc("start", "amz", check=False)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.startswith("iocell: ")]
    # zfs-fuse: no zfs zone / zfs jail; OpenZFS: the jail has no jail_zfs dataset
    why = "zfs-fuse cannot delegate" if not os.path.exists("/dev/zfs") else "jail_zfs=off"
    assert any("allow_mount_zfs=1" in l and why in l for l in lines), r.stderr
    assert state(rundir, uuid) == {}


# ---- reset -----------------------------------------------------------------------------

def test_reset_keeps_templates(release, rundir):
    t = create("-c", f"release={release}", "tag=tpl", "notes=keep me", *NONET)
    j = create("-c", f"release={release}", "tag=plain", *NONET)
    ioc("set", "template=yes", "tpl")
    ioc("reset", "tpl")
    assert zfs_get(f"{JAILS_DS}/{t}", "iocell:template") == "yes"
    assert zfs_get(f"{JAILS_DS}/{t}", "iocell:notes") == "none"
    ioc("reset", "ALL")
    assert zfs_get(f"{JAILS_DS}/{t}", "iocell:template") == "yes"
    assert [r.split("\t")[1] for r in ioc("list", "-t", "-H").stdout.splitlines()] == [t]
    # reset took vnet back to on: keep the started jail off the network again
    ioc("set", *NONET, "plain")
    ioc("start", "ALL")
    try:
        assert state(rundir, t) == {}
        assert state(rundir, j).get("phase") == "running"
    finally:
        ioc("stop", "ALL")


# ---- activate: switching pools ------------------------------------------------------------

@pytest.fixture
def pool_b(iocell_env, tmp_path):
    """A second scratch pool (not activated); the scratch pool is active again after."""
    name = f"{POOL}b"
    img = tmp_path / "b.img"
    with open(img, "wb") as f:
        f.truncate(512 << 20)
    cache = ["-o", "cachefile=none"] if os.path.exists("/dev/zfs") else []  # kernel ZFS
    zpool("create", *cache, "-m", str(tmp_path / "bmnt"), name, str(img))
    try:
        yield name
    finally:
        ioc("activate", POOL, check=False)
        for attempt in range(10):
            if run(["zpool", "destroy", "-f", name], check=False).returncode == 0:
                break
            time.sleep(0.3)


def mounted_ds(ds) -> bool:
    return zfs_get(ds, "mounted") == "yes"


def test_activate_switches_pools_on_one_mount_root(release, pool_b, mountroot):
    """iocage's way: the old root leaves the mount root, the new one takes it; activating
    the old pool again brings it (and its jails) back."""
    u = create("-c", f"release={release}", "tag=stays")
    r = ioc("activate", pool_b, f"mountpoint={mountroot}")
    assert ioc("activate").stdout.split() == [pool_b]
    assert zfs_get(f"{pool_b}/iocell", "mountpoint") == str(mountroot) and mounted_ds(f"{pool_b}/iocell")
    assert zfs_get(IOCROOT_DS, "mountpoint") == "none" and not mounted_ds(IOCROOT_DS)
    assert not mounted_ds(f"{JAILS_DS}/{u}/root")
    assert ioc("list", "-H").stdout == ""
    assert pool_b in r.stdout
    ioc("activate", POOL)
    assert ioc("activate").stdout.split() == [POOL]
    assert zfs_get(IOCROOT_DS, "mountpoint") == str(mountroot) and mounted_ds(IOCROOT_DS)
    assert mounted_ds(f"{JAILS_DS}/{u}/root")
    assert zfs_get(IOCROOT_DS, "iocell:mountroot") == "-"
    assert zfs_get(f"{pool_b}/iocell", "mountpoint") == "none"
    assert [l.split("\t")[1] for l in ioc("list", "-H").stdout.splitlines()] == [u]
    assert (jail_root(mountroot, u) / "bin" / "busybox").exists()


def test_activate_refuses_while_jails_of_the_active_pool_run(release, pool_b, mountroot):
    create("-c", f"release={release}", "tag=busyj", *NONET)
    ioc("start", "busyj")
    try:
        r = ioc("activate", pool_b, f"mountpoint={mountroot}", check=False)
        assert r.returncode == 1 and "busyj" in r.stderr and "running" in r.stderr
        assert ioc("activate").stdout.split() == [POOL]
        assert not zfs_exists(f"{pool_b}/iocell")
        assert mounted_ds(IOCROOT_DS) and zfs_get(IOCROOT_DS, "mountpoint") == str(mountroot)
        assert jexec("busyj", "true").returncode == 0
    finally:
        ioc("stop", "busyj")


def test_activate_is_not_blocked_by_jails_of_the_pool_it_activates(release, pool_b, tmp_path,
                                                                  rundir, iocell_env):
    """Only the jails of the pools a switch takes away block it: a jail of the pool being
    activated (here: on its own mount root) goes on running through the switch and back."""
    other_root = tmp_path / "bioc"
    ioc("activate", pool_b, f"mountpoint={other_root}")
    ioc("fetch", f"release={release}", f"ftplocaldir={iocell_env.release_dir}",
        "ftpfiles=rootfs.tar.xz")
    u = create("-c", f"release={release}", "tag=bjail", *NONET)
    ioc("start", "bjail")
    try:
        # the marks put back on the scratch pool by hand (as a switch cut short leaves them):
        # bjail runs, but on the pool being activated
        zfs("inherit", "iocell:active", pool_b)
        zfs("set", "iocell:active=yes", POOL)
        (rundir / "pool").unlink(missing_ok=True)
        r = ioc("activate", pool_b, check=False)
        assert r.returncode == 0, r.stderr
        assert ioc("activate").stdout.split() == [pool_b]
        assert jexec("bjail", "true").returncode == 0
        # and now the scratch pool's activation is refused: bjail is the active pool's
        r = ioc("activate", POOL, check=False)
        assert r.returncode == 1 and "bjail" in r.stderr and "running" in r.stderr
    finally:
        ioc("activate", pool_b, check=False)
        ioc("stop", "-f", "ALL", check=False)
        st = state(rundir, u)
        if st:  # not stopped (the switch refused): the jail this test started goes by force
            os.kill(int(st["pid"]), signal.SIGKILL)
            assert wait_pid_gone(int(st["pid"]), 10)
    assert not st


def test_failed_activate_changes_nothing(release, pool_b, mountroot):
    """Made to fail midway (the new root cannot mount: canmount=off), after the old root
    left the mount root and the new pool's datasets were made: all of it undone."""
    u = create("-c", f"release={release}", "tag=kept")
    zfs("create", "-o", "canmount=off", "-o", f"mountpoint={mountroot}", f"{pool_b}/iocell")
    r = ioc("activate", pool_b, check=False)
    assert r.returncode == 1 and "not mounted" in r.stderr, r.stderr
    assert ioc("activate").stdout.split() == [POOL]
    assert zfs_get(pool_b, "iocell:active") != "yes"
    assert datasets(f"{pool_b}/iocell") == []  # jails, releases... made and removed again
    assert zfs_get(IOCROOT_DS, "mountpoint") == str(mountroot) and mounted_ds(IOCROOT_DS)
    assert zfs_get(IOCROOT_DS, "iocell:mountroot") == "-"
    assert mounted_ds(f"{JAILS_DS}/{u}/root")
    assert (jail_root(mountroot, u) / "bin" / "busybox").exists()
    assert [l.split("\t")[1] for l in ioc("list", "-H").stdout.splitlines()] == [u]


def test_several_pools_with_their_own_mount_roots(release, pool_b, mountroot, tmp_path):
    u = create("-c", f"release={release}", "tag=mine")
    other = tmp_path / "iocell-b"
    ioc("activate", pool_b, f"mountpoint={other}")
    assert mounted_ds(IOCROOT_DS) and zfs_get(IOCROOT_DS, "mountpoint") == str(mountroot)
    assert mounted_ds(f"{pool_b}/iocell") and zfs_get(f"{pool_b}/iocell", "mountpoint") == str(other)
    assert ioc("list", "-H").stdout == ""
    ioc("activate", POOL)
    assert mounted_ds(f"{pool_b}/iocell") and zfs_get(f"{pool_b}/iocell", "mountpoint") == str(other)
    assert [l.split("\t")[1] for l in ioc("list", "-H").stdout.splitlines()] == [u]


# ---- restart ---------------------------------------------------------------------------

def test_restart_is_soft_by_default(release, rundir):
    uuid = create("-c", f"release={release}", "tag=rs", *NONET)
    ioc("start", "rs")
    try:
        pid = state(rundir, uuid)["pid"]
        assert "(soft)" in ioc("restart", "rs").stdout
        assert state(rundir, uuid)["pid"] == pid  # same namespaces, same init
        ioc("restart", "-s", "rs")
        assert state(rundir, uuid)["pid"] == pid
        ioc("restart", "--hard", "rs")
        assert state(rundir, uuid)["pid"] != pid
        assert ioc("restart", "-s", "--hard", "rs", check=False).returncode == 2
        assert "--hard" in ioc("restart", "-h").stdout
    finally:
        ioc("stop", "rs")


def _sigign(pid) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigIgn")


def test_jail_started_from_nohup_or_background_gets_default_signals(release, rundir):
    """rcboot from systemd (IgnoreSIGPIPE), `nohup iocell start`, `iocell start www &` in a
    script: signals ignored there must not reach the jail.  The init forwards SIGHUP,
    SIGINT... only when it receives them, and exec_start's services start from defaults.
    (Found as a flake: the suite under nohup failed test_signals_forwarded_without_exit.)"""
    import signal as sig
    uuid = create("-c", f"release={release}", "tag=sg", "exec_start=sleep 1000 &", *NONET)

    def ignore():
        for s in (sig.SIGHUP, sig.SIGINT, sig.SIGQUIT, sig.SIGUSR1, sig.SIGPIPE):
            sig.signal(s, sig.SIG_IGN)

    r = subprocess.run([iocell_bin(), "start", "sg"], preexec_fn=ignore, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        init = int(state(rundir, uuid)["pid"])
        bits = {s: 1 << (s - 1) for s in (sig.SIGHUP, sig.SIGINT, sig.SIGQUIT, sig.SIGUSR1)}
        assert _sigign(init) & sum(bits.values()) == 0, hex(_sigign(init))
        kids = [int(p) for p in Path(f"/proc/{init}/task/{init}/children").read_text().split()]
        sleeps = [p for p in kids if Path(f"/proc/{p}/comm").read_text().strip() == "sleep"]
        # (sh itself ignores SIGINT and SIGQUIT for a command run with '&')
        others = (1 << (sig.SIGHUP - 1)) | (1 << (sig.SIGUSR1 - 1)) | (1 << (sig.SIGPIPE - 1))
        assert sleeps and all(_sigign(p) & others == 0 for p in sleeps), \
            [hex(_sigign(p)) for p in kids]
    finally:
        ioc("stop", "sg")


def test_exec_from_nohup_or_background_gets_default_signals(release):
    """The same for exec: a command run from a script's background ('&' ignores SIGINT
    and SIGQUIT) or nohup starts with no signal ignored (Ctrl-C on its terminal works)."""
    import signal as sig
    create("-c", f"release={release}", "tag=sx", *NONET)
    ioc("start", "sx")

    def ignore():
        for s in (sig.SIGHUP, sig.SIGINT, sig.SIGQUIT, sig.SIGUSR1):
            sig.signal(s, sig.SIG_IGN)

    try:
        r = subprocess.run([iocell_bin(), "exec", "sx", "grep", "SigIgn", "/proc/self/status"],
                           preexec_fn=ignore, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
        assert r.returncode == 0, r.stderr
        assert int(r.stdout.split()[1], 16) == 0, r.stdout
    finally:
        ioc("stop", "sx")


# ---- basejail: forced upgrade while running ------------------------------------------------

def _kernel_has_move_mount_beneath() -> bool:
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())
    return (major, minor) >= (6, 5)


@pytest.fixture(params=["privileged", "userns", "forced-on-top"])
def swap_how(request, monkeypatch):
    """The jail of a forced-upgrade test and how its directories are swapped while it
    runs: (create arguments, "beneath" | "on-top").  Mounted beneath the old one (which
    is then detached) needs MOVE_MOUNT_BENEATH (Linux 6.5) and a mount that is not locked:
    a privileged jail's.  A jail in a user namespace holds its mounts locked (the kernel
    refuses to mount beneath them), and older kernels (e.g. Debian bookworm's 6.1) cannot:
    stacked on top of the old one.  IOCELL_NO_MOVE_BENEATH makes iocell take that path."""
    if request.param == "privileged":
        return ("privileged=yes",), "beneath" if _kernel_has_move_mount_beneath() else "on-top"
    if request.param == "forced-on-top":
        if not _kernel_has_move_mount_beneath():
            pytest.skip(f"kernel {os.uname().release} stacks anyway (no MOVE_MOUNT_BENEATH): "
                        "the privileged case takes this path")
        monkeypatch.setenv("IOCELL_NO_MOVE_BENEATH", "1")
        return ("privileged=yes",), "on-top"
    return ("privileged=no",), "on-top"


def test_forced_upgrade_of_a_running_basejail(release, mountroot, rundir, tmp_path, swap_how):
    """The iocell manual: `upgrade` re-clones a basejail's filesystems while it runs (no
    downtime): the new release's read-only directories are swapped in under the running
    jail; the next start keeps them and leaves no temporary clone."""
    newrel = f"bbnew{os.getpid() % 1000}"
    d = _release_with(tmp_path, [("usr/share/relmark", "new\n", 0o644)])
    ioc("fetch", f"release={newrel}", f"ftplocaldir={d}")
    try:
        uuid = create("-b", f"release={release}", "tag=bj", *swap_how[0], *NONET)
        jds = f"{JAILS_DS}/{uuid}"
        ioc("start", "bj")
        pid = state(rundir, uuid)["pid"]
        usr_before = mounted_at(pid, "/usr")
        assert jexec("bj", "test", "-e", "/usr/share/relmark", check=False).returncode == 1
        r = ioc("upgrade", "bj", f"release={newrel}")
        assert "running" in r.stdout
        assert state(rundir, uuid)["pid"] == pid  # no downtime
        assert jexec("bj", "cat", "/usr/share/relmark").stdout == "new\n"
        assert jexec("bj", "sh", "-c", "touch /usr/x", check=False).returncode != 0  # read-only
        assert jexec("bj", "/bin/sh", "-c", "echo ok").stdout == "ok\n"
        assert zfs_get(jds, "iocell:release") == newrel
        # the top mount at /usr: in place of the old one when mounted beneath (the old one
        # detached), else stacked on it, the old one underneath until the jail stops
        usr = mounted_at(pid, "/usr")
        assert ".live1-usr" in " ".join(usr[-1])
        if swap_how[1] == "beneath":
            assert len(usr) == len(usr_before), usr
        else:
            assert len(usr) == len(usr_before) + 1 and usr[-2] == usr_before[-1], usr
        ioc("stop", "bj")
        ioc("start", "bj")
        try:
            assert jexec("bj", "cat", "/usr/share/relmark").stdout == "new\n"
            assert [d for d in datasets(jds) if "/.live" in d] == []
            assert zfs_get(f"{jds}/root/usr", "origin").startswith(f"{IOCROOT_DS}/base/{newrel}/usr@")
        finally:
            ioc("stop", "bj")
    finally:
        ioc("stop", "-f", "ALL", check=False)
        for u in jail_uuids():
            destroy_dataset(f"{JAILS_DS}/{u}")
        destroy_dataset(f"{RELEASES_DS}/{newrel}")
        destroy_dataset(f"{IOCROOT_DS}/base/{newrel}")


def test_forced_upgrade_failing_midway_swaps_back(release, rundir, tmp_path, swap_how):
    """Made to fail midway (the new release's usr master has lost its snapshot: bin and
    sbin are swapped first, by name): what was swapped goes back, the new clones go,
    the release stays, the jail runs on from its old directories.  Stacked on top (before
    Linux 6.5), going back takes the new mount off (it failed in the guest's 6.1 when it
    stacked the old one on top again: the new clones stayed held by the jail)."""
    newrel = f"bbmid{os.getpid() % 1000}"
    d = _release_with(tmp_path, [("bin/midmark", "new\n", 0o644)])
    ioc("fetch", f"release={newrel}", f"ftplocaldir={d}")
    try:
        destroy_dataset(f"{IOCROOT_DS}/base/{newrel}/usr@release")
        uuid = create("-b", f"release={release}", "tag=bjm", *swap_how[0], *NONET)
        jds = f"{JAILS_DS}/{uuid}"
        ioc("start", "bjm")
        pid = state(rundir, uuid)["pid"]
        before = {m: mounted_at(pid, m) for m in ("/bin", "/sbin", "/usr")}
        r = ioc("upgrade", "bjm", f"release={newrel}", check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "/bin: now" in r.stdout  # it did get that far
        assert state(rundir, uuid)["pid"] == pid
        assert jexec("bjm", "test", "-e", "/bin/midmark", check=False).returncode == 1, \
            r.stdout + r.stderr
        assert jexec("bjm", "/bin/sh", "-c", "echo ok").stdout == "ok\n"
        for m in ("/bin", "/sbin", "/usr"):
            f = mounted_at(pid, m)
            assert len(f) == len(before[m]) and f"{jds}/root{m}" in " ".join(f[-1]), f
        assert [x for x in datasets(jds) if "/.live" in x] == []
        assert zfs_get(jds, "iocell:release") == release
        assert snapshots(jds) == []
    finally:
        ioc("stop", "-f", "ALL", check=False)
        for u in jail_uuids():
            destroy_dataset(f"{JAILS_DS}/{u}")
        destroy_dataset(f"{RELEASES_DS}/{newrel}")
        destroy_dataset(f"{IOCROOT_DS}/base/{newrel}")


def test_forced_upgrade_to_an_unfetched_release_changes_nothing(release, rundir):
    uuid = create("-b", f"release={release}", "tag=bj2", *NONET)
    ioc("start", "bj2")
    try:
        r = ioc("upgrade", "bj2", "release=nosuchrel", check=False)
        assert r.returncode == 1 and "not fetched" in r.stderr
        assert snapshots(f"{JAILS_DS}/{uuid}") == []
        assert zfs_get(f"{JAILS_DS}/{uuid}", "iocell:release") == release
        assert [d for d in datasets(f"{JAILS_DS}/{uuid}") if "/.live" in d] == []
    finally:
        ioc("stop", "bj2")


def _without_syscall(nr: int):
    """A preexec_fn: a seccomp filter that makes system call nr fail with ENOSYS (x86_64),
    as on a kernel that does not have it."""
    import ctypes
    import struct

    def apply():
        ld, jeq, ret = 0x20, 0x15, 0x06
        allow, enosys = 0x7FFF0000, 0x00050000 | 38
        prog = [(ld, 0, 0, 4), (jeq, 0, 3, 0xC000003E),  # arch x86_64, else allow
                (ld, 0, 0, 0), (jeq, 0, 1, nr), (ret, 0, 0, enosys), (ret, 0, 0, allow)]
        buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in prog))

        class Fprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        libc = ctypes.CDLL(None, use_errno=True)
        fp = Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
        if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fp), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "seccomp")
    return apply


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the filter is written for x86_64")
@pytest.mark.parametrize("call,nr", [("mount_setattr", 442), ("open_tree", 428)])
def test_forced_upgrade_refused_where_the_kernel_cannot(pm_releases, release, rundir, call, nr):
    """A kernel without open_tree/move_mount/mount_setattr (before 5.12) cannot swap a
    running jail's mounts: upgrade refuses before it changes anything, says why and how."""
    uuid = create("-b", f"release={release}", "tag=bjk", *NONET)
    jds = f"{JAILS_DS}/{uuid}"
    ioc("start", "bjk")
    try:
        pid = state(rundir, uuid)["pid"]
        r = subprocess.run([iocell_bin(), "upgrade", "bjk", f"release={pm_releases['apk']}"],
                           preexec_fn=_without_syscall(nr), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        assert r.returncode == 1, r.stdout + r.stderr
        lines = [l for l in r.stderr.splitlines() if l.startswith("iocell: ")]
        assert len(lines) == 1 and call in lines[0] and "iocell stop bjk" in lines[0], r.stderr
        assert snapshots(jds) == []
        assert zfs_get(jds, "iocell:release") == release
        assert [d for d in datasets(jds) if "/.live" in d] == []
        assert state(rundir, uuid)["pid"] == pid
        assert jexec("bjk", "/bin/sh", "-c", "echo ok").stdout == "ok\n"
    finally:
        ioc("stop", "bjk")


# ---- fetch -----------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield root, srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def relname():
    name = f"fm{os.getpid() % 10000}"
    yield name
    destroy_dataset(f"{RELEASES_DS}/{name}")
    destroy_dataset(f"{IOCROOT_DS}/base/{name}")


def _bb_tarball(tmp_path) -> Path:
    d = tmp_path / "bb"
    run(["bash", str(REPO / "scripts" / "mkbusybox-release.sh"), str(d)], timeout=120)
    return d / "rootfs.tar.xz"


def test_fetch_ftphost_without_scheme_and_ftpdir(http_dir, relname, tmp_path, mountroot):
    """The manual's `fetch ftphost=ftp.hostname.org` (no scheme: http:// assumed) and
    `fetch ftpdir=/dir/` (the directory of the base files: rootfs.tar.xz)."""
    www, port = http_dir
    (www / "dir").mkdir()
    (www / "dir" / "rootfs.tar.xz").write_bytes(_bb_tarball(tmp_path).read_bytes())
    ioc("fetch", f"release={relname}", f"ftphost=127.0.0.1:{port}", "ftpdir=/dir/")
    assert zfs_get(f"{RELEASES_DS}/{relname}", "iocell:source") == \
        f"http://127.0.0.1:{port}/dir/rootfs.tar.xz"
    assert (mountroot / "releases" / relname / "root" / "bin" / "busybox").is_file()


@pytest.mark.skipif(os.environ.get("IOCELL_TEST_ISOLATED") != "1",
                    reason="binds a fake /etc/apt: only in the isolated test namespace")
def test_fetch_ftpdir_alone_is_a_directory_on_the_default_mirror_host(http_dir, relname, tmp_path):
    """ftpdir= without ftphost=: a directory on the host of the mirror apt uses (iocage's
    default FTP host), here a fake /etc/apt naming a local server.  (The test session's
    own mount namespace: zfs-fuse mounts in the daemon's namespace, a nested one would
    not see the release's datasets.)"""
    www, port = http_dir
    (www / "pub").mkdir()
    (www / "pub" / "rootfs.tar.xz").write_bytes(_bb_tarball(tmp_path).read_bytes())
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(f"deb http://127.0.0.1:{port}/debian bookworm main\n")
    run(["mount", "--bind", str(apt), "/etc/apt"])
    try:
        ioc("fetch", f"release={relname}", "ftpdir=/pub/")
    finally:
        run(["umount", "/etc/apt"])
    assert zfs_get(f"{RELEASES_DS}/{relname}", "iocell:source") == \
        f"http://127.0.0.1:{port}/pub/rootfs.tar.xz"


def test_fetch_of_a_tarball_asks_for_a_release_name(tmp_path):
    tb = _bb_tarball(tmp_path)
    before = ioc("list", "-r", "-H").stdout
    r = ioc("fetch", f"ftplocaldir={tb.parent}", check=False)
    assert r.returncode == 2 and "release=NAME" in r.stderr
    assert ioc("list", "-r", "-H").stdout == before


# ---- snapshots and create messages --------------------------------------------------------

def test_update_backout_snapshot_never_clashes(pm_releases, jails_ds):
    """Two back-out snapshots in the same second: the second waits for a free name, as
    `snapshot` does, instead of failing on "dataset already exists"."""
    uuid = create("-c", f"release={pm_releases['apk']}", "tag=upd")
    ds = f"{jails_ds}/{uuid}"
    now = time.time()
    taken = [time.strftime("ioc-update_%Y-%m-%d_%H:%M:%S", time.localtime(now + k)) for k in (0, 1)]
    for name in taken:
        zfs("snapshot", "-r", f"{ds}@{name}")
    r = ioc("update", "upd")
    made = [s.split("@")[1] for s in snapshots(ds) if s.split("@")[1] not in taken]
    assert len(made) == 1 and made[0].startswith("ioc-update_") and made[0] in r.stdout


def test_upgrade_backout_snapshot_never_clashes(pm_releases, jails_ds):
    """The same for upgrade's ioc-upgrade_ snapshot (a stopped basejail moved to another
    fetched release)."""
    uuid = create("-b", f"release={pm_releases['apk']}", "tag=upg")
    ds = f"{jails_ds}/{uuid}"
    now = time.time()
    taken = [time.strftime("ioc-upgrade_%Y-%m-%d_%H:%M:%S", time.localtime(now + k)) for k in (0, 1)]
    for name in taken:
        zfs("snapshot", "-r", f"{ds}@{name}")
    r = ioc("upgrade", "upg", f"release={pm_releases['apt']}")
    made = [s.split("@")[1] for s in snapshots(ds) if s.split("@")[1] not in taken]
    assert len(made) == 1 and made[0].startswith("ioc-upgrade_") and made[0] in r.stdout
    assert zfs_get(ds, "iocell:release") == pm_releases["apt"]


def test_thick_create_of_an_unfetched_release_says_so(release):
    for flags in ((), ("-c",)):
        r = ioc("create", *flags, "release=notfetched", "tag=tk", check=False)
        assert r.returncode == 1
        assert "release notfetched is not fetched" in r.stderr, r.stderr
        assert "iocell fetch release=notfetched" in r.stderr
        assert jail_uuids() == []


def test_shared_ip_address_on_a_vnet_jail_says_vnet_off(release):
    """The iocell manual's first example under the default vnet=on."""
    r = ioc("create", "-c", "tag=myjail", f"release={release}", "ip4_addr=em0|192.0.2.10/24",
            check=False)
    assert r.returncode == 1
    assert "vnet=off" in r.stderr and 'ip4_addr="vnet0|192.0.2.10/24"' in r.stderr, r.stderr
    assert jail_uuids() == []
    u = create("-c", "tag=myjail", f"release={release}", "vnet=off", "ip4_addr=em0|192.0.2.10/24")
    assert zfs_get(f"{JAILS_DS}/{u}", "iocell:ip4_addr") == "em0|192.0.2.10/24"


# ---- stop order, destroy's runtime files, compression -------------------------------------

def test_stop_all_and_rcshutdown_in_reverse_priority(release, tmp_path):
    log = tmp_path / "order"
    hook = f"sh -c 'echo $IOCELL_TAG >> {log}'"
    for tag, prio in (("p50", 50), ("p10", 10), ("p90", 90), ("p50b", 50)):
        create("-c", f"release={release}", f"tag={tag}", f"priority={prio}", "boot=on",
               f"exec_poststop={hook}", *NONET)
    for cmd in (("stop", "ALL"), ("rcshutdown",)):
        ioc("start", "ALL")
        log.write_text("")
        ioc(*cmd)
        order = log.read_text().split()
        if cmd == ("stop", "ALL"):  # one by one: ties by tag, reversed
            assert order == ["p90", "p50b", "p50", "p10"], cmd
        else:  # rcshutdown stops the jails of one priority in parallel (-j N)
            assert order[0] == "p90" and sorted(order[1:3]) == ["p50", "p50b"] and \
                order[3] == "p10", (cmd, order)


def test_destroy_removes_the_runtime_files(release, rundir):
    uuid = create("-c", f"release={release}", "tag=rf", *NONET)
    ioc("start", "rf")
    ioc("stop", "rf")
    assert any(p.name.startswith(uuid) for p in rundir.iterdir())
    ioc("destroy", "rf", input="Y\n")
    assert [p.name for p in rundir.iterdir() if p.name.startswith(uuid)] == []


def test_destroy_f_of_a_running_jail_removes_the_runtime_files(release, rundir):
    uuid = create("-c", f"release={release}", "tag=rg", *NONET)
    ioc("start", "rg")
    pid = int(state(rundir, uuid)["pid"])
    ioc("destroy", "-f", "rg", input="Y\n")
    assert not pid_alive(pid)  # (a zombie until the host's init reaps it)
    assert [p.name for p in rundir.iterdir() if p.name.startswith(uuid)] == []
    assert jail_uuids() == []


def _pool_has_lz4() -> bool:
    r = run(["zpool", "get", "-H", "-o", "value", "feature@lz4_compress", POOL], check=False)
    return r.returncode == 0 and r.stdout.strip() in ("enabled", "active")


def test_compression_the_pool_cannot_do_is_refused_at_set(release, saved_defaults):
    u = create("-c", f"release={release}", "tag=cz")
    if _pool_has_lz4():  # OpenZFS: the feature is there, lz4 is accepted
        ioc("set", "compression=lz4", "cz")
        assert zfs_get(f"{JAILS_DS}/{u}", "compression") == "lz4"
        r = ioc("set", "compression=zstd-fast-1000", "cz", check=False)
        assert r.returncode == 1 and zfs_get(f"{JAILS_DS}/{u}", "compression") == "lz4"
        return
    r = ioc("set", "compression=lz4", "cz", check=False)
    assert r.returncode == 1
    assert "lz4" in r.stderr and "gzip-9" in r.stderr and "zle" in r.stderr, r.stderr
    assert "accepts: on off" in r.stderr
    assert zfs_get(f"{JAILS_DS}/{u}", "compression") == "on"
    ioc("set", "compression=gzip-3", "cz")
    assert zfs_get(f"{JAILS_DS}/{u}", "compression") == "gzip-3"
    assert ioc("set", "compression=lz4", "default", check=False).returncode == 1
    r = ioc("create", "-c", f"release={release}", "compression=zstd", check=False)
    assert r.returncode == 1 and "accepts" in r.stderr
    assert jail_uuids() == [u]


# ---- the manual and -h ---------------------------------------------------------------------

def test_manual_has_examples_for_the_manuals_workflows():
    man = (REPO / "man" / "iocell.8.in").read_text()
    assert ".SH EXAMPLES" in man
    ex = man.split(".SH EXAMPLES", 1)[1].split("\n.SH ", 1)[0]
    for needle in ("iocell fetch", "pkglist=", "jail_zfs=on", "restart", "activate",
                   "upgrade", "clone", "template=yes", "record start", "import", "set vnet=off",
                   "cap", "inuse", "snapshot", "rollback", "promote", "chroot", "debootstrap",
                   "-j"):
        assert needle in ex, needle


# ---- test hygiene ----------------------------------------------------------------------

def test_every_zfs_cleanup_in_the_tests_goes_through_destroy_dataset():
    """zfs-fuse answers "dataset is busy" for a while after a jail stops: every clean-up
    in the tests uses helpers.destroy_dataset, which waits that out."""
    bad = []
    pat = re.compile(r"""["']zfs["']\s*,\s*["']destroy["']|zfs\(\s*["']destroy["']""")
    for path in sorted((REPO / "tests").rglob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pat.search(line) and path.name != "helpers.py":  # destroy_dataset itself
                bad.append(f"{path.relative_to(REPO)}:{i}: {line.strip()}")
    assert bad == [], "\n".join(bad)
