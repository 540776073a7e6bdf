"""pytest set-up of the fault-injection suite (tests/fault).

The integration harness is reused as is: tests/integration/conftest.py is loaded under
another module name and its fixtures and hooks are re-exported here (scratch pool on
zfs-fuse, activation, IOCELL_RUNDIR, the busybox release, per-test jail cleaning), and
tests/integration/helpers.py is importable. On top of it:

  fault_env     (session) the assets every trial uses (a second release, a package, an
                image, a fetch update), the session's baseline world and the results;
  _fault_clean  (autouse) after each test: the harness's own cleaning, then whatever it
                could not remove is removed by force (recorded per trial in the report);
  a summary at the end of the run (per operation: trials, killed, outcome, residue kinds,
                typical delays) and a JSON report (IOCELL_FAULT_REPORT, else in /tmp).

Run it with `bash scripts/fault.sh` (see tests/fault/README.md), not from scripts/test.sh.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_INTEG = _HERE.parent / "integration"
for _p in (str(_INTEG), str(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

_spec = importlib.util.spec_from_file_location("iocell_integration_conftest", _INTEG / "conftest.py")
_integ = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _integ
_spec.loader.exec_module(_integ)
# fixtures (pool, release, ioc..., the autouse iocell_env and _clean_jails) and hooks
globals().update({k: v for k, v in vars(_integ).items() if not k.startswith("__")})

import faultlib as fl  # noqa: E402
import faultops as fo  # noqa: E402
import watchdog  # noqa: E402

_FE: fo.FaultEnv | None = None
_WD = watchdog.Watchdog(seed=fl.SEED)


def pytest_sessionstart(session):
    from helpers import POOL
    _WD.pool = POOL  # known before the daemon and the pool are set up
    fl.STEP = _WD.at
    _WD.sessions = lambda: set(fl.LIVE)
    _WD.on_stall = lambda: _write_report(None)
    capman = session.config.pluginmanager.getplugin("capturemanager")
    if capman:
        _WD.uncapture = lambda: capman.suspend_global_capture(in_=False)
    _WD.start()


def pytest_runtest_logstart(nodeid, location):
    _WD.started(nodeid)


def pytest_runtest_logfinish(nodeid, location):
    _WD.finished(nodeid)


def pytest_runtest_logreport(report):
    # a stalled run ends without pytest's summary: the watchdog prints these failures
    if report.failed:
        _WD.failures.append(f"{report.nodeid} ({report.when}):\n{report.longreprtext}")


def pytest_report_header(config):
    lines = _integ.pytest_report_header(config)
    lines.append(f"fault suite: seed {fl.SEED} (IOCELL_FAULT_SEED), {fl.TRIALS} kill trials "
                 f"(IOCELL_FAULT_TRIALS), kill mode {fl.KILL_MODE} (IOCELL_FAULT_KILL)"
                 + (f", ops {fl.ONLY_OPS}" if fl.ONLY_OPS else "")
                 + (f", forced delay {fl.FORCED_DELAY} ms" if fl.FORCED_DELAY else ""))
    return lines


def _jail_uuids() -> set:
    from helpers import JAILS_DS, datasets
    return {d.rsplit("/", 1)[1] for d in datasets(JAILS_DS) if d.count("/") == JAILS_DS.count("/") + 1}


@pytest.fixture(scope="session")
def fault_env(iocell_env, release):
    global _FE
    if iocell_env.daemon_pidfile:  # the harness's own daemon: the watchdog may kill it
        try:
            _WD.daemon_pid = int(Path(iocell_env.daemon_pidfile).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    fe = fo.FaultEnv(iocell_env, release)
    fe.build_assets()
    made = _jail_uuids()
    iocell_env.clean_jails()
    fe.take_baseline()  # what the session made is no residue: the datasets stay...
    fl.hard_clean(fe, made, made)  # ...the cache files of the jails the harness destroyed go
    fe.take_baseline()
    _FE = fe
    return fe


@pytest.fixture(autouse=True)
def _fault_clean(request, iocell_env, fault_env):
    """After each test: the harness's cleaning, then force for whatever is left."""
    fe = fault_env
    fe.current = None
    yield
    known = set(fe.current.known) if fe.current else set()
    made = _jail_uuids()
    try:
        iocell_env.clean_jails()
    except Exception as e:  # the harness could not clean: force does
        fl_note = f"harness cleaning failed: {e!s:.200}"
    else:
        fl_note = None
    fl.clean_products(fe)
    done = fl.hard_clean(fe, known | made, made)
    if fl_note:
        done.insert(0, fl_note)
    # nothing was left to clean: nothing can be left over now (saves a capture per test)
    still = sorted(set(fl.capture_world(fe, known).ds) - fe.baseline_ds) if done else []
    if still:
        # quarantine: later tests must not fail for what this one left
        done.append(f"STILL LEFT after forceful cleaning (quarantined): {still}")
        fe.baseline_ds |= set(still)
        fe.quarantined += still
    if fe.current is not None:
        fe.current.cleaning = done
    elif done:
        fe.other_cleaning[request.node.nodeid] = done
        print(f"\n[fault] forceful cleaning after the test: {'; '.join(done)}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    fe = _FE
    if fe is None or not (fe.results or fe.quarantined or fe.other_cleaning):
        return
    tr = terminalreporter
    per_op = fo.summarize(fe.results)
    secs = [t.seconds for t in fe.results] or [0.0]
    tr.section("iocell fault injection")
    tr.write_line(f"seed {fl.SEED}, kill mode {fl.KILL_MODE}, {len(fe.results)} trials in "
                  f"{sum(secs):.0f} s of trial time ({sum(secs) / len(secs):.1f} s per trial), "
                  f"suite wall time {time.monotonic() - fe.t0:.0f} s")
    tr.write_line(f"{'operation':16} {'trials':>6} {'killed':>6} {'done1st':>7} {'happened':>8} "
                  f"{'not':>4} {'RESIDUE':>7}  residue kinds (count) / delays of residue trials (ms)")
    for op in sorted(per_op):
        o = per_op[op]
        kinds = ", ".join(f"{k}({n})" for k, n in sorted(o["kinds"].items(), key=lambda x: -x[1]))
        tr.write_line(f"{op:16} {o['trials']:6} {o['killed']:6} {o['finished_first']:7} {o['happened']:8} "
                      f"{o['not_happened']:4} {o['residue']:7}  {kinds}"
                      + (f" / {sorted(o['residue_delays_ms'])}" if o["residue_delays_ms"] else ""))
    forced = [t for t in fe.results if t.cleaning]
    if forced:
        cats: dict = {}
        for t in forced:
            for c in t.cleaning:
                cats.setdefault(c.split(":", 1)[0], set()).add(t.spec.op)
        tr.write_line(f"{len(forced)} trial(s) needed forceful cleaning after the harness's own:")
        for c, ops in sorted(cats.items()):
            tr.write_line(f"  {c}: after {', '.join(sorted(ops))}")
    for nodeid, done in fe.other_cleaning.items():
        tr.write_line(f"forceful cleaning after {nodeid.split('::')[-1]}: {'; '.join(done)[:600]}")
    if fe.quarantined:
        tr.write_line(f"NOT REMOVABLE even by force (quarantined, ignored by later checks): {fe.quarantined}")
    healed = [t for t in fe.results if t.next_stderr.strip()]
    if healed:
        tr.write_line(f"the next command (list -H) wrote to stderr in {len(healed)} trial(s), e.g.: "
                      f"{healed[0].next_stderr.strip()[:200]!r}")
    _write_report(tr)


def _write_report(tr):
    """The JSON report (at the end, or by the watchdog when the suite stalled)."""
    fe = _FE
    if fe is None:
        return
    say = tr.write_line if tr else (lambda s: sys.stderr.write(s + "\n"))
    per_op = fo.summarize(fe.results)
    path = fl.REPORT or os.path.join("/tmp", f"iocell-fault-{fl.SEED}-{os.getpid()}.json")
    try:
        with open(path, "w") as f:
            json.dump({"seed": fl.SEED, "kill_mode": fl.KILL_MODE, "trials": [t.to_dict() for t in fe.results],
                       "per_op": {k: {kk: vv for kk, vv in v.items() if kk != "examples"}
                                  for k, v in per_op.items()},
                       "stalled": _WD.fired and {"test": _WD.test, "step": _WD.step}}, f, indent=1)
        say(f"JSON report: {path}" + (f" ({len(fe.results)} trials before the stall)" if _WD.fired else ""))
    except OSError as e:
        say(f"could not write the JSON report {path}: {e}")
