#!/usr/bin/env bash
# demo.sh: from a fresh Debian 12 machine (as root) to a first iocell jail.
#
#   bash scripts/demo.sh
#
# Installs the build dependencies, builds and installs iocell (/usr/local/sbin), makes
# sure a ZFS daemon answers (starts zfs-fuse when the host has no kernel ZFS), activates a pool
# (creating a 4 GiB file-backed pool "iocell" in /var/lib/iocell if none is active), fetches a
# tiny busybox release, creates a clone jail from it, starts it, runs commands in it and
# stops it. Safe to run again: every step checks
# what is already there. The zfs-fuse daemon and the pool are left in place afterwards (they
# are the host's ZFS now); stop the daemon with `kill $(cat /var/run/zfs-fuse.pid)`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

POOL_NAME=${IOCELL_DEMO_POOL:-iocell}
POOL_DIR=/var/lib/iocell
POOL_IMG=$POOL_DIR/iocell.img
POOL_SIZE=4G
RELEASE=busybox
PIDFILE=/var/run/zfs-fuse.pid

step() { printf '\n=== %s ===\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }
die() { echo "demo.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

step "dependencies"
bash scripts/deps.sh

step "build and install"
if [ -f build/build.ninja ] && [ -d build/meson-private ]; then
    run meson configure build --buildtype=release
else
    rm -rf build
    run meson setup build --buildtype=release
fi
run ninja -C build
run meson install -C build
IOCELL=
for c in /usr/local/sbin/iocell /usr/local/bin/iocell; do
    [ -x "$c" ] && { IOCELL=$c; break; }
done
[ -n "$IOCELL" ] || IOCELL=$(command -v iocell) || die "iocell was not installed"
"$IOCELL" version

step "ZFS daemon"
zpool_answers() { zpool list -H -o name >/dev/null 2>&1; }
if zpool_answers; then
    echo "ZFS answers (kernel ZFS or a running zfs-fuse)"
else
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && systemctl cat zfs-fuse.service >/dev/null 2>&1; then
        run systemctl start zfs-fuse.service
    else
        [ -e /dev/fuse ] || run mknod -m 0666 /dev/fuse c 10 229 \
            || die "/dev/fuse is missing; zfs-fuse needs FUSE"
        # zfs-fuse never removes its pidfile, and a stale one makes it exit 1 silently
        if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null; then
            rm -f "$PIDFILE"
        fi
        # its own session, detached from this terminal; it forks and returns once listening
        run setsid zfs-fuse --pidfile "$PIDFILE" </dev/null >/dev/null 2>&1
    fi
    for _ in $(seq 100); do zpool_answers && break; sleep 0.1; done
    zpool_answers || die "zfs-fuse did not start (see syslog); try: zfs-fuse --no-daemon"
    echo "zfs-fuse running (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'))"
    # after a daemon (re)start nothing is mounted until `zfs mount -a`
    run zfs mount -a || true
fi

step "pool"
active=$("$IOCELL" activate 2>/dev/null | head -n1 | awk '{print $NF}') || active=""
if [ -n "$active" ]; then
    echo "active pool: $active"
else
    mkdir -p "$POOL_DIR"
    if ! zpool list -H -o name "$POOL_NAME" >/dev/null 2>&1 && [ -f "$POOL_IMG" ]; then
        # the pool exists on disk but the daemon forgot it (e.g. zpool.cache lost)
        run zpool import -d "$POOL_DIR" "$POOL_NAME" || true
    fi
    run "$IOCELL" activate "$POOL_NAME" "file=$POOL_IMG" "size=$POOL_SIZE"
    active=$POOL_NAME
fi
"$IOCELL" activate

step "release $RELEASE"
if "$IOCELL" list -r -H 2>/dev/null \
        | awk -F'\t' -v r="$RELEASE" '{for (i = 1; i <= NF; i++) if ($i == r) f = 1} END {exit !f}'; then
    echo "release $RELEASE already fetched"
else
    reldir=$(mktemp -d /tmp/iocell-demo-release.XXXXXX)
    trap 'rm -rf "$reldir"' EXIT
    run bash scripts/mkbusybox-release.sh "$reldir"
    run "$IOCELL" fetch "release=$RELEASE" "ftplocaldir=$reldir" ftpfiles=rootfs.tar.xz
fi
"$IOCELL" list -r

step "jail"
tag=demo-$(date +%s)
run "$IOCELL" create -c "release=$RELEASE" "tag=$tag"
run "$IOCELL" list

step "start the jail and use it"
run "$IOCELL" start "$tag"
# shellcheck disable=SC2016  # expanded inside the jail
run "$IOCELL" exec "$tag" /bin/sh -c 'echo "hello from $(hostname), PID $$"; ps'
run "$IOCELL" list
run "$IOCELL" stop "$tag"

step "done"
echo "jail $tag created in pool $active. Try:  iocell get all $tag"
