#!/usr/bin/env bash
# deps.sh: install what building and testing iocell needs on Debian 12 (run as root).
#
# Idempotent: when every package is already installed it does nothing (no apt-get update,
# no network). Otherwise it installs the missing ones, running `apt-get update` only when
# the package lists are missing, too old, or an install attempt fails without it.
#
# Package maintainer scripts must not start services here: zfs-fuse's postinst would start
# a daemon (via invoke-rc.d on hosts where systemd is not PID 1, or systemctl where it is)
# that imports every pool in /var/lib/zfs/zpool.cache. The test harness and demo start the
# daemon themselves, so during the install a policy-rc.d that refuses every start is put in
# place (unless the host already has one).
#
# gdb is for the test harness alone: when the ZFS daemon stops answering, the hang report
# shows where its threads wait in user space.
set -euo pipefail

PACKAGES=(
    meson ninja-build pkg-config gcc
    uuid-dev libarchive-dev libcap-dev libseccomp-dev libmnl-dev libnftables-dev nftables libssl-dev libcmocka-dev
    libcurl4-openssl-dev libsystemd-dev
    zfs-fuse busybox-static debootstrap debian-archive-keyring
    python3-pytest xz-utils iproute2 util-linux curl ca-certificates clang-format
    clang-14 libclang-rt-14-dev
    gdb
)

log() { echo "deps: $*" >&2; }
die() { echo "deps: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian only"

# Which packages are not fully installed? (one dpkg-query for all of them)
declare -A have=()
while read -r pkg status; do
    [ "$status" = "install ok installed" ] && have[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
    [ -n "${have[$p]:-}" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages already installed"
    exit 0
fi
log "missing: ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Keep maintainer scripts from starting daemons (see the header).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, installed by iocell scripts/deps.sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi

lists_fresh() {
    # true if some Packages index exists and is younger than a day
    local f
    f=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null)
    [ -n "$f" ]
}

updated=0
if ! lists_fresh; then
    log "apt-get update (package lists missing or older than a day)"
    "${APT[@]}" update
    updated=1
fi

if ! "${APT[@]}" install "${missing[@]}"; then
    [ "$updated" -eq 0 ] || die "apt-get install failed"
    log "install failed with the current package lists; retrying after apt-get update"
    "${APT[@]}" update
    "${APT[@]}" install "${missing[@]}"
fi

# Belt and braces: if a zfs-fuse daemon was started by the install anyway (a host policy-rc.d
# that allows starts), say so; the harness will use it rather than start its own.
if [ -s /var/run/zfs-fuse.pid ] && kill -0 "$(cat /var/run/zfs-fuse.pid)" 2>/dev/null; then
    log "note: a zfs-fuse daemon (pid $(cat /var/run/zfs-fuse.pid)) is running from the package's init script"
fi
log "done"
