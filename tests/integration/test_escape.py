"""Jail-escape suite (issue 14, item 8): proves that a jail cannot reach the host.

Two kinds of attempts:

* **in-jail attempts** (ATTEMPTS): the static probe ``tests/escape/probe.c`` (built as
  ``BUILD/tests/escape/iocell-escape-probe``) is copied into a jail and run as the jail's
  root with ``iocell exec JAIL /probe --batch A,B,...``.  Each attempt prints one line,
  ``BLOCKED|ESCAPED|ALLOWED|CHECKHOST|NOTAPPLICABLE|ERROR detail`` (see the probe's header
  for what each means and why every payload is harmless).  They run for every
  configuration in CONFIGS (the default jail, one jail per allow_* property, ip4=inherit,
  a basejail): one started jail per configuration for the whole module, one ``exec`` of
  the probe per configuration (use ``-k CONFIG-ATTEMPT`` to run a single attempt alone).
* **host-driven attempts** (the ``test_host_*`` functions): what only the caller of iocell
  can set up -- descriptors, the working directory, the environment or the terminal handed
  to ``iocell exec``, FIFOs where iocell reads jail files, a setuid binary run by an
  unprivileged host user, symlinks where iocell writes or mounts on the host side.

Every attempt asserts the host is unchanged, not only that a call failed: a snapshot of
the host (sysctls, mounts, cgroup files, hostname, clock, interfaces, IPC, /dev, a planted
secret) is compared before and after; a difference is restored where possible and fails
the test in its teardown (an ERROR even for a known escape).  A planted secret (a host
file, a host SysV segment) must never show in a probe's output unless it says ESCAPED.

KNOWN_ESCAPES lists what escapes today.  Those tests are xfail(strict=True), raising
``Escaped``: when a fix closes one, its test XPASSes and fails, so the list must shrink.
Anything else must be blocked.
"""

from __future__ import annotations

import ctypes
import os
import pty
import re
import secrets
import select
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from helpers import (
    JAILS_DS,
    cgroup_dirs,
    datasets,
    destroy_dataset,
    ioc,
    iocell_bin,
    make_jail,
    pid_alive,
    run,
    state,
    zfs,
)


class Escaped(AssertionError):
    """An attempt got through a wall that should have held."""


# --------------------------------------------------------------------------------------
# configurations

#: name -> (create flag, properties).  Every allow_* property of src/core/props.c with its
#: non-default value, ip4=inherit (the host's network stack) and a basejail.  Not
#: allow_mount_zfs=1: no jail starts with it where the ZFS cannot delegate a dataset
#: (zfs-fuse), see test_manual.py::test_allow_mount_zfs_refused_at_start.
CONFIGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("-c", ()),
    "allow_mount": ("-c", ("allow_mount=1",)),
    "allow_mount_tmpfs": ("-c", ("allow_mount_tmpfs=1",)),
    "allow_mount_procfs": ("-c", ("allow_mount_procfs=1",)),
    "allow_mount_devfs": ("-c", ("allow_mount_devfs=1",)),
    "allow_mount_nullfs": ("-c", ("allow_mount_nullfs=1",)),
    "allow_sysvipc": ("-c", ("allow_sysvipc=1",)),
    "allow_raw_sockets": ("-c", ("allow_raw_sockets=1",)),
    "allow_chflags": ("-c", ("allow_chflags=1",)),
    "allow_quotas": ("-c", ("allow_quotas=1",)),
    "allow_set_hostname_0": ("-c", ("allow_set_hostname=0",)),
    "ip4_inherit": ("-c", ("ip4=inherit",)),
    "basejail": ("-b", ()),
    # the documented exception: no user namespace (its escapes are expected, see below)
    "privileged": ("-c", ("privileged=yes",)),
}

MOUNT_CONFIGS = ("allow_mount", "allow_mount_tmpfs", "allow_mount_procfs", "allow_mount_devfs",
                 "allow_mount_nullfs")
#: configurations whose jail runs in a user namespace of its own (all but privileged=yes)
USERNS_CONFIGS = tuple(c for c in CONFIGS if c != "privileged")
ALL_CONFIGS = tuple(CONFIGS)

# --------------------------------------------------------------------------------------
# the in-jail attempts (names as in the probe; the comment says what each tries)

ATTEMPTS: dict[str, str] = {
    # mounting (needs CAP_SYS_ADMIN and the mount syscalls)
    "mount_devtmpfs": "mount the host's devtmpfs (every host device node)",
    "mount_proc_unmasked": "mount a fresh proc: no masks, writable /proc/sys (core_pattern)",
    "mount_sysfs_rw": "mount sysfs read-write",
    "mount_cgroup_v1": "mount an existing cgroup v1 hierarchy: own limits writable",
    "mount_cgroup2": "mount cgroup2: own limits writable",
    "mount_debugfs": "mount debugfs (kernel internals)",
    "mount_tracefs": "mount tracefs (kernel tracing)",
    "mount_securityfs": "mount securityfs (LSM policy)",
    "mount_bpffs": "mount the BPF file system",
    "mount_binfmt_misc": "mount binfmt_misc: register a host-wide interpreter",
    "mount_bind_proc": "bind /proc without its masks: core_pattern writable",
    "open_tree_proc": "open_tree clone of /proc without its masks",
    "fsopen_proc": "fsopen/fsmount a fresh proc",
    "remount_root": "remount the jail's root (e.g. without nosuid/nodev)",
    "remount_sys_rw": "remount /sys read-write",
    "remount_procsys_rw": "remount /proc/sys read-write",
    "mount_setattr_procsys": "mount_setattr: clear read-only on /proc/sys",
    "umount_proc_mask": "unmount a /proc mask (umount of masks)",
    "chroot_breakout": "chroot + fchdir + '..' breakout, then read a host file",
    "pivot_root": "pivot_root reachable",
    # /proc and /sys
    "procsys_core_pattern": "open /proc/sys/kernel/core_pattern for writing",
    "procsys_usermode_helper": "open /proc/sys/kernel/modprobe (or poweroff_cmd) for writing",
    "proc_mtrr_write": "write /proc/mtrr (CAP_SYS_ADMIN, invalid line)",
    "sysrq_trigger": "open /proc/sysrq-trigger for writing (never written)",
    "sys_firmware_read": "read /sys/firmware",
    "sys_kernel_write": "open a /sys/kernel tunable for writing",
    "sys_submounts_rw": "read-write mounts below /sys (the host's cgroupfs...)",
    "proc_kallsyms_read": "read /proc/kallsyms",
    "proc_kmsg_open": "open /proc/kmsg",
    "dev_kmsg_read": "open /dev/kmsg",
    "syslog_read": "syslog(2) read of the kernel log",
    "binfmt_misc_register": "open /proc/sys/fs/binfmt_misc/register for writing",
    "net_sysctl_write": "open /proc/sys/net/ipv4/ip_forward for writing",
    # privileged kernel interfaces (invalid arguments refused right after the check)
    "init_module": "init_module",
    "finit_module": "finit_module (bad fd)",
    "delete_module": "delete_module (no such module)",
    "kexec_load": "kexec_load (bad segment count)",
    "kexec_file_load": "kexec_file_load (bad flags)",
    "reboot": "reboot(2) (bad magic)",
    "swapon": "swapon (no such file)",
    "swapoff": "swapoff (no such file)",
    "iopl": "iopl(3)",
    "ioperm": "ioperm on port 0x80 (never used)",
    "acct": "acct(2) (no such file)",
    "quotactl": "quotactl (Q_SYNC)",
    "settimeofday": "settimeofday (invalid value)",
    "clock_settime": "clock_settime (invalid value)",
    "adjtimex": "adjtimex (ADJ_TICK, invalid tick)",
    "clock_adjtime": "clock_adjtime (ADJ_TICK, invalid tick)",
    "bpf_map_create": "bpf(BPF_MAP_CREATE)",
    "perf_event_open": "perf_event_open system-wide",
    "userfaultfd": "userfaultfd",
    "keyctl_user_keyring": "keyctl on uid 0's user keyring (the host's)",
    "add_key": "add_key",
    "request_key": "request_key",
    "personality": "personality(ADDR_NO_RANDOMIZE)",
    "open_by_handle_at": "open_by_handle_at (shocker)",
    "name_to_handle_at": "name_to_handle_at",
    "fanotify_init": "fanotify_init",
    "io_uring_setup": "io_uring_setup (a kernel surface the OCI default profile refuses)",
    "vsock_socket": "socket(AF_VSOCK): the hypervisor's services",
    # processes and namespaces
    "ptrace_init": "ptrace the jail's init",
    "process_vm_readv_init": "read the jail init's memory",
    "proc_init_exe": "open /proc/1/exe (the init binary, a host file)",
    "proc_init_fd": "open the jail init's descriptors (the host's console log)",
    "proc_host_pid": "/proc/HOSTPID/root and /ns of a host process",
    "kill_host_pid": "signal a host process",
    "unshare_userns": "unshare(CLONE_NEWUSER) with children_max=0",
    "unshare_mntns": "unshare(CLONE_NEWNS) with children_max=0",
    "clone_newpid": "clone(CLONE_NEWPID) with children_max=0",
    "clone3_newuser": "clone3(CLONE_NEWUSER) with children_max=0",
    "capset_raise": "capset: raise CAP_SYS_MODULE",
    "ioprio_rt": "real-time I/O priority",
    "sched_fifo": "SCHED_FIFO",
    "nice_negative": "negative nice",
    # devices and terminals
    "mknod_block": "mknod of the host's block device",
    "mknod_char_mem": "mknod of /dev/mem",
    "planted_blockdev_read": "open a block device node planted in the jail's files",
    "planted_kmsg_open": "open a /dev/kmsg node planted in the jail's files",
    "devfs_planted_node": "open a /dev/kmsg node planted in the jail's /dev (device allow-list)",
    "dev_minimal": "device nodes in /dev beyond the minimal set",
    "tiocsti_own_pty": "TIOCSTI (typing into a terminal)",
    "tioccons": "TIOCCONS (redirect the host console; read-only tty)",
    "fifreeze": "FIFREEZE (on procfs, which cannot freeze)",
    # network, IPC, UTS, cgroups
    "raw_socket_icmp": "raw socket without allow_raw_sockets",
    "packet_socket": "packet socket without allow_raw_sockets",
    "net_admin_ifflags": "SIOCSIFFLAGS (CAP_NET_ADMIN)",
    "sethostname": "sethostname: must not reach the host",
    "setdomainname": "setdomainname: must not reach the host",
    "sysvipc_host_shm": "read the host's SysV shared memory",
    "cgroup_release_agent": "open the host's cgroup release_agent for writing",
    "cgroup_host_procs": "open the host's root cgroup.procs for writing",
    "cgroup_own_limit": "rewrite its own cgroup limit (raise its limits)",
}

#: What a configuration permits by design: these must work (which also proves the
#: configuration is in force), e.g. a raw socket with allow_raw_sockets=1.
PERMITTED: dict[tuple[str, str], str] = {
    **{(c, "mount_tmpfs"): "allow_mount*: mounting tmpfs" for c in MOUNT_CONFIGS},
    **{(c, "net_admin_ifflags"): "CAP_NET_ADMIN over the jail's own network namespace, "
       "which belongs to its user namespace" for c in USERNS_CONFIGS if c != "ip4_inherit"},
    ("allow_raw_sockets", "raw_socket_icmp"): "allow_raw_sockets=1 keeps CAP_NET_RAW",
    ("allow_raw_sockets", "packet_socket"): "allow_raw_sockets=1 keeps CAP_NET_RAW",
    ("allow_quotas", "quotactl"): "allow_quotas=1 lets quotactl through",
}

#: What a user namespace lets a jail do in namespaces of its own only: the attempt may
#: succeed (then its ESCAPED line counts as CHECKHOST: the host snapshot, which lists the
#: host's binfmt_misc entries, must be unchanged) or be blocked.
CONFINED: dict[tuple[str, str], str] = {
    **{(c, "mount_binfmt_misc"): "Linux >= 6.7 gives a user namespace a binfmt_misc instance "
       "of its own (the host's is not the one mounted)" for c in MOUNT_CONFIGS},
}

# --------------------------------------------------------------------------------------
# KNOWN_ESCAPES: the one list of what gets through today, by cause.  Rows of
# (cause, attempts, configurations); host-driven attempts use the configuration of the
# jail they run against.  Remove what a fix closes (its test then XPASSes and fails).

_KNOWN_ROWS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
]

KNOWN_ESCAPES: dict[tuple[str, str], str] = {
    (config, attempt): cause
    for cause, attempts, configs in _KNOWN_ROWS
    for attempt in attempts
    for config in configs
}

#: in-jail attempts that need an interface the host may not have: (attempt, path, why)
HOST_NEEDS = {
    "sysrq_trigger": ("/proc/sysrq-trigger", "the kernel has no magic SysRq"),
    "proc_mtrr_write": ("/proc/mtrr", "the kernel has no /proc/mtrr"),
    "sys_firmware_read": ("/sys/firmware", "the kernel has no /sys/firmware"),
}

PROBE_HELPERS = {"mount_tmpfs", "list_fds", "fd_read", "setns_fd", "cwd_read", "env",
                 "tty_linger", "tiocsti_stdin", "whoami", "plant_setuid", "stdout_reopen"}

PLANTED_BLK = "var/tmp/.iocell-probe-blk"
PLANTED_KMSG = "var/tmp/.iocell-probe-kmsg"
PLANTED_DEVNODE = "dev/.iocell-probe-kmsg"  # in the jail's /dev tmpfs (planted after start)


def _mark(config: str, attempt: str):
    reason = KNOWN_ESCAPES.get((config, attempt))
    if reason is None:
        return ()
    return (pytest.mark.xfail(strict=True, raises=Escaped, reason=reason),)


def _matrix():
    out = []
    for config in CONFIGS:
        names = list(ATTEMPTS) + [a for (c, a) in PERMITTED if c == config and a not in ATTEMPTS]
        for attempt in names:
            out.append(pytest.param(config, attempt, id=f"{config}-{attempt}",
                                    marks=_mark(config, attempt)))
    return out


# --------------------------------------------------------------------------------------
# the probe binary


def probe_bin() -> Path:
    env = os.environ.get("IOCELL_ESCAPE_PROBE")
    if env:
        return Path(env).resolve()
    here = Path(iocell_bin()).parent / "tests" / "escape" / "iocell-escape-probe"
    if here.exists():
        return here
    from helpers import REPO
    return REPO / "build" / "tests" / "escape" / "iocell-escape-probe"


def parse_line(line: str) -> tuple[str, str]:
    kind, _, detail = line.strip().partition(" ")
    return kind, detail


# --------------------------------------------------------------------------------------
# the host: what must not change


def _read(path: str | Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(65536).decode(errors="replace")
    except OSError:
        return None


SYSCTLS = [
    "kernel/core_pattern", "kernel/core_uses_pid", "kernel/modprobe", "kernel/poweroff_cmd",
    "kernel/hostname", "kernel/domainname", "kernel/printk", "kernel/dmesg_restrict",
    "kernel/kptr_restrict", "kernel/perf_event_paranoid", "kernel/unprivileged_bpf_disabled",
    "kernel/sysrq", "kernel/panic", "kernel/panic_on_oops", "kernel/randomize_va_space",
    "kernel/shmmax", "kernel/msgmax", "kernel/acct", "fs/suid_dumpable",
    "fs/protected_symlinks", "fs/protected_hardlinks", "fs/binfmt_misc/status",
    "net/ipv4/ip_forward", "net/core/somaxconn", "vm/overcommit_memory", "vm/swappiness",
    "dev/tty/legacy_tiocsti", "user/max_user_namespaces",
]
JAIL_CGROUP_FILES = ["pids.max", "memory.limit_in_bytes", "memory.max", "memory.high",
                     "cpu.cfs_quota_us", "cpu.max", "cpuset.cpus", "notify_on_release"]


class _Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long),
                ("status", ctypes.c_int), ("constant", ctypes.c_long),
                ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long),
                ("tick", ctypes.c_long), ("pad", ctypes.c_long * 32)]


def _clock_tick() -> int | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        t = _Timex()  # modes = 0: read only
        if libc.adjtimex(ctypes.byref(t)) < 0:
            return None
        return t.tick
    except OSError:
        return None


def _mounts(exclude_under: Path) -> list[str]:
    out = []
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        sep = f.index("-")
        mp, fstype, src = f[4], f[sep + 1], f[sep + 2]
        if fstype in ("fuse.zfs", "zfs") and (mp == str(exclude_under) or mp.startswith(f"{exclude_under}/")):
            continue  # the scratch pool's datasets (zfs-fuse or kernel ZFS): jails come and go
        if mp == "/zfs-kstat":
            continue  # zfs-fuse's own statistics mount, which it drops now and then
        out.append(f"{mp} {fstype} {src} {f[5]} {f[sep + 3]}")
    return sorted(out)


class Host:
    """The host facts an escape could change, and their restoration."""

    def __init__(self, mountroot: Path, sec: "Secrets", jail_uuids: list[str]):
        self.mountroot = mountroot
        self.secret_file = sec.file
        self.shm_key = sec.shm_key
        self.jail_uuids = jail_uuids

    def snapshot(self) -> dict:
        s: dict = {}
        for name in SYSCTLS:
            v = _read(f"/proc/sys/{name}")
            if v is not None:
                s[f"sysctl:{name}"] = v
        u = os.uname()
        s["uname:nodename"] = u.nodename
        s["clock:offset"] = time.time() - time.monotonic()
        s["clock:tick"] = _clock_tick()
        s["mounts"] = _mounts(self.mountroot)
        for rel in sorted(Path("/sys/fs/cgroup").glob("*/release_agent")) + \
                sorted(Path("/sys/fs/cgroup").glob("*/notify_on_release")):
            s[f"cgroup:{rel}"] = _read(rel)
        for v2 in ("/sys/fs/cgroup/cgroup.subtree_control", "/sys/fs/cgroup/unified/cgroup.subtree_control"):
            if os.path.exists(v2):
                s[f"cgroup:{v2}"] = _read(v2)
        for uuid in self.jail_uuids:
            for d in cgroup_dirs(uuid):
                for name in JAIL_CGROUP_FILES:
                    if (d / name).exists():
                        s[f"cgroup:{d / name}"] = _read(d / name)
        bm = Path("/proc/sys/fs/binfmt_misc")
        if os.path.ismount(bm):
            s["binfmt_misc"] = sorted((e.name, _read(e)) for e in bm.iterdir())
        s["swaps"] = _read("/proc/swaps")
        s["kexec"] = (_read("/sys/kernel/kexec_loaded"), _read("/sys/kernel/kexec_crash_loaded"))
        s["modules"] = sorted(l.split()[0] for l in (_read("/proc/modules") or "").splitlines() if l)
        net = {}
        for dev in sorted(os.listdir("/sys/class/net")):
            net[dev] = (_read(f"/sys/class/net/{dev}/flags"), _read(f"/sys/class/net/{dev}/address"),
                        _read(f"/sys/class/net/{dev}/mtu"))
        s["net"] = net
        # our own segment (the host's IPC namespace is shared with the whole machine)
        rows = (_read("/proc/sysvipc/shm") or "").splitlines()[1:]
        s["ipc:shm"] = sorted(" ".join(r.split()[:4]) for r in rows
                              if r.split() and int(r.split()[0]) == self.shm_key)
        # (loop devices come and go with other users of the machine)
        s["dev"] = sorted(d for d in os.listdir("/dev") if not d.startswith("loop"))
        s["secret"] = _read(self.secret_file)
        return s

    @staticmethod
    def diff(before: dict, after: dict) -> list[str]:
        out = []
        for key in sorted(set(before) | set(after)):
            b, a = before.get(key), after.get(key)
            if key == "clock:offset":
                if b is not None and a is not None and abs(a - b) > 1.0:
                    out.append(f"{key}: the wall clock moved by {a - b:+.3f} s")
                continue
            if b != a:
                out.append(f"{key}: {b!r} -> {a!r}")
        return out

    def restore(self, before: dict, after: dict) -> list[str]:
        """Put back what can be put back; returns what was done."""
        done = []
        for key, b in before.items():
            if after.get(key) == b or b is None:
                continue
            path = None
            if key.startswith("sysctl:"):
                path = f"/proc/sys/{key[7:]}"
            elif key.startswith("cgroup:"):
                path = key[7:]
            if path:
                try:
                    with open(path, "w") as f:
                        f.write(b.rstrip("\n") + "\n" if b.strip() else "\n")
                    done.append(f"restored {path}")
                except OSError as e:
                    done.append(f"could not restore {path}: {e}")
        if after.get("uname:nodename") != before.get("uname:nodename"):
            try:
                Path("/proc/sys/kernel/hostname").write_text(before["uname:nodename"])
                done.append("restored the hostname")
            except OSError as e:
                done.append(f"could not restore the hostname: {e}")
        new_mounts = set(after.get("mounts", [])) - set(before.get("mounts", []))
        for m in sorted(new_mounts, key=len, reverse=True):
            mp = m.split()[0]
            r = run(["umount", "-l", mp], check=False)
            done.append(f"unmounted {mp}" if r.returncode == 0 else f"could not unmount {mp}")
        if after.get("secret") != before.get("secret") and before.get("secret") is not None:
            self.secret_file.write_text(before["secret"])
            done.append("restored the secret file")
        return done

    def check(self, before: dict, after: dict | None = None) -> None:
        """Fail loudly (after restoring what can be) if the host changed."""
        after = self.snapshot() if after is None else after
        d = self.diff(before, after)
        if d:
            done = self.restore(before, after)
            pytest.fail("THE HOST CHANGED during an escape attempt:\n  " + "\n  ".join(d)
                        + ("\nrestoration: " + "; ".join(done) if done else ""), pytrace=False)


# --------------------------------------------------------------------------------------
# module fixtures: secrets, shared jails


def _host_block_device() -> tuple[int, int] | None:
    """A block device the host itself (root) can open: the disk of / if possible, else
    the first openable one.  Only opened and read, never written."""
    root = os.stat("/").st_dev
    nodes = []
    for name in sorted(os.listdir("/dev")):
        try:
            st = os.stat(f"/dev/{name}")
        except OSError:
            continue
        if stat.S_ISBLK(st.st_mode):
            nodes.append((st.st_rdev != root, name, st.st_rdev))
    for _, name, rdev in sorted(nodes):  # the disk of / first
        try:
            fd = os.open(f"/dev/{name}", os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        os.close(fd)
        return os.major(rdev), os.minor(rdev)
    return None


class Secrets:
    def __init__(self, base: Path):
        self.dir = base
        self.token = "IOCELL-ESCAPE-SECRET-" + secrets.token_hex(8)
        self.file = base / "secret"
        self.file.write_text(self.token + "\n")
        self.shm_token = "IOCELL-ESCAPE-SHM-" + secrets.token_hex(8)
        self.shm_key = 0x10C30000 | secrets.randbelow(0xFFFF)
        self.shm_id = -1

    def make_shm(self):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        self.shm_id = libc.shmget(self.shm_key, 4096, 0o1000 | 0o2000 | 0o600)  # IPC_CREAT|IPC_EXCL
        if self.shm_id < 0:
            raise RuntimeError(f"shmget: {os.strerror(ctypes.get_errno())}")
        addr = libc.shmat(self.shm_id, None, 0)
        data = self.shm_token.encode() + b"\0"
        ctypes.memmove(addr, data, len(data))
        libc.shmdt(ctypes.c_void_p(addr))

    def remove_shm(self):
        if self.shm_id >= 0:
            ctypes.CDLL(None, use_errno=True).shmctl(self.shm_id, 0, None)  # IPC_RMID
            self.shm_id = -1

    def leaked(self, text: str) -> bool:
        return self.token in text or self.shm_token in text


@pytest.fixture(scope="module")
def secret(tmp_path_factory):
    base = tmp_path_factory.mktemp("escape-secret")
    s = Secrets(base)
    s.make_shm()
    yield s
    s.remove_shm()


class SharedJails:
    """One started jail per configuration, made on first use, gone at module end."""

    def __init__(self, release: str, mountroot: Path, rundir: Path):
        self.release = release
        self.mountroot = mountroot
        self.rundir = rundir
        self.uuids: dict[str, str] = {}
        self.results: dict[str, dict[str, str]] = {}
        self.host_diffs: dict[str, list[str]] = {}
        self.failed: dict[str, str] = {}
        self.blk = _host_block_device()

    def root(self, uuid: str) -> Path:
        return self.mountroot / "jails" / uuid / "root"

    def get(self, config: str) -> str:
        if config not in self.uuids:
            flag, props = CONFIGS[config]
            uuid = make_jail(self.release, f"tag=esc-{config.replace('_', '-')}", *props,
                             flag=flag)
            self.uuids[config] = uuid
            root = self.root(uuid)
            install_probe(root)
            # owned by the jail's root on disk (its range where files are shifted, 0 where
            # the root is idmapped or the jail privileged): the permission check passes,
            # only nodev and the device allow-list stand in the way
            owner = int(zfs("get", "-H", "-o", "value", "iocell:idmap_shift",
                            f"{JAILS_DS}/{uuid}").strip())
            self.plant_nodes(root, owner)
            ioc("start", uuid)
            # the jail's /dev is a tmpfs of its mount namespace: reached through its init
            init = _init_pid(self.rundir, uuid)
            os.mknod(f"/proc/{init}/root/{PLANTED_DEVNODE}", 0o600 | stat.S_IFCHR,
                     os.makedev(1, 11))
        return self.uuids[config]

    def plant_nodes(self, root: Path, owner: int):
        """Device nodes as a release tarball or a package could carry them."""
        (root / "var/tmp").mkdir(parents=True, exist_ok=True)
        if self.blk:
            os.mknod(root / PLANTED_BLK, 0o600 | stat.S_IFBLK, os.makedev(*self.blk))
            os.chown(root / PLANTED_BLK, owner, owner)
        os.mknod(root / PLANTED_KMSG, 0o600 | stat.S_IFCHR, os.makedev(1, 11))
        os.chown(root / PLANTED_KMSG, owner, owner)

    def close(self, env):
        """Stop them all at once, unmount their datasets deepest first (zfs-fuse then
        destroys without "dataset is busy" retries), destroy them."""
        self.uuids.clear()
        ioc("stop", "-f", "ALL", check=False, timeout=120)
        for ds in reversed(datasets(JAILS_DS)):
            zfs("unmount", ds, check=False)
        env.clean_jails()


def install_probe(root: Path) -> Path:
    probe = probe_bin()
    if not probe.exists():
        pytest.fail(f"the escape probe {probe} is not built (ninja -C build-asan builds it)")
    dst = root / "probe"
    dst.write_bytes(probe.read_bytes())
    dst.chmod(0o755)
    return dst


@pytest.fixture(scope="module")
def shared(release, mountroot, rundir, iocell_env):
    sj = SharedJails(release, mountroot, rundir)
    yield sj
    sj.close(iocell_env)


@pytest.fixture(autouse=True)
def _clean_jails(iocell_env, shared, request):
    """Overrides the conftest's per-test clean-up: the shared jails of this module live
    until its end; any other jail a test made is stopped and destroyed."""
    yield
    if request.node.originalname == "test_in_jail":
        return  # these only use the shared jails (and run by the thousand)
    keep = set(shared.uuids.values())
    for ds in datasets(JAILS_DS):
        if ds.count("/") != JAILS_DS.count("/") + 1 or ds.rsplit("/", 1)[1] in keep:
            continue
        ioc("stop", "-f", ds.rsplit("/", 1)[1], check=False)
        for sub in reversed(datasets(ds, include_self=True)):
            zfs("unmount", sub, check=False)
        destroy_dataset(ds)
    iocell_env.clean_cache()


def _host_fsopts() -> list[str]:
    """fsopts.TYPE=OPTIONS of the host's debugfs/tracefs/cgroup2 superblocks: a jail
    mounting those passes the host's own options, so nothing changes for the host."""
    out = {}
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        f = line.split()
        if "-" not in f:
            continue
        sep = f.index("-")
        fstype, opts = f[sep + 1], f[sep + 3] if len(f) > sep + 3 else ""
        if fstype in ("debugfs", "tracefs", "cgroup2") and fstype not in out:
            out[fstype] = ",".join(o for o in opts.split(",") if o not in ("rw", "ro"))
    return [f"fsopts.{k}={v}" for k, v in out.items()]


def probe_args(sj: SharedJails, uuid: str, sec: Secrets) -> list[str]:
    args = [f"secret={sec.file}", f"hostpid={os.getpid()}", f"uuid={uuid}",
            f"shmkey={sec.shm_key}"]
    if sj.blk:
        args.append(f"blk={sj.blk[0]}:{sj.blk[1]}")
    return args + _host_fsopts()


def _init_pid(rundir: Path, uuid: str) -> int:
    return int(state(rundir, uuid).get("pid", "0"))


@pytest.fixture
def jail_results(shared, secret, mountroot, request):
    """results(config) -> {attempt: line}: the probe's batch run in the configuration's
    jail, once per module (only the attempts selected in this session), with the host
    compared before and after."""

    def results(config: str) -> dict[str, str]:
        if config in shared.results:
            return shared.results[config]
        if config in shared.failed:
            pytest.fail(f"the {config} batch failed earlier: {shared.failed[config]}")
        try:
            return _run_batch(config)
        except BaseException as e:
            shared.failed[config] = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise

    def _run_batch(config: str) -> dict[str, str]:
        uuid = shared.get(config)
        wanted = []
        for item in request.session.items:
            cs = getattr(item, "callspec", None)
            if cs and item.originalname == "test_in_jail" and cs.params.get("config") == config:
                wanted.append(cs.params["attempt"])
        host = Host(mountroot, secret, list(shared.uuids.values()))
        before = host.snapshot()
        r = run([iocell_bin(), "exec", uuid, "/probe", "--batch", ",".join(wanted),
                 *probe_args(shared, uuid, secret)], check=False, timeout=300)
        after = host.snapshot()
        assert r.returncode == 0, f"the probe failed in {config}:\n{r.stdout}\n{r.stderr}"
        lines = {}
        for line in r.stdout.splitlines():
            name, _, rest = line.partition(" ")
            lines[name] = rest
        shared.results[config] = lines
        shared.host_diffs[config] = Host.diff(before, after)
        if shared.host_diffs[config]:
            host.restore(before, after)
        # the jail is still there and still itself
        assert pid_alive(_init_pid(shared.rundir, uuid)), f"the {config} jail's init died"
        return lines

    return results


@pytest.fixture
def default_jail(shared) -> str:
    """The shared default jail (made before any host snapshot is taken)."""
    return shared.get("default")


@pytest.fixture
def host_guard(shared, secret, mountroot, default_jail):
    """Snapshot of the host before a host-driven attempt, compared after it."""
    host = Host(mountroot, secret, list(shared.uuids.values()))
    before = host.snapshot()
    yield host
    host.check(before)


# --------------------------------------------------------------------------------------
# the matrix


def _verdict(config: str, attempt: str, line: str, sec: Secrets, host_diff: list[str]):
    kind, detail = parse_line(line)
    leaked = sec.leaked(line)
    if host_diff and kind != "ESCAPED":
        # (the teardown check reports it too; this names the attempt batch)
        raise AssertionError(f"the host changed during the {config} batch: {host_diff}")
    if (config, attempt) in PERMITTED:
        assert kind in ("ALLOWED", "ESCAPED"), (
            f"{attempt} should work in {config} ({PERMITTED[config, attempt]}): {line}")
        return
    if kind == "ESCAPED" and (config, attempt) in CONFINED:
        kind = "CHECKHOST"
    if kind == "ESCAPED":
        raise Escaped(f"{config}: {attempt} ({ATTEMPTS.get(attempt, '')}): {detail}")
    if leaked:
        raise AssertionError(f"a host secret shows in the output of {attempt}, which says "
                             f"{kind}: {line}")
    if kind == "NOTAPPLICABLE":
        pytest.skip(f"NOTAPPLICABLE: {detail}")
    if kind == "CHECKHOST":
        # the attempt did its thing in the jail: the host snapshot says whether it
        # reached the host (no difference: the jail's own namespace took it)
        return
    assert kind == "BLOCKED", f"{config}: {attempt}: {line or '(no result)'}"


@pytest.mark.parametrize("config,attempt", _matrix())
def test_in_jail(config, attempt, jail_results, shared, secret):
    need = HOST_NEEDS.get(attempt)
    if need and not os.path.exists(need[0]):
        pytest.skip(f"NOTAPPLICABLE: {need[1]}")
    if attempt in ("planted_blockdev_read", "mknod_block") and shared.blk is None:
        pytest.skip("NOTAPPLICABLE: the host itself cannot open any block device")
    lines = jail_results(config)
    assert attempt in lines, f"the probe gave no result for {attempt}"
    _verdict(config, attempt, lines[attempt], secret, shared.host_diffs.get(config, []))
    if attempt in ("sethostname", "setdomainname"):
        assert os.uname().nodename != "iocell-escape-probe"
        assert _read("/proc/sys/kernel/domainname") != "iocell-escape-probe\n"


@pytest.fixture(autouse=True)
def _batch_host_check(request, shared):
    """A host change during a configuration's batch fails every test of it in teardown
    (an ERROR, whatever xfail says)."""
    yield
    cs = getattr(request.node, "callspec", None)
    if cs and request.node.originalname == "test_in_jail":
        diff = shared.host_diffs.get(cs.params["config"])
        if diff:
            pytest.fail("THE HOST CHANGED during the batch of " + cs.params["config"]
                        + " (restored where possible):\n  " + "\n  ".join(diff), pytrace=False)


def test_probe_and_suite_agree():
    """The suite's attempt list is the probe's (minus its helpers): nothing untested."""
    out = run([probe_bin(), "--list"]).stdout.split()
    assert set(out) - PROBE_HELPERS == set(ATTEMPTS)
    assert not {a for (_, a) in KNOWN_ESCAPES} - set(ATTEMPTS) - set(HOST_ATTEMPTS), \
        "KNOWN_ESCAPES names an attempt that does not exist"
    assert not {c for (c, _) in KNOWN_ESCAPES} - set(CONFIGS)


def test_configurations_are_in_force(shared, rundir):
    """Each configuration really is what its name says (else the matrix proves little)."""
    hostns = {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in ("net", "ipc", "mnt", "pid", "user")}
    bases = set()
    for config in CONFIGS:
        uuid = shared.get(config)
        init = _init_pid(rundir, uuid)
        ns = {n: os.readlink(f"/proc/{init}/ns/{n}") for n in hostns}
        assert ns["mnt"] != hostns["mnt"] and ns["pid"] != hostns["pid"]
        # a user namespace of its own mapping 0-65535 to the jail's range, but privileged
        base = zfs("get", "-H", "-o", "value", "iocell:idmap_base", f"{JAILS_DS}/{uuid}").strip()
        uid_map = Path(f"/proc/{init}/uid_map").read_text().split()
        if config == "privileged":
            assert ns["user"] == hostns["user"] and uid_map[:2] == ["0", "0"], config
        else:
            assert ns["user"] != hostns["user"], config
            assert uid_map == ["0", base, "65536"], (config, uid_map)
            assert Path(f"/proc/{init}/gid_map").read_text().split() == uid_map
            assert base not in bases, (config, base)
            bases.add(base)
        assert (ns["net"] == hostns["net"]) == (config == "ip4_inherit"), config
        assert (ns["ipc"] == hostns["ipc"]) == (config == "allow_sysvipc"), config
        capeff = int([l for l in Path(f"/proc/{init}/status").read_text().splitlines()
                      if l.startswith("CapEff:")][0].split()[1], 16)
        assert bool(capeff & (1 << 21)) == (config != "allow_set_hostname_0"), config  # SYS_ADMIN
        assert bool(capeff & (1 << 13)) == (config == "allow_raw_sockets"), config     # NET_RAW
        for cap in (16, 17, 25, 27, 19, 2):  # MODULE RAWIO TIME MKNOD PTRACE DAC_READ_SEARCH
            assert not capeff & (1 << cap), (config, cap)
    assert zfs("get", "-H", "-o", "value", "iocell:type",
               f"{JAILS_DS}/{shared.get('basejail')}").strip() == "basejail"


# --------------------------------------------------------------------------------------
# host-driven attempts

HOST_ATTEMPTS = {
    "host_exec_fd_leak": "descriptors of the caller of iocell exec reach the jail",
    "host_exec_fd_read": "a host directory open in the caller is readable through its fd",
    "host_exec_fd_setns_mnt": "setns into the host's mount namespace through a leaked fd",
    "host_exec_fd_setns_net": "setns into the host's network namespace through a leaked fd",
    "host_exec_cwd": "the caller's working directory reaches the jail",
    "host_exec_env": "the caller's environment reaches the jail",
    "host_exec_tty_linger": "a process left behind keeps reading the caller's terminal",
    "host_exec_tty_tiocsti": "TIOCSTI types into the caller's terminal",
    "host_exec_user_passwd_fifo": "a FIFO at the jail's /etc/passwd hangs exec -u",
    "host_exec_user_group_fifo": "a FIFO at the jail's /etc/group hangs exec -u",
    "host_exec_user_passwd_devzero": "/etc/passwd -> /dev/zero makes exec -u read forever",
    "host_setuid_for_host_user": "a setuid binary of the jail run by an unprivileged host user",
    "host_basejail_base_symlink": "a basejail's start mounts a base clone through a symlink",
    "host_fstab_dest_symlink": "an fstab DEST follows a symlink inside the jail",
    "host_fstab_dest_host_symlink": "an fstab DEST through a jail symlink to a host path",
    "host_resolv_conf_symlink": "resolv.conf is written through a jail symlink to a host file",
    "host_resolv_etc_symlink": "resolv.conf is written through /etc -> a host directory",
    "host_exec_stdout_reopen": "the caller's stdout file reopened for reading via /proc/self/fd",
    "host_start_fd_leak": "descriptors of the caller of iocell start reach the init or exec_start",
    "host_console_fd_leak": "descriptors of the caller of iocell console reach the login shell",
}


def _exec_probe(uuid: str, *args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([iocell_bin(), "exec", uuid, "/probe", *args], capture_output=True,
                          text=True, timeout=timeout, **kw)


def _one_line(r: subprocess.CompletedProcess) -> tuple[str, str]:
    assert r.returncode == 0, f"exec failed: {r.stdout!r} {r.stderr!r}"
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one result line: {r.stdout!r}"
    return parse_line(lines[0])


def _host_attempt(name: str, config: str = "default"):
    reason = KNOWN_ESCAPES.get((config, name))
    marks = [pytest.mark.xfail(strict=True, raises=Escaped, reason=reason)] if reason else []
    return pytest.mark.parametrize("host_attempt", [pytest.param(name, marks=marks, id=config)])


def _blocked_or_escaped(name: str, kind: str, detail: str, sec: Secrets, out: str):
    if kind == "ESCAPED":
        raise Escaped(f"{name}: {HOST_ATTEMPTS[name]}: {detail}")
    assert not sec.leaked(out), f"{name}: a host secret reached the jail: {out}"
    assert kind == "BLOCKED", f"{name}: {kind} {detail}"


@_host_attempt("host_exec_fd_leak")
def test_host_exec_fd_leak(host_attempt, shared, secret, default_jail, host_guard):
    uuid = default_jail
    dfd = os.open(secret.dir, os.O_RDONLY | os.O_DIRECTORY)
    r_pipe, w_pipe = os.pipe()
    ffd = os.open(secret.file, os.O_RDONLY)
    try:
        r = _exec_probe(uuid, "list_fds", pass_fds=(dfd, r_pipe, w_pipe, ffd))
    finally:
        for fd in (dfd, r_pipe, w_pipe, ffd):
            os.close(fd)
    kind, detail = _one_line(r)
    _blocked_or_escaped(host_attempt, kind, detail, secret, r.stdout)


@_host_attempt("host_exec_fd_read")
def test_host_exec_fd_read(host_attempt, shared, secret, default_jail, host_guard):
    uuid = default_jail
    dfd = os.open(secret.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = _exec_probe(uuid, "fd_read", f"fd={dfd}", f"name={secret.file.name}", pass_fds=(dfd,))
    finally:
        os.close(dfd)
    kind, detail = _one_line(r)
    if kind == "ESCAPED" and secret.token not in r.stdout:
        detail += " (the secret itself did not show)"
    _blocked_or_escaped(host_attempt, kind, detail, secret, r.stdout)


def _setns_leak(host_attempt, shared, secret, nsname):
    uuid = shared.get("default")
    fd = os.open(f"/proc/self/ns/{nsname}", os.O_RDONLY)
    try:
        r = _exec_probe(uuid, "setns_fd", f"fd={fd}", pass_fds=(fd,))
    finally:
        os.close(fd)
    kind, detail = _one_line(r)
    _blocked_or_escaped(host_attempt, kind, detail, secret, r.stdout)


@_host_attempt("host_exec_fd_setns_mnt")
def test_host_exec_fd_setns_mnt(host_attempt, shared, secret, host_guard):
    _setns_leak(host_attempt, shared, secret, "mnt")


@_host_attempt("host_exec_fd_setns_net")
def test_host_exec_fd_setns_net(host_attempt, shared, secret, host_guard):
    _setns_leak(host_attempt, shared, secret, "net")


@_host_attempt("host_exec_cwd")
def test_host_exec_cwd(host_attempt, shared, secret, default_jail, host_guard):
    uuid = default_jail
    r = _exec_probe(uuid, "cwd_read", f"name={secret.file.name}", cwd=secret.dir)
    kind, detail = _one_line(r)
    _blocked_or_escaped(host_attempt, kind, detail, secret, r.stdout)


@_host_attempt("host_exec_env")
def test_host_exec_env(host_attempt, shared, secret, default_jail, host_guard):
    uuid = default_jail
    env = dict(os.environ, IOCELL_ESCAPE_SECRET=secret.token)
    r = _exec_probe(uuid, "env", env=env)
    kind, detail = _one_line(r)
    assert kind == "CHECKHOST"
    if secret.token in r.stdout:
        raise Escaped(f"{host_attempt}: the caller's environment reached the jail: {detail}")


def _stolen_path(shared, uuid) -> Path:  # where the probe's reader writes what it read
    return shared.root(uuid) / "tmp" / ".iocell-probe-stolen"


def _jail_holders(rundir: Path, uuid: str, tty: os.stat_result) -> list[int]:
    """PIDs of the jail's processes holding the terminal TTY open (its device in its devpts
    instance: the jail's own pts/N has the same st_rdev as the host's pts/N)."""
    init = _init_pid(rundir, uuid)
    try:
        ns = os.readlink(f"/proc/{init}/ns/pid")
    except OSError:
        return []
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if os.readlink(p / "ns" / "pid") != ns:
                continue
            for fd in (p / "fd").iterdir():
                st = os.stat(fd)
                if stat.S_ISCHR(st.st_mode) and (st.st_dev, st.st_rdev) == (tty.st_dev, tty.st_rdev):
                    out.append(int(p.name))
                    break
        except OSError:
            continue
    return out


@_host_attempt("host_exec_tty_linger")
def test_host_exec_tty_linger(host_attempt, shared, secret, default_jail, rundir, host_guard):
    """After exec returns, no jail process may keep the caller's terminal (it would read
    what is typed next on the host)."""
    uuid = default_jail
    stolen = _stolen_path(shared, uuid)
    stolen.unlink(missing_ok=True)
    master, slave = pty.openpty()
    try:
        r = _exec_probe(uuid, "tty_linger", stdin=slave)
        kind, detail = _one_line(r)
        if kind == "ERROR" and "not a terminal" in detail:
            return  # exec does not hand the caller's terminal to the jail at all
        assert kind == "CHECKHOST", f"{kind} {detail}"
        holders = _jail_holders(rundir, uuid, os.fstat(slave))
        got = ""
        if holders:  # show what it does with it: it reads the next line typed
            os.write(master, f"typed-on-the-host-{secret.token}\n".encode())
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not stolen.exists():
                time.sleep(0.05)
            time.sleep(0.1)
            got = stolen.read_text() if stolen.exists() else ""
    finally:
        os.close(master)  # the lingering reader (if any) sees the hang-up and exits
        os.close(slave)
        stolen.unlink(missing_ok=True)
    if holders:
        raise Escaped(f"{host_attempt}: jail PID(s) {holders} kept the caller's terminal "
                      f"after exec returned; it read what was typed next: {got.strip()!r}")
    assert secret.token not in got


@_host_attempt("host_exec_tty_tiocsti")
def test_host_exec_tty_tiocsti(host_attempt, shared, secret, default_jail, host_guard):
    uuid = default_jail
    master, slave = pty.openpty()
    try:
        r = _exec_probe(uuid, "tiocsti_stdin", stdin=slave)
        kind, detail = _one_line(r)
        os.set_blocking(slave, False)
        try:
            pending = os.read(slave, 4096).decode(errors="replace")
        except BlockingIOError:
            pending = ""
    finally:
        os.close(master)
        os.close(slave)
    if "iocell-probe-injected" in pending or kind == "ESCAPED":
        raise Escaped(f"{host_attempt}: input injected into the caller's terminal: {pending!r}")
    # blocked, or exec does not hand the caller's terminal to the jail at all
    assert kind == "BLOCKED" or (kind == "ERROR" and "not a terminal" in detail), f"{kind} {detail}"


def _run_bounded(argv: list[str], timeout: float) -> tuple[bool, subprocess.CompletedProcess | None]:
    """Run argv in a process group of its own; (hung, result).  A hung command's group
    (the command and what it forked, all started here) is killed."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return False, subprocess.CompletedProcess(argv, p.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return True, None


def _fresh_jail(release: str, *props: str, flag: str = "-c", tag: str = "esc-host") -> str:
    """A jail of its own for an attempt that changes jail files (no network: vnet=off,
    ip4=disable, so it adds no interface to the host)."""
    return make_jail(release, f"tag={tag}", "vnet=off", "ip4=disable", *props, flag=flag)


@pytest.fixture
def lookup_jail(shared, release) -> str:
    """A started jail of the module's for the exec -u attempts (no network)."""
    if "_lookup" not in shared.uuids:
        uuid = _fresh_jail(release, tag="esc-lookup")
        shared.uuids["_lookup"] = uuid
        ioc("start", uuid)
    return shared.uuids["_lookup"]


def _user_lookup_attempt(host_attempt, shared, uuid, name, plant):
    """exec -u nobody with the jail's /etc/NAME replaced by PLANT: it must not hang
    (iocell reads the jail's passwd and group files itself, as root)."""
    f = shared.root(uuid) / "etc" / name
    real = f.with_name(name + ".iocell-probe-real")
    f.rename(real)
    try:
        plant(f)
        hung, r = _run_bounded([iocell_bin(), "exec", "-u", "nobody", uuid, "true"], timeout=3)
    finally:
        f.unlink(missing_ok=True)
        real.rename(f)
    if hung:
        raise Escaped(f"{host_attempt}: iocell exec -u hung reading the jail's /etc/{name}")
    # not hung: refused (or, for /etc/group, ran without the supplementary groups)
    assert r is not None


@_host_attempt("host_exec_user_passwd_fifo")
def test_host_exec_user_passwd_fifo(host_attempt, shared, lookup_jail, host_guard):
    _user_lookup_attempt(host_attempt, shared, lookup_jail, "passwd", os.mkfifo)


@_host_attempt("host_exec_user_group_fifo")
def test_host_exec_user_group_fifo(host_attempt, shared, lookup_jail, host_guard):
    _user_lookup_attempt(host_attempt, shared, lookup_jail, "group", os.mkfifo)


@_host_attempt("host_exec_user_passwd_devzero")
def test_host_exec_user_passwd_devzero(host_attempt, shared, lookup_jail, host_guard):
    _user_lookup_attempt(host_attempt, shared, lookup_jail, "passwd",
                         lambda p: os.symlink("/dev/zero", p))


@_host_attempt("host_setuid_for_host_user")
def test_host_setuid_for_host_user(host_attempt, shared, mountroot, host_guard):
    """The jail's root plants a setuid-root binary; an unprivileged host user runs it by
    its host path.  (The harness's temp dir is mkdtemp's 0700; /iocell sits in / (0755):
    the temp dir is opened to traversal, 0711, for the length of the attempt.)"""
    if "NoNewPrivs:\t1" in Path("/proc/self/status").read_text():
        pytest.skip("NOTAPPLICABLE: this test process runs with no_new_privs")
    uuid = shared.get("default")
    r = _exec_probe(uuid, "plant_setuid", "path=/var/tmp/.iocell-probe-suid")
    kind, detail = _one_line(r)
    if kind == "BLOCKED":
        return  # the jail cannot even make a setuid-root file
    assert kind == "CHECKHOST", f"{kind} {detail}"
    binary = shared.root(uuid) / "var/tmp/.iocell-probe-suid"
    top = mountroot.parent
    mode = stat.S_IMODE(top.stat().st_mode)
    top.chmod(0o711)
    try:
        p = subprocess.run([str(binary), "whoami"], capture_output=True, text=True, timeout=30,
                           user=65534, group=65534, extra_groups=[])
        out = p.stdout.strip()
    except PermissionError as e:  # the jail's files are closed to other host users
        p, out = None, f"exec: {e}"
    finally:
        top.chmod(mode)
        binary.unlink(missing_ok=True)
    if "euid=0 " in out + " ":
        raise Escaped(f"{host_attempt}: uid 65534 ran the jail's setuid binary as host root "
                      f"({out})")
    # the jail's root is a host id of its range (user namespace): at most that one
    base = zfs("get", "-H", "-o", "value", "iocell:idmap_base", f"{JAILS_DS}/{uuid}").strip()
    assert p is None or p.returncode != 0 or "euid=65534" in out or f"euid={base} " in out + " ", \
        (out, p.stderr)


@_host_attempt("host_basejail_base_symlink", "basejail")
def test_host_basejail_base_symlink(host_attempt, release, mountroot, tmp_path, host_guard):
    """A base directory replaced by a symlink to an (empty) host directory: the next start
    must not mount the base clone there."""
    victim = tmp_path / "victim"
    victim.mkdir()
    uuid = _fresh_jail(release, flag="-b", tag="esc-base")
    ds = f"{JAILS_DS}/{uuid}/root"
    root = mountroot / "jails" / uuid / "root"
    clones = [d for d in datasets(ds) if d.count("/") == ds.count("/") + 1]
    assert clones, "the basejail has no base clones"
    clone = ([c for c in clones if c.endswith("/sbin")] or clones)[-1]
    sub = clone.rsplit("/", 1)[1]
    try:
        zfs("unmount", clone, check=False)
        destroy_dataset(clone)
        if (root / sub).is_dir() and not (root / sub).is_symlink():
            (root / sub).rmdir()
        os.symlink(str(victim), root / sub)
        r = ioc("start", uuid, check=False)
        mounted = os.path.ismount(victim) or any(victim.iterdir())
    finally:
        ioc("stop", "-f", uuid, check=False)
        if os.path.ismount(victim):
            zfs("unmount", clone, check=False)
        if os.path.ismount(victim):
            run(["umount", "-l", str(victim)], check=False)
    assert not os.path.ismount(victim), "could not unmount the clone from the host directory"
    if mounted:
        raise Escaped(f"{host_attempt}: {sub} of the basejail was mounted on the host's {victim}")
    assert r.returncode is not None


@_host_attempt("host_fstab_dest_symlink")
def test_host_fstab_dest_symlink(host_attempt, release, mountroot, tmp_path, host_guard):
    """fstab DEST /srv, which the jail made a symlink to its /var: the bind must not land
    on /var (SPEC section 5: DEST never resolved through a symlink)."""
    src = tmp_path / "share"
    src.mkdir()
    (src / "marker-share").write_text("from-host\n")
    uuid = _fresh_jail(release)
    root = mountroot / "jails" / uuid / "root"
    os.symlink("/var", root / "srv")
    (mountroot / "jails" / uuid / "fstab").write_text(f"{src} /srv bind ro\n")
    r = ioc("start", uuid, check=False)
    landed = at_srv = False
    if r.returncode == 0:
        landed = "marker-share" in ioc("exec", uuid, "ls", "/var", check=False).stdout.split()
        at_srv = "marker-share" in ioc("exec", uuid, "ls", "/srv/", check=False).stdout.split()
        ioc("stop", "-f", uuid)
    if landed:
        raise Escaped(f"{host_attempt}: the bind for /srv landed on the jail's /var")
    # blocked: start refuses that DEST, or mounts on /srv itself (the link replaced)
    assert (r.returncode != 0 and "/srv" in r.stderr) or at_srv, (r.returncode, r.stderr)


@_host_attempt("host_fstab_dest_host_symlink")
def test_host_fstab_dest_host_symlink(host_attempt, release, mountroot, tmp_path, host_guard):
    src = tmp_path / "share"
    src.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    uuid = _fresh_jail(release)
    root = mountroot / "jails" / uuid / "root"
    os.symlink(str(victim), root / "evil")
    (mountroot / "jails" / uuid / "fstab").write_text(f"{src} /evil/x bind rw\n")
    r = ioc("start", uuid, check=False)
    if r.returncode == 0:
        ioc("stop", "-f", uuid)
    if list(victim.iterdir()) or os.path.ismount(victim):
        raise Escaped(f"{host_attempt}: iocell created or mounted in the host's {victim}")
    assert r.returncode != 0


@_host_attempt("host_resolv_conf_symlink")
def test_host_resolv_conf_symlink(host_attempt, release, mountroot, tmp_path, host_guard):
    victim = tmp_path / "victim-file"
    victim.write_text("host file\n")
    uuid = _fresh_jail(release, "resolver=nameserver 192.0.2.53")
    etc = mountroot / "jails" / uuid / "root" / "etc"
    (etc / "resolv.conf").unlink(missing_ok=True)
    os.symlink(str(victim), etc / "resolv.conf")
    r = ioc("start", uuid, check=False)
    if r.returncode == 0:
        ioc("stop", "-f", uuid)
    if victim.read_text() != "host file\n":
        raise Escaped(f"{host_attempt}: the host's {victim} was written")
    assert not (etc / "resolv.conf").is_symlink() or r.returncode != 0


@_host_attempt("host_resolv_etc_symlink")
def test_host_resolv_etc_symlink(host_attempt, release, mountroot, tmp_path, host_guard):
    victim = tmp_path / "victim-dir"
    victim.mkdir()
    uuid = _fresh_jail(release, "resolver=nameserver 192.0.2.53")
    root = mountroot / "jails" / uuid / "root"
    (root / "etc").rename(root / "etc.real")
    os.symlink(str(victim), root / "etc")
    r = ioc("start", uuid, check=False)
    if r.returncode == 0:
        ioc("stop", "-f", uuid)
    if list(victim.iterdir()):
        raise Escaped(f"{host_attempt}: iocell wrote into the host's {victim}: "
                      f"{[p.name for p in victim.iterdir()]}")


@_host_attempt("host_exec_stdout_reopen")
def test_host_exec_stdout_reopen(host_attempt, shared, secret, default_jail, tmp_path,
                                 host_guard):
    """exec's output redirected to a host file: the jail must not get that file (it could
    reopen it through /proc/self/fd/1 and read or rewrite it)."""
    out = tmp_path / "exec-output"
    out.write_text(secret.token + "\n")
    with open(out, "a") as f:
        r = subprocess.run([iocell_bin(), "exec", default_jail, "/probe", "stdout_reopen"],
                           stdout=f, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()[1:]
    assert len(lines) == 1, lines
    kind, detail = parse_line(lines[0])
    _blocked_or_escaped(host_attempt, kind, detail, secret, lines[0])


@_host_attempt("host_start_fd_leak")
def test_host_start_fd_leak(host_attempt, release, secret, mountroot, rundir, host_guard):
    """iocell start called with a host directory open: neither the jail's init nor
    exec_start may hold it."""
    uuid = _fresh_jail(release, "exec_start=/probe list_fds > /var/tmp/.iocell-probe-fds 2>&1",
                       tag="esc-startfd")
    root = mountroot / "jails" / uuid / "root"
    install_probe(root)
    dfd = os.open(secret.dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = subprocess.run([iocell_bin(), "start", uuid], pass_fds=(dfd,), capture_output=True,
                           text=True, timeout=120)
    finally:
        os.close(dfd)
    assert r.returncode == 0, r.stderr
    try:
        init = _init_pid(rundir, uuid)
        held = []
        for fd in Path(f"/proc/{init}/fd").iterdir():
            try:
                if os.readlink(fd) == str(secret.dir):
                    held.append(fd.name)
            except OSError:
                pass
        line = (root / "var/tmp/.iocell-probe-fds").read_text().strip()
    finally:
        ioc("stop", "-f", uuid, check=False)
    if held:
        raise Escaped(f"{host_attempt}: the jail's init holds the caller's {secret.dir} "
                      f"(fd {held})")
    kind, detail = parse_line(line)
    _blocked_or_escaped(host_attempt, kind, detail, secret, line)


@_host_attempt("host_console_fd_leak")
def test_host_console_fd_leak(host_attempt, shared, secret, default_jail, host_guard):
    """iocell console called with a host directory open (fd inherited through the
    terminal's fork): the login shell in the jail must not get it."""
    dfd = os.open(secret.dir, os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(dfd, True)
    try:
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(iocell_bin(), ["iocell", "console", default_jail])
    finally:
        os.close(dfd)
    buf = b""
    typed = False
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not re.search(rb"(?m)^(BLOCKED|ESCAPED|ERROR) ",
                                                       buf.replace(b"\r", b"")):
            if not typed and b"# " in buf:  # the login shell's prompt
                os.write(fd, b"/probe list_fds; exit\n")
                typed = True
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    buf += os.read(fd, 4096)
                except OSError:
                    break
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    text = buf.decode(errors="replace").replace("\r", "")
    results = [l for l in text.splitlines() if l.startswith(("BLOCKED", "ESCAPED", "ERROR"))]
    assert results, f"no result from the console: {text!r}"
    kind, detail = parse_line(results[0])
    _blocked_or_escaped(host_attempt, kind, detail, secret, results[0])


def test_known_escapes_name_real_cases():
    """Every KNOWN_ESCAPES key is a (configuration, attempt) this module runs."""
    for (config, attempt) in KNOWN_ESCAPES:
        assert config in CONFIGS, config
        assert attempt in ATTEMPTS or attempt in HOST_ATTEMPTS, attempt
        assert (config, attempt) not in PERMITTED
        assert (config, attempt) not in CONFINED
