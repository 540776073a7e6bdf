"""Resource limits (issue 5, SPEC §7): cgroup limits, rlimits, cpuset, wallclock, log
crossings, and the cap / uncap / limits / inuse commands.  Every test asserts what the
kernel enforces (cgroup files, /proc/PID/limits, measured CPU), not just exit codes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from helpers import CGROUP_V2 as V2
from helpers import cgroup_dir, ioc, jexec, make_jail, pid_alive, state


def cgfile(uuid: str, controller: str, v1name: str, v2name: str | None = None) -> Path:
    """A file of the running jail's cgroup, found through /proc/<its init>/cgroup."""
    d = cgroup_dir(uuid, controller)
    assert d is not None and d.is_dir(), f"jail {uuid} has no {controller} cgroup ({d})"
    return d / ((v2name or v1name) if V2 else v1name)


def read(p: Path) -> str:
    return p.read_text().strip()


def proc_limit(pid: int | str, name: str) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            f = line[len(name):].split()
            return f[0], f[1]
    raise AssertionError(f"{name} not in /proc/{pid}/limits")


@pytest.fixture
def lj(release):
    """A stopped jail 'lim' with rlimits=on; stopped again at the end."""
    uuid = make_jail(release, "tag=lim", "rlimits=on", "vnet=off", "ip4=disable", "ip6=disable")
    yield uuid
    ioc("stop", "-f", uuid, check=False)


def test_bad_values_rejected_at_set(lj):
    for bad in ("pcpu=abc:deny", "memoryuse=10Q:deny", "cpuset=99", "pcpu=20:sigterm",
                "openfiles=64:log", "cputime=10:sigterm", f"pcpu={os.cpu_count() * 100 + 1}:deny"):
        r = ioc("set", bad, "lim", check=False)
        assert r.returncode != 0, bad
        assert "allowed" in r.stderr or "not supported" in r.stderr, r.stderr
    # nothing was stored
    assert ioc("get", "pcpu", "lim").stdout.strip() == "off"
    assert ioc("get", "cpuset", "lim").stdout.strip() == "off"
    # (at most every CPU's 100 %: the guest tier's machines have one CPU)
    ioc("set", "cputime=10:sigxcpu", f"pcpu={min(150, os.cpu_count() * 100)}:deny", "lim")


def test_memoryuse_deny_stops_allocation(lj):
    ioc("set", "memoryuse=64M:deny", "lim")
    ioc("start", "lim")
    assert int(read(cgfile(lj, "memory", "memory.limit_in_bytes", "memory.max"))) == 64 << 20
    # tail must hold its whole (newline-free) input in memory: 200M > 64M.
    r = jexec("lim", "sh", "-c", "head -c 209715200 /dev/zero | tail >/dev/null", check=False)
    assert r.returncode != 0
    if V2:
        events = read(cgfile(lj, "memory", "memory.events"))
        assert "oom_kill 0" not in events
    else:
        assert int(read(cgfile(lj, "memory", "memory.failcnt"))) > 0
    # the jail itself survives, the host is untouched
    assert jexec("lim", "true").returncode == 0


def test_maxproc_stops_fork_loop(lj):
    ioc("set", "maxproc=20:deny", "lim")
    ioc("start", "lim")
    assert read(cgfile(lj, "pids", "pids.max")) == "20"
    r = jexec("lim", "sh", "-c",
              "n=0; i=0; while [ $i -lt 40 ]; do sleep 3 & [ $? = 0 ] && n=$((n+1)); i=$((i+1)); done; "
              "cat /proc/self/cgroup >/dev/null; echo started $n", check=False)
    peak = int(read(cgfile(lj, "pids", "pids.current")))
    assert peak <= 20
    events = cgfile(lj, "pids", "pids.events")
    assert int(read(events).split()[-1]) > 0, "no fork was refused"
    assert "started 40" not in r.stdout


def _cpu_usage_ns(uuid):
    if V2:
        for line in read(cgfile(uuid, "cpu", "cpu.stat")).splitlines():
            if line.startswith("usage_usec"):
                return int(line.split()[1]) * 1000
    return int(read(cgfile(uuid, "cpuacct", "cpuacct.usage")))


def test_pcpu_quota_measured(lj):
    ioc("set", "pcpu=20:deny", "lim")
    ioc("start", "lim")
    if not V2:
        assert read(cgfile(lj, "cpu", "cpu.cfs_quota_us")) == "20000"
        assert read(cgfile(lj, "cpu", "cpu.cfs_period_us")) == "100000"
    jexec("lim", "sh", "-c", "(while :; do :; done) >/dev/null 2>&1 &")
    time.sleep(0.5)
    u0, t0, n0 = _cpu_usage_ns(lj), time.monotonic(), _nr_throttled(lj)
    time.sleep(3)
    u1, t1, n1 = _cpu_usage_ns(lj), time.monotonic(), _nr_throttled(lj)
    pct = (u1 - u0) / ((t1 - t0) * 1e9) * 100
    # never above the quota; and the loop ran (on a machine loaded enough that the loop
    # got less than the quota anyway, the scheduler had no reason to throttle it)
    assert 1 <= pct <= 30, pct
    if pct >= 15:
        assert n1 > n0, (pct, n0, n1)


def _nr_throttled(uuid) -> int:
    for line in read(cgfile(uuid, "cpu", "cpu.stat")).splitlines():
        if line.startswith("nr_throttled"):
            return int(line.split()[1])
    raise AssertionError("no nr_throttled in cpu.stat")


def test_cpuset_pins_processes(release, rundir):
    uuid = make_jail(release, "tag=cps", "cpuset=0", "vnet=off", "ip4=disable", "ip6=disable")
    try:
        ioc("start", "cps")
        init = state(rundir, uuid)["pid"]
        status = Path(f"/proc/{init}/status").read_text()
        assert "Cpus_allowed_list:\t0\n" in status
        out = jexec("cps", "cat", "/proc/self/status").stdout
        assert "Cpus_allowed_list:\t0\n" in out
        assert "cpuset" in ioc("limits", "cps").stdout
    finally:
        ioc("stop", "-f", uuid, check=False)


def test_openfiles_rlimit_init_and_exec(lj, rundir):
    ioc("set", "openfiles=64:deny", "lim")
    ioc("start", "lim")
    init = state(rundir, lj)["pid"]
    assert proc_limit(init, "Max open files") == ("64", "64")
    out = jexec("lim", "cat", "/proc/self/limits").stdout
    line = [l for l in out.splitlines() if l.startswith("Max open files")][0]
    assert line.split()[3:5] == ["64", "64"]
    # the limit really bites inside
    r = jexec("lim", "sh", "-c", "exec 3</dev/null; i=0; while [ $i -lt 70 ]; do "
              "eval \"exec $((i+10))</dev/null\" || exit 7; i=$((i+1)); done", check=False)
    assert r.returncode != 0


def test_cap_and_uncap(lj, rundir):
    ioc("set", "memoryuse=64M:deny", "maxproc=50:deny", "lim")
    ioc("start", "lim")
    mem = cgfile(lj, "memory", "memory.limit_in_bytes", "memory.max")
    pids = cgfile(lj, "pids", "pids.max")
    assert int(read(mem)) == 64 << 20
    ioc("set", "memoryuse=128M:deny", "maxproc=30:deny", "openfiles=100:deny", "lim")
    assert int(read(mem)) == 64 << 20          # set alone does not touch the running jail
    ioc("cap", "lim")
    assert int(read(mem)) == 128 << 20
    assert read(pids) == "30"
    init = state(rundir, lj)["pid"]
    assert proc_limit(init, "Max open files") == ("100", "100")
    # a process exec adds afterwards gets the new rlimit too
    out = jexec("lim", "cat", "/proc/self/limits").stdout
    assert [l for l in out.splitlines() if l.startswith("Max open files")][0].split()[3] == "100"
    shown = ioc("limits", "lim").stdout
    assert "134217728" in shown and "pids.max" in shown
    r = ioc("uncap", "lim")
    assert "removed" in r.stdout
    assert read(pids) == "max"
    assert read(mem) == "max" if V2 else int(read(mem)) > 1 << 50
    # new exec'd processes get no openfiles limit
    out = jexec("lim", "cat", "/proc/self/limits").stdout
    assert [l for l in out.splitlines() if l.startswith("Max open files")][0].split()[3] != "100"


def test_cap_needs_running_jail(lj):
    r = ioc("cap", "lim", check=False)
    assert r.returncode == 1 and "not running" in r.stderr


def _inuse(name):
    return {r["resource"]: r["in_use"] for r in json.loads(ioc("inuse", "-j", name).stdout)}


def test_inuse_moves(lj):
    ioc("start", "lim")
    before = _inuse("lim")
    jexec("lim", "dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=40")
    after = _inuse("lim")
    assert int(after["memory"]) - int(before["memory"]) >= 30 << 20
    assert int(after["processes"]) >= 1 and int(after["threads"]) >= 1
    assert int(after["openfiles"]) >= 1
    table = ioc("inuse", "lim").stdout
    assert "memory" in table and "cputime" in table
    allrows = ioc("inuse", "-c").stdout.splitlines()
    row = [r for r in allrows if r.split(",")[1] == "lim"]
    assert row and len(row[0].split(",")) == 12
    row = [r for r in ioc("inuse", "-H").stdout.splitlines() if r.split("\t")[1] == "lim"]
    assert row and len(row[0].split("\t")) == 12
    assert "MEMORY" in ioc("inuse").stdout


def test_memoryuse_log_records_crossing(lj, mountroot):
    ioc("set", "memoryuse=16M:log", "lim")
    ioc("start", "lim")
    if not V2:
        assert int(read(cgfile(lj, "memory", "memory.limit_in_bytes"))) > 1 << 50  # not enforced
        assert int(read(cgfile(lj, "memory", "memory.soft_limit_in_bytes"))) == 16 << 20
    # not denied: one read 256 KiB past the limit, freed when dd exits (test_cgroup2.py's
    # test_v2_memory_high_log_crossing says why not a file in /dev/shm: under a v2
    # memory.high a lasting excess of unreclaimable memory makes the jail thrash)
    rest = int(read(cgfile(lj, "memory", "memory.usage_in_bytes", "memory.current")))
    kib = max(256, ((16 << 20) - rest) // 1024 + 256)
    jexec("lim", "dd", "if=/dev/zero", "of=/dev/null", f"bs={kib}k", "count=1")
    out = ioc("limits", "lim").stdout
    row = [l for l in out.splitlines() if l.startswith("memoryuse")][0]
    assert int(row.split()[-1]) >= 1, out
    logs = list(Path(mountroot).glob(f"**/log/{lj}-console.log"))
    assert logs and "limit memoryuse crossed" in logs[0].read_text()


def test_wallclock_stops_jail(lj, rundir):
    ioc("set", "wallclock=2:deny", "lim")
    ioc("start", "lim")
    init = int(state(rundir, lj)["pid"])
    assert pid_alive(init)
    deadline = time.monotonic() + 15
    while pid_alive(init) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(init)
    ioc("stop", "lim")   # cleans what is left
    assert not (rundir / f"{lj}.state").exists()


def test_pseudoterminals_devpts_max(lj, rundir):
    ioc("set", "pseudoterminals=4:deny", "lim")
    ioc("start", "lim")
    init = state(rundir, lj)["pid"]
    mi = Path(f"/proc/{init}/mountinfo").read_text()
    devpts = [l for l in mi.splitlines() if " - devpts " in l]
    assert devpts and "max=4" in devpts[0]


def test_limits_not_running_and_all(lj):
    out = ioc("limits", "lim").stdout
    assert "not running" in out and "memoryuse" in out
    ioc("set", "maxproc=25:deny", "lim")
    ioc("start", "lim")
    out = ioc("limits").stdout
    assert "maxproc" in out and "25" in out
