#!/usr/bin/env bash
# bench/image.sh (issue 6), with a jail holding ~200 MB of incompressible data:
#  - thick `iocell create` of a 200 MB release vs a bare `zfs send REL@release | zfs recv NEW`
#  - `iocell export NAME` (to /iocell/images, sha256 while streaming) vs
#    `zfs snapshot -r` + `zfs send -R SNAP > FILE`
#  - `iocell import UUID` (sha256 verify + recv + identity rewrite) vs `zfs recv NEW < FILE`
#  - peak RSS of iocell for each (GNU time -v), target < 50 MB whatever the size.
# Targets: within 1.3x of the bare zfs commands.
#   bash bench/image.sh          (env: BENCH_IMAGE_RUNS (default 3), BENCH_IMAGE_MB (200))
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export BENCH_POOLSIZE=${BENCH_POOLSIZE:-3G}
bench_init "$0" "$@"

runs=${BENCH_IMAGE_RUNS:-3}
mb=${BENCH_IMAGE_MB:-200}
[ -x /usr/bin/time ] || bdie "/usr/bin/time (GNU time) is needed for the RSS figures"

# A release of busybox + MB of random data (fetched from two local tarballs).
big=$BENCH_DIR/bigrel
mkdir -p "$big/t/srv"
cp "$BENCH_DIR/rel/rootfs.tar.xz" "$big/"
head -c "$((mb * 1024 * 1024))" /dev/urandom > "$big/t/srv/blob"
tar -C "$big/t" -cf "$big/blob.tar" srv
rm -rf "$big/t"
"$IOCELL" fetch release=big "ftplocaldir=$big" "ftpfiles=rootfs.tar.xz blob.tar" >/dev/null
relsnap=$RELEASES_DS/big/root@release
# Like for like: jails are created with compression=on, so the baseline receives with it
# too; and the baseline image is written where iocell writes its own (through the ZFS
# mount), not to the host's disk.
zfs create -o mountpoint=none -o canmount=off -o compression=on "$POOL/benchrecv" 2>/dev/null || true
base=$BENCH_DIR/iocell/images/base.zfs

rss() { # rss CMD...: peak RSS in MB of CMD
    local f=$BENCH_DIR/time.out
    /usr/bin/time -v -o "$f" "$@" >/dev/null 2>&1 || { blog "failed: $*"; return 1; }
    awk -F: '/Maximum resident set size/ {printf "%.1f\n", $2/1024}' "$f"
}

tc=(); bc=(); te=(); be=(); ti=(); bi=()
rss_c=0; rss_e=0; rss_i=0
maxf() { awk -v a="$1" -v b="$2" 'BEGIN {print (a > b) ? a : b}'; }
for ((i = 0; i < runs; i++)); do
    # thick create
    tc+=("$(bench_time "$IOCELL" create release=big "tag=big$i")")
    bc+=("$(bench_time bash -c "zfs send $relsnap | zfs recv $POOL/benchrecv/c$i")")
    zfs destroy -r "$POOL/benchrecv/c$i"
    # export
    u=$("$IOCELL" get host_hostuuid "big$i")
    img=$BENCH_DIR/iocell/images/$u.zfs
    te+=("$(bench_time "$IOCELL" export "big$i")")
    be+=("$(bench_time bash -c "zfs snapshot -r $JAILS_DS/$u@b && zfs send -R $JAILS_DS/$u@b > $base")")
    zfs destroy -r "$JAILS_DS/$u@b"
    # import
    ti+=("$(bench_time "$IOCELL" import "$u" "tag=imp$i")")
    bi+=("$(bench_time bash -c "zfs recv $POOL/benchrecv/i$i < $base")")
    zfs destroy -r "$POOL/benchrecv/i$i"
    # peak memory (separate runs, not timed)
    r=$(rss "$IOCELL" create release=big "tag=rss$i") && rss_c=$(maxf "$rss_c" "$r")
    r=$(rss "$IOCELL" export "rss$i") && rss_e=$(maxf "$rss_e" "$r")
    r=$(rss "$IOCELL" import "$("$IOCELL" get host_hostuuid "rss$i")" "tag=rssi$i") && rss_i=$(maxf "$rss_i" "$r")
    bench_destroy_jails
    rm -f "$BENCH_DIR"/iocell/images/*
done
med() { printf '%s\n' "$@" | bench_median; }

echo "== images, ${mb} MB of data (median of $runs runs, interleaved)"
bench_header
bench_row "create (thick) vs zfs send|recv" "$(med "${tc[@]}")" "$(med "${bc[@]}")" 1.3
bench_row "export vs zfs snapshot+send -R" "$(med "${te[@]}")" "$(med "${be[@]}")" 1.3
bench_row "import vs zfs recv" "$(med "${ti[@]}")" "$(med "${bi[@]}")" 1.3
for x in "create:$rss_c" "export:$rss_e" "import:$rss_i"; do
    v=${x#*:}
    bench_note "    peak RSS of iocell ${x%%:*}: ${v} MB (target < 50 MB)$(awk -v v="$v" 'BEGIN {print (v < 50) ? " PASS" : " FAIL"}')"
done
zfs destroy -r "$POOL/benchrecv" 2>/dev/null || true
