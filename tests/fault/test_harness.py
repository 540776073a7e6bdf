"""The harness's own safety: the stall watchdog (watchdog.py) ends a run that stops making
progress, naming the stuck test and step, instead of hanging CI; and the forceful
cleaning kills only processes the suite started, never a process whose session or group
id merely equals that of a session of the suite that has ended (pid_max is 32768 here)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import faultlib as fl

HERE = Path(__file__).resolve().parent

PROG = """
import sys, time
sys.path.insert(0, sys.argv[1])
import watchdog
wd = watchdog.Watchdog(limit=2, seed=1)
wd.path = sys.argv[2]
wd.started("tests/fault/test_kill.py::test_kill[0042-import-stream]")
wd.at("the next command (iocell list -H)")
wd.on_stall = lambda: print("report written", file=sys.stderr, flush=True)
wd.failures.append("tests/fault/test_kill.py::test_kill[0041-clone] (call):\\nRESIDUE [after-kill] stray-dataset")
wd.start()
time.sleep(60)  # stands for a call that never returns
print("not reached", flush=True)
"""


def test_watchdog_ends_a_stalled_run_naming_the_trial(tmp_path):
    dump = tmp_path / "stall.txt"
    prog = tmp_path / "stalled_suite.py"
    prog.write_text(PROG)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, str(prog), str(HERE), str(dump)], capture_output=True,
                       text=True, timeout=120)
    took = time.monotonic() - t0
    assert p.returncode == 7, (p.returncode, p.stderr[-2000:])
    assert took < 50, f"the watchdog took {took:.0f} s to end a run stalled for 2 s"
    assert "not reached" not in p.stdout
    err = p.stderr
    assert "fault suite STALLED: no test finished for" in err
    assert "test_kill[0042-import-stream]" in err
    assert "step: the next command (iocell list -H)" in err
    assert "report written" in err
    # what failed before the stall (pytest's own summary never comes)
    assert "FAILED before the stall: tests/fault/test_kill.py::test_kill[0041-clone] (call):" in err
    assert "RESIDUE [after-kill] stray-dataset" in err and "1 test(s) FAILED before it" in err
    # the stuck Python frame, the process itself, and the file with the full dump
    assert "time.sleep(60)  # stands for a call that never returns" in err
    assert "stalled_suite.py" in err.split("--- the suite's processes", 1)[1]
    text = dump.read_text()
    assert "test_kill[0042-import-stream]" in text and "--- all processes" in text


def test_cleaning_spares_a_stranger_with_a_reused_session_id(fault_env):
    """A session the suite started ends, its number is reused by someone else's process
    (a compiler, another suite's zfs-fuse daemon): the forceful cleaning (and the residue
    check) must leave that process alone. Staged: a process in a session of its own,
    without the suite's tag, whose session id is put among the suite's sessions."""
    fe = fault_env
    env = {k: v for k, v in os.environ.items() if k != "IOCELL_FAULT_RUN"}
    stranger = subprocess.Popen(["sleep", "120"], start_new_session=True, env=env)
    ours = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        time.sleep(0.2)  # both exec'd: their environments are the new ones
        fe.sessions |= {stranger.pid, ours.pid}
        done = fl.hard_clean(fe, set())
        assert stranger.poll() is None, f"the cleaning killed a process that is not the suite's: {done}"
        assert not any(f"pid {stranger.pid} " in d for d in done), done
        assert ours.wait(timeout=10) == -signal.SIGKILL, f"the suite's own leftover was not killed: {done}"
        assert f"killed process: pid {ours.pid} sleep" in done, done
        w = fl.capture_world(fe)
        res = [r for r in fl.check_world(fe, w, "after", {stranger.pid}) if r.kind == "process-left"]
        assert not res, f"a stranger reported as residue of the suite: {res}"
    finally:
        fe.sessions -= {stranger.pid, ours.pid}
        for p in (stranger, ours):
            if p.poll() is None:
                p.kill()
            p.wait()
