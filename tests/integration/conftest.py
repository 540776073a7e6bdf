"""pytest set-up for the iocell integration tests (run as root; Python 3.11 stdlib only).

Per session (autouse, see ``iocell_env``):
  * make sure a ZFS daemon answers (``zpool list``); if not, start ``zfs-fuse`` with a
    pidfile of our own and stop it again at the end;
  * create the scratch pool ``ioct<pid>`` on a 1 GiB sparse file in a temp dir, activate it
    with ``iocell activate POOL mountpoint=<tmp>/iocell`` and re-activate the previously
    active pool at the end;
  * export IOCELL_RUNDIR=<tmp>/run so iocell's runtime state stays private to the session.
Per test (autouse, see ``_clean_jails``): stop and destroy every jail left under
POOL/iocell/jails and drop iocell's index cache files, so tests do not see each other.

Teardown runs on success, failure, Ctrl-C and SIGTERM (try/finally + atexit); it never
touches a pool or a process this session did not create.

Environment knobs: IOCELL_BIN (binary under test), IOCELL_TEST_TIMEOUT (seconds per iocell
call, default 300), IOCELL_TEST_KEEP=1 (keep the pool and temp dir for post-mortem),
IOCELL_TEST_DEBIAN_MIRROR (mirror for the slow ``debian_release`` fixture),
IOCELL_TEST_SHARD=I/N and IOCELL_TEST_DURATIONS (run one part of the suite: shard.py).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import helpers
import shard
from helpers import (
    IOCROOT_DS,
    JAILS_DS,
    POOL,
    RELEASES_DS,
    REPO,
    datasets,
    destroy_dataset,
    ioc,
    iocell_bin,
    pid_alive,
    read_pidfile,
    run,
    terminate,
    zfs,
    zfs_exists,
    zfs_get,
    zpool,
)

SYSTEM_PIDFILE = "/var/run/zfs-fuse.pid"
BB_RELEASE = "bb"
POOL_SIZE = 1 << 30


def _log(msg: str) -> None:
    print(f"[iocell-tests] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# pytest hooks


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slow test (debootstrap, large numbers of jails)")


@pytest.hookimpl(trylast=True)  # after -k and -m deselected theirs: split what is left
def pytest_collection_modifyitems(config, items):
    # Slow tests (debootstrap from the Debian mirror, minutes each) run only when asked
    # for: IOCELL_SLOW=1, or an explicit -m expression naming them.
    if os.environ.get("IOCELL_SLOW") != "1" and "slow" not in (config.getoption("-m") or ""):
        skip_slow = pytest.mark.skip(reason="slow test: set IOCELL_SLOW=1 (or -m slow) to run it")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip_slow)
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="iocell integration tests must run as root")
        for item in items:
            item.add_marker(skip)
    # IOCELL_TEST_SHARD=I/N: only this shard's modules (shard.py; the guest tier's VMs)
    line = shard.select(config, items)
    if line:
        config._iocell_shard = line
        _log(line)
    # (a -k or -m run measures parts of modules: it writes nothing)
    shard.track_begin(items, not (config.option.keyword or config.option.markexpr))


def pytest_runtest_logreport(report):
    # IOCELL_TEST_DURATIONS_OUT: the seconds of every module run to its end, rewritten
    # after each test, so that a run cut short still measures what it finished
    shard.track_report(report)
    # A failure is printed at once, not only in the summary at the end: a run that is cut
    # short (its time limit, CI's) still shows why its first tests failed.
    if report.failed:
        text = report.longreprtext
        if len(text) > 12000:
            text = text[:2000] + "\n[...]\n" + text[-10000:]
        print(f"\n[iocell-tests] FAILED {report.nodeid} ({report.when}):\n{text}\n",
              file=sys.stderr, flush=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # IOCELL_TEST_DEADLINE (seconds since the epoch, set by scripts/test.sh): no test starts
    # after it; the run ends as interrupted (non-zero) with what it has, instead of being
    # killed by an outer time limit with no summary at all.
    yield
    deadline = os.environ.get("IOCELL_TEST_DEADLINE")
    if deadline and nextitem is not None and time.time() > float(deadline):
        item.session.shouldstop = ("IOCELL_TEST_DEADLINE passed: the remaining tests were not run "
                                   "(the run is cut short, so it fails)")


def _stray_jail_inits() -> list[tuple[int, str]]:
    """Jail inits (iocell-init) still running on this session's pools (POOL, or a second
    pool a test made as POOL plus a letter): (pid, root dataset)."""
    pat = re.compile(rf"^{re.escape(POOL)}[a-z]?/")
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if Path(f"/proc/{d}/comm").read_text().strip() != "iocell-init":
                continue
            for line in Path(f"/proc/{d}/mountinfo").read_text().splitlines():
                f = line.split()
                if len(f) > 4 and f[4] == "/" and " - " in line:
                    src = line.split(" - ", 1)[1].split()[1]
                    if pat.match(src):
                        found.append((int(d), src))
                    break
        except (OSError, IndexError):
            continue
    return found


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session, exitstatus):
    # A jail of this session still running once everything is cleaned up is a leak (a
    # clean-up that could not stop it, a pool destroyed under it): the run fails, and the
    # jails go (their inits are this session's).
    left = _stray_jail_inits()
    if not left:
        return
    for pid, src in left:
        _log(f"LEAK: jail init {pid} still runs on {src} after the session's clean-up; killed")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_report_header(config):
    iso = " (isolated zfs-fuse namespace)" if os.environ.get("IOCELL_TEST_ISOLATED") == "1" else ""
    return [f"iocell binary: {iocell_bin()}", f"scratch pool: {POOL}{iso}"]


def pytest_report_collectionfinish(config, items):
    line = getattr(config, "_iocell_shard", None)
    return [line] if line else []


# --------------------------------------------------------------------------------------
# zfs-fuse daemon


def _zpool_answers() -> bool:
    try:
        return subprocess.run(["zpool", "list", "-H", "-o", "name"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _remove_stale_pidfile(path: str) -> None:
    if not os.path.exists(path):
        return
    pid = read_pidfile(path)
    if pid is None or not pid_alive(pid):
        _log(f"removing stale pidfile {path} (pid {pid} is not running)")
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _zfs_fuse_binary() -> str:
    for cand in (shutil.which("zfs-fuse"), "/usr/sbin/zfs-fuse", "/sbin/zfs-fuse"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("no ZFS daemon answers and zfs-fuse is not installed (run scripts/deps.sh)")


def start_zfs_fuse(pidfile: str, logfile: str, wait: float = 10.0) -> int:
    """Start zfs-fuse with ``--pidfile pidfile``; return its PID once ``zpool list`` works."""
    binary = _zfs_fuse_binary()
    if not os.path.exists("/dev/fuse"):
        try:
            os.mknod("/dev/fuse", 0o666 | stat.S_IFCHR, os.makedev(10, 229))
        except OSError as e:
            raise RuntimeError(f"/dev/fuse is missing and cannot be created ({e}); zfs-fuse needs FUSE")
    for pf in (pidfile, SYSTEM_PIDFILE):
        _remove_stale_pidfile(pf)
    with open(logfile, "ab") as log:
        # zfs-fuse forks and returns once its socket listens; its own session keeps a
        # Ctrl-C in the terminal away from it (we stop it ourselves, after the pool is gone).
        rc = subprocess.run([binary, "--pidfile", pidfile], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, start_new_session=True, timeout=60).returncode
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _zpool_answers():
            pid = read_pidfile(pidfile)
            if pid is None:
                raise RuntimeError(f"zfs-fuse answers but wrote no pid to {pidfile}")
            return pid
        time.sleep(0.1)
    pid = read_pidfile(pidfile)
    if pid and pid_alive(pid):
        terminate(pid)
    raise RuntimeError(
        f"zfs-fuse did not answer within {wait}s (start exit status {rc}; pidfile {pidfile}; "
        f"log {logfile}: {Path(logfile).read_text(errors='replace')[-2000:]!r})")


def stop_zfs_fuse(pidfile: str) -> None:
    pid = read_pidfile(pidfile)
    if pid is None:
        return
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        comm = None
    if comm is None or not pid_alive(pid):
        pass
    elif not comm.startswith("zfs-fuse"):
        _log(f"pid {pid} from {pidfile} is {comm!r}, not zfs-fuse: not signalling it")
    elif not terminate(pid, timeout=20.0):
        _log(f"zfs-fuse pid {pid} did not exit after SIGTERM and SIGKILL")
    else:
        _log(f"stopped zfs-fuse pid {pid}")
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------------------
# the session: daemon, pool, activation, rundir


def _rmtree_one_fs(top: str) -> None:
    """rm -rf top, but never descend into another mounted file system below it."""
    try:
        top_dev = os.lstat(top).st_dev
    except FileNotFoundError:
        return
    for root, dirs, files in os.walk(top, topdown=False):
        try:
            if os.lstat(root).st_dev != top_dev or (root != top and os.path.ismount(root)):
                _log(f"not removing {root}: another file system is mounted there")
                continue
        except FileNotFoundError:
            continue
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            try:
                os.unlink(os.path.join(root, name))
            except OSError:
                pass
        for name in dirs:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
    try:
        os.rmdir(top)
    except OSError as e:
        _log(f"could not remove {top}: {e}")


_STALE_MOUNT_RE = re.compile(r"/iocell-test-(\d+)-[^/]+/mnt$")


def _reap_stale_test_pools() -> None:
    """Destroy ioct<PID> pools left by killed runs of this harness (PID dead, pool mounted
    at the harness's own temp dir naming). Anything else is left alone."""
    proc = run(["zpool", "list", "-H", "-o", "name"], check=False)
    for name in proc.stdout.split():
        m = re.fullmatch(r"ioct(\d+)", name)
        if not m or int(m.group(1)) == os.getpid() or pid_alive(int(m.group(1))):
            continue
        mp = run(["zfs", "get", "-H", "-o", "value", "mountpoint", name], check=False).stdout.strip()
        mm = _STALE_MOUNT_RE.search(mp)
        if not mm or mm.group(1) != m.group(1):
            continue
        _log(f"destroying stale test pool {name} (pid {m.group(1)} is gone)")
        for _ in range(10):
            if run(["zpool", "destroy", "-f", name], check=False).returncode == 0:
                _rmtree_one_fs(os.path.dirname(mp))
                break
            time.sleep(0.2)


class IocellTestEnv:
    """State of one test session. close() is idempotent and safe after a partial setup."""

    def __init__(self):
        self.pool = POOL
        self.tmpdir: str | None = None
        self.mountroot: Path | None = None
        self.rundir: str | None = None
        self.daemon_pidfile: str | None = None
        self.started_daemon = False
        self.created_pool = False
        self.activated = False
        self.prev_active: str | None = None
        self.old_rundir_env: str | None = None
        self.release_dir: str | None = None
        self.fetched: dict[str, tuple] = {}  # release name -> fetch args
        self.closed = False

    # ---- setup
    def setup(self):
        binary = iocell_bin()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"iocell binary {binary} not found: build first "
                               "(meson setup build-asan ... && ninja -C build-asan) or set IOCELL_BIN")
        self.tmpdir = tempfile.mkdtemp(prefix=f"iocell-test-{os.getpid()}-")
        self.rundir = os.path.join(self.tmpdir, "run")
        os.mkdir(self.rundir, 0o755)
        self.old_rundir_env = os.environ.get("IOCELL_RUNDIR")
        os.environ["IOCELL_RUNDIR"] = self.rundir

        # 1. a daemon that answers
        if not _zpool_answers():
            self.daemon_pidfile = os.path.join(self.tmpdir, "zfs-fuse.pid")
            pid = start_zfs_fuse(self.daemon_pidfile, os.path.join(self.tmpdir, "zfs-fuse.log"))
            self.started_daemon = True
            _log(f"started zfs-fuse pid {pid}")

        _reap_stale_test_pools()

        # 2. the scratch pool on a sparse file
        img = os.path.join(self.tmpdir, "pool.img")
        with open(img, "wb") as f:
            f.truncate(POOL_SIZE)
        mnt = os.path.join(self.tmpdir, "mnt")
        if zfs_exists(self.pool):
            raise RuntimeError(f"pool {self.pool} already exists")
        self.created_pool = True  # from here on, try to destroy it whatever happens
        # Kernel ZFS records imported pools in /etc/zfs/zpool.cache for import at boot: a
        # scratch pool must not be (zfs-fuse keeps its cache in the test's private tmpfs).
        cache = ["-o", "cachefile=none"] if os.path.exists("/dev/zfs") else []
        zpool("create", *cache, "-m", mnt, self.pool, img)

        # 3. activation (remember what was active, to restore it)
        cur = ioc("activate", check=False)
        if cur.returncode == 0:
            pools = set(zpool("list", "-H", "-o", "name").split())
            for tok in cur.stdout.split():
                if tok in pools and tok != self.pool:
                    self.prev_active = tok
                    break
        self.mountroot = Path(self.tmpdir) / "iocell"
        self.activated = True
        ioc("activate", self.pool, f"mountpoint={self.mountroot}")
        _log(f"pool {self.pool} active, mount root {self.mountroot}, rundir {self.rundir}"
             + (f" (previously active: {self.prev_active})" if self.prev_active else ""))

    # ---- per-test cleanup
    def active_pool_is_ours(self) -> bool:
        out = ioc("activate", check=False).stdout.split()
        return self.pool in out

    def clean_jails(self):
        """Stop and destroy every jail of the scratch pool; drop index cache files."""
        listing = run(["zfs", "list", "-H", "-o", "name,origin", "-r", "-t", "filesystem", IOCROOT_DS],
                      check=False).stdout
        rows = [line.split("\t") for line in listing.splitlines() if "\t" in line]
        jails = [name for name, _ in rows if name.startswith(JAILS_DS + "/")]
        if jails:
            if self.activated and self.active_pool_is_ours():
                ioc("stop", "-f", "ALL", check=False, timeout=120)
            self._promote_out_of_jails(rows)
            left = [name for name in sorted({n for n in jails if n.count("/") == JAILS_DS.count("/") + 1})
                    if not destroy_dataset(name)]
            # a jail left behind would be seen by the next test: fail this one instead
            assert not left, f"clean-up could not destroy {left}"
        self.clean_cache()
        # make sure the next test finds the session's releases again (a test may destroy one)
        for rel, args in self.fetched.items():
            if not zfs_exists(f"{RELEASES_DS}/{rel}"):
                _log(f"release {rel} was destroyed by a test: fetching it again")
                ioc(*args)

    def _promote_out_of_jails(self, rows):
        """A promoted jail makes e.g. the release a clone of the jail: promote such datasets
        back so ``zfs destroy -R`` of the jail does not take them along."""
        for _ in range(5):
            victims = [name for name, origin in rows
                       if not name.startswith(JAILS_DS + "/") and origin.startswith(JAILS_DS + "/")]
            if not victims:
                return
            for name in victims:
                run(["zfs", "promote", name], check=False)
            listing = run(["zfs", "list", "-H", "-o", "name,origin", "-r", "-t", "filesystem",
                           IOCROOT_DS], check=False).stdout
            rows = [line.split("\t") for line in listing.splitlines() if "\t" in line]

    def clean_cache(self):
        if not self.rundir or not os.path.isdir(self.rundir):
            return
        for entry in os.scandir(self.rundir):
            low = entry.name.lower()
            if "cache" in low or "index" in low or low.endswith(".idx"):
                try:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                except OSError:
                    pass

    # ---- teardown
    def close(self):
        if self.closed:
            return
        self.closed = True
        keep = os.environ.get("IOCELL_TEST_KEEP") == "1"
        pool_gone = not self.created_pool
        try:
            if self.created_pool and not keep:
                try:
                    if self.activated:
                        try:
                            self.clean_jails()
                        except Exception as e:  # keep tearing down
                            _log(f"cleaning jails at teardown: {e}")
                    if self.prev_active and zfs_exists(self.prev_active):
                        proc = ioc("activate", self.prev_active, check=False)
                        if proc.returncode != 0:
                            _log(f"could not re-activate {self.prev_active}: {proc.stderr.strip()}")
                finally:
                    pool_gone = self._destroy_pool()
            elif keep:
                _log(f"IOCELL_TEST_KEEP=1: keeping pool {self.pool} and {self.tmpdir}")
        finally:
            if self.old_rundir_env is None:
                os.environ.pop("IOCELL_RUNDIR", None)
            else:
                os.environ["IOCELL_RUNDIR"] = self.old_rundir_env
            # the daemon's pidfile lives in tmpdir: stop the daemon first
            if self.started_daemon and self.daemon_pidfile and not keep:
                stop_zfs_fuse(self.daemon_pidfile)
            if self.tmpdir and not keep:
                if pool_gone:
                    _rmtree_one_fs(self.tmpdir)
                else:
                    _log(f"pool {self.pool} still exists: leaving its backing file in {self.tmpdir}")

    def _destroy_pool(self) -> bool:
        last = ""
        for attempt in range(10):
            args = ["zpool", "destroy"] + (["-f"] if attempt >= 5 else []) + [self.pool]
            try:
                proc = run(args, check=False, timeout=60)
            except AssertionError as e:  # timeout
                last = str(e)
                continue
            if proc.returncode == 0:
                return True
            last = proc.stderr.strip()
            if "no such pool" in last:
                return True
            time.sleep(0.2)
        _log(f"could not destroy pool {self.pool}: {last}")
        return False


def _sigterm_to_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session", autouse=True)
def iocell_env():
    """The session's IocellTestEnv (pool, mountroot, rundir...). Autouse: every test gets it."""
    if os.geteuid() != 0:
        pytest.skip("iocell integration tests must run as root")
    binary = iocell_bin()
    if not os.access(binary, os.X_OK):
        pytest.exit(f"iocell binary {binary} not found: build it first (bash scripts/test.sh "
                    "does) or point IOCELL_BIN at it", returncode=4)
    env = IocellTestEnv()
    atexit.register(env.close)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _sigterm_to_interrupt)
    try:
        env.setup()
        yield env
    finally:
        env.close()


@pytest.fixture(autouse=True)
def _clean_jails(iocell_env):
    """After each test: stop and destroy all jails of the scratch pool, drop index caches,
    and re-activate the scratch pool if the test activated another one."""
    yield
    if iocell_env.activated and not iocell_env.active_pool_is_ours():
        ioc("activate", iocell_env.pool, check=False)
    iocell_env.clean_jails()


# --------------------------------------------------------------------------------------
# values and helpers as fixtures


@pytest.fixture(scope="session")
def pool(iocell_env) -> str:
    """Name of the scratch pool (``ioct<pid>``)."""
    return iocell_env.pool


@pytest.fixture(scope="session")
def mountroot(iocell_env) -> Path:
    """Mountpoint of POOL/iocell (what /iocell is by default), a pathlib.Path."""
    return iocell_env.mountroot


@pytest.fixture(scope="session")
def iocroot_ds(iocell_env) -> str:
    """``POOL/iocell``."""
    return IOCROOT_DS


@pytest.fixture(scope="session")
def jails_ds(iocell_env) -> str:
    """``POOL/iocell/jails``."""
    return JAILS_DS


@pytest.fixture(scope="session")
def rundir(iocell_env) -> Path:
    """The IOCELL_RUNDIR of this session (also exported in os.environ)."""
    return Path(iocell_env.rundir)


@pytest.fixture(scope="session")
def iocell(iocell_env) -> str:
    """Absolute path of the iocell binary under test."""
    return iocell_bin()


@pytest.fixture(scope="session")
def release(iocell_env) -> str:
    """Name ("bb") of a tiny busybox release, built and fetched once per session on first use."""
    env = iocell_env
    if BB_RELEASE not in env.fetched:
        env.release_dir = os.path.join(env.tmpdir, "bb-release")
        run(["bash", str(REPO / "scripts" / "mkbusybox-release.sh"), env.release_dir], timeout=60)
        args = ("fetch", f"release={BB_RELEASE}", f"ftplocaldir={env.release_dir}",
                "ftpfiles=rootfs.tar.xz")
        ioc(*args)
        env.fetched[BB_RELEASE] = args
    return BB_RELEASE


def _debian_mirror() -> str:
    """The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org."""
    if os.environ.get("IOCELL_TEST_DEBIAN_MIRROR"):
        return os.environ["IOCELL_TEST_DEBIAN_MIRROR"]
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list")),
             *sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))]
    for p in files:
        try:
            text = p.read_text(errors="replace")
        except OSError:
            continue
        if p.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"(?m)^(\w[\w-]*):\s*(.*)$", stanza))
                if "bookworm" in fields.get("Suites", "").split() and fields.get("Enabled", "yes") != "no":
                    for uri in fields.get("URIs", "").split():
                        if "security" not in uri:
                            return uri.rstrip("/")
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^\]]*\]", "", line).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == "bookworm":
                    return words[1].rstrip("/")
    return "http://deb.debian.org/debian"


@pytest.fixture(scope="session")
def debian_release(iocell_env) -> str:
    """Name ("bookworm") of a real Debian minbase release, debootstrapped once per session
    from the machine's apt mirror (about 40 s). Use only from tests marked ``slow``."""
    env = iocell_env
    name = "bookworm"
    if name not in env.fetched:
        args = ("fetch", f"release={name}", f"ftphost={_debian_mirror()}")
        ioc(*args, timeout=max(helpers.IOCELL_TIMEOUT, 900))
        env.fetched[name] = args
    return name


@pytest.fixture
def saved_defaults(iocell_env):
    """Restore the system-wide defaults (local iocell:* properties of POOL/iocell/.defaults)
    after a test that changes them with ``iocell set PROP=VAL default``."""
    ds = f"{IOCROOT_DS}/.defaults"

    def snapshot() -> dict:
        proc = run(["zfs", "get", "-H", "-o", "property,value,source", "all", ds], check=False)
        props = {}
        for line in proc.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0].startswith("iocell:") and parts[2] == "local":
                props[parts[0]] = parts[1]
        return props

    before = snapshot()
    yield before
    after = snapshot()
    for prop, value in before.items():
        if after.get(prop) != value:
            run(["zfs", "set", f"{prop}={value}", ds], check=False)
    for prop in after.keys() - before.keys():
        run(["zfs", "inherit", prop, ds], check=False)
    # changed behind iocell's back: its cache of the saved defaults goes too
    rd = os.environ.get("IOCELL_RUNDIR")
    if rd:
        Path(rd, f"defaults-{POOL}").unlink(missing_ok=True)


# The helper functions, also as fixtures (import them from helpers.py if you prefer).

@pytest.fixture(scope="session", name="ioc")
def _ioc_fixture():
    """ioc(*args, input=None, check=True, env=None, timeout=None) -> CompletedProcess."""
    return ioc


@pytest.fixture(scope="session", name="zfs")
def _zfs_fixture():
    """zfs(*args, check=True) -> stdout."""
    return zfs


@pytest.fixture(scope="session", name="zpool")
def _zpool_fixture():
    """zpool(*args, check=True) -> stdout."""
    return zpool


@pytest.fixture(scope="session", name="zfs_get")
def _zfs_get_fixture():
    """zfs_get(dataset, prop) -> value."""
    return zfs_get


@pytest.fixture(scope="session", name="datasets")
def _datasets_fixture():
    """datasets(prefix, include_self=False, types="filesystem,volume") -> [names]."""
    return datasets
