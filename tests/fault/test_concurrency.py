"""Invariants under concurrency (issue 15, SPEC §2 and §11): two iocell processes racing
for one name never leave two jails with one UUID or one tag, and leave no residue.

Each race runs a few rounds (IOCELL_FAULT_RACE_ROUNDS, default 4); the two commands are
released together (both wait on one pipe) so they overlap for real."""

from __future__ import annotations

import os
import subprocess

import pytest

import faultlib as fl
from faultlib import NONET
from helpers import ioc, iocell_bin, parse_uuid

ROUNDS = int(os.environ.get("IOCELL_FAULT_RACE_ROUNDS", "4"))


def race(*argvs, stdin_paths=None):
    """Start every argv (iocell arguments) at the same moment; [(rc, stdout, stderr)]."""
    r, w = os.pipe()
    procs = []
    try:
        for i, a in enumerate(argvs):
            sp = (stdin_paths or [None] * len(argvs))[i]
            # a shell that waits for the go on the pipe, then execs iocell
            cmd = f"read -r _ <&{r}; exec \"$0\" \"$@\"" + (f" <'{sp}'" if sp else "")
            procs.append(subprocess.Popen(["bash", "-c", cmd, iocell_bin(), *a], pass_fds=(r,),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, start_new_session=True))
        os.close(r)
        r = -1
        os.write(w, b"go\n" * len(argvs))
    finally:
        if r >= 0:
            os.close(r)
        os.close(w)
    out = []
    for p in procs:
        o, e = p.communicate(timeout=300)
        out.append((p.returncode, o, e))
    return out, {p.pid for p in procs}


def jail_rows():
    return [l.split("\t") for l in ioc("list", "-H").stdout.splitlines() if l.strip()]


def assert_unique(what):
    rows = jail_rows()
    uuids = [r[1] for r in rows]
    tags = [r[4] for r in rows]
    assert len(set(uuids)) == len(uuids), f"{what}: one UUID twice in list: {rows}"
    assert len(set(tags)) == len(tags), f"{what}: one tag twice in list: {rows}"
    return rows


@pytest.mark.parametrize("flag", ["-c", "thick"])
def test_two_creates_of_one_tag(fault_env, flag):
    fe = fault_env
    for i in range(ROUNDS):
        tag = f"cc{i}"
        args = (["-c"] if flag == "-c" else []) + [f"release={fe.release}", f"tag={tag}", *NONET]
        res, pids = race(["create", *args], ["create", *args])
        ok = [x for x in res if x[0] == 0]
        assert len(ok) == 1, f"round {i}: {len(ok)} of 2 creates of tag={tag} succeeded: {res}"
        bad = [x for x in res if x[0] != 0][0]
        assert "already used" in bad[2], f"round {i}: the loser says {bad[2]!r}"
        rows = assert_unique(f"round {i}")
        assert [r[4] for r in rows].count(tag) == 1
        fl.assert_no_residue(fe, pids, what=f"two creates of tag={tag}, round {i}")


@pytest.mark.parametrize("how", ["file", "stream"])
def test_two_imports_of_one_image(fault_env, how):
    fe = fault_env
    src = [fe.image_uuid[:13]] if how == "file" else ["-"]
    stdin = [str(fe.image)] * 2 if how == "stream" else None
    for i in range(ROUNDS):
        before = {r[1] for r in jail_rows()}
        res, pids = race(["import", *src], ["import", *src], stdin_paths=stdin)
        ok = [x for x in res if x[0] == 0]
        assert len(ok) == 2, f"round {i}: imports failed: {[x for x in res if x[0] != 0]}"
        new = {parse_uuid(x[1]) for x in ok}
        assert len(new) == 2, f"round {i}: both imports report one UUID: {new}"
        rows = assert_unique(f"round {i}")
        assert {r[1] for r in rows} - before == new
        assert fe.image_uuid not in {r[1] for r in rows}, "an import kept the image's UUID"
        fl.assert_no_residue(fe, pids, what=f"two imports of one image, round {i}")


def test_two_imports_of_one_image_with_one_tag(fault_env):
    fe = fault_env
    for i in range(ROUNDS):
        tag = f"ci{i}"
        res, pids = race(["import", fe.image_uuid, f"tag={tag}"], ["import", fe.image_uuid, f"tag={tag}"])
        ok = [x for x in res if x[0] == 0]
        assert len(ok) == 1, f"round {i}: {len(ok)} of 2 imports with tag={tag} succeeded: {res}"
        rows = assert_unique(f"round {i}")
        assert [r[4] for r in rows].count(tag) == 1
        fl.assert_no_residue(fe, pids, what=f"two imports with tag={tag}, round {i}")


def test_two_renames_to_one_tag(fault_env):
    fe = fault_env
    for i in range(ROUNDS):
        a = fl.create("-c", f"release={fe.release}", f"tag=ra{i}", *NONET)
        b = fl.create("-c", f"release={fe.release}", f"tag=rb{i}", *NONET)
        res, pids = race(["set", f"tag=rx{i}", f"ra{i}"], ["set", f"tag=rx{i}", f"rb{i}"])
        ok = [x for x in res if x[0] == 0]
        assert len(ok) == 1, f"round {i}: {len(ok)} of 2 renames to rx{i} succeeded: {res}"
        rows = assert_unique(f"round {i}")
        assert [r[4] for r in rows].count(f"rx{i}") == 1
        fl.assert_no_residue(fe, pids, known={a, b}, what=f"two renames to one tag, round {i}")
