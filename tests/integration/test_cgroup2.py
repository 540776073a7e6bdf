"""cgroup v2 done as systemd expects (issue 13): on a systemd host with the unified
hierarchy every jail is a transient scope unit iocell-UUID.scope in machine.slice with
Delegate=yes, its processes in the scope's leaf cgroup "jail" (the scope's own cgroup keeps
none: the no-internal-process rule), the controllers enabled down to it; it works when
iocell runs from a login shell, from a oneshot unit as iocell.service at boot, and from a
timer's unit, and nothing is left after stop.  The limits `cap` sets hold in the files of
that cgroup and bite.

The systemd tests run where systemd is PID 1 on cgroup v2 (the guest tier); elsewhere they
are skipped with that reason.  The limit tests need cgroup v2 only."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from helpers import (
    CGROOT,
    CGROUP_V2,
    SYSTEMD,
    TIME_SCALE,
    cgroup_dir,
    cgroup_leftovers,
    ioc,
    iocell_bin,
    jail_init_pid,
    jexec,
    make_jail,
    pid_alive,
    run,
    state,
)

NONET = ("vnet=off", "ip4=disable", "ip6=disable")

needs_v2 = pytest.mark.skipif(not CGROUP_V2, reason="needs a pure cgroup v2 host (the guest tier)")
needs_systemd = pytest.mark.skipif(
    not (CGROUP_V2 and SYSTEMD),
    reason="needs systemd as PID 1 on a pure cgroup v2 tree (the guest tier)")


def systemctl_show(unit: str, *props: str) -> dict[str, str]:
    out = run(["systemctl", "show", unit, *[f"--property={p}" for p in props]]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def proc_cgroup(pid: int) -> str:
    """The cgroup v2 path of a process ("/machine.slice/...")."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise AssertionError(f"process {pid} has no cgroup v2 line")


def assert_in_own_scope(uuid: str) -> Path:
    """The jail's init is in the leaf of its own delegated scope in machine.slice; the
    scope's cgroup. """
    init = jail_init_pid(uuid)
    assert init and pid_alive(init)
    unit = f"iocell-{uuid}.scope"
    path = proc_cgroup(init)
    assert path == f"/machine.slice/{unit}/jail", path
    show = systemctl_show(unit, "ActiveState", "Delegate", "Slice", "ControlGroup")
    assert show == {"ActiveState": "active", "Delegate": "yes", "Slice": "machine.slice",
                    "ControlGroup": f"/machine.slice/{unit}"}, show
    scope = CGROOT / "machine.slice" / unit
    # no process in the scope's own cgroup: the jail's are in its leaf
    assert (scope / "cgroup.procs").read_text() == ""
    assert str(init) in (scope / "jail" / "cgroup.procs").read_text().split()
    # the controllers the limits need, enabled down to the jail's cgroup
    on = set((scope / "cgroup.subtree_control").read_text().split())
    assert {"cpu", "cpuset", "io", "memory", "pids"} <= on, on
    assert {"cpu", "cpuset", "io", "memory", "pids"} <= \
        set((scope / "jail" / "cgroup.controllers").read_text().split())
    return scope


def assert_nothing_left(uuid: str, scope: Path):
    assert not scope.exists()
    assert cgroup_leftovers(uuid) == []
    listed = run(["systemctl", "list-units", "--plain", "--no-legend", "iocell-*"]).stdout
    assert f"iocell-{uuid}.scope" not in listed, listed


@needs_systemd
def test_jail_is_a_delegated_scope_unit(release, rundir):
    uuid = make_jail(release, "tag=sc", *NONET)
    ioc("start", "sc")
    try:
        scope = assert_in_own_scope(uuid)
        st = state(rundir, uuid)
        assert st["cgpath"] == f"/machine.slice/iocell-{uuid}.scope/jail"
        assert st["cgunit"] == f"iocell-{uuid}.scope"
        # exec joins the jail's cgroup (the leaf), not the scope's
        out = jexec("sc", "cat", "/proc/self/cgroup").stdout
        assert out.strip() == "0::/", out  # the jail's cgroup namespace starts there
        assert f"{scope}/jail" in ioc("runtime", "sc").stdout
    finally:
        ioc("stop", "sc")
    assert_nothing_left(uuid, scope)


@needs_systemd
def test_stop_removes_scope_after_the_init_died(release, rundir):
    """A jail whose processes are gone (killed from outside) leaves an empty scope that
    systemd removes; stop then cleans the rest and finds no unit."""
    uuid = make_jail(release, "tag=gone", *NONET)
    ioc("start", "gone")
    scope = assert_in_own_scope(uuid)
    run(["kill", "-9", str(jail_init_pid(uuid))])
    ioc("stop", "gone")
    assert_nothing_left(uuid, scope)


@needs_systemd
def test_failed_start_leaves_no_scope(release, rundir):
    uuid = make_jail(release, "tag=fs", *NONET, "exec_start=exit 3")
    r = ioc("start", "fs", check=False)
    assert r.returncode == 1 and "exit 3" in r.stderr
    assert state(rundir, uuid) == {}
    assert_nothing_left(uuid, CGROOT / "machine.slice" / f"iocell-{uuid}.scope")


def _env_args() -> list[str]:
    """What a unit needs to reach this session's pool state (systemd starts units with
    a clean environment)."""
    return [f"--setenv=IOCELL_RUNDIR={os.environ['IOCELL_RUNDIR']}"]


def _wait_running(uuid: str, rundir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        if state(rundir, uuid).get("phase") == "running":
            return
        time.sleep(0.2)
    raise AssertionError(f"jail {uuid} did not come up within {timeout * TIME_SCALE:.0f} s")


@needs_systemd
def test_start_from_login_shell_scope(release, rundir):
    """As from a login shell: iocell in a session-like scope of user.slice; the jail does
    not stay in that scope (which ends with the session) but gets its own."""
    uuid = make_jail(release, "tag=ls", *NONET)
    unit = f"iocell-test-session-{os.getpid()}.scope"
    run(["systemd-run", "--quiet", "--scope", f"--unit={unit}", "--slice=user.slice",
         iocell_bin(), "start", "ls"], timeout=120 * TIME_SCALE)
    try:
        scope = assert_in_own_scope(uuid)
        # the session's scope is over (its only process, iocell, exited): the jail lives on
        assert systemctl_show(unit, "ActiveState")["ActiveState"] in ("inactive", "")
        assert pid_alive(jail_init_pid(uuid))
    finally:
        ioc("stop", "ls")
    assert_nothing_left(uuid, scope)


@needs_systemd
def test_start_from_oneshot_unit_survives_its_stop(release, rundir):
    """As iocell.service at boot (Type=oneshot, RemainAfterExit=yes, `iocell rcboot`):
    the jail outlives the unit being stopped, which kills the unit's whole cgroup."""
    uuid = make_jail(release, "tag=bt", *NONET, "boot=on")
    unit = f"iocell-test-boot-{os.getpid()}.service"
    # no --wait: it waits for the unit to become inactive, which RemainAfterExit=yes never
    # does; without it systemd-run returns when the oneshot's start job (rcboot) is done
    run(["systemd-run", "--quiet", f"--unit={unit}", "--property=Type=oneshot",
         "--property=RemainAfterExit=yes", *_env_args(), iocell_bin(), "rcboot"],
        timeout=180 * TIME_SCALE)
    try:
        assert systemctl_show(unit, "ActiveState", "SubState", "Result") == \
            {"ActiveState": "active", "SubState": "exited", "Result": "success"}
        scope = assert_in_own_scope(uuid)
        init = jail_init_pid(uuid)
        run(["systemctl", "stop", unit])
        time.sleep(0.5 * TIME_SCALE)
        assert pid_alive(init), "stopping the unit that started the jail killed it"
        assert_in_own_scope(uuid)
    finally:
        run(["systemctl", "stop", unit], check=False)
        ioc("stop", "bt")
    assert_nothing_left(uuid, scope)


@needs_systemd
def test_start_from_timer_unit(release, rundir):
    """As from a cron-like timer: a transient timer fires a service that starts the jail;
    the service ends (its cgroup emptied), the jail keeps running in its scope."""
    uuid = make_jail(release, "tag=tm", *NONET)
    unit = f"iocell-test-timer-{os.getpid()}"
    run(["systemd-run", "--quiet", f"--unit={unit}", "--on-active=1", *_env_args(),
         iocell_bin(), "start", "tm"])
    try:
        _wait_running(uuid, rundir, 60)
        deadline = time.monotonic() + 30 * TIME_SCALE
        while time.monotonic() < deadline and \
                systemctl_show(f"{unit}.service", "ActiveState")["ActiveState"] in ("active", "activating"):
            time.sleep(0.2)
        scope = assert_in_own_scope(uuid)
    finally:
        run(["systemctl", "stop", f"{unit}.timer", f"{unit}.service"], check=False)
        ioc("stop", "tm")
    assert_nothing_left(uuid, scope)


@needs_systemd
def test_without_systemd_switch_keeps_the_iocell_tree(release, rundir):
    """IOCELL_CGROUP_SYSTEMD=0 (and hosts without systemd): iocell/UUID below the root."""
    uuid = make_jail(release, "tag=nosd", *NONET)
    ioc("start", "nosd", env={"IOCELL_CGROUP_SYSTEMD": "0"})
    try:
        assert proc_cgroup(jail_init_pid(uuid)) == f"/iocell/{uuid}"
        assert "cgunit" not in state(rundir, uuid)
        assert jexec("nosd", "true").returncode == 0
    finally:
        ioc("stop", "nosd")
    assert cgroup_leftovers(uuid) == []


# ---- the limits `cap` sets, by file and by effect (cgroup v2) ------------------------------

def _cg(uuid: str) -> Path:
    d = cgroup_dir(uuid)
    assert d is not None and d.is_dir()
    return d


def _read(p: Path) -> str:
    return p.read_text().strip()


@needs_v2
def test_v2_limit_files_hold_what_cap_set(release, rundir):
    uuid = make_jail(release, "tag=lv", *NONET, "rlimits=on")
    ioc("start", "lv")
    try:
        d = _cg(uuid)
        assert _read(d / "memory.max") == "max" and _read(d / "pids.max") == "max"
        devs = sorted(p.parent.name for p in Path("/sys/block").glob("*/size")
                      if int(p.read_text()) > 0)
        ioc("set", "memoryuse=96M:deny", "maxproc=40:deny", "pcpu=50:deny", "cpuset=0",
            "swapuse=32M:deny", "readbps=2M:deny", "writeiops=100:deny", "lv")
        ioc("cap", "lv")
        assert _read(d / "memory.max") == str(96 << 20)
        assert _read(d / "memory.high") == "max"
        assert _read(d / "pids.max") == "40"
        assert _read(d / "cpu.max") == "50000 100000"
        assert _read(d / "cpuset.cpus") == "0"
        if (d / "memory.swap.max").exists():
            assert _read(d / "memory.swap.max") == str(32 << 20)
        io = _read(d / "io.max")
        if devs:
            assert "rbps=2097152" in io and "wiops=100" in io, io
        # log: memory.high, the events file drives the crossing count
        ioc("set", "memoryuse=24M:log", "lv")
        ioc("cap", "lv")
        assert _read(d / "memory.max") == "max"
        assert _read(d / "memory.high") == str(24 << 20)
        ioc("uncap", "lv")
        for f, want in (("memory.max", "max"), ("memory.high", "max"), ("pids.max", "max"),
                        ("cpu.max", "max 100000")):
            assert _read(d / f) == want, f
        # no cpuset of its own: all of its parent's CPUs (an empty cpuset.cpus, or on
        # kernels that refuse that while processes run, the parent's effective list)
        assert _read(d / "cpuset.cpus") in ("", _read(d.parent / "cpuset.cpus.effective"))
        assert _read(d / "cpuset.cpus.effective") == _read(d.parent / "cpuset.cpus.effective")
    finally:
        ioc("stop", "lv")


@needs_v2
def test_v2_pids_max_refuses_forks(release):
    uuid = make_jail(release, "tag=pm", *NONET, "rlimits=on", "maxproc=12:deny")
    ioc("start", "pm")
    try:
        d = _cg(uuid)
        assert _read(d / "pids.max") == "12"
        r = jexec("pm", "sh", "-c", "i=0; n=0; while [ $i -lt 30 ]; do sleep 5 & "
                  "[ $? = 0 ] && n=$((n+1)); i=$((i+1)); done; echo forked $n", check=False)
        assert "forked 30" not in r.stdout
        assert int(_read(d / "pids.current")) <= 12
        events = dict(l.split() for l in _read(d / "pids.events").splitlines())
        assert int(events["max"]) > 0, events
    finally:
        ioc("stop", "pm")


@needs_v2
def test_v2_memory_max_oom_kills(release):
    uuid = make_jail(release, "tag=mm", *NONET, "rlimits=on", "memoryuse=32M:deny")
    ioc("start", "mm")
    try:
        d = _cg(uuid)
        r = jexec("mm", "sh", "-c", "head -c 134217728 /dev/zero | tail > /dev/null", check=False)
        assert r.returncode != 0
        ev = dict(l.split() for l in _read(d / "memory.events").splitlines())
        assert int(ev["oom_kill"]) > 0 or int(ev["max"]) > 0, ev
        assert int(_read(d / "memory.peak" if (d / "memory.peak").exists() else d / "memory.current")) \
            <= 32 << 20
        assert jexec("mm", "true").returncode == 0  # the jail survives
    finally:
        ioc("stop", "mm")


@needs_v2
def test_v2_memory_high_log_crossing(release, mountroot):
    high = 32 << 20
    uuid = make_jail(release, "tag=mh", *NONET, "rlimits=on", "memoryuse=32M:log")
    ioc("start", "mh")
    try:
        d = _cg(uuid)
        assert _read(d / "memory.high") == str(high)
        # One short crossing by a known margin: a buffer of what the jail uses at rest
        # (measured, not guessed) to 256 KiB past memory.high, filled by one read and
        # freed when dd exits.  Anonymous memory (as shared memory) cannot be reclaimed
        # without swap, so while the jail stays above memory.high every page it touches
        # reclaims its other pages and the program's own text faults back in: a lasting
        # excess (a file left in /dev/shm, even by 2 MiB) made the jail thrash for
        # minutes under emulation, 2 MiB for one read still took 35 s.  One charge above
        # the limit is all that memory.events' "high" counts.
        rest = int(_read(d / "memory.current"))
        kib = max(256, (high - rest) // 1024 + 256)
        jexec("mh", "dd", "if=/dev/zero", "of=/dev/null", f"bs={kib}k", "count=1")
        ev = dict(l.split() for l in _read(d / "memory.events").splitlines())
        assert int(ev["high"]) > 0, (ev, rest, kib)  # what limits/stop read for the log action
        assert int(_read(d / "memory.current")) < high  # freed: the jail runs unthrottled
        row = [l for l in ioc("limits", "mh").stdout.splitlines() if l.startswith("memoryuse")][0]
        assert int(row.split()[-1]) >= 1, row
    finally:
        ioc("stop", "mh")
    logs = list(Path(mountroot).glob(f"**/log/{uuid}-console.log"))
    assert logs and "limit memoryuse crossed" in logs[0].read_text()


@needs_v2
def test_v2_cpuset_and_cpu_max_bite(release):
    uuid = make_jail(release, "tag=cq", *NONET, "rlimits=on", "cpuset=0", "pcpu=25:deny")
    ioc("start", "cq")
    try:
        d = _cg(uuid)
        out = jexec("cq", "cat", "/proc/self/status").stdout
        assert re.search(r"^Cpus_allowed_list:\s+0$", out, re.M), out
        jexec("cq", "sh", "-c", "(while :; do :; done) >/dev/null 2>&1 &")
        time.sleep(0.5)

        def usage():
            return int(dict(l.split() for l in _read(d / "cpu.stat").splitlines())["usage_usec"])

        u0, t0 = usage(), time.monotonic()
        time.sleep(3)
        u1, t1 = usage(), time.monotonic()
        pct = (u1 - u0) / ((t1 - t0) * 1e6) * 100
        assert pct <= 35, pct
        stat = dict(l.split() for l in _read(d / "cpu.stat").splitlines())
        assert int(stat["nr_throttled"]) > 0, stat
    finally:
        ioc("stop", "cq")
