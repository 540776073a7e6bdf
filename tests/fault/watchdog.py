"""The fault suite's stall watchdog: the suite never hangs CI silently.

A thread of the pytest process watches the progress (test started / finished, and the
step of the current trial). When no test has finished for IOCELL_FAULT_STALL seconds
(default 300; 0 turns it off), it

  1. writes what is stuck to stderr and to a file (/tmp/iocell-fault-stall-SEED-PID.txt):
     the test and the trial's step, pytest's own Python stack, `ps` with the wait channel
     of every process, the kernel stack of every process in D state, every thread of the
     suite's zfs-fuse daemon (kernel stack, wait channel, and `gdb` backtraces when gdb is
     installed), the FUSE connections with their waiting requests, the mounts;
  2. writes the JSON report of the trials so far (the callback given to start());
  3. SIGKILLs the iocell processes the trials started, aborts the FUSE connections of the
     suite's pool (fusectl) and SIGKILLs the suite's own zfs-fuse daemon (started by the
     harness in the suite's private namespace, never another one): a process waiting in a
     FUSE request the daemon has read is in D state and not even SIGKILL ends it, but an
     aborted connection fails every pending request;
  4. ends pytest with status 7 (os._exit: nothing more can be trusted to return).

Why a thread: the main thread may be blocked in the kernel (D state in a FUSE readdir);
blocking calls release the GIL, so the thread still runs. Everything it runs is bounded
(subprocesses it waits for at most a few seconds and never waits for again).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback

STALL_S = float(os.environ.get("IOCELL_FAULT_STALL", "300"))
STALL_EXIT = 7  # pytest uses 0-5; scripts/test.sh names this status


class Watchdog:
    def __init__(self, limit: float = STALL_S, seed: int = 0):
        self.limit = limit
        self.seed = seed
        self.lock = threading.Lock()
        self.test = "(session set-up)"
        self.test_t0 = time.monotonic()
        self.last = time.monotonic()   # last progress: a test finished (or the run started)
        self.step = ""
        self.step_t0 = time.monotonic()
        self.main = threading.main_thread().ident
        self.daemon_pid = None         # zfs-fuse of the suite (from the harness's pidfile)
        self.pool = ""                 # the suite's scratch pool (its FUSE mounts may be aborted)
        self.sessions = lambda: set()  # iocell sessions started by the trials
        self.on_stall = None           # writes the JSON report so far
        self.path = f"/tmp/iocell-fault-stall-{seed}-{os.getpid()}.txt"
        self.stop = threading.Event()
        self.fired = False
        self.uncapture = None          # ends pytest's capture of fds 1 and 2 (its output must show)
        self.failures: list[str] = []  # tests failed before the stall (pytest's summary is lost)

    # ---- progress, from the pytest hooks and the trial
    def started(self, nodeid: str):
        with self.lock:
            self.test, self.test_t0, self.step = nodeid, time.monotonic(), ""

    def finished(self, nodeid: str):
        with self.lock:
            self.last = time.monotonic()
            self.step = ""

    def at(self, step: str):
        with self.lock:
            self.step, self.step_t0 = step, time.monotonic()

    # ---- the thread
    def start(self):
        if self.limit <= 0:
            return
        threading.Thread(target=self._run, name="fault-watchdog", daemon=True).start()

    def _run(self):
        while not self.stop.wait(min(5.0, self.limit / 4)):
            with self.lock:
                idle = time.monotonic() - self.last
            if idle >= self.limit:
                self.fire(idle)
                return

    def fire(self, idle: float):
        self.fired = True
        with self.lock:
            test, step = self.test, self.step
            in_test = time.monotonic() - self.test_t0
            in_step = time.monotonic() - self.step_t0
        head = (f"fault suite STALLED: no test finished for {idle:.0f} s (IOCELL_FAULT_STALL={self.limit:g}); "
                f"stuck in {test} for {in_test:.0f} s"
                + (f", step: {step} (for {in_step:.0f} s)" if step else ""))
        short, full = [head, ""], [head, ""]
        try:
            s, f = self.diagnose()
            short += s
            full += f
        except Exception:  # the dump must not keep the suite from ending
            short.append("diagnosis failed:\n" + traceback.format_exc())
            full = short
        text = "\n".join(full) + "\n"
        if self.uncapture:
            try:
                self.uncapture()
            except Exception:
                pass
        try:
            with open(self.path, "w") as f:
                f.write(text)
        except OSError:
            pass
        _say("\n" + "=" * 30 + " fault suite watchdog " + "=" * 30 + "\n" + "\n".join(short) + "\n"
             + f"(the full dump, with all processes, the mounts and gdb's stacks of the daemon: {self.path})\n")
        if self.on_stall:
            try:
                self.on_stall()
            except Exception as e:
                _say(f"watchdog: the JSON report could not be written: {e}\n")
        self.unblock()
        for f in self.failures:
            lines = f.splitlines()
            _say(f"\nFAILED before the stall: {lines[0]}\n" + "\n".join(lines[1:][-40:]) + "\n")
        _say(f"\n{head}\n"
             + (f"{len(self.failures)} test(s) FAILED before it (above)\n" if self.failures else "")
             + f"full diagnostics: {self.path}\n")
        os._exit(STALL_EXIT)

    def unblock(self):
        for sid in sorted(self.sessions()):
            try:
                os.killpg(sid, signal.SIGKILL)
            except OSError:
                pass
        # A request the daemon has read waits for its answer uninterruptibly, and a daemon
        # thread may itself wait in a request to its own mounts: aborting the suite's FUSE
        # connections (fusectl, mounted by fault.sh) ends every such wait at once.
        aborted = []
        for c in self.fuse_connections():
            try:
                with open(f"/sys/fs/fuse/connections/{c}/abort", "w") as f:
                    f.write("1")
                aborted.append(c)
            except OSError:
                pass
        if aborted:
            _say(f"watchdog: aborted the {len(aborted)} FUSE connections of pool {self.pool}'s mounts\n")
        pid = self.daemon_pid
        if pid and _comm(pid).startswith("zfs-fuse"):
            _say(f"watchdog: SIGKILL to the suite's zfs-fuse daemon (pid {pid}) to fail its pending requests\n")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.2)

    def fuse_connections(self) -> list[int]:
        """The FUSE connections (device minors) of the suite's pool's mounts."""
        out = []
        if not self.pool:
            return out
        for line in _read("/proc/self/mountinfo").splitlines():
            left, _, right = line.partition(" - ")
            f = right.split()
            if len(f) >= 2 and f[0].startswith("fuse") and (f[1] == self.pool or f[1].startswith(self.pool + "/")):
                major, _, minor = left.split()[2].partition(":")
                if major == "0" and minor.isdigit() and int(minor) not in out:
                    out.append(int(minor))
        return out

    # ---- what is stuck
    def diagnose(self) -> tuple[list[str], list[str]]:
        """(short, full): the short part goes to stderr too, the full one to the file."""
        frame = sys._current_frames().get(self.main)
        stack = [l.rstrip() for l in traceback.format_stack(frame)] if frame else ["(no frame)"]
        ext = traceback.extract_stack(frame) if frame else []
        first = next((i for i, fs in enumerate(ext) if "/tests/" in fs.filename), max(len(ext) - 12, 0))
        short = ["--- pytest's main thread (Python stack from the suite's first frame):"]
        short += [l.rstrip() for l in traceback.format_list(ext[first:])] or ["(no frame)"]
        full = ["--- pytest's main thread (Python stack):"] + stack
        ps = _cmd(["ps", "-eo", "pid,ppid,pgid,stat,wchan:32,etimes,args", "--sort", "pid"], 15)
        procs = {pid: (ppid, stat, comm) for pid, ppid, stat, comm in _procs()}
        mine = _descendants(procs, os.getpid()) | {os.getpid()} | ({self.daemon_pid} if self.daemon_pid else set())
        ours = [l for l in ps[1:] if l.split() and l.split()[0].isdigit() and
                (int(l.split()[0]) in mine or l.split()[3].startswith("D"))]
        short += ["", "--- the suite's processes and every process in D state (ps):"] + ps[:1] + ours
        full += ["", "--- all processes (ps -eo pid,ppid,pgid,stat,wchan,etimes,args):"] + ps
        d = ["", "--- kernel stacks of the processes in D state or waiting for a FUSE answer:"]
        for pid, (ppid, stat, comm) in sorted(procs.items()):
            if stat == "D" or _read(f"/proc/{pid}/wchan") == "request_wait_answer":
                d.append(f"pid {pid} ({comm}, parent {ppid}){' (the suite)' if pid in mine else ''}:")
                d += ["  " + l for l in _read(f"/proc/{pid}/stack").splitlines()]
        short += d
        full += d
        pid = self.daemon_pid
        z = ["", f"--- the suite's zfs-fuse daemon: pid {pid}, its threads (state, wait channel, kernel stack):"]
        zfull = list(z)
        if pid and os.path.exists(f"/proc/{pid}"):
            groups: dict = {}  # threads alike (state, kernel stack) shown once, with a count
            for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
                st = _read(f"/proc/{pid}/task/{tid}/stat")
                state = (st.rsplit(")", 1)[1].split() or ["?"])[0] if st.startswith(tid + " (") else "gone"
                wchan = _read(f"/proc/{pid}/task/{tid}/wchan")
                kst = " < ".join(l.split()[-1] for l in _read(f"/proc/{pid}/task/{tid}/stack").splitlines()[:8])
                zfull.append(f"thread {tid} state {state} wchan {wchan}: {kst}")
                groups.setdefault((state, wchan, kst), []).append(tid)
            for (state, wchan, kst), tids in sorted(groups.items(), key=lambda g: len(g[1])):
                who = f"thread {tids[0]}" if len(tids) == 1 else f"{len(tids)} threads ({tids[0]}...)"
                z.append(f"{who} state {state} wchan {wchan}: {kst}")
        else:
            z.append("(not running, or not started by the suite)")
            zfull = z
        f = ["", "--- FUSE connections with requests waiting (/sys/fs/fuse/connections/N/waiting):"]
        base = "/sys/fs/fuse/connections"
        ours = set(self.fuse_connections())
        for c in sorted(os.listdir(base), key=lambda x: int(x) if x.isdigit() else 0) if os.path.isdir(base) else []:
            w = _read(f"{base}/{c}/waiting").strip()
            if w != "0":
                f.append(f"connection {c}{' (the suite pool)' if c.isdigit() and int(c) in ours else ''}: {w} waiting")
        if not os.path.isdir(base) or not os.listdir(base):
            f.append("(fusectl is not mounted)")
        m = ["", "--- mounts (fuse, and the suite's tmpfs):"]
        m += [l for l in _read("/proc/self/mountinfo").splitlines() if " - fuse" in l or "iocell" in l]
        short += z + f
        full += zfull + f + m
        if pid and os.path.exists(f"/proc/{pid}"):
            if _which("gdb"):
                full += ["", "--- the daemon's user-space stacks (gdb: thread apply all bt):"]
                full += _cmd(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "set pagination off",
                              "-ex", "thread apply all bt"], 90)
            else:
                full.append("(no gdb: install it for the daemon's user-space stacks)")
        return short, full


def _descendants(procs: dict, root: int) -> set:
    kids: dict = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, ()):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def _say(s: str):
    try:
        os.write(2, s.encode(errors="replace"))
    except OSError:
        pass


def _read(p: str) -> str:
    try:
        with open(p, errors="replace") as f:
            return f.read()
    except OSError as e:
        return f"({e.strerror})"


def _comm(pid: int) -> str:
    return _read(f"/proc/{pid}/comm").strip()


def _which(name: str) -> bool:
    return any(os.access(os.path.join(d, name), os.X_OK) for d in os.environ.get("PATH", "").split(":") if d)


def _procs():
    """(pid, ppid, state, comm) of every process."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _read(f"/proc/{d}/stat")
            rest = st.rsplit(")", 1)[1].split() if st.startswith(d + " (") else []
            if len(rest) >= 2:  # else gone meanwhile
                yield int(d), int(rest[1]), rest[0], st[st.find("(") + 1:st.rfind(")")]


def _cmd(argv, timeout: float) -> list[str]:
    """Run argv for at most timeout seconds; never wait for it again (it may be stuck too)."""
    try:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    except OSError as e:
        return [f"({argv[0]}: {e})"]
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(p.stdout.read()), daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        t.join(2)
        return [f"({argv[0]} did not finish within {timeout:g} s)"] + (got[0].decode(errors="replace").splitlines() if got else [])
    p.poll()
    return got[0].decode(errors="replace").splitlines() if got else []
