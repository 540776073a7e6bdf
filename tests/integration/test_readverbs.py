"""Issue 12: every read verb speaks -H (tab-separated, no header) and -j (one JSON array
of objects, numbers as numbers), and none changes its output because stdout is a pipe."""

from __future__ import annotations

import json
import os
import subprocess

from helpers import ioc, iocell_bin, parse_uuid, state

# started jails here need no network
NONET = ("vnet=off", "ip4=disable", "ip6=disable")


def create(*args) -> str:
    return parse_uuid(ioc("create", *args).stdout)


# ---- every read verb: -H and -j --------------------------------------------------------

def _json(*args):
    data = json.loads(ioc(*args).stdout)
    assert isinstance(data, list) and all(isinstance(o, dict) for o in data), data
    return data


def _script(*args):
    out = ioc(*args).stdout
    assert out.endswith("\n") or out == ""
    return [l.split("\t") for l in out.splitlines()]


def _types(row: dict, spec: dict):
    for key, typ in spec.items():
        assert key in row, (key, row)
        assert isinstance(row[key], typ) and not (typ is int and isinstance(row[key], bool)), (key, row)


def test_every_read_verb_speaks_json_and_h(release, rundir):
    j = create("-c", f"release={release}", "tag=js", "priority=7", "quota=1G", *NONET)
    create("-c", f"release={release}", "tag=jt", *NONET)
    ioc("set", "template=yes", "jt")
    ioc("snapshot", "js@s1")
    ioc("start", "js")
    try:
        # list / list -t / list -r
        [row] = [r for r in _json("list", "-j") if r["uuid"] == j]
        _types(row, {"jid": int, "uuid": str, "boot": str, "state": str, "tag": str, "type": str,
                     "ip4": str, "release": str})
        assert row["jid"] == int(state(rundir, j)["jid"]) and row["state"] == "up"
        assert [r["tag"] for r in _json("list", "-t", "-j")] == ["jt"]
        [t] = _json("list", "-t", "-j")
        assert t["jid"] is None  # not running
        rel = [r for r in _json("list", "-r", "-j") if r["release"] == release]
        _types(rel[0], {"release": str, "created": str, "used": int, "source": str})
        assert rel[0]["used"] > 0
        assert [r[0] for r in _script("list", "-r", "-H")].count(release) == 1
        # get / get all / get -r
        assert _json("get", "-j", "priority", "js") == [{"property": "priority", "value": 7}]
        assert _script("get", "-H", "priority", "js") == [["7"]]
        allp = {r["property"]: r["value"] for r in _json("get", "-j", "all", "js")}
        assert allp["tag"] == "js" and allp["priority"] == 7 and allp["mount_procfs"] == 1
        assert allp["quota"] == "1G" and allp["notes"] == "none"
        rows = _script("get", "-H", "all", "js")
        assert len(rows) == len(allp) and all(len(r) == 2 for r in rows)
        rec = _json("get", "-r", "-j", "priority")
        _types(rec[0], {"uuid": str, "tag": str, "value": int})
        assert {r["tag"]: r["value"] for r in rec} == {"js": 7, "jt": 99}
        assert sorted(r[1] for r in _script("get", "-r", "-H", "priority")) == ["js", "jt"]
        assert _json("get", "-j", "vnet", "default") == [{"property": "vnet", "default": "on"}]
        # defaults
        d = {r["property"]: r["default"] for r in _json("defaults", "-j")}
        assert d["priority"] == 99 and d["vnet"] == "on"
        assert all(len(r) == 2 for r in _script("defaults", "-H"))
        # snaplist
        [s] = _json("snaplist", "-j", "js")
        _types(s, {"name": str, "created": str, "rsize": int, "used": int})
        assert s["name"] == "s1" and s["rsize"] > 0
        assert _script("snaplist", "-H", "js")[0][0] == "s1"
        # df
        [dfr] = [r for r in _json("df", "-j") if r["uuid"] == j]
        _types(dfr, {"uuid": str, "crt": float, "use": int, "ava": int, "qta": int, "tag": str})
        assert dfr["qta"] == 1 << 30 and dfr["res"] is None
        [h] = [r for r in _script("df", "-H") if r[0] == j]
        assert h[3] == "1G" and h[6] == "js"
        # limits (running jail, all jails)
        lim = _json("limits", "-j", "js")
        _types(lim[0], {"limit": str, "property": str, "in_force": str})
        assert lim[0]["limit"] == "cpuset"
        assert all(r["crossings"] is None or isinstance(r["crossings"], int) for r in lim)
        assert all(len(r) == 4 for r in _script("limits", "-H", "js"))
        assert all(r["jail"] == "js" for r in _json("limits", "-j"))
        # inuse
        use = {r["resource"]: r["in_use"] for r in _json("inuse", "-j", "js")}
        assert isinstance(use["memory"], int) and use["memory"] > 0
        assert isinstance(use["cputime"], (int, float)) and isinstance(use["processes"], int)
        assert all(len(r) == 2 for r in _script("inuse", "-H", "js"))
        [u] = _json("inuse", "-j")
        _types(u, {"jid": int, "tag": str, "memory": int, "cputime": (int, float), "procs": int})
        [uh] = _script("inuse", "-H")
        assert len(uh) == 12 and uh[1] == "js"
        # runtime
        [rt] = _json("runtime", "-j", "js")
        _types(rt, {"uuid": str, "tag": str, "jid": int, "init_pid": int, "root": str,
                    "namespaces": list, "cgroup": str, "interfaces": list})
        assert rt["init_pid"] == int(state(rundir, j)["pid"])
        assert {n["name"] for n in rt["namespaces"]} >= {"mnt", "pid", "uts"}
        assert all(isinstance(n["shared"], bool) for n in rt["namespaces"])
        sc = dict((r[0], r[1:]) for r in _script("runtime", "-H", "js"))
        assert sc["uuid"] == [j] and sc["jid"] == [str(rt["jid"])]
        # -H and -j together: a usage error
        for verb in (("list",), ("get", "all", "js"), ("snaplist", "js"), ("defaults",),
                     ("limits",), ("inuse",), ("runtime", "js"), ("df",)):
            assert ioc(verb[0], "-H", "-j", *verb[1:], check=False).returncode == 2, verb
            assert "-j" in ioc(verb[0], "-h").stdout, verb
    finally:
        ioc("stop", "js")


def test_output_does_not_change_in_a_pipe(release):
    """The table is the table on a terminal and in a pipe alike (tests capture stdout:
    a pipe); -H is what scripts ask for."""
    create("-c", f"release={release}", "tag=pp")
    for args, head in ((("get", "all", "pp"), "PROPERTY"), (("defaults",), "PROPERTY"),
                       (("snaplist", "pp"), "NAME"), (("list",), "JID"), (("df",), "UUID")):
        assert ioc(*args).stdout.split()[0] == head, args


def _on_a_terminal(*args) -> str:
    """iocell's stdout on a pseudo-terminal (stderr and stdin as usual)."""
    import pty
    mfd, sfd = pty.openpty()
    try:
        p = subprocess.Popen([iocell_bin(), *args], stdout=sfd, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        os.close(sfd)
        out = b""
        while True:
            try:
                chunk = os.read(mfd, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(timeout=120) == 0, p.stderr.read()
        p.stderr.close()
    finally:
        os.close(mfd)
    return out.decode().replace("\r\n", "\n")


def test_every_read_verb_prints_the_same_on_a_terminal_and_in_a_pipe(release, rundir):
    """Every read verb, its table and its -H and -j, byte for byte the same on a terminal
    and in a pipe."""
    create("-c", f"release={release}", "tag=tp", *NONET)
    ioc("snapshot", "tp@s1")
    ioc("start", "tp")
    try:
        for verb in (("list",), ("list", "-t"), ("list", "-r"), ("get", "all", "tp"),
                     ("get", "-r", "priority"), ("defaults",), ("snaplist", "tp"), ("df",),
                     ("limits", "tp"), ("runtime", "tp")):
            for fmt in ((), ("-H",), ("-j",)):
                args = (verb[0], *fmt, *verb[1:])
                assert _on_a_terminal(*args) == ioc(*args).stdout, args
    finally:
        ioc("stop", "tp")


def test_list_h_and_the_table_in_the_same_order(release):
    for tag in ("zeta", "alpha", "mid"):
        create("-c", f"release={release}", f"tag={tag}")
    table = [l.split()[4] for l in ioc("list").stdout.splitlines()[1:]]
    script = [r[4] for r in _script("list", "-H")]
    js = [r["tag"] for r in _json("list", "-j")]
    assert table == script == js == ["alpha", "mid", "zeta"]
    df_table = [l.split()[-1] for l in ioc("df").stdout.splitlines()[1:]]
    assert df_table == [r[6] for r in _script("df", "-H")] == ["alpha", "mid", "zeta"]
