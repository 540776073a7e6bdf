"""Runtime (issue 3): real jails on the scratch pool — isolation, exec, hooks, console,
stop and crash clean-up, locking, escape attempts, templates, basejails, rcboot."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import subprocess
import time
import fcntl
import termios
from pathlib import Path

import pytest

from helpers import JAILS_DS, cgroup_dirs, cgroup_leftovers, ioc, iocell_bin, jexec, make_jail, pid_alive, state, zfs, zfs_get


@pytest.fixture
def jail(release):
    uuid = make_jail(release, "tag=rt")
    yield uuid
    ioc("stop", "-f", uuid, check=False)


def test_isolation_pid1_hostname_processes_root(jail, mountroot, rundir):
    ioc("start", "rt")
    st = state(rundir, jail)
    assert st["phase"] == "running"
    init = int(st["pid"])
    assert pid_alive(init)
    # PID 1 inside is the jail's own init.
    assert jexec("rt", "cat", "/proc/1/cmdline").stdout.split("\0")[0] == "iocell-init"
    # Own hostname (the UUID by default), host's unchanged.
    assert jexec("rt", "hostname").stdout.strip() == jail
    assert os.uname().nodename != jail
    # None of the host's processes: only small PIDs, and not ours.
    pids = [int(p) for p in jexec("rt", "ls", "/proc").stdout.split() if p.isdigit()]
    assert 1 in pids and max(pids) < 100
    assert os.getpid() not in pids or os.getpid() < 100
    hostns = os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{init}/ns/pid") != hostns
    assert os.readlink(f"/proc/{init}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    # Its own root: a file written into the jail root from the host is at /.
    marker = mountroot / "jails" / jail / "root" / "marker-rt"
    marker.write_text("inside\n")
    assert jexec("rt", "cat", "/marker-rt").stdout == "inside\n"
    # The init lives in the jail's cgroup: iocell's own tree, or on a systemd host with
    # cgroup v2 the leaf of the jail's scope unit (test_cgroup2.py)
    cg = Path(f"/proc/{init}/cgroup").read_text()
    assert f"/iocell/{jail}" in cg or f"/iocell-{jail}.scope/jail\n" in cg or "0::/\n" in cg, cg
    # list shows it up with its JID.
    rows = [l.split("\t") for l in ioc("list", "-H").stdout.splitlines()]
    row = [r for r in rows if r[1] == jail][0]
    assert row[0] == st["jid"] and row[3] == "up"


def test_exec_status_and_verbatim_argv(jail):
    ioc("start", "rt")
    r = jexec("rt", "sh", "-c", "exit 7", check=False)
    assert r.returncode == 7
    assert r.stderr == ""  # the command's status, not an iocell error
    out = jexec("rt", "printf", "%s|", "a b", "$HOME", "-n", "--", "'q'").stdout
    assert out == "a b|$HOME|-n|--|'q'|"
    # '--' after the name is accepted too
    assert ioc("exec", "rt", "--", "echo", "x").stdout == "x\n"
    # -u USER
    assert jexec("rt", "id", "-u", user="nobody").stdout.strip() == "65534"
    # exec joins the jail's cgroup
    cg = jexec("rt", "cat", "/proc/self/cgroup").stdout
    assert "/iocell/" not in cg or cg  # inside the cgroup namespace the path is "/"
    r = ioc("exec", "rt", "nonexistent-cmd", check=False)
    assert r.returncode != 0 and "nonexistent-cmd" in r.stderr


def test_exec_searches_the_jails_path_like_execvpe(jail, mountroot):
    root = mountroot / "jails" / jail / "root"
    (root / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    script = root / "usr/local/bin/no-shebang"
    script.write_text('echo "by-sh:$1"\n')  # no "#!": run by /bin/sh, as execvpe does
    script.chmod(0o755)
    plain = root / "usr/local/bin/not-executable"
    plain.write_text("echo never\n")
    plain.chmod(0o644)
    ioc("start", "rt")
    assert jexec("rt", "no-shebang", "a b").stdout == "by-sh:a b\n"
    assert jexec("rt", "/usr/local/bin/no-shebang", "x").stdout == "by-sh:x\n"
    r = jexec("rt", "not-executable", check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr and "never" not in r.stdout
    r = jexec("rt", "", check=False)
    assert r.returncode != 0
    # an unknown user: one clear error, nothing run, and the jail is still usable
    r = jexec("rt", "touch", "/never-made", user="no-such-user", check=False)
    assert r.returncode == 1 and "no user no-such-user" in r.stderr
    assert r.stderr.count("\n") == 1
    assert not (root / "never-made").exists()
    assert jexec("rt", "id", "-u").stdout.strip() == "0"
    # the command's environment is the jail's, whatever iocell was called with
    assert jexec("rt", "sh", "-c", 'echo "$PATH"').stdout.strip() == \
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_exec_on_stopped_jail_is_clear_error(jail):
    r = ioc("exec", "rt", "true", check=False)
    assert r.returncode == 1 and "not running" in r.stderr


def test_hooks_order_environment_and_log(jail, mountroot, tmp_path):
    log = tmp_path / "hooks"
    rec = f"echo $IOCELL_UUID $IOCELL_TAG $IOCELL_JID $IOCELL_ROOT >> {log}"
    ioc("set",
        f"exec_prestart=echo prestart >> {log}; {rec}",
        f"exec_poststart=echo poststart >> {log}",
        f"exec_prestop=echo prestop >> {log}",
        f"exec_poststop=echo poststop >> {log}",
        "exec_start=echo started-inside; echo to-stderr >&2",
        "exec_stop=echo stopping-inside",
        "rt")
    ioc("start", "rt")
    ioc("stop", "rt")
    lines = log.read_text().splitlines()
    assert [l for l in lines if l in ("prestart", "poststart", "prestop", "poststop")] == \
        ["prestart", "poststart", "prestop", "poststop"]
    env = lines[1].split()
    assert env[0] == jail and env[1] == "rt" and int(env[2]) >= 1
    assert env[3] == str(mountroot / "jails" / jail / "root")
    console = (mountroot / "log" / f"{jail}-console.log").read_text()
    for want in ("started-inside", "to-stderr", "stopping-inside"):
        line = [l for l in console.splitlines() if l.endswith(want)][0]
        assert line.startswith("[20") and "] " in line  # timestamped


def test_failing_exec_start_rolls_back(jail, rundir):
    ioc("set", "exec_start=echo broken; exit 3", "rt")
    r = ioc("start", "rt", check=False)
    assert r.returncode == 1 and "exit 3" in r.stderr
    assert state(rundir, jail) == {}
    assert cgroup_leftovers(jail) == []
    assert ioc("list", "-H").stdout.count("\tup\t") == 0


def test_failing_prestart_hook_leaves_nothing(jail, rundir):
    ioc("set", "exec_prestart=false", "rt")
    r = ioc("start", "rt", check=False)
    assert r.returncode == 1 and "exec_prestart" in r.stderr
    assert state(rundir, jail) == {}
    assert cgroup_leftovers(jail) == []


def test_stop_leaves_nothing_behind(jail, rundir):
    ioc("set", "exec_start=sleep 1000 & sleep 1000 &", "rt")
    ioc("start", "rt")
    st = state(rundir, jail)
    init = int(st["pid"])
    procs = jexec("rt", "ps", "-o", "pid,args").stdout.splitlines()
    assert len([l for l in procs if l.endswith(" sleep 1000")]) == 2
    dirs = cgroup_dirs(jail)
    assert dirs and cgroup_leftovers(jail)
    ioc("stop", "rt")
    assert not pid_alive(init)
    assert state(rundir, jail) == {}
    assert [d for d in dirs if d.exists()] == []
    assert cgroup_leftovers(jail) == []
    assert not (rundir / "jids" / st["jid"]).exists()
    # the jail root is not mounted anywhere new on the host (mounts lived in the jail)
    root = str(Path(st["root"]))
    assert not [l for l in Path("/proc/self/mountinfo").read_text().splitlines()
                if f" {root}/" in l]
    # idempotent
    r = ioc("stop", "rt")
    assert "not running" in r.stdout


def test_kill9_during_start_then_stop_cleans(jail, rundir):
    ioc("set", "exec_start=sleep 30", "exec_timeout=60", "rt")
    p = subprocess.Popen([iocell_bin(), "start", "rt"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    init = 0
    while time.time() < deadline:
        st = state(rundir, jail)
        if st.get("pid"):
            init = int(st["pid"])
            break
        time.sleep(0.02)
    assert init, "start never got as far as creating the jail"
    time.sleep(0.3)
    p.kill()
    p.wait()
    # the half-started jail's init dies with its parent (PDEATHSIG) or is cleaned by stop
    r = ioc("stop", "rt")
    assert "cleaned up" in r.stdout or "stopped" in r.stdout
    time.sleep(0.1)
    assert not pid_alive(init)
    assert state(rundir, jail) == {}
    assert cgroup_leftovers(jail) == []
    # and it can start again
    ioc("set", "exec_start=none", "rt")
    ioc("start", "rt")
    assert jexec("rt", "true").returncode == 0


def test_two_concurrent_starts_give_one_jail(jail, rundir):
    ioc("set", "exec_start=sleep 1", "rt")
    procs = [subprocess.Popen([iocell_bin(), "start", "rt"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 1], results
    err = [r[2] for r in results if r[0] == 1][0]
    assert "already running" in err
    assert len(list((rundir / "jids").iterdir())) == 1
    ps = jexec("rt", "ps").stdout
    assert ps.count("iocell-init") == 1


def test_escape_attempts_fail(jail):
    ioc("start", "rt")
    host_hostname = os.uname().nodename
    script = r"""
    mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED
    mknod /tmp/disk b 8 0 2>/dev/null && echo MKNOD
    echo c > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ
    echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo PROCSYS
    mount -o remount,rw /sys 2>/dev/null && echo REMOUNT
    mount -o remount,rw /proc/sys 2>/dev/null && echo REMOUNTPROC
    date -s 2001-01-01 >/dev/null 2>&1
    unshare -m true 2>/dev/null && echo UNSHARE
    head -c 4 /proc/1/exe >/dev/null 2>&1 && echo INITEXE
    readlink /proc/1/fd/3 >/dev/null 2>&1 && echo INITFD
    echo x >> /proc/1/fd/3 2>/dev/null && echo INITLOG
    ls /dev | tr '\n' ' '
    grep CapBnd /proc/self/status
    """
    out = jexec("rt", "sh", "-c", script).stdout
    for bad in ("MOUNTED", "MKNOD", "SYSRQ", "PROCSYS", "REMOUNT", "UNSHARE", "INITEXE", "INITFD", "INITLOG"):
        assert bad not in out, out
    assert time.time() > 1.7e9  # the attempt to set the date to 2001 changed nothing
    assert not Path("/tmp/disk").exists()
    devs = set(out.split("CapBnd")[0].split())
    assert {"null", "zero", "random", "urandom", "tty", "pts", "ptmx"} <= devs
    assert not any(d.startswith(("sd", "vd", "nvme", "loop", "mem", "kmsg")) for d in devs)
    capbnd = int(out.split("CapBnd:")[1].split()[0], 16)
    for cap in (16, 17, 25, 27):  # SYS_MODULE, SYS_RAWIO, SYS_TIME, MKNOD
        assert not capbnd & (1 << cap)
    # the jail changes only its own hostname
    jexec("rt", "hostname", "jailname")
    assert os.uname().nodename == host_hostname
    # host processes are neither visible nor signalable (our PID is not in its namespace)
    r = jexec("rt", "kill", "-0", str(os.getpid()), check=False)
    assert r.returncode != 0 or os.getpid() < 100
    # a module cannot be loaded: CAP_SYS_MODULE is gone and init_module is filtered
    r = jexec("rt", "sh", "-c", "insmod /proc/self/exe 2>&1", check=False)
    assert r.returncode != 0


def test_console_on_pty_inside_jail(jail):
    ioc("start", "rt")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(iocell_bin(), ["iocell", "console", "rt"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    buf = b""

    def read_for(t):
        nonlocal buf
        end = time.time() + t
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    buf += os.read(fd, 4096)
                except OSError:
                    return

    read_for(1.0)
    os.write(fd, b"tty; stty size; sleep 77 & jobs; echo END-$((6*7))\n")
    read_for(1.5)
    os.write(fd, b"exit\n")
    read_for(1.0)
    _, status = os.waitpid(pid, 0)
    text = buf.decode(errors="replace")
    assert "/dev/pts/" in text
    assert "33 101" in text
    assert "sleep 77" in text  # job control: jobs lists it
    assert "END-42" in text
    assert os.WEXITSTATUS(status) == 0


def test_console_without_terminal_is_clear_error(jail):
    ioc("start", "rt")
    r = ioc("console", "rt", check=False)
    assert r.returncode == 1 and "terminal" in r.stderr


def test_template_refuses_start_unless_forced(jail, rundir):
    ioc("set", "template=yes", "rt")
    r = ioc("start", "rt", check=False)
    assert r.returncode == 1 and "template" in r.stderr
    assert state(rundir, jail) == {}
    ioc("start", "-f", "rt")
    assert state(rundir, jail)["phase"] == "running"
    r = ioc("set", "template=no", "rt", check=False)
    assert r.returncode == 1 and "running" in r.stderr
    ioc("stop", "rt")
    ioc("set", "template=no", "rt")


def test_chroot_runs_in_stopped_jail_only(jail):
    r = ioc("chroot", "rt", "sh", "-c", "cat /etc/hostname; exit 5", check=False)
    assert r.returncode == 5 and "busybox" in r.stdout
    ioc("start", "rt")
    r = ioc("chroot", "rt", "true", check=False)
    assert r.returncode == 1 and "running" in r.stderr


def test_restart_soft_keeps_namespaces(jail, rundir, mountroot):
    ioc("set", "exec_start=echo rc-ran; sleep 1000 &", "rt")
    ioc("start", "rt")
    st = state(rundir, jail)
    netns = os.readlink(f"/proc/{st['pid']}/ns/net")
    before = jexec("rt", "ps").stdout
    ioc("restart", "-s", "rt")
    st2 = state(rundir, jail)
    assert st2["pid"] == st["pid"]
    assert os.readlink(f"/proc/{st2['pid']}/ns/net") == netns
    after = jexec("rt", "ps", "-o", "pid,args").stdout.splitlines()
    assert len([l for l in after if l.endswith(" sleep 1000")]) == 1
    log = (mountroot / "log" / f"{jail}-console.log").read_text()
    assert len([l for l in log.splitlines() if l.endswith("] rc-ran")]) == 2
    ioc("restart", "rt")  # soft by default, as the manuals say
    assert state(rundir, jail)["pid"] == st["pid"]
    ioc("restart", "--hard", "rt")
    assert state(rundir, jail)["pid"] != st["pid"]


def test_fstab_bind_mounts_never_follow_jail_symlinks(jail, mountroot, tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    (src / "file").write_text("from-host\n")
    victim = tmp_path / "victim"
    victim.mkdir()
    root = mountroot / "jails" / jail / "root"
    (root / "srv").mkdir()
    # a jail-controlled symlink pointing at a host path
    os.symlink(str(victim), root / "evil")
    fstab = mountroot / "jails" / jail / "fstab"
    fstab.write_text(f"{src} /srv bind ro\n")
    ioc("start", "rt")
    assert jexec("rt", "cat", "/srv/file").stdout == "from-host\n"
    r = jexec("rt", "sh", "-c", "echo x > /srv/new", check=False)
    assert r.returncode != 0  # read-only
    assert not (src / "new").exists()
    ioc("stop", "rt")
    # DEST through the jail's symlink: resolved inside the jail root, never the host's
    # victim directory; the start fails cleanly instead.
    fstab.write_text(f"{src} /srv bind ro\n{src} /evil/x bind rw\n")
    r = ioc("start", "rt", check=False)
    assert r.returncode == 1 and "/evil/x" in r.stderr
    assert list(victim.iterdir()) == []
    assert ioc("list", "-H").stdout.count("\tup\t") == 0
    # a relative escape in DEST is confined the same way
    fstab.write_text(f"{src} /../../../../{victim}/y bind rw\n")
    r = ioc("start", "rt", check=False)
    assert list(victim.iterdir()) == []


def test_rcboot_priority_and_rcshutdown(release, rundir):
    a = make_jail(release, "tag=boot-b", "boot=on", "priority=20")
    b = make_jail(release, "tag=boot-a", "boot=on", "priority=10")
    c = make_jail(release, "tag=noboot")
    ioc("set", "exec_start=false", "noboot")  # not started at all by rcboot
    out = ioc("rcboot").stdout
    assert out.index("boot-a") < out.index("boot-b")
    assert state(rundir, a) and state(rundir, b) and not state(rundir, c)
    d = make_jail(release, "tag=boot-bad", "boot=on", "priority=5", "exec_start=exit 9")
    r = ioc("rcboot", check=False)
    assert r.returncode == 1 and "boot-bad" in r.stderr
    assert not state(rundir, d)
    out = ioc("rcshutdown").stdout
    assert out.index("boot-b") < out.index("boot-a")
    assert not state(rundir, a) and not state(rundir, b)


def test_basejail_system_dirs_are_readonly_clones_recloned_at_start(release, mountroot):
    uuid = make_jail(release, "tag=bj", flag="-b")
    ioc("start", "bj")
    r = jexec("bj", "sh", "-c", "touch /usr/x 2>&1", check=False)
    assert r.returncode != 0
    jexec("bj", "sh", "-c", "touch /etc/own-file")
    origin = zfs_get(f"{JAILS_DS}/{uuid}/root/usr", "origin")
    assert "/base/" in origin and origin.endswith("@release")
    ioc("stop", "bj")
    ioc("start", "bj")
    assert jexec("bj", "ls", "/etc/own-file").returncode == 0
    ioc("stop", "bj")


# ---- start on the cached configuration (RUNDIR/UUID.conf), verified against ZFS ----

def test_start_uses_properties_changed_behind_iocells_back(jail, rundir, mountroot):
    """start speculates on the configuration cached in the runtime dir while `zfs get`
    runs; a property changed with plain `zfs set` must still win."""
    ioc("start", "rt")
    ioc("stop", "rt")
    conf = rundir / f"{jail}.conf"
    assert "iocell:host_hostname" in conf.read_text()
    zfs("set", "iocell:host_hostname=changed-outside", f"{JAILS_DS}/{jail}")
    r = ioc("--debug", "start", "rt")
    # one zfs call: the verifying `zfs get` (no synchronous load first)
    assert len([l for l in r.stderr.splitlines() if l.startswith("+ zfs ")]) == 1
    assert jexec("rt", "hostname").stdout.strip() == "changed-outside"
    log = (mountroot / "log" / f"{jail}-console.log").read_text()
    assert "configuration changed while starting: starting again" in log
    ioc("stop", "rt")
    # the cache now holds the real value: the next start needs no second attempt
    assert "changed-outside" in conf.read_text()
    ioc("start", "rt")
    assert jexec("rt", "hostname").stdout.strip() == "changed-outside"
    assert log.count("starting again") == (mountroot / "log" / f"{jail}-console.log").read_text().count("starting again")


def test_start_creates_missing_mount_points_only_on_the_confirmed_configuration(
        jail, rundir, mountroot, tmp_path):
    """The speculative set-up only mounts; creating a missing mount point in the jail's
    dataset waits until `zfs get` has confirmed the configuration."""
    ioc("start", "rt")
    ioc("stop", "rt")
    assert "iocell:mount_procfs\t1" in (rundir / f"{jail}.conf").read_text()
    root = mountroot / "jails" / jail / "root"
    (root / "proc").rmdir()
    # the cache says mount_procfs=1; the real value, set behind iocell's back, is 0
    zfs("set", "iocell:mount_procfs=0", f"{JAILS_DS}/{jail}")
    ioc("start", "rt")
    assert not (root / "proc").exists()
    assert jexec("rt", "ls", "/").returncode == 0
    ioc("stop", "rt")
    # confirmed: the missing mount points (/proc and an fstab target) are created
    ioc("set", "mount_procfs=1", "rt")
    src = tmp_path / "shared"
    src.mkdir()
    (src / "f").write_text("shared\n")
    (mountroot / "jails" / jail / "fstab").write_text(f"{src} /data bind ro\n")
    assert not (root / "data").exists()
    ioc("start", "rt")
    assert (root / "proc").is_dir() and (root / "data").is_dir()
    assert jexec("rt", "cat", "/data/f").stdout == "shared\n"
    assert jexec("rt", "cat", "/proc/1/cmdline").stdout.startswith("iocell-init")


def test_resolv_conf_from_resolver(jail, rundir, mountroot, tmp_path):
    etc = mountroot / "jails" / jail / "root" / "etc"
    ioc("start", "rt")  # resolver=none: the host's file
    assert jexec("rt", "cat", "/etc/resolv.conf").stdout == Path("/etc/resolv.conf").read_text()
    ioc("stop", "rt")
    ioc("set", "resolver=nameserver 192.0.2.53;search example.test", "rt")
    ioc("start", "rt")
    want = "nameserver 192.0.2.53\nsearch example.test\n"
    assert jexec("rt", "cat", "/etc/resolv.conf").stdout == want
    ioc("stop", "rt")
    # unchanged: left alone, no write into the jail's dataset
    before = (etc / "resolv.conf").stat().st_mtime_ns
    time.sleep(0.05)
    ioc("start", "rt")
    ioc("stop", "rt")
    assert (etc / "resolv.conf").stat().st_mtime_ns == before
    # changed behind iocell's back (the cached configuration is stale): the real value
    zfs("set", "iocell:resolver=nameserver 198.51.100.53", f"{JAILS_DS}/{jail}")
    ioc("start", "rt")
    assert (etc / "resolv.conf").read_text() == "nameserver 198.51.100.53\n"
    ioc("stop", "rt")
    # a symlink planted in the jail is replaced, never written through
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    (etc / "resolv.conf").unlink()
    os.symlink(str(victim), etc / "resolv.conf")
    ioc("start", "rt")
    assert victim.read_text() == "host file\n"
    assert not (etc / "resolv.conf").is_symlink()
    assert (etc / "resolv.conf").read_text() == "nameserver 198.51.100.53\n"


def test_start_with_stale_cache_of_a_retagged_jail_starts_nothing(jail, rundir):
    ioc("start", "rt")
    ioc("stop", "rt")
    zfs("set", "iocell:tag=rt-renamed", f"{JAILS_DS}/{jail}")
    r = ioc("start", "rt", check=False)
    assert r.returncode == 1 and "no jail named 'rt'" in r.stderr
    assert state(rundir, jail) == {}
    assert cgroup_leftovers(jail) == []
    assert not list((rundir / "jids").iterdir())
    ioc("start", "rt-renamed")
    assert state(rundir, jail)["phase"] == "running"


def test_start_refuses_unmounted_dataset_even_if_cache_says_mounted(jail, rundir):
    ioc("start", "rt")
    ioc("stop", "rt")
    ds = f"{JAILS_DS}/{jail}"
    zfs("unmount", f"{ds}/root")
    zfs("unmount", ds)
    try:
        r = ioc("start", "rt", check=False)
        assert r.returncode == 1 and "is not mounted" in r.stderr
        assert state(rundir, jail) == {} and cgroup_leftovers(jail) == []
    finally:
        zfs("mount", ds)
        zfs("mount", f"{ds}/root")
    ioc("start", "rt")


def test_last_started_recorded_at_start_and_kept_by_rcshutdown(jail, rundir):
    ds = f"{JAILS_DS}/{jail}"
    assert ioc("get", "last_started", "rt").stdout.strip() == "none"
    before = time.strftime("%Y-%m-%d@%H:%M:%S")
    ioc("start", "rt")
    got = ioc("get", "last_started", "rt").stdout.strip()
    assert got >= before and len(got) == len(before)
    # recorded in the runtime dir (SPEC §5 step 6), without a ZFS write in start
    assert (rundir / f"{jail}.started").read_text().strip() == got
    assert zfs_get(ds, "iocell:last_started") == "none"
    ioc("stop", "rt")
    assert ioc("get", "last_started", "rt").stdout.strip() == got  # kept after stop
    ioc("set", "boot=on", "rt")
    ioc("rcshutdown")
    assert zfs_get(ds, "iocell:last_started") == got
    assert not (rundir / f"{jail}.started").exists()
    assert ioc("get", "last_started", "rt").stdout.strip() == got
