#!/usr/bin/env python3
"""Write the seed corpora tests/fuzz/corpus/TARGET/ from the examples of the unit tests.

    python3 tests/fuzz/mkcorpus.py [build/iocell]

With the iocell binary, every property of the table also gets a seed NAME=DEFAULT
(read from `iocell _manprops`, the manual's property section).  The files are named by
their content's hash, so running this again only adds what is new.  Seeds are inputs
as the targets read them (see the header of each fuzz_TARGET.c).
"""
import hashlib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
U = "26e8e027-f00c-11e4-8f7f-3c970e80eb61"
J = "tank/iocell/jails"
UA = "aaaaaaaa-0000-4000-8000-000000000001"
UB = "bbbbbbbb-0000-4000-8000-000000000002"
UC = "cccccccc-0000-4000-8000-000000000003"
DS = J + "/" + UA
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

SEEDS = {
    # first byte: the parser (fuzz_values.c cases[])
    "values": [
        "s4G", "s512M", "s1.5K", "s100", "s2GiB", "s1.93E", "s10Q", "s-1G", "s1.5", "s4GG",
        "i99", "i-1", "i+7", "i99999999999999999999999", "i9x",
        "t3600", "t1h", "t5d", "t90m", "t7s", "t1x",
        "B4G:deny", "B512M:log", "Blots:deny", "C64:deny", "C64", "P20:log", "P0:deny",
        "T1h:sigterm", "T60:sigbogus", "T3600:sigxcpu", "C100:sigkill",
        "4192.0.2.10", "4300.1.1.1", "6 2001:db8::5", "62001:db8::5", "6::ffff:192.0.2.1",
        "m02:ab:cd:00:11:22", "m02:AB:cd:00:11:2g", "m02:ab:cd:00:11",
    ],
    # first byte: the parser (fuzz_lists.c cases[])
    "lists": [
        "4vnet0|192.0.2.10/24,vnet0|192.0.2.11/24", "4none", "4garbage", "4vnet0|300.1.1.1/24",
        "4vnet0|192.0.2.1/33", "4eth0|192.0.2.1", "6eth0|2001:db8::5/64", "6eth0|2001:db8::5/129",
        "ivnet0:bridge0,vnet1:br1", "ivnet0", "ivnet0:b,vnet0:c", "inone",
        "c0-1,3", "c1-0", "ca", "c1023", "c0,0-2,5-5",
        "lvnet0|192.0.2.10/24,vnet0|192.0.2.11/24", "lnone", "l-",
    ],
    "names": [
        "www", "web-01.prod_x", "2026-11-22@14:45:00", "2026-11-22@14:45:00_2", "has space",
        "ALL", "default", "-x", "a@b", U, U[:-1], "www.example.org", "a..b", "a_b", "a.",
        "vnet0", "a-very-long-interface-name", "www@snap1", "2026-11-22@14:45:00@x",
        "ioc-2024-01-01_10:00:00", "pool/data/jail1", "a//b", "./etc/x", "../x", "a/..",
        "rootfs.tar.xz", ".", "..",
    ],
    "jailconf": [
        "",
        "vnet=on\ninterfaces=vnet0:bridge0\nip4_addr=vnet0|192.0.2.10/24\n",
        "tag=web\nhost_hostname=web.example\nhost_domainname=example\n"
        "interfaces=vnet0:br0,vnet3:br1\nvnet3_mac=02:aa:bb:cc:dd:01,02:aa:bb:cc:dd:02\n"
        "ip4_addr=vnet0|192.0.2.10/24,vnet3|198.51.100.7\nip6_addr=vnet0|2001:db8::5/64\n"
        "defaultrouter=192.0.2.1\ndefaultrouter6=fe80::1\nresolver=nameserver 192.0.2.53\n"
        "exec_start=/bin/sh /etc/rc\nexec_stop=none\nexec_prestart=echo pre\nexec_timeout=15\n"
        "login_flags=-f admin\nmount_sysfs=0\nallow_raw_sockets=1\nsecurelevel=-1\n"
        "children_max=3\nsysvshm=disable\ntype=basejail\nrlimits=on\nmemoryuse=4G:deny\n"
        "pcpu=50:log\nwallclock=1h:sigterm\ncpuset=0-1\ntemplate=yes\n",
        "tag=db\nexec_start=/etc/init.d/rc 3\nexec_stop=/etc/init.d/rc 0\nexec_prestop=logger bye\n"
        "stop_timeout=5\nlogin_flags=-p -f root\nallow_mount=1\nallow_mount_tmpfs=1\n"
        "allow_chflags=1\nsecurelevel=0\nchildren_max=7\nip4=inherit\nallow_sysvipc=1\n"
        "rlimits=on\nmemoryuse=512M:log\nmaxproc=100:deny\nopenfiles=1024:deny\ncpuset=0\n"
        "pseudoterminals=16:deny\n",
        "ip4=inherit\nip4_addr=not an address\n",
        "vnet=off\nip4_addr=eth0|192.0.2.9/24\n",
        "ip4=disable\nip6=disable\nip4_addr=garbage\n",
        "sysvmsg=inherit\nsysvsem=inherit\nsysvshm=inherit\n",
        "securelevel=7\n", "allow_raw_sockets=yes\n", "exec_timeout=soon\n", "ip6=shared\n",
        "rlimits=on\nmemoryuse=lots:deny\n", "cpuset=two\n", "ip4_addr=vnet0|300.1.2.3/24\n",
        "ip4_addr=vnet7|192.0.2.1/24\n",
        "interfaces=vnet0:bridge0,vnet1:bridge0\nvnet0_mac=03:00:00:00:00:01,02:00:00:00:00:02\n"
        "vnet1_mac=none\nip6_addr=vnet1|2001:db8::1/64\nip4=disable\n",
    ],
    "runstate": [
        "phase=running\njid=1\npid=1234\nstarttime=5678\nstarted=2026-01-01@00:00:00\n"
        "root=/iocell/jails/" + U + "/root\nlog=/iocell/log/" + U + "-console.log\n"
        "netns=own\nipcns=own\ncgroup=v2\nifaces=vnet0:veth1\naddr4=vnet0|192.0.2.10/24\n"
        "tag=www\nhost_hostname=www\nexec_prestop=none\nexec_poststop=none\n"
        "exec_start=/bin/sh /etc/rc\nexec_stop=/bin/sh /etc/rc.shutdown\nexec_timeout=60\n"
        "stop_timeout=30\nlogin_flags=-f root\nallow_raw_sockets=0\nsecurelevel=2\n"
        "children_max=0\nrlimits=on\ncpuset=0\nmemoryuse=4G:deny\npcpu=50:log\n"
        "maxproc=off\nresolver=nameserver 192.0.2.1\\nsearch example.org\n",
        "phase=starting\njid=x\nnetns=maybe\nrlimits=on\nmemoryuse=lots:deny\ncpuset=9999\n",
        "no equals sign\n=empty key\nkey=a\\\\b\\nc\\\n",
    ],
    # NAME, a NUL, the index
    "index": [
        "www\0" + "11111111-2222-4333-8444-555555555555\twww\t0\n"
        "11112222-2222-4333-8444-666666666666\tdb\t1\n"
        "9abcdef0-2222-4333-8444-777777777777\twww_2\t0\n",
        "1111\0" + "11111111-2222-4333-8444-555555555555\twww\t0\n"
        "11112222-2222-4333-8444-666666666666\tdb\t1\n",
        "9ABC\0" + "9abcdef0-2222-4333-8444-777777777777\twww_2\t0\nnot-a-uuid\tx\t0\nshort\n",
    ],
    # SNAP, a NUL, the table
    "ztable": [
        "s1\0" + DS + "@s1\n" + DS + "/root@s1\n" + DS + "/root@rec\n" + DS + "@s2\n" + DS
        + "/root@s2\n",
        "s1\0" + DS + "\tcreatetxg\t10\t-\n" + DS + "/root\tcreatetxg\t11\t-\n" + DS
        + "@s1\tcreatetxg\t20\t-\n" + DS + "/root@s1\tcreatetxg\t20\t-\n" + DS
        + "@s2\tcreatetxg\t30\t-\n" + DS + "/root@s3\tcreatetxg\t40\t-\n",
        "s\0tank\t-\tyes\t-\n" + J + "\t-\tyes\t-\n" + DS + "\t-\tyes\ta\n" + DS
        + "/root\ttank/iocell/releases/r/root@release\tyes\ta\n" + J + "/" + UB + "\t" + DS
        + "@s\tno\tb\n" + J + "/" + UB + "/root\t" + DS + "/root@s\tno\tb\n" + J + "/" + UC
        + "\t" + J + "/" + UB + "@x\tno\tc\n" + "tank/other\t" + DS + "/root@s\tno\t-\n" + J
        + "/" + UB + "\t" + DS + "@ioc-clone-2024-01-01_00:00:00-bbbbbbbb\tno\tb\n",
        "s1\0" + DS + "@s1\t1700000000\t1M\t12K\n" + DS + "/root@s1\t1700000000\t2M\t0\n",
        "\0a\tb\tc\n\nd\t\tf\ng",
    ],
    # the metadata, a NUL, the deletion list
    "package": [
        "format=1\nrelease=bookworm\nrelease_guid=1234567890\nsource_uuid=" + U
        + "\nsource_tag=www\ncreated=2026-01-01@00:00:00\n\0/etc/old\n\n/var/\n/etc/retyped\n"
        "/escape/keep\n/nothere\n",
        "release=bb\n\0/../../etc/passwd\n",
        "release=\nformat=1\n\0./a/./b//\n/.\n",
    ],
    # TEXT, a NUL, OLD, a NUL, NEW
    "sources": [
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm-updates main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
        "deb http://security.debian.org bookworm/updates main\n\0bookworm\0trixie",
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
        "\0bookworm\0trixie",
        "# deb http://commented.debian.org/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/x.gpg] http://mirror.example.org/debian bookworm main\n"
        "\0bookworm\0",
        SHA + "  rootfs.tar.xz\n" + SHA.upper() + " *./base.txz\n\0rootfs.tar.xz\0x",
        SHA + "\n\0\0",
        "hello world # a comment\n\tfoo  bar\r\nlast\0-o\0--x",
        "NAME=Debian\nVERSION_CODENAME=bookworm\n\0http://deb.debian.org/debian/\0/pool/a?b#c",
    ],
    # PASSWD, a NUL, GROUP, a NUL, NAME
    "accounts": [
        "root:x:0:0:root:/root:/bin/bash\nwww:x:33:33:www-data:/var/www:/usr/sbin/nologin\r\n"
        "bad:x:nan:0::/:/bin/sh\nbig:x:4294967295:0::/:/bin/sh\nlast:x:7:8:::/bin/sh"
        "\0root:x:0:\nadm:x:4:www,ann\nweb:x:6:ann,www\r\nbad:x:-1:www\n\0www",
        "root:x:0:0::/root:/bin/sh\n\0\0root",
        "a:b:c\n::::::\n\0:::\n\0",
    ],
    "fstab": [
        "/srv/data /iocell/jails/" + U + "/root/data bind ro 0 0\n# a comment\n\n"
        "/a /b nullfs rw\n  /c\t/d bind ro,rw\n",
        "/a /b tmpfs ro\n", "a b bind ro\n", "/a /b bind noexec\n", "/a /b\n",
        "/dev/fuse /iocell/jails/" + U + "/root/dev/fuse bind rw,dev\n/x /y bind dev,nodev,ro\n",
    ],
}

# Inputs that crashed a target once (each fixed at its cause, most with a unit test too)
REGRESSIONS = {
    "values": [
        "s2220002200020020200",  # fmt_size wrote 1.93E, which parse_size did not read
        "t22200022000200200h",  # parse_seconds wrapped around
    ],
    "ztable": [
        "\0\x02\0",  # a row outside the jail became a snapremove victim
        "s1\0x\tcreatetxg\t1\t-\nx@s1\tcreatetxg\t2\t-\nx@n\tcreatetxg\t3\t-\n" + DS
        + "\tcreatetxg\t10\t-\n" + DS + "@s1\tcreatetxg\t20\t-\n",  # rollback over-read
    ],
    "package": ["\0\x0b\n.\nV"],  # a deletion of "." emptied the root
    "sources": ["\n\0\0"],  # swap_suite with an empty suite looped for ever
    "jailconf": [  # a stored multicast MAC was given to the interface
        "interfaces=vnet0:bridge0\nvnet0_mac=03:00:00:00:00:01,02:00:00:00:00:02\n",
    ],
}

# prop_validate examples of the unit tests, beside each property's default
PROP_EXAMPLES = [
    "tag=www", "tag=ALL", "host_hostname=a..b", "ip4_addr=vnet0|192.0.2.10/24",
    "ip4_addr=garbage", "ip6_addr=vnet0|2001:db8::5/64", "interfaces=vnet0:bridge0,vnet1:br1",
    "memoryuse=4G:deny", "memoryuse=lots:deny", "memoryuse=off", "pcpu=150:deny",
    "cputime=1h:sigxcpu", "cputime=1h:sigterm", "wallclock=0:deny", "maxproc=0:deny",
    "readbps=10M:deny", "cpuset=0", "cpuset=4096", "cpuset=0-1,3",
    "vnet0_mac=02:00:00:00:00:0a,02:00:00:00:00:0b", "vnet0_mac=02:00:00:00:00:0a",
    "vnet9_mac=03:00:00:00:00:0a,02:00:00:00:00:0b", "resolver=nameserver 192.0.2.1;search x",
    "quota=10G", "reservation=none", "jail_zfs_dataset=iocell/jails/data",
    "jail_zfs_dataset=a//b", "jail_zfs_mountpoint=/mnt", "securelevel=-1", "exec_timeout=86401",
    "defaultrouter=192.0.2.1", "defaultrouter6=fe80::1", "ip4=new", "compression=lz4",
    "allow.raw_sockets=1", "enforce_statfs=2", "devfs_ruleset=4", "unknown=1",
]


def prop_defaults(iocell):
    out = subprocess.run([iocell, "_manprops"], check=True, capture_output=True, text=True).stdout
    seeds, name = [], None
    for line in out.splitlines():
        if line.startswith(".B "):
            name = line[3:].strip()
        m = re.search(r"Default: (.*?)\.(?: |$)", line)
        if name and m:
            value = m.group(1).replace("\\-", "-")
            seeds.append(name + "=" + ("none" if value.startswith("(") else value))
            name = None
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for s in seeds:
        data = s.encode("utf-8", "surrogateescape")
        with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
            f.write(data)


def main():
    props = list(PROP_EXAMPLES)
    if len(sys.argv) > 1:
        props += prop_defaults(sys.argv[1])
    write("props", props)
    for target, seeds in list(SEEDS.items()) + list(REGRESSIONS.items()):
        write(target, seeds)


if __name__ == "__main__":
    main()
