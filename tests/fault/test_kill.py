"""Random kill trials (issue 15): every operation is run with the real iocell binary and
SIGKILLed at a seeded random moment; the next command (`iocell list -H`) runs, then the
residue check, a usability probe of what the operation made, the same operation again,
and the residue check once more. A trial fails when anything in between "did not happen"
and "happened completely" is found. See README.md for the knobs."""

import time
import traceback

import pytest

import faultlib as fl
import faultops as fo

SPECS = fl.plan(list(fo.OPS))


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_kill(spec, fault_env):
    fe = fault_env
    t = fo.Trial(spec, fl.SEED, fl.KILL_MODE)
    fe.current = t
    fe.results.append(t)
    t0 = time.monotonic()
    try:
        fo.run_trial(fe, t)
    except Exception:
        t.error = traceback.format_exc(limit=6)
        t.seconds = time.monotonic() - t0
        pytest.fail(f"{t.report()}\ntrial error:\n{t.error}", pytrace=False)
    if t.residues:
        pytest.fail(t.report(), pytrace=False)
