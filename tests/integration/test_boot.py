"""rcboot and rcshutdown (issue 17): priority levels started in parallel (-j N), depends
ordering across priorities (cycles and unknown names refused at set), readiness (ready_cmd,
ready_port, ready_timeout), failures that stop only their dependants, the summary and exit
status, and shutdown in reverse dependency order.

Concurrency is shown without timing: host hooks (exec_prestart / exec_prestop) of two jails
each wait for the other's marker file, which only works when both run at once."""

from __future__ import annotations

import time
from pathlib import Path

from helpers import JAILS_DS, ioc, jexec, make_jail, state, zfs_get

WAIT_FOR = "touch {d}/{me}; i=0; while [ ! -e {d}/{other} ]; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done"


def boot_jail(release, tag, *props):
    given = dict(a.split("=", 1) for a in props)
    base = {"tag": tag, "boot": "on", "vnet": "off", "ip4_addr": "none", "exec_start": "none"}
    base.update(given)
    return make_jail(release, *[f"{k}={v}" for k, v in base.items()])


def root_of(mountroot: Path, uuid: str) -> Path:
    return mountroot / "jails" / uuid / "root"


def test_same_priority_starts_in_parallel(release, rundir, tmp_path):
    d = tmp_path
    a = boot_jail(release, "pa", "priority=10", f"exec_prestart={WAIT_FOR.format(d=d, me='a', other='b')}")
    b = boot_jail(release, "pb", "priority=10", f"exec_prestart={WAIT_FOR.format(d=d, me='b', other='a')}")
    c = boot_jail(release, "pc", "priority=20")
    r = ioc("rcboot", "-j", "2")
    assert state(rundir, a) and state(rundir, b) and state(rundir, c)
    assert "rcboot: 3 started, 0 failed, 0 skipped" in r.stdout
    # the next level only after the first: pc's line comes last
    assert r.stdout.index("(pc) started") > max(r.stdout.index("(pa) started"), r.stdout.index("(pb) started"))
    ioc("rcshutdown")
    assert not state(rundir, a) and not state(rundir, c)
    # one at a time, the two hooks cannot both see the other's marker: one fails
    for f in d.iterdir():
        f.unlink()
    r = ioc("rcboot", "-j", "1", check=False)
    assert r.returncode == 1 and "failed" in r.stdout
    ioc("stop", "-f", "ALL")


def test_depends_orders_across_priorities_and_waits_for_readiness(release, rundir, mountroot):
    db = boot_jail(release, "db", "priority=50", "exec_start=sh -c '(sleep 1; touch /ready) &'",
                   "ready_cmd=test -e /ready", "ready_timeout=20")
    ready_file = root_of(mountroot, db) / "ready"
    # app starts only when db's /ready exists: its host hook checks it
    app = boot_jail(release, "app", "priority=10", "depends=db", f"exec_prestart=test -e {ready_file}")
    r = ioc("rcboot")
    assert state(rundir, db) and state(rundir, app), r.stdout + r.stderr
    out = r.stdout
    assert out.index("(db) ready after") < out.index("(app) started")
    assert "rcboot: 2 started" in out


def test_ready_port_and_not_ready_timeout(release, rundir):
    web = boot_jail(release, "web", "priority=10", "ready_port=8080", "ready_timeout=30",
                    "exec_start=sh -c '(sleep 1; mkdir -p /www; httpd -p 8080 -h /www) &'")
    slow = boot_jail(release, "slow", "priority=10", "ready_port=81", "ready_timeout=1")
    after = boot_jail(release, "after", "priority=20", "depends=slow")
    other = boot_jail(release, "other", "priority=20")
    r = ioc("rcboot", check=False)
    assert r.returncode == 1
    assert "(web) ready after" in r.stdout
    assert "failed   slow: started, but not ready within 1 s (no TCP port 81 accepting)" in r.stdout
    assert "skipped  after: it depends on slow, which failed" in r.stdout
    assert "rcboot: 2 started, 1 failed, 1 skipped" in r.stdout
    assert "slow (failed)" in r.stderr and "after (skipped)" in r.stderr
    assert state(rundir, web) and state(rundir, other) and not state(rundir, after)
    assert state(rundir, slow)  # started, only not ready: left running, reported
    # web's port accepts inside the jail
    assert jexec("web", "sh", "-c", "nc 127.0.0.1 8080 </dev/null").returncode == 0


def test_a_failure_skips_only_its_dependants(release, rundir):
    bad = boot_jail(release, "bad", "priority=5", "exec_start=exit 3")
    dep = boot_jail(release, "dep", "priority=6", "depends=bad")
    dep2 = boot_jail(release, "dep2", "priority=7", "depends=dep")
    ok = boot_jail(release, "ok", "priority=5")
    late = boot_jail(release, "late", "priority=90")
    off = make_jail(release, "tag=off", "vnet=off", "ip4_addr=none")
    r = ioc("rcboot", check=False)
    assert r.returncode == 1
    assert "rcboot: 2 started, 1 failed, 2 skipped" in r.stdout
    assert "skipped  dep: it depends on bad, which failed" in r.stdout
    assert "skipped  dep2: it depends on dep, which was skipped" in r.stdout
    assert "exec_start 'exit 3' failed" in r.stderr
    assert state(rundir, ok) and state(rundir, late)
    assert not state(rundir, bad) and not state(rundir, dep) and not state(rundir, dep2)
    assert not state(rundir, off)
    # a second rcboot: the running ones are left as they are (started again: none)
    ioc("set", "exec_start=none", "bad")
    r = ioc("rcboot")
    assert "rcboot: 5 started, 0 failed, 0 skipped" in r.stdout
    assert state(rundir, dep2)


def test_depends_pulls_in_a_jail_without_boot(release, rundir):
    base = make_jail(release, "tag=base", "vnet=off", "ip4_addr=none", "exec_start=none")
    top = boot_jail(release, "top", "depends=base")
    ioc("rcboot")
    assert state(rundir, base) and state(rundir, top)


def test_depends_checked_at_set(release):
    boot_jail(release, "s1")
    boot_jail(release, "s2", "depends=s1")
    boot_jail(release, "s3", "depends=s2")
    cases = {
        "depends=s3": "dependency cycle: s1 -> s3 -> s2 -> s1",
        "depends=s1": "dependency cycle: s1 -> s1",
        "depends=nosuch": "'nosuch', which is not a jail",
        "depends=s2,s2": "listed twice",
        "depends=a b": "not a jail name",
    }
    for assignment, why in cases.items():
        r = ioc("set", assignment, "s1", check=False)
        assert r.returncode == 1 and why in r.stderr, (assignment, r.stderr)
    assert ioc("get", "depends", "s1").stdout.strip() == "none"
    ioc("set", "depends=none", "s3")
    ioc("set", "depends=s3", "s1")  # no cycle any more
    assert ioc("get", "depends", "s1").stdout.strip() == "s3"
    r = ioc("set", "depends=s1", "default", check=False)
    assert r.returncode == 1 and "per jail" in r.stderr
    for bad in ("ready_port=0", "ready_port=70000", "ready_timeout=0", "ready_port=http"):
        assert ioc("set", bad, "s1", check=False).returncode == 1


def test_rcshutdown_reverse_dependency_order_and_parallel(release, rundir, tmp_path):
    log = tmp_path / "order"
    d = tmp_path / "m"
    d.mkdir()
    db = boot_jail(release, "sdb", "priority=10", f"exec_poststop=echo sdb >> {log}")
    app = boot_jail(release, "sapp", "priority=10", "depends=sdb", f"exec_poststop=echo sapp >> {log}")
    # two independent jails of one priority stop together: each prestop waits for the other
    x = boot_jail(release, "sx", "priority=30", f"exec_prestop={WAIT_FOR.format(d=d, me='x', other='y')}")
    y = boot_jail(release, "sy", "priority=30", f"exec_prestop={WAIT_FOR.format(d=d, me='y', other='x')}")
    # started and stopped before: its last start is in the runtime dir, kept too
    off = boot_jail(release, "soff", "boot=off")
    ioc("start", "soff")
    ioc("stop", "soff")
    ioc("rcboot")
    started = {u: (rundir / f"{u}.started").read_text().strip() for u in (db, app, x, y, off)}
    r = ioc("rcshutdown", "-j", "4")
    assert log.read_text().split() == ["sapp", "sdb"]
    assert "rcshutdown: 4 stopped, 0 failed, 0 skipped" in r.stdout
    for u in (db, app, x, y):
        assert not state(rundir, u)
    # its workers (forked, ending with _exit) leave no in-flight lock file behind
    assert sorted(p.name for p in (rundir / "inflight").glob("*.lock")) == []
    # every last start is in its property, none left in the runtime dir
    for u, t in started.items():
        assert zfs_get(f"{JAILS_DS}/{u}", "iocell:last_started") == t
        assert not (rundir / f"{u}.started").exists()


def test_rcboot_usage():
    r = ioc("rcboot", "-j", "0", check=False)
    assert r.returncode == 2 and "-j takes a number" in r.stderr
    r = ioc("rcboot", "extra", check=False)
    assert r.returncode == 2
    assert "-j N" in ioc("rcboot", "-h").stdout
    assert "-j N" in ioc("rcshutdown", "-h").stdout


def test_systemd_unit(tmp_path, iocell):
    """contrib/iocell.service: rcboot/rcshutdown, waits for ZFS by either daemon's unit,
    leaves the jails' inits alone, and systemd-analyze finds nothing to complain about."""
    from helpers import REPO, run
    text = (REPO / "contrib" / "iocell.service").read_text()
    keys = [l.split("=", 1) for l in text.splitlines() if "=" in l and not l.startswith("#")]
    conf = {}
    for k, v in keys:
        conf.setdefault(k, []).append(v)
    assert conf["ExecStart"] == ["-@SBINDIR@/iocell rcboot"]
    assert conf["ExecStop"] == ["@SBINDIR@/iocell rcshutdown"]
    assert conf["KillMode"] == ["process"] and conf["Type"] == ["oneshot"]
    assert conf["RemainAfterExit"] == ["yes"]
    wants = " ".join(conf["Wants"])
    after = " ".join(conf["After"])
    for unit in ("zfs-mount.service", "zfs-fuse.service"):
        assert unit in wants and unit in after
    assert "Requires" not in conf  # a missing ZFS unit must not fail this one
    unit = tmp_path / "iocell.service"
    unit.write_text(text.replace("@SBINDIR@/iocell", iocell))
    import shutil
    if shutil.which("systemd-analyze"):
        r = run(["systemd-analyze", "verify", "--man=no", str(unit)], check=False, timeout=60)
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_jid_of_a_start_in_progress_is_not_reclaimed(release, rundir):
    """A start takes its JID (a symlink in the runtime dir) before it writes its state; a
    parallel start (rcboot) must not reclaim that number as a crashed start's leftover
    while the first start holds its jail's lock.  Played here with a lock held by the test
    on a JID whose jail has no state."""
    import fcntl
    import os
    busy = "00000000-0000-4000-8000-0000000000b1"
    jids = rundir / "jids"
    jids.mkdir(exist_ok=True)
    free_jid = 1
    while (jids / str(free_jid)).exists() or (jids / str(free_jid)).is_symlink():
        free_jid += 1
    link = jids / str(free_jid)
    os.symlink(busy, link)
    fd = os.open(rundir / f"{busy}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        u = boot_jail(release, "jr")
        ioc("start", "jr")
        assert state(rundir, u)["jid"] != str(free_jid)
        assert os.readlink(link) == busy
        ioc("stop", "jr")
        # the lock released (the start crashed): the number is reclaimed
        fcntl.flock(fd, fcntl.LOCK_UN)
        ioc("start", "jr")
        assert state(rundir, u)["jid"] == str(free_jid)
        ioc("stop", "jr")
    finally:
        os.close(fd)
        if link.is_symlink() and os.readlink(link) == busy:
            link.unlink()
        (rundir / f"{busy}.lock").unlink(missing_ok=True)


def test_parallel_vnet_starts(release, rundir):
    """Eight VNET jails on one bridge started at once: distinct JIDs and host interfaces."""
    import json
    import os
    from helpers import run
    br = f"iocbb{os.getpid() % 10000}"[:15]
    us = [boot_jail(release, f"pv{i}", "priority=10", "vnet=on", f"interfaces=vnet0:{br}",
                    "createbridge=on", f"ip4_addr=vnet0|198.51.100.{60 + i}/24") for i in range(8)]
    try:
        r = ioc("rcboot", "-j", "8")
        assert "rcboot: 8 started, 0 failed, 0 skipped" in r.stdout, r.stdout + r.stderr
        sts = [state(rundir, u) for u in us]
        assert len({s["jid"] for s in sts}) == 8
        ports = [l["ifname"] for l in json.loads(run(["ip", "-j", "link", "show", "master", br]).stdout)]
        assert len(ports) == 8
        for i in range(8):
            out = jexec(f"pv{i}", "ip", "-o", "addr", "show", "dev", "vnet0").stdout
            assert f"198.51.100.{60 + i}/24" in out
        ioc("rcshutdown", "-j", "8")
        assert not any(state(rundir, u) for u in us)
    finally:
        ioc("stop", "-f", "ALL", check=False)
        run(["ip", "link", "del", br], check=False)
