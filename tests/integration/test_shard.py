"""shard.py: the guest tier's split of the suite (pure logic, no pool needed)."""

from __future__ import annotations

import pytest

import shard


def test_parse_spec():
    assert shard.parse_spec("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "1", "a/b", ""):
        with pytest.raises(ValueError):
            shard.parse_spec(bad)


def test_module_of():
    assert shard.module_of("tests/integration/test_x.py::test_y[a/b]") == "test_x"


def test_assign_is_a_partition_balanced_by_duration():
    counts = {"test_a": 10, "test_b": 10, "test_c": 10, "test_d": 5}
    durations = {"test_a": 100.0, "test_b": 60.0, "test_c": 50.0}
    parts = shard.assign(counts, durations, 2)
    assert sorted(m for p in parts for m in p) == sorted(counts)  # each module exactly once
    # test_d is unmeasured: weighed at the median seconds per test (6 s) x 5
    load = [sum(durations.get(m, 30.0) for m in p) for p in parts]
    assert parts[0][0] == "test_a" and sorted(load) == [110.0, 130.0]
    assert shard.assign(counts, durations, 2) == parts  # every shard computes the same split


def test_durations_from_text_and_junit(tmp_path):
    txt = tmp_path / "d.txt"
    txt.write_text("# module seconds\ntest_a 12.5\ntests/integration/test_b.py 3\n")
    xml = tmp_path / "j.xml"
    xml.write_text('<testsuites><testsuite><testcase classname="tests.integration.test_a" '
                   'name="t1" time="1.5"/><testcase classname="tests.integration.test_a" '
                   'name="t2" time="2"/></testsuite></testsuites>')
    assert shard.load_durations(f"{txt}:{tmp_path}/missing") == {"test_a": 12.5, "test_b": 3.0}
    assert shard.load_durations(f"{txt}:{xml}") == {"test_a": 3.5, "test_b": 3.0}
