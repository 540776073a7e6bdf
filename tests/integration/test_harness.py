"""The harness's hang detection (helpers.hang_report), attacked with the hang it must catch.

zfs-fuse's file-system side once deadlocked alone (CI, stop 21): every FUSE request waited
forever while `zpool list`, over the daemon's control socket, still answered. A command then
timed out in every later test. These tests make such a daemon (a FUSE file system of the
test's own that answers INIT and nothing after it) and check that a command stuck on it is
recognised as a dead daemon, which ends the session at once, and that the daemon's threads
are described.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
import tempfile
import time

import pytest

import helpers

FUSE_INIT = 26


def _answer_init(fd: int) -> None:
    """Read the kernel's FUSE_INIT and accept it (protocol 7.31); nothing else is answered."""
    req = os.read(fd, 1 << 17)
    _, opcode, unique = struct.unpack_from("<IIQ", req)
    assert opcode == FUSE_INIT, opcode
    # fuse_init_out: major, minor, max_readahead, flags, max_background,
    # congestion_threshold, max_write, time_gran, max_pages, map_alignment, flags2, unused[7]
    body = struct.pack("<IIIIHHIIHHI7I", 7, 31, 0, 0, 16, 12, 4096, 1, 1, 0, 0, *[0] * 7)
    os.write(fd, struct.pack("<IiQ", 16 + len(body), 0, unique) + body)


@pytest.fixture
def mute_fuse():
    """A mounted FUSE file system whose daemon (this test) never answers a request."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this machine")
    mnt = tempfile.mkdtemp(prefix="iocell-test-mute-")
    fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
    libc = ctypes.CDLL(None, use_errno=True)
    opts = f"fd={fd},rootmode=40000,user_id=0,group_id=0".encode()
    if libc.mount(b"iocell-test-mute", mnt.encode(), b"fuse", 0, opts) != 0:
        err = ctypes.get_errno()
        os.close(fd)
        os.rmdir(mnt)
        pytest.fail(f"cannot mount a FUSE file system: {os.strerror(err)}")
    try:
        _answer_init(fd)
        yield mnt
    finally:
        os.close(fd)  # the last descriptor: the kernel aborts the connection, waiters end
        libc.umount2(mnt.encode(), 2)  # MNT_DETACH
        os.rmdir(mnt)


def test_a_command_stuck_on_fuse_ends_the_session(mute_fuse, monkeypatch):
    monkeypatch.setattr(helpers, "_daemon_backtraces", lambda pid: ["  (backtrace)"])
    with pytest.raises(pytest.exit.Exception) as e:
        helpers.run(["stat", os.path.join(mute_fuse, "x")], timeout=2)
    assert e.value.returncode == 3
    msg = str(e.value)
    assert "the ZFS daemon stopped answering" in msg
    assert "still wait for a FUSE answer: THE ZFS DAEMON DOES NOT ANSWER" in msg
    assert "wchan=request_wait_answer" in msg and f"stat {mute_fuse}/x" in msg


def test_a_command_that_is_only_slow_does_not(monkeypatch):
    monkeypatch.setattr(helpers, "_daemon_backtraces", lambda pid: pytest.fail("not a hang"))
    with pytest.raises(AssertionError) as e:
        helpers.run(["sleep", "30"], timeout=1)
    assert "command timed out after 1s: sleep 30" in str(e.value)
    assert "DOES NOT ANSWER" not in str(e.value)


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
def test_daemon_backtraces_group_the_threads():
    p = subprocess.Popen(["python3", "-c", "import threading,time\n"
                          "for i in range(3): threading.Thread(target=time.sleep, args=(60,)).start()\n"
                          "time.sleep(60)\n"])
    try:
        for _ in range(50):  # the three threads started
            if len(os.listdir(f"/proc/{p.pid}/task")) == 4:
                break
            time.sleep(0.1)
        lines = helpers._daemon_backtraces(p.pid)
    finally:
        p.kill()
        p.wait()
    # four threads asleep, the same innermost frame, counted rather than listed each
    assert sum(int(l.split()[0]) for l in lines) == 4, lines
    assert all("sleep" in l.split(": ", 1)[1].split(" < ")[0] for l in lines), lines
