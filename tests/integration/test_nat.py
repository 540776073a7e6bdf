"""NAT jails and port forwards (issue 17): iocell's bridge iocell0, addresses from
nat_prefix, masquerading out of nat_interface, forwards from outside, from the host (loopback
included) and from other jails (hairpin), over IPv4 and IPv6, all through iocell's own
nftables table (table inet iocell).

These tests change the network namespace's nftables ruleset and forwarding sysctls: they
run only in the private network namespace scripts/test.sh gives pytest (IOCELL_TEST_NETNS=1).
"Outside" is a peer namespace, iocnat-<pid>-<n>, joined to this one by a veth pair whose end
here (the uplink) holds 198.51.100.1/24 and 2001:db8:1::1/64 and carries the default routes;
the outside end holds 198.51.100.2 and 2001:db8:1::2.  The jails draw from 192.0.2.0/24 and
2001:db8:2::/64.  Everything is removed by the fixture, whatever the outcome.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from helpers import TIME_SCALE, ioc, jexec, make_jail, parse_uuid, run, state

pytestmark = pytest.mark.skipif(
    os.environ.get("IOCELL_TEST_NETNS") != "1",
    reason="NAT tests change nftables and forwarding: only in the private network namespace "
    "of scripts/test.sh (IOCELL_TEST_NETNS=1)")

SFX = os.getpid() % 10000
PREFIX = "192.0.2.0/24,2001:db8:2::/64"
UP4, OUT4 = "198.51.100.1", "198.51.100.2"
UP6, OUT6 = "2001:db8:1::1", "2001:db8:1::2"
GW4, GW6 = "192.0.2.1", "2001:db8:2::1"

# A server for "outside": answers every HTTP GET with the client's address.
ECHO_SERVER = textwrap.dedent("""
    import http.server, socket, sys, threading
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = self.client_address[0].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    class S6(http.server.HTTPServer):
        address_family = socket.AF_INET6
    servers = [http.server.HTTPServer((sys.argv[1], 9000), H), S6((sys.argv[2], 9000), H)]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()
""")


def sh(*argv, check=True, timeout=60):
    return run(list(argv), check=check, timeout=timeout)


def nft_json() -> list[dict]:
    return json.loads(sh("nft", "-j", "list", "ruleset").stdout)["nftables"]


def iocell_chains() -> set[str]:
    return {o["chain"]["name"] for o in nft_json()
            if "chain" in o and o["chain"]["table"] == "iocell" and o["chain"]["family"] == "inet"}


def jail_chains(uuid: str) -> set[str]:
    return {c for c in iocell_chains() if uuid in c}


def foreign_ruleset() -> list[dict]:
    """Everything of the ruleset outside table inet iocell (handles included)."""
    out = []
    for o in nft_json():
        kind = next(iter(o))
        if kind == "metainfo":
            continue
        v = o[kind]
        fam, table = v.get("family"), v.get("table", v.get("name") if kind == "table" else None)
        if (fam, table) != ("inet", "iocell"):
            out.append(o)
    return out


def http_get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Outside:
    def __init__(self, n: int):
        self.ns = f"iocnat-{os.getpid()}-{n}"
        self.up = f"iocup{SFX}{n}"[:15]
        self.procs: list[subprocess.Popen] = []

    def setup(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", self.up, "type", "veth", "peer", "name", "eth0", "netns", self.ns)
        sh("ip", "link", "set", self.up, "up")
        sh("ip", "addr", "add", f"{UP4}/24", "dev", self.up)
        sh("ip", "-6", "addr", "add", f"{UP6}/64", "dev", self.up, "nodad")
        self.nsrun("ip", "link", "set", "lo", "up")
        self.nsrun("ip", "link", "set", "eth0", "up")
        self.nsrun("ip", "addr", "add", f"{OUT4}/24", "dev", "eth0")
        self.nsrun("ip", "-6", "addr", "add", f"{OUT6}/64", "dev", "eth0", "nodad")
        # the uplink carries this namespace's default routes (nat_interface=auto finds it)
        sh("ip", "route", "replace", "default", "via", OUT4, "dev", self.up)
        sh("ip", "-6", "route", "replace", "default", "via", OUT6, "dev", self.up)

    def nsrun(self, *argv, check=True, timeout=30):
        return run(["ip", "netns", "exec", self.ns, *argv], check=check, timeout=timeout)

    def serve_echo(self):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-c", ECHO_SERVER, OUT4, OUT6],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(p)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if http_get(f"http://{OUT4}:9000/", 1) == UP4:
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the outside echo server did not answer: {p.stderr}")

    def fetch(self, url: str) -> subprocess.CompletedProcess:
        code = ("import sys, urllib.request; "
                "print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())")
        return self.nsrun(sys.executable, "-c", code, url, check=False)

    def cleanup(self):
        ioc("stop", "-f", "ALL", check=False)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        sh("ip", "route", "del", "default", "dev", self.up, check=False)
        sh("ip", "-6", "route", "del", "default", "dev", self.up, check=False)
        sh("ip", "link", "del", self.up, check=False)
        sh("ip", "netns", "del", self.ns, check=False)
        # iocell keeps its bridge and its table's fixed part: removed here so that the
        # next test starts from nothing
        sh("nft", "delete", "table", "inet", "iocell", check=False)
        sh("ip", "link", "del", "iocell0", check=False)


_n = [0]


@pytest.fixture
def outside():
    _n[0] += 1
    o = Outside(_n[0])
    try:
        o.setup()
        yield o
    finally:
        o.cleanup()


def merged(defaults: list[str], given: tuple[str, ...]) -> list[str]:
    """defaults overridden by the given PROP=VALUE assignments."""
    out = dict(a.split("=", 1) for a in defaults)
    out.update(dict(a.split("=", 1) for a in given))
    return [f"{k}={v}" for k, v in out.items()]


def nat_jail(release, tag, *props):
    return make_jail(release, *merged([f"tag={tag}", "nat=on", f"nat_prefix={PREFIX}", "interfaces=none",
                                       "exec_start=none"], props))


def serve_http(name: str, text: str, port: int = 80):
    """busybox httpd in the jail (it daemonizes), serving text."""
    jexec(name, "sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && httpd -p {port} -h /www")


def jail_get(name: str, url: str, check=True):
    # (busybox wget -T crashes on a refused connection: timeout(1) bounds it instead)
    return jexec(name, "timeout", "10", "wget", "-q", "-O", "-", url, check=check)


def sysctl(path: str) -> str:
    with open(f"/proc/sys/{path}") as f:
        return f.read().strip()


# ---------------------------------------------------------------------------------------


def test_nat_properties_validated_and_shown(release):
    u = make_jail(release, "tag=np")
    out = ioc("get", "-H", "all", "np").stdout
    got = dict(l.split("\t", 1) for l in out.splitlines() if "\t" in l)
    assert got["nat"] == "off" and got["nat_prefix"] == "172.29.0.0/16,fd69:6f63:656c::/64"
    assert got["nat_interface"] == "auto" and got["nat_forwards"] == "none"
    assert got["nat_addr"] == "none"
    ioc("set", "nat_forwards=tcp(80:8080),udp(53:53),tcp(443)", "np")
    assert ioc("get", "nat_forwards", "np").stdout.strip() == "tcp(80:8080),udp(53:53),tcp(443)"
    bad = {
        "nat_forwards=tcp(80:8080),tcp(81:8080)": "forwarded twice",
        "nat_forwards=sctp(80)": "tcp(PORT",
        "nat_forwards=tcp(70000)": "1 to 65535",
        "nat_prefix=192.0.2.1/24": "host bits",
        "nat_prefix=2001:db8::/48": "IPv6 NAT prefix is 64 to 120",
        "nat_interface=a/b": "interface",
        "nat_addr=192.0.2.9": "read-only",
        "nat=maybe": "on | off",
    }
    for assignment, why in bad.items():
        r = ioc("set", assignment, "np", check=False)
        assert r.returncode == 1 and why in r.stderr, (assignment, r.stderr)
    # bad input changes nothing
    assert ioc("get", "nat_forwards", "np").stdout.strip() == "tcp(80:8080),udp(53:53),tcp(443)"
    r = ioc("set", "nat=on", "vnet=off", "np", check=False)
    assert r.returncode == 1 and "nat=on needs vnet=on" in r.stderr
    r = ioc("set", "nat=on", "defaultrouter=198.51.100.9", "np", check=False)
    assert r.returncode == 1 and "defaultrouter=none" in r.stderr
    r = ioc("set", "nat=on", "interfaces=nat0:bridge0", "np", check=False)
    assert r.returncode == 1 and "nat0" in r.stderr
    assert ioc("get", "nat", "np").stdout.strip() == "off"
    ioc("set", "nat=on", "np")
    assert ioc("get", "nat", u).stdout.strip() == "on"


def test_outbound_masquerade_v4_v6_and_allocation(release, outside, rundir):
    outside.serve_echo()
    # IP forwarding is turned on by a NAT jail's start only: a plain VNET jail (on a bridge
    # of its own, created by iocell) leaves both families alone
    assert sysctl("net/ipv4/ip_forward") == "0"
    assert sysctl("net/ipv6/conf/all/forwarding") == "0"
    br = f"iocbr{SFX}"[:15]
    make_jail(release, "tag=plain", f"interfaces=vnet0:{br}", "createbridge=on",
              "ip4_addr=vnet0|198.51.100.50/24", "ip6_addr=vnet0|2001:db8:1::50/64", "exec_start=none")
    try:
        ioc("start", "plain")
        assert jexec("plain", "ip", "-o", "addr", "show", "dev", "vnet0").stdout.count("198.51.100.50") == 1
        assert sysctl("net/ipv4/ip_forward") == "0"
        assert sysctl("net/ipv6/conf/all/forwarding") == "0"
        ioc("stop", "plain")
    finally:
        sh("ip", "link", "del", br, check=False)
    a = nat_jail(release, "na")
    b = nat_jail(release, "nb")
    ioc("start", "na")
    ioc("start", "nb")
    st = state(rundir, a)
    assert st["nat"] == "on" and st["nat_uplink"] == outside.up  # auto: the default route's
    addrs = {u: ioc("get", "nat_addr", u).stdout.strip() for u in (a, b)}
    assert addrs[a] == "192.0.2.2,2001:db8:2::2" and addrs[b] == "192.0.2.3,2001:db8:2::3"
    assert sysctl("net/ipv4/ip_forward") == "1"
    assert sysctl("net/ipv6/conf/all/forwarding") == "1"
    # the jail: nat0 with its addresses, default routes via the gateways on iocell0
    out = jexec("na", "ip", "-o", "addr", "show", "dev", "nat0").stdout
    assert "192.0.2.2/24" in out and "2001:db8:2::2/64" in out
    routes = jexec("na", "ip", "route").stdout + jexec("na", "ip", "-6", "route").stdout
    assert f"default via {GW4}" in routes and f"default via {GW6}" in routes
    link = json.loads(sh("ip", "-j", "-d", "link", "show", "iocell0").stdout)[0]
    assert link["linkinfo"]["info_kind"] == "bridge"
    assert sysctl("net/ipv4/conf/iocell0/route_localnet") == "1"
    # outside sees the uplink's address, not the jail's
    for name in ("na", "nb"):
        assert jail_get(name, f"http://{OUT4}:9000/").stdout.strip() == UP4
        assert jail_get(name, f"http://[{OUT6}]:9000/").stdout.strip() == UP6
    # stable across a restart; a clone gets addresses of its own
    ioc("stop", "na")
    ioc("start", "na")
    assert ioc("get", "nat_addr", "na").stdout.strip() == addrs[a]
    ioc("stop", "na")
    ioc("snapshot", "na@s1")
    c = parse_uuid(ioc("clone", "na@s1", "tag=nc").stdout)
    assert ioc("get", "nat_addr", c).stdout.strip() == "none"
    ioc("start", "nc")  # na's and nb's addresses are taken, stopped or not
    assert ioc("get", "nat_addr", "nc").stdout.strip() == "192.0.2.4,2001:db8:2::4"
    ioc("start", "na")
    assert jail_get("nc", f"http://{OUT4}:9000/").stdout.strip() == UP4


def test_forwards_from_outside_host_loopback_and_other_jails(release, outside):
    web = nat_jail(release, "web", "nat_forwards=tcp(80:8080)")
    cli = nat_jail(release, "cli")
    ioc("start", "web")
    ioc("start", "cli")
    serve_http("web", "hello-from-web")
    # outside -> uplink address:8080 -> jail:80, IPv4 and IPv6
    assert outside.fetch(f"http://{UP4}:8080/").stdout.strip() == "hello-from-web"
    assert outside.fetch(f"http://[{UP6}]:8080/").stdout.strip() == "hello-from-web"
    # the host itself: loopback (IPv4), its own addresses (both families)
    assert http_get("http://127.0.0.1:8080/").strip() == "hello-from-web"
    assert http_get(f"http://{UP4}:8080/").strip() == "hello-from-web"
    assert http_get(f"http://[{UP6}]:8080/").strip() == "hello-from-web"
    assert http_get(f"http://[{GW6}]:8080/").strip() == "hello-from-web"
    # IPv6 loopback cannot be forwarded by the kernel: refused, not hanging
    with pytest.raises(OSError):
        http_get("http://[::1]:8080/", 3)
    # another jail (hairpin through the host), and the jail itself
    for name in ("cli", "web"):
        assert jail_get(name, f"http://{UP4}:8080/").stdout.strip() == "hello-from-web"
        assert jail_get(name, f"http://[{UP6}]:8080/").stdout.strip() == "hello-from-web"
        assert jail_get(name, f"http://{GW4}:8080/").stdout.strip() == "hello-from-web"
    # the rules: three chains of the jail's own, every rule commented with its UUID
    assert jail_chains(web) == {f"j-{web}-pre", f"j-{web}-out", f"j-{web}-post"}
    for o in nft_json():
        if "rule" in o and web in o["rule"]["chain"]:
            assert o["rule"]["comment"] == f"iocell:{web}"
    # a jail without forwards has masquerading only
    cli_rules = [o["rule"] for o in nft_json() if "rule" in o and cli in o["rule"]["chain"]]
    assert cli_rules and not [e for r in cli_rules for e in r["expr"] if "dnat" in e]
    # the jail's host port stops working at stop, and its rules are gone
    ioc("stop", "web")
    assert jail_chains(web) == set() and jail_chains(cli)
    with pytest.raises(OSError):
        http_get(f"http://{UP4}:8080/", 3)


def test_udp_forward(release, outside, rundir):
    u = nat_jail(release, "dns", "nat_forwards=udp(53:5353)")
    ioc("start", "dns")
    # busybox has no UDP server: the host's python answers one datagram from inside the
    # jail's network namespace (only that namespace: what the forward must reach)
    pid = state(rundir, u)["pid"]
    code = ("import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
            "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::', 53)); "
            "print('up', flush=True); d, a = s.recvfrom(100); s.sendto(b'pong:' + d, a)")
    p = subprocess.Popen(["nsenter", "-t", pid, "-n", sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outside.procs.append(p)
    assert p.stdout.readline().strip() == "up"
    client = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); "
              "s.sendto(b'ping', (sys.argv[1], 5353)); print(s.recvfrom(100)[0].decode())")
    r = outside.nsrun(sys.executable, "-c", client, UP4, check=False)
    assert r.stdout.strip() == "pong:ping", r.stderr
    p.wait(timeout=10)


def test_same_host_port_twice_refused_at_start(release, outside, rundir):
    a = nat_jail(release, "p1", "nat_forwards=tcp(80:8080)")
    b = nat_jail(release, "p2", "nat_forwards=tcp(81:8080),tcp(22:2222)")
    ioc("start", "p1")
    r = ioc("start", "p2", check=False)
    assert r.returncode == 1
    assert "host port tcp/8080 is already forwarded to jail p1" in r.stderr
    assert not state(rundir, b) and jail_chains(b) == set()
    # nothing of p2 is left, p1 still serves
    serve_http("p1", "still-p1")
    assert outside.fetch(f"http://{UP4}:8080/").stdout.strip() == "still-p1"
    # other protocol, other port: fine
    ioc("set", "nat_forwards=udp(81:8080)", "p2")
    ioc("start", "p2")
    ioc("stop", "p1")
    ioc("stop", "p2")
    assert iocell_chains() <= {"guard", "loopback"}


def test_rules_removed_after_kill9_of_start_then_stop(release, outside, rundir, iocell):
    u = nat_jail(release, "k9", "nat_forwards=tcp(80:8080)", "exec_start=sleep 60")
    p = subprocess.Popen([iocell, "start", "k9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(jail_chains(u)) < 3:
            time.sleep(0.05)
        assert len(jail_chains(u)) == 3, "the start never added its rules"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert state(rundir, u)  # half-started, with its rules
    ioc("stop", "k9")
    assert jail_chains(u) == set()
    assert not [l for l in json.loads(sh("ip", "-j", "link").stdout) if l.get("ifalias") == f"iocell:{u}"]
    # a second stop has nothing to do
    ioc("stop", "k9")


def _runs_in_jail(uuid: str, cmdline: bytes) -> bool:
    """Whether a process with this command line runs in the jail's cgroup."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if f.read() != cmdline:
                    continue
            with open(f"/proc/{d}/cgroup") as f:
                if uuid in f.read():
                    return True
        except OSError:
            continue
    return False


def test_stale_rules_of_a_crashed_jail_go_at_the_next_nat_start(release, outside, rundir, iocell):
    u = nat_jail(release, "cr", "nat_forwards=tcp(80:8080)", "exec_start=sleep 60")
    p = subprocess.Popen([iocell, "start", "cr"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # killed once its init runs exec_start (its chains are made before: a kill in
        # between ends the half-made jail, which is another test's case)
        deadline = time.monotonic() + 30 * TIME_SCALE
        while time.monotonic() < deadline and not (len(jail_chains(u)) == 3 and
                                                     _runs_in_jail(u, b"sleep\x0060\x00")):
            time.sleep(0.05)
        assert len(jail_chains(u)) == 3 and _runs_in_jail(u, b"sleep\x0060\x00")
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    # the half-started jail lives on (its init runs exec_start): its port stays taken
    nat_jail(release, "cr2", "nat_forwards=tcp(80:8080)")
    r = ioc("start", "cr2", check=False)
    assert r.returncode == 1 and "already forwarded to jail cr" in r.stderr
    # the jail dies too (its init killed: a crash): its chains are stale, its host port
    # free for another jail, whose start removes them
    pid = int(state(rundir, u)["pid"])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}/stat") and \
            open(f"/proc/{pid}/stat").read().split()[2] != "Z":
        time.sleep(0.05)
    assert len(jail_chains(u)) == 3
    ioc("start", "cr2")
    assert jail_chains(u) == set()
    serve_http("cr2", "from-cr2")
    assert outside.fetch(f"http://{UP4}:8080/").stdout.strip() == "from-cr2"
    ioc("stop", "cr")


def test_foreign_tables_untouched(release, outside):
    ruleset = textwrap.dedent("""
        table inet othertool {
            set keep { type ipv4_addr; elements = { 198.51.100.77 } }
            chain input { type filter hook input priority 0; policy accept;
                tcp dport 9999 counter accept comment "not iocell's"
            }
        }
        table ip nat {
            chain POSTROUTING { type nat hook postrouting priority 100; policy accept;
                oifname "nonexistent0" masquerade
            }
        }
    """)
    run(["nft", "-f", "-"], input=ruleset)
    try:
        before = foreign_ruleset()
        assert before
        nat_jail(release, "f1", "nat_forwards=tcp(80:8080)")
        nat_jail(release, "f2", "nat_forwards=tcp(80:8080)")
        ioc("start", "f1")
        assert foreign_ruleset() == before
        ioc("start", "f2", check=False)  # refused
        assert foreign_ruleset() == before
        ioc("stop", "f1")
        ioc("start", "f2")
        ioc("stop", "-f", "f2")
        assert foreign_ruleset() == before
    finally:
        sh("nft", "delete", "table", "inet", "othertool", check=False)
        sh("nft", "delete", "table", "ip", "nat", check=False)


def test_nat_interface_explicit_and_missing(release, outside, rundir):
    u = nat_jail(release, "ni", f"nat_interface={outside.up}")
    ioc("start", "ni")
    assert state(rundir, u)["nat_uplink"] == outside.up
    post = [o["rule"] for o in nft_json() if "rule" in o and o["rule"]["chain"] == f"j-{u}-post"]
    assert any(outside.up in json.dumps(r) and "masquerade" in json.dumps(r) for r in post)
    ioc("stop", "ni")
    ioc("set", "nat_interface=nosuch0", "ni")
    r = ioc("start", "ni", check=False)
    assert r.returncode == 1 and "nat_interface nosuch0 of jail ni does not exist" in r.stderr
    assert not state(rundir, u) and jail_chains(u) == set()


def test_nat_v4_only_prefix_leaves_ipv6_forwarding(release, outside):
    nat_jail(release, "v4o", "nat_prefix=192.0.2.0/24")
    before = sysctl("net/ipv6/conf/all/forwarding")
    ioc("start", "v4o")
    assert ioc("get", "nat_addr", "v4o").stdout.strip() == "192.0.2.2"
    assert sysctl("net/ipv6/conf/all/forwarding") == before
    outside.serve_echo()
    assert jail_get("v4o", f"http://{OUT4}:9000/").stdout.strip() == UP4
