"""Splitting the integration suite over several machines (the guest tier's shards).

``IOCELL_TEST_SHARD=I/N`` (1 <= I <= N) keeps the I-th of N parts of the collected tests
and deselects the rest.  Every shard collects the same tests and computes the same split,
so the N parts are disjoint and together are the whole selection.

The unit of the split is a test module: a module's tests share module-scoped fixtures (the
escape suite's started jails, for one), which a split inside it would build twice.  The
modules are weighed by their measured durations and dealt out longest first, each to the
lightest shard so far (LPT), so the shards end at about the same time.

Durations come from ``IOCELL_TEST_DURATIONS``: one or more files (``:``-separated), each
either a JUnit XML report of an earlier run (``pytest --junitxml``; the times of its test
cases are summed per module) or a text file of ``MODULE SECONDS`` lines (``#`` comments),
e.g. ``scripts/guest/durations.txt``.  The later files win per module.  A module with no
measured time weighs the median seconds per test of the measured modules times its number
of tests.
"""

from __future__ import annotations

import os
import re
import statistics
import xml.etree.ElementTree as ET


def parse_spec(spec: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"IOCELL_TEST_SHARD must be I/N with 1 <= I <= N (not {spec!r})")
    return int(m.group(1)), int(m.group(2))


def module_of(nodeid: str) -> str:
    """``tests/integration/test_x.py::test_y[a]`` -> ``test_x``."""
    path = nodeid.split("::", 1)[0]
    return os.path.splitext(os.path.basename(path))[0]


def _junit_durations(path: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname") or ""
        mod = cls.split(".")[-1] if cls else ""
        # classname is "tests.integration.test_x" (or "...test_x.Class" for classes)
        for part in cls.split("."):
            if part.startswith("test_"):
                mod = part
                break
        try:
            t = float(case.get("time") or 0)
        except ValueError:
            continue
        if mod:
            out[mod] = out.get(mod, 0.0) + t
    return out


def _text_durations(path: str) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, secs = line.rpartition(" ")
            try:
                out[module_of(name.strip())] = float(secs)
            except ValueError:
                continue
    return out


def load_durations(spec: str | None) -> dict[str, float]:
    """Per-module seconds from the files named in ``spec`` (missing files are skipped)."""
    out: dict[str, float] = {}
    for path in (spec or "").split(":"):
        if not path or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(200).lstrip()
            got = _junit_durations(path) if head.startswith(b"<") else _text_durations(path)
        except (OSError, ET.ParseError, UnicodeDecodeError):
            continue
        out.update(got)
    return out


def assign(counts: dict[str, int], durations: dict[str, float], n: int) -> list[list[str]]:
    """Modules (name -> number of selected tests) dealt to n shards, longest first."""
    per_test = [durations[m] / c for m, c in counts.items() if m in durations and c]
    guess = statistics.median(per_test) if per_test else 1.0
    weight = {m: durations.get(m, guess * c) for m, c in counts.items()}
    shards: list[list[str]] = [[] for _ in range(n)]
    load = [0.0] * n
    for m in sorted(weight, key=lambda k: (-weight[k], k)):
        i = min(range(n), key=lambda k: (load[k], k))
        shards[i].append(m)
        load[i] += weight[m]
    return shards


def select(config, items) -> str | None:
    """Deselect the tests of the other shards; returns a line for the report header."""
    spec = os.environ.get("IOCELL_TEST_SHARD")
    if not spec:
        return None
    i, n = parse_spec(spec)
    counts: dict[str, int] = {}
    for item in items:
        m = module_of(item.nodeid)
        counts[m] = counts.get(m, 0) + 1
    durations = load_durations(os.environ.get("IOCELL_TEST_DURATIONS"))
    mine = set(assign(counts, durations, n)[i - 1])
    keep, drop = [], []
    for item in items:
        (keep if module_of(item.nodeid) in mine else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    est = sum(durations.get(m, 0.0) for m in mine)
    return (f"shard {i}/{n}: {len(keep)} tests of {len(keep) + len(drop)}, modules "
            f"{', '.join(sorted(mine)) or '(none)'} (measured {est:.0f} s)")


# ---- measuring: IOCELL_TEST_DURATIONS_OUT ----------------------------------------------

_left: dict[str, int] = {}
_spent: dict[str, float] = {}
_on = [False]


def track_begin(items, enabled: bool = True) -> None:
    """The selected tests per module (after the shard split); enabled=False (a run of
    parts of modules) writes nothing."""
    _left.clear()
    _spent.clear()
    _on[0] = enabled
    for item in items:
        m = module_of(item.nodeid)
        _left[m] = _left.get(m, 0) + 1


def track_report(report) -> None:
    """Add a test phase's seconds; after a test's teardown, rewrite the file named by
    IOCELL_TEST_DURATIONS_OUT with the modules whose selected tests have all run (a text
    file for load_durations).  Modules cut short are left out: they would weigh too little."""
    out = os.environ.get("IOCELL_TEST_DURATIONS_OUT")
    if not out or not _on[0]:
        return
    m = module_of(report.nodeid)
    _spent[m] = _spent.get(m, 0.0) + float(getattr(report, "duration", 0.0) or 0.0)
    if report.when != "teardown" or m not in _left:
        return
    _left[m] -= 1
    done = sorted(k for k, v in _left.items() if v <= 0)
    tmp = out + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("# seconds per test module, measured (tests/integration/shard.py)\n")
            for k in done:
                f.write(f"{k} {_spent.get(k, 0.0):.0f}\n")
        os.replace(tmp, out)
    except OSError:
        pass
