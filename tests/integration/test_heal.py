"""Crash safety (issue 15): what an interrupted operation leaves is never seen as a jail,
the next command heals it (one line on stderr), `iocell doctor` finds and repairs the
rest; and the hot paths make no more zfs calls for it.

The leftovers are made by hand here, as a killed iocell leaves them: a mark
iocell:txn="OP STAMP ARGS" on a dataset, a staging dataset jails/.stage-STAMP-UUID, a
jail whose init died.  A stamp is BOOT-PID-START (core/txn.h); a dead one names a process
that has exited, a live one this test process.  (tests/fault kills the real binary.)"""

import os
import signal
import subprocess
import time
import uuid as uuidlib
from pathlib import Path

from helpers import (RELEASES_DS, datasets, destroy_dataset, ioc, jail_list, parse_uuid, pid_alive, zfs,
                     zfs_exists, zfs_get)

NONET = ("vnet=off", "ip4=disable")


def boot8() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text()[:8]


def starttime(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def dead_stamp() -> str:
    p = subprocess.Popen(["true"])
    st = starttime(p.pid) if Path(f"/proc/{p.pid}").exists() else 1
    p.wait()
    return f"{boot8()}-{p.pid}-{st}"


def live_stamp() -> str:
    return f"{boot8()}-{os.getpid()}-{starttime(os.getpid())}"


def make(release, tag, *extra):
    return parse_uuid(ioc("create", "-c", f"release={release}", f"tag={tag}", *NONET, *extra).stdout)


def listed():
    return {r["uuid"] for r in jail_list()}


def test_a_dead_create_is_removed_by_list(release, jails_ds):
    u = make(release, "hc1")
    zfs("set", f"iocell:txn=create {dead_stamp()}", f"{jails_ds}/{u}")
    p = ioc("list", "-H")
    assert u not in p.stdout
    assert f"removed the half-made jail {u}" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not zfs_exists(f"{jails_ds}/{u}")
    # the tag is free again
    make(release, "hc1")


def test_a_live_create_is_hidden_and_left_alone(release, jails_ds):
    u = make(release, "hc2")
    ds = f"{jails_ds}/{u}"
    zfs("set", f"iocell:txn=create {live_stamp()}", ds)
    p = ioc("list", "-H")
    assert u not in p.stdout and p.stderr == ""
    for args in (("get", "tag", u), ("get", "tag", "hc2"), ("start", "hc2")):
        q = ioc(*args, check=False)
        assert q.returncode == 1 and "no jail" in q.stderr, (args, q.stderr)
    assert zfs_exists(ds)
    zfs("inherit", "iocell:txn", ds)  # what the commit does
    assert u in listed()
    assert ioc("get", "tag", u).stdout.strip() == "hc2"


def test_a_dead_destroy_is_finished(release, jails_ds, rundir, mountroot):
    u = make(release, "hd1")
    ioc("snapshot", "hd1@s1")
    (rundir / f"{u}.conf").write_text("x\n")
    zfs("set", f"iocell:txn=destroy {dead_stamp()}", f"{jails_ds}/{u}")
    p = ioc("list", "-H")
    assert u not in p.stdout
    assert f"finished destroying jail {u}" in p.stderr
    assert datasets(f"{jails_ds}/{u}", include_self=True, types="filesystem,snapshot") == []
    assert not (rundir / f"{u}.conf").exists()


def test_a_dead_rollback_is_finished_on_load(release, jails_ds, mountroot):
    u = make(release, "hr1")
    ds = f"{jails_ds}/{u}"
    mark = mountroot / "jails" / u / "root" / "mark"
    mark.write_text("1")
    ioc("snapshot", "hr1@s1")
    mark.write_text("2")
    ioc("snapshot", "hr1@s2")
    mark.write_text("3")
    # killed after the root was rolled back, before the jail dataset
    zfs("set", f"iocell:txn=rollback {dead_stamp()} s1", ds)
    zfs("rollback", "-r", f"{ds}/root@s1")
    p = ioc("get", "tag", "hr1")  # loading the jail heals it
    assert p.stdout.strip() == "hr1"
    assert "finished the interrupted rollback" in p.stderr
    assert mark.read_text() == "1"
    assert not zfs_exists(f"{ds}@s2") and not zfs_exists(f"{ds}/root@s2")
    assert zfs_get(ds, "iocell:txn") == "-"


def test_a_dead_export_leaves_nothing(release, jails_ds, mountroot):
    u = make(release, "he1")
    ds = f"{jails_ds}/{u}"
    zfs("set", f"iocell:txn=export {dead_stamp()} ioc-export_x", ds)
    zfs("snapshot", "-r", f"{ds}@ioc-export_x")
    (mountroot / "images").mkdir(exist_ok=True)
    partial = mountroot / "images" / f".{u}.zfs.partial"
    partial.write_text("half")
    p = ioc("list", "-H")
    assert u in p.stdout and "interrupted export" in p.stderr
    assert not zfs_exists(f"{ds}@ioc-export_x") and not zfs_exists(f"{ds}/root@ioc-export_x")
    assert not partial.exists()
    assert zfs_get(ds, "iocell:txn") == "-"


def test_a_staging_dataset_is_removed(jails_ds):
    u = str(uuidlib.uuid4())
    stage = f"{jails_ds}/.stage-{dead_stamp()}-{u}"
    zfs("create", "-o", f"iocell:host_hostuuid={u}", "-o", "iocell:tag=hs1", stage)
    live = f"{jails_ds}/.stage-{live_stamp()}-{u}"
    zfs("create", live)
    p = ioc("list", "-H")
    assert "hs1" not in p.stdout
    assert f"removed the half-imported jail {u}" in p.stderr
    assert not zfs_exists(stage)
    assert zfs_exists(live)  # its owner is alive
    destroy_dataset(live)


def test_a_dead_first_fetch_is_removed(release):
    rel = "hf1"
    ds = f"{RELEASES_DS}/{rel}"
    zfs("create", "-o", f"iocell:txn=fetch {dead_stamp()}", "-o", "iocell:source=x", ds)
    zfs("create", f"{ds}/root")
    p = ioc("list", "-H")
    assert f"removed the half-fetched release {rel}" in p.stderr
    assert not zfs_exists(ds)
    assert rel not in ioc("list", "-r", "-H").stdout


def kill_init(rundir, u):
    st = dict(l.split("=", 1) for l in (rundir / f"{u}.state").read_text().splitlines() if "=" in l)
    pid = int(st["pid"])
    os.kill(pid, signal.SIGKILL)
    for _ in range(300):
        if not pid_alive(pid):
            return pid
        time.sleep(0.01)
    raise AssertionError(f"init {pid} did not die")


def cgroup_dirs(u):
    return [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/iocell/{u}")] + \
        [str(p) for p in Path("/sys/fs/cgroup").glob(f"iocell/{u}")]


def test_list_cleans_up_after_a_crashed_jail(release, rundir):
    u = make(release, "hk1", "rlimits=on", "maxproc=100:deny")
    ioc("start", "hk1")
    assert cgroup_dirs(u)
    kill_init(rundir, u)
    p = ioc("list", "-H")
    row = [r.split("\t") for r in p.stdout.splitlines() if u in r][0]
    assert row[3] == "down"
    assert f"cleaned up after jail {u} (hk1)" in p.stderr
    assert not (rundir / f"{u}.state").exists()
    assert cgroup_dirs(u) == []
    assert ioc("list", "-H").stderr == ""  # once
    ioc("start", "hk1")
    ioc("stop", "hk1")


def link_exists(name):
    # (not /sys/class/net: sysfs shows the network namespace of whoever mounted it)
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def test_doctor(release, jails_ds, rundir, mountroot):
    u = make(release, "hx1")
    ds = f"{jails_ds}/{u}"
    gone = str(uuidlib.uuid4())
    # leftovers: a stray export snapshot, a staging dataset, the cache and console log of
    # a jail that is gone, a crashed jail whose state file was lost (its cgroup stays)
    zfs("snapshot", "-r", f"{ds}@ioc-export_2020-01-01_00:00:00")
    (rundir / f"{gone}.conf").write_text("x\n")
    (mountroot / "log").mkdir(exist_ok=True)
    log = mountroot / "log" / f"{gone}-console.log"
    log.write_text("x\n")
    k = make(release, "hx2", "rlimits=on", "maxproc=100:deny")
    ioc("start", "hx2")
    kill_init(rundir, k)
    (rundir / f"{k}.state").unlink()
    # (made after the creates: their listing of every jail's id range heals it)
    stage = f"{jails_ds}/.stage-{dead_stamp()}-{gone}"
    zfs("create", stage)
    assert cgroup_dirs(k)
    # network: the host end of a jail's veth pair that outlived it, a bridge iocell made
    # with no port left (only in the suite's own network namespace)
    links = []
    if os.environ.get("IOCELL_TEST_NETNS"):
        subprocess.run(["ip", "link", "add", "vhx1a", "type", "veth", "peer", "name", "vhx1b"], check=True)
        subprocess.run(["ip", "link", "set", "vhx1a", "alias", f"iocell:{u}"], check=True)
        subprocess.run(["ip", "link", "add", "brhx", "type", "bridge"], check=True)
        subprocess.run(["ip", "link", "set", "brhx", "alias", "iocell:bridge"], check=True)
        links = ["vhx1a", "vhx1b", "brhx"]

    p = ioc("doctor", "-n", check=False)
    assert p.returncode == 1, p.stderr
    out = p.stdout
    for what in (f"{ds}@ioc-export_2020-01-01_00:00:00", stage, f"{gone}.conf",
                 f"{gone}-console.log", f"cgroup: iocell/{k}"):
        assert what in out, (what, out)
    if links:
        assert f"interface: vhx1a (veth of jail {u}, which does not run)" in out, out
        assert "interface: bridge brhx (made by iocell, no port left)" in out, out
        assert all(link_exists(n) for n in links)  # -n changes nothing
    assert zfs_exists(stage) and log.exists()  # -n changes nothing
    # without a capital Y nothing is done
    p = ioc("doctor", input="y\n", check=False)
    assert p.returncode == 1 and "nothing was changed" in p.stderr
    assert "Repair ? Y[n]:" in p.stdout
    assert zfs_exists(stage)

    p = ioc("doctor", "-f")
    assert "repaired" in p.stdout
    assert not zfs_exists(stage)
    assert not zfs_exists(f"{ds}@ioc-export_2020-01-01_00:00:00")
    assert not (rundir / f"{gone}.conf").exists() and not log.exists()
    assert cgroup_dirs(k) == []
    assert not [n for n in links if link_exists(n)]
    assert {u, k} <= listed()  # the jails themselves stay
    p = ioc("doctor", "-n")
    assert "nothing left over" in p.stdout
    ioc("start", "hx2")
    ioc("stop", "hx2")


def test_doctor_help_and_usage():
    p = ioc("doctor", "-h")
    assert p.stdout.startswith("usage: iocell doctor")
    p = ioc("doctor", "-f", "-n", check=False)
    assert p.returncode == 2
    p = ioc("doctor", "extra", check=False)
    assert p.returncode == 2


def zfs_calls(*args):
    p = ioc("--debug", *args)
    return [l for l in p.stderr.splitlines() if l.startswith("+ zfs ")]


def test_the_hot_paths_make_no_extra_zfs_call(release):
    make(release, "hz0")  # the defaults are read (and cached) once
    calls = zfs_calls("create", "-c", f"release={release}", "tag=hz1", *NONET)
    # create (marked), clone, the commit (the id ranges come from RUNDIR/idbases)
    assert [c.split()[2] for c in calls] == ["create", "clone", "inherit"], calls
    calls = zfs_calls("list", "-H")
    assert len(calls) == 1 and calls[0].startswith("+ zfs list "), calls
    ioc("start", "hz1")
    assert zfs_calls("exec", "hz1", "/bin/true") == []
    assert zfs_calls("stop", "hz1") == []


# ---- start without a zfs call (issue 16) ---------------------------------------------------


def start_calls(name):
    """The zfs calls of one start; the jail stopped again."""
    calls = zfs_calls("start", name)
    ioc("stop", name)
    return calls


def test_start_needs_no_zfs_call_while_the_pool_has_committed_nothing(release):
    """A start reads the pool's change token before its `zfs get` and keeps it with the
    configuration; the next start finds the same token (nothing committed to the pool
    since: the uberblock rings of zfs-fuse's vdevs, OpenZFS's open txg) and makes no zfs
    call.  A sync of the pool (a jail's writes are one) only sends it back to the get."""
    make(release, "tk1", "exec_start=none")
    # OpenZFS syncs dirty data (the console log a start writes) every zfs_txg_timeout
    # seconds (5), which a start and stop under emulation can take: longer for this test
    timeout = Path("/sys/module/zfs/parameters/zfs_txg_timeout")
    old = timeout.read_text() if timeout.exists() else None
    if old is not None:
        timeout.write_text("60\n")
    try:
        ioc("start", "tk1")  # the first: the get, the token recorded
        ioc("stop", "tk1")
        seen = []
        for _ in range(10):  # (a sync of the pool may fall between any two)
            seen.append(start_calls("tk1"))
            assert len(seen[-1]) <= 1 and all(" get " in c for c in seen[-1]), seen
            if not seen[-1]:
                break
        assert [] in seen, seen
    finally:
        if old is not None:
            timeout.write_text(old)


def test_a_property_set_behind_iocell_s_back_is_honoured_at_the_next_start(release, jails_ds):
    u = make(release, "tk2", "exec_start=none")
    for _ in range(2):
        ioc("start", "tk2")
        ioc("stop", "tk2")
    # plain zfs, not iocell: iocell's caches know nothing of it
    zfs("set", "iocell:host_hostname=behindback", f"{jails_ds}/{u}")
    r = ioc("--debug", "start", "tk2")
    try:
        assert [c.split()[2] for c in r.stderr.splitlines() if c.startswith("+ zfs ")] == ["get"]
        assert ioc("exec", "tk2", "hostname").stdout.strip() == "behindback"
    finally:
        ioc("stop", "tk2")
    # and once more with the token taken after it: still the new value, without a call
    # when nothing was committed since
    ioc("start", "tk2")
    try:
        assert ioc("exec", "tk2", "hostname").stdout.strip() == "behindback"
    finally:
        ioc("stop", "tk2")


def test_an_unmount_behind_iocell_s_back_is_seen_at_the_next_start(release, jails_ds):
    """Mounting commits nothing to the pool (the token stays): start checks the mount."""
    u = make(release, "tk3", "exec_start=none")
    for _ in range(2):
        ioc("start", "tk3")
        ioc("stop", "tk3")
    zfs("unmount", f"{jails_ds}/{u}/root")
    zfs("unmount", f"{jails_ds}/{u}")
    try:
        r = ioc("start", "tk3", check=False)
        assert r.returncode == 1 and "not mounted" in r.stderr, r.stderr
    finally:
        zfs("mount", f"{jails_ds}/{u}")
        zfs("mount", f"{jails_ds}/{u}/root")
