"""Unit tests of iocell-init (src/linux/init.c), the jail's PID 1, without any iocell code.

Each test runs ``unshare -pf --mount-proc iocell-init TIMEOUT COMMAND`` so that the init is
PID 1 of a fresh PID namespace, with fd 3 a temporary console log (O_APPEND) and fd 4 the
write end of a status pipe (see src/linux/initproto.h).  Needs root, util-linux unshare and
the built binary: $IOCELL_INIT, else <repo>/build/iocell-init.

This module needs no ZFS pool: it overrides conftest.py's autouse fixtures ``iocell_env``
and ``_clean_jails`` with no-ops.  Every process started here is killed at teardown by PID
(SIGKILL to the init ends its whole PID namespace).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from helpers import TIME_SCALE

REPO = Path(__file__).resolve().parents[2]
INIT = Path(os.environ.get("IOCELL_INIT") or REPO / "build" / "iocell-init")
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"

STAMP_RE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] (.*)$")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (PID namespaces)"),
    pytest.mark.skipif(not os.access(INIT, os.X_OK), reason=f"{INIT} not built"),
    pytest.mark.skipif(not os.access(UNSHARE, os.X_OK), reason="util-linux unshare missing"),
]


# conftest.py's autouse fixtures set up a scratch ZFS pool for iocell; not needed here.
@pytest.fixture
def iocell_env():
    yield None


@pytest.fixture
def _clean_jails():
    yield


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, comm, state) for every process of the host."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        close = stat.rindex(")")
        fields = stat[close + 2:].split()
        table[int(d)] = (int(fields[1]), stat[stat.index("(") + 1:close], fields[0])
    return table


class Init:
    """One iocell-init running as PID 1 of its own PID namespace."""

    def __init__(self, tmp: Path, timeout: int, command: str, wrap: list[str] | None = None):
        self.log_path = tmp / "console.log"
        self.err_path = tmp / "stderr.txt"
        logfd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        rfd, wfd = os.pipe()
        # Copies above the range 3-4, so that the dup2s in the child cannot clobber them.
        hi_log = fcntl.fcntl(logfd, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_st = fcntl.fcntl(wfd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(logfd)
        os.close(wfd)

        def child_fds():
            os.dup2(hi_log, 3)
            os.dup2(hi_st, 4)

        # --kill-child: should this process kill unshare, the init gets SIGKILL too.
        argv = [UNSHARE, "-pf", "--mount-proc", "--kill-child", *(wrap or []),
                str(INIT), str(timeout), command]
        self.started = time.monotonic()
        with open(self.err_path, "wb") as err:
            # pass_fds keeps 3 and 4 open across exec; preexec_fn puts the right files there.
            # (pass_fds needs them to exist in this process already, so fds 3 and 4 here
            # would be used; close_fds=False instead: Python's own fds are all O_CLOEXEC.)
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         close_fds=False, preexec_fn=child_fds)
        os.close(hi_log)
        os.close(hi_st)
        self.status_fd = rfd
        self._status_buf = b""
        try:
            self.pid = self._find_init()
        except BaseException:
            self.proc.kill()        # our unshare; --kill-child takes the init along
            self.proc.wait()
            os.close(rfd)
            raise

    def _find_init(self) -> int:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"unshare exited {self.proc.returncode}: {self.stderr()}")
            for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
                try:
                    kids = (task / "children").read_text().split()
                except OSError:
                    continue
                for kid in kids:
                    try:
                        exe = os.readlink(f"/proc/{kid}/exe")
                    except OSError:
                        continue
                    if Path(exe) == INIT.resolve():
                        return int(kid)
            time.sleep(0.01)
        raise AssertionError("iocell-init did not appear under unshare")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def status(self, timeout: float = 3.0) -> str | None:
        """The status line from fd 4 (without newline), or None if none came in time."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._status_buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.status_fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.status_fd, 256)
            if not chunk:
                break
            self._status_buf += chunk
        line, _, _ = self._status_buf.partition(b"\n")
        return line.decode()

    def log_lines(self) -> list[str]:
        """The complete lines of the log: a last one without its newline is still being
        written (a read can see part of a concurrent append) and is left for later."""
        text = self.log_path.read_text(errors="replace")
        return text[: text.rfind("\n") + 1].splitlines()

    def messages(self) -> list[str]:
        """The log lines without their timestamp; fails on a line without one."""
        out = []
        for line in self.log_lines():
            m = STAMP_RE.match(line)
            assert m, f"line without timestamp: {line!r}"
            out.append(m.group(2))
        return out

    def wait_log(self, text: str, timeout: float = 3.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.exists() and text in self.messages():
                return self.messages()
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not logged; log: {self.log_lines()}")

    def alive(self) -> bool:
        return self.proc.poll() is None and self.init_state() not in (None, "Z")

    def init_state(self) -> str | None:
        return _proc_table().get(self.pid, (0, "", None))[2]

    def jail_procs(self) -> list[tuple[int, str, str]]:
        """(pid, comm, state) of the init and all its descendants (the PID namespace)."""
        table = _proc_table()
        if self.pid not in table:
            return []
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append((pid, table[pid][1], table[pid][2]))
            todo.extend(p for p, (pp, _, _) in table.items() if pp == pid)
        return found

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def rss_kb(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, val = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmPTE"):
                out[key] = int(val.split()[0])
        return out

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            # the init is still our unshare's child (it cannot be anything else while
            # unshare waits for it): SIGKILL to PID 1 ends the whole namespace
            if self.init_state() is not None:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.status_fd)


@pytest.fixture
def start_init(tmp_path):
    started = []

    def start(timeout: int, command: str, wrap: list[str] | None = None) -> Init:
        d = tmp_path / str(len(started))
        d.mkdir()
        init = Init(d, timeout, command, wrap)
        started.append(init)
        return init

    yield start
    for init in started:
        init.cleanup()


def _wait_until(pred, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# --------------------------------------------------------------------------------------


def test_none_reports_exit_0_and_stays(start_init, capsys):
    init = start_init(0, "none")
    assert init.status(1.0) == "exit 0"
    assert time.monotonic() - init.started < 1.0
    time.sleep(0.5)
    assert init.alive()
    assert [p[0] for p in init.jail_procs()] == [init.pid]
    assert init.log_lines() == []
    rss = init.rss_kb()
    with capsys.disabled():
        print(f"\n[iocell-init idle memory] {rss}")
    assert rss["RssAnon"] < 512, rss
    assert rss["VmRSS"] < 1024, rss


def test_exit_status_and_timestamped_log(start_init):
    before = datetime.now().replace(microsecond=0)
    init = start_init(0, "echo hello; echo err >&2; exit 3")
    assert init.status() == "exit 3"
    after = datetime.now()
    lines = init.log_lines()
    assert [STAMP_RE.match(line).group(2) for line in lines] == ["hello", "err"], lines
    for line in lines:
        stamp = datetime.strptime(STAMP_RE.match(line).group(1), "%Y-%m-%d %H:%M:%S")
        assert before <= stamp <= after, (line, before, after)
    assert init.alive()


def test_signal_status(start_init):
    init = start_init(0, "kill -9 $$")
    assert init.status() == "signal 9"
    assert init.alive()


def test_long_and_partial_lines(start_init):
    init = start_init(0, "head -c 5000 /dev/zero | tr '\\0' a; echo; printf 'no newline'")
    assert init.status() == "exit 0"
    assert init.messages() == ["a" * 4096, "a" * 904, "no newline"]


def test_exec_failure_is_exit_127(start_init, tmp_path):
    # /bin/sh hidden by a non-executable file in the namespace's own mount table; the
    # wrapper sh is PID 1 and execs the init, which so stays PID 1.
    blank = tmp_path / "blank"
    blank.write_text("")
    wrap = ["/bin/sh", "-c", f'mount --bind {blank} /bin/sh && exec "$0" "$@"']
    init = start_init(0, "echo never", wrap=wrap)
    assert init.status() == "exit 127", init.stderr()
    msgs = init.messages()
    assert len(msgs) == 1 and msgs[0].startswith("iocell-init: exec /bin/sh:"), msgs
    assert init.alive()


def test_child_environment(start_init):
    # The shell's masks are read first and by builtins only: dash blocks every signal
    # around its sigsuspend while it waits for a child (a grep of /proc/$$/status saw that
    # half the time), and clears its mask after each wait (hiding a mask left by the init).
    init = start_init(0, "while read -r l; do case $l in Sig[BI]*) printf '%s\\n' \"$l\";; esac;"
                         "done < /proc/$$/status;"
                         "readlink /proc/$$/fd/0; ls /proc/$$/fd | tr '\\n' ' '; echo;"
                         "[ $(ps -o sid= -p $$) = $$ ] && echo session-leader")
    assert init.status() == "exit 0"
    msgs = init.messages()
    assert msgs[2] == "/dev/null", msgs
    fds = msgs[3].split()
    assert "3" not in fds and "4" not in fds, msgs      # no leak of the log or status fd
    assert "SigBlk:\t0000000000000000" in msgs, msgs
    ign = int(next(m for m in msgs if m.startswith("SigIgn:")).split()[1], 16)
    assert not ign & (1 << (signal.SIGPIPE - 1)), msgs
    assert "session-leader" in msgs, msgs


def test_background_child_and_sigterm(start_init):
    init = start_init(0, "sleep 1000 & (sleep 0.3; echo later) & echo now")
    assert init.status() == "exit 0"
    init.wait_log("later")          # descendants holding the pipe are still relayed
    assert init.alive()
    procs = init.jail_procs()
    sleeps = [p for p in procs if p[1] == "sleep"]
    assert len(sleeps) == 1 and sleeps[0][2] != "Z", procs
    assert not [p for p in procs if p[2] == "Z"], procs
    t0 = time.monotonic()
    init.signal(signal.SIGTERM)
    assert init.wait_exit(2.0) == 0
    assert time.monotonic() - t0 < 1.0
    assert _wait_until(lambda: not Path(f"/proc/{sleeps[0][0]}").exists(), 1.0)


def test_sigterm_while_command_runs(start_init):
    init = start_init(0, "sleep 1000")
    time.sleep(0.2)
    init.signal(signal.SIGTERM)
    assert init.status() == "signal 15"
    assert init.wait_exit(2.0) == 0


def test_sigterm_without_children_exits_at_once(start_init):
    init = start_init(0, "none")
    assert init.status() == "exit 0"
    t0 = time.monotonic()
    init.signal(signal.SIGINT)
    assert init.wait_exit(2.0) == 0
    assert time.monotonic() - t0 < 0.5


def test_signals_forwarded_without_exit(start_init):
    loop = ("trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; "
            "while :; do sleep 0.05; done")
    init = start_init(0, f"sh -c \"{loop}\" & echo ready")
    assert init.status() == "exit 0"
    init.wait_log("ready")
    time.sleep(0.2)                 # let the loop install its traps
    init.signal(signal.SIGUSR1)
    init.wait_log("got-usr1")
    init.signal(signal.SIGHUP)
    init.wait_log("got-hup")
    time.sleep(0.2)
    assert init.alive()
    assert any(p[1] == "sh" for p in init.jail_procs())


def test_timeout_kills_command(start_init):
    init = start_init(1, "sleep 30 & echo started; sleep 30")
    assert init.status(3.0) == "timeout"
    took = time.monotonic() - init.started
    # never early; late only by what scheduling on a loaded machine costs (the command
    # alone would run 30 s): a bound of 1.5 s failed once at load 10+
    assert 0.9 <= took < 2.5, took
    assert "started" in init.messages()
    # the whole process group is gone, the init stays
    assert _wait_until(lambda: [p[0] for p in init.jail_procs()] == [init.pid], 1.0), \
        init.jail_procs()
    assert init.alive()


def test_no_timeout_when_command_is_fast(start_init):
    init = start_init(1, "exit 5")
    assert init.status() == "exit 5"
    time.sleep(1.3)
    assert init.alive()


def test_orphaned_zombies_are_reaped(start_init):
    # The inner sh execs a sleep that never reaps its own child: that child becomes a
    # zombie, then is reparented to the init (PID 1) when the outer sleep exits, and the
    # outer sleep, an orphan already, exits too.
    k = TIME_SCALE
    init = start_init(0, f"sh -c 'sleep {0.2 * k} & exec sleep {0.6 * k}' & (sleep {0.4 * k} &); echo ok")
    assert init.status(3.0 * k) == "exit 0"
    assert _wait_until(lambda: any(p[2] == "Z" for p in init.jail_procs()), 1.0 * k), \
        "no zombie appeared (the test itself is broken)"
    assert _wait_until(lambda: [p[0] for p in init.jail_procs()] == [init.pid], 2.0 * k), \
        init.jail_procs()
    assert init.alive()


def test_flooding_output_does_not_starve_signals(start_init):
    # `yes` keeps the pipe full for ever: the init must still handle its signals.
    init = start_init(0, "yes & echo started")
    assert init.status(3.0 * TIME_SCALE) == "exit 0"
    init.wait_log("started", 3.0 * TIME_SCALE)
    time.sleep(0.3)
    t0 = time.monotonic()
    init.signal(signal.SIGTERM)
    # starved, the init would never end; `yes` itself takes a whole CPU, so on a loaded
    # 2-core machine the init may wait its turn (1 s failed once at load 10+)
    assert init.wait_exit(4.0 * TIME_SCALE) == 0
    assert time.monotonic() - t0 < 2.5 * TIME_SCALE
    assert init.log_path.stat().st_size > 0
