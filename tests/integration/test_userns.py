"""Jails in user namespaces (issue 14): id ranges, ownership on disk, privileged=yes.

Every jail owns 65536 host ids from its idmap_base; its user namespace maps its uids and
gids 0-65535 there.  Where the file system has no idmapped mounts (zfs-fuse, this
harness), its files are shifted on disk into that range (idmap_shift records where);
where it has them, the root is mounted idmapped (tested here on a tmpfs laid over a jail's
root; OpenZFS >= 2.2 is the guest tier's).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from helpers import (JAILS_DS, datasets, ioc, iocell_bin, jexec, make_jail, run, state, zfs,
                     zfs_get)

NONET = ("vnet=off", "ip4=disable", "ip6=disable")
COUNT = 65536
#: Kernel OpenZFS (the guest tier: >= 2.2 takes idmapped mounts): a jail's files keep its
#: own ids on disk (idmap_shift 0) and its root is mounted idmapped.  zfs-fuse (the host
#: tier) takes none: the files are shifted on disk into the jail's range.
IDMAPPED = Path("/dev/zfs").exists()
#: for the tests of the on-disk shift itself
shift_only = pytest.mark.skipif(IDMAPPED, reason="the on-disk shift is for file systems "
                                "without idmapped mounts (zfs-fuse); kernel ZFS keeps jail ids")


def root_of(mountroot: Path, uuid: str) -> Path:
    return mountroot / "jails" / uuid / "root"


def prop(uuid: str, name: str) -> str:
    return zfs_get(f"{JAILS_DS}/{uuid}", f"iocell:{name}")


def base_of(uuid: str) -> int:
    return int(prop(uuid, "idmap_base"))


def shift_of(uuid: str) -> int:
    return int(prop(uuid, "idmap_shift"))


def disk_of(uuid: str) -> int:
    """Where the jail's ids are on disk: its range (shifted) or 0 (idmapped), checked
    against what the pool's file system takes."""
    d = shift_of(uuid)
    assert d == (0 if IDMAPPED else base_of(uuid)), (d, IDMAPPED)
    return d


def init_pid(rundir: Path, uuid: str) -> int:
    return int(state(rundir, uuid)["pid"])


def owners(root: Path) -> set[int]:
    """Every uid and gid in the tree (no symlink followed, no other mount entered)."""
    dev = os.lstat(root).st_dev
    ids = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            ids |= {st.st_uid, st.st_gid}
        dirnames[:] = [d for d in dirnames if os.lstat(os.path.join(dirpath, d)).st_dev == dev]
    return ids


# ---- the range -------------------------------------------------------------------------


def test_ranges_are_disjoint_read_only_and_shown(release, mountroot):
    out = ioc("create", "-c", f"release={release}", "count=3", "tag=rng", *NONET).stdout
    uuids = [l.split()[0] for l in out.splitlines() if l.strip()]
    assert len(uuids) == 3
    bases = sorted(base_of(u) for u in uuids)
    assert bases[0] >= 1_000_000
    assert all(b - a >= COUNT for a, b in zip(bases, bases[1:])), bases
    assert all((b - 1_000_000) % COUNT == 0 for b in bases)
    u = uuids[0]
    # shown by get, get all, list -j; read-only
    assert ioc("get", "idmap_base", u).stdout.strip() == str(base_of(u))
    allp = ioc("get", "all", u).stdout
    assert f"idmap_base" in allp and "privileged" in allp and "idmap_shift" in allp
    js = {j["uuid"]: j for j in json.loads(ioc("list", "-j").stdout)}
    # (issue 12: JSON numbers are numbers)
    assert js[u]["idmap_base"] == base_of(u) and js[u]["privileged"] == "no"
    assert len(ioc("list", "-H").stdout.splitlines()[0].split("\t")) == 8  # SPEC's columns
    r = ioc("set", "idmap_base=5000000", u, check=False)
    assert r.returncode != 0 and "read-only" in r.stderr
    assert ioc("create", "-c", f"release={release}", "idmap_shift=0", check=False).returncode != 0
    # files shifted on disk (zfs-fuse takes no idmapped mounts): no id of the release left
    # (kernel ZFS: the jail's own ids)
    root = root_of(mountroot, u)
    d = disk_of(u)
    assert os.lstat(root).st_uid == d
    ids = owners(root)
    assert ids and all(d <= i < d + COUNT for i in ids), sorted(ids)[:5]


def test_inside_the_namespace(release, mountroot, rundir):
    u = make_jail(release, "tag=inside", *NONET)
    b = base_of(u)
    d = disk_of(u)
    ioc("start", u)
    try:
        init = init_pid(rundir, u)
        assert os.readlink(f"/proc/{init}/ns/user") != os.readlink("/proc/self/ns/user")
        assert Path(f"/proc/{init}/uid_map").read_text().split() == ["0", str(b), str(COUNT)]
        # the jail's view
        assert jexec(u, "cat", "/proc/self/uid_map").stdout.split() == ["0", str(b), str(COUNT)]
        assert jexec(u, "cat", "/proc/self/gid_map").stdout.split() == ["0", str(b), str(COUNT)]
        assert jexec(u, "id", "-u").stdout.strip() == "0"
        rt = ioc("runtime", u).stdout
        assert f"UID MAP:  0 {b} {COUNT}\n" in rt
        assert [l for l in rt.splitlines() if l.strip().startswith("user ")][0].count("shared") == 0
        assert jexec(u, "stat", "-c", "%u:%g", "/etc", "/dev/null", "/dev").stdout.split() == \
            ["0:0", "0:0", "0:0"]
        # its processes are host ids of its range; what it creates is owned by them on disk
        jexec(u, "sh", "-c", "echo x > /made-inside")
        st = os.lstat(root_of(mountroot, u) / "made-inside")
        assert (st.st_uid, st.st_gid) == (d, d)
        status = Path(f"/proc/{init}/status").read_text()
        assert f"Uid:\t{b}\t{b}\t{b}\t{b}" in status
        # exec -u maps through it
        assert jexec(u, "id", "-u", user="nobody").stdout.strip() == "65534"
        jexec(u, "touch", "/tmp/by-nobody", user="nobody")
        st = os.lstat(root_of(mountroot, u) / "tmp/by-nobody")
        assert (st.st_uid, st.st_gid) == (d + 65534, d + 65534)
    finally:
        ioc("stop", u)


def _race_creates(*argvs):
    """Run the iocell commands at one moment (each waits on one pipe): [(rc, out, err)]."""
    r, w = os.pipe()
    procs = []
    try:
        for a in argvs:
            procs.append(subprocess.Popen(["bash", "-c", f'read -r _ <&{r}; exec "$0" "$@"',
                                           iocell_bin(), *a], pass_fds=(r,), text=True,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE))
        os.write(w, b"go\n" * len(argvs))
    finally:
        os.close(r)
        os.close(w)
    outs = [p.communicate(timeout=300) for p in procs]
    return [(p.returncode, *o) for p, o in zip(procs, outs)]


def test_concurrent_creates_never_share_a_range(release):
    """Ranges come from RUNDIR/idbases (no zfs call, issue 16): two creates at one moment,
    thin and thick, several jails each, still get ranges of their own."""
    for rnd in range(2):
        res = _race_creates(["create", "-c", f"release={release}", "count=2", f"tag=cr{rnd}a",
                             *NONET],
                            ["create", "-c", f"release={release}", "count=2", f"tag=cr{rnd}b",
                             *NONET],
                            ["create", f"release={release}", f"tag=cr{rnd}t", *NONET])
        assert all(x[0] == 0 for x in res), res
    uuids = [l.split()[0] for x in res for l in x[1].splitlines() if l.strip()]
    rows = [l.split("\t") for l in ioc("list", "-H").stdout.splitlines()]
    bases = [base_of(r[1]) for r in rows if r[4].startswith("cr")]
    assert len(bases) == 10 and len(uuids) == 5
    assert len(set(bases)) == len(bases), sorted(bases)


def test_range_given_outside_iocell_is_avoided_once_listed(release, rundir):
    """A range set with plain `zfs set` (not by iocell) is not in RUNDIR/idbases until the
    next list sees it; from then on no new jail gets it."""
    a = make_jail(release, "tag=outa", *NONET)
    known = {int(x) for x in (rundir / "idbases").read_text().split()}
    assert base_of(a) in known
    free = next(b for b in range(1_000_000, 1_000_000 + 10_000 * COUNT, COUNT) if b not in known)
    zfs("set", f"iocell:idmap_base={free}", f"{JAILS_DS}/{a}")
    ioc("list")
    assert free in {int(x) for x in (rundir / "idbases").read_text().split()}
    b = make_jail(release, "tag=outb", *NONET)
    assert base_of(b) not in (free, base_of(a))


def test_activate_reads_the_ranges_of_every_pool(release, rundir, pool, mountroot):
    """activate makes RUNDIR/idbases from every pool (one zfs list), so that create -c
    needs no query of its own; without the file the next create makes it."""
    a = make_jail(release, "tag=acta", *NONET)
    (rundir / "idbases").unlink()
    r = ioc("--debug", "create", "-c", f"release={release}", "tag=actb", *NONET)
    calls = [l.split()[2] for l in r.stderr.splitlines() if l.startswith("+ zfs")]
    assert calls == ["list", "create", "clone", "inherit"], calls
    known = {int(x) for x in (rundir / "idbases").read_text().split()}
    b = [l.split()[0] for l in r.stdout.splitlines() if l.strip()][0]
    assert {base_of(a), base_of(b)} <= known
    (rundir / "idbases").unlink()
    ioc("activate", pool, f"mountpoint={mountroot}")
    assert base_of(a) in {int(x) for x in (rundir / "idbases").read_text().split()}


@shift_only
def test_range_survives_restart_and_collision_is_refused(release, mountroot, rundir):
    a = make_jail(release, "tag=col-a", *NONET)
    b = make_jail(release, "tag=col-b", *NONET)
    ba = base_of(a)
    ioc("start", a)
    ioc("stop", a)
    ioc("start", a)
    assert base_of(a) == ba
    assert Path(f"/proc/{init_pid(rundir, a)}/uid_map").read_text().split()[1] == str(ba)
    # b made a copy of a outside iocell (same range, its files there)
    rb = root_of(mountroot, b)
    bb = base_of(b)
    for dirpath, dirnames, filenames in os.walk(rb):
        # (every directory once, as dirpath; symlinks to directories are in dirnames)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in [dirpath] + [os.path.join(dirpath, n) for n in filenames + links]:
            st = os.lstat(name)
            os.lchown(name, st.st_uid - bb + ba, st.st_gid - bb + ba)
    zfs("set", f"iocell:idmap_base={ba}", f"{JAILS_DS}/{b}")
    zfs("set", f"iocell:idmap_shift={ba}", f"{JAILS_DS}/{b}")
    try:
        r = ioc("start", b, check=False)
        assert r.returncode != 0 and "in use by the running jail" in r.stderr and a in r.stderr
        assert not state(rundir, b)
        ioc("stop", a)
        ioc("start", b)  # free again
        ioc("stop", b)
    finally:
        ioc("stop", a, check=False)


def test_one_jail_s_root_is_nobody_to_another_s_files(release, mountroot, tmp_path):
    """Two jails' roots are different host users: a file of one, bound into the other by
    the host (fstab), is closed to the other's root (its CAP_DAC_OVERRIDE counts only for
    ids of its own range)."""
    a = make_jail(release, "tag=sep-a", *NONET)
    b = make_jail(release, "tag=sep-b", *NONET)
    share = tmp_path / "share"
    share.mkdir()
    share.chmod(0o755)
    secret = share / "of-b"
    secret.write_text("b's\n")
    secret.chmod(0o600)
    os.chown(secret, base_of(b), base_of(b))
    (mountroot / "jails" / a / "fstab").write_text(f"{share} /mnt bind ro\n")
    ioc("start", a)
    try:
        r = jexec(a, "cat", "/mnt/of-b", check=False)
        assert r.returncode != 0 and "b's" not in r.stdout and "denied" in r.stderr
        os.chown(secret, base_of(a), base_of(a))  # now its own root's
        assert jexec(a, "cat", "/mnt/of-b").stdout == "b's\n"
    finally:
        ioc("stop", a)


# ---- network ---------------------------------------------------------------------------


def test_root_binds_port_80_and_sets_its_own_address(release):
    u = make_jail(release, "tag=net80", *NONET)
    ioc("start", u)
    try:
        jexec(u, "ip", "addr", "add", "192.0.2.77/32", "dev", "lo")
        assert "192.0.2.77" in jexec(u, "ip", "addr", "show", "dev", "lo").stdout
        jexec(u, "sh", "-c", "mkdir -p /tmp/www && httpd -p 80 -h /tmp/www")
        out = jexec(u, "netstat", "-ltn").stdout
        assert ":80 " in out, out
    finally:
        ioc("stop", u)
    # the host's lo is untouched
    assert "192.0.2.77" not in run(["ip", "addr", "show", "dev", "lo"]).stdout


# ---- clone, import, export ------------------------------------------------------------


@shift_only
def test_clone_reshifts_into_its_own_range(release, mountroot):
    src = make_jail(release, "tag=csrc", *NONET)
    bs = base_of(src)
    f = root_of(mountroot, src) / "etc" / "owned33"
    f.write_text("x")
    os.chown(f, bs + 33, bs + 33)
    ioc("snapshot", "csrc@one")
    ioc("set", "privileged=no", "csrc")  # already shifted: nothing moves a second time
    assert os.lstat(f).st_uid == bs + 33 and shift_of(src) == bs
    out = ioc("clone", "csrc@one", "tag=cdst", *NONET).stdout
    dst = out.split()[0]
    bd = base_of(dst)
    assert bd != bs and shift_of(dst) == bd
    st = os.lstat(root_of(mountroot, dst) / "etc" / "owned33")
    assert (st.st_uid, st.st_gid) == (bd + 33, bd + 33)
    assert os.lstat(root_of(mountroot, dst)).st_uid == bd
    assert all(bd <= i < bd + COUNT for i in owners(root_of(mountroot, dst)))
    # the source is untouched
    assert os.lstat(f).st_uid == bs + 33
    ioc("start", dst)
    try:
        assert jexec(dst, "stat", "-c", "%u:%g", "/etc/owned33").stdout.strip() == "33:33"
    finally:
        ioc("stop", dst)
    # a clone of the (shifted) clone: moved once more, from the clone's range to its own,
    # never shifted on top of it (bd + bd2 + 33)
    ioc("snapshot", "cdst@two")
    dst2 = ioc("clone", "cdst@two", "tag=cdst2", *NONET).stdout.split()[0]
    b2 = base_of(dst2)
    assert len({bs, bd, b2}) == 3 and shift_of(dst2) == b2
    st = os.lstat(root_of(mountroot, dst2) / "etc" / "owned33")
    assert (st.st_uid, st.st_gid) == (b2 + 33, b2 + 33)
    assert all(b2 <= i < b2 + COUNT for i in owners(root_of(mountroot, dst2)))
    assert os.lstat(root_of(mountroot, dst) / "etc" / "owned33").st_uid == bd + 33


@shift_only
def test_export_import_reshifts_and_rollback_follows(release, mountroot):
    u = make_jail(release, "tag=expi", *NONET)
    b = base_of(u)
    ioc("snapshot", "expi@old")
    ioc("export", "expi")
    n = ioc("import", u).stdout.split()[0]
    bn = base_of(n)
    assert bn != b and shift_of(n) == bn
    assert all(bn <= i < bn + COUNT for i in owners(root_of(mountroot, n)))
    # its own snapshot still has the exported range: a rollback brings the files home
    tag = prop(n, "tag")
    ioc("rollback", "-y", f"{tag}@old")
    assert all(bn <= i < bn + COUNT for i in owners(root_of(mountroot, n)))
    ioc("start", n)
    ioc("stop", n)


@shift_only
def test_rollback_outside_iocell_is_caught_at_start(release, mountroot):
    u = make_jail(release, "tag=rbo", *NONET)
    ioc("snapshot", "rbo@old")
    ioc("set", "privileged=yes", "rbo")  # files back to the jail's own ids
    assert shift_of(u) == 0 and os.lstat(root_of(mountroot, u)).st_uid == 0
    ioc("set", "privileged=no", "rbo")
    assert shift_of(u) == base_of(u)
    ioc("snapshot", "rbo@new")
    ioc("set", "privileged=yes", "rbo")
    # rolled back by hand (zfs): files of the range, configuration privileged
    zfs("rollback", "-r", f"{JAILS_DS}/{u}/root@new")
    r = ioc("start", "rbo", check=False)
    assert r.returncode != 0 and "privileged=yes" in r.stderr, r.stderr
    ioc("set", "privileged=yes", "rbo")
    assert os.lstat(root_of(mountroot, u) / "etc").st_uid == 0
    ioc("start", "rbo")
    ioc("stop", "rbo")


# ---- privileged=yes: the documented exception -----------------------------------------


def test_privileged_opt_in_and_back(release, mountroot, rundir):
    u = make_jail(release, "tag=priv", "privileged=yes", *NONET)
    root = root_of(mountroot, u)
    b = base_of(u)  # allocated all the same, for the day it is unprivileged
    assert prop(u, "privileged") == "yes" and shift_of(u) == 0
    assert os.lstat(root / "etc").st_uid == 0
    js = {j["uuid"]: j for j in json.loads(ioc("list", "-j").stdout)}
    assert js[u]["privileged"] == "yes"
    assert ioc("get", "privileged", u).stdout.strip() == "yes"
    # the table for people marks it; -H keeps SPEC's TYPE for scripts
    row = [l for l in ioc("list").stdout.splitlines() if u in l]
    assert row and "jail,privileged" in row[0], row
    hrow = [l.split("\t") for l in ioc("list", "-H").stdout.splitlines() if u in l][0]
    assert hrow[5] in ("jail", "clonejail"), hrow
    other = make_jail(release, "tag=unpriv", *NONET)
    assert "privileged" not in [l for l in ioc("list").stdout.splitlines() if other in l][0]
    ioc("start", u)
    try:
        init = init_pid(rundir, u)
        assert os.readlink(f"/proc/{init}/ns/user") == os.readlink("/proc/self/ns/user")
        assert "(no user namespace: privileged)" in ioc("runtime", u).stdout
        r = ioc("set", "privileged=no", u, check=False)
        assert r.returncode != 0 and "running" in r.stderr
    finally:
        ioc("stop", u)
    # a setuid file of the jail keeps its bit through both shifts (kernel ZFS: no shift,
    # the root is mounted idmapped)
    suid = root / "usr" / "bin" / "iocell-suid"
    shutil.copy(root / "bin" / "busybox", suid)
    os.chmod(suid, 0o4755)
    ioc("set", "privileged=no", u)
    d = disk_of(u)
    st = os.lstat(suid)
    assert st.st_uid == d and stat.S_IMODE(st.st_mode) == 0o4755
    assert os.lstat(root / "etc").st_uid == d
    ioc("start", u)
    try:
        assert Path(f"/proc/{init_pid(rundir, u)}/uid_map").read_text().split()[1] == str(b)
    finally:
        ioc("stop", u)
    ioc("set", "privileged=yes", u)
    st = os.lstat(suid)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o4755
    # reset brings the default (no) back, and the files with it
    ioc("reset", u, input="Y\n")
    assert prop(u, "privileged") == "no" and disk_of(u) == (0 if IDMAPPED else b)


@shift_only
def test_jail_without_range_is_told_how_to_get_one(release, mountroot):
    u = make_jail(release, "tag=legacy", *NONET)
    root = root_of(mountroot, u)
    # as a jail made before user namespaces: no range, its files the release's ids
    ioc("set", "privileged=yes", u)
    zfs("inherit", "iocell:idmap_base", f"{JAILS_DS}/{u}")
    zfs("inherit", "iocell:privileged", f"{JAILS_DS}/{u}")
    r = ioc("start", u, check=False)
    assert r.returncode != 0 and "privileged=no" in r.stderr and "no id range" in r.stderr
    ioc("set", "privileged=no", u)
    nb = base_of(u)
    assert nb >= 1_000_000 and shift_of(u) == nb and os.lstat(root / "etc").st_uid == nb
    ioc("start", u)
    ioc("stop", u)


# ---- chroot, idmapped root ------------------------------------------------------------


def test_chroot_sees_the_jail_s_ids(release, mountroot):
    u = make_jail(release, "tag=chr", *NONET)
    b = base_of(u)
    d = disk_of(u)
    out = ioc("chroot", u, "sh", "-c", "cat /proc/self/uid_map; id -u; stat -c %u /etc; "
                                       "touch /by-chroot").stdout.split()
    assert out == ["0", str(b), str(COUNT), "0", "0"]
    assert os.lstat(root_of(mountroot, u) / "by-chroot").st_uid == d


def test_idmapped_root_keeps_jail_ids_on_disk(release, mountroot, rundir):
    """A file system with idmapped mounts: the files keep ids 0-65535 on disk and the jail
    sees them as its own.  Kernel ZFS (the guest tier) is one: the jail's own root.  On
    zfs-fuse, a tmpfs laid over the jail's root plays it (tmpfs takes idmapped mounts from
    Linux 6.3; the guest's 6.1 would refuse it, and needs no stand-in)."""
    u = make_jail(release, "tag=idm", *NONET)
    b = base_of(u)
    root = root_of(mountroot, u)
    relroot = mountroot / "releases" / release / "root"
    if not IDMAPPED:
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "iocell-idm", str(root)])
    try:
        if not IDMAPPED:
            run(["cp", "-a", f"{relroot}/.", f"{root}/"])
            os.chown(root, 0, 0)
            # the configuration of a jail made on such a file system
            zfs("set", "iocell:idmap_shift=0", f"{JAILS_DS}/{u}")
        assert shift_of(u) == 0
        ioc("start", u)
        try:
            init = init_pid(rundir, u)
            assert Path(f"/proc/{init}/uid_map").read_text().split()[1] == str(b)
            assert jexec(u, "stat", "-c", "%u:%g", "/etc", "/bin/busybox").stdout.split() == \
                ["0:0", "0:0"]
            jexec(u, "sh", "-c", "echo y > /made-idmapped && mkdir /home/w && "
                                 "chown 33:33 /home/w")
            assert jexec(u, "stat", "-c", "%u", "/home/w").stdout.strip() == "33"
            mi = [l for l in Path(f"/proc/{init}/mountinfo").read_text().splitlines()
                  if l.split()[4] == "/"]
            assert mi and "idmapped" in mi[0], mi
        finally:
            ioc("stop", u)
        # on disk: the jail's own ids
        st = os.lstat(root / "made-idmapped")
        assert (st.st_uid, st.st_gid) == (0, 0)
        assert os.lstat(root / "home/w").st_uid == 33
        assert os.lstat(root / "etc").st_uid == 0
    finally:
        if not IDMAPPED:
            run(["umount", "-l", str(root)], check=False)


# ---- the cost of the shift on a Debian release (slow: IOCELL_SLOW=1) ------------------


@pytest.mark.slow
def test_shift_cost_on_debian(debian_release, mountroot, jails_ds):
    """Thick create and create -c of bookworm with the shift (default) and without it
    (privileged=yes: the files keep the release's ids); printed for the report
    (pytest -s), and the shifted jail checked: every id in its range, set-id bits kept."""
    relroot = mountroot / "releases" / debian_release / "root"
    nfiles = sum(1 + len(f) for _, _, f in os.walk(relroot))
    times = {}
    made = {}
    for flag, kind in (("-c", "clone"), ("-t", "thick")):
        for priv in ("no", "yes"):
            args = ["create"] + ([flag] if flag == "-c" else []) + \
                [f"release={debian_release}", f"tag=cost-{kind}-{priv}", f"privileged={priv}",
                 *NONET]
            t0 = time.monotonic()
            out = ioc(*args, timeout=1800).stdout
            times[(kind, priv)] = time.monotonic() - t0
            made[(kind, priv)] = out.split()[0]
    print(f"\nshift cost on {debian_release} ({nfiles} inodes), load {os.getloadavg()[0]:.2f}:")
    for (kind, priv), t in times.items():
        print(f"  create {'-c' if kind == 'clone' else '(thick)'} "
              f"{'privileged=yes (no shift)' if priv == 'yes' else 'shifted'}: {t:.2f} s")
    for kind in ("clone", "thick"):
        u = made[(kind, "no")]
        b = base_of(u)
        root = root_of(mountroot, u)
        ids = owners(root)
        assert all(b <= i < b + COUNT for i in ids), sorted(i for i in ids if not b <= i < b + COUNT)[:5]
        passwd = root / "usr" / "bin" / "passwd"
        rp = relroot / "usr" / "bin" / "passwd"
        assert stat.S_IMODE(os.lstat(passwd).st_mode) == stat.S_IMODE(os.lstat(rp).st_mode)
        assert os.lstat(rp).st_mode & stat.S_ISUID
        assert os.lstat(passwd).st_uid == b
    u = made[("clone", "no")]
    ioc("start", u)
    try:
        assert jexec(u, "stat", "-c", "%u:%g %a", "/usr/bin/passwd", "/etc/shadow").stdout.split() \
            == ["0:0", "4755", "0:42", "640"]
        assert jexec(u, "id", "-u").stdout.strip() == "0"
    finally:
        ioc("stop", u)
