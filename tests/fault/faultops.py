"""The operations of the kill trials, the session environment and one trial's run.

Every operation has
  setup(fe, t, rng)   make what it needs (uncut iocell calls) and set t.argv (t.stdin,
                      t.stdout_file); t.vars holds names for the judge
  judge(fe, t, b, a)  from the worlds before (b) and after (a): "happened" or
                      "not happened", appending op-specific residue to t.residues
  redo(fe, t, r)      None if the uncut re-run r is what the outcome allows, else why not
Consistent: the operation did not happen (nothing of it visible) or happened completely
(the product is complete and usable: a new jail starts and runs a command). Anything in
between is residue, and so is anything check_world finds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import time
from pathlib import Path

import faultlib as fl
from faultlib import NONET, BASE_DS, Residue
from helpers import JAILS_DS, RELEASES_DS, datasets, ioc, iocell_bin, parse_uuid, run


@dataclasses.dataclass
class Trial:
    spec: fl.Spec
    seed: int
    mode: str
    delay: float = 0.0
    argv: list = dataclasses.field(default_factory=list)
    stdin: str | None = None
    stdout_file: str | None = None
    vars: dict = dataclasses.field(default_factory=dict)
    known: set = dataclasses.field(default_factory=set)
    run: fl.Run | None = None
    next_stderr: str = ""
    redo_run: fl.Run | None = None
    outcome: str = ""
    residues: list = dataclasses.field(default_factory=list)
    cleaning: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    def add(self, kind, detail, phase="after-kill"):
        self.residues.append(Residue(phase, kind, detail))

    @property
    def when(self) -> str:
        r = self.run
        if r is None:
            return "not run"
        if r.killed:
            return f"killed at {r.killed_at_ms:.1f} ms"
        return f"finished first ({r.elapsed_ms:.0f} ms, exit {r.rc})"

    def repro(self) -> str:
        ops = f"IOCELL_FAULT_OPS={','.join(fl.ONLY_OPS)} " if fl.ONLY_OPS else ""
        return (f"{ops}IOCELL_FAULT_SEED={self.seed} IOCELL_FAULT_TRIALS={self.spec.index + 1} "
                f"IOCELL_FAULT_KILL={self.mode} IOCELL_FAULT_DELAY_MS={self.delay:.1f} "
                f"bash scripts/fault.sh -k '{self.spec.id}'")

    def report(self) -> str:
        lines = [f"trial {self.spec.id} seed {self.seed} op {self.spec.op} mode {self.mode} "
                 f"moment {self.spec.moment} delay {self.delay:.1f} ms: {self.when}; outcome: {self.outcome}",
                 f"  command: {' '.join(self.argv)}"]
        if self.run and self.run.stderr.strip():
            lines.append(f"  its stderr: {self.run.stderr.strip()[:300]}")
        if self.next_stderr.strip():
            lines.append(f"  next command (list -H) said: {self.next_stderr.strip()[:300]}")
        lines += [f"  RESIDUE {r}" for r in self.residues]
        if self.cleaning:
            lines.append("  forceful cleaning: " + "; ".join(self.cleaning))
        lines.append(f"  reproduce: {self.repro()}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "id": self.spec.id, "index": self.spec.index, "op": self.spec.op, "seed": self.seed,
            "mode": self.mode, "moment": self.spec.moment, "delay_ms": round(self.delay, 2),
            "killed": bool(self.run and self.run.killed),
            "killed_at_ms": round(self.run.killed_at_ms, 2) if self.run and self.run.killed_at_ms else None,
            "elapsed_ms": round(self.run.elapsed_ms, 1) if self.run else None,
            "rc": self.run.rc if self.run else None, "argv": self.argv, "outcome": self.outcome,
            "next_stderr": self.next_stderr.strip(),
            "residues": [dataclasses.asdict(r) for r in self.residues],
            "cleaning": self.cleaning, "seconds": round(self.seconds, 2), "error": self.error,
        }


class FaultEnv:
    """Session state of the fault suite: assets, baseline, results."""

    def __init__(self, iocell_env, release: str):
        self.env = iocell_env
        self.release = release
        self.mountroot = Path(iocell_env.mountroot)
        self.pool_mnt = Path(iocell_env.tmpdir) / "mnt"
        self.tmp = Path(iocell_env.tmpdir) / "fault"
        self.tmp.mkdir(exist_ok=True)
        self.sessions: set = set()   # PIDs (= session ids) of every iocell the trials started
        self.durations = fl.Durations()
        self.results: list[Trial] = []
        self.quarantined: list[str] = []
        self.other_cleaning: dict = {}
        self.current: Trial | None = None
        self.t0 = time.monotonic()

    # ---- assets
    def build_assets(self):
        rel_dir = Path(self.env.release_dir)
        self.bbdir = rel_dir  # rootfs.tar.xz (+ .sha256) of the busybox release
        # v2 of a release: the same tree plus an extra tarball with files in etc/ and bin/
        self.v2dir = self.tmp / "v2"
        self.v2dir.mkdir(exist_ok=True)
        (self.v2dir / "rootfs.tar.xz").write_bytes((rel_dir / "rootfs.tar.xz").read_bytes())
        fl.make_tar(self.v2dir / "extra.tar.gz", [
            (fl.tinfo("./", "dir"), None), (fl.tinfo("etc", "dir"), None), (fl.tinfo("bin", "dir"), None),
            (fl.tinfo("etc/fault-v2"), b"v2\n"), (fl.tinfo("bin/fault-v2", mode=0o755), b"v2\n")])
        # the release an upgrade moves a basejail to
        nd = self.tmp / "bbnext"
        nd.mkdir(exist_ok=True)
        fl.retar_with(rel_dir / "rootfs.tar.xz", nd / "rootfs.tar.xz",
                      [(fl.tinfo("./bin/bbnext-marker"), b"bbnext\n")])
        self.next_release = "bbnext"
        ioc("fetch", f"release={self.next_release}", f"ftplocaldir={nd}", "ftpfiles=rootfs.tar.xz")
        # a package (marker file, a deletion)
        self.pkg = "faultpkg"
        fl.write_pkg(self.mountroot, self.pkg, self.release,
                     [(fl.tinfo("srv", "dir"), None), (fl.tinfo("srv/fault", "dir"), None),
                      (fl.tinfo("srv/fault/pkg-marker"), b"pkg\n")], deleted="/usr/bin/env\n")
        # an image of a thick jail with a marker, its source destroyed again
        u = fl.create(f"release={self.release}", "tag=faultimg", *NONET)
        (fl.jail_dir(self, u) / "root/root/img-marker").write_text("img\n")
        ioc("snapshot", "faultimg@kept")
        ioc("export", "faultimg")
        self.image_uuid = u
        self.image = self.mountroot / "images" / f"{u}.zfs"
        # a reference jail of every type: the property set of a complete jail, bridge0
        c = fl.create("-c", f"release={self.release}", "tag=faultref")
        props = run(["zfs", "get", "-H", "-s", "local", "-o", "property", "all", f"{JAILS_DS}/{c}"]).stdout
        self.ref_props = {p for p in props.split() if p.startswith("iocell:")}
        ioc("start", "faultref")
        ioc("stop", "faultref")
        self.base_dirs = sorted(
            d.rsplit("/", 1)[1] for d in datasets(f"{BASE_DS}/{self.release}"))

    def take_baseline(self):
        w = fl.capture_world(self)
        self.baseline_ds = set(w.ds)
        self.baseline_mounts = set(w.mounts)
        self.baseline_links = {l[0] for l in w.links}
        self.baseline_files = set(w.files)
        self.baseline_rundir = set(w.rundir)
        assert not w.jails(), f"jails left before the baseline: {w.jails()}"

    def summary(self) -> dict:
        return summarize(self.results)


# --------------------------------------------------------------------------------------
# judging helpers


def complete(fe, w) -> dict:
    return fl.complete_jails(fe, w)


def new_jails(fe, b, a) -> list[str]:
    return sorted(set(complete(fe, a)) - set(complete(fe, b)))


def lost_jails(fe, t, b, a):
    lost = sorted(set(complete(fe, b)) - set(complete(fe, a)))
    for u in lost:
        if u not in t.vars.get("may_go", ()):
            t.add("jail-lost", f"{u} (tag {complete(fe, b)[u].get('iocell:tag')}) was complete before and is not now")


def probe(fe, t, uuid, running=False, phase="after-kill"):
    why = fl.usable(uuid, running)
    if why:
        t.add("jail-not-usable", f"{uuid}: {why}", phase)


def judge_new_jail(fe, t, b, a, jtype, extra=None) -> str:
    lost_jails(fe, t, b, a)
    new = new_jails(fe, b, a)
    t.known |= set(new)
    if not new:
        if t.run and not t.run.killed and t.run.rc == 0:
            t.add("finished-without-product", "exit 0 but no new complete jail")
        return "not happened"
    if len(new) > 1:
        t.add("more-than-one-jail", f"{len(new)} new jails: {new}")
    u = new[0]
    p = complete(fe, a)[u]
    want = t.vars.get("tag")
    if want and p.get("iocell:tag") != want:
        t.add("wrong-tag", f"new jail {u} has tag {p.get('iocell:tag')!r}, asked for {want!r}")
    if jtype and p.get("iocell:type") != jtype:
        t.add("wrong-type", f"new jail {u} has type {p.get('iocell:type')!r}, not {jtype}")
    if extra:
        for issue in extra(u, p) or ():
            t.add("incomplete-content", f"{u}: {issue}")
    probe(fe, t, u)
    return "happened"


def redo_create_like(fe, t, r, outcome):
    if outcome == "happened":
        if r.rc == 1 and "already used" in r.stderr:
            return None
        return f"expected 'tag already used', got exit {r.rc}: {r.stderr.strip()[:200]}"
    return None if r.rc == 0 else f"exit {r.rc}: {r.stderr.strip()[:300]}"


def redo_ok0(fe, t, r, outcome):
    return None if r.rc == 0 else f"exit {r.rc}: {r.stderr.strip()[:300]}"


# --------------------------------------------------------------------------------------
# the operations


class Op:
    name = ""
    redo = staticmethod(redo_ok0)

    def setup(self, fe, t, rng):
        raise NotImplementedError

    def judge(self, fe, t, b, a) -> str:
        raise NotImplementedError


class CreateOp(Op):
    def __init__(self, name, flag, jtype):
        self.name, self.flag, self.jtype = name, flag, jtype

    def setup(self, fe, t, rng):
        t.vars["tag"] = f"c{t.spec.index}"
        t.argv = [iocell_bin(), "create", *([self.flag] if self.flag else []), f"release={fe.release}",
                  f"tag={t.vars['tag']}", *NONET]

    def judge(self, fe, t, b, a):
        def extra(u, p):
            root = f"{JAILS_DS}/{u}/root"
            if self.jtype == "clonejail" and a.ds[root].origin == "-":
                yield "root of a clonejail is not a clone"
            if self.jtype == "jail" and a.ds[root].origin != "-":
                yield f"root of a thick jail is a clone of {a.ds[root].origin}"
            if not (fl.jail_dir(fe, u) / "root/bin/busybox").exists():
                yield "root/bin/busybox missing (root not filled)"
        return judge_new_jail(fe, t, b, a, self.jtype, extra)

    redo = staticmethod(redo_create_like)


class CloneOp(Op):
    name = "clone"

    def setup(self, fe, t, rng):
        t.vars["src"] = fl.create("-c", f"release={fe.release}", f"tag=src{t.spec.index}", *NONET)
        t.known.add(t.vars["src"])
        t.vars["tag"] = f"k{t.spec.index}"
        t.argv = [iocell_bin(), "clone", f"src{t.spec.index}", f"tag={t.vars['tag']}"]

    def judge(self, fe, t, b, a):
        src = t.vars["src"]

        def extra(u, p):
            o = a.ds[f"{JAILS_DS}/{u}/root"].origin
            if not o.startswith(f"{JAILS_DS}/{src}/root@ioc-clone-"):
                yield f"root origin {o} is not an ioc-clone snapshot of the source"
        return judge_new_jail(fe, t, b, a, "clonejail", extra)

    redo = staticmethod(redo_create_like)


class StartOp(Op):
    name = "start"

    def setup(self, fe, t, rng):
        tag = f"s{t.spec.index}"
        # vnet on (veth pair, bridge0) and limits on: every kind of runtime object
        t.vars["uuid"] = fl.create("-c", f"release={fe.release}", f"tag={tag}", "rlimits=on",
                                   "memoryuse=256M:deny", "maxproc=200:deny", "openfiles=512:deny")
        t.known.add(t.vars["uuid"])
        t.vars["tag"] = tag
        self.pre(fe, t)
        t.argv = [iocell_bin(), self.name, tag]

    def pre(self, fe, t):
        pass

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        if u in a.running:
            probe(fe, t, u, running=True)
            return "happened"
        if t.run and not t.run.killed and t.run.rc == 0:
            t.add("finished-without-product", "start exited 0 but the jail does not run")
        return "not happened"

    @staticmethod
    def redo(fe, t, r, outcome):
        if r.rc == 0 or "running" in r.stderr:
            return None
        return f"exit {r.rc}: {r.stderr.strip()[:300]}"


class StopOp(StartOp):
    name = "stop"

    def pre(self, fe, t):
        ioc("start", t.vars["tag"])

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        if u in a.running:
            probe(fe, t, u, running=True)
            return "not happened"
        return "happened"

    redo = staticmethod(redo_ok0)


class DestroyOp(Op):
    name = "destroy"

    def setup(self, fe, t, rng):
        tag = f"d{t.spec.index}"
        u = fl.create("-c", f"release={fe.release}", f"tag={tag}")
        ioc("snapshot", f"{tag}@keep")
        ioc("start", tag)
        t.vars.update(uuid=u, tag=tag, may_go={u})
        t.known.add(u)
        t.argv = [iocell_bin(), "destroy", "-f", "-y", tag]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        ds = f"{JAILS_DS}/{u}"
        left = [n for n in a.ds if n == ds or n.startswith(ds + "/") or n.startswith(ds + "@")]
        if not left:
            return "happened"
        if u in complete(fe, a):
            # destroy -f is stop + destroy: a cleanly stopped jail is a complete state too
            probe(fe, t, u, running=u in a.running)
            return "not happened"
        return "not happened"  # the incomplete jail is reported by check_world

    @staticmethod
    def redo(fe, t, r, outcome):
        if outcome == "happened":
            return None if r.rc == 1 and "no jail" in r.stderr else f"exit {r.rc}: {r.stderr.strip()[:200]}"
        return None if r.rc == 0 else f"exit {r.rc}: {r.stderr.strip()[:300]}"


class SnapshotOp(Op):
    name = "snapshot"

    def setup(self, fe, t, rng):
        tag = f"n{t.spec.index}"
        t.vars["uuid"] = fl.create("-c", f"release={fe.release}", f"tag={tag}", *NONET)
        t.known.add(t.vars["uuid"])
        t.argv = [iocell_bin(), "snapshot", f"{tag}@fsnap"]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        ds = f"{JAILS_DS}/{t.vars['uuid']}"
        on = [d for d in (ds, f"{ds}/root") if f"{d}@fsnap" in a.ds]
        if len(on) == 2:
            probe(fe, t, t.vars["uuid"])
            return "happened"
        return "not happened"  # a snapshot on one dataset only: partial-recursive-snapshot

    @staticmethod
    def redo(fe, t, r, outcome):
        if outcome == "happened":
            return None if r.rc == 1 else f"exit {r.rc} re-making an existing snapshot"
        return None if r.rc == 0 else f"exit {r.rc}: {r.stderr.strip()[:300]}"


class RollbackOp(Op):
    name = "rollback"

    def setup(self, fe, t, rng):
        tag = f"r{t.spec.index}"
        u = fl.create("-c", f"release={fe.release}", f"tag={tag}", *NONET)
        t.known.add(u)
        jd = fl.jail_dir(fe, u)
        t.vars.update(uuid=u, marks=(jd / "fault-mark", jd / "root/fault-mark"))
        for n, snap in (("1", "s1"), ("2", "s2")):
            for m in t.vars["marks"]:
                m.write_text(n)
            ioc("snapshot", f"{tag}@{snap}")
        for m in t.vars["marks"]:
            m.write_text("3")
        t.argv = [iocell_bin(), "rollback", "-y", f"{tag}@s1"]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        ds = f"{JAILS_DS}/{u}"
        marks = tuple(fl.read(m) for m in t.vars["marks"])
        s2 = tuple(f"{d}@s2" in a.ds for d in (ds, f"{ds}/root"))
        if marks == ("3", "3") and s2 == (True, True):
            return "not happened"
        if marks == ("1", "1") and s2 == (False, False):
            probe(fe, t, u)
            return "happened"
        t.add("half-rolled-back", f"{ds}: contents (jail dataset, root) = {marks}, @s2 present = {s2}")
        return "residue"


class ExportOp(Op):
    name = "export"

    def setup(self, fe, t, rng):
        tag = f"e{t.spec.index}"
        t.vars["uuid"] = fl.create("-c", f"release={fe.release}", f"tag={tag}", *NONET)
        t.known.add(t.vars["uuid"])
        t.argv = [iocell_bin(), "export", tag]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        img = fe.mountroot / "images" / f"{u}.zfs"
        sha = fe.mountroot / "images" / f"{u}.sha256"
        if img.exists() and sha.exists():
            want = sha.read_text().split()[0] if sha.read_text().split() else ""
            got = hashlib.sha256(img.read_bytes()).hexdigest()
            if want != got:
                t.add("image-checksum-mismatch", f"{img}: sha256 {got}, {sha.name} says {want}")
            return "happened"
        if t.run and not t.run.killed and t.run.rc == 0:
            t.add("finished-without-product", "export exited 0 but no image")
        return "not happened"


class ExportStreamOp(ExportOp):
    name = "export-stream"

    def setup(self, fe, t, rng):
        super().setup(fe, t, rng)
        t.argv.append("-")
        t.stdout_file = str(fe.tmp / "stream.zfs")

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        return "happened" if t.run and t.run.rc == 0 else "not happened"


class ImportOp(Op):
    def __init__(self, name, how):
        self.name, self.how = name, how

    def setup(self, fe, t, rng):
        if self.how == "package":
            t.vars["tag"] = f"p{t.spec.index}"
            t.argv = [iocell_bin(), "import", fe.pkg, f"tag={t.vars['tag']}", *NONET]
            return
        # half of the trials find the image's tag taken by an earlier import of it
        if rng.random() < 0.5:
            u = parse_uuid(ioc("import", fe.image_uuid).stdout)
            t.known.add(u)
        if self.how == "stream":
            t.argv = [iocell_bin(), "import", "-"]
            t.stdin = str(fe.image)
        else:
            t.argv = [iocell_bin(), "import", fe.image_uuid[:13]]

    def judge(self, fe, t, b, a):
        if self.how == "package":
            def extra(u, p):
                root = fl.jail_dir(fe, u) / "root"
                if fl.read(root / "srv/fault/pkg-marker") != "pkg\n":
                    yield "the package's srv/fault/pkg-marker is missing (package not applied)"
                if os.path.lexists(root / "usr/bin/env"):
                    yield "usr/bin/env still there (the package's deletion not applied)"
            return judge_new_jail(fe, t, b, a, "clonejail", extra)

        def extra(u, p):
            if u == fe.image_uuid:
                yield "the new jail kept the image's UUID"
            if fl.read(fl.jail_dir(fe, u) / "root/root/img-marker") != "img\n":
                yield "root/root/img-marker missing (image not received completely)"
            ds = f"{JAILS_DS}/{u}"
            if "kept" not in a.snaps_of(ds) or "kept" not in a.snaps_of(f"{ds}/root"):
                yield "the image's snapshot @kept did not come along"
        return judge_new_jail(fe, t, b, a, None, extra)

    def redo(self, fe, t, r, outcome):
        if self.how == "package":
            return redo_create_like(fe, t, r, outcome)
        return redo_ok0(fe, t, r, outcome)


class FetchOp(Op):
    name = "fetch"

    def setup(self, fe, t, rng):
        rel = f"fr{t.spec.index}"
        t.vars["rel"] = rel
        t.argv = [iocell_bin(), "fetch", f"release={rel}", f"ftplocaldir={fe.bbdir}", "ftpfiles=rootfs.tar.xz"]

    def judge(self, fe, t, b, a):
        rel = t.vars["rel"]
        rds = f"{RELEASES_DS}/{rel}"
        mine = [n for n in a.ds if n == rds or n.startswith(rds + "/") or n.startswith(rds + "@")
                or n == f"{BASE_DS}/{rel}" or n.startswith(f"{BASE_DS}/{rel}/") or n.startswith(f"{BASE_DS}/{rel}@")]
        if not mine:
            return "not happened"
        if fl.release_issues(fe, a, rel):
            return "residue"  # reported by check_world as incomplete-release / orphan-base
        if not (fe.mountroot / "releases" / rel / "root/bin/busybox").exists():
            t.add("incomplete-content", f"release {rel}: root/bin/busybox missing")
        return "happened"


class FetchUpdateOp(Op):
    name = "fetch-update"

    def setup(self, fe, t, rng):
        rel = f"fu{t.spec.index}"
        t.vars["rel"] = rel
        ioc("fetch", f"release={rel}", f"ftplocaldir={fe.bbdir}", "ftpfiles=rootfs.tar.xz")
        if rng.random() < 0.5:  # a clone keeps the previous state (@ioc-prev-*) alive
            t.known.add(fl.create("-c", f"release={rel}", f"tag=fu{t.spec.index}j", *NONET))
        t.vars["source"] = run(["zfs", "get", "-H", "-o", "value", "iocell:source",
                                f"{RELEASES_DS}/{rel}"]).stdout.strip()
        t.argv = [iocell_bin(), "fetch", f"release={rel}", f"ftplocaldir={fe.v2dir}",
                  "ftpfiles=rootfs.tar.xz extra.tar.gz"]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        rel = t.vars["rel"]
        if fl.release_issues(fe, a, rel):
            return "residue"  # incomplete-release, from check_world
        root_v2 = (fe.mountroot / "releases" / rel / "root/etc/fault-v2").exists()
        bin_v2 = (fe.mountroot / "releases" / rel / "root/bin/fault-v2").exists()
        master_v2 = (fe.mountroot / "base" / rel / "bin/fault-v2").exists()
        src = a.props.get(f"{RELEASES_DS}/{rel}", {}).get("iocell:source", "")
        src_v2 = "extra.tar.gz" in src
        state = (root_v2, bin_v2, master_v2, src_v2)
        if all(state):
            return "happened"
        if not any(state) and src == t.vars["source"]:
            if not (fe.mountroot / "releases" / rel / "root/bin/busybox").exists():
                t.add("incomplete-content", f"release {rel}: root/bin/busybox missing")
                return "residue"
            return "not happened"
        t.add("half-updated-release", f"release {rel}: root etc/fault-v2={root_v2} bin/fault-v2={bin_v2}, "
                                      f"master bin/fault-v2={master_v2}, source has extra.tar.gz={src_v2}")
        return "residue"


class UpgradeOp(Op):
    name = "upgrade"

    def setup(self, fe, t, rng):
        tag = f"u{t.spec.index}"
        t.vars.update(uuid=fl.create("-b", f"release={fe.release}", f"tag={tag}", *NONET), tag=tag)
        t.known.add(t.vars["uuid"])
        t.argv = [iocell_bin(), "upgrade", tag, f"release={fe.next_release}"]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        ds = f"{JAILS_DS}/{u}"
        rel = a.props.get(ds, {}).get("iocell:release")
        snaps = [s for s in a.snaps_of(ds) if s.startswith("ioc-upgrade_")]
        if rel == fe.next_release and len(snaps) == 1:
            p = ioc("start", u, check=False)
            if p.returncode != 0:
                t.add("jail-not-usable", f"start after upgrade: {p.stderr.strip()[:200]}")
            else:
                q = ioc("exec", u, "cat", "/bin/bbnext-marker", check=False)
                if q.stdout.strip() != "bbnext":
                    t.add("incomplete-content",
                          f"upgraded basejail does not see the new release: {q.stderr.strip()[:200]}")
                ioc("stop", u, check=False)
            return "happened"
        if rel == fe.release and not snaps:
            return "not happened"
        t.add("half-upgraded", f"{ds}: release {rel}, back-out snapshots {snaps}")
        return "residue"

    @staticmethod
    def redo(fe, t, r, outcome):
        if outcome == "happened":
            return None if r.rc == 1 and "already on release" in r.stderr else f"exit {r.rc}: {r.stderr.strip()[:200]}"
        return None if r.rc == 0 else f"exit {r.rc}: {r.stderr.strip()[:300]}"


class UpdateOp(Op):
    name = "update"

    def setup(self, fe, t, rng):
        tag = f"w{t.spec.index}"
        u = fl.create("-c", f"release={fe.release}", f"tag={tag}", *NONET)
        t.known.add(u)
        fl.fake_debian_tree(fl.jail_dir(fe, u) / "root")
        t.vars.update(uuid=u, tag=tag)
        t.argv = [iocell_bin(), "update", tag]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        u = t.vars["uuid"]
        ds = f"{JAILS_DS}/{u}"
        snaps = [s for s in a.snaps_of(ds) if s.startswith("ioc-update_")]
        log = fl.read(fl.jail_dir(fe, u) / "root/var/log/fake-apt.log") or ""
        done = " update" in log and " upgrade" in log
        if snaps and done and len(snaps) == 1:
            return "happened"
        if not snaps and not log:
            return "not happened"
        t.add("half-updated", f"{ds}: back-out snapshots {snaps}, updater ran: "
                              f"{[l for l in log.splitlines()]}")
        return "residue"


class SetTagOp(Op):
    name = "set-tag"

    def setup(self, fe, t, rng):
        old, new = f"t{t.spec.index}", f"t{t.spec.index}new"
        t.vars.update(uuid=fl.create("-c", f"release={fe.release}", f"tag={old}", *NONET), old=old, new=new)
        t.known.add(t.vars["uuid"])
        t.argv = [iocell_bin(), "set", f"tag={new}", old]

    def judge(self, fe, t, b, a):
        lost_jails(fe, t, b, a)
        tag = a.props.get(f"{JAILS_DS}/{t.vars['uuid']}", {}).get("iocell:tag")
        got = ioc("get", "host_hostuuid", t.vars["new"] if tag == t.vars["new"] else t.vars["old"], check=False)
        if got.stdout.strip() != t.vars["uuid"]:
            t.add("name-does-not-resolve", f"tag {tag!r}: `iocell get` says {got.stderr.strip()[:200]}")
        if tag == t.vars["new"]:
            return "happened"
        if tag == t.vars["old"]:
            return "not happened"
        t.add("wrong-tag", f"tag is {tag!r}")
        return "residue"

    @staticmethod
    def redo(fe, t, r, outcome):
        if outcome == "happened":
            return None if r.rc == 1 and "no jail" in r.stderr else f"exit {r.rc}: {r.stderr.strip()[:200]}"
        return None if r.rc == 0 else f"exit {r.rc}: {r.stderr.strip()[:300]}"


OPS = {op.name: op for op in (
    CreateOp("create-c", "-c", "clonejail"),
    CreateOp("create", None, "jail"),
    CreateOp("create-b", "-b", "basejail"),
    CloneOp(),
    StartOp(),
    StopOp(),
    DestroyOp(),
    SnapshotOp(),
    RollbackOp(),
    ExportOp(),
    ExportStreamOp(),
    ImportOp("import-image", "image"),
    ImportOp("import-stream", "stream"),
    ImportOp("import-package", "package"),
    FetchOp(),
    FetchUpdateOp(),
    UpgradeOp(),
    UpdateOp(),
    SetTagOp(),
)}


# --------------------------------------------------------------------------------------
# one trial


def run_trial(fe: FaultEnv, t: Trial) -> Trial:
    spec = t.spec
    t0 = time.monotonic()
    op = OPS[spec.op]
    fl.step("set-up (uncut iocell calls)")
    op.setup(fe, t, random.Random(f"{fl.SEED}:{spec.index}:setup"))
    fl.step("capture of the world before")
    before = fl.capture_world(fe, t.known)
    t.delay = fl.delay_ms(spec, fe.durations)
    fl.step(f"the operation, to be killed at {t.delay:.1f} ms: {' '.join(map(str, t.argv))}")
    r = fl.run_and_kill(t.argv, t.delay, stdin_path=t.stdin, stdout_path=t.stdout_file)
    t.run = r
    fe.sessions.add(r.pid)
    t.known |= set(fl.UUID_RE.findall(r.stdout))
    if not r.killed:
        if r.rc == 0:
            fe.durations.add(spec.op, r.elapsed_ms)
        else:
            t.add("failed-uncut", f"exit {r.rc} without being killed: {r.stderr.strip()[:300]}")
    elif fl.KILL_MODE == "process":
        fl.wait_session_gone(r.pid, fl.ORPHAN_WAIT)  # what stays is reported as process-left
    fl.step(f"settling after the kill (session {r.pid})")
    fl.settle(r.pid)
    # the next command
    fl.step("the next command (iocell list -H)")
    nxt = ioc("list", "-H", check=False)
    t.next_stderr = nxt.stderr
    fl.step("capture and check of the world after the kill")
    after = fl.capture_world(fe, t.known, list_proc=nxt)
    t.known |= {d.rsplit("/", 1)[1] for d in after.jails()}
    t.residues += fl.check_world(fe, after, "after-kill", {r.pid})
    fl.step("the judge (usability probe)")
    t.outcome = op.judge(fe, t, before, after)
    if REDO_ON:
        # at once: ioc-update_/ioc-upgrade_/ioc-export_ names are per second, and a retry
        # within the same second must work too (the name takes .2, .3...)
        fl.step("the same operation again, uncut")
        r2 = fl.run_and_kill(t.argv, None, stdin_path=t.stdin, stdout_path=t.stdout_file)
        t.redo_run = r2
        fe.sessions.add(r2.pid)
        t.known |= set(fl.UUID_RE.findall(r2.stdout))
        if r2.rc == 0:
            fe.durations.add(spec.op, r2.elapsed_ms)
        why = op.redo(fe, t, r2, t.outcome)
        if why:
            t.add("redo-failed", f"the same operation again: {why}", "after-redo")
        fl.step("capture and check of the world after the redo")
        w2 = fl.capture_world(fe, t.known)
        t.residues += fl.check_world(fe, w2, "after-redo", {r.pid, r2.pid})
    if t.residues:
        t.outcome = "residue" if t.outcome != "residue" else t.outcome
    t.seconds = time.monotonic() - t0
    return t


REDO_ON = fl.REDO


# --------------------------------------------------------------------------------------
# the summary


def summarize(results: list[Trial]) -> dict:
    per_op: dict = {}
    for t in results:
        o = per_op.setdefault(t.spec.op, {"trials": 0, "killed": 0, "finished_first": 0, "happened": 0,
                                          "not_happened": 0, "residue": 0, "residue_delays_ms": [],
                                          "kinds": {}, "examples": [], "errors": 0})
        o["trials"] += 1
        if t.error:
            o["errors"] += 1
        if t.run and t.run.killed:
            o["killed"] += 1
        elif t.run:
            o["finished_first"] += 1
        key = {"happened": "happened", "not happened": "not_happened"}.get(t.outcome, "residue")
        if t.residues or t.outcome == "residue" or t.error:
            key = "residue"
        o[key] += 1
        if key == "residue":
            o["residue_delays_ms"].append(round(t.run.killed_at_ms if t.run and t.run.killed_at_ms else t.delay, 1))
            for r in t.residues:
                o["kinds"][r.kind] = o["kinds"].get(r.kind, 0) + 1
            if len(o["examples"]) < 3:
                o["examples"].append(t.report())
    return per_op
