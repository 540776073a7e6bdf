#!/usr/bin/env bash
# mkbusybox-release.sh OUTDIR
#
# Build a tiny root filesystem from Debian's busybox-static (/bin/busybox) and pack it as
# OUTDIR/rootfs.tar.xz plus OUTDIR/rootfs.tar.xz.sha256 (sha256sum format), ready for
#   iocell fetch release=NAME ftplocaldir=OUTDIR ftpfiles=rootfs.tar.xz
# Applet links are relative (bin/sh -> busybox, usr/bin/env -> ../../bin/busybox) so the
# tree works wherever it is mounted. Entries are owned by 0:0 (numeric) and sorted, with a
# fixed mtime, so the same busybox gives a byte-identical tarball. Takes a fraction of a second.
#
# Env: BUSYBOX=path to a static busybox (default /bin/busybox).
set -euo pipefail

die() { echo "mkbusybox-release: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
outdir=$1
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$busybox" ] || die "$busybox not found (apt-get install busybox-static)"
# A dynamically linked busybox (package 'busybox') would not run inside the tree.
if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked; install busybox-static"
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mkbusybox.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

mkdir -p "$root"
(
    cd "$root"
    mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys tmp root var/log var/tmp home
    chmod 1777 tmp var/tmp
    chmod 0700 root
    cp "$busybox" bin/busybox
    chmod 0755 bin/busybox

    # One link per applet, at the path busybox itself reports (bin/sh, usr/bin/env, ...),
    # made in one perl process (perl-base is Essential on Debian): a fork per link would
    # cost ~1 s for ~270 applets.
    "$root/bin/busybox" --list-full | perl -e '
        use strict;
        while (my $path = <STDIN>) {
            chomp $path;
            next unless $path =~ m{/};          # skip top-level entries such as "linuxrc"
            next if $path eq "bin/busybox";
            my ($dir) = $path =~ m{^(.*)/[^/]+$};
            my $target = $dir eq "bin" ? "busybox"
                       : ("../" x (($dir =~ tr{/}{}) + 1)) . "bin/busybox";
            system("mkdir", "-p", $dir) == 0 or die "mkdir $dir\n" unless -d $dir;
            unlink $path;
            symlink($target, $path) or die "symlink $path: $!\n";
        }'

    [ -L bin/sh ] || die "busybox has no sh applet"

    cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
    cat > etc/group <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP
    cat > etc/shadow <<'SHADOW'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
SHADOW
    chmod 0640 etc/shadow
    echo busybox > etc/hostname
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > etc/hosts
    version=$("$root/bin/busybox" 2>/dev/null | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p' || true)
    cat > etc/os-release <<OSREL
NAME="BusyBox"
ID=busybox
VERSION_ID="${version:-unknown}"
PRETTY_NAME="BusyBox ${version:-} (iocell test release)"
OSREL
)

tarball=$outdir/rootfs.tar.xz
tmp_tar=$tarball.tmp.$$
tar -C "$root" --numeric-owner --owner=0 --group=0 --sort=name \
    --mtime=@1700000000 -cf - . | xz -1 -T1 -c > "$tmp_tar"
mv -f "$tmp_tar" "$tarball"
(cd "$outdir" && sha256sum rootfs.tar.xz > rootfs.tar.xz.sha256.tmp.$$ \
    && mv -f rootfs.tar.xz.sha256.tmp.$$ rootfs.tar.xz.sha256)
echo "$tarball"
