"""The stall watchdog (watchdog.py): a suite that stops making progress ends, with a
message naming the stuck test and step, instead of hanging CI."""

import subprocess
import sys
import time
from pathlib import Path

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
