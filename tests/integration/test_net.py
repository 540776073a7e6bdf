"""Networking (issue 4): VNET jails on bridges, shared-IP (IPvlan) jails, IPv4 and IPv6.

Every packet stays on interfaces these tests create: a test bridge (iocbr<N>) in the host
namespace, and test namespaces iocnettest-<pid>-* with veth pairs, using only
192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32.  Everything created is removed in the
finalizer (bridges, namespaces, veths), whatever the outcome.

Addresses put on host-namespace interfaces (the test bridges) come from 198.51.100.0/24
and 2001:db8::/32 only, and a test is skipped rather than add one that overlaps a route
the host already has (some machines use TEST-NET-1, 192.0.2.0/24, for their uplink).
192.0.2.0/24 appears only in values that must be rejected (never configured).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from helpers import JAILS_DS, TIME_SCALE, cgroup_leftovers, datasets, ioc, jexec, make_jail, run, state, zfs_get

SFX = os.getpid() % 10000


def sh(*argv, check=True):
    return run(list(argv), check=check)


def host_links() -> dict[str, dict]:
    """Host interfaces: name -> ip -j -d link info."""
    out = sh("ip", "-j", "-d", "link", "show").stdout
    return {l["ifname"]: l for l in json.loads(out)}


def our_uuids() -> set[str]:
    """UUIDs of the jails of this session's pool (other sessions may run jails too)."""
    return {d.rsplit("/", 1)[1] for d in datasets(JAILS_DS) if d.count("/") == JAILS_DS.count("/") + 1}


def iocell_links(uuid: str | None = None) -> list[str]:
    """Host interfaces carrying iocell's alias: of one jail, or of any jail of this session."""
    uuids = {uuid} if uuid else our_uuids()
    return [n for n, l in host_links().items() if l.get("ifalias", "")[len("iocell:"):] in uuids]


GONE = "iocgone"  # a veth host end stop detached, left for the kernel (src/linux/jailnet.h)


def detached_links(uuid: str | None = None) -> list[str]:
    """Our host ends that a stop detached and the kernel has not removed yet."""
    return [n for n in iocell_links(uuid) if n.startswith(GONE)]


def wait_detached_gone(uuid: str | None = None, timeout: float = 30.0 * TIME_SCALE) -> list[str]:
    """Wait (bounded) for the kernel to remove the detached host ends; what is left.
    The kernel tears network namespaces down one after another in one work queue: with
    other suites ending namespaces at the same time on a loaded machine, 5 s was once
    too short (two ends still queued, removed later)."""
    end = time.monotonic() + timeout
    while (left := detached_links(uuid)) and time.monotonic() < end:
        time.sleep(0.02)
    return left


def relevant_links() -> set[str]:
    """Host interfaces this session can have created or touched: ours by alias, our test
    interfaces (names with this run's suffix), anything on them.  Other sessions' jails
    come and go concurrently in the host namespace, so whole-host comparisons would race."""
    uuids = our_uuids()
    links = host_links()
    mine = {n for n in links if re.match(rf"ioc(br|nb|tv){SFX}", n)}
    return mine | {n for n, l in links.items()
                   if l.get("ifalias", "")[len("iocell:"):] in uuids
                   or l.get("master") in mine or l.get("link") in mine}


def jail_addrs(name) -> set[str]:
    """Addresses inside the jail (ip -o addr), as 'ifname addr/prefix'."""
    out = jexec(name, "ip", "-o", "addr").stdout
    res = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[2] in ("inet", "inet6"):
            res.add(f"{f[1]} {f[3]}")
    return res


def jail_links(name) -> dict[str, str]:
    """Interfaces inside the jail: name -> MAC."""
    out = jexec(name, "ip", "-o", "link").stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"\d+: ([^:@]+)[@:].*link/\S+ ([0-9a-f:]{17})", line)
        if m:
            res[m.group(1)] = m.group(2)
    return res


def host_route_overlap(addr: str, own: list[str]) -> str | None:
    """A host route (not on one of our own interfaces) overlapping addr's network."""
    net = ipaddress.ip_interface(addr).network
    fam = "-6" if net.version == 6 else "-4"
    for r in json.loads(sh("ip", "-j", fam, "route", "show", "table", "all").stdout):
        dst = r.get("dst", "")
        if dst in ("", "default") or r.get("dev") in own or r.get("type") in ("local", "broadcast", "multicast"):
            continue
        try:
            other = ipaddress.ip_network(dst if "/" in dst else f"{dst}/{net.max_prefixlen}", strict=False)
        except ValueError:
            continue
        if other.version == net.version and other.overlaps(net) and not other.is_link_local:
            return f"{dst} dev {r.get('dev')}"
    return None


class Net:
    """Names for this test and the clean-up of everything the test creates."""

    def __init__(self, tag: str):
        self.bridge = f"iocbr{SFX}{tag}"[:15]
        self.ns = f"iocnettest-{os.getpid()}-{tag}"
        self.veth = f"ioctv{SFX}{tag}"[:15]
        self.bridges: list[str] = []
        self.namespaces: list[str] = []
        self.links: list[str] = []

    def add_bridge(self, name=None, *addrs):
        name = name or self.bridge
        self.bridges.append(name)
        sh("ip", "link", "add", name, "type", "bridge")
        sh("ip", "link", "set", name, "up")
        for a in addrs:
            self.bridge_addr(a, name)
        return name

    def bridge_addr(self, addr, name=None):
        name = name or self.bridge
        if name not in self.bridges:
            self.bridges.append(name)
        ip = ipaddress.ip_interface(addr)
        allowed = [ipaddress.ip_network(n) for n in ("198.51.100.0/24", "2001:db8::/32")]
        assert any(n.version == ip.version and ip.network.subnet_of(n) for n in allowed), \
            f"{addr}: host-namespace test addresses must come from 198.51.100.0/24 or 2001:db8::/32"
        clash = host_route_overlap(addr, self.bridges)
        if clash:
            pytest.skip(f"the host already routes {clash}: not adding {addr} to a test bridge")
        if ":" in addr:
            sh("ip", "-6", "addr", "add", addr, "dev", name, "nodad")
        else:
            sh("ip", "addr", "add", addr, "dev", name)

    def add_ns_with_veth(self, *addrs):
        """Namespace self.ns with 'peer0' (addrs) linked to host end self.veth (up, no address)."""
        self.namespaces.append(self.ns)
        sh("ip", "netns", "add", self.ns)
        self.links.append(self.veth)
        sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "peer0", "netns", self.ns)
        sh("ip", "link", "set", self.veth, "up")
        self.nsrun("ip", "link", "set", "lo", "up")
        self.nsrun("ip", "link", "set", "peer0", "up")
        for a in addrs:
            if ":" in a:
                self.nsrun("ip", "-6", "addr", "add", a, "dev", "peer0", "nodad")
            else:
                self.nsrun("ip", "addr", "add", a, "dev", "peer0")

    def nsrun(self, *argv, check=True, timeout=30):
        return run(["ip", "netns", "exec", self.ns, *argv], check=check, timeout=timeout)

    def cleanup(self):
        ioc("stop", "-f", "ALL", check=False)
        for name in self.links + self.bridges:
            if name in host_links():
                sh("ip", "link", "del", name, check=False)
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)


_counter = [0]


@pytest.fixture
def net():
    """Per-test names (iocbr<N><letter>, iocnettest-<pid>-<letter>) and their clean-up."""
    _counter[0] += 1
    n = Net(chr(ord("a") + _counter[0] % 26))
    yield n
    n.cleanup()
    wait_detached_gone()
    left = iocell_links()
    assert not left, f"interfaces left behind: {left}"


def ping(name, addr, check=True):
    cmd = ["ping6" if ":" in addr else "ping", "-c", "1", "-W", "3", addr]
    return jexec(name, *cmd, check=check)


# ---------------------------------------------------------------------------------------


def test_two_vnet_jails_on_a_bridge(release, net, rundir):
    br = net.bridge
    net.bridges.append(br)  # created by iocell (createbridge=on): removed by the finalizer
    assert br not in host_links()
    a = make_jail(release, "tag=na", f"interfaces=vnet0:{br}", "allow_raw_sockets=1",
                  "ip4_addr=vnet0|198.51.100.10/24", "ip6_addr=vnet0|2001:db8::10/64")
    b = make_jail(release, "tag=nb", f"interfaces=vnet0:{br}", "allow_raw_sockets=1",
                  "ip4_addr=vnet0|198.51.100.11/24,vnet0|198.51.100.12/24",
                  "ip6_addr=vnet0|2001:db8::11/64")
    ioc("start", "na")
    links = host_links()
    assert br in links and links[br]["linkinfo"]["info_kind"] == "bridge"
    assert "UP" in links[br]["flags"]
    ioc("start", "nb")
    net.bridge_addr("198.51.100.1/24")
    net.bridge_addr("2001:db8::1/64")

    # the host ends: short names from nic and JID, on the bridge, ours
    sa, sb = state(rundir, a), state(rundir, b)
    host_a = sa["ifaces"].split(":")[1]
    host_b = sb["ifaces"].split(":")[1]
    # NIC.JID, or iocJID.I when another session's jail with the same JID holds that name
    assert host_a in (f"vnet0.{sa['jid']}", f"ioc{sa['jid']}.0")
    assert host_b in (f"vnet0.{sb['jid']}", f"ioc{sb['jid']}.0")
    links = host_links()
    for h in (host_a, host_b):
        assert len(h) <= 15
        assert links[h]["linkinfo"]["info_kind"] == "veth"
        assert links[h].get("master") == br
        assert "UP" in links[h]["flags"]
    assert sorted(iocell_links()) == sorted([host_a, host_b])

    # inside: nic named vnet0, the configured addresses, loopback up
    assert {"vnet0 198.51.100.10/24", "vnet0 2001:db8::10/64", "lo 127.0.0.1/8"} <= jail_addrs("na")
    assert {"vnet0 198.51.100.11/24", "vnet0 198.51.100.12/24", "vnet0 2001:db8::11/64"} <= jail_addrs("nb")
    assert "vnet0" in jail_links("na")
    ping("na", "127.0.0.1")

    # traffic: jail <-> jail and jail -> bridge, IPv4 and IPv6
    for src, dst in (("na", "198.51.100.11"), ("na", "198.51.100.12"), ("nb", "198.51.100.10"),
                     ("na", "198.51.100.1"), ("nb", "198.51.100.1"), ("na", "2001:db8::11"),
                     ("nb", "2001:db8::10"), ("na", "2001:db8::1"), ("nb", "2001:db8::1")):
        r = ping(src, dst, check=False)
        assert r.returncode == 0, f"{src} -> {dst}: {r.stdout} {r.stderr}"
    # and the host reaches the jail (through the test bridge: checked first)
    assert f"dev {br} " in sh("ip", "route", "get", "198.51.100.10").stdout
    assert sh("busybox", "ping", "-c", "1", "-W", "3", "198.51.100.10", check=False).returncode == 0

    # runtime and list show them
    info = ioc("runtime", "na").stdout
    assert "vnet0" in info and host_a in info and "198.51.100.10/24" in info and "2001:db8::10/64" in info
    rows = {l.split("\t")[4]: l.split("\t") for l in ioc("list", "-H").stdout.splitlines()}
    assert rows["na"][6] == "198.51.100.10"
    assert rows["nb"][6] == "198.51.100.11,198.51.100.12"

    # stop: the host ends leave their names and the bridge at once (the kernel removes the
    # pairs with the jails' namespaces right after); the bridge iocell created stays
    ioc("stop", "na")
    ioc("stop", "nb")
    links = host_links()
    assert host_a not in links and host_b not in links
    assert not [n for n, l in links.items() if l.get("linkinfo", {}).get("info_kind") == "veth"
                and l.get("master") == br]
    assert br in links
    assert not state(rundir, a) and not state(rundir, b)
    assert not wait_detached_gone() and not iocell_links()


def test_default_routes_through_the_bridge_host(release, net):
    # the jails' network 198.51.100.0/25 (router .1); an off-link network 198.51.100.128/25
    # (.129 on the bridge host) reachable only through the router
    net.add_bridge(None, "198.51.100.1/25", "198.51.100.129/25", "2001:db8::1/64", "2001:db8:ffff::1/64")
    make_jail(release, "tag=nr", f"interfaces=vnet0:{net.bridge}", "allow_raw_sockets=1",
              "ip4_addr=vnet0|198.51.100.20/25", "ip6_addr=vnet0|2001:db8::20/64",
              "defaultrouter=198.51.100.1", "defaultrouter6=2001:db8::1")
    make_jail(release, "tag=nn", f"interfaces=vnet0:{net.bridge}", "allow_raw_sockets=1",
              "ip4_addr=vnet0|198.51.100.21/25", "ip6_addr=vnet0|2001:db8::21/64")
    ioc("start", "nr")
    ioc("start", "nn")
    routes = jexec("nr", "ip", "route").stdout
    assert re.search(r"^default via 198\.51\.100\.1 dev vnet0", routes, re.M), routes
    routes6 = jexec("nr", "ip", "-6", "route").stdout
    assert re.search(r"^default via 2001:db8::1 dev vnet0", routes6, re.M), routes6
    # off-link destinations work only through the default route
    assert ping("nr", "198.51.100.129").returncode == 0
    assert ping("nr", "2001:db8:ffff::1").returncode == 0
    r = ping("nn", "198.51.100.129", check=False)
    assert r.returncode != 0
    assert ping("nn", "2001:db8:ffff::1", check=False).returncode != 0


def test_shared_ip_jail_ipvlan(release, net, rundir, mountroot):
    net.add_ns_with_veth("198.51.100.1/24", "2001:db8::1/64")
    hostif = net.veth
    u = make_jail(release, "tag=ns", "vnet=off", "ip4=new", "ip6=new", "allow_raw_sockets=1",
                  f"ip4_addr={hostif}|198.51.100.50/24", f"ip6_addr={hostif}|2001:db8::50/64")
    before = relevant_links()
    ioc("start", "ns")
    # nothing new on the host, and the host does not hold the jail's address
    assert relevant_links() == before
    assert "198.51.100.50" not in sh("ip", "-o", "addr").stdout
    # inside: loopback and an IPvlan holding only the jail's addresses
    assert jail_addrs("ns") == {"lo 127.0.0.1/8", "lo ::1/128", f"{hostif} 198.51.100.50/24",
                                f"{hostif} 2001:db8::50/64"}
    assert set(jail_links("ns")) == {"lo", hostif}
    # IPvlan; macvlan on kernels built without IPvlan
    init = state(rundir, u)["pid"]
    kind = re.search(r"\b(ipvlan|macvlan)\b",
                     sh("nsenter", "-t", init, "-n", "ip", "-d", "link", "show", hostif).stdout)
    assert kind, "neither ipvlan nor macvlan"
    assert state(rundir, u)["ifaces"] == f"{hostif}:@{hostif}"
    # a TCP service in the jail, reached from the peer namespace over IPv4 and IPv6
    jexec("ns", "sh", "-c",
          "nc -ll -p 8080 -e echo hello-from-jail </dev/null >/dev/null 2>&1 &")
    client = ("import socket,sys,time\n"
              "for i in range(50):\n"
              "  try:\n"
              "    s=socket.create_connection((sys.argv[1],8080),timeout=3); break\n"
              "  except ConnectionRefusedError: time.sleep(0.1)\n"
              "print(s.makefile().readline().strip())\n")
    for addr in ("198.51.100.50", "2001:db8::50"):
        out = net.nsrun("/usr/bin/python3", "-c", client, addr).stdout.strip()
        assert out == "hello-from-jail", addr
    assert ping("ns", "198.51.100.1").returncode == 0
    assert ping("ns", "2001:db8::1").returncode == 0
    rows = {l.split("\t")[4]: l.split("\t") for l in ioc("list", "-H").stdout.splitlines()}
    assert rows["ns"][6] == "198.51.100.50"
    assert f"{kind.group(1)} over host {hostif}" in ioc("runtime", "ns").stdout

    # the same address on the same host interface: refused before anything is made (no
    # console log opened, no set-up process spawned), and nothing left behind
    v = make_jail(release, "tag=ns2", "vnet=off", "ip4=new", "ip6=disable",
                  f"ip4_addr={hostif}|198.51.100.50/24")
    r = ioc("start", "ns2", check=False)
    assert r.returncode != 0
    assert "in use" in r.stderr
    assert not (mountroot / "log" / f"{v}-console.log").exists()
    assert not state(rundir, v) and not cgroup_leftovers(v)
    assert relevant_links() == before
    # the first jail is untouched
    assert net.nsrun("/usr/bin/python3", "-c", client, "198.51.100.50").stdout.strip() == "hello-from-jail"

    ioc("stop", "ns")
    assert relevant_links() == before
    assert [l.split(": ")[1].split("@")[0] for l in net.nsrun("ip", "-o", "link", "show").stdout.splitlines()] \
        == ["lo", "peer0"]
    # after stop the address is free again at once: ns2 starts now
    ioc("start", "ns2")
    assert jail_addrs("ns2") >= {f"{hostif} 198.51.100.50/24"}
    ioc("stop", "ns2")


def test_macs_stable_and_restart_keeps_network(release, net, rundir):
    u = make_jail(release, "tag=nm", f"interfaces=vnet0:{net.bridge},vnet1:{net.bridge}",
                  "ip4_addr=vnet0|198.51.100.30/24,vnet1|198.51.100.31/24")
    net.bridges.append(net.bridge)
    ds = f"{JAILS_DS}/{u}"
    assert zfs_get(ds, "iocell:vnet0_mac") in ("-", "none")
    ioc("start", "nm")
    macs = {}
    for nic in ("vnet0", "vnet1"):
        v = zfs_get(ds, f"iocell:{nic}_mac")
        m_jail, m_host = v.split(",")
        first = int(m_jail[:2], 16)
        assert first & 2 and not first & 1  # locally administered, unicast
        assert m_jail != m_host
        macs[nic] = (m_jail, m_host)
    assert macs["vnet0"] != macs["vnet1"]
    assert ioc("get", "vnet0_mac", "nm").stdout.strip() == ",".join(macs["vnet0"])

    def seen():
        inside = jail_links("nm")
        st = state(rundir, u)
        hosts = dict(e.split(":") for e in st["ifaces"].split(","))
        links = host_links()
        return {nic: (inside[nic], links[hosts[nic]]["address"]) for nic in ("vnet0", "vnet1")}

    assert seen() == macs
    ifindex = jexec("nm", "cat", "/sys/class/net/vnet0/ifindex").stdout
    # soft restart: the same interfaces (same index), same addresses
    ioc("restart", "-s", "nm")
    assert jexec("nm", "cat", "/sys/class/net/vnet0/ifindex").stdout == ifindex
    assert "vnet0 198.51.100.30/24" in jail_addrs("nm")
    # hard restarts: the same MACs every time, never regenerated
    ioc("restart", "--hard", "nm")
    assert seen() == macs
    ioc("stop", "nm")
    ioc("start", "nm")
    assert seen() == macs
    assert zfs_get(ds, "iocell:vnet0_mac") == ",".join(macs["vnet0"])
    # a MAC set by the user is used as it is
    ioc("stop", "nm")
    ioc("set", "vnet0_mac=02:00:00:00:aa:01,02:00:00:00:aa:02", "nm")
    ioc("start", "nm")
    assert seen()["vnet0"] == ("02:00:00:00:aa:01", "02:00:00:00:aa:02")
    ioc("stop", "nm")
    # stop leaves the detached host ends to the kernel (SPEC §6): gone once it is done
    assert not wait_detached_gone(u) and not iocell_links(u)


def test_failed_start_leaves_nothing(release, net, rundir, mountroot):
    missing = f"iocnb{SFX}"
    assert missing not in host_links()
    u = make_jail(release, "tag=nf", f"interfaces=vnet0:{missing}", "createbridge=off",
                  "ip4_addr=vnet0|198.51.100.40/25")
    before = relevant_links()
    r = ioc("start", "nf", check=False)
    assert r.returncode != 0
    assert missing in r.stderr and "createbridge=off" in r.stderr
    assert f"ip link add {missing} type bridge && ip link set {missing} up" in r.stderr
    assert relevant_links() == before
    assert missing not in host_links()
    assert not state(rundir, u) and not cgroup_leftovers(u)
    assert ioc("list", "-H").stdout.split("\t")[3] == "down"

    # a failure after the pair exists (the router is not on the jail's network): rolled back
    net.add_bridge()
    ioc("set", f"interfaces=vnet0:{net.bridge}", "createbridge=on", "defaultrouter=198.51.100.200", "nf")
    r = ioc("start", "nf", check=False)
    assert r.returncode != 0
    assert "198.51.100.200" in r.stderr and "not on a network" in r.stderr
    # (the rollback detaches the pair's host end and leaves it to the kernel, as stop does)
    assert not wait_detached_gone(u)
    assert relevant_links() == before | {net.bridge}
    assert not iocell_links()
    assert not state(rundir, u) and not cgroup_leftovers(u)

    # a failure after the network is up (exec_start fails): rolled back too
    ioc("set", "defaultrouter=none", "exec_start=/bin/false", "nf")
    r = ioc("start", "nf", check=False)
    assert r.returncode != 0
    assert not wait_detached_gone(u)
    assert relevant_links() == before | {net.bridge}
    assert not state(rundir, u) and not cgroup_leftovers(u)

    # an interface that is not a bridge
    net.add_ns_with_veth()
    ioc("set", f"interfaces=vnet0:{net.veth}", "exec_start=none", "nf")
    r = ioc("start", "nf", check=False)
    assert r.returncode != 0 and "not a bridge" in r.stderr
    assert not wait_detached_gone(u) and not iocell_links() and not state(rundir, u)
    # the set-up process (mounting in the jail's root meanwhile) was let go, not killed
    # in the middle of a request to the pool's file system
    log = (mountroot / "log" / f"{u}-console.log").read_text().splitlines()
    assert any("the set-up process ended at its next wait" in l for l in log[-3:]), log[-3:]
    assert "master" not in host_links()[net.veth]


def test_crashed_jail_is_cleaned_by_stop(release, net, rundir):
    u = make_jail(release, "tag=nc", f"interfaces=vnet0:{net.bridge}", "ip4_addr=vnet0|198.51.100.60/24")
    net.bridges.append(net.bridge)
    ioc("start", "nc")
    assert iocell_links(u)
    pid = int(state(rundir, u)["pid"])
    os.kill(pid, 9)
    time.sleep(0.2)
    ioc("stop", "nc")
    assert not iocell_links(u)
    assert not state(rundir, u)


def test_loopback_only_and_inherit(release, net, rundir):
    u = make_jail(release, "tag=nl", f"interfaces=vnet0:{net.bridge}", "ip4=disable", "ip6=disable",
                  "ip4_addr=vnet0|198.51.100.70/24")
    net.bridges.append(net.bridge)
    ioc("start", "nl")
    assert set(jail_links("nl")) == {"lo"}
    assert not iocell_links(u) and net.bridge not in host_links()
    assert "(host end" not in ioc("runtime", "nl").stdout
    ioc("stop", "nl")
    # ip4_addr=none: the interface exists, without addresses
    ioc("set", "ip4=new", "ip4_addr=none", "nl")
    ioc("start", "nl")
    assert "vnet0" in jail_links("nl")
    assert not [a for a in jail_addrs("nl") if a.startswith("vnet0") and "inet" not in a
                and not a.split()[1].startswith("fe80")]
    ioc("stop", "nl")
    # inherit: the host's stack
    v = make_jail(release, "tag=nh", "ip4=inherit")
    ioc("start", "nh")
    pid = int(state(rundir, v)["pid"])
    assert os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net")
    assert "host network" in ioc("runtime", "nh").stdout
    ioc("stop", "nh")


@pytest.mark.parametrize("bad", [
    "ip4_addr=vnet0|300.1.1.1/24",
    "ip4_addr=vnet0|192.0.2.1/33",
    "ip4_addr=vnet7|192.0.2.1/24",
    "ip6_addr=vnet0|2001:db8::1/129",
    "ip6_addr=vnet0|192.0.2.1/24",
    "ip4_addr=192.0.2.1/24",
    "interfaces=vnet0",
    "interfaces=vnet0:bridge0,vnet0:bridge1",
    "defaultrouter=300.1.1.1",
    "defaultrouter6=192.0.2.1",
    "vnet0_mac=01:00:00:00:00:01,02:00:00:00:00:02",
    "vnet0_mac=02:00:00:00:00:01",
])
def test_bad_values_rejected_at_set(release, bad):
    u = make_jail(release, "tag=nv", "interfaces=vnet0:bridge0", "ip4_addr=vnet0|198.51.100.80/24")
    name = bad.split("=", 1)[0]
    before = zfs_get(f"{JAILS_DS}/{u}", f"iocell:{name}")
    r = ioc("set", bad, "nv", check=False)
    assert r.returncode != 0, bad
    assert name in r.stderr
    assert zfs_get(f"{JAILS_DS}/{u}", f"iocell:{name}") == before
    # and at create
    r = ioc("create", "-c", f"release={release}", "tag=nv2", "interfaces=vnet0:bridge0", bad, check=False)
    assert r.returncode != 0, bad


def test_stop_detaches_veths_and_the_kernel_removes_them(release, net, rundir):
    """SPEC §6: stop does not wait for the kernel to unregister a veth.  Each host end is
    detached when stop returns (down, off its bridge, no address, renamed iocgone<index>)
    and goes with the jail's namespace; while something else holds that namespace it
    stays so, doctor reports it and repairs it; a start meanwhile takes the old names."""
    u = make_jail(release, "tag=nh", f"interfaces=vnet0:{net.bridge},vnet1:{net.bridge}",
                  "ip4_addr=vnet0|198.51.100.70/24")
    net.bridges.append(net.bridge)
    ioc("start", "nh")
    ends = sorted(iocell_links(u))
    assert len(ends) == 2 and not detached_links(u)
    idx = {n: host_links()[n]["ifindex"] for n in ends}
    # an address on a host end (an administrator's): gone with the detach
    net.bridge_addr("198.51.100.1/24")
    sh("ip", "addr", "add", "198.51.100.71/32", "dev", ends[0])
    pid = int(state(rundir, u)["pid"])
    holder = subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", "sleep", "120"])
    try:
        time.sleep(0.2)
        assert holder.poll() is None
        ioc("stop", "nh")
        assert state(rundir, u) == {}
        links = host_links()
        gone = sorted(detached_links(u))
        assert gone == sorted(f"{GONE}{idx[n]:x}" for n in ends)
        for g in gone:
            assert "UP" not in links[g]["flags"] and "master" not in links[g]
            assert links[g]["linkinfo"]["info_kind"] == "veth"
            assert not json.loads(sh("ip", "-j", "addr", "show", "dev", g).stdout)[0]["addr_info"]
        assert not set(ends) & set(links)
        # held: still there after a while; a start takes the names again meanwhile
        time.sleep(0.5)
        assert sorted(detached_links(u)) == gone
        ioc("start", "nh")
        assert sorted(n for n in iocell_links(u) if not n.startswith(GONE)) == ends
        assert "198.51.100.70/24" in " ".join(jail_addrs("nh"))
        ioc("stop", "nh")
        # doctor waits for the kernel, then reports what it did not remove, and repairs
        r = ioc("doctor", "-n", check=False)
        assert r.returncode == 1
        for g in gone:
            assert f"interface: {g} (veth of jail {u}, detached at its stop" in r.stdout, r.stdout
        assert len(wait_detached_gone(u, 0)) == 2  # -n changed nothing
        ioc("doctor", "-f")
        assert not detached_links(u)
    finally:
        holder.kill()
        holder.wait()
    assert not wait_detached_gone(u)
    assert not iocell_links(u)
    assert "iocgone" not in ioc("doctor", "-n", check=False).stdout


def test_back_to_back_vnet_cycles_leave_nothing(release, net, rundir):
    """20 stop/start cycles back to back, each start right after a stop (while the kernel
    may still be removing the last pair): every start gets its usual host end name, and
    once the kernel is done no interface of the jail is left, none in doctor's report."""
    u = make_jail(release, "tag=nb2", f"interfaces=vnet0:{net.bridge}",
                  "ip4_addr=vnet0|198.51.100.90/24", "exec_start=none")
    net.bridges.append(net.bridge)
    names = set()
    for _ in range(20):
        ioc("start", "nb2")
        live = [n for n in iocell_links(u) if not n.startswith(GONE)]
        assert len(live) == 1, live
        names.add(live[0])
        assert host_links()[live[0]].get("master") == net.bridge
        ioc("stop", "nb2")
        assert not [n for n in iocell_links(u) if not n.startswith(GONE)]
    sid = state(rundir, u)
    assert sid == {}
    # the same name every time (NIC.JID, or iocJID.0 when another session holds it)
    assert len(names) <= 2, names
    assert not wait_detached_gone(u), "the kernel did not remove the detached pairs"
    assert not iocell_links(u)
    out = ioc("doctor", "-n", check=False).stdout
    assert not [l for l in out.splitlines() if "interface:" in l and u in l], out
