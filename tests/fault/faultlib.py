"""Fault injection for iocell (issue 15): kill -9 the real binary at a random moment, then
check that the pool, the runtime directory, the kernel objects and the process table hold
no residue of the interrupted operation.

Python 3.11 standard library only; uses the integration harness (tests/integration/helpers.py
and, through tests/fault/conftest.py, its conftest: pool, activation, rundir, releases).

Vocabulary
  trial    one operation run once and killed at one moment (or left to finish if it is
           faster than the moment).
  world    a snapshot of everything iocell can leave behind (see capture_world).
  residue  one thing in the world that belongs neither to "the operation did not happen"
           nor to "the operation happened completely" (see check_world and the ops' judges).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from helpers import IOCROOT_DS, JAILS_DS, POOL, RELEASES_DS, destroy_dataset, ioc, parse_uuid, run

BASE_DS = f"{IOCROOT_DS}/base"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UUID_FULL = re.compile(rf"^{UUID_RE.pattern}$")
GONE_PREFIX = "iocgone"  # a veth host end detached at stop (src/linux/jailnet.h)
NONET = ("vnet=off", "ip4=disable")

# --------------------------------------------------------------------------------------
# knobs (environment)


def _env_int(name: str, default: int) -> int:
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


#: Seed of the trial plan; printed in the report header and the summary. Settable.
SEED = _env_int("IOCELL_FAULT_SEED", int.from_bytes(os.urandom(4), "big") % 1_000_000)
#: Number of random kill trials (CI mode: 100; long mode: 1000).
TRIALS = _env_int("IOCELL_FAULT_TRIALS", 100)
#: "group": SIGKILL to iocell's whole process group (children die with it);
#: "process": SIGKILL to iocell only (children run on, as after a segfault of iocell).
KILL_MODE = os.environ.get("IOCELL_FAULT_KILL", "group")
#: Comma-separated subset of operations (names in OPS), default all.
ONLY_OPS = [o for o in os.environ.get("IOCELL_FAULT_OPS", "").replace(" ", "").split(",") if o]
#: Force the kill moment (milliseconds after exec) of every trial: reproduce one trial.
FORCED_DELAY = os.environ.get("IOCELL_FAULT_DELAY_MS", "").strip()
#: Run the operation once more, uncut, after the check ("the same operation again").
REDO = os.environ.get("IOCELL_FAULT_REDO", "1") != "0"
#: Seconds to wait, in process mode, for the children of the killed iocell to finish.
ORPHAN_WAIT = float(os.environ.get("IOCELL_FAULT_ORPHAN_WAIT", "10"))
#: Where the JSON report goes.
REPORT = os.environ.get("IOCELL_FAULT_REPORT", "")

if KILL_MODE not in ("group", "process"):
    raise SystemExit(f"IOCELL_FAULT_KILL must be 'group' or 'process', not {KILL_MODE!r}")


# --------------------------------------------------------------------------------------
# the plan: operation and moment of every trial, from the seed alone


@dataclasses.dataclass
class Spec:
    index: int
    op: str
    moment: str  # "exec" (0-2 ms after exec), "uniform" (0-200 ms), "late" (the last 15 %)
    u: float     # uniform draw in [0, 1) that places the moment inside its range

    @property
    def id(self) -> str:
        return f"{self.index:04d}-{self.op}"


def plan(ops: list[str], trials: int = TRIALS, seed: int = SEED) -> list[Spec]:
    """Round-robin over a seeded shuffle of ops (every op gets trials/len(ops) +-1);
    the moment of each trial is drawn from its own seeded generator."""
    if ONLY_OPS:
        unknown = [o for o in ONLY_OPS if o not in ops]
        if unknown:
            raise SystemExit(f"IOCELL_FAULT_OPS: unknown operation(s) {unknown}; known: {ops}")
        ops = [o for o in ops if o in ONLY_OPS]
    order = list(ops)
    random.Random(seed).shuffle(order)
    specs = []
    for i in range(trials):
        r = random.Random(f"{seed}:{i}")
        x = r.random()
        moment = "exec" if x < 0.10 else "late" if x < 0.30 else "uniform"
        specs.append(Spec(i, order[i % len(order)], moment, r.random()))
    return specs


# Typical uncut durations (ms) on the reference machine, used for "late" moments until the
# session has measured the operation itself (uncut runs: redo, setup).
DEFAULT_MS = {
    "create-c": 80, "create": 170, "create-b": 230, "clone": 150, "start": 80, "stop": 40,
    "destroy": 300, "snapshot": 60, "rollback": 230, "export": 220, "export-stream": 200,
    "import-image": 250, "import-stream": 250, "import-package": 250, "fetch": 600,
    "fetch-update": 700, "upgrade": 150, "update": 150, "set-tag": 50,
}


class Durations:
    def __init__(self):
        self.seen: dict[str, list[float]] = {}

    def add(self, op: str, ms: float) -> None:
        self.seen.setdefault(op, []).append(ms)

    def typical(self, op: str) -> float:
        v = self.seen.get(op)
        return statistics.median(v) if v else DEFAULT_MS.get(op, 200)


def delay_ms(spec: Spec, durations: Durations) -> float:
    if FORCED_DELAY:
        return float(FORCED_DELAY)
    if spec.moment == "exec":
        return 2.0 * spec.u
    if spec.moment == "late":
        d = durations.typical(spec.op)
        return d * (0.85 + 0.15 * spec.u)
    return 200.0 * spec.u


# --------------------------------------------------------------------------------------
# processes


@dataclasses.dataclass
class ProcInfo:
    pid: int
    ppid: int
    pgrp: int
    sid: int
    state: str
    start: int
    comm: str
    args: str
    cgroup: str


def proc_stat(pid: int) -> ProcInfo | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
        comm = raw[raw.index("(") + 1: raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                cg = f.read()
        except OSError:
            cg = ""
        return ProcInfo(pid, int(rest[1]), int(rest[2]), int(rest[3]), rest[0], int(rest[19]), comm,
                        args, cg)
    except (OSError, ValueError, IndexError):
        return None


# Every process the suite starts carries this in its environment (iocell passes its own to
# zfs, cp, the shims...). A session or process group id alone does not make a process ours:
# pid_max is 32768 here and the machine is shared, so the number of a session that ended
# is soon the session or group of someone else's process (a compiler, another suite's
# zfs-fuse daemon or pytest), and matching on it alone made the suite SIGKILL those.
RUN_TAG = f"{os.getpid()}-{time.time_ns()}"
os.environ["IOCELL_FAULT_RUN"] = RUN_TAG
_TAG_BYTES = f"IOCELL_FAULT_RUN={RUN_TAG}".encode()


def started_by_us(pid: int) -> bool:
    """Does the process carry this run's tag (started by the suite, or by what it ran)?
    An unreadable environment (the process is gone, or exec'ing) counts as not ours."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return _TAG_BYTES in f.read().split(b"\0")
    except OSError:
        return False


def in_sessions(p: ProcInfo, sessions) -> bool:
    """Is p a process of one of the sessions/process groups the suite started?"""
    return (p.sid in sessions or p.pgrp in sessions) and started_by_us(p.pid)


def proc_table() -> list[ProcInfo]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            p = proc_stat(int(d))
            if p and p.state not in ("Z", "X"):
                out.append(p)
    return out


def init_alive(pid: int, start: int | None) -> bool:
    p = proc_stat(pid)
    return bool(p and p.state not in ("Z", "X") and (start is None or p.start == start))


# --------------------------------------------------------------------------------------
# the world


@dataclasses.dataclass
class DS:
    name: str
    type: str
    origin: str
    mounted: str
    mountpoint: str
    userrefs: str
    defer: str


@dataclasses.dataclass
class World:
    ds: dict            # name -> DS (filesystems, volumes, snapshots under POOL/iocell)
    props: dict         # dataset -> {property: value} (local/received, depth <= 2)
    list_rc: int
    list_out: str
    list_err: str
    mounts: list        # (source, mountpoint, fstype) under the pool or the mount root
    rundir: list        # relative paths in IOCELL_RUNDIR (jids/N included)
    states: dict        # uuid -> dict of the state file
    running: set        # uuids whose state says running and whose init is alive
    cgroups: dict       # uuid -> [cgroup dirs] (only uuids the caller asked about)
    links: list         # (ifname, kind, alias)
    procs: list         # ProcInfo of every live process
    files: list         # interesting paths under the mount root (relative)

    def jails(self) -> list[str]:
        """Direct children of POOL/iocell/jails (complete or not)."""
        n = JAILS_DS.count("/") + 1
        return sorted(k for k, d in self.ds.items() if d.type != "snapshot" and k.startswith(JAILS_DS + "/")
                      and k.count("/") == n)

    def snaps_of(self, ds: str) -> list[str]:
        return sorted(k.split("@", 1)[1] for k, d in self.ds.items() if d.type == "snapshot"
                      and k.split("@", 1)[0] == ds)

    def origins(self) -> set:
        return {d.origin for d in self.ds.values() if d.origin not in ("-", "")}


def _zfs_lines(args) -> tuple[int, list[list[str]], str]:
    p = run(["zfs", *args], check=False)
    return p.returncode, [l.split("\t") for l in p.stdout.splitlines() if l], p.stderr


def capture_world(fe, known: set | None = None, list_proc=None) -> World:
    """Everything iocell can leave behind, as seen from here (our mount and net namespaces).
    list_proc: the CompletedProcess of the `iocell list -H` just run (else it is run here)."""
    _, rows, _ = _zfs_lines(["list", "-H", "-r", "-t", "all", "-o",
                             "name,type,origin,mounted,mountpoint,userrefs,defer_destroy", IOCROOT_DS])
    ds = {r[0]: DS(*r[:7]) for r in rows if len(r) >= 7}
    _, rows, _ = _zfs_lines(["get", "-H", "-r", "-d", "2", "-s", "local,received", "-o",
                             "name,property,value", "all", IOCROOT_DS])
    props: dict = {}
    for r in rows:
        if len(r) >= 3:
            props.setdefault(r[0], {})[r[1]] = r[2]
    if list_proc is None:
        list_proc = ioc("list", "-H", check=False)
    mounts = []
    roots = (str(fe.mountroot), str(fe.pool_mnt))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mp = left.split()[4].replace("\\040", " ")
            fstype, source = right.split()[:2]
            if source == POOL or source.startswith(POOL + "/") or any(
                    mp == r or mp.startswith(r + "/") for r in roots):
                mounts.append((source, mp, fstype))
    rd = Path(os.environ["IOCELL_RUNDIR"])
    rundir = []
    for root, dirs, files in os.walk(rd):
        for n in dirs + files:
            rundir.append(os.path.relpath(os.path.join(root, n), rd))
    states, running = {}, set()
    for n in rundir:
        if n.endswith(".state") and "/" not in n:
            uuid = n[:-6]
            try:
                st = dict(l.split("=", 1) for l in (rd / n).read_text().splitlines() if "=" in l)
            except OSError:
                continue
            states[uuid] = st
            try:
                pid = int(st.get("pid", "0"))
                start = int(st["starttime"]) if st.get("starttime", "").isdigit() else None
            except ValueError:
                pid, start = 0, None
            if st.get("phase") == "running" and pid > 0 and init_alive(pid, start):
                running.add(uuid)
    uuids = set(known or ())
    uuids |= {k.rsplit("/", 1)[1] for k in ds if UUID_FULL.match(k.rsplit("/", 1)[1].split("@")[0])}
    uuids |= {m.group(0) for n in rundir for m in [UUID_RE.match(n)] if m}
    cgroups = {}
    for u in uuids:
        dirs = glob.glob(f"/sys/fs/cgroup/*/iocell/{u}") + glob.glob(f"/sys/fs/cgroup/iocell/{u}")
        if dirs:
            cgroups[u] = sorted(dirs)
    links = []
    # A stop detaches a veth host end (renamed iocgone<index>) and leaves it to the kernel,
    # which removes it with the jail's network namespace some tens of ms later (SPEC §6):
    # wait for that (bounded: the kernel ends namespaces one after another, and other
    # suites may be ending theirs) before judging; one still there after 20 s is residue.
    gone_by = time.monotonic() + 20
    while True:
        links = []
        p = run(["ip", "-j", "-d", "link", "show"], check=False)
        try:
            for l in json.loads(p.stdout or "[]"):
                kind = (l.get("linkinfo") or {}).get("info_kind", "")
                links.append((l.get("ifname", ""), kind, l.get("ifalias", "")))
        except ValueError:
            pass
        if not any(n.startswith(GONE_PREFIX) for n, _, _ in links) or time.monotonic() > gone_by:
            break
        time.sleep(0.02)
    files = []
    mr = Path(fe.mountroot)
    for pat in (".fetch-*", "images/*", "images/.*", "packages/.*", "log/*"):
        files += [os.path.relpath(x, mr) for x in glob.glob(str(mr / pat))]
    return World(ds, props, list_proc.returncode, list_proc.stdout, list_proc.stderr, mounts,
                 sorted(rundir), states, running, cgroups, links, proc_table(), sorted(files))


# --------------------------------------------------------------------------------------
# residue


@dataclasses.dataclass
class Residue:
    phase: str   # "after-kill" (after the next command) or "after-redo"
    kind: str
    detail: str

    def __str__(self):
        return f"[{self.phase}] {self.kind}: {self.detail}"


def jail_issues(fe, w: World, ds: str) -> list[str]:
    """Why the jail dataset ds is not a complete jail ([] when it is)."""
    uuid = ds.rsplit("/", 1)[1]
    if not UUID_FULL.match(uuid):
        return ["not a jail name (staging or foreign dataset)"]
    issues = []
    props = w.props.get(ds, {})
    missing = sorted(fe.ref_props - props.keys())
    if missing:
        issues.append(f"{len(missing)} of {len(fe.ref_props)} properties missing (e.g. {', '.join(missing[:4])})")
    hu = props.get("iocell:host_hostuuid")
    if hu is not None and hu != uuid:
        issues.append(f"host_hostuuid is {hu}, not its dataset's UUID (tag {props.get('iocell:tag')})")
    if w.ds[ds].mounted != "yes":
        issues.append("jail dataset not mounted")
    root = f"{ds}/root"
    if root not in w.ds:
        issues.append("no root dataset")
    elif w.ds[root].mounted != "yes":
        issues.append("root dataset not mounted")
    if props.get("iocell:type") == "basejail":
        for d in fe.base_dirs:
            c = f"{root}/{d}"
            if c not in w.ds:
                issues.append(f"basejail without its {d} clone")
            elif w.ds[c].mounted != "yes":
                issues.append(f"basejail {d} clone not mounted")
    return issues


def complete_jails(fe, w: World) -> dict:
    """uuid -> props of every complete jail."""
    return {ds.rsplit("/", 1)[1]: w.props.get(ds, {}) for ds in w.jails() if not jail_issues(fe, w, ds)}


def release_issues(fe, w: World, rel: str) -> list[str]:
    rds = f"{RELEASES_DS}/{rel}"
    issues = []
    props = w.props.get(rds, {})
    for p in ("iocell:source", "iocell:fetched"):
        if p not in props:
            issues.append(f"no {p}")
    if f"{rds}/root" not in w.ds:
        issues.append("no root dataset")
    elif f"{rds}/root@release" not in w.ds:
        issues.append("no root@release snapshot")
    for d in fe.base_dirs:
        if f"{BASE_DS}/{rel}/{d}@release" not in w.ds:
            issues.append(f"no basejail master {d}@release")
    return issues


_OK_RUNFILES = re.compile(r"^(global\.lock|pool|idbases|zfs-fuse-daemon|index-.*|defaults-.*|release-.*\.lock|seccomp-.*\.bpf|jids|idranges|inflight)$")


def check_world(fe, w: World, phase: str, sessions: set) -> list[Residue]:
    """The generic residue check (independent of the operation)."""
    out: list[Residue] = []

    def r(kind, detail):
        out.append(Residue(phase, kind, detail))

    if w.list_rc != 0:
        r("next-command-failed", f"`iocell list -H` exit {w.list_rc}: {w.list_err.strip()[:300]}")

    # ---- jails
    jails = w.jails()
    complete = {}
    for ds in jails:
        issues = jail_issues(fe, w, ds)
        if issues:
            tag = w.props.get(ds, {}).get("iocell:tag", "?")
            r("incomplete-jail", f"{ds} (tag {tag}): " + "; ".join(issues))
        else:
            complete[ds.rsplit("/", 1)[1]] = w.props.get(ds, {})
    by_uuid, by_tag = {}, {}
    for ds in jails:
        p = w.props.get(ds, {})
        if "iocell:host_hostuuid" in p:
            by_uuid.setdefault(p["iocell:host_hostuuid"], []).append(ds)
        if "iocell:tag" in p:
            by_tag.setdefault(p["iocell:tag"], []).append(ds)
    for k, v in by_uuid.items():
        if len(v) > 1:
            r("duplicate-uuid", f"host_hostuuid {k} on {', '.join(v)}")
    for k, v in by_tag.items():
        if len(v) > 1:
            r("duplicate-tag", f"tag {k!r} on {', '.join(v)}")

    # ---- what `list` shows
    if w.list_rc == 0:
        rows = [l.split("\t") for l in w.list_out.splitlines() if l.strip()]
        seen_u, seen_t = {}, {}
        for row in rows:
            if len(row) < 5:
                r("list-garbled", repr(row))
                continue
            seen_u[row[1]] = seen_u.get(row[1], 0) + 1
            seen_t[row[4]] = seen_t.get(row[4], 0) + 1
            if row[1] not in complete:
                r("list-shows-incomplete", f"list shows {row[1]} (tag {row[4]}) which is not a complete jail")
        for u, n in seen_u.items():
            if n > 1:
                r("list-duplicate-uuid", f"list shows UUID {u} {n} times")
        for t, n in seen_t.items():
            if n > 1:
                r("list-duplicate-tag", f"list shows tag {t!r} {n} times")
        for u, p in complete.items():
            if p.get("iocell:template") != "yes" and u not in seen_u:
                r("list-misses-jail", f"complete jail {u} (tag {p.get('iocell:tag')}) not in list")

    # ---- datasets that belong to nothing complete
    rels = {k.split("/")[-1] for k in w.ds if k.startswith(RELEASES_DS + "/") and "@" not in k
            and k.count("/") == RELEASES_DS.count("/") + 1}
    good_rels = {rel for rel in rels if not release_issues(fe, w, rel)}
    for rel in sorted(rels - good_rels):
        r("incomplete-release", f"{RELEASES_DS}/{rel}: " + "; ".join(release_issues(fe, w, rel)))
    bases = {k.split("/")[-1] for k in w.ds if k.startswith(BASE_DS + "/") and "@" not in k
             and k.count("/") == BASE_DS.count("/") + 1}
    for b in sorted(bases - rels):
        r("orphan-base", f"{BASE_DS}/{b} exists without release {b}")
    jail_children_ok = set()
    for u, p in complete.items():
        ds = f"{JAILS_DS}/{u}"
        jail_children_ok |= {ds, f"{ds}/root", f"{ds}/data"}
        jail_children_ok |= {f"{ds}/root/{d}" for d in fe.base_dirs}
    for name, d in w.ds.items():
        if d.type == "snapshot" or name in fe.baseline_ds:
            continue
        if name.startswith(JAILS_DS + "/"):
            top = "/".join(name.split("/")[: JAILS_DS.count("/") + 2])
            if top.rsplit("/", 1)[1] in complete and name not in jail_children_ok:
                r("stray-dataset", f"{name} inside complete jail {top}")
            continue  # incomplete jails are reported above, their children with them
        if name.startswith(RELEASES_DS + "/") or name.startswith(BASE_DS + "/"):
            continue  # judged per release above
        r("stray-dataset", f"{name} (type {d.type}, not part of any jail or release)")

    # ---- snapshots
    origins = w.origins()
    for name, d in w.ds.items():
        if d.type != "snapshot":
            continue
        snap = name.split("@", 1)[1]
        if snap.startswith("ioc-export_"):
            r("export-snapshot-left", name)
        elif snap.startswith("ioc-clone-") and name not in origins:
            r("clone-snapshot-left", f"{name} (no clone depends on it)")
        elif snap.startswith("ioc-prev-") and name not in origins:
            r("prev-snapshot-left", f"{name} (fetch keeps a previous state only while clones use it)")
        elif snap == "release" and name.startswith(JAILS_DS + "/"):
            r("receive-snapshot-left", f"{name} (thick create drops the received @release)")
        if d.userrefs not in ("0", "-", ""):
            r("held-snapshot", f"{name} has {d.userrefs} user hold(s)")
        if d.defer not in ("off", "-", ""):
            r("deferred-destroy", f"{name} is marked for deferred destroy")
    for u in complete:
        ds = f"{JAILS_DS}/{u}"
        a = {s for s in w.snaps_of(ds) if s != "ioc-record"}
        b = {s for s in w.snaps_of(f"{ds}/root") if s not in ("ioc-record",)}
        if a != b:
            r("partial-recursive-snapshot",
              f"{ds}: only on the jail dataset {sorted(a - b)}, only on root {sorted(b - a)}")

    # ---- mounts
    seen_mp = {}
    for src, mp, fstype in w.mounts:
        seen_mp[mp] = seen_mp.get(mp, 0) + 1
        if (src, mp, fstype) in fe.baseline_mounts:
            continue
        if fstype == "fuse.zfs" or src.startswith(POOL):
            d = w.ds.get(src)
            if d is None:
                r("stale-mount", f"{mp} is a mount of {src}, which does not exist")
            elif d.mountpoint != mp:
                r("stale-mount", f"{mp} is a mount of {src}, whose mountpoint is {d.mountpoint}")
        else:
            r("foreign-mount", f"{fstype} {src} on {mp}")
    for mp, n in seen_mp.items():
        if n > 1:
            r("stacked-mount", f"{n} mounts on {mp}")

    # ---- runtime: cgroups, runtime files, interfaces, processes
    existing = {ds.rsplit("/", 1)[1] for ds in jails}
    for u, dirs in w.cgroups.items():
        if u not in w.running:
            r("cgroup-left", f"{len(dirs)} cgroup dir(s) of {u}, which is not running: {dirs[0]}")
    for n in w.rundir:
        m = UUID_RE.match(n)
        if m and "/" not in n:
            u, suffix = m.group(0), n[36:]
            if suffix == ".lock" or u in w.running:
                continue
            if suffix in (".conf", ".started") and u in existing:
                continue
            kind = "stale-state" if suffix == ".state" else "runtime-file-left"
            r(kind, f"{n} ({'jail not running' if u in existing else 'no such jail'})")
        elif n.startswith("jids/"):
            # jids/N -> UUID symlinks: one whose UUID has no state file is reclaimed by the
            # next jid_alloc (by design), so only a JID claimed by a live state counts
            try:
                target = os.readlink(Path(os.environ["IOCELL_RUNDIR"]) / n)
            except OSError:
                target = ""
            if target in w.states and target not in w.running and n[5:] == w.states[target].get("jid"):
                r("stale-jid", f"{n} -> {target}, which is not running")
        elif n.startswith("idranges/"):
            # idranges/BASE -> UUID (user namespaces): the same rule as jids/N; a claim whose
            # UUID has no live state is taken over by the next start (idrange_claim)
            try:
                target = os.readlink(Path(os.environ["IOCELL_RUNDIR"]) / n)
            except OSError:
                target = ""
            if (target in w.states and target not in w.running
                    and n[9:] == w.states[target].get("idmap_base")):
                r("stale-idrange", f"{n} -> {target}, which is not running")
        elif ".tmp." in n:
            r("temp-file-left", n)
        elif not _OK_RUNFILES.match(n) and n not in fe.baseline_rundir:
            r("unknown-runtime-file", n)
    for ifname, kind, alias in w.links:
        m = UUID_RE.search(alias or "")
        if ifname.startswith(GONE_PREFIX):
            r("interface-left", f"{ifname} ({kind}, {alias}) detached at a stop, not removed")
        elif m:
            if m.group(0) not in w.running:
                r("interface-left", f"{ifname} ({kind}, {alias}) of a jail that is not running")
        elif ifname not in fe.baseline_links and not ifname.startswith("bridge"):
            r("unknown-interface", f"{ifname} ({kind})")
    inits = {}
    for u in w.running:
        try:
            inits[int(w.states[u]["pid"])] = u
        except (KeyError, ValueError):
            pass
    for p in w.procs:
        ours = in_sessions(p, sessions)
        cg = UUID_RE.search(p.cgroup) if "/iocell/" in p.cgroup else None
        if cg and cg.group(0) in w.cgroups and cg.group(0) not in w.running:
            r("process-left", f"pid {p.pid} {p.comm!r} ({p.args[:80]}) in the cgroup of {cg.group(0)}, not running")
        elif ours and p.pid not in inits and not (cg and cg.group(0) in w.running):
            r("process-left", f"pid {p.pid} {p.comm!r} ({p.args[:80]}) of the killed command")

    # ---- files under the mount root
    for f in w.files:
        if f in fe.baseline_files:
            continue
        base = os.path.basename(f)
        if base.startswith(".fetch-"):
            r("download-dir-left", f)
        elif re.search(r"\.tmp\.\d+$", base):
            r("temp-file-left", f"{f} (a write interrupted: write_file_atomic's temporary file)")
        elif f.startswith("images/") and base.endswith(".partial"):
            r("partial-image", f)
        elif f.startswith("images/") and base.endswith(".zfs"):
            if os.path.join("images", base[:-4] + ".sha256") not in w.files:
                r("image-without-checksum", f)
        elif f.startswith("images/") and base.endswith(".sha256"):
            if os.path.join("images", base[:-7] + ".zfs") not in w.files:
                r("checksum-without-image", f)
        elif f.startswith("log/"):
            m = UUID_RE.match(base)
            if m and m.group(0) not in existing:
                r("log-of-missing-jail", f)
        elif f.startswith("packages/."):
            r("partial-package", f)
    return out


# --------------------------------------------------------------------------------------
# running a command and killing it


@dataclasses.dataclass
class Run:
    argv: list
    rc: int | None = None
    killed: bool = False
    elapsed_ms: float = 0.0
    killed_at_ms: float | None = None
    stdout: str = ""
    stderr: str = ""
    pid: int = 0


# the watchdog's view (tests/fault/watchdog.py): the sessions of the iocell processes
# run_and_kill is waiting for, and the step of the current trial (conftest sets STEP)
LIVE: set = set()


def STEP(what: str) -> None:  # noqa: N802 (replaced by the watchdog's at())
    pass


def step(what: str) -> None:
    STEP(what)


def run_and_kill(argv, delay: float | None, *, stdin_path=None, stdout_path=None,
                 mode: str = KILL_MODE, cwd=None, timeout: float = 300.0) -> Run:
    """Start argv in a session of its own; SIGKILL it delay ms after exec (None: never).
    mode "group" kills the whole process group, "process" only iocell. stdout goes to
    stdout_path when given (binary streams), else it is captured as text."""
    res = Run([str(a) for a in argv])
    with (open(stdout_path, "wb") if stdout_path else tempfile.TemporaryFile()) as out, \
            tempfile.TemporaryFile() as err:
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            t0 = time.monotonic()
            p = subprocess.Popen(res.argv, stdin=stdin, stdout=out, stderr=err, start_new_session=True,
                                 cwd=cwd)
            res.pid = p.pid
            LIVE.add(p.pid)
            if delay is not None:
                end = t0 + delay / 1000.0
                while True:  # sleep in slices: notice an early exit without missing the moment
                    left = end - time.monotonic()
                    if left <= 0 or p.poll() is not None:
                        break
                    time.sleep(min(left, 0.002))
                if p.poll() is None:
                    res.killed_at_ms = (time.monotonic() - t0) * 1000
                    try:
                        if mode == "group":
                            os.killpg(p.pid, signal.SIGKILL)
                        else:
                            os.kill(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            res.elapsed_ms = (time.monotonic() - t0) * 1000
            res.rc = p.returncode
            res.killed = res.rc == -signal.SIGKILL and res.killed_at_ms is not None
        finally:
            LIVE.discard(res.pid)
            if stdin_path:
                stdin.close()
        if not stdout_path:
            out.seek(0)
            res.stdout = out.read().decode(errors="replace")
        err.seek(0)
        res.stderr = err.read().decode(errors="replace")
    return res


def settle(sid: int, timeout: float = 3.0) -> None:
    """Wait (bounded) until the processes of the killed command's session/group are gone
    and no jail init recorded in a state file is a zombie. A process killed in the middle
    of a zfs call takes a moment to go, and this machine's PID 1 (process_api) reaps
    orphans only about once a second, where systemd reaps at once: without this, those
    transients would show up as residue (or a zombie init as a jail still running, as
    iocell's rs_alive() reads it)."""
    rd = Path(os.environ["IOCELL_RUNDIR"])
    inits = set()
    for f in rd.glob("*.state"):
        try:
            st = dict(l.split("=", 1) for l in f.read_text().splitlines() if "=" in l)
            inits.add(int(st.get("pid", "0")))
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = any(in_sessions(p, {sid}) and p.comm != "iocell-init" for p in proc_table())
        busy = busy or any((q := proc_stat(pid)) is not None and q.state in ("Z", "X") for pid in inits if pid > 0)
        if not busy:
            return
        time.sleep(0.05)


def proc_table_all() -> list[ProcInfo]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            p = proc_stat(int(d))
            if p:
                out.append(p)
    return out


def wait_session_gone(sid: int, timeout: float) -> list[ProcInfo]:
    """Processes of session/group sid still alive after timeout (jail inits excluded)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in proc_table() if in_sessions(p, {sid}) and p.comm != "iocell-init"]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


# --------------------------------------------------------------------------------------
# assets built once per session


def make_tar(path: Path, members, mode="w:gz"):
    """members: (TarInfo, bytes|None)."""
    with tarfile.open(path, mode) as t:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return path


def tinfo(name, kind="file", mode=0o644, **kw):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1700000000
    ti.mode = mode
    if kind == "dir":
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
    elif kind == "sym":
        ti.type = tarfile.SYMTYPE
    elif kind == "chr":
        ti.type = tarfile.CHRTYPE
    elif kind == "blk":
        ti.type = tarfile.BLKTYPE
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def write_pkg(mountroot: Path, name: str, release: str, members, deleted: str = "") -> Path:
    """A package as `iocell package` writes it: PACKAGES/NAME.tar.xz + NAME.sha256."""
    pkgdir = Path(mountroot) / "packages"
    pkgdir.mkdir(exist_ok=True)
    path = pkgdir / f"{name}.tar.xz"
    meta = [(tinfo(".iocell-package"), f"format=1\nrelease={release}\n".encode()),
            (tinfo(".iocell-deleted"), deleted.encode())]
    make_tar(path, meta + list(members), mode="w:xz")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (pkgdir / f"{name}.sha256").write_text(f"{digest}  {name}.tar.xz\n")
    return path


FAKE_APT = """#!/bin/sh
echo "apt-get $*" >> /var/log/fake-apt.log
exit 0
"""


def fake_debian_tree(root: Path):
    """Make a busybox jail root look like a Debian tree whose apt-get is a logging stub."""
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    apt = root / "usr/bin/apt-get"
    apt.write_text(FAKE_APT)
    apt.chmod(0o755)
    (root / "etc/apt").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list").write_text("deb http://deb.example.org/debian oldsuite main\n")
    (root / "etc/debian_version").write_text("12.0\n")
    (root / "etc/os-release").write_text("ID=debian\nVERSION_CODENAME=oldsuite\n")
    (root / "var/log").mkdir(parents=True, exist_ok=True)


def retar_with(src_tar: Path, out_tar: Path, extra):
    """Copy src_tar (xz) to out_tar (xz) with extra (TarInfo, bytes) members added."""
    with tarfile.open(src_tar) as tin, tarfile.open(out_tar, "w:xz") as tout:
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
        for ti, data in extra:
            ti.size = len(data)
            tout.addfile(ti, io.BytesIO(data))


# --------------------------------------------------------------------------------------
# cleaning hard: whatever the harness could not remove


def reimport_pool(fe) -> bool:
    """zpool export + import of the scratch pool (its file lives in the session's tmpdir)."""
    for attempt in range(10):
        p = run(["zpool", "export", *(["-f"] if attempt >= 5 else []), POOL], check=False, timeout=60)
        if p.returncode == 0:
            break
        time.sleep(0.3)
    else:
        return False
    return run(["zpool", "import", "-d", str(fe.env.tmpdir), POOL], check=False, timeout=120).returncode == 0


def clean_products(fe) -> None:
    """Remove what trials legitimately made and the harness does not clean (it removes jails
    only): complete releases and complete images (.zfs with its .sha256). Incomplete ones
    are left to hard_clean, which reports them."""
    w = capture_world(fe, list_proc=subprocess.CompletedProcess([], 0, "", ""))
    for name in sorted(w.ds):
        if name in fe.baseline_ds or "@" in name or name.count("/") != RELEASES_DS.count("/") + 1 \
                or not name.startswith(RELEASES_DS + "/"):
            continue
        rel = name.rsplit("/", 1)[1]
        if not release_issues(fe, w, rel):
            destroy_dataset(name)
            destroy_dataset(f"{BASE_DS}/{rel}")
    imgs = Path(fe.mountroot) / "images"
    for f in w.files:
        if f in fe.baseline_files or not (f.startswith("images/") and f.endswith(".zfs")):
            continue
        p = Path(fe.mountroot) / f
        sha = imgs / (p.name[:-4] + ".sha256")
        if sha.exists() and not p.name.startswith("."):
            p.unlink()
            sha.unlink()


def hard_clean(fe, known: set, harness_made: set = frozenset()) -> list[str]:
    """Bring the pool, rundir, cgroups, links and processes back to the session baseline.
    Returns what had to be done, each entry "category: detail" (empty: nothing was left
    after the harness's own clean). harness_made: UUIDs of the jails the harness destroyed
    (by `zfs destroy`, so their .conf/.started cache files and console logs stay: removed
    silently, they are no residue of a trial)."""
    done = []
    # processes first: leftovers keep datasets busy and locks held
    for p in proc_table():
        cg = UUID_RE.search(p.cgroup) if "/iocell/" in p.cgroup else None
        if (in_sessions(p, fe.sessions) or (cg and cg.group(0) in known)) and p.pid != os.getpid():
            try:
                os.kill(p.pid, signal.SIGKILL)
                done.append(f"killed process: pid {p.pid} {p.comm}")
            except ProcessLookupError:
                pass
    time.sleep(0.05) if done else None
    w = capture_world(fe, known)
    # held snapshots block every destroy. A killed `zfs send` leaves its temporary hold
    # (".send-PID-N"); zfs-fuse cannot list hold tags (`zfs holds` needs pyzfs), and a
    # temporary hold goes when the pool is imported: export and import the pool.
    held = [n for n, d in w.ds.items() if d.type == "snapshot" and d.userrefs not in ("0", "-", "")]
    if held:
        ok = reimport_pool(fe)
        done.append(f"re-imported the pool to drop holds: {', '.join(held)}" + ("" if ok else " (FAILED)"))
        w = capture_world(fe, known)
    # datasets and snapshots not in the baseline, deepest first
    extra = sorted((n for n in w.ds if n not in fe.baseline_ds), key=lambda n: (-n.count("/"), n))
    tops = []
    for n in extra:
        if not any(n.startswith(t + "/") or n.startswith(t + "@") for t in tops):
            tops.append(n)
    for n in sorted(tops, key=lambda n: n.count("/")):
        ok = destroy_dataset(n, tries=15)
        done.append(f"destroyed {'snapshot' if '@' in n else 'dataset'}: {n}" + ("" if ok else " (FAILED)"))
    # stray mounts under the mount root (a destroyed dataset's fuse mount, binds, tmpfs)
    if tops:
        w = capture_world(fe, known)
    for src, mp, fstype in sorted(w.mounts, key=lambda m: -m[1].count("/")):
        d = w.ds.get(src)
        if (fstype == "fuse.zfs" and d is not None and d.mountpoint == mp) or (src, mp, fstype) in fe.baseline_mounts:
            continue
        run(["umount", "-l", mp], check=False)
        done.append(f"unmounted: {fstype} {src} on {mp}")
    # cgroups of test jails that do not run
    for u, dirs in w.cgroups.items():
        if u in w.running:
            continue
        for d in dirs:
            for sub in sorted((x for x, _, _ in os.walk(d)), key=lambda x: -x.count("/")):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
        done.append(f"removed cgroup dirs: {u}")
    # interfaces (our private netns)
    for ifname, kind, alias in w.links:
        m = UUID_RE.search(alias or "")
        if (m and m.group(0) not in w.running) or (not m and ifname not in fe.baseline_links
                                                    and not ifname.startswith("bridge")):
            run(["ip", "link", "del", ifname], check=False)
            done.append(f"deleted interface: {ifname}")
    # runtime files of jails that do not run
    rd = Path(os.environ["IOCELL_RUNDIR"])
    existing = {ds.rsplit("/", 1)[1] for ds in w.jails()}
    running_jids = {w.states[u].get("jid") for u in w.running}
    running_ranges = {w.states[u].get("idmap_base") for u in w.running}
    for n in w.rundir:
        m = UUID_RE.match(n)
        p = rd / n
        quiet = False
        drop = False
        if m and "/" not in n:
            u, suffix = m.group(0), n[36:]
            drop = u not in w.running and suffix != ".lock" and not (
                suffix in (".conf", ".started") and u in existing)
        elif n.startswith("jids/"):
            drop = quiet = n[5:] not in running_jids  # reclaimed lazily by iocell anyway
        elif n.startswith("idranges/"):
            drop = quiet = n[9:] not in running_ranges  # the same
        elif ".tmp." in n:
            drop = True
        if drop and os.path.lexists(p):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            if not quiet and not (m and n[36:] in (".conf", ".started") and m.group(0) in harness_made):
                done.append(f"removed runtime file: {n}")
    # files under the mount root
    mr = Path(fe.mountroot)
    for f in w.files:
        if f in fe.baseline_files:
            continue
        p = mr / f
        if f.startswith("log/"):
            m = UUID_RE.match(os.path.basename(f))
            if m and m.group(0) in existing:
                continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink()
        if not f.startswith("log/"):
            done.append(f"removed file: {f}")
    return done


# --------------------------------------------------------------------------------------
# helpers used by the operations


def jail_dir(fe, uuid) -> Path:
    return Path(fe.mountroot) / "jails" / uuid


def create(*args) -> str:
    return parse_uuid(ioc("create", *args).stdout)


def usable(tag_or_uuid: str, running: bool) -> str | None:
    """start (unless running), exec /bin/true, stop (unless it was running). None if fine,
    else what failed."""
    if not running:
        p = ioc("start", tag_or_uuid, check=False)
        if p.returncode != 0:
            return f"start failed: {p.stderr.strip()[:300]}"
    try:
        p = ioc("exec", tag_or_uuid, "/bin/true", check=False)
        if p.returncode != 0:
            return f"exec failed: {p.stderr.strip()[:300]}"
    finally:
        if not running:
            p = ioc("stop", tag_or_uuid, check=False)
            if p.returncode != 0:
                return f"stop failed: {p.stderr.strip()[:300]}"
    return None


def read(p: Path) -> str | None:
    try:
        return p.read_text()
    except OSError:
        return None


# --------------------------------------------------------------------------------------
# deterministic crash points: a `zfs` first in PATH that kills iocell at a chosen call


class ZfsShim:
    """iocell runs zfs through PATH (posix_spawnp): with this directory first in PATH, the
    nth zfs call whose arguments contain every string of `match` SIGKILLs its parent
    (iocell) before running (when="before") or after running (when="after"); every other
    call is the real zfs. pre: shell commands run first at that call ("$ZFS" is the real
    zfs, "$@" the call's arguments), e.g. to put the pool in the state a code path meets
    only under zfs-fuse's "busy". env() gives the PATH to pass to that one iocell command."""

    def __init__(self, tmp: Path, *match: str, when: str = "before", nth: int = 1, pre: str = ""):
        real = shutil.which("zfs")
        assert real, "zfs not found"
        self.dir = Path(tempfile.mkdtemp(prefix="zfs-shim-", dir=tmp))
        self.count = self.dir / "count"
        self.fired = self.dir / "fired"
        conds = " && ".join(f'[[ "$args" == *{_sh_quote(m)}* ]]' for m in match)
        kill = 'echo "$*" > ' + _sh_quote(str(self.fired)) + '; kill -9 "$PPID"'
        body = (f'{kill}; exit 137' if when == "before" else
                f'{_sh_quote(real)} "$@"; rc=$?; {kill}; exit $rc')
        if pre:
            body = f'ZFS={_sh_quote(real)}; {pre}\n        {body}'
        script = f"""#!/bin/bash
args=" $* "
if {conds}; then
    n=$(( $(cat {_sh_quote(str(self.count))} 2>/dev/null || echo 0) + 1 ))
    echo "$n" > {_sh_quote(str(self.count))}
    if [ "$n" -eq {nth} ]; then
        {body}
    fi
fi
exec {_sh_quote(real)} "$@"
"""
        (self.dir / "zfs").write_text(script)
        (self.dir / "zfs").chmod(0o755)

    def env(self) -> dict:
        return {"PATH": f"{self.dir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}

    def did_fire(self) -> str | None:
        return read(self.fired)


def _sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


class Finding(AssertionError):
    """A documented failure of iocell (as opposed to a failure of the test's own set-up):
    regression tests use xfail(strict=True, raises=Finding) so that only the failure the
    marker describes counts as expected."""


class ResidueError(Finding):
    pass


class StaleConfCache(ResidueError):
    """The only residue is RUNDIR/UUID.conf of jails that do not exist."""


def check(cond, msg):
    if not cond:
        raise Finding(msg)


def residue_now(fe, sessions=frozenset(), known=frozenset(), phase="after") -> list[Residue]:
    """Run the next command (`iocell list -H`) and the generic residue check."""
    nxt = ioc("list", "-H", check=False)
    w = capture_world(fe, set(known), list_proc=nxt)
    return check_world(fe, w, phase, set(sessions))


def assert_no_residue(fe, sessions=frozenset(), known=frozenset(), what=""):
    res = residue_now(fe, sessions, known)
    if not res:
        return
    msg = (f"{what}: " if what else "") + "residue:\n" + "\n".join(f"  {r}" for r in res)
    if all(r.kind == "runtime-file-left" and ".conf " in r.detail and "no such jail" in r.detail for r in res):
        raise StaleConfCache(msg)
    raise ResidueError(msg)
