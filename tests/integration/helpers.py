"""Helpers for the iocell integration tests (Python 3.11 standard library only).

Import them in a test module with ``from helpers import ioc, zfs, zfs_get, datasets`` or use
the fixtures of the same names from conftest.py. Everything here acts on the scratch pool
of this test session (``POOL``, created by conftest.py) and never on another pool.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: The scratch pool of this pytest process, e.g. ``ioct12345``.
POOL = f"ioct{os.getpid()}"
#: ``POOL/iocell``: the iocell root dataset.
IOCROOT_DS = f"{POOL}/iocell"
#: ``POOL/iocell/jails``: parent of every jail dataset.
JAILS_DS = f"{IOCROOT_DS}/jails"
#: ``POOL/iocell/releases``.
RELEASES_DS = f"{IOCROOT_DS}/releases"

#: Default timeout (seconds) of one iocell call; a hung call fails the test instead of CI.
IOCELL_TIMEOUT = float(os.environ.get("IOCELL_TEST_TIMEOUT", "300"))
# Tests that bound wall-clock time (a window to see a zombie, "exits within 1 s") multiply
# their bounds and the sleeps they race against by this: the guest tier runs under CPU
# emulation, several times slower than the host (scripts/guest/job.sh sets 10).
TIME_SCALE = float(os.environ.get("IOCELL_TEST_TIME_SCALE", "1"))
ZFS_TIMEOUT = 120.0

# ASan/LSan report headers, and UBSan's "file.c:12:3: runtime error: ..." line.
_SANITIZER_RE = re.compile(
    r"ERROR: (?:AddressSanitizer|LeakSanitizer)|SUMMARY: UndefinedBehaviorSanitizer"
    r"|:\d+:\d+: runtime error: "
)


def iocell_bin() -> str:
    """The iocell binary under test: $IOCELL_BIN, else build-asan/iocell, else build/iocell."""
    env = os.environ.get("IOCELL_BIN")
    if env:
        return str(Path(env).resolve())
    asan = REPO / "build-asan" / "iocell"
    if asan.exists():
        return str(asan)
    return str(REPO / "build" / "iocell")


def _merged_env(env: dict | None) -> dict | None:
    if not env:
        return None
    merged = dict(os.environ)
    for key, value in env.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def _describe(proc: subprocess.CompletedProcess) -> str:
    cmd = proc.args if isinstance(proc.args, str) else shlex.join(str(a) for a in proc.args)
    return (
        f"command: {cmd}\n"
        f"exit status: {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}"
        f"--- stderr ---\n{proc.stderr}"
        "--------------"
    )


def _proc_read_path(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as e:
        return f"({e.strerror})"


def _proc_read(pid: int, name: str) -> str:
    return _proc_read_path(f"/proc/{pid}/{name}")


def _kernel_stack(path: str, frames: int) -> str:
    """The innermost frames of a /proc/.../stack file, "f1+0x.. < f2+0x.. < ..."."""
    return " < ".join(l.split()[-1] for l in _proc_read_path(path).splitlines()[:frames] if l.strip())


def _proc_line(pid: int) -> str:
    stat = _proc_read(pid, "stat")
    st = stat.rsplit(")", 1)[1].split()[0] if stat[:1].isdigit() else "gone"
    cmd = _proc_read(pid, "cmdline").replace("\0", " ").strip()[:160]
    stack = _kernel_stack(f"/proc/{pid}/stack", 6)
    return f"  pid {pid} [{st}] wchan={_proc_read(pid, 'wchan')} {cmd}\n      kernel stack: {stack}"


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            stat = _proc_read(int(d), "stat")
            if stat[:1].isdigit() and ")" in stat:
                kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(d))
    return kids


def _fuse_waiters(pids) -> list[int]:
    """Those of pids waiting for a FUSE daemon's answer (wchan request_wait_answer)."""
    return [p for p in pids if _proc_read(p, "wchan") == "request_wait_answer"]


def _daemon_backtraces(pid: int) -> list[str]:
    """Where the daemon's threads are in user space (gdb, when installed): one line per
    distinct backtrace, with how many threads have it, innermost frames first."""
    try:
        g = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex", "thread apply all bt 12"],
                           capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return ["  (no gdb: user-space backtraces not taken)"]
    except subprocess.TimeoutExpired:
        return ["  (gdb did not finish within 90 s)"]
    traces: dict[str, int] = {}
    cur: list[str] = []
    for l in g.stdout.splitlines() + ["Thread end"]:
        if l.startswith("Thread "):
            if cur:
                key = " < ".join(cur)
                traces[key] = traces.get(key, 0) + 1
            cur = []
            continue
        m = re.match(r"#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(.*?\)(?: (?:from|at) (\S+))?", l)
        if m:
            cur.append(m.group(1) + (f"@{os.path.basename(m.group(2))}" if m.group(2) else ""))
    if not traces:
        return [f"  (gdb gave no backtrace: {g.stderr.strip()[-200:]})"]
    return [f"  {n} thread(s): {t}" for t, n in sorted(traces.items(), key=lambda x: -x[1])]


def hang_report(pid: int) -> tuple[str, bool]:
    """What a hung command is waiting on, for the failure message: its process tree (state,
    wchan, kernel stack), who holds iocell's lock files (/proc/locks), and whether the ZFS
    daemon answers (the second value: False when it does not).  The daemon does not answer
    when `zpool list` (its control socket) gets no answer, or when a process of the tree still
    waits for a FUSE answer 5 s after the command's timeout: zfs-fuse's file-system side has
    deadlocked alone, its control socket answering (CI, stop 21).  Reads only (gdb attaches to
    the daemon for its backtraces); never signals anything."""
    lines = ["--- hang report ---", "process tree:"]
    kids, todo, tree = _children(), [pid], []
    while todo and len(lines) < 60:
        p = todo.pop(0)
        tree.append(p)
        lines.append(_proc_line(p))
        todo.extend(kids.get(p, []))
    rundir = os.environ.get("IOCELL_RUNDIR")
    if rundir and os.path.isdir(rundir):
        inodes = {}
        for n in os.listdir(rundir):
            if n.endswith(".lock"):
                try:
                    inodes[os.stat(os.path.join(rundir, n)).st_ino] = n
                except OSError:
                    pass
        lines.append(f"locks held on {rundir}/*.lock (/proc/locks):")
        for l in _proc_read_path("/proc/locks").splitlines():
            f = l.split()
            try:
                ino = int(f[5 if f[1] != "->" else 6].split(":")[2])
                holder = int(f[4 if f[1] != "->" else 5])
            except (IndexError, ValueError):
                continue
            if ino in inodes:
                lines.append(f"  {inodes[ino]}: {l.strip()}")
                if holder > 0:
                    lines.append("  " + _proc_line(holder))
                    tree.append(holder)
    daemons = [int(d) for d in os.listdir("/proc")
               if d.isdigit() and _proc_read(int(d), "comm").strip() == "zfs-fuse"]
    for d in daemons:
        lines.append("zfs-fuse:\n" + _proc_line(d))
    hung = None
    try:
        z = subprocess.run(["zpool", "list", "-H", "-o", "name,health"], capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        lines.append(f"zpool list: {z.returncode} {z.stdout.strip()} {z.stderr.strip()}")
    except subprocess.TimeoutExpired:
        hung = "zpool list: no answer within 10 s"
    if hung is None and _fuse_waiters(tree):
        time.sleep(5)
        still = _fuse_waiters(tree)
        if still:
            hung = f"pid(s) {', '.join(map(str, still))} still wait for a FUSE answer"
    if hung is None:
        return "\n".join(lines), True
    lines.append(f"{hung}: THE ZFS DAEMON DOES NOT ANSWER")
    # where the daemon's threads wait: kernel (one line per distinct stack), user space
    for d in daemons:
        stacks: dict[str, int] = {}
        for t in os.listdir(f"/proc/{d}/task") if os.path.isdir(f"/proc/{d}/task") else []:
            st = _kernel_stack(f"/proc/{d}/task/{t}/stack", 5)
            stacks[st] = stacks.get(st, 0) + 1
        for st, n in sorted(stacks.items(), key=lambda x: -x[1]):
            lines.append(f"  zfs-fuse {d}: {n} thread(s) in {st}")
        lines.append(f"  zfs-fuse {d}, user space:")
        lines.extend(_daemon_backtraces(d))
    return "\n".join(lines), False


def run(argv, *, input=None, check=True, env=None, timeout=ZFS_TIMEOUT, cwd=None):
    """Run argv (no shell) and return the CompletedProcess (text mode, stdout/stderr captured).

    stdin is /dev/null unless ``input`` is given, so a prompt never hangs a test. ``env``
    entries are added to (value None: removed from) the current environment. With ``check``
    a non-zero exit fails with a message that shows the command, its stdout and stderr.
    """
    argv = [str(a) for a in argv]
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_merged_env(env),
        cwd=cwd,
    ) as p:
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            # what the command and everything it waits on are doing, before it is killed
            report, daemon_answers = hang_report(p.pid)
            p.kill()
            try:
                out, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # a descendant holds the pipes
                out, err = "", "(output pipes still held by a descendant)"
            msg = (f"command timed out after {timeout}s: {shlex.join(argv)}\n"
                   f"--- stdout ---\n{out or ''}\n--- stderr ---\n{err or ''}\n{report}")
            if not daemon_answers:
                import pytest  # the suite cannot go on: end it now, with the report
                pytest.exit(f"the ZFS daemon stopped answering:\n{msg}", returncode=3)
            raise AssertionError(msg) from None
    proc = subprocess.CompletedProcess(argv, p.returncode, out, err)
    if check and proc.returncode != 0:
        raise AssertionError("command failed\n" + _describe(proc))
    return proc


def ioc(*args, input=None, check=True, env=None, timeout=None, cwd=None):
    """Run the iocell binary under test: ``ioc("create", "-c", "release=bb", "tag=x")``.

    Returns subprocess.CompletedProcess (``.returncode``, ``.stdout``, ``.stderr``, text).
    ``check=True`` asserts exit status 0; use ``check=False`` and test ``.returncode`` for
    expected failures. ``input`` is fed to stdin (e.g. ``"Y\\n"`` for destroy's prompt);
    without it stdin is /dev/null. ``env`` adds/overrides (None removes) variables.
    A sanitizer report on stderr fails the call whatever ``check`` says.
    """
    proc = run(
        [iocell_bin(), *args],
        input=input,
        check=False,
        env=env,
        timeout=IOCELL_TIMEOUT if timeout is None else timeout,
        cwd=cwd,
    )
    if _SANITIZER_RE.search(proc.stderr):
        raise AssertionError("sanitizer report from iocell\n" + _describe(proc))
    if check and proc.returncode != 0:
        raise AssertionError("iocell failed\n" + _describe(proc))
    return proc


def zfs(*args, check=True) -> str:
    """Run ``zfs ARGS`` and return its stdout."""
    return run(["zfs", *args], check=check).stdout


def zpool(*args, check=True) -> str:
    """Run ``zpool ARGS`` and return its stdout."""
    return run(["zpool", *args], check=check).stdout


def zfs_get(dataset: str, prop: str) -> str:
    """Value of one property (``zfs get -H -o value PROP DATASET``); "-" when unset."""
    return zfs("get", "-H", "-o", "value", prop, dataset).rstrip("\n")


def zfs_exists(dataset: str) -> bool:
    """True if the filesystem, volume or snapshot exists."""
    return run(["zfs", "list", "-H", "-o", "name", "-t", "all", dataset], check=False).returncode == 0


def datasets(prefix: str, *, include_self: bool = False, types: str = "filesystem,volume") -> list[str]:
    """Names of the datasets below ``prefix`` (recursively, sorted; [] if it does not exist)."""
    proc = run(["zfs", "list", "-H", "-o", "name", "-r", "-t", types, prefix], check=False)
    if proc.returncode != 0:
        return []
    names = sorted(n for n in proc.stdout.splitlines() if n)
    return names if include_self else [n for n in names if n != prefix]


def snapshots(dataset: str) -> list[str]:
    """Full names (``ds@snap``) of the snapshots of ``dataset`` itself."""
    proc = run(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", "-d", "1", dataset], check=False)
    if proc.returncode != 0:
        return []
    return [n for n in proc.stdout.splitlines() if n.startswith(dataset + "@")]


LIST_COLUMNS = ("jid", "uuid", "boot", "state", "tag", "type", "ip4", "release")


def jail_list(*flags: str) -> list[dict]:
    """``iocell list -H [flags]`` parsed into dicts keyed by LIST_COLUMNS (lower case)."""
    out = ioc("list", "-H", *flags).stdout
    rows = []
    for line in out.splitlines():
        if line.strip():
            rows.append(dict(zip(LIST_COLUMNS, line.split("\t"))))
    return rows


_UUID_RE = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", re.M)


def parse_uuid(create_stdout: str) -> str:
    """The UUID from ``iocell create``'s ``UUID (TAG)`` output (the first one)."""
    m = _UUID_RE.search(create_stdout)
    assert m, f"no UUID in create output: {create_stdout!r}"
    return m.group(1)


def _is_busy(stderr: str) -> bool:
    return "busy" in stderr


def destroy_dataset(name: str, *, tries: int = 40, delay: float = 0.05) -> bool:
    """``zfs destroy -r -R name``: THE way the tests clean up a dataset or snapshot.

    zfs-fuse answers "dataset is busy" for a while after a mount in the dataset went away
    (a jail's mount namespace dying, a FUSE release still in flight), and sometimes until
    its mounted descendants are unmounted first: this retries with a growing back-off
    (about 30 s in all), unmounting the descendants deepest-first from the third attempt
    (forcibly from the eighth).  Returns True when the dataset is gone (also when it never
    existed); a warning is printed otherwise.
    """
    last = None
    for attempt in range(tries):
        proc = run(["zfs", "destroy", "-r", "-R", name], check=False)
        if proc.returncode == 0 or "does not exist" in proc.stderr or "could not find" in proc.stderr:
            return True
        last = proc
        if not _is_busy(proc.stderr) and attempt >= 2:
            break
        if attempt >= 2 and "@" not in name:
            force = ["-f"] if attempt >= 7 else []
            for ds in reversed(datasets(name, include_self=True)):
                run(["zfs", "unmount", *force, ds], check=False)
        time.sleep(min(delay * (1.5 ** attempt), 1.5))
    if last is not None:
        print(f"warning: could not destroy {name}: {last.stderr.strip()}")
    return False


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def read_pidfile(path) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def terminate(pid: int, timeout: float = 20.0) -> bool:
    """SIGTERM pid, wait for it to go; SIGKILL after ``timeout``. True if it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    if wait_pid_gone(pid, timeout):
        return True
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return wait_pid_gone(pid, 5.0)


# ---- jails at run time (shared by the runtime, network and limits tests) ----------------

def make_jail(release: str, *props: str, flag: str = "-c") -> str:
    """Create a jail of RELEASE (a clone by default) with PROPS; its UUID."""
    return parse_uuid(ioc("create", flag, f"release={release}", *props).stdout)


def state(rundir: Path, uuid: str) -> dict:
    """The runtime state file of a jail as a dict ({} when it is not running)."""
    p = rundir / f"{uuid}.state"
    if not p.exists():
        return {}
    return dict(line.split("=", 1) for line in p.read_text().splitlines() if "=" in line)


CGROOT = Path("/sys/fs/cgroup")
#: cgroup v2 only (the unified hierarchy at /sys/fs/cgroup), as on systemd hosts
CGROUP_V2 = (CGROOT / "cgroup.controllers").exists()
#: systemd is PID 1 (sd_booted): on cgroup v2 iocell then puts each jail in a scope unit
SYSTEMD = os.path.isdir("/run/systemd/system")


def jail_init_pid(uuid: str) -> int | None:
    """The host PID of a running jail's init (from its runtime state), or None."""
    st = state(Path(os.environ.get("IOCELL_RUNDIR", "/var/run/iocell")), uuid)
    return int(st["pid"]) if st.get("pid", "").isdigit() else None


def _cgroup_mounts() -> dict[str, Path]:
    """cgroup v1 controller name -> the mount point of its hierarchy."""
    out = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        f = line.split()
        if "-" not in f:
            continue
        sep = f.index("-")
        if f[sep + 1] == "cgroup" and len(f) > sep + 3:
            for opt in f[sep + 3].split(","):
                out.setdefault(opt, Path(f[4]))
    return out


def proc_cgroups(pid: int) -> dict[str, Path]:
    """Where a process is, by /proc/PID/cgroup: controller -> directory ("" for the
    cgroup v2 one when /sys/fs/cgroup is cgroup v2)."""
    out: dict[str, Path] = {}
    mounts = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        if hid == "0":
            if CGROUP_V2:
                out[""] = CGROOT / path.lstrip("/")
            continue
        mounts = mounts if mounts is not None else _cgroup_mounts()
        for c in ctrls.split(","):
            if c in mounts:
                out[c] = mounts[c] / path.lstrip("/")
    return out


def cgroup_dir(uuid: str, controller: str = "") -> Path | None:
    """The directory of a running jail's cgroup that carries controller (v2: the one
    directory), found through /proc/<its init>/cgroup, not by a path iocell might use."""
    pid = jail_init_pid(uuid)
    if pid is None:
        return None
    cg = proc_cgroups(pid)
    return cg.get("") if CGROUP_V2 else cg.get(controller)


def cgroup_dirs(uuid: str) -> list[Path]:
    """The running jail's cgroup directories (v1 controllers or the v2 one), through
    /proc/<its init>/cgroup; [] when it does not run."""
    pid = jail_init_pid(uuid)
    if pid is None:
        return []
    try:
        dirs = set(proc_cgroups(pid).values())
    except OSError:
        return []
    # v1 hierarchies iocell does not use (name=systemd...) keep the init where it was
    return sorted(d for d in dirs if d.exists() and (CGROUP_V2 or d.name == uuid))


def cgroup_leftovers(uuid: str) -> list[str]:
    """What is left on the host of a jail's cgroups, searched wherever iocell could have
    made them (for a jail that does not run: after stop or a failed start): directories
    named after it (iocell/UUID below a hierarchy, a scope iocell-UUID.scope below a
    slice) and, with systemd, a unit iocell-UUID.scope still listed."""
    found = [str(d) for d in list(CGROOT.glob(f"*/iocell/{uuid}")) + list(CGROOT.glob(f"iocell/{uuid}"))]
    if CGROUP_V2:
        found += [str(d) for d in list(CGROOT.glob(f"*/iocell-{uuid}.scope"))
                  + list(CGROOT.glob(f"*/*/iocell-{uuid}.scope"))]
    if SYSTEMD:
        units = run(["systemctl", "list-units", "--plain", "--no-legend", f"iocell-{uuid}.scope"],
                    check=False).stdout.split("\n")
        found += [f"unit {u.split()[0]}" for u in units if u.strip()]
    return found


def jexec(name: str, *cmd: str, check: bool = True, user: str | None = None):
    """iocell exec [-u USER] NAME CMD..."""
    args = ["exec"] + (["-u", user] if user else []) + [name, *cmd]
    return ioc(*args, check=check)
