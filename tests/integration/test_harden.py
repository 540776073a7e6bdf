"""Hardening without user namespaces (issue 14, items 4-8): what exec and console hand to
a jail, the jail's tree closed to host users, devices (nodev, allow-list), masks, and
mount points never resolved through the jail's symlinks.  Each test asserts the real
outcome inside the jail or on the host; the escape suite (test_escape.py) runs the
attempts these close."""

from __future__ import annotations

import os
import pty
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
    jexec,
    make_jail,
    pid_alive,
    state,
    zfs,
)


@pytest.fixture
def jail(release):
    uuid = make_jail(release, "tag=hd", "vnet=off", "ip4=disable")
    yield uuid
    ioc("stop", "-f", uuid, check=False)


def _root(mountroot: Path, uuid: str) -> Path:
    return mountroot / "jails" / uuid / "root"


def _init(rundir: Path, uuid: str) -> int:
    return int(state(rundir, uuid)["pid"])


def _jail_root_id(uuid: str, prop: str = "idmap_base") -> int:
    """The host id of the jail's root (its user namespace maps 0 there): the owner a node
    needs for the jail's root to pass the permission check, so that only nodev and the
    device allow-list decide (host root's 0600 nodes are closed to it anyway).  With
    prop="idmap_shift": the id that stands for it on the disk of its root (0 where the
    root is mounted idmapped)."""
    return int(zfs("get", "-H", "-o", "value", f"iocell:{prop}",
                   f"{JAILS_DS}/{uuid}").strip())


def _node(path, major: int, minor: int, owner: int):
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
    os.chown(path, owner, owner)


# --------------------------------------------------------------------------------------
# exec and console (item 4)


def test_exec_gets_only_stdio_and_pipes(jail, tmp_path):
    """The caller holds a descriptor on a host directory and sends stdout to a host file: the
    command has fds 0, 1, 2 only, and they are pipes (of iocell's), not the caller's."""
    ioc("start", "hd")
    out = tmp_path / "out"
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with open(out, "w") as f:
            r = subprocess.run(
                [iocell_bin(), "exec", "hd", "sh", "-c",
                 "ls /proc/$$/fd; for i in 0 1 2; do readlink /proc/$$/fd/$i; done"],
                stdout=f, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                pass_fds=(dfd,), timeout=60)
    finally:
        os.close(dfd)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().split()
    assert sorted(lines[:3]) == ["0", "1", "2"], lines
    assert all(l.startswith("pipe:[") for l in lines[3:6]), lines
    # ls itself: only its own directory descriptor besides 0-2
    fds = jexec("hd", "ls", "/proc/self/fd").stdout.split()
    assert set(fds) <= {"0", "1", "2", "3"} and {"0", "1", "2"} <= set(fds), fds


def test_exec_relays_stdin_stdout_stderr_and_status(jail):
    ioc("start", "hd")
    data = os.urandom(1 << 20)
    r = subprocess.run([iocell_bin(), "exec", "hd", "cat"], input=data, capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout == data
    r = subprocess.run([iocell_bin(), "exec", "hd", "sh", "-c", "echo out; echo err >&2; exit 5"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (5, "out\n", "err\n")
    # a command that stops reading early: exec returns, with its status
    r = subprocess.run([iocell_bin(), "exec", "hd", "head", "-c", "3"], input=data,
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout == data[:3]
    # our reader gone: the command's next write fails (SIGPIPE), as with a plain pipe
    p = subprocess.Popen(f"{iocell_bin()} exec hd yes | head -n 1", shell=True,
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out, _ = p.communicate(timeout=60)
    assert out == b"y\n"
    assert "yes" not in jexec("hd", "ps", "-o", "args").stdout.split()


def test_exec_signals_reach_the_command(jail, rundir):
    ioc("start", "hd")
    p = subprocess.Popen([iocell_bin(), "exec", "hd", "sleep", "77"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "sleep 77" not in jexec("hd", "ps", "-o", "args").stdout:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 128 + signal.SIGTERM
    assert "sleep 77" not in jexec("hd", "ps", "-o", "args").stdout
    # killed by a signal of its own: 128 + the signal, as a shell reports it
    r = jexec("hd", "sh", "-c", "kill -USR1 $$", check=False)
    assert r.returncode == 128 + signal.SIGUSR1


def _pty_run(argv: list[str], steps=(), wait: float = 15.0) -> tuple[int, str]:
    """Run argv on a terminal of its own; steps: (marker, data): once marker shows in the
    output, data is typed.  (wait status, output without CRs)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    buf = b""
    steps = list(steps)
    end = time.monotonic() + wait
    try:
        while time.monotonic() < end:
            if steps and steps[0][0] in buf:
                os.write(fd, steps.pop(0)[1])
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            buf += chunk
    finally:
        os.close(fd)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        time.sleep(1)
        done, st = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"{argv} did not end: {buf!r}")
    return st, buf.decode(errors="replace").replace("\r", "")


def test_exec_on_a_terminal_gets_a_terminal_of_the_jails(jail, rundir):
    """On a terminal, the command's terminal is a pseudo-terminal of the jail's devpts (and
    its controlling terminal), never the caller's; once exec returns, no process of the
    jail holds the caller's terminal; the exit status comes through."""
    ioc("start", "hd")
    master, slave = pty.openpty()
    try:
        r = subprocess.run([iocell_bin(), "exec", "hd", "sh", "-c",
                            "tty; readlink /proc/$$/fd/0; cat /proc/$$/stat; sleep 30 & exit 3"],
                           stdin=slave, stdout=slave, stderr=slave, timeout=60)
        assert r.returncode == 3
        out = b""
        while select.select([master], [], [], 0.5)[0]:
            out += os.read(master, 65536)
        text = out.decode(errors="replace").replace("\r", "")
        lines = text.split("\n")
        assert lines[0].startswith("/dev/pts/") and lines[1] == lines[0], text
        # its own session (sid = its pid), the jail's terminal as controlling terminal
        pid, st = lines[2].split()[0], lines[2].split(") ")[1].split()
        assert st[3] == pid and int(st[4]) != 0, lines[2]  # session leader, with a tty
        # the jail's process left behind holds no descriptor on the caller's terminal
        # the device AND its devpts instance: the jail's own pts/0 has the same st_rdev as
        # the host's pts/0
        tty = os.fstat(slave)
        rdev = (tty.st_dev, tty.st_rdev)
        ns = os.readlink(f"/proc/{_init(rundir, jail)}/ns/pid")
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                if os.readlink(p / "ns" / "pid") != ns:
                    continue
                for fd in (p / "fd").iterdir():
                    s = os.stat(fd)
                    assert not (stat.S_ISCHR(s.st_mode) and (s.st_dev, s.st_rdev) == rdev), (p, fd)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    finally:
        os.close(master)
        os.close(slave)


def test_exec_interactive_terminal(jail):
    """exec on a terminal: what is typed reaches the command through the jail's terminal
    (line editing and echo are the jail terminal's), Ctrl-C interrupts it there."""
    ioc("start", "hd")
    st, text = _pty_run([iocell_bin(), "exec", "hd", "sh", "-c",
                         "echo ready; read x; echo got-$x"], steps=[(b"ready", b"abc\n")])
    assert "got-abc" in text and os.WEXITSTATUS(st) == 0, text
    st, text = _pty_run([iocell_bin(), "exec", "hd", "sh", "-c",
                         "echo ready; sleep 30; echo not-here"], steps=[(b"ready", b"\x03")])
    assert "not-here" not in text
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 128 + signal.SIGINT, (st, text)


def test_exec_user_owns_the_jails_terminal(jail):
    """exec -u on a terminal: the jail's terminal is the user's (as login makes it), so
    programs that open /dev/tty work."""
    ioc("start", "hd")
    st, text = _pty_run([iocell_bin(), "exec", "-u", "nobody", "hd", "sh", "-c",
                         "echo to-tty > /dev/tty && echo tty-ok; stat -c %u /proc/self/fd/0"])
    assert "to-tty" in text and "tty-ok" in text and "65534" in text, text
    assert os.WEXITSTATUS(st) == 0


def test_exec_in_the_background_of_a_terminal(jail):
    """Started in the background of a shell on a terminal, exec neither reads the
    terminal nor changes its mode (either would stop it): the command's stdin is empty."""
    ioc("start", "hd")
    pid, fd = pty.fork()
    if pid == 0:  # a shell's background job: a process group that is not the terminal's
        try:
            child = os.fork()
            if child == 0:
                os.setpgid(0, 0)
                os.execv(iocell_bin(), [iocell_bin(), "exec", "hd", "sh", "-c",
                                        "cat; echo done-$?"])
            _, st = os.waitpid(child, os.WUNTRACED)
            os._exit(99 if os.WIFSTOPPED(st) else os.waitstatus_to_exitcode(st) & 0xff)
        finally:
            os._exit(98)
    buf = b""
    end = time.monotonic() + 20
    st = None
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                pass
        done, w = os.waitpid(pid, os.WNOHANG)
        if done:
            st = w
            break
    os.close(fd)
    if st is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f"exec in the background did not end: {buf!r}")
    assert os.WEXITSTATUS(st) == 0, (st, buf)
    assert b"done-0" in buf


def test_console_descriptors(jail):
    """console: the login shell's descriptors are the jail's terminal only."""
    ioc("start", "hd")
    st, text = _pty_run([iocell_bin(), "console", "hd"],
                        steps=[(b"# ", b"ls /proc/$$/fd | tr '\\n' ' '; echo; tty; exit\n")])
    fdline = [l for l in text.splitlines() if l.strip() and l.split()[0].isdigit()
              and all(w.isdigit() for w in l.split())]
    assert fdline and set(fdline[-1].split()) <= {"0", "1", "2", "10", "255"}, text
    assert "/dev/pts/" in text
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0


def test_exec_user_reads_only_regular_files(jail, mountroot):
    """exec -u reads the jail's /etc/passwd and /etc/group as regular files only: a
    symlink is refused with a clear error (never followed), a FIFO does not hang."""
    ioc("start", "hd")
    etc = _root(mountroot, jail) / "etc"
    real = etc / "passwd.real"
    (etc / "passwd").rename(real)
    try:
        os.symlink("passwd.real", etc / "passwd")
        r = jexec("hd", "id", "-u", user="nobody", check=False)
        assert r.returncode == 1 and "/etc/passwd" in r.stderr and "symlink" in r.stderr
        (etc / "passwd").unlink()
        os.mkfifo(etc / "passwd")
        t = time.monotonic()
        r = jexec("hd", "id", "-u", user="nobody", check=False)
        assert r.returncode == 1 and "not a regular file" in r.stderr
        assert time.monotonic() - t < 10
        # root runs even without a readable passwd (the defaults; not id(1), which
        # would read the FIFO itself)
        assert jexec("hd", "sh", "-c", "echo $HOME:$USER").stdout.strip() == "/root:root"
    finally:
        (etc / "passwd").unlink(missing_ok=True)
        real.rename(etc / "passwd")
    group = etc / "group"
    saved = group.read_bytes()
    group.unlink()
    os.mkfifo(group)
    try:  # no supplementary groups, but it runs
        assert jexec("hd", "id", "-u", user="nobody").stdout.strip() == "65534"
    finally:
        group.unlink()
        group.write_bytes(saved)


# --------------------------------------------------------------------------------------
# the jail's tree closed to host users (item 5)


def test_jail_directories_are_closed_to_host_users(jail, mountroot):
    jdir = mountroot / "jails" / jail
    for d in (mountroot / "jails", mountroot / "releases", mountroot / "base", jdir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    # a jail from before: opened up, closed again at its next start
    jdir.chmod(0o755)
    ioc("start", "hd")
    assert stat.S_IMODE(jdir.stat().st_mode) == 0o700
    # the jail's own / is untouched (0755 for its users)
    assert stat.S_IMODE(_root(mountroot, jail).stat().st_mode) == 0o755
    assert jexec("hd", "ls", "/", user="nobody").returncode == 0


# --------------------------------------------------------------------------------------
# devices (item 6)


def _mountinfo_opts(uuid: str, mountpoint: str) -> list[str]:
    for line in jexec(uuid, "cat", "/proc/self/mountinfo").stdout.splitlines():
        f = line.split()
        if f[4] == mountpoint:
            return f[5].split(",")
    raise AssertionError(f"no mount at {mountpoint}")


def _open_in_jail(name: str, path: str) -> str:
    """'ok' or the error of opening path for writing in the jail (nothing is written; for
    /dev/kmsg a write-only open skips its own CAP_SYSLOG check, so only the mount and
    the device allow-list decide)."""
    r = jexec(name, "sh", "-c", f"exec 3>{path} && echo ok", check=False)
    return r.stdout.strip() or r.stderr.strip()


def test_root_nodev_and_planted_node(jail, mountroot, rundir):
    root = _root(mountroot, jail)
    owner = _jail_root_id(jail)
    _node(root / "var/tmp/planted-null", 1, 3, _jail_root_id(jail, "idmap_shift"))
    ioc("start", "hd")
    assert "nodev" in _mountinfo_opts("hd", "/")
    # a node in the jail's own files does not work, even one of an allowed device
    assert "denied" in _open_in_jail("hd", "/var/tmp/planted-null").lower()
    # /dev/null of the /dev iocell made does
    assert _open_in_jail("hd", "/dev/null") == "ok"
    # a node of a device outside the allow-list put in that /dev (no nodev there): the
    # cgroup refuses it
    _node(f"/proc/{_init(rundir, jail)}/root/dev/kmsg-planted", 1, 11, owner)
    assert "not permitted" in _open_in_jail("hd", "/dev/kmsg-planted").lower()


def test_device_allow_list_in_cgroup(jail):
    ioc("start", "hd")
    devs = [d for d in cgroup_dirs(jail) if (d / "devices.list").exists()]
    if not devs:
        pytest.skip("no cgroup v1 devices controller here (cgroup v2: the BPF program, "
                    "tested in tests/unit/test_devices.c)")
    got = set((devs[0] / "devices.list").read_text().split("\n")) - {""}
    want = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm",
            "c 5:2 rwm"} | {f"c {m}:* rwm" for m in range(136, 144)}
    assert got == want


def test_fstab_nodev_unless_dev(jail, mountroot, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    owner = _jail_root_id(jail)
    _node(share / "null", 1, 3, owner)
    _node(share / "kmsg", 1, 11, owner)
    fstab = mountroot / "jails" / jail / "fstab"
    fstab.write_text(f"{share} /home/nodev bind ro\n{share} /home/dev bind rw,dev\n")
    ioc("start", "hd")
    assert "nodev" in _mountinfo_opts("hd", "/home/nodev")
    assert "nodev" not in _mountinfo_opts("hd", "/home/dev")
    assert "denied" in _open_in_jail("hd", "/home/nodev/null").lower()
    assert _open_in_jail("hd", "/home/dev/null") == "ok"
    # "dev" put the entry's own devices on the jail's allow-list
    assert _open_in_jail("hd", "/home/dev/kmsg") == "ok"
    devs = [d for d in cgroup_dirs(jail) if (d / "devices.list").exists()]
    if devs:
        assert "c 1:11 rwm" in (devs[0] / "devices.list").read_text().split("\n")
    ioc("stop", "hd")
    # an unknown option is refused with the line
    fstab.write_text(f"{share} /home/x bind rw,suid\n")
    r = ioc("start", "hd", check=False)
    assert r.returncode == 1 and "fstab line 1" in r.stderr and "suid" in r.stderr


def test_fstab_under_dev_after_the_jails_dev(jail, mountroot, tmp_path):
    """A device node bound into the jail's /dev (option dev) lands in the tmpfs iocell
    makes there (mounted after it), and works; nothing is made in the jail's dataset."""
    node = tmp_path / "kmsg"
    _node(node, 1, 11, _jail_root_id(jail))
    (mountroot / "jails" / jail / "fstab").write_text(f"{node} /dev/kmsg bind rw,dev\n")
    ioc("start", "hd")
    assert _open_in_jail("hd", "/dev/kmsg") == "ok"
    assert not (_root(mountroot, jail) / "dev" / "kmsg").exists()


# --------------------------------------------------------------------------------------
# masks, /sys (item 7)


def test_masks(jail):
    ioc("start", "hd")
    if os.path.isdir("/sys/firmware"):
        assert jexec("hd", "ls", "-A", "/sys/firmware").stdout.strip() == ""
    if os.path.exists("/proc/mtrr"):
        assert jexec("hd", "stat", "-c", "%t:%T", "/proc/mtrr").stdout.strip() == "1:3"
    for ro in ("/proc/sys", "/proc/bus", "/proc/irq", "/proc/sysrq-trigger"):
        if os.path.exists(ro):
            assert "ro" in _mountinfo_opts("hd", ro), ro


def test_ip4_inherit_sys_read_only_and_no_host_cgroups(release):
    uuid = make_jail(release, "tag=hdsys", "ip4=inherit", "vnet=off")
    try:
        ioc("start", uuid)
        rows = [l.split() for l in jexec(uuid, "cat", "/proc/self/mountinfo").stdout.splitlines()]
        sys_mounts = [(f[4], f[5]) for f in rows if f[4] == "/sys" or f[4].startswith("/sys/")]
        assert sys_mounts
        assert all(o.split(",")[0] == "ro" for _, o in sys_mounts), sys_mounts
        assert jexec(uuid, "ls", "-A", "/sys/fs/cgroup").stdout.strip() == ""
        r = jexec(uuid, "sh", "-c", "echo 1 > /sys/kernel/mm/ksm/run", check=False)
        assert r.returncode != 0
    finally:
        ioc("stop", "-f", uuid, check=False)


# --------------------------------------------------------------------------------------
# mount points never through the jail's symlinks (item 8)


def test_fstab_dest_symlink_is_refused_clearly(jail, mountroot, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    (share / "marker").write_text("x\n")
    root = _root(mountroot, jail)
    os.symlink("var", root / "srv")
    (mountroot / "jails" / jail / "fstab").write_text(f"{share} /srv bind ro\n")
    r = ioc("start", "hd", check=False)
    assert r.returncode == 1 and "/srv" in r.stderr and "symlink" in r.stderr, r.stderr
    (root / "srv").unlink()
    ioc("start", "hd")  # /srv made as a real directory, the bind on it
    assert jexec("hd", "ls", "/srv").stdout.split() == ["marker"]
    assert "marker" not in jexec("hd", "ls", "/var").stdout.split()


def test_basejail_base_symlink_is_refused_clearly(release, mountroot):
    uuid = make_jail(release, "tag=hdbase", "vnet=off", "ip4=disable", flag="-b")
    ds = f"{JAILS_DS}/{uuid}/root"
    root = _root(mountroot, uuid)
    clones = [d for d in datasets(ds) if d.count("/") == ds.count("/") + 1]
    clone = ([c for c in clones if c.endswith("/bin")] or clones)[0]
    sub = clone.rsplit("/", 1)[1]
    try:
        zfs("unmount", clone, check=False)
        destroy_dataset(clone)
        if (root / sub).is_dir() and not (root / sub).is_symlink():
            (root / sub).rmdir()
        os.symlink("tmp", root / sub)
        r = ioc("start", uuid, check=False)
        assert r.returncode == 1 and f"/{sub}" in r.stderr and "symlink" in r.stderr, r.stderr
        assert not os.path.ismount(root / "tmp")
        (root / sub).unlink()
        ioc("start", uuid)  # a real directory again: the clone is mounted there
        assert os.path.ismount(root / sub)
    finally:
        ioc("stop", "-f", uuid, check=False)
